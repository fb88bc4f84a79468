package eventgrid_test

// The tests run the real stack around the connector: the embedded event hub
// (kfake) for notifications, Azurite (npm, testdata/azurite) for blobs, and
// the ingestion pipeline on an in-memory store, so rows are queried back
// with their values.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/blobstore"
	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventgrid"
	"odx/internal/connect/eventhub"
	"odx/internal/hub"
	"odx/internal/ingest/pipeline"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
	"odx/internal/testutil/azurite"
)

const testSub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"

var fastGroup = []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(100 * time.Millisecond)}

func quietLogger() *slog.Logger {
	if os.Getenv("ODX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func TestMain(m *testing.M) {
	code := m.Run()
	azurite.StopShared()
	os.Exit(code)
}

// startAzurite returns the endpoint of the package's shared Azurite,
// starting it on first use. Tests skip when it is not installed (CI runs
// npm ci in testdata/azurite).
func startAzurite(t *testing.T) string { return azurite.Shared(t) }

// blobClient uploads to Azurite with azblob, as a user would.
func blobClient(t *testing.T, endpoint string) *azblob.Client { return azurite.Client(t, endpoint) }

func upload(t *testing.T, cl *azblob.Client, container, name string, body []byte, metadata map[string]string) {
	t.Helper()
	azurite.Upload(t, cl, container, name, body, metadata)
}

// env is one test's stack.
type env struct {
	t       *testing.T
	hub     *hub.Hub
	store   *storage.Store
	svc     *pipeline.Service
	grid    *eventgrid.Connector
	reg     *connect.Registry
	mgr     *connect.Manager
	root    string // embedded storage folder
	account string // the bound account's name in the configuration
	prod    *kgo.Client
}

type envOptions struct {
	endpoint  string // bound account endpoint; "" binds nothing
	chunkRows int
	maxBytes  int64
	dbPath    string // "" keeps the store in memory
	hubAddr   string // "" starts an embedded hub for the test
	parallel  int    // blobs ingested at a time; the connector's default when 0
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	hubAddr := o.hubAddr
	var h *hub.Hub
	if hubAddr == "" {
		var err error
		h, err = hub.Start(hub.Options{Listen: "127.0.0.1:0", Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		hubAddr = h.Addr()
	}
	st, err := storage.Open(ctx, o.dbPath, storage.Options{RetentionInterval: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := pipeline.New(ctx, st, pipeline.Options{Logger: quietLogger(), ChunkRows: o.chunkRows})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, hub: h, store: st, svc: svc, root: t.TempDir(), account: "odxtest"}
	accounts := map[string]blobstore.Account{}
	if o.endpoint != "" {
		accounts[e.account] = blobstore.Account{BlobEndpoint: o.endpoint, AccountKey: azurite.Key}
	}
	hubs := eventhub.New(eventhub.Options{
		Embedded:      &eventhub.Endpoint{Brokers: []string{hubAddr}, CreateTopics: true, Partitions: hub.DefaultPartitions},
		ClientOptions: fastGroup,
	})
	e.grid, err = eventgrid.New(eventgrid.Options{Hubs: hubs, Blobs: blobstore.New(blobstore.Options{Accounts: accounts, Root: e.root}),
		MaxBlobBytes: o.maxBytes, Parallel: o.parallel, PollWait: 100 * time.Millisecond, ScanInterval: 100 * time.Millisecond,
		MinRetry: 100 * time.Millisecond, MaxRetry: 400 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e.reg = connect.NewRegistry()
	if err := eventgrid.Register(e.reg, e.grid); err != nil {
		t.Fatal(err)
	}
	e.mgr = e.newManager()
	t.Cleanup(func() {
		e.mgr.Close()
		svc.Close()
		st.Close()
	})
	e.prod, err = kgo.NewClient(kgo.SeedBrokers(hubAddr), kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.prod.Close)
	return e
}

func (e *env) newManager() *connect.Manager {
	e.t.Helper()
	sink := e.svc.Sink()
	m, err := connect.NewManager(connect.Options{Registry: e.reg, Sink: sink, Checkpoints: sink, Logger: quietLogger(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// restart stops every connection and runs them again from what is
// committed, as an odx restart does.
func (e *env) restart(specs ...connect.Spec) {
	e.t.Helper()
	e.mgr.Close()
	e.mgr = e.newManager()
	for _, s := range specs {
		e.apply(s)
	}
}

var (
	colsT = []schema.Column{{Name: "Device", Type: types.String}, {Name: "Value", Type: types.Long}}
	colsJ = []schema.Column{{Name: "Name", Type: types.String}, {Name: "Score", Type: types.Real}, {Name: "At", Type: types.DateTime}}
)

func (e *env) table(db, name string, cols []schema.Column) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.CreateDatabase(ctx, db, true, true, storage.Principal{}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateTables(ctx, db, []storage.TableSpec{{Name: name, Columns: cols}}, storage.CreateOnly); err != nil {
		e.t.Fatal(err)
	}
}

func storageID(account string) string {
	return testSub + "/providers/Microsoft.Storage/storageAccounts/" + account
}

// spec is an Event Grid connection of db reading hubName's notifications
// about account, CSV into T by default.
func (e *env) spec(name, hubName, account string, extra map[string]string) connect.Spec {
	x := map[string]string{eventgrid.ExtraStorageAccount: storageID(account)}
	for k, v := range extra {
		x[k] = v
	}
	return connect.Spec{
		ID:       testSub + "/providers/Microsoft.Kusto/Clusters/c1/Databases/db/DataConnections/" + name,
		Database: "db", Name: name, Kind: eventgrid.KindEventGrid,
		Source:        testSub + "/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/" + hubName,
		ConsumerGroup: "$Default", Table: "T", Format: "CSV",
		RetrievalStart: time.Now().Add(-time.Hour),
		Extra:          x,
	}
}

func (e *env) apply(s connect.Spec) {
	e.t.Helper()
	if p := e.mgr.Validate(context.Background(), s); len(p) > 0 {
		e.t.Fatalf("connection refused: %v", p)
	}
	if err := e.mgr.Apply(context.Background(), s); err != nil {
		e.t.Fatal(err)
	}
}

// event is a storage event in the Event Grid schema (cloud=false) or
// CloudEvents 1.0 (cloud=true).
func event(cloud bool, eventType, account, blobURL string, size int64, api string) map[string]any {
	data := map[string]any{"api": api, "contentLength": size, "blobType": "BlockBlob", "contentType": "text/csv",
		"eTag": "\"0x1\"", "sequencer": "0000000000000000000000000000000100000000000000000", "requestId": "r1",
		"storageDiagnostics": map[string]any{"batchId": "b1"}}
	if eventType == eventgrid.BlobRenamed {
		data["destinationUrl"] = blobURL
		data["sourceUrl"] = blobURL + ".tmp"
	} else {
		data["url"] = blobURL
	}
	subject := "/blobServices/default/containers/" + strings.SplitN(strings.TrimPrefix(blobURL[strings.Index(blobURL, "//")+2:], "/"), "/", 2)[0]
	if cloud {
		return map[string]any{"source": storageID(account), "subject": subject, "type": eventType,
			"time": time.Now().UTC().Format(time.RFC3339Nano), "id": fmt.Sprint(time.Now().UnixNano()), "data": data, "specversion": "1.0"}
	}
	return map[string]any{"topic": storageID(account), "subject": subject, "eventType": eventType,
		"eventTime": time.Now().UTC().Format(time.RFC3339Nano), "id": fmt.Sprint(time.Now().UnixNano()), "data": data,
		"dataVersion": "", "metadataVersion": "1"}
}

// notify publishes one notification (an event, or an array of events) the
// way Event Grid delivers it to an event hub.
func (e *env) notify(hubName string, payload any) {
	e.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := &kgo.Record{Topic: hubName, Value: body, Headers: []kgo.RecordHeader{{Key: "aeg-event-type", Value: []byte("Notification")}}}
	if err := e.prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
		e.t.Fatalf("produce: %v", err)
	}
}

// rows reads a table as text lines "v1|v2|...", sorted.
func (e *env) rows(db, table string) []string {
	e.t.Helper()
	d, ok := e.store.Snapshot().DB(db)
	if !ok {
		e.t.Fatalf("no database %s", db)
	}
	tbl, _ := d.Tbl(table)
	sel := make([]string, 0, len(tbl.Columns()))
	for _, c := range tbl.Columns() {
		sel = append(sel, `"`+c.Name+`"`)
	}
	rs, err := e.store.Engine().Query(context.Background(), "SELECT "+strings.Join(sel, ", ")+" FROM "+tbl.SQL())
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		v, err := rs.Values()
		if err != nil {
			e.t.Fatal(err)
		}
		parts := make([]string, 0, len(v))
		for i, x := range v[:len(tbl.Columns())] {
			// datetimes are stored as ticks since 0001-01-01
			if ticks, ok := x.(int64); ok && tbl.Columns()[i].Type == types.DateTime {
				x, _ = types.TimeFromTicks(ticks)
			}
			if tm, ok := x.(time.Time); ok {
				x = tm.UTC().Format(time.RFC3339)
			}
			parts = append(parts, fmt.Sprint(x))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

func (e *env) waitRows(db, table string, want []string) {
	e.t.Helper()
	sort.Strings(want)
	var got []string
	connecttest.Eventually(e.t, 20*time.Second, func() bool {
		got = e.rows(db, table)
		return strings.Join(got, "\n") == strings.Join(want, "\n")
	}, func() string {
		return fmt.Sprintf("%s.%s rows:\n%s\nwant:\n%s", db, table, strings.Join(got, "\n"), strings.Join(want, "\n"))
	})
}

func (e *env) failures() []storage.IngestionFailure {
	e.t.Helper()
	f, err := e.store.ListFailures(context.Background(), storage.FailureFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// rawRecord is a message on a hub that is not a notification.
func rawRecord(hubName, body string) *kgo.Record {
	return &kgo.Record{Topic: hubName, Value: []byte(body)}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// count is a table's row count.
func (e *env) count(db, table string) int64 {
	e.t.Helper()
	d, _ := e.store.Snapshot().DB(db)
	tbl, _ := d.Tbl(table)
	rs, err := e.store.Engine().Query(context.Background(), "SELECT count(*) FROM "+tbl.SQL())
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	var n int64
	if rs.Next() {
		v, _ := rs.Values()
		n, _ = v[0].(int64)
	}
	return n
}
