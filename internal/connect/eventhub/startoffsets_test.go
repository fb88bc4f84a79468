package eventhub_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect/eventhub"
)

// A connection without positions starts at the first event stamped at or
// after its retrieval start; where none is that late yet, at the end as it
// was before the timestamp was looked up (never past events that arrive
// meanwhile).
func TestStartOffsetsAtRetrievalStart(t *testing.T) {
	h := startHub(t, t.TempDir())
	if err := h.CreateTopic("starts"); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.Addr()), kgo.DefaultProduceTopic("starts"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	old, recent := start.Add(-time.Hour), start.Add(time.Minute)
	// Partition 0: two events before the start, one after. Partition 1:
	// only old events. Partitions 2 and 3: empty.
	for _, r := range []*kgo.Record{
		{Partition: 0, Timestamp: old, Value: []byte("a")}, {Partition: 0, Timestamp: old, Value: []byte("b")},
		{Partition: 0, Timestamp: recent, Value: []byte("c")},
		{Partition: 1, Timestamp: old, Value: []byte("d")},
	} {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	late := eventhub.NewLateClient()
	// A group callback may ask before the client is there: it waits for it.
	go func() { time.Sleep(20 * time.Millisecond); late.Set(cl) }()
	got, err := eventhub.StartOffsets(ctx, late, "starts", start)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{0: 2, 1: 1, 2: 0, 3: 0}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("partition %d starts at %d, want %d (all: %v)", p, got[p], w, got)
		}
	}
}
