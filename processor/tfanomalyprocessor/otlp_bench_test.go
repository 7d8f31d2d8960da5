package tfanomalyprocessor

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rawCodec sends a request that is already OTLP protobuf, so the in-process
// client costs only gRPC framing (the same for both variants), not encoding.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// timestampSlots finds the byte offsets of every fixed64 data-point time in
// an encoded request whose points all carry ts, so a round can move them.
func timestampSlots(raw []byte, ts uint64) []int {
	var pat [8]byte
	binary.LittleEndian.PutUint64(pat[:], ts)
	var slots []int
	for off := 0; ; {
		i := bytes.Index(raw[off:], pat[:])
		if i < 0 {
			return slots
		}
		slots = append(slots, off+i)
		off += i + 8
	}
}

// BenchmarkThroughputOTLPReceiver10kSeries measures the definition of
// the CPU target: OTLP → tf_anomaly → nop against OTLP → nop, both behind the
// real otlp receiver (gRPC on loopback) in one process and one run. The
// request is pre-encoded (rawCodec) and its timestamps moved in place each
// round, identically for both variants. cpu-ns/point is process CPU (receiver,
// gRPC server and client framing, processor, GC) divided by points.
func BenchmarkThroughputOTLPReceiver10kSeries(b *testing.B) {
	raw := benchRequest(b, benchSeries, false)
	slots := timestampSlots(raw, uint64(baseSeconds*int64(time.Second)))
	if len(slots) != benchSeries {
		b.Fatalf("found %d timestamp slots in the request, want %d", len(slots), benchSeries)
	}
	setRound := func(round int64) {
		ts := uint64((baseSeconds + 10*round) * int64(time.Second))
		for _, off := range slots {
			binary.LittleEndian.PutUint64(raw[off:], ts)
		}
	}
	ctx := context.Background()

	run := func(b *testing.B, next consumer.Metrics, warm int64, scoredLast func() int64) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cfg := otlpreceiver.NewFactory().CreateDefaultConfig().(*otlpreceiver.Config)
		grpcCfg := configgrpc.NewDefaultServerConfig()
		grpcCfg.NetAddr.Endpoint = addr
		grpcCfg.MaxRecvMsgSizeMiB = 64
		cfg.Protocols.GRPC = configoptional.Some(grpcCfg)
		cfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()
		rcv, err := otlpreceiver.NewFactory().CreateMetrics(ctx,
			receivertest.NewNopSettings(component.MustNewType("otlp")), cfg, next)
		if err != nil {
			b.Fatal(err)
		}
		if err := rcv.Start(ctx, componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = rcv.Shutdown(ctx) }()
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		send := func(round int64) {
			setRound(round)
			var resp []byte
			if err := conn.Invoke(ctx, "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", &raw, &resp); err != nil {
				b.Fatal(err)
			}
		}
		round := int64(0)
		for ; round < warm; round++ {
			send(round)
		}
		scored := int64(0)
		b.ReportAllocs()
		cpu0 := cpuTime(b)
		for b.Loop() {
			send(round)
			round++
			scored += scoredLast()
		}
		points := int64(b.N) * benchSeries
		if scoredLast != nil && scored != points && warm > 2 {
			b.Fatalf("scored %d points, want every point (%d)", scored, points)
		}
		b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(points), "cpu-ns/point")
		b.ReportMetric(float64(points)/b.Elapsed().Seconds(), "points/s")
	}

	b.Run("passthrough", func(b *testing.B) {
		run(b, consumertest.NewNop(), 2, func() int64 { return 0 })
	})
	for _, mode := range []string{ModeStatistical, ModeModel} {
		b.Run(mode, func(b *testing.B) {
			cfg := createDefaultConfig()
			cfg.Mode = mode
			cfg.MaxSeries = 2 * benchSeries
			p, err := newAnomalyProcessor(processorSettings(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			proc, err := createMetricsWith(ctx, processorSettings(), cfg, consumertest.NewNop(), p)
			if err != nil {
				b.Fatal(err)
			}
			if err := proc.Start(ctx, componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = proc.Shutdown(ctx) }()
			// The processor's per-request count; the gRPC call returns only
			// after the pipeline consumed the request.
			run(b, proc, int64(cfg.MinPoints), func() int64 { return p.counts.scored })
		})
	}
}
