package eventhub_test

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
)

// Events produced with franz-go arrive once each, routed per table by the
// Table property, with the Kafka record's system properties, one table per
// commit and positions that cover exactly what was committed.
func TestRoutingSystemPropertiesAndBatching(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("routing", "devns", "orders")
	s.SystemProperties = []string{"x-opt-enqueued-time", "x-opt-sequence-number", "x-opt-offset", "x-opt-partition-key"}
	if p := m.Validate(t.Context(), s); len(p) > 0 {
		t.Fatalf("valid spec refused: %v", p)
	}
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, s.ID, connect.Running, waitLong)

	cl := producer(t, h.Addr())
	enqueued := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 40 {
		r := &kgo.Record{Topic: "orders", Key: []byte{byte('a' + i%4)}, Timestamp: enqueued, Value: []byte{byte('0' + i%10), ',', byte('a' + i%26)}}
		r.Value = append(r.Value, []byte(string(rune('A'+i/26)))...)
		switch i % 4 {
		case 1:
			r.Headers = []kgo.RecordHeader{{Key: "Table", Value: []byte("Other")}, {Key: "Format", Value: []byte("json")}, {Key: "Tags", Value: []byte("['red','blue']")}}
		case 2:
			r.Headers = []kgo.RecordHeader{{Key: "IngestionMappingReference", Value: []byte("m1")}, {Key: "Encoding", Value: []byte("utf-8")}}
		}
		recs = append(recs, r)
	}
	produce(t, cl, recs...)
	items := sink.WaitItems(t, len(recs), waitLong)
	assertExactlyOnce(t, sink, bodies(recs))

	byBody := map[string]connect.Item{}
	for _, it := range items {
		byBody[string(it.Event.Body)] = it
	}
	for i, r := range recs {
		it := byBody[string(r.Value)]
		wantTable, wantFormat, wantMapping := "T", "csv", ""
		var wantTags []string
		switch i % 4 {
		case 1:
			wantTable, wantFormat, wantTags = "Other", "json", []string{"red", "blue"}
		case 2:
			wantMapping = "m1"
		}
		if it.Route.Database != "db" || it.Route.Table != wantTable || it.Route.Format != wantFormat || it.Route.Mapping != wantMapping || !slices.Equal(it.Route.Tags, wantTags) {
			t.Fatalf("event %d routed to %+v", i, it.Route)
		}
		if i%4 == 2 && it.Route.Encoding != "UTF8" {
			t.Fatalf("Encoding utf-8 not normalised: %q", it.Route.Encoding)
		}
		ev := it.Event
		if ev.PartitionKey != string(r.Key) || !ev.EnqueuedTime.Equal(enqueued) || ev.SequenceNumber != ev.Offset {
			t.Fatalf("event %d: key %q time %v seq %d offset %d", i, ev.PartitionKey, ev.EnqueuedTime, ev.SequenceNumber, ev.Offset)
		}
		want := []connect.SystemProperty{
			{Name: "x-opt-enqueued-time", Value: enqueued.UTC()},
			{Name: "x-opt-sequence-number", Value: ev.Offset},
			{Name: "x-opt-offset", Value: itoa(ev.Offset)},
			{Name: "x-opt-partition-key", Value: string(r.Key)},
		}
		if len(it.SystemProperties) != len(want) {
			t.Fatalf("event %d system properties %v", i, it.SystemProperties)
		}
		for j := range want {
			got := it.SystemProperties[j]
			if tm, ok := got.Value.(time.Time); ok {
				if !tm.Equal(want[j].Value.(time.Time)) || got.Name != want[j].Name {
					t.Fatalf("event %d property %d: %v", i, j, got)
				}
				continue
			}
			if got != want[j] {
				t.Fatalf("event %d property %d: got %v want %v", i, j, got, want[j])
			}
		}
		if it.Source != "devns/orders/partition "+itoa32(ev.Partition)+"/offset "+itoa(ev.Offset) {
			t.Fatalf("source %q", it.Source)
		}
	}

	// Final positions equal each partition's end: everything is committed.
	pos, _ := sink.Positions(t.Context(), s.Key())
	hwm := h.HighWatermarks("orders")
	if len(hwm) != 4 {
		t.Fatalf("hub created with %d partitions, want 4", len(hwm))
	}
	for p, end := range hwm {
		if end > 0 && pos[p] != end {
			t.Fatalf("partition %d: committed position %d, end %d", p, pos[p], end)
		}
	}
	st, _ := m.Status(s.ID)
	if st.Events != int64(len(recs)) || st.Failures != 0 {
		t.Fatalf("status counts %d events, %d failures", st.Events, st.Failures)
	}
	for _, p := range st.Partitions {
		if p.Lag != 0 {
			t.Fatalf("partition %d lag %d after everything was committed", p.Partition, p.Lag)
		}
	}
	t.Logf("%d events in %d commits", len(items), len(sink.Commits()))
}

func itoa(n int64) string   { return formatInt(n) }
func itoa32(n int32) string { return formatInt(int64(n)) }

// A table's batch is committed when it reaches MaxItems, even within one
// poll: no commit holds more than the policy allows.
func TestCommitsRespectMaxItems(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(connect.BatchingPolicy{MaxDelay: time.Hour, MaxItems: 10, MaxBytes: 1 << 20})
	recs := numbered("maxitems", "m", 0, 35)
	for _, r := range recs {
		r.Key = nil
	}
	if err := h.CreateTopic("maxitems"); err != nil {
		t.Fatal(err)
	}
	produce(t, producer(t, h.Addr(), kgo.RecordPartitioner(kgo.RoundRobinPartitioner())), recs...)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	if err := m.Apply(t.Context(), spec("maxitems", "devns", "maxitems")); err != nil {
		t.Fatal(err)
	}
	sink.WaitItems(t, 30, waitLong) // 5 stay below MaxItems until MaxDelay
	for _, c := range sink.Commits() {
		if len(c.Items) != 10 {
			t.Fatalf("a commit of %d items with MaxItems 10", len(c.Items))
		}
	}
	if v := sink.Violations(); len(v) > 0 {
		t.Fatal(v)
	}
	seen := map[string]bool{}
	for _, it := range sink.Items() {
		if seen[string(it.Event.Body)] {
			t.Fatalf("%s committed twice", it.Event.Body)
		}
		seen[string(it.Event.Body)] = true
	}
}
