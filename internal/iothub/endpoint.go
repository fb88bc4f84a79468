package iothub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// endpoint writes device messages to the hubs' built-in event hubs.
type endpoint struct {
	hub    EventHub
	client *kgo.Client
	log    *slog.Logger

	mu      sync.Mutex
	created map[string]bool // built-in event hubs known to exist
}

func newEndpoint(h EventHub, log *slog.Logger) (*endpoint, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(h.Addr()),
		// Acknowledge a device only when the hub has the record; the
		// idempotent producer keeps retries from duplicating it.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Records are keyed by device id: one device's messages stay in
		// order on one partition, as IoT Hub partitions by device.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(30*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded IoT hub: connecting to the embedded event hub at %s: %w", h.Addr(), err)
	}
	return &endpoint{hub: h, client: cl, log: log, created: map[string]bool{}}, nil
}

// store writes one message and returns once the event hub has it.
func (e *endpoint) store(ctx context.Context, id Identity, app []Property, sys map[string]string, body []byte) error {
	topic := BuiltInEventHub(id.Hub)
	if err := e.ensure(topic); err != nil {
		return err
	}
	now := time.Now().UTC()
	props := Headers(id, app, sys, now)
	rec := &kgo.Record{Topic: topic, Key: []byte(id.Device), Value: body, Timestamp: now,
		Headers: make([]kgo.RecordHeader, len(props))}
	for i, p := range props {
		rec.Headers[i] = kgo.RecordHeader{Key: p.Name, Value: []byte(p.Value)}
	}
	// ProduceSync would wait out the client's delivery timeout even after
	// ctx ends; wait for the promise or ctx, whichever comes first. A
	// message given up on this way may still be stored, so the device's
	// resend can duplicate it: at least once, as IoT Hub itself.
	done := make(chan error, 1)
	e.client.Produce(ctx, rec, func(_ *kgo.Record, err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("the embedded event hub did not store the message in time: %w", ctx.Err())
	}
}

func (e *endpoint) ensure(topic string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.created[topic] {
		return nil
	}
	if err := e.hub.CreateTopic(topic); err != nil {
		return fmt.Errorf("creating the built-in endpoint %s: %w", topic, err)
	}
	e.created[topic] = true
	return nil
}

func (e *endpoint) close() { e.client.Close() }
