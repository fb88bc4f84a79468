// Package eventhub_test runs Event Hub data connections end to end inside
// one process: the embedded event hub (Kafka protocol), producers (franz-go
// and kcat), the connection manager, and the real ingestion pipeline over
// a DuckDB store, then reads the rows back.
package eventhub_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/eventhub"
	"odx/internal/hub"
	"odx/internal/ingest/pipeline"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

func quiet() *slog.Logger {
	if os.Getenv("ODX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// node is one odx: store, pipeline and connection manager.
type node struct {
	t     *testing.T
	store *storage.Store
	svc   *pipeline.Service
	m     *connect.Manager
}

func startNode(t *testing.T, dbFile, hubAddr string) *node {
	t.Helper()
	n := startNodeNoCleanup(t, dbFile, hubAddr)
	t.Cleanup(n.stop)
	return n
}

// startNodeNoCleanup is startNode for a child process that is killed.
func startNodeNoCleanup(t *testing.T, dbFile, hubAddr string) *node {
	return newNode(t, dbFile, eventhub.Options{
		Embedded:      &eventhub.Endpoint{Brokers: []string{hubAddr}, CreateTopics: true, Partitions: hub.DefaultPartitions, StaticMembership: true},
		NodeID:        "node-of-" + dbFile, // the same node across restarts
		ClientOptions: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)},
	})
}

// startNodeWith is startNode with explicit connector options.
func startNodeWith(t *testing.T, dbFile string, o eventhub.Options) *node {
	t.Helper()
	n := newNode(t, dbFile, o)
	t.Cleanup(n.stop)
	return n
}

func newNode(t *testing.T, dbFile string, o eventhub.Options) *node {
	ctx := context.Background()
	st, err := storage.Open(ctx, dbFile, storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := pipeline.New(ctx, st, pipeline.Options{Logger: quiet(), DefaultBatching: pipeline.BatchingPolicy{MaxDelay: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	reg := connect.NewRegistry()
	conn := eventhub.New(o)
	if err := eventhub.Register(reg, conn); err != nil {
		t.Fatal(err)
	}
	sink := svc.Sink()
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: sink, Logger: quiet(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &node{t: t, store: st, svc: svc, m: m}
}

func (n *node) stop() {
	if n.m == nil {
		return
	}
	n.m.Close()
	n.svc.Close()
	n.store.Close()
	n.m = nil
}

func (n *node) table(db, table string, cols []schema.Column) {
	n.t.Helper()
	ctx := context.Background()
	if _, err := n.store.CreateDatabase(ctx, db, true, true, storage.Principal{}); err != nil {
		n.t.Fatal(err)
	}
	if d, ok := n.store.Snapshot().DB(db); ok {
		if _, ok := d.Tbl(table); ok {
			return
		}
	}
	if err := n.store.CreateTables(ctx, db, []storage.TableSpec{{Name: table, Columns: cols}}, storage.CreateOnly); err != nil {
		n.t.Fatal(err)
	}
}

func startTestHub(t *testing.T) *hub.Hub {
	t.Helper()
	h, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestMain(m *testing.M) {
	if os.Getenv("ODX_CRASH_HUB") != "" {
		crashChild()
	}
	if addr := os.Getenv("ODX_BROKER_CHILD"); addr != "" {
		brokerChild(addr, os.Getenv("ODX_BROKER_DIR"))
	}
	os.Exit(m.Run())
}

func (n *node) rows(db, table, orderBy string) [][]any {
	n.t.Helper()
	d, ok := n.store.Snapshot().DB(db)
	if !ok {
		n.t.Fatalf("no database %s", db)
	}
	tbl, _ := d.Tbl(table)
	var cols []string
	for _, c := range tbl.Columns() {
		cols = append(cols, `"`+c.Name+`"`)
	}
	rs, err := n.store.Engine().Query(context.Background(), "SELECT "+strings.Join(cols, ", ")+" FROM "+tbl.SQL()+" ORDER BY "+orderBy)
	if err != nil {
		n.t.Fatal(err)
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		v, err := rs.Values()
		if err != nil {
			n.t.Fatal(err)
		}
		row := slices.Clone(v)
		for i, c := range tbl.Columns() {
			// datetimes are stored as ticks since 0001-01-01
			if ticks, ok := row[i].(int64); ok && c.Type == types.DateTime {
				row[i], _ = types.TimeFromTicks(ticks)
			}
		}
		out = append(out, row)
	}
	return out
}

func (n *node) waitRows(db, table, orderBy string, want int) [][]any {
	n.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rows := n.rows(db, table, orderBy)
		if len(rows) >= want {
			return rows
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s.%s has %d rows, want %d", db, table, len(rows), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const sub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers"

func connSpec(name, hubName string) connect.Spec {
	return connect.Spec{
		ID:       sub + "/Microsoft.Kusto/Clusters/odx/Databases/Metrics/DataConnections/" + name,
		Database: "Metrics", Name: name, Kind: "EventHub",
		Source:        sub + "/Microsoft.EventHub/namespaces/devns/eventhubs/" + hubName,
		ConsumerGroup: "$Default", Table: "Weather", Format: "CSV", Compression: "None",
		SystemProperties: []string{"x-opt-enqueued-time", "x-opt-partition-key"},
		RetrievalStart:   time.Now().Add(-time.Hour),
	}
}

var weather = []schema.Column{
	{Name: "EnqueuedTime", Type: types.DateTime},
	{Name: "PartitionKey", Type: types.String},
	{Name: "Station", Type: types.String},
	{Name: "City", Type: types.String},
	{Name: "Temperature", Type: types.Long},
}

// CSV events with system properties prepended, JSON events routed to
// another table by their properties, a poison event recorded as an
// ingestion failure; rows read back with their values; then odx restarts
// on the same database file and hub and resumes without a duplicate.
func TestEventHubIntoDuckDB(t *testing.T) {
	dir := t.TempDir()
	h, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "eventhub"), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dbFile := filepath.Join(dir, "odx.duckdb")
	n := startNode(t, dbFile, h.Addr())
	n.table("Metrics", "Weather", weather)
	n.table("Metrics", "Alerts", []schema.Column{{Name: "Station", Type: types.String}, {Name: "Level", Type: types.Long}})
	s := connSpec("weather", "weather")
	if p := n.m.Validate(t.Context(), s); len(p) > 0 {
		t.Fatal(p)
	}
	if err := n.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(h.Addr()), kgo.MetadataMinAge(50*time.Millisecond), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	enq := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 20 {
		recs = append(recs, &kgo.Record{Topic: "weather", Partition: int32(i % 4), Key: []byte("Oslo"), Timestamp: enq.Add(time.Duration(i) * time.Second),
			Value: []byte(fmt.Sprintf("st%02d,Oslo,%d", i, i-5))})
	}
	recs = append(recs,
		&kgo.Record{Topic: "weather", Partition: 1, Value: []byte(`{"Station":"st99","Level":3}`),
			Headers: []kgo.RecordHeader{{Key: "Table", Value: []byte("Alerts")}, {Key: "Format", Value: []byte("json")}}},
		&kgo.Record{Topic: "weather", Partition: 1, Value: []byte(`<alert/>`),
			Headers: []kgo.RecordHeader{{Key: "Format", Value: []byte("xml")}}},
		&kgo.Record{Topic: "weather", Partition: 1, Value: []byte("st20,Oslo,15")},
	)
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if kcat, err := exec.LookPath("kcat"); err == nil {
		cmd := exec.Command(kcat, "-b", h.Addr(), "-t", "weather", "-P", "-k", "Bergen")
		cmd.Stdin = strings.NewReader("st30,Bergen,7\nst31,Bergen,8\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
	}
	want := 21
	if _, err := exec.LookPath("kcat"); err == nil {
		want += 2
	}
	rows := n.waitRows("Metrics", "Weather", `"Station"`, want)
	for _, r := range rows {
		st := r[2].(string)
		if st == "st30" || st == "st31" {
			if r[3] != "Bergen" || r[1] != "Bergen" {
				t.Fatalf("kcat row %v", r)
			}
			continue
		}
		var i int
		fmt.Sscanf(st, "st%d", &i)
		wantTemp := int64(i - 5)
		wantTime := enq.Add(time.Duration(i) * time.Second)
		if i == 20 {
			wantTemp = 15
		}
		wantKey := "Oslo"
		if i == 20 {
			wantKey = ""
		}
		if r[1] != wantKey || r[3] != "Oslo" || r[4] != wantTemp {
			t.Fatalf("row %v", r)
		}
		if tm, ok := r[0].(time.Time); !ok || (i < 20 && !tm.Equal(wantTime)) {
			t.Fatalf("row %v: enqueued time %v, want %v", r, r[0], wantTime)
		}
	}
	alerts := n.waitRows("Metrics", "Alerts", `"Station"`, 1)
	if len(alerts) != 1 || alerts[0][0] != "st99" || alerts[0][1] != int64(3) {
		t.Fatalf("alerts %v", alerts)
	}
	var fails []storage.IngestionFailure
	deadline := time.Now().Add(5 * time.Second)
	for len(fails) == 0 && time.Now().Before(deadline) {
		fails, _ = n.store.ListFailures(t.Context(), storage.FailureFilter{Databases: []string{"Metrics"}})
		time.Sleep(50 * time.Millisecond)
	}
	if len(fails) != 1 || fails[0].ErrorCode != connect.CodeFormatNotSupported || !strings.Contains(fails[0].IngestionSourcePath, "partition 1/offset") {
		t.Fatalf("failures %+v", fails)
	}

	// A connection with static GZip compression and no system properties:
	// compressed CSV events are ingested.
	gz := connSpec("gz", "gzipped")
	gz.Compression, gz.SystemProperties, gz.Table = "GZip", nil, "Alerts"
	if err := n.m.Apply(t.Context(), gz); err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write([]byte("st98,7\n"))
	zw.Close()
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "gzipped", Value: zbuf.Bytes()}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	alerts = n.waitRows("Metrics", "Alerts", `"Station"`, 2)
	if alerts[0][0] != "st98" || alerts[0][1] != int64(7) {
		t.Fatalf("gzip event row %v", alerts[0])
	}

	// Restart odx (same database file, same hub) with more events produced
	// while it was down: each event exactly once.
	n.stop()
	more := []*kgo.Record{}
	for i := 40; i < 50; i++ {
		more = append(more, &kgo.Record{Topic: "weather", Partition: int32(i % 4), Value: []byte(fmt.Sprintf("st%02d,Oslo,%d", i, i))})
	}
	if err := cl.ProduceSync(t.Context(), more...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	n2 := startNode(t, dbFile, h.Addr())
	if err := n2.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	n2.waitRows("Metrics", "Weather", `"Station"`, want+len(more))
	time.Sleep(500 * time.Millisecond)
	rows = n2.rows("Metrics", "Weather", `"Station"`)
	seen := map[string]int{}
	for _, r := range rows {
		seen[r[2].(string)]++
	}
	for st, c := range seen {
		if c != 1 {
			t.Fatalf("station %s ingested %d times", st, c)
		}
	}
	if len(rows) != want+len(more) {
		t.Fatalf("%d rows after restart, want %d", len(rows), want+len(more))
	}
	st, _ := n2.m.Status(s.ID)
	if st.State != connect.Running {
		t.Fatalf("status %+v", st)
	}
	if len(st.Partitions) != 4 {
		t.Fatalf("status partitions %+v", st.Partitions)
	}
	for _, p := range st.Partitions {
		if !p.Owned || p.Lag != 0 || p.Committed <= 0 {
			t.Fatalf("partition after catching up: %+v", p)
		}
	}
}
