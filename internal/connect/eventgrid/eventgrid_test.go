package eventgrid_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventgrid"
	"odx/internal/storage"
)

func waitBlobs(t *testing.T, e *env, id string, ok func(eventgrid.BlobStatus) bool) eventgrid.BlobStatus {
	t.Helper()
	var st eventgrid.BlobStatus
	connecttest.Eventually(t, 20*time.Second, func() bool {
		st, _ = e.grid.Blobs(id)
		return ok(st)
	}, func() string { return fmt.Sprintf("blob status %+v", st) })
	return st
}

// The main flow: blobs in Azurite announced in both schemas, one
// event or an array per message, metadata routing to another table and
// format, a gzip blob, a duplicated notification, a blob that fails, one
// that is gone, and the events ADX skips.
func TestBlobsFromAzuriteBothSchemas(t *testing.T) {
	ep := startAzurite(t)
	e := newEnv(t, envOptions{endpoint: ep})
	e.table("db", "T", colsT)
	e.table("db", "T2", colsJ)
	bc := blobClient(t, ep)
	const container = "landing"
	u := func(name string) string { return ep + "/" + container + "/" + name }

	upload(t, bc, container, "2024/a.csv", []byte("dev-a,1\ndev-b,2\n"), nil)
	upload(t, bc, container, "2024/b.csv.gz", gzipped(t, []byte("dev-c,3\n")), nil)
	upload(t, bc, container, "2024/j.json", []byte(`{"Name":"n1","Score":1.5,"At":"2024-01-02T03:04:05Z"}`+"\n"),
		map[string]string{"kustoTable": "T2", "kustoDataFormat": "json", "kustoCreationTime": "2023-05-01T00:00:00Z"})
	upload(t, bc, container, "2024/h.csv", []byte("Device,Value\ndev-h,8\n"), map[string]string{"KUSTOIGNOREFIRSTRECORD": "true"})
	upload(t, bc, container, "2024/bad.csv", []byte("this is no parquet\n"), map[string]string{"kustoDataFormat": "parquet"})
	upload(t, bc, container, "2024/c.csv", []byte("dev-d,4\n"), nil)
	upload(t, bc, container, "2024/empty.csv", nil, nil)

	s := e.spec("grid1", "grid1", e.account, nil)
	e.apply(s)

	e.notify("grid1", event(false, eventgrid.BlobCreated, e.account, u("2024/a.csv"), 16, "PutBlob")) // one object
	e.notify("grid1", []any{event(true, eventgrid.BlobCreated, e.account, u("2024/b.csv.gz"), 30, "PutBlockList")})
	e.notify("grid1", []any{ // an array of two events routed to two tables
		event(false, eventgrid.BlobCreated, e.account, u("2024/j.json"), 60, "PutBlob"),
		event(false, eventgrid.BlobCreated, e.account, u("2024/h.csv"), 20, "PutBlob"),
	})
	e.notify("grid1", event(true, eventgrid.BlobCreated, e.account, u("2024/a.csv"), 16, "PutBlob")) // duplicate
	e.notify("grid1", event(false, eventgrid.BlobCreated, e.account, u("2024/bad.csv"), 19, "PutBlob"))
	e.notify("grid1", event(false, eventgrid.BlobCreated, e.account, u("2024/missing.csv"), 10, "PutBlob"))
	e.notify("grid1", []any{
		event(false, eventgrid.BlobCreated, "someoneelse", u("2024/a.csv"), 16, "PutBlob"),          // other account
		event(false, eventgrid.BlobCreated, e.account, u("2024/c.csv"), 0, "CreateFile"),            // ADLS CreateFile
		event(false, eventgrid.BlobRenamed, e.account, u("2024/c.csv"), 8, "RenameFile"),            // not this connection's type
		event(false, eventgrid.BlobCreated, e.account, u("2024/empty.csv"), 0, "PutBlob"),           // zero length
		map[string]any{"eventType": "Microsoft.Storage.BlobDeleted", "topic": storageID(e.account)}, // another type
	})
	e.notify("grid1", event(false, eventgrid.BlobCreated, e.account, u("2024/c.csv"), 8, "PutBlob")) // good after bad

	e.waitRows("db", "T", []string{"dev-a|1", "dev-b|2", "dev-c|3", "dev-h|8", "dev-d|4"})
	e.waitRows("db", "T2", []string{"n1|1.5|2024-01-02T03:04:05Z"})
	st := waitBlobs(t, e, s.ID, func(st eventgrid.BlobStatus) bool {
		return st.Ingested == 5 && st.Failed == 2 && st.Duplicates == 1 && st.Skipped == 5 && st.Pending == 0
	})
	if st.Rows != 6 {
		t.Errorf("blob rows %d, want 6", st.Rows)
	}

	// The failures name the blobs' URLs.
	var bad, missing bool
	for _, f := range e.failures() {
		if strings.Contains(f.IngestionSourcePath, "bad.csv") && strings.Contains(f.Details, u("2024/bad.csv")) {
			bad = true
		}
		if strings.Contains(f.Details, u("2024/missing.csv")) && f.ErrorCode == eventgrid.CodeSourceNotFound {
			missing = true
		}
	}
	if !bad || !missing {
		t.Errorf("failures %+v: want bad.csv (unparsable) and missing.csv (%s) named by URL", e.failures(), eventgrid.CodeSourceNotFound)
	}

	// kustoCreationTime sets the extent's creation time.
	exts, err := e.store.ListExtents(context.Background(), storage.ExtentFilter{Database: "db", Table: "T2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(exts) != 1 || !exts[0].CreationTime.Equal(time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("extents of T2: %+v; want one created 2023-05-01 (kustoCreationTime)", exts)
	}

	// Visibility: the connection's state and /metrics.
	cs, _ := e.mgr.Status(s.ID)
	if cs.State != connect.Running {
		t.Errorf("state %s (%s), want Running", cs.State, cs.LastError)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.grid.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()] = v
		}
	}
	for name, want := range map[string]float64{"odx_data_connection_blobs_ingested_total": 5, "odx_data_connection_blobs_failed_total": 2,
		"odx_data_connection_blobs_pending": 0, "odx_data_connection_blobs_duplicate_total": 1} {
		if got[name] != want {
			t.Errorf("metric %s = %v, want %v", name, got[name], want)
		}
	}

	// A restart reads from the committed positions: nothing is ingested
	// again, and a notification repeated later is a duplicate.
	e.restart(s)
	e.notify("grid1", event(false, eventgrid.BlobCreated, e.account, u("2024/b.csv.gz"), 30, "PutBlob")) // duplicate after restart
	waitBlobs(t, e, s.ID, func(st eventgrid.BlobStatus) bool { return st.Duplicates == 2 && st.Pending == 0 })
	e.waitRows("db", "T", []string{"dev-a|1", "dev-b|2", "dev-c|3", "dev-h|8", "dev-d|4"})
}

// blobStorageEventType BlobRenamed ingests the renamed (destination) blob
// and skips BlobCreated events; the connection's ignoreFirstRecord skips
// each blob's header line.
func TestBlobRenamedConnection(t *testing.T) {
	ep := startAzurite(t)
	e := newEnv(t, envOptions{endpoint: ep})
	e.table("db", "T", colsT)
	bc := blobClient(t, ep)
	upload(t, bc, "renamed", "final/r.csv", []byte("Device,Value\ndev-r,7\n"), nil)
	upload(t, bc, "renamed", "final/c.csv", []byte("dev-x,9\n"), nil)
	s := e.spec("grid2", "grid2", e.account, map[string]string{eventgrid.ExtraBlobStorageEventType: eventgrid.BlobRenamed,
		eventgrid.ExtraIgnoreFirstRecord: "true"})
	e.apply(s)
	e.notify("grid2", []any{
		event(false, eventgrid.BlobCreated, e.account, ep+"/renamed/final/c.csv", 8, "PutBlob"),
		event(true, eventgrid.BlobRenamed, e.account, ep+"/renamed/final/r.csv", 8, "RenameFile"),
	})
	e.waitRows("db", "T", []string{"dev-r|7"})
	waitBlobs(t, e, s.ID, func(st eventgrid.BlobStatus) bool { return st.Ingested == 1 && st.Skipped == 1 })
}

// A storage outage is retried with backoff and shown in the connection's
// state; the blob arrives once storage is back.
func TestStorageOutageRetries(t *testing.T) {
	ep := startAzurite(t)
	target, _ := url.Parse(ep)
	target.Path = ""
	var down atomic.Bool
	down.Store(true)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "storage is down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	viaProxy := srv.URL + "/devstoreaccount1"

	e := newEnv(t, envOptions{endpoint: viaProxy})
	e.table("db", "T", colsT)
	upload(t, blobClient(t, ep), "outage", "o.csv", []byte("dev-o,5\n"), nil)
	s := e.spec("grid3", "grid3", e.account, nil)
	e.apply(s)
	e.notify("grid3", event(false, eventgrid.BlobCreated, e.account, viaProxy+"/outage/o.csv", 8, "PutBlob"))

	var cs connect.Status
	connecttest.Eventually(t, 20*time.Second, func() bool {
		cs, _ = e.mgr.Status(s.ID)
		return cs.State == connect.Retrying && strings.Contains(cs.LastError, "503")
	}, func() string {
		return fmt.Sprintf("state %s, error %q; want Retrying with the storage's 503", cs.State, cs.LastError)
	})
	if st, _ := e.grid.Blobs(s.ID); st.Pending != 1 {
		t.Errorf("pending blobs during the outage: %d, want 1", st.Pending)
	}
	down.Store(false)
	e.waitRows("db", "T", []string{"dev-o|5"})
	connecttest.Eventually(t, 10*time.Second, func() bool {
		cs, _ = e.mgr.Status(s.ID)
		return cs.State == connect.Running
	}, func() string { return fmt.Sprintf("state %s after the outage, want Running", cs.State) })
	if n := len(e.failures()); n != 0 {
		t.Errorf("an outage must not record failures; got %d: %+v", n, e.failures())
	}
}

// The embedded default: a file dropped into <root>/<account>/<container>/
// is announced on the connection's event hub and ingested, once, also
// across a restart.
func TestEmbeddedFolderDrop(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.table("db", "T", colsT)
	const account = "localdev"
	s := e.spec("local", "local-events", account, nil)
	e.apply(s)
	dir := filepath.Join(e.root, account, "landing", "2024")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.csv"), []byte("dev-x,1\ndev-y,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitRows("db", "T", []string{"dev-x|1", "dev-y|2"})
	if err := os.WriteFile(filepath.Join(dir, "z.csv.gz"), gzipped(t, []byte("dev-z,3\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitRows("db", "T", []string{"dev-x|1", "dev-y|2", "dev-z|3"})
	waitBlobs(t, e, s.ID, func(st eventgrid.BlobStatus) bool { return st.Ingested == 2 && st.Pending == 0 })

	// Restart: nothing is announced or ingested again; a new file is.
	e.restart(s)
	if err := os.WriteFile(filepath.Join(dir, "w.csv"), []byte("dev-w,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitRows("db", "T", []string{"dev-x|1", "dev-y|2", "dev-z|3", "dev-w|4"})
	time.Sleep(500 * time.Millisecond) // several scans: nothing else may arrive
	e.waitRows("db", "T", []string{"dev-x|1", "dev-y|2", "dev-z|3", "dev-w|4"})
	if st, _ := e.grid.Blobs(s.ID); st.Ingested != 3 {
		t.Errorf("after the restart %+v; want 3 blobs ingested", st)
	}
}
