package hub_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/hub"
)

// appendAll appends records from many goroutines at once (so that writes
// group several records and partitions) and waits for every callback.
func appendAll(t *testing.T, a *hub.Appender, topic string, recs []hub.Record) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(recs))
	for i := range recs {
		wg.Add(1)
		go a.Append(topic, recs[i], func(err error) { errs[i] = err; wg.Done() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// Records appended in process are what Kafka consumers read: key, value,
// headers and timestamp, on the partition a Kafka client's default
// partitioner picks for the key, in order per key, and still there after
// a restart.
func TestAppenderRecordsAsKafkaClientsReadThem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "hub")
	h := start(t, "127.0.0.1:0", dir)
	a := h.NewAppender(0)
	const keys, perKey = 20, 5
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for seq := range perKey {
		var recs []hub.Record
		for k := range keys {
			recs = append(recs, hub.Record{Key: fmt.Sprintf("device-%d", k), Value: fmt.Appendf(nil, "%d", seq),
				Timestamp: at.Add(time.Duration(seq*keys+k) * time.Millisecond),
				Headers:   []hub.Header{{Key: "seq", Value: fmt.Sprint(seq)}, {Key: "empty", Value: ""}}})
		}
		appendAll(t, a, "devices", recs) // one sequence number at a time: per key, seq is the append order
	}
	a.Close()

	check := func(got []*kgo.Record) {
		t.Helper()
		if len(got) != keys*perKey {
			t.Fatalf("read %d records, want %d", len(got), keys*perKey)
		}
		kafka := kgo.StickyKeyPartitioner(nil).ForTopic("devices")
		next := map[string]int{}
		for _, r := range got {
			if want := kafka.Partition(r, hub.DefaultPartitions); int(r.Partition) != want {
				t.Errorf("%s on partition %d; a Kafka client puts it on %d", r.Key, r.Partition, want)
			}
			seq := next[string(r.Key)]
			next[string(r.Key)]++
			if string(r.Value) != fmt.Sprint(seq) {
				t.Errorf("%s: record %d has value %q: out of order", r.Key, seq, r.Value)
			}
			if len(r.Headers) != 2 || r.Headers[0].Key != "seq" || string(r.Headers[0].Value) != fmt.Sprint(seq) || r.Headers[1].Key != "empty" || len(r.Headers[1].Value) != 0 {
				t.Errorf("%s: headers %v", r.Key, r.Headers)
			}
			var k int
			fmt.Sscanf(string(r.Key), "device-%d", &k)
			if want := at.Add(time.Duration(seq*keys+k) * time.Millisecond); !r.Timestamp.Equal(want) {
				t.Errorf("%s: timestamp %v, want %v", r.Key, r.Timestamp, want)
			}
		}
	}
	check(consumeAll(t, h.Addr(), "devices", keys*perKey))

	h.Close()
	h = start(t, "127.0.0.1:0", dir)
	defer h.Close()
	check(consumeAll(t, h.Addr(), "devices", keys*perKey))
}

// A closed appender, or one whose hub stopped, fails records instead of
// holding them.
func TestAppenderFailsWhenClosed(t *testing.T) {
	h := start(t, "127.0.0.1:0", "")
	a := h.NewAppender(0)
	got := make(chan error, 1)
	a.Append("x", hub.Record{Key: "k", Value: []byte("v"), Timestamp: time.Now()}, func(err error) { got <- err })
	if err := <-got; err != nil {
		t.Fatalf("append to a running hub: %v", err)
	}
	h.Close()
	a.Append("x", hub.Record{Key: "k", Value: []byte("v"), Timestamp: time.Now()}, func(err error) { got <- err })
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("append to a stopped hub reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append to a stopped hub neither stored nor failed")
	}
	// A topic the appender has not seen yet needs the stopped hub's
	// request loop: the record fails all the same.
	a.Append("new-topic", hub.Record{Key: "k", Value: []byte("v"), Timestamp: time.Now()}, func(err error) { got <- err })
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("append of a new topic to a stopped hub reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append of a new topic to a stopped hub neither stored nor failed")
	}
	a.Close()
	a.Append("x", hub.Record{Key: "k"}, func(err error) { got <- err })
	if err := <-got; !errors.Is(err, hub.ErrAppenderClosed) {
		t.Fatalf("append after Close: %v", err)
	}
}
