//go:build integration

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/latencywatch/latencywatch/internal/testbrokers"
)

const kafkaItems = 3000 // per signal

// kafkaTopics creates three fresh topics (3 partitions each) for one test.
func kafkaTopics(t *testing.T, client *kgo.Client, prefix string) (traces, metrics, logs string) {
	t.Helper()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano())
	traces, metrics, logs = prefix+"-traces-"+suffix, prefix+"-metrics-"+suffix, prefix+"-logs-"+suffix
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(client).CreateTopics(ctx, 3, 1, nil, traces, metrics, logs)
	if err != nil {
		t.Fatalf("creating Kafka topics: %v", err)
	}
	for _, r := range resp.Sorted() {
		if r.Err != nil {
			t.Fatalf("creating Kafka topic %s: %v", r.Topic, r.Err)
		}
	}
	return traces, metrics, logs
}

func newKafkaClient(t *testing.T, brokers string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	client, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers)}, opts...)...)
	if err != nil {
		t.Fatalf("Kafka client for %s: %v", brokers, err)
	}
	t.Cleanup(client.Close)
	return client
}

// TestE2EKafkaExport: OTLP/gRPC in → batch → contrib kafka exporter → real Kafka.
// A franz-go consumer reads every topic from the start, decodes the OTLP
// protobuf payloads and checks that exactly the sent items arrived.
func TestE2EKafkaExport(t *testing.T) {
	brokers := testbrokers.Kafka(t)
	admin := newKafkaClient(t, brokers)
	tracesTopic, metricsTopic, logsTopic := kafkaTopics(t, admin, "lw-e2e-export")
	otlpPort := freePort(t)

	startCollector(t, `
extensions:
  health_check:
    endpoint: 127.0.0.1:${HEALTH_PORT}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${OTLP_PORT}
processors:
  batch:
    send_batch_size: 500
    timeout: 200ms
exporters:
  kafka:
    brokers: ["${BROKERS}"]
    traces: {topic: ${TRACES}, encoding: otlp_proto}
    metrics: {topic: ${METRICS}, encoding: otlp_proto}
    logs: {topic: ${LOGS}, encoding: otlp_proto}
    producer:
      required_acks: -1
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [kafka]}
    metrics: {receivers: [otlp], processors: [batch], exporters: [kafka]}
    logs: {receivers: [otlp], processors: [batch], exporters: [kafka]}
`, map[string]string{"OTLP_PORT": fmt.Sprint(otlpPort), "BROKERS": brokers,
		"TRACES": tracesTopic, "METRICS": metricsTopic, "LOGS": logsTopic})

	traces, metrics, logs := makeTraces(0, kafkaItems, 50), makeMetrics(0, kafkaItems, 50), makeLogs(0, kafkaItems, 50)
	client := newOTLPClient(t, fmt.Sprintf("127.0.0.1:%d", otlpPort))
	client.sendTraces(t, traces)
	client.sendMetrics(t, metrics)
	client.sendLogs(t, logs)

	consumer := newKafkaClient(t, brokers,
		kgo.ConsumeTopics(tracesTopic, metricsTopic, logsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var gotSpans, gotPoints, gotRecords []string
	decodeErrs := 0
	deadline := time.Now().Add(90 * time.Second)
	for (len(gotSpans) < kafkaItems || len(gotPoints) < kafkaItems || len(gotRecords) < kafkaItems) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fetches := consumer.PollFetches(ctx)
		cancel()
		fetches.EachError(func(topic string, p int32, err error) {
			if err != context.DeadlineExceeded {
				t.Logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			var err error
			switch r.Topic {
			case tracesTopic:
				var td ptrace.Traces
				if td, err = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(r.Value); err == nil {
					gotSpans = append(gotSpans, spanKeys(td)...)
				}
			case metricsTopic:
				var md pmetric.Metrics
				if md, err = (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics(r.Value); err == nil {
					gotPoints = append(gotPoints, pointKeys(md)...)
				}
			case logsTopic:
				var ld plog.Logs
				if ld, err = (&plog.ProtoUnmarshaler{}).UnmarshalLogs(r.Value); err == nil {
					gotRecords = append(gotRecords, logKeys(ld)...)
				}
			}
			if err != nil {
				decodeErrs++
				t.Errorf("record %s/%d@%d is not OTLP protobuf: %v", r.Topic, r.Partition, r.Offset, err)
			}
		})
	}
	t.Logf("consumed from Kafka: %d spans, %d points, %d log records (sent %d each)",
		len(gotSpans), len(gotPoints), len(gotRecords), kafkaItems)
	if d := diffMultisets(concatKeys(traces, spanKeys), gotSpans); d != "" {
		t.Errorf("spans in Kafka differ from those sent: %s", d)
	}
	if d := diffMultisets(concatKeys(metrics, pointKeys), gotPoints); d != "" {
		t.Errorf("metric points in Kafka differ from those sent: %s", d)
	}
	if d := diffMultisets(concatKeys(logs, logKeys), gotRecords); d != "" {
		t.Errorf("log records in Kafka differ from those sent: %s", d)
	}
}

// TestE2EKafkaReceive: OTLP protobuf records produced to real Kafka → contrib
// kafka receiver → otlp_grpc exporter → an in-test OTLP sink; all arrive, equal.
func TestE2EKafkaReceive(t *testing.T) {
	brokers := testbrokers.Kafka(t)
	producer := newKafkaClient(t, brokers, kgo.RequiredAcks(kgo.AllISRAcks()))
	tracesTopic, metricsTopic, logsTopic := kafkaTopics(t, producer, "lw-e2e-receive")

	traces, metrics, logs := makeTraces(0, kafkaItems, 25), makeMetrics(0, kafkaItems, 25), makeLogs(0, kafkaItems, 25)
	var records []*kgo.Record
	for _, td := range traces {
		b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, &kgo.Record{Topic: tracesTopic, Value: b})
	}
	for _, md := range metrics {
		b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, &kgo.Record{Topic: metricsTopic, Value: b})
	}
	for _, ld := range logs {
		b, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, &kgo.Record{Topic: logsTopic, Value: b})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := producer.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("producing %d records to Kafka %s: %v", len(records), brokers, err)
	}

	sink := newOTLPSink(t)
	startCollector(t, `
extensions:
  health_check:
    endpoint: 127.0.0.1:${HEALTH_PORT}
receivers:
  kafka:
    brokers: ["${BROKERS}"]
    group_id: ${GROUP}
    initial_offset: earliest
    traces: {topics: [${TRACES}], encoding: otlp_proto}
    metrics: {topics: [${METRICS}], encoding: otlp_proto}
    logs: {topics: [${LOGS}], encoding: otlp_proto}
exporters:
  otlp_grpc:
    endpoint: ${SINK}
    tls:
      insecure: true
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces: {receivers: [kafka], exporters: [otlp_grpc]}
    metrics: {receivers: [kafka], exporters: [otlp_grpc]}
    logs: {receivers: [kafka], exporters: [otlp_grpc]}
`, map[string]string{"BROKERS": brokers, "GROUP": fmt.Sprintf("lw-e2e-%d", time.Now().UnixNano()),
		"SINK": sink.addr, "TRACES": tracesTopic, "METRICS": metricsTopic, "LOGS": logsTopic})

	eventually(t, 90*time.Second, "all items from Kafka at the OTLP sink", func() (bool, string) {
		s, p, r := sink.snapshot()
		return len(s) >= kafkaItems && len(p) >= kafkaItems && len(r) >= kafkaItems,
			fmt.Sprintf("%d spans, %d points, %d log records of %d each", len(s), len(p), len(r), kafkaItems)
	})
	time.Sleep(time.Second) // let any duplicate show up before comparing
	s, p, r := sink.snapshot()
	t.Logf("received at sink: %d spans, %d points, %d log records (produced %d each)", len(s), len(p), len(r), kafkaItems)
	if d := diffMultisets(concatKeys(traces, spanKeys), s); d != "" {
		t.Errorf("spans at sink differ from those produced: %s", d)
	}
	if d := diffMultisets(concatKeys(metrics, pointKeys), p); d != "" {
		t.Errorf("metric points at sink differ from those produced: %s", d)
	}
	if d := diffMultisets(concatKeys(logs, logKeys), r); d != "" {
		t.Errorf("log records at sink differ from those produced: %s", d)
	}
}
