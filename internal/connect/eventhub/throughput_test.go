package eventhub_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
)

// countingSink commits instantly and only counts, so the figure is the
// connector's own cost (Kafka fetch, routing, batching).
type countingSink struct {
	*connecttest.Sink
	events atomic.Int64
}

func (s *countingSink) Ingest(_ context.Context, c connect.Commit) (connect.Report, error) {
	s.events.Add(int64(len(c.Items)))
	return connect.Report{Rows: int64(len(c.Items))}, nil
}

// TestThroughput compares the connector with a bare franz-go group consumer
// on the same topic. It runs only with ODX_EH_BENCH=<events>, e.g.
//
//	ODX_EH_BENCH=200000 go test ./internal/connect/eventhub -run Throughput -v
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ODX_EH_BENCH"))
	if n <= 0 {
		t.Skip("set ODX_EH_BENCH=<events> to measure")
	}
	h := startHub(t, "")
	if err := h.CreateTopic("bench"); err != nil {
		t.Fatal(err)
	}
	p := producer(t, h.Addr(), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(5*time.Millisecond))
	body := []byte(`{"timestamp":"2026-11-28T13:00:00.0000000Z","device":"device-0000","metric":"temperature","value":21.5,"unit":"celsius","site":"north-campus","rack":"r12","tags":{"env":"prod","team":"ops"},"note":"steady state reading from the benchmark producer, padded to ~300 bytes"}`)
	start := time.Now()
	ctx := context.Background()
	for i := range n {
		p.Produce(ctx, &kgo.Record{Topic: "bench", Value: body}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
		_ = i
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("produced %d events of %d bytes in %v", n, len(body), time.Since(start).Round(time.Millisecond))

	// Bare consumer: group, commit marks, no processing.
	start = time.Now()
	bare, err := kgo.NewClient(kgo.SeedBrokers(h.Addr()), kgo.ConsumerGroup("bare"), kgo.ConsumeTopics("bench"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitMarks())
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < n {
		f := bare.PollRecords(ctx, 10000)
		got += f.NumRecords()
		bare.MarkCommitRecords(f.Records()...)
	}
	bare.Close()
	bareRate := float64(n) / time.Since(start).Seconds()

	sink := &countingSink{Sink: connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Second, MaxItems: 25000, MaxBytes: 1 << 30})}
	reg := connect.NewRegistry()
	c := embeddedConnector(h.Addr())
	if err := reg.Register("EventHub", c); err != nil {
		t.Fatal(err)
	}
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: sink, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := spec("bench", "devns", "bench")
	s.Format = "json"
	start = time.Now()
	if err := m.Apply(ctx, s); err != nil {
		t.Fatal(err)
	}
	for sink.events.Load() < int64(n) {
		time.Sleep(5 * time.Millisecond)
	}
	rate := float64(n) / time.Since(start).Seconds()
	mb := float64(len(body)) / 1e6
	t.Logf("bare franz-go group consumer: %.0f events/s (%.1f MB/s)", bareRate, bareRate*mb)
	t.Logf("data connection (routing+batching, counting sink): %.0f events/s (%.1f MB/s), %.2f of bare", rate, rate*mb, rate/bareRate)
	fmt.Println()
}
