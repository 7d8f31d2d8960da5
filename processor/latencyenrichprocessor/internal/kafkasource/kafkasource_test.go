package kafkasource

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/IBM/sarama/mocks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

// fakeOffsets serves partition lists and start-time offsets.
type fakeOffsets struct {
	parts  []int32
	newest map[int32]int64
	closed atomic.Bool
}

func (f *fakeOffsets) Partitions(string) ([]int32, error) { return f.parts, nil }
func (f *fakeOffsets) GetOffset(_ string, p int32, which int64) (int64, error) {
	if which == sarama.OffsetOldest {
		return 0, nil
	}
	return f.newest[p], nil
}
func (f *fakeOffsets) Close() error { f.closed.Store(true); return nil }

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
func (r *rejects) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reasons...)
}

func msg(key, value string) *sarama.ConsumerMessage {
	m := &sarama.ConsumerMessage{Key: []byte(key)}
	if value != "" {
		m.Value = []byte(value)
	}
	return m
}

func region(tbl *metadatatable.Table, key string) string {
	if e := tbl.Lookup(key); e != nil {
		return e.Values[0].Str
	}
	return ""
}

func TestInitialLoadUpdatesTombstonesAndReadiness(t *testing.T) {
	rej := &rejects{}
	tbl := metadatatable.New(metadatatable.Projection{Columns: []string{"region"}}, rej)
	consumer := mocks.NewConsumer(t, nil)
	p0 := consumer.ExpectConsumePartition("meta", 0, sarama.OffsetOldest)
	consumer.ExpectConsumePartition("meta", 1, sarama.OffsetOldest) // empty partition
	offsets := &fakeOffsets{parts: []int32{0, 1}, newest: map[int32]int64{0: 4, 1: 0}}
	src := newSource("meta", tbl, metadatatable.Limits{MaxRowBytes: 64}, zap.NewNop(), nil,
		func() (offsetReader, sarama.Consumer, error) { return offsets, consumer, nil })
	require.NoError(t, src.Start(context.Background()))

	p0.YieldMessage(msg("checkout", `{"region":"eu-west-1"}`))  // offset 0
	p0.YieldMessage(msg("inventory", `{"region":"us-east-1"}`)) // offset 1
	p0.YieldMessage(msg("checkout", `not json`))                // offset 2: bad, skipped
	require.Eventually(t, func() bool { return len(rej.get()) == 1 }, 5*time.Second, time.Millisecond)
	assert.False(t, tbl.IsReady(), "not caught up before the start-time end offset")
	assert.Equal(t, "eu-west-1", region(tbl, "checkout"), "a bad update leaves the previous row whole")

	p0.YieldMessage(msg("inventory", "")) // offset 3: tombstone, the last message seen at start
	require.Eventually(t, tbl.IsReady, 5*time.Second, time.Millisecond)
	assert.Nil(t, tbl.Lookup("inventory"))
	assert.Equal(t, []string{metadatatable.ReasonNotJSON}, rej.get())

	// Live updates after ready.
	p0.YieldMessage(msg("checkout", `{"region":"eu-central-1","metadata_version":"7"}`))
	p0.YieldMessage(msg("huge", `{"region":"`+string(make([]byte, 100))+`"}`))
	p0.YieldMessage(msg("", `{"region":"x"}`))
	require.Eventually(t, func() bool { return region(tbl, "checkout") == "eu-central-1" }, 5*time.Second, time.Millisecond)
	assert.Equal(t, "7", tbl.Lookup("checkout").Version)
	require.Eventually(t, func() bool { return len(rej.get()) == 3 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{metadatatable.ReasonNotJSON, metadatatable.ReasonOversized, metadatatable.ReasonMissingKey}, rej.get())

	require.NoError(t, src.Shutdown(context.Background()))
	require.NoError(t, src.Shutdown(context.Background()))
	assert.True(t, offsets.closed.Load())
}

func TestSourceVersionDefaultsToPartitionOffset(t *testing.T) {
	tbl := metadatatable.New(metadatatable.Projection{Columns: []string{"region"}}, nil)
	consumer := mocks.NewConsumer(t, nil)
	p := consumer.ExpectConsumePartition("meta", 0, sarama.OffsetOldest)
	src := newSource("meta", tbl, metadatatable.Limits{}, zap.NewNop(), nil,
		func() (offsetReader, sarama.Consumer, error) {
			return &fakeOffsets{parts: []int32{0}, newest: map[int32]int64{0: 1}}, consumer, nil
		})
	require.NoError(t, src.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, src.Shutdown(context.Background())) })
	p.YieldMessage(msg("a", `{"region":"eu"}`))
	require.Eventually(t, tbl.IsReady, 5*time.Second, time.Millisecond)
	assert.Equal(t, "kafka:0:0", tbl.Lookup("a").Version)
}

func TestDialFailureIsReportedAndRetried(t *testing.T) {
	tbl := metadatatable.New(metadatatable.Projection{}, nil)
	var attempts atomic.Int32
	var reported, recovered atomic.Int32
	consumer := mocks.NewConsumer(t, nil)
	consumer.ExpectConsumePartition("meta", 0, sarama.OffsetOldest)
	src := newSource("meta", tbl, metadatatable.Limits{}, zap.NewNop(), func(err error) {
		if err == nil {
			recovered.Add(1)
			return
		}
		assert.ErrorContains(t, err, "broker down")
		reported.Add(1)
	}, func() (offsetReader, sarama.Consumer, error) {
		if attempts.Add(1) < 3 {
			return nil, nil, errors.New("broker down")
		}
		return &fakeOffsets{parts: []int32{0}, newest: map[int32]int64{0: 0}}, consumer, nil
	})
	src.loop.RetryMin, src.loop.RetryMax = time.Millisecond, 2*time.Millisecond
	require.NoError(t, src.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, src.Shutdown(context.Background())) })
	require.Eventually(t, tbl.IsReady, 5*time.Second, time.Millisecond, "an empty topic is ready at once")
	assert.Equal(t, int32(2), reported.Load())
	require.Eventually(t, func() bool { return recovered.Load() == 1 }, 5*time.Second, time.Millisecond, "recovery is reported once")
}

func TestShutdownBeforeStart(t *testing.T) {
	src := newSource("meta", metadatatable.New(metadatatable.Projection{}, nil), metadatatable.Limits{}, zap.NewNop(), nil, nil)
	require.NoError(t, src.Shutdown(context.Background()))
}

func TestCatchUp(t *testing.T) {
	done := 0
	c := newCatchUp(map[int32]int64{0: 10, 1: 5}, func() { done++ })
	c.seen(0, 8)
	c.seen(1, 4)
	assert.Equal(t, 0, done)
	c.seen(0, 9)
	assert.Equal(t, 1, done)
	c.seen(0, 12) // later messages change nothing
	assert.Equal(t, 1, done)
	newCatchUp(map[int32]int64{}, func() { done++ })
	assert.Equal(t, 2, done, "nothing to catch up with is ready at once")
}

func TestSaramaConfig(t *testing.T) {
	cfg := NewDefaultConfig()
	cfg.Brokers = []string{"localhost:9092"}
	cfg.Topic = "meta"
	cfg.SASL = configoptional.Some(SASLConfig{Mechanism: MechanismSCRAMSHA512, Username: "u", Password: "p"})
	sc, err := saramaConfig(cfg)
	require.NoError(t, err)
	assert.True(t, sc.Net.SASL.Enable)
	assert.Equal(t, sarama.SASLMechanism(sarama.SASLTypeSCRAMSHA512), sc.Net.SASL.Mechanism)
	cl := sc.Net.SASL.SCRAMClientGeneratorFunc()
	require.NoError(t, cl.Begin("u", "p", ""))
	first, err := cl.Step("")
	require.NoError(t, err)
	assert.Contains(t, first, "n=u,r=", "SCRAM client-first message")
	assert.False(t, sc.Net.TLS.Enable)

	tlsCfg := configtls.NewDefaultClientConfig()
	tlsCfg.CAFile = "/does/not/exist.pem"
	cfg.TLS = configoptional.Some(tlsCfg)
	_, err = saramaConfig(cfg)
	require.ErrorContains(t, err, "tls:")

	cfg.TLS = configoptional.Some(configtls.NewDefaultClientConfig())
	sc, err = saramaConfig(cfg)
	require.NoError(t, err)
	assert.True(t, sc.Net.TLS.Enable, "a tls section with system roots enables TLS")
}

func TestValidate(t *testing.T) {
	c := NewDefaultConfig()
	c.ProtocolVersion = "banana"
	c.Brokers = []string{"nohostport"}
	c.SASL = configoptional.Some(SASLConfig{Mechanism: MechanismPlain})
	err := c.Validate("table.kafka")
	require.Error(t, err)
	for _, want := range []string{`table.kafka.brokers[0]: "nohostport" is not host:port`, "table.kafka.topic", "table.kafka.protocol_version", "table.kafka.sasl.username", "table.kafka.sasl.password"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestPartitionConsumerEndRebuildsSession(t *testing.T) {
	tbl := metadatatable.New(metadatatable.Projection{Columns: []string{"region"}}, nil)
	var dials atomic.Int32
	var reported, recovered atomic.Int32
	second := mocks.NewConsumer(t, nil)
	p2 := second.ExpectConsumePartition("meta", 0, sarama.OffsetOldest)
	first := mocks.NewConsumer(t, nil)
	p1 := first.ExpectConsumePartition("meta", 0, sarama.OffsetOldest)
	src := newSource("meta", tbl, metadatatable.Limits{}, zap.NewNop(), func(err error) {
		if err == nil {
			recovered.Add(1)
			return
		}
		assert.ErrorContains(t, err, "partition 0 consumer stopped")
		reported.Add(1)
	}, func() (offsetReader, sarama.Consumer, error) {
		offs := &fakeOffsets{parts: []int32{0}, newest: map[int32]int64{0: 1}}
		if dials.Add(1) == 1 {
			return offs, first, nil
		}
		return offs, second, nil
	})
	src.loop.RetryMin, src.loop.RetryMax = time.Millisecond, time.Millisecond
	require.NoError(t, src.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, src.Shutdown(context.Background())) })
	p1.YieldMessage(msg("a", `{"region":"eu"}`))
	require.Eventually(t, tbl.IsReady, 5*time.Second, time.Millisecond)
	// sarama gives up on the partition by itself.
	p1.AsyncClose()
	require.Eventually(t, func() bool { return dials.Load() == 2 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int32(1), reported.Load())
	p2.YieldMessage(msg("a", `{"region":"us"}`))
	require.Eventually(t, func() bool { return region(tbl, "a") == "us" }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int32(1), recovered.Load())
}

func TestMessageAfterPartitionErrorReportsRecovery(t *testing.T) {
	tbl := metadatatable.New(metadatatable.Projection{Columns: []string{"region"}}, nil)
	consumer := mocks.NewConsumer(t, nil)
	p := consumer.ExpectConsumePartition("meta", 0, sarama.OffsetOldest)
	var mu sync.Mutex
	var events []string
	src := newSource("meta", tbl, metadatatable.Limits{}, zap.NewNop(), func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			events = append(events, "ok")
		} else {
			events = append(events, "error")
		}
	}, func() (offsetReader, sarama.Consumer, error) {
		return &fakeOffsets{parts: []int32{0}, newest: map[int32]int64{0: 0}}, consumer, nil
	})
	require.NoError(t, src.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, src.Shutdown(context.Background())) })
	require.Eventually(t, tbl.IsReady, 5*time.Second, time.Millisecond)
	p.YieldError(sarama.ErrNotLeaderForPartition)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 1 }, 5*time.Second, time.Millisecond)
	p.YieldMessage(msg("a", `{"region":"eu"}`))
	p.YieldMessage(msg("b", `{"region":"us"}`))
	require.Eventually(t, func() bool { return region(tbl, "b") == "us" }, 5*time.Second, time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"error", "ok"}, events, "one error, one recovery, nothing per message")
}
