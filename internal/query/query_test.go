package query

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"odx/internal/access"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

var admin = access.Caller{Name: "aadapp=a;t", ClusterRoles: []string{access.ClusterAdmin}}

var cols = []schema.Column{
	{Name: "b", Type: types.Bool}, {Name: "i", Type: types.Int}, {Name: "l", Type: types.Long},
	{Name: "r", Type: types.Real}, {Name: "d", Type: types.Decimal}, {Name: "dt", Type: types.DateTime},
	{Name: "ts", Type: types.TimeSpan}, {Name: "s", Type: types.String}, {Name: "g", Type: types.Guid},
	{Name: "dyn", Type: types.Dynamic},
}

// sqlCompile plays the KQL compiler: the query text is the SQL, and the
// outermost columns follow the compiler's contract (dynamic as JSON text).
func sqlCompile(req CompileRequest) (*Compiled, error) {
	if req.Text == "bad" {
		return nil, kerr.Syntax(1, 1, "bad query")
	}
	return &Compiled{SQL: req.Text, Columns: cols, Properties: map[string]any{"Visualization": "table"}}, nil
}

func TestQueryConvertsEveryType(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.CreateDatabase(ctx, "DB", true, false, storage.Principal{})
	st.CreateTables(ctx, "DB", []storage.TableSpec{{Name: "T", Columns: cols}}, storage.CreateOnly)
	when := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	g := [16]byte{0x6f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x49, 0x78, 0x86, 0x95, 0xa4, 0xb3, 0xc2, 0xd1, 0xe0, 0xf9}
	if _, err := st.Ingest(ctx, storage.IngestBatch{Database: "DB", Table: "T", Rows: [][]any{
		{true, int32(-3), int64(1) << 50, 0.25, "-7.125", when, int64(-15), "x", g, `{"k":[1,"two"]}`},
		make([]any, len(cols)),
	}}); err != nil {
		t.Fatal(err)
	}
	q := New(st, Options{Compile: sqlCompile})
	tbl, _ := st.Snapshot().DB("DB")
	tt, _ := tbl.Tbl("T")
	sql := `SELECT b, i, l, r, d, dt, ts, s, g, CAST(dyn AS VARCHAR) AS dyn FROM ` + tt.SQL() + ` ORDER BY b NULLS LAST`
	set, err := q.Query(ctx, admin, "DB", sql, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if set.Properties["Visualization"] != "table" || set.Tables[0].Name() != "PrimaryResult" {
		t.Fatalf("properties %v, name %s", set.Properties, set.Tables[0].Name())
	}
	row, ok, err := set.Tables[0].Next()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	want := []any{true, int32(-3), int64(1) << 50, 0.25, "-7.125", when, int64(-15), "x", "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", json.RawMessage(`{"k":[1,"two"]}`)}
	for i := range want {
		if fmt.Sprintf("%T %v", row[i], row[i]) != fmt.Sprintf("%T %v", want[i], want[i]) {
			t.Errorf("column %s: got %T %v, want %T %v", cols[i].Name, row[i], row[i], want[i], want[i])
		}
	}
	row, ok, err = set.Tables[0].Next()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for i, v := range row {
		if cols[i].Type == types.String {
			if v != "" {
				t.Errorf("null string came back as %v, want empty", v)
			}
		} else if v != nil {
			t.Errorf("column %s: null came back as %T %v", cols[i].Name, v, v)
		}
	}
	if _, ok, _ := set.Tables[0].Next(); ok {
		t.Fatal("extra row")
	}

	if _, err := q.Query(ctx, admin, "DB", "bad", nil); kerr.As(err).Code != kerr.CodeSyntax {
		t.Fatalf("compile error: %v", err)
	}
	if _, err := q.Query(ctx, admin, "DB", "SELECT * FROM nowhere", nil); kerr.As(err).Category != kerr.BadRequest {
		t.Fatalf("execution error: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	time.Sleep(2 * time.Millisecond)
	if _, err := q.Query(cctx, admin, "DB", "SELECT count(*) FROM range(1000000000) a, range(10) b", nil); kerr.As(err).Category != kerr.Timeout {
		t.Fatalf("timeout: %v", err)
	}
}
