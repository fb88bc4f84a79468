package pipeline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"odx/internal/access"
	"odx/internal/kerr"
	"odx/internal/result"
	"odx/internal/storage"
)

var clusterAdmin = access.Caller{Name: "aadapp=boot;tn", ClusterRoles: []string{access.ClusterAdmin}}

func rowsOf(t *testing.T, set *result.Set) ([]string, [][]any) {
	t.Helper()
	tb := set.Tables[0]
	var names []string
	for _, c := range tb.Columns() {
		names = append(names, c.Name)
	}
	var out [][]any
	for {
		r, ok, err := tb.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return names, out
		}
		out = append(out, r)
	}
}

func TestIngestIntoFromAllowedLocalDirOnly(t *testing.T) {
	allowed := t.TempDir()
	outside := t.TempDir()
	e := newEnv(t, Options{AllowedDirs: []string{allowed}})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	os.WriteFile(filepath.Join(allowed, "a.csv"), telemetryCSV(3, t0), 0o644)
	os.WriteFile(filepath.Join(allowed, "b.csv.gz"), gz(t, telemetryCSV(2, t0)), 0o644)
	os.WriteFile(filepath.Join(outside, "secret.csv"), []byte("2026-01-01T00:00:00Z,secret,1,1\n"), 0o644)
	os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(allowed, "link.csv"))

	cmd := ".ingest into table T (h'" + filepath.Join(allowed, "a.csv") + "', '" + filepath.Join(allowed, "b.csv.gz") + "') with (ignoreFirstRecord=false)"
	if !Handles(cmd) {
		t.Fatal("Handles must claim .ingest into")
	}
	set, err := e.svc.Execute(ctx, clusterAdmin, "DB", cmd)
	if err != nil {
		t.Fatal(err)
	}
	cols, rows := rowsOf(t, set)
	if strings.Join(cols, ",") != "ExtentId,ItemLoaded,Duration,HasErrors,OperationId" || len(rows) != 2 {
		t.Fatalf("result %v %v", cols, rows)
	}
	if e.count("DB", "T") != 5 {
		t.Fatal("both files must be ingested")
	}
	for _, bad := range []string{
		filepath.Join(outside, "secret.csv"),                 // outside
		filepath.Join(allowed, "..", filepath.Base(outside)), // escapes with ..
		filepath.Join(allowed, "link.csv"),                   // a symlink pointing out
		"/etc/passwd",
	} {
		_, err := e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T ('"+bad+"')")
		if ke := kerr.As(err); ke == nil || ke.Code != CodeDownloadForbidden {
			t.Errorf("%s: %v, want %s", bad, err, CodeDownloadForbidden)
		}
	}
	if e.count("DB", "T") != 5 {
		t.Fatal("nothing outside the allowed directory may be read")
	}
	// With no allowed directory at all, local files are off.
	e2 := newEnv(t, Options{})
	e2.table("DB", "T", telemetry)
	if _, err := e2.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T ('"+filepath.Join(allowed, "a.csv")+"')"); kerr.As(err).Code != CodeDownloadForbidden {
		t.Fatalf("no allowed dirs: %v", err)
	}
}

func TestIngestIntoFromHTTPSWithAsyncOperation(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/c/data.csv":
			if r.URL.Query().Get("sig") != "secret" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Write(telemetryCSV(4, t0))
		case "/c/data.json":
			w.Write([]byte(`{"Device":"j","Count":1}` + "\n" + `{"Device":"k","Count":"oops"}` + "\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := newEnv(t, Options{HTTPClient: srv.Client()})
	e.table("DB", "T", telemetry)
	ctx := context.Background()

	set, err := e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T (h'"+srv.URL+"/c/data.csv?sig=secret')")
	if err != nil {
		t.Fatal(err)
	}
	_, rows := rowsOf(t, set)
	if len(rows) != 1 || rows[0][1] != srv.URL+"/c/data.csv" {
		t.Fatalf("the result must name the source without its SAS: %v", rows)
	}
	_, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T (h'"+srv.URL+"/c/data.csv?sig=wrong')")
	if kerr.As(err).Code != CodeDownloadForbidden {
		t.Fatalf("bad SAS: %v", err)
	}
	if _, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T ('"+srv.URL+"/c/missing.csv')"); kerr.As(err).Code != CodeDownloadNotFound {
		t.Fatalf("missing: %v", err)
	}
	// Synchronous pulls show in .show operations too: one completed, two failed.
	set, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".show operations")
	if err != nil {
		t.Fatal(err)
	}
	states := map[any]int{}
	_, ops := rowsOf(t, set)
	for _, op := range ops {
		states[op[6]]++
	}
	if states[StateCompleted] != 1 || states[StateFailed] != 2 {
		t.Fatalf("operations %v", ops)
	}

	// Async: an operation id at once, the outcome in .show operations.
	set, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest async into table T ('"+srv.URL+"/c/data.json') with (format='json')")
	if err != nil {
		t.Fatal(err)
	}
	_, rows = rowsOf(t, set)
	opID := rows[0][0].(string)
	var op []any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		set, err := e.svc.Execute(ctx, clusterAdmin, "DB", ".show operations "+opID)
		if err != nil {
			t.Fatal(err)
		}
		_, r := rowsOf(t, set)
		if len(r) == 1 && r[0][6] != StateInProgress {
			op = r[0]
			break
		}
	}
	if op == nil || op[6] != StatePartiallySucceeded || op[1] != KindPull || op[10] != "DB" {
		t.Fatalf("operation %v", op)
	}
	if e.count("DB", "T") != 6 {
		t.Fatalf("rows %d, want 6", e.count("DB", "T"))
	}
	// The bad value is listed with the operation's id.
	set, err = e.svc.Execute(ctx, clusterAdmin, "DB", ".show ingestion failures with (OperationId = '"+opID+"')")
	if err != nil {
		t.Fatal(err)
	}
	cols, rows := rowsOf(t, set)
	if cols[0] != "OperationId" || cols[10] != "ErrorCode" || len(rows) != 1 || !strings.Contains(rows[0][5].(string), "record 2") {
		t.Fatalf("failures %v %v", cols, rows)
	}
	// A plain http URL is refused.
	if _, err := e.svc.Execute(ctx, clusterAdmin, "DB", ".ingest into table T ('http://127.0.0.1:1/x.csv')"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("http: %v", err)
	}
}

func TestIngestCommandsCheckRolesAndShowOnlyVisibleFailures(t *testing.T) {
	e := newEnv(t, Options{})
	e.table("DB", "T", telemetry)
	e.table("Other", "T", telemetry)
	ctx := context.Background()
	stranger := access.Caller{Name: "aadapp=x;tn"}
	_, err := e.svc.Execute(ctx, stranger, "DB", ".ingest inline into table T <| 2026-01-01T00:00:00Z,a,1,1")
	if kerr.As(err).Category != kerr.Forbidden {
		t.Fatalf("stranger: %v", err)
	}
	e.store.ChangePrincipals(ctx, "DB", access.RoleIngestor, storage.PrincipalsAdd, []storage.Principal{{FQN: stranger.Name}})
	set, err := e.svc.Execute(ctx, stranger, "DB", ".ingest inline into table T with (format=psv) <|\n2026-01-01T00:00:00Z|a|1|1\n2026-01-01T00:00:01Z|b|x|2")
	if err != nil {
		t.Fatal(err)
	}
	if _, rows := rowsOf(t, set); len(rows) != 1 || rows[0][3] != true {
		t.Fatalf("inline result %v", rows)
	}
	e.svc.Execute(ctx, clusterAdmin, "Other", ".ingest inline into table T <| 2026-01-01T00:00:00Z,a,zzz,1")
	// The ingestor sees its own database's failures only; the admin sees both.
	e.store.ChangePrincipals(ctx, "DB", access.RoleMonitor, storage.PrincipalsAdd, []storage.Principal{{FQN: stranger.Name}})
	set, _ = e.svc.Execute(ctx, stranger, "DB", ".show ingestion failures")
	if _, rows := rowsOf(t, set); len(rows) != 1 || rows[0][1] != "DB" {
		t.Fatalf("visible failures %v", rows)
	}
	set, _ = e.svc.Execute(ctx, clusterAdmin, "", ".show ingestion failures")
	if _, rows := rowsOf(t, set); len(rows) != 2 {
		t.Fatalf("admin failures %v", rows)
	}
}

func TestParseIngestCommands(t *testing.T) {
	c, err := parseIngest(".ingest async into table ['My Table'] (h@'https://a/b.csv;key', \"https://a/c\") with (format = \"csv\", tags = '[\"a\"]', creationTime = datetime(2020-01-01))")
	if err != nil {
		t.Fatal(err)
	}
	if !c.async || c.table != "My Table" || len(c.sources) != 2 || c.sources[0] != "https://a/b.csv;key" || len(c.props) != 3 || c.props[2][1] != "2020-01-01" {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{".ingest into T ('x')", ".ingest into table T ('x'", ".ingest into table T (x)", ".ingest into table T ('x') with (a)"} {
		if _, err := parseIngest(bad); kerr.As(err) == nil || kerr.As(err).Code != kerr.CodeSyntax || kerr.As(err).Column == 0 {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for text, want := range map[string]bool{".show operations": true, ".show ingestion failures": true, ".ingest inline into table T <| x": true,
		".show tables": false, ".create table T (a:int)": false, "T | take 1": false} {
		if Handles(text) != want {
			t.Errorf("Handles(%q) = %v", text, !want)
		}
	}
}
