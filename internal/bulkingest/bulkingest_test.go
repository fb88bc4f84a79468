package bulkingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"odx/internal/access"
	"odx/internal/ingest/pipeline"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/kustoapi"
	"odx/internal/mgmt"
	"odx/internal/query"
	"odx/internal/result"
	"odx/internal/storage"
)

// server is odx's Kusto surface in process: the real REST layer, the
// pipeline's commands and the management service, without token checks.
type server struct {
	svc  *pipeline.Service
	mgmt *mgmt.Service
}

var admin = access.Caller{Name: "aadapp=boot;tn", ClusterRoles: []string{access.ClusterAdmin}}

func (s *server) Query(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	return s.Mgmt(ctx, req)
}

func (s *server) Mgmt(ctx context.Context, req *kustoapi.Request) (*result.Set, error) {
	if pipeline.Handles(req.Text) {
		return s.svc.Execute(ctx, admin, req.Database, req.Text)
	}
	return s.mgmt.Execute(ctx, admin, req.Database, req.Text)
}

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func start(t *testing.T, allowed string) (*Kusto, *storage.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := pipeline.New(ctx, st, pipeline.Options{AllowedDirs: []string{allowed}})
	if err != nil {
		t.Fatal(err)
	}
	ms := mgmt.New(st, query.New(st, query.Options{}), mgmt.Options{})
	srv := httptest.NewTLSServer(kustoapi.NewHandler(kustoapi.Options{Executor: &server{svc: svc, mgmt: ms}}))
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		st.Close()
	})
	if _, err := st.CreateDatabase(ctx, "DB", true, true, storage.Principal{}); err != nil {
		t.Fatal(err)
	}
	return &Kusto{Endpoint: srv.URL, HTTP: srv.Client(), Cred: staticToken{}}, st
}

func tableRows(t *testing.T, st *storage.Store, table string) int64 {
	t.Helper()
	stats, err := st.Stats(context.Background(), "DB")
	if err != nil {
		t.Fatal(err)
	}
	return stats[table].Rows
}

func TestBulkIngestFilesGlobsAndReport(t *testing.T) {
	dir := t.TempDir()
	k, st := start(t, dir)
	if err := st.CreateTables(context.Background(), "DB", []storage.TableSpec{{Name: "T", Columns: []schema.Column{
		{Name: "Name", Type: types.String}, {Name: "N", Type: types.Long}}}}, storage.CreateOnly); err != nil {
		t.Fatal(err)
	}
	var big bytes.Buffer
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&big, "\"name, with comma\nand newline %d\",%d\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "a.csv"), big.Bytes(), 0o644)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte("x,1\ny,2\n"))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "b.csv.gz"), zb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "c.json"), []byte(`{"Name":"j","N":3}`+"\n"), 0o644)

	rep, err := Run(context.Background(), k, Options{Database: "DB", Table: "T", Inputs: []string{filepath.Join(dir, "*.csv*"), filepath.Join(dir, "c.json")},
		ChunkBytes: 64 << 10, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed() || rep.Files != 3 || rep.Rows != 20003 || rep.Extents < 10 {
		t.Fatalf("report %+v", rep)
	}
	if got := tableRows(t, st, "T"); got != 20003 {
		t.Fatalf("table has %d rows", got)
	}
	// Quoted line breaks survived the client-side split: every multi-line value is whole.
	d, _ := st.Snapshot().DB("DB")
	tb, _ := d.Tbl("T")
	rs, err := st.Engine().Query(context.Background(), `SELECT count(*) FROM `+tb.SQL()+` WHERE "Name" = 'name, with comma'||chr(10)||'and newline '||"N"`)
	if err != nil {
		t.Fatal(err)
	}
	rs.Next()
	v, _ := rs.Values()
	rs.Close()
	if v[0] != int64(20000) {
		t.Fatalf("%v multi-line values intact, want 20000", v[0])
	}
}

func TestBulkIngestReportsFailuresAndCreatesTables(t *testing.T) {
	dir := t.TempDir()
	k, st := start(t, dir)
	os.WriteFile(filepath.Join(dir, "h.csv"), []byte("When,Device,Value\n2026-01-01T00:00:00Z,a,1.5\n2026-01-01T00:00:01Z,b,2\n"), 0o644)
	rep, err := Run(context.Background(), k, Options{Database: "DB", Table: "New", CreateTable: true, IgnoreFirst: true,
		Inputs: []string{filepath.Join(dir, "h.csv")}})
	if err != nil || rep.Failed() || rep.Rows != 2 {
		t.Fatalf("create-table run: %+v %v", rep, err)
	}
	snap := st.Snapshot()
	d, _ := snap.DB("DB")
	tb, _ := d.Tbl("New")
	if got := storage.CSLSchema(tb.Columns()); got != "When:datetime,Device:string,Value:real" {
		t.Fatalf("inferred schema %s", got)
	}
	// A bad value and a missing file: both reported, exit status non-zero.
	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("2026-01-01T00:00:00Z,c,notanumber\n"), 0o644)
	rep, err = Run(context.Background(), k, Options{Database: "DB", Table: "New", Inputs: []string{filepath.Join(dir, "bad.csv")}})
	if err != nil || !rep.Failed() || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "column Value") {
		t.Fatalf("bad value run: %+v %v", rep, err)
	}
	if _, err := Run(context.Background(), k, Options{Database: "DB", Table: "New", Inputs: []string{filepath.Join(dir, "missing.csv")}}); err == nil {
		t.Fatal("a missing input must fail")
	}
	// A parquet file outside odx's allowed directories fails with the server's reason.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "x.parquet"), []byte("PAR1"), 0o644)
	rep, _ = Run(context.Background(), k, Options{Database: "DB", Table: "New", Inputs: []string{filepath.Join(other, "x.parquet")}})
	if rep.FilesFailed != 1 || !strings.Contains(strings.Join(rep.Failures, "\n"), "Download_Forbidden") {
		t.Fatalf("outside allowed dir: %+v", rep)
	}
}

func TestProgressLineAndPlainLog(t *testing.T) {
	dir := t.TempDir()
	k, st := start(t, dir)
	st.CreateTables(context.Background(), "DB", []storage.TableSpec{{Name: "T", Columns: []schema.Column{{Name: "N", Type: types.Long}}}}, storage.CreateOnly)
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("1\n2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("3\n"), 0o644)
	var log bytes.Buffer
	rep, err := Run(context.Background(), k, Options{Database: "DB", Table: "T", Inputs: []string{dir}, Progress: &log})
	if err != nil || rep.Rows != 3 {
		t.Fatalf("%+v %v", rep, err)
	}
	// Not a terminal: one plain line per finished file, no control characters.
	if got := log.String(); strings.Count(got, "done ") != 2 || strings.ContainsAny(got, "\r\x1b") {
		t.Fatalf("plain progress log %q", got)
	}
	r := &run{opts: Options{Terminal: true}, start: time.Now().Add(-2 * time.Second), total: 100 << 20, nFiles: 4, filesOK: 1, failed: map[string]bool{}}
	r.done.Store(25 << 20)
	r.lines.Store(50000)
	line := r.line()
	for _, want := range []string{"[######", "25.0%", "files 1/4", "25.0 MB / 100.0 MB", "rows/s", "ETA 6s"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}
