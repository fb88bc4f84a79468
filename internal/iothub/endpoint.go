package iothub

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/hub"
)

// endpoint writes device messages to the hubs' built-in event hubs.
type endpoint struct {
	hub     EventHub
	timeout time.Duration // a message not stored by then fails
	log     *slog.Logger

	// appender stores records when the event hub is odx's own (it
	// implements appendingHub); otherwise client produces them over Kafka.
	appender *hub.Appender
	client   *kgo.Client

	mu      sync.Mutex
	created map[string]bool // built-in event hubs known to exist (client only)
}

// appendingHub is an event hub that stores records handed to it in process
// (*hub.Hub): no Kafka client, no loopback round trip per request, and the
// messages that arrive while one write is in progress go in the next.
type appendingHub interface {
	NewAppender(timeout time.Duration) *hub.Appender
}

func newEndpoint(h EventHub, timeout time.Duration, log *slog.Logger) (*endpoint, error) {
	e := &endpoint{hub: h, timeout: timeout, log: log, created: map[string]bool{}}
	if ah, ok := h.(appendingHub); ok {
		e.appender = ah.NewAppender(timeout)
		return e, nil
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(h.Addr()),
		// Acknowledge a device only when the hub has the record; the
		// idempotent producer keeps retries from duplicating it.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Records are keyed by device id: one device's messages stay in
		// order on one partition, as IoT Hub partitions by device.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(0),
		// A record not stored in time fails, so its device hears of it.
		kgo.RecordDeliveryTimeout(timeout),
		// The embedded event hub is on loopback: compressing batches (franz-go
		// defaults to snappy) only costs CPU here and in every consumer.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded IoT hub: connecting to the embedded event hub at %s: %w", h.Addr(), err)
	}
	e.client = cl
	return e, nil
}

// storeTo writes one message to an event hub and calls done once the
// event hub has it, or with the error that kept it from being stored (at
// the latest when ctx ends, or after the endpoint's timeout). For one
// device, done is called in the order of storeTo calls: records of a
// device share a partition, which both the appender and franz-go complete
// in order.
func (e *endpoint) storeTo(ctx context.Context, topic string, id Identity, app []Property, sys map[string]string, body []byte, done func(error)) {
	now := time.Now().UTC()
	if e.appender != nil {
		// The appender fails a write the hub does not answer within the
		// timeout, and everything pending when the server closes it: no
		// timer or context registration per message.
		// The headers are gathered on the stack and kept at their exact
		// count: a message has about 5 of the 14 possible system properties,
		// and room for all of them was a third of a kilobyte per message.
		var room [24]hub.Header
		headers := appendHeaders(room[:0], id, app, sys, now,
			func(name, value string) hub.Header { return hub.Header{Key: name, Value: value} })
		e.appender.Append(topic, hub.Record{Key: id.Device, Value: body, Timestamp: now, Headers: slices.Clone(headers)}, done)
		return
	}
	if err := e.ensure(topic); err != nil {
		done(err)
		return
	}
	props := Headers(id, app, sys, now)
	// One buffer holds every header value: one allocation, not one each.
	size := 0
	for _, p := range props {
		size += len(p.Value)
	}
	values := make([]byte, 0, size)
	rec := &kgo.Record{Topic: topic, Key: []byte(id.Device), Value: body, Timestamp: now,
		Headers: make([]kgo.RecordHeader, len(props))}
	for i, p := range props {
		values = append(values, p.Value...)
		rec.Headers[i] = kgo.RecordHeader{Key: p.Name, Value: values[len(values)-len(p.Value) : len(values) : len(values)]}
	}
	// franz-go may hold a record past ctx while the hub is unreachable;
	// the device hears of the failure when ctx ends all the same. The
	// endpoint's own timeout is a timer rather than a context deadline
	// the caller derives for every message: each derived context registers
	// with its parent, whose lock all devices' messages share.
	var finished atomic.Bool
	finish := func(err error) {
		if finished.CompareAndSwap(false, true) {
			done(err)
		}
	}
	timer := time.AfterFunc(e.timeout, func() {
		finish(fmt.Errorf("the embedded event hub did not store the message within %v", e.timeout))
	})
	stop := context.AfterFunc(ctx, func() {
		finish(fmt.Errorf("the embedded event hub did not store the message in time: %w", ctx.Err()))
	})
	e.client.Produce(ctx, rec, func(_ *kgo.Record, err error) {
		timer.Stop()
		stop()
		finish(err)
	})
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

func (e *endpoint) close() {
	if e.appender != nil {
		e.appender.Close()
	}
	if e.client != nil {
		e.client.Close()
	}
}

// primeRecentIDs adds to seen the device and message id of the last n
// records of each partition of topic (those with a message-id header).
func (e *endpoint) primeRecentIDs(ctx context.Context, topic string, n int, seen *recentIDs) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.hub.Addr()))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return err
	}
	from := map[int32]kgo.Offset{}
	want := map[int32]int64{} // partition → end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset <= 0 {
			return
		}
		at := max(o.Offset-int64(n), 0)
		if s, ok := starts.Lookup(topic, o.Partition); ok && s.Err == nil {
			at = max(at, s.Offset)
		}
		if at < o.Offset {
			from[o.Partition] = kgo.NewOffset().At(at)
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	// The client that listed the offsets reads the tails too (a client
	// without a group consumes the partitions it is given directly).
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			var dev, mod, mid string
			for _, h := range r.Headers {
				switch h.Key {
				case PropDeviceID:
					dev = string(h.Value)
				case PropModuleID:
					mod = string(h.Value)
				case PropMessageID:
					mid = string(h.Value)
				}
			}
			if mid != "" {
				seen.add(recentKey(dev, mod, mid))
			}
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	return nil
}
