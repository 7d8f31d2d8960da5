//go:build integration

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/latencywatch/latencywatch/internal/pulsarclient"
	"github.com/latencywatch/latencywatch/internal/testbrokers"
)

const (
	bridgeKeys      = 5
	bridgePerKey    = 200
	bridgeNamespace = "public/default"
)

// bridgeLogs is one OTLP log batch for key k, sequence number seq: the key is
// the service (a resource attribute, so both exporters key by it).
func bridgeLogs(k, seq int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", k))
	r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.Body().SetStr(fmt.Sprintf("svc-%d #%d", k, seq))
	r.Attributes().PutInt("seq", int64(seq))
	return ld
}

// orderCheck records, per key, the sequence numbers in arrival order.
type orderCheck struct {
	mu   sync.Mutex
	seqs map[string][]int64
}

func (o *orderCheck) addLogs(payload []byte) error {
	ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(payload)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		svc, _ := rl.Resource().Attributes().Get("service.name")
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				seq, _ := r.Attributes().Get("seq")
				o.seqs[svc.Str()] = append(o.seqs[svc.Str()], seq.Int())
			}
		}
	}
	return nil
}

// verdict: complete when every key has all sequence numbers; ordered when
// the first deliveries of each key come in sequence order (a redelivered
// duplicate may repeat an earlier number, never skip ahead).
func (o *orderCheck) verdict() (complete bool, problems []string, duplicates int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	complete = len(o.seqs) == bridgeKeys
	for k, seqs := range o.seqs {
		seen := map[int64]bool{}
		next := int64(0)
		for _, s := range seqs {
			if seen[s] {
				duplicates++
				continue
			}
			seen[s] = true
			if s != next {
				problems = append(problems, fmt.Sprintf("%s: got #%d where #%d was next", k, s, next))
			}
			next = s + 1
		}
		if len(seen) != bridgePerKey {
			complete = false
		}
	}
	return complete, problems, duplicates
}

func (o *orderCheck) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, s := range o.seqs {
		n += len(s)
	}
	return n
}

// TestE2EKafkaPulsarBridge runs config/bridge-kafka-pulsar.yaml in the built
// binary against real Kafka and Pulsar, in both directions at once: 5 keys ×
// 200 ordered log batches produced to Kafka arrive in Pulsar, and 5 × 200
// produced to Pulsar arrive in Kafka — all of them, each key in order.
func TestE2EKafkaPulsarBridge(t *testing.T) {
	brokers := testbrokers.Kafka(t)
	pulsarURL, _ := testbrokers.Pulsar(t)
	prefix := fmt.Sprintf("lwbridge%d", time.Now().UnixNano())
	t.Setenv("LW_KAFKA_BROKERS", brokers)
	t.Setenv("LW_PULSAR_URL", pulsarURL)
	t.Setenv("LW_BRIDGE_PREFIX", prefix)
	t.Setenv("LW_PULSAR_NAMESPACE", bridgeNamespace)

	kafkaIn, kafkaOut := prefix+"-logs", prefix+"-logs-from-pulsar"
	pulsarIn := fmt.Sprintf("persistent://%s/%s-logs", bridgeNamespace, prefix)
	pulsarOut := fmt.Sprintf("persistent://%s/%s-logs-from-kafka", bridgeNamespace, prefix)

	kc := newKafkaClient(t, brokers, kgo.RequiredAcks(kgo.AllISRAcks()))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	resp, err := kadm.NewClient(kc).CreateTopics(ctx, 3, 1, nil, kafkaIn, kafkaOut, prefix+"-traces", prefix+"-metrics")
	if err != nil {
		t.Fatalf("creating Kafka topics: %v", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			t.Fatalf("creating Kafka topic %s: %v", r.Topic, r.Err)
		}
	}

	pc, err := pulsar.NewClient(pulsar.ClientOptions{URL: pulsarURL, Logger: pulsarclient.NewLogger(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	// Readers of both outputs, from the beginning.
	fromKafka := &orderCheck{seqs: map[string][]int64{}}
	cons, err := pc.Subscribe(pulsar.ConsumerOptions{Topic: pulsarOut, SubscriptionName: "check",
		Type: pulsar.Exclusive, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatalf("subscribing to %s: %v", pulsarOut, err)
	}
	defer cons.Close()
	go func() {
		for {
			msg, err := cons.Receive(ctx)
			if err != nil {
				return
			}
			if err := fromKafka.addLogs(msg.Payload()); err != nil {
				t.Errorf("undecodable message on %s: %v", pulsarOut, err)
			}
			_ = cons.Ack(msg)
		}
	}()
	fromPulsar := &orderCheck{seqs: map[string][]int64{}}
	reader := newKafkaClient(t, brokers, kgo.ConsumeTopics(kafkaOut), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	go func() {
		for ctx.Err() == nil {
			fetches := reader.PollFetches(ctx)
			fetches.EachRecord(func(r *kgo.Record) {
				if err := fromPulsar.addLogs(r.Value); err != nil {
					t.Errorf("undecodable record on %s: %v", kafkaOut, err)
				}
			})
		}
	}()

	config, err := os.ReadFile(filepath.Join("..", "..", "config", "bridge-kafka-pulsar.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(config), "${env:LW_HEALTH_ENDPOINT:-0.0.0.0:13133}", "127.0.0.1:${HEALTH_PORT}")
	startCollector(t, cfg, nil)

	// Both inputs, each key in order.
	var records []*kgo.Record
	for seq := 0; seq < bridgePerKey; seq++ {
		for k := 0; k < bridgeKeys; k++ {
			b, err := (&plog.ProtoMarshaler{}).MarshalLogs(bridgeLogs(k, seq))
			if err != nil {
				t.Fatal(err)
			}
			records = append(records, &kgo.Record{Topic: kafkaIn, Key: []byte(fmt.Sprintf("svc-%d", k)), Value: b})
		}
	}
	if err := kc.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("producing to Kafka: %v", err)
	}
	prod, err := pc.CreateProducer(pulsar.ProducerOptions{Topic: pulsarIn})
	if err != nil {
		t.Fatalf("producer for %s: %v", pulsarIn, err)
	}
	defer prod.Close()
	for seq := 0; seq < bridgePerKey; seq++ {
		for k := 0; k < bridgeKeys; k++ {
			b, err := (&plog.ProtoMarshaler{}).MarshalLogs(bridgeLogs(k, seq))
			if err != nil {
				t.Fatal(err)
			}
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: b, Key: fmt.Sprintf("svc-%d", k)},
				func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
					if err != nil {
						t.Errorf("producing to %s: %v", pulsarIn, err)
					}
				})
		}
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		t.Fatalf("flushing %s: %v", pulsarIn, err)
	}

	for _, dir := range []struct {
		name string
		o    *orderCheck
	}{{"Kafka → Pulsar", fromKafka}, {"Pulsar → Kafka", fromPulsar}} {
		eventually(t, 3*time.Minute, dir.name+": every key complete", func() (bool, string) {
			done, _, _ := dir.o.verdict()
			return done, fmt.Sprintf("%d of %d records", dir.o.count(), bridgeKeys*bridgePerKey)
		})
		_, problems, dups := dir.o.verdict()
		if len(problems) > 0 {
			t.Errorf("%s: per-key order broken: %v", dir.name, problems[:min(5, len(problems))])
		}
		t.Logf("%s: %d records for %d keys arrived, per-key order kept, %d duplicates", dir.name, bridgeKeys*bridgePerKey, bridgeKeys, dups)
		fmt.Printf("bridge %s: %d/%d records, order kept: %v, duplicates: %d\n", dir.name, bridgeKeys*bridgePerKey, bridgeKeys*bridgePerKey, len(problems) == 0, dups)
	}
}
