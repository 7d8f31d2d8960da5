//go:build integration

package testbrokers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/latencywatch/latencywatch/internal/testbrokers/probe"
)

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestIntegrationKafkaRoundTrip(t *testing.T) {
	brokers := Kafka(t)
	if err := probe.KafkaRoundTrip(testCtx(t, time.Minute), probe.Kafka{Brokers: strings.Split(brokers, ",")}); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationPulsarRoundTrip(t *testing.T) {
	u, h := Pulsar(t)
	if err := probe.PulsarRoundTrip(testCtx(t, time.Minute), probe.Pulsar{URL: u, HTTPURL: h}); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationKafkaStopStart writes a record, restarts the broker and reads
// the record back: the restart keeps the port and the data.
func TestIntegrationKafkaStopStart(t *testing.T) {
	brokers := Kafka(t)
	ctx := testCtx(t, 5*time.Minute)
	topic := fmt.Sprintf("lw-restart-%d", time.Now().UnixNano())
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: topic, Value: []byte("before-restart")}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	StopKafka(t)
	StartKafka(t)

	cl, err = kgo.NewClient(kgo.SeedBrokers(brokers),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {rec.Partition: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fetches := cl.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("consume after restart: %v", err)
	}
	recs := fetches.Records()
	if len(recs) == 0 || string(recs[0].Value) != "before-restart" {
		t.Fatalf("after restart want the record written before it, got %d records", len(recs))
	}
}

// TestIntegrationPulsarStopStart sends a message, stops Pulsar, starts it
// again and checks that a durable subscription made before the stop still
// receives both that message and one sent after the restart.
func TestIntegrationPulsarStopStart(t *testing.T) {
	u, h := Pulsar(t)
	ctx := testCtx(t, 5*time.Minute)
	topic := fmt.Sprintf("persistent://public/default/lw-restart-%d", time.Now().UnixNano())
	opts := probe.PulsarClientOptions(probe.Pulsar{URL: u, HTTPURL: h})

	send := func(payload string) {
		t.Helper()
		client, err := pulsar.NewClient(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
		if err != nil {
			t.Fatalf("producer: %v", err)
		}
		defer p.Close()
		if _, err := p.Send(ctx, &pulsar.ProducerMessage{Payload: []byte(payload)}); err != nil {
			t.Fatalf("send %s: %v", payload, err)
		}
	}
	subscribe := func(client pulsar.Client) pulsar.Consumer {
		t.Helper()
		c, err := client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "durable",
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		return c
	}

	// Create the durable subscription, then send the first message.
	client, err := pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(client).Close()
	client.Close()
	send("before-restart")

	StopPulsar(t)
	StartPulsar(t)

	send("after-restart")
	client, err = pulsar.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c := subscribe(client)
	defer c.Close()
	var got []string
	for len(got) < 2 {
		msg, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("receive after restart (got %v so far): %v", got, err)
		}
		_ = c.Ack(msg)
		got = append(got, string(msg.Payload()))
	}
	if got[0] != "before-restart" || got[1] != "after-restart" {
		t.Fatalf("after restart want [before-restart after-restart], got %v", got)
	}
}
