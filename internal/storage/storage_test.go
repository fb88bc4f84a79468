package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"odx/internal/access"
	"odx/internal/columnar"
	"odx/internal/engine"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

func openTemp(t *testing.T, path string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{RetentionInterval: -1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var allTypes = []schema.Column{
	{Name: "b", Type: types.Bool}, {Name: "i", Type: types.Int}, {Name: "l", Type: types.Long},
	{Name: "r", Type: types.Real}, {Name: "d", Type: types.Decimal}, {Name: "dt", Type: types.DateTime},
	{Name: "ts", Type: types.TimeSpan}, {Name: "s", Type: types.String}, {Name: "g", Type: types.Guid},
	{Name: "dyn", Type: types.Dynamic},
}

func mustCreate(t *testing.T, s *Store, db, table string, cols []schema.Column) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateDatabase(ctx, db, true, true, Principal{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTables(ctx, db, []TableSpec{{Name: table, Columns: cols}}, CreateOnly); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, s *Store, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := queryAll(context.Background(), s.db, sql, func(v []any) error { n = v[0].(int64); return nil }, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNamesAreReversibleAndCaseDistinct(t *testing.T) {
	for _, n := range []string{"Samples", "samples", "my-db.v2", "with space", "a_b", "A__b", "ünï"} {
		enc := encodeName(n)
		back, ok := decodeName(enc)
		if !ok || back != n {
			t.Errorf("decode(encode(%q)) = %q, %v", n, back, ok)
		}
	}
	if encodeName("T") == encodeName("t") {
		t.Error("T and t must map to different DuckDB names")
	}
}

func TestIngestEveryTypeRoundTrips(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", allTypes)
	ctx := context.Background()
	when := time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)
	g, _ := engine.ParseUUID("6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
	row := []any{true, int32(7), int64(1 << 40), 2.5, "12.3456", when, int64(36_000_000_000), "hi", [16]byte(g), `{"a":[1,2]}`}
	info, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{row, make([]any, len(allTypes))}, Tags: []string{"drop-by:x"}})
	if err != nil {
		t.Fatal(err)
	}
	if info.RowCount != 2 || info.ID == "" {
		t.Fatalf("extent %+v", info)
	}
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	var got []any
	err = queryAll(ctx, s.db, `SELECT b, i, l, r, CAST(d AS VARCHAR), dt, ts, s, CAST(g AS VARCHAR), CAST(dyn AS VARCHAR), CAST(`+schema.ExtentColumn+` AS VARCHAR) FROM `+tbl.SQL()+` WHERE b`, func(v []any) error {
		got = append([]any(nil), v...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	whenTicks, _ := types.TicksFromTime(when) // datetimes are stored as ticks since 0001-01-01
	want := []any{true, int32(7), int64(1 << 40), 2.5, "12.3456000000", whenTicks, int64(36_000_000_000), "hi", "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", `{"a":[1,2]}`, info.ID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("row\n got %v\nwant %v", got, want)
	}
	// ingestion_time() joins the extents table on the hidden column.
	n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()+` r JOIN `+schema.ExtentsTable+` e ON e.extent_id = r.`+schema.ExtentColumn+` WHERE e.ingestion_time IS NOT NULL`)
	if n != 2 {
		t.Fatalf("rows joined to their extent: %d", n)
	}
}

func TestCatalogSnapshotIsImmutable(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	before := s.Catalog()
	ctx := context.Background()
	if err := s.CreateTables(ctx, "DB", []TableSpec{{Name: "T", Columns: []schema.Column{{Name: "b", Type: types.String}}}}, CreateMerge); err != nil {
		t.Fatal(err)
	}
	d, _ := before.Database("DB")
	old, _ := d.Table("T")
	if len(old.Columns()) != 1 {
		t.Fatalf("old snapshot changed: %v", old.Columns())
	}
	d2, _ := s.Catalog().Database("DB")
	nt, _ := d2.Table("T")
	if cs := CSLSchema(nt.Columns()); cs != "a:long,b:string" {
		t.Fatalf("new schema %s", cs)
	}
	if nt.SQL() != `"db__d_b"."_t"` {
		t.Fatalf("SQL name %s", nt.SQL())
	}
	// A create with a different schema is refused; the same one is a no-op.
	err := s.CreateTables(ctx, "DB", []TableSpec{{Name: "T", Columns: []schema.Column{{Name: "a", Type: types.Int}}}}, CreateOnly)
	if kerr.As(err).Code != kerr.CodeEntityExists {
		t.Fatalf("expected exists error, got %v", err)
	}
}

func TestIngestCommitIsAtomic(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	boom := errors.New("position store failed")
	_, err := s.Ingest(context.Background(), IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(1)}, {int64(2)}},
		Extra: func(tx *engine.Tx) error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 0 {
		t.Fatalf("%d rows survived a failed commit", n)
	}
	if n := count(t, s, `SELECT count(*) FROM odx_meta.extents`); n != 0 {
		t.Fatalf("%d extents survived a failed commit", n)
	}
	// A row of the wrong width is rejected before anything is written.
	if _, err := s.Ingest(context.Background(), IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(1), "x"}}}); kerr.As(err).Category != kerr.BadRequest {
		t.Fatalf("got %v", err)
	}
}

func TestIngestIfNotExistsAndExtents(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	ctx := context.Background()
	b := IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(1)}}, Tags: []string{"ingest-by:batch1"}, IngestIfNotExists: []string{"batch1"}}
	first, err := s.Ingest(ctx, b)
	if err != nil || first.Skipped {
		t.Fatalf("%+v %v", first, err)
	}
	second, err := s.Ingest(ctx, b)
	if err != nil || !second.Skipped {
		t.Fatalf("second ingest should be skipped: %+v %v", second, err)
	}
	ext, err := s.ListExtents(ctx, ExtentFilter{Database: "DB"})
	if err != nil || len(ext) != 1 || ext[0].Tags[0] != "ingest-by:batch1" {
		t.Fatalf("%+v %v", ext, err)
	}
	dropped, err := s.DropExtents(ctx, ExtentFilter{Database: "DB", Table: "T", IDs: []string{first.ID}})
	if err != nil || len(dropped) != 1 {
		t.Fatalf("%+v %v", dropped, err)
	}
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 0 {
		t.Fatalf("rows of a dropped extent remain: %d", n)
	}
	// Once the extent is gone, the same ingest-by tag may ingest again.
	again, err := s.Ingest(ctx, b)
	if err != nil || again.Skipped {
		t.Fatalf("%+v %v", again, err)
	}
}

func TestConcurrentIngestNeverFails(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, err := s.Ingest(context.Background(), IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(j)}}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	// DDL and retention race the writers.
	if err := s.SetPolicy(context.Background(), "DB", "T", PolicyRetention, `{"SoftDeletePeriod":"1.00:00:00","Recoverability":"Enabled"}`); err != nil {
		t.Fatal(err)
	}
	s.EnforceRetention(context.Background())
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := count(t, s, `SELECT count(*) FROM odx_meta.extents`); n != 40 {
		t.Fatalf("%d extents, want 40", n)
	}
}

func TestRetentionDropsExpiredExtents(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := openTemp(t, "", func() time.Time { return clock })
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	ctx := context.Background()
	old, _ := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(1)}}, CreationTime: clock.Add(-48 * time.Hour)})
	fresh, _ := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(2)}}})
	// Database policy says 10 days, table policy 1 day: the table's wins.
	if err := s.SetPolicy(ctx, "DB", "", PolicyRetention, `{"SoftDeletePeriod":"10.00:00:00","Recoverability":"Enabled"}`); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.EnforceRetention(ctx); n != 0 {
		t.Fatalf("database policy of 10 days dropped %d extents", n)
	}
	if err := s.SetPolicy(ctx, "DB", "T", PolicyRetention, `{"SoftDeletePeriod":"1.00:00:00","Recoverability":"Enabled"}`); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.EnforceRetention(ctx); n != 1 {
		t.Fatalf("dropped %d extents, want 1", n)
	}
	ext, _ := s.ListExtents(ctx, ExtentFilter{Database: "DB"})
	if len(ext) != 1 || ext[0].ID != fresh.ID || ext[0].ID == old.ID {
		t.Fatalf("remaining extents %+v", ext)
	}
}

func TestDocStore(t *testing.T) {
	s := openTemp(t, "", nil)
	ctx := context.Background()
	id := "/subscriptions/S/resourceGroups/RG/providers/Microsoft.Kusto/clusters/C"
	if err := s.PutDoc(ctx, "cluster", id, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDoc(ctx, "cluster", id, []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	body, ok, err := s.GetDoc(ctx, "cluster", "/SUBSCRIPTIONS/s/resourcegroups/rg/providers/microsoft.kusto/clusters/c")
	if err != nil || !ok || string(body) != `{"v":2}` {
		t.Fatalf("%s %v %v", body, ok, err)
	}
	s.PutDoc(ctx, "cluster", "/subscriptions/S/resourceGroups/other/x", []byte(`{}`))
	docs, err := s.ListDocs(ctx, "cluster", "/subscriptions/s/resourcegroups/RG/")
	if err != nil || len(docs) != 1 || docs[0].ID != id {
		t.Fatalf("%+v %v", docs, err)
	}
	if gone, _ := s.DeleteDoc(ctx, "cluster", id); !gone {
		t.Fatal("delete reported nothing")
	}
	if _, ok, _ := s.GetDoc(ctx, "cluster", id); ok {
		t.Fatal("document still there")
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odx.duckdb")
	ctx := context.Background()
	s, err := Open(ctx, path, Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "My DB", "Events", []schema.Column{{Name: "a", Type: types.Long}, {Name: "Msg", Type: types.String}})
	s.Ingest(ctx, IngestBatch{Database: "My DB", Table: "Events", Rows: [][]any{{int64(1), "x"}}})
	s.PutFunction(ctx, "My DB", schema.Function{Name: "F", Parameters: "()", Body: "{ Events }"}, FunctionCreate, false)
	s.SetPolicy(ctx, "My DB", "Events", PolicyCaching, `{"DataHotSpan":{"Value":"1.00:00:00"}}`)
	s.ChangePrincipals(ctx, "My DB", access.RoleViewer, PrincipalsAdd, []Principal{{FQN: "aadapp=1;t"}})
	s.PutMapping(ctx, Mapping{Database: "My DB", Table: "Events", Kind: "json", Name: "m", Text: `[]`}, MappingCreate)
	s.PutDoc(ctx, "k", "id", []byte("b"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, path, nil)
	d, ok := s.Snapshot().DB("My DB")
	if !ok {
		t.Fatal("database lost")
	}
	tbl, ok := d.Tbl("Events")
	if !ok || tbl.CSLSchema() != "a:long,Msg:string" || tbl.Policies[PolicyCaching] == "" || len(tbl.Mappings) != 1 {
		t.Fatalf("table lost or changed: %+v", tbl)
	}
	if _, ok := d.Function("F"); !ok || len(d.Principals) != 1 {
		t.Fatal("function or principal lost")
	}
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 1 {
		t.Fatalf("%d rows after reopen", n)
	}
	if _, ok, _ := s.GetDoc(ctx, "k", "id"); !ok {
		t.Fatal("document lost")
	}
}

func TestRenameSwapAndDrop(t *testing.T) {
	s := openTemp(t, "", nil)
	ctx := context.Background()
	mustCreate(t, s, "DB", "A", []schema.Column{{Name: "a", Type: types.Long}})
	s.CreateTables(ctx, "DB", []TableSpec{{Name: "B", Columns: []schema.Column{{Name: "b", Type: types.String}}}}, CreateOnly)
	s.Ingest(ctx, IngestBatch{Database: "DB", Table: "A", Rows: [][]any{{int64(1)}}})
	if err := s.RenameTables(ctx, "DB", [][2]string{{"A", "B"}, {"B", "A"}}); err != nil {
		t.Fatal(err)
	}
	d, _ := s.Snapshot().DB("DB")
	a, _ := d.Tbl("A")
	b, _ := d.Tbl("B")
	if a.CSLSchema() != "b:string" || b.CSLSchema() != "a:long" {
		t.Fatalf("swap failed: A=%s B=%s", a.CSLSchema(), b.CSLSchema())
	}
	if ext, _ := s.ListExtents(ctx, ExtentFilter{Database: "DB", Table: "B"}); len(ext) != 1 {
		t.Fatal("extent did not follow its table")
	}
	if _, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "B", Rows: [][]any{{int64(2)}}}); err != nil {
		t.Fatal(err)
	}
	dropped, err := s.DropTables(ctx, "DB", []string{"A", "nope"}, true)
	if err != nil || len(dropped) != 1 {
		t.Fatalf("%v %v", dropped, err)
	}
}

func TestIngestFollowsKustoColumnOrderAfterAlter(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}, {Name: "b", Type: types.String}})
	ctx := context.Background()
	// Reorder, and add a column: DuckDB appends it physically after the hidden extent column.
	if err := s.CreateTables(ctx, "DB", []TableSpec{{Name: "T", Columns: []schema.Column{{Name: "c", Type: types.Int}, {Name: "b", Type: types.String}, {Name: "a", Type: types.Long}}}}, Alter); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int32(3), "two", int64(1)}}}); err != nil {
		t.Fatal(err)
	}
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	var got string
	queryAll(ctx, s.db, `SELECT a, b, c FROM `+tbl.SQL(), func(v []any) error { got = fmt.Sprint(v...); return nil })
	if got != "1two3" {
		t.Fatalf("row %q", got)
	}
	if err := s.CreateTables(ctx, "DB", []TableSpec{{Name: "T", Columns: []schema.Column{{Name: "A", Type: types.Long}}}}, AlterMerge); err == nil {
		t.Fatal("columns a and A differ only in case and must be refused")
	}
}

func TestPolicyReaders(t *testing.T) {
	if d, ok := HotCachePeriod(`{"DataHotSpan":{"Value":"1.12:00:00"}}`); !ok || d != 36*time.Hour {
		t.Fatalf("%v %v", d, ok)
	}
	if d, ok := HotCachePeriod(`{"DataHotSpan":"2.00:00:00"}`); !ok || d != 48*time.Hour {
		t.Fatalf("%v %v", d, ok)
	}
	if d, ok := SoftDeletePeriod(`{"SoftDeletePeriod":"00:30:00"}`); !ok || d != 30*time.Minute {
		t.Fatalf("%v %v", d, ok)
	}
	for text, want := range map[string]int64{"10d": 10 * 864_000_000_000, "1.02:03:04.5": 937_845_000_000, "-00:00:01": -10_000_000, "100ms": 1_000_000} {
		if got, err := ParseTimeSpan(text); err != nil || got != want {
			t.Errorf("ParseTimeSpan(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
}

func TestBackgroundRetentionLoop(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s, err := Open(context.Background(), "", Options{RetentionInterval: 10 * time.Millisecond, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	ctx := context.Background()
	s.SetPolicy(ctx, "DB", "", PolicyRetention, `{"SoftDeletePeriod":"01:00:00","Recoverability":"Enabled"}`)
	s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(1)}}})
	mu.Lock()
	clock = clock.Add(2 * time.Hour)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ext, _ := s.ListExtents(ctx, ExtentFilter{Database: "DB"}); len(ext) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the background loop never dropped the expired extent")
}

func TestIngestQueryIsAllOrNothing(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}})
	ctx := context.Background()
	s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(1)}}})
	// The query fails after producing rows (on its last one): neither the
	// new table nor any row may remain.
	bad := `SELECT CASE WHEN range = 3 THEN CAST(error('boom') AS BIGINT) ELSE range END AS a FROM range(0, 4)`
	cols := []schema.Column{{Name: "a", Type: types.Long}}
	if _, err := s.IngestQuery(ctx, QueryBatch{Database: "DB", Table: "New", SQL: bad, Columns: cols, Create: true}); err == nil {
		t.Fatal("expected the query to fail")
	}
	if _, ok := s.Snapshot().databases["DB"].Tbl("New"); ok {
		t.Fatal("a failed .set-or-append left its table behind")
	}
	if _, err := s.IngestQuery(ctx, QueryBatch{Database: "DB", Table: "T", SQL: bad, Columns: cols, Replace: true}); err == nil {
		t.Fatal("expected the query to fail")
	}
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 1 {
		t.Fatalf("a failed .set-or-replace changed the table: %d rows", n)
	}
	if ext, _ := s.ListExtents(ctx, ExtentFilter{Database: "DB"}); len(ext) != 1 {
		t.Fatalf("extents after failed commands: %d", len(ext))
	}
	// A good replace swaps the content in one step.
	good := `SELECT CAST(range AS BIGINT) AS a FROM range(10, 13)`
	info, err := s.IngestQuery(ctx, QueryBatch{Database: "DB", Table: "T", SQL: good, Columns: cols, Replace: true})
	if err != nil || info.RowCount != 3 {
		t.Fatalf("%+v %v", info, err)
	}
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 3 {
		t.Fatalf("%d rows after replace", n)
	}
}

// Rows in parts are one extent; an error from a later part leaves nothing.
func TestIngestPartsCommitsOneExtentOrNothing(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "a", Type: types.Long}, {Name: "s", Type: types.String}})
	ctx := context.Background()
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	partsOf := func(parts [][][]any, end error) func() (*columnar.Block, error) {
		return func() (*columnar.Block, error) {
			if len(parts) == 0 {
				return nil, end
			}
			p := parts[0]
			parts = parts[1:]
			width := 2
			if len(p) > 0 {
				width = len(p[0])
			}
			return columnar.FromRows(make([]columnar.Kind, width), p) // every column of kind Any
		}
	}
	three := [][][]any{{{int64(1), "a"}, {int64(2), "b"}}, {}, {{int64(3), nil}}}

	broken := errors.New("the source ended early")
	if _, err := s.IngestParts(ctx, IngestBatch{Database: "DB", Table: "T"}, partsOf(three, broken)); !errors.Is(err, broken) {
		t.Fatalf("got %v, want the parts' own error", err)
	}
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 0 {
		t.Fatalf("%d rows of an aborted extent were kept", n)
	}

	info, err := s.IngestParts(ctx, IngestBatch{Database: "DB", Table: "T", Tags: []string{"drop-by:x"}}, partsOf(three, nil))
	if err != nil || info.RowCount != 3 {
		t.Fatalf("%+v %v", info, err)
	}
	ext, err := s.ListExtents(ctx, ExtentFilter{Database: "DB"})
	if err != nil || len(ext) != 1 || ext[0].RowCount != 3 || ext[0].Tags[0] != "drop-by:x" {
		t.Fatalf("%+v %v", ext, err)
	}
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()+` WHERE a IN (1, 2, 3)`); n != 3 {
		t.Fatalf("%d of the 3 rows are stored", n)
	}

	// A part of the wrong width after a good one aborts the extent.
	bad := [][][]any{{{int64(4), "d"}}, {{int64(5)}}}
	if _, err := s.IngestParts(ctx, IngestBatch{Database: "DB", Table: "T"}, partsOf(bad, nil)); kerr.As(err).Category != kerr.BadRequest {
		t.Fatalf("got %v", err)
	}
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()); n != 3 {
		t.Fatalf("%d rows after a refused extent, want 3", n)
	}
}
