package eventhub_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventhub"
)

// kcat (librdkafka, Debian's package) produces to the embedded hub, one
// event per line, with keys and routing headers.
func TestKcatProducesToEmbeddedHub(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, embeddedConnector(h.Addr()))
	s := spec("kcat", "devns", "telemetry")
	s.SystemProperties = []string{"x-opt-partition-key"}
	if err := m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	waitState(t, m, s.ID, connect.Running, waitLong)

	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(kcat, append([]string{"-b", h.Addr(), "-t", "telemetry", "-P"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, out)
		}
	}
	csv := "dev1,20\ndev2,21\ndev3,22\n"
	run(csv, "-k", "sensor-7")
	jsonl := `{"device":"dev4","temp":23}` + "\n" + `{"device":"dev5","temp":24}` + "\n"
	run(jsonl, "-H", "Table=Json", "-H", "Format=multijson")

	items := sink.WaitItems(t, 5, waitLong)
	assertExactlyOnce(t, sink, []string{"dev1,20", "dev2,21", "dev3,22", `{"device":"dev4","temp":23}`, `{"device":"dev5","temp":24}`})
	for _, it := range items {
		body := string(it.Event.Body)
		if strings.HasPrefix(body, "dev") {
			if it.Route.Table != "T" || it.Route.Format != "csv" || it.Event.PartitionKey != "sensor-7" ||
				len(it.SystemProperties) != 1 || it.SystemProperties[0].Value != "sensor-7" {
				t.Fatalf("%s: %+v key %q props %v", body, it.Route, it.Event.PartitionKey, it.SystemProperties)
			}
		} else if it.Route.Table != "Json" || it.Route.Format != "multijson" {
			t.Fatalf("%s: %+v", body, it.Route)
		}
	}
	// All keyed events land on one partition, in order.
	var offsets []int64
	for _, it := range items {
		if it.Event.PartitionKey == "sensor-7" {
			offsets = append(offsets, it.Event.Offset)
		}
	}
	for i := 1; i < len(offsets); i++ {
		if offsets[i] != offsets[i-1]+1 {
			t.Fatalf("keyed events not consecutive on their partition: %v", offsets)
		}
	}
}

// A namespace bound in the configuration with SASL PLAIN and an Event Hubs
// connection string as password, and one with SCRAM-SHA-256; a wrong
// password shows as Retrying with the broker's error.
func TestSASL(t *testing.T) {
	const cs = "Endpoint=sb://secure-ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0"
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "secure"), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "$ConnectionString", cs), kfake.Superuser("SCRAM-SHA-256", "odx", "scram-secret"),
		kfake.Superuser("SCRAM-SHA-512", "odx512", "scram-secret-512"))
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	addr := broker.ListenAddrs()[0]
	conn := eventhub.New(eventhub.Options{ClientOptions: fastGroup, Namespaces: map[string]eventhub.Endpoint{
		"secure-ns": {Brokers: []string{addr}, SASL: &eventhub.SASL{Mechanism: "PLAIN", Username: "$ConnectionString", Password: cs}},
		"scram-ns":  {Brokers: []string{addr}, SASL: &eventhub.SASL{Mechanism: "SCRAM-SHA-256", Username: "odx", Password: "scram-secret"}},
		"scram512":  {Brokers: []string{addr}, SASL: &eventhub.SASL{Mechanism: "SCRAM-SHA-512", Username: "odx512", Password: "scram-secret-512"}},
		"wrong-ns":  {Brokers: []string{addr}, SASL: &eventhub.SASL{Mechanism: "PLAIN", Username: "$ConnectionString", Password: cs + "x"}},
	}})
	sink := connecttest.NewSink(testPolicy)
	m := newManager(t, sink, conn)

	plainSpec := spec("plain", "secure-ns", "secure")
	scramSpec := spec("scram", "scram-ns", "secure")
	scramSpec.ConsumerGroup = "odx-scram"
	scramSpec.Table = "Scram"
	scram512Spec := spec("scram512", "scram512", "secure")
	scram512Spec.ConsumerGroup = "odx-scram512"
	scram512Spec.Table = "Scram512"
	wrongSpec := spec("wrong", "wrong-ns", "secure")
	wrongSpec.ConsumerGroup = "odx-wrong"
	for _, s := range []connect.Spec{plainSpec, scramSpec, scram512Spec, wrongSpec} {
		if err := m.Apply(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	p := producer(t, addr, kgo.SASL(plain.Auth{User: "$ConnectionString", Pass: cs}.AsMechanism()))
	recs := numbered("secure", "s", 0, 25)
	produce(t, p, recs...)

	// The authenticated connections (separate consumer groups) read every event.
	items := sink.WaitItems(t, 3*len(recs), waitLong)
	perTable := map[string]int{}
	for _, it := range items {
		perTable[it.Route.Table]++
	}
	if perTable["T"] != len(recs) || perTable["Scram"] != len(recs) || perTable["Scram512"] != len(recs) {
		t.Fatalf("per table %v, want %d each", perTable, len(recs))
	}
	st := waitState(t, m, wrongSpec.ID, connect.Retrying, waitLong)
	if !strings.Contains(strings.ToLower(st.LastError), "sasl") {
		t.Fatalf("wrong password error does not say SASL: %q", st.LastError)
	}
}

// Two odx instances on the same hub and consumer group share its
// partitions through the Kafka group protocol, two each, and together
// ingest every event once.
func TestGroupSharesPartitions(t *testing.T) {
	h := startHub(t, "")
	sink := connecttest.NewSink(testPolicy)
	s := spec("shared", "devns", "shared")
	m1 := newManager(t, sink, embeddedConnector(h.Addr()))
	m2 := newManager(t, sink, embeddedConnector(h.Addr()))
	for _, m := range []*connect.Manager{m1, m2} {
		if err := m.Apply(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	owned := func(m *connect.Manager) int {
		st, _ := m.Status(s.ID)
		n := 0
		for _, p := range st.Partitions {
			if p.Owned {
				n++
			}
		}
		return n
	}
	connecttest.Eventually(t, 15*time.Second, func() bool { return owned(m1) == 2 && owned(m2) == 2 }, func() string {
		return "partitions not split 2/2"
	})
	rr := producer(t, h.Addr(), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	recs := numbered("shared", "e", 0, 200)
	produce(t, rr, recs...)
	sink.WaitItems(t, len(recs), waitLong)
	time.Sleep(300 * time.Millisecond)
	assertExactlyOnce(t, sink, bodies(recs))
	st1, _ := m1.Status(s.ID)
	st2, _ := m2.Status(s.ID)
	if st1.Events == 0 || st2.Events == 0 || st1.Events+st2.Events != int64(len(recs)) {
		t.Fatalf("events per instance %d + %d, want both > 0 summing to %d", st1.Events, st2.Events, len(recs))
	}

	// When one instance stops, the other takes over all partitions and
	// continues from the committed positions.
	m1.Close()
	connecttest.Eventually(t, 15*time.Second, func() bool { return owned(m2) == 4 }, func() string { return "survivor did not take all partitions" })
	more := numbered("shared", "f", 0, 100)
	produce(t, rr, more...)
	sink.WaitItems(t, len(recs)+len(more), waitLong)
	time.Sleep(300 * time.Millisecond)
	assertExactlyOnce(t, sink, append(bodies(recs), bodies(more)...))
}
