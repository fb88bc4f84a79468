package eventhub_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventhub"
	"odx/internal/hub"
)

// testPolicy batches for a short time so tests see commits quickly.
var testPolicy = connect.BatchingPolicy{MaxDelay: 150 * time.Millisecond, MaxItems: 1000, MaxBytes: 1 << 20}

// fastGroup shortens the group timings so rebalances take milliseconds.
var fastGroup = []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(100 * time.Millisecond)}

func quietLogger() *slog.Logger {
	if os.Getenv("ODX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startHub runs an in-memory embedded hub on a free port.
func startHub(t *testing.T, dataDir string) *hub.Hub {
	t.Helper()
	h, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", DataDir: dataDir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

var nodes atomic.Int32

// embeddedConnector is one odx node's connector for the embedded hub; each
// call is a distinct node (its own static group identity).
func embeddedConnector(addr string) *eventhub.Connector {
	return eventhub.New(eventhub.Options{
		Embedded:      &eventhub.Endpoint{Brokers: []string{addr}, CreateTopics: true, Partitions: hub.DefaultPartitions, StaticMembership: true},
		NodeID:        fmt.Sprintf("test-node-%d", nodes.Add(1)),
		ClientOptions: fastGroup,
	})
}

// newManager runs a manager with one connector; it is closed at cleanup.
// The sink commits in two steps, as the pipeline's does, so the connector
// commits in the background.
func newManager(t *testing.T, sink *connecttest.Sink, c *eventhub.Connector) *connect.Manager {
	t.Helper()
	reg := connect.NewRegistry()
	if err := eventhub.Register(reg, c); err != nil {
		t.Fatal(err)
	}
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: connecttest.Preparing(sink), Checkpoints: sink, Logger: quietLogger(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

const testSub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"

func hubID(namespace, hubName string) string {
	return testSub + "/providers/Microsoft.EventHub/namespaces/" + namespace + "/eventhubs/" + hubName
}

// spec is a CSV connection on db.T reading hubName, starting an hour ago.
func spec(name, namespace, hubName string) connect.Spec {
	return connect.Spec{
		ID:       testSub + "/providers/Microsoft.Kusto/Clusters/c1/Databases/db/DataConnections/" + name,
		Database: "db", Name: name, Kind: "EventHub",
		Source: hubID(namespace, hubName), ConsumerGroup: "$Default",
		Table: "T", Format: "CSV", Compression: "None",
		RetrievalStart: time.Now().Add(-time.Hour),
	}
}

func producer(t *testing.T, addr string, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	// A short metadata age: a produce to a hub created on first use retries
	// its metadata at once instead of after franz-go's default 5s.
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(50 * time.Millisecond)}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// numbered makes n CSV records "<prefix>-<i>,<i>" for topic.
func numbered(topic, prefix string, from, n int) []*kgo.Record {
	out := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		out = append(out, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(fmt.Sprintf("%s-%d,%d", prefix, i, i))})
	}
	return out
}

// assertExactlyOnce checks that the committed bodies are exactly want
// (no loss, no duplicate) and that every commit kept the rules.
func assertExactlyOnce(t *testing.T, sink *connecttest.Sink, want []string) {
	t.Helper()
	if v := sink.Violations(); len(v) > 0 {
		t.Fatalf("exactly-once rules broken:\n%s", strings.Join(v, "\n"))
	}
	seen := map[string]int{}
	for _, it := range sink.Items() {
		seen[string(it.Event.Body)]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("event %q committed %d times, want once", w, seen[w])
		}
		delete(seen, w)
	}
	for body, n := range seen {
		t.Errorf("unexpected event %q committed %d times", body, n)
	}
}

func bodies(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func waitState(t *testing.T, m *connect.Manager, id string, want connect.State, timeout time.Duration) connect.Status {
	t.Helper()
	var st connect.Status
	connecttest.Eventually(t, timeout, func() bool {
		st, _ = m.Status(id)
		return st.State == want
	}, func() string {
		return fmt.Sprintf("connection state %s (error %q), want %s", st.State, st.LastError, want)
	})
	return st
}

func formatInt(n int64) string { return fmt.Sprint(n) }

// waitLong bounds waits for ingestion; generous because CI machines are
// shared (tests finish in well under a second when the machine is idle).
const waitLong = 30 * time.Second
