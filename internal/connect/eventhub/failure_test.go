package eventhub_test

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventhub"
)

// A poison event (unknown Format property) becomes a failure naming hub,
// partition and offset; its neighbours on the same partition are committed
// and the position moves past it.
func TestPoisonEventBecomesFailure(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("poison", "devns", "poison")
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	cl := producer(t, h.Addr())
	recs := numbered("poison", "good", 0, 5)
	bad := &kgo.Record{Topic: "poison", Value: []byte("<xml/>"), Headers: []kgo.RecordHeader{{Key: "Format", Value: []byte("xml")}}}
	all := append(append(recs[:2:2], bad), recs[2:]...)
	for _, r := range all {
		r.Partition = 1
	}
	produce(t, producer(t, h.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner())), all...)
	_ = cl
	sink.WaitItems(t, len(recs), waitLong)
	assertExactlyOnce(t, sink, bodies(recs))

	fails := sink.Failures()
	if len(fails) != 1 {
		t.Fatalf("want 1 failure, got %+v", fails)
	}
	f := fails[0]
	if f.Code != connect.CodeFormatNotSupported || f.Source != "devns/poison/partition 1/offset 2" || f.Table != "T" || f.Database != "db" || f.Connection != s.Key() {
		t.Fatalf("failure %+v", f)
	}
	if !strings.Contains(f.Message, `"xml"`) {
		t.Fatalf("failure message does not name the format: %s", f.Message)
	}
	pos, _ := sink.Positions(t.Context(), s.Key())
	if pos[1] != 6 {
		t.Fatalf("partition 1 position %d, want 6 (past the poison event)", pos[1])
	}
	st, _ := m.Status(s.ID)
	if st.Failures != 1 || !strings.Contains(st.LastFailure, "offset 2") {
		t.Fatalf("status failures %d, last %q", st.Failures, st.LastFailure)
	}
}

// A Database property needs databaseRouting Multi; otherwise it is ADX's
// BadRequest_NonMultiDatabaseDataConnection failure.
func TestDatabaseRouting(t *testing.T) {
	h := startHub(t, "")
	cl := producer(t, h.Addr())
	for _, multi := range []bool{false, true} {
		t.Run(fmt.Sprintf("multi=%v", multi), func(t *testing.T) {
			sink := connecttest.NewSink(testPolicy)
			m := newManager(t, sink, embeddedConnector(h.Addr()))
			topic := fmt.Sprintf("dbrouting-%v", multi)
			s := spec("dbr", "devns", topic)
			s.MultiDatabase = multi
			if err := m.Apply(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			plain := &kgo.Record{Topic: topic, Value: []byte("plain,1")}
			other := &kgo.Record{Topic: topic, Value: []byte("other,2"), Headers: []kgo.RecordHeader{{Key: "Database", Value: []byte("db2")}, {Key: "Table", Value: []byte("X")}}}
			produce(t, cl, plain, other)
			if multi {
				items := sink.WaitItems(t, 2, waitLong)
				for _, it := range items {
					if string(it.Event.Body) == "other,2" && (it.Route.Database != "db2" || it.Route.Table != "X") {
						t.Fatalf("routed to %s.%s", it.Route.Database, it.Route.Table)
					}
				}
				return
			}
			sink.WaitItems(t, 1, waitLong)
			connecttest.Eventually(t, 5*time.Second, func() bool { return len(sink.Failures()) == 1 }, func() string { return "no failure recorded" })
			if f := sink.Failures()[0]; f.Code != connect.CodeNonMultiDatabase || !strings.Contains(f.Message, "Multi") {
				t.Fatalf("failure %+v", f)
			}
			assertExactlyOnce(t, sink, []string{"plain,1"})
		})
	}
}

// A partition without a committed position starts at retrievalStartDate:
// older events are not ingested.
func TestRetrievalStartDate(t *testing.T) {
	h := startHub(t, "")
	cl := producer(t, h.Addr())
	cut := time.Now().Truncate(time.Millisecond)
	old := numbered("history", "old", 0, 8)
	for _, r := range old {
		r.Timestamp = cut.Add(-time.Hour)
	}
	recent := numbered("history", "new", 0, 8)
	for _, r := range recent {
		r.Timestamp = cut.Add(time.Second)
	}
	produce(t, cl, old...)
	produce(t, cl, recent...)

	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("history", "devns", "history")
	s.RetrievalStart = cut
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	sink.WaitItems(t, len(recent), waitLong)
	time.Sleep(300 * time.Millisecond)
	assertExactlyOnce(t, sink, bodies(recent))
}

// A Sink error commits nothing; the connection retries with backoff from
// the committed positions and nothing is lost or duplicated.
func TestSinkErrorRetries(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("sinkerr", "devns", "sinkerr")
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, s.ID, connect.Running, waitLong)
	cl := producer(t, h.Addr())
	first := numbered("sinkerr", "a", 0, 20)
	produce(t, cl, first...)
	sink.WaitItems(t, len(first), waitLong)

	sink.FailNext(2, errors.New("database is locked"))
	second := numbered("sinkerr", "b", 0, 20)
	produce(t, cl, second...)
	st := waitState(t, m, s.ID, connect.Retrying, waitLong)
	if !strings.Contains(st.LastError, "database is locked") || st.NextAttempt.IsZero() {
		t.Fatalf("retrying status %+v", st)
	}
	sink.WaitItems(t, len(first)+len(second), waitLong)
	waitState(t, m, s.ID, connect.Running, waitLong)
	assertExactlyOnce(t, sink, append(bodies(first), bodies(second)...))
	st, _ = m.Status(s.ID)
	if st.Restarts < 1 {
		t.Fatalf("restarts %d", st.Restarts)
	}
}

// Stopping the manager and starting a new one on the same checkpoints
// resumes where the first stopped: no event twice, none lost.
func TestResumeFromCheckpoints(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	s := spec("resume", "devns", "resume")
	cl := producer(t, h.Addr())

	m1 := newManager(t, sink, embeddedConnector(h.Addr()))
	if err := m1.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	first := numbered("resume", "one", 0, 50)
	produce(t, cl, first...)
	sink.WaitItems(t, len(first), waitLong)
	// More events arrive while the first manager is stopping and stopped.
	mid := numbered("resume", "two", 0, 30)
	produce(t, cl, mid...)
	m1.Close()

	last := numbered("resume", "three", 0, 30)
	produce(t, cl, last...)
	m2 := newManager(t, sink, embeddedConnector(h.Addr()))
	if err := m2.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	want := append(append(bodies(first), bodies(mid)...), bodies(last)...)
	sink.WaitItems(t, len(want), waitLong)
	time.Sleep(300 * time.Millisecond)
	assertExactlyOnce(t, sink, want)
}

// An update restarts the connection with the new definition; a removal
// stops it.
func TestUpdateAndRemove(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("update", "devns", "update")
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	cl := producer(t, h.Addr())
	produce(t, cl, numbered("update", "x", 0, 5)...)
	sink.WaitItems(t, 5, waitLong)

	s.Table = "Renamed"
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, numbered("update", "y", 0, 5)...)
	items := sink.WaitItems(t, 10, waitLong)
	for _, it := range items {
		if strings.HasPrefix(string(it.Event.Body), "y-") && it.Route.Table != "Renamed" {
			t.Fatalf("after the update %s went to %s", it.Event.Body, it.Route.Table)
		}
	}
	if err := m.Remove(t.Context(), strings.ToUpper(s.ID)); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Status(s.ID); ok {
		t.Fatal("removed connection still listed")
	}
	produce(t, cl, numbered("update", "z", 0, 5)...)
	time.Sleep(400 * time.Millisecond)
	if n := len(sink.Items()); n != 10 {
		t.Fatalf("a removed connection kept ingesting: %d items", n)
	}
}

// A broker that goes away puts the connection into Retrying with the error
// visible; when it comes back (same port, same data directory) ingestion
// resumes where it stopped, nothing lost, nothing twice.
func TestBrokerOutage(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	startBroker := func() *kfake.Cluster {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir), kfake.SeedTopics(4, "outage"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	broker := startBroker()
	addr := broker.ListenAddrs()[0]
	conn := eventhub.New(eventhub.Options{Namespaces: map[string]eventhub.Endpoint{"kafkans": {Brokers: []string{addr}}}, ClientOptions: fastGroup})
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, conn)
	s := spec("outage", "KafkaNS", "outage")
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, s.ID, connect.Running, waitLong)
	cl := producer(t, addr)
	before := numbered("outage", "before", 0, 30)
	produce(t, cl, before...)
	sink.WaitItems(t, len(before), waitLong)

	broker.Close()
	st := waitState(t, m, s.ID, connect.Retrying, waitLong)
	if !strings.Contains(st.LastError, "connection refused") && !strings.Contains(st.LastError, "unreachable") {
		t.Fatalf("retrying without a useful error: %q", st.LastError)
	}
	t.Logf("during the outage: %s", st.LastError)

	broker = startBroker()
	defer broker.Close()
	after := numbered("outage", "after", 0, 30)
	produce(t, cl, after...)
	sink.WaitItems(t, len(before)+len(after), waitLong)
	waitState(t, m, s.ID, connect.Running, waitLong)
	time.Sleep(300 * time.Millisecond)
	assertExactlyOnce(t, sink, append(bodies(before), bodies(after)...))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// ADX refuses to embed system properties into compressed events: such an
// event is a failure, an uncompressed neighbour is ingested with them.
func TestCompressedEventWithSystemProperties(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("gzprops", "devns", "gzprops")
	s.SystemProperties = []string{"x-opt-offset"}
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	plain := &kgo.Record{Topic: "gzprops", Value: []byte("a,1")}
	zipped := &kgo.Record{Topic: "gzprops", Value: []byte{0x1f, 0x8b}, Headers: []kgo.RecordHeader{{Key: "Compression", Value: []byte("GZip")}}}
	produce(t, producer(t, h.Addr()), plain, zipped)
	items := sink.WaitItems(t, 1, waitLong)
	connecttest.Eventually(t, waitLong, func() bool { return len(sink.Failures()) == 1 }, func() string { return "no failure" })
	if f := sink.Failures()[0]; f.Code != connect.CodePropertyNotInContext || !strings.Contains(f.Message, "compressed") {
		t.Fatalf("failure %+v", f)
	}
	if len(items[0].SystemProperties) != 1 || items[0].SystemProperties[0].Name != "x-opt-offset" {
		t.Fatalf("plain event properties %v", items[0].SystemProperties)
	}
}

// A hub missing from a configured namespace (which does not create hubs)
// shows as Retrying with an error that says so.
func TestMissingHubOnConfiguredNamespace(t *testing.T) {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "exists"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	conn := eventhub.New(eventhub.Options{Namespaces: map[string]eventhub.Endpoint{"prod": {Brokers: broker.ListenAddrs()}}, ClientOptions: fastGroup})
	m := newManager(t, connecttest.NewSink(testPolicy), conn)
	s := spec("typo", "prod", "exsts")
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	st := waitState(t, m, s.ID, connect.Retrying, waitLong)
	if !strings.Contains(st.LastError, `event hub does not exist in this namespace (Kafka topic "exsts")`) {
		t.Fatalf("error %q", st.LastError)
	}
}
