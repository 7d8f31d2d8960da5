package pulsarreceiver

import (
	"context"
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/testdata"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/latencywatch/latencywatch/receiver/pulsarreceiver/internal/metadata"
)

// ackCounter accepts acks without keeping them.
type ackCounter struct{ n int }

func (*ackCounter) Receive(context.Context) (pulsar.Message, error) { return nil, context.Canceled }
func (a *ackCounter) Ack(pulsar.Message) error                      { a.n++; return nil }
func (*ackCounter) Nack(pulsar.Message)                             {}
func (*ackCounter) Close()                                          {}

// BenchmarkHandle measures decode → pipeline → ack for one 1000-span message.
func BenchmarkHandle(b *testing.B) {
	r, err := createTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	pr := r.(*pulsarReceiver)
	tb, err := metadata.NewTelemetryBuilder(receivertest.NewNopSettings(metadata.Type).TelemetrySettings)
	if err != nil {
		b.Fatal(err)
	}
	pr.telemetry = tb
	payload, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(testdata.GenerateTraces(1000))
	if err != nil {
		b.Fatal(err)
	}
	msg := &fakeMessage{id: 1, payload: payload}
	sub := &ackCounter{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		msg.id++ // a new message each time (an id seen before is acked as a duplicate)
		if !pr.handle(ctx, sub, msg) {
			b.Fatal("message not acked")
		}
	}
}
