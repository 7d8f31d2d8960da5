package pulsarsource

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

type rejects struct {
	mu      sync.Mutex
	reasons []string
}

func (r *rejects) Applied(time.Duration, bool) {}
func (r *rejects) Deleted(int)                 {}
func (r *rejects) Rejected(err error) {
	r.mu.Lock()
	r.reasons = append(r.reasons, metadatatable.ReasonOf(err))
	r.mu.Unlock()
}

func newTestSource(t *testing.T, rej *rejects) (*Source, *metadatatable.Table) {
	tbl := metadatatable.New(metadatatable.Projection{Columns: []string{"region"}}, rej)
	cfg := NewDefaultConfig()
	cfg.Topic = "persistent://public/default/meta"
	s, err := New(cfg, tbl, metadatatable.Limits{MaxRowBytes: 64}, zap.NewNop(), nil)
	require.NoError(t, err)
	return s, tbl
}

func TestApplyPayloads(t *testing.T) {
	rej := &rejects{}
	s, tbl := newTestSource(t, rej)
	s.apply("checkout", payloadOf([]byte(`{"region":"eu-west-1"}`)))
	require.NotNil(t, tbl.Lookup("checkout"))
	assert.Equal(t, "eu-west-1", tbl.Lookup("checkout").Values[0].Str)
	assert.Regexp(t, `^pulsar:[0-9a-f]{16}$`, tbl.Lookup("checkout").Version)

	// A producer's STRING schema decodes to a string, JSON schema to a map.
	s.apply("inventory", payloadOf(`{"region":"us-east-1"}`))
	assert.Equal(t, "us-east-1", tbl.Lookup("inventory").Values[0].Str)
	s.apply("search", payloadOf(map[string]any{"region": "ap-south-1", "metadata_version": "v2"}))
	assert.Equal(t, "ap-south-1", tbl.Lookup("search").Values[0].Str)
	assert.Equal(t, "v2", tbl.Lookup("search").Version)

	// Empty payload / nil = delete.
	s.apply("inventory", payloadOf(nil))
	assert.Nil(t, tbl.Lookup("inventory"))
	s.apply("search", payloadOf([]byte{}))
	assert.Nil(t, tbl.Lookup("search"))

	// Bad rows: skipped whole.
	s.apply("checkout", payloadOf([]byte(`{"region":`)))
	s.apply("checkout", payloadOf([]byte(`{"region":"`+string(make([]byte, 80))+`"}`)))
	s.apply("", payloadOf([]byte(`{"region":"x"}`)))
	s.apply("", nil)
	s.apply("checkout", payloadOf(42))
	assert.Equal(t, "eu-west-1", tbl.Lookup("checkout").Values[0].Str)
	assert.Equal(t, []string{metadatatable.ReasonNotJSON, metadatatable.ReasonOversized, metadatatable.ReasonMissingKey, metadatatable.ReasonMissingKey, metadatatable.ReasonNotJSON}, rej.reasons)
}

func TestRawSchema(t *testing.T) {
	var v any
	src := []byte("abc")
	require.NoError(t, rawSchema{}.Decode(src, &v))
	src[0] = 'x'
	assert.Equal(t, []byte("abc"), v, "decoded payload is a copy")
	var wrong []byte
	assert.Error(t, rawSchema{}.Decode(src, &wrong))
	assert.Nil(t, rawSchema{}.GetSchemaInfo(), "no schema is announced to the broker")
	b, err := rawSchema{}.Encode([]byte("x"))
	require.NoError(t, err)
	assert.Equal(t, []byte("x"), b)
	_, err = rawSchema{}.Encode("x")
	assert.Error(t, err)
	assert.NoError(t, rawSchema{}.Validate(nil))
}

func TestUnreachableBrokerIsReportedAndShutdownStops(t *testing.T) {
	tbl := metadatatable.New(metadatatable.Projection{}, nil)
	cfg := NewDefaultConfig()
	cfg.ServiceURL = "pulsar://127.0.0.1:1" // nothing listens on port 1
	cfg.Topic = "persistent://public/default/meta"
	cfg.ConnectionTimeout = 200 * time.Millisecond
	cfg.OperationTimeout = 500 * time.Millisecond
	reported := make(chan error, 10)
	s, err := New(cfg, tbl, metadatatable.Limits{}, zap.NewNop(), func(err error) {
		select {
		case reported <- err:
		default:
		}
	})
	require.NoError(t, err)
	s.loop.RetryMin, s.loop.RetryMax = 10*time.Millisecond, 20*time.Millisecond
	require.NoError(t, s.Shutdown(context.Background()), "safe before start")
	require.NoError(t, s.Start(context.Background()))
	select {
	case err := <-reported:
		assert.Contains(t, err.Error(), "pulsar table source")
	case <-time.After(30 * time.Second):
		t.Fatal("an unreachable broker was never reported")
	}
	assert.False(t, tbl.IsReady())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	require.NoError(t, s.Shutdown(ctx))
}

func TestValidate(t *testing.T) {
	c := NewDefaultConfig()
	require.ErrorContains(t, c.Validate("table.pulsar"), "table.pulsar.topic: must be set")
	c.Topic = "t"
	require.NoError(t, c.Validate("table.pulsar"))
}
