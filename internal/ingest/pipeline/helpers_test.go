package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"testing"
	"time"

	"odx/internal/ingest/props"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// telemetry is the table most tests ingest into.
var telemetry = []schema.Column{
	{Name: "Timestamp", Type: types.DateTime},
	{Name: "Device", Type: types.String},
	{Name: "Value", Type: types.Real},
	{Name: "Count", Type: types.Long},
}

type env struct {
	t     testing.TB
	store *storage.Store
	svc   *Service
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	return newEnvAt(t, "", opts)
}

func newEnvAt(t testing.TB, path string, opts Options) *env {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(ctx, path, storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(ctx, st, opts)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		st.Close()
	})
	return &env{t: t, store: st, svc: svc}
}

func (e *env) table(db, table string, cols []schema.Column) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.CreateDatabase(ctx, db, true, true, storage.Principal{}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateTables(ctx, db, []storage.TableSpec{{Name: table, Columns: cols}}, storage.CreateOnly); err != nil {
		e.t.Fatal(err)
	}
}

// rows reads a table's rows ordered by the given SQL expression.
func (e *env) rows(db, table, orderBy string) [][]any {
	e.t.Helper()
	d, _ := e.store.Snapshot().DB(db)
	tbl, _ := d.Tbl(table)
	sel := ""
	for i, c := range tbl.Columns() {
		if i > 0 {
			sel += ", "
		}
		sel += `"` + c.Name + `"`
	}
	rs, err := e.store.Engine().Query(context.Background(), "SELECT "+sel+" FROM "+tbl.SQL()+" ORDER BY "+orderBy)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		v, err := rs.Values()
		if err != nil {
			e.t.Fatal(err)
		}
		row := append([]any(nil), v...)
		for i, c := range tbl.Columns() {
			// datetimes are stored as ticks since 0001-01-01; tests compare times
			if ticks, ok := row[i].(int64); ok && c.Type == types.DateTime {
				row[i], _ = types.TimeFromTicks(ticks)
			}
		}
		out = append(out, row)
	}
	return out
}

func (e *env) count(db, table string) int64 {
	e.t.Helper()
	d, _ := e.store.Snapshot().DB(db)
	tbl, _ := d.Tbl(table)
	rs, err := e.store.Engine().Query(context.Background(), "SELECT count(*) FROM "+tbl.SQL())
	if err != nil {
		e.t.Fatal(err)
	}
	defer rs.Close()
	rs.Next()
	v, _ := rs.Values()
	return v[0].(int64)
}

func (e *env) extents(db, table string) []storage.ExtentInfo {
	e.t.Helper()
	ext, err := e.store.ListExtents(context.Background(), storage.ExtentFilter{Database: db, Table: table})
	if err != nil {
		e.t.Fatal(err)
	}
	return ext
}

func mustProps(t testing.TB, kv ...string) *props.Properties {
	t.Helper()
	var pairs [][2]string
	for i := 0; i+1 < len(kv); i += 2 {
		pairs = append(pairs, [2]string{kv[i], kv[i+1]})
	}
	p, err := props.Parse(pairs)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// telemetryCSV makes n CSV lines of telemetry starting at base.
func telemetryCSV(n int, base time.Time) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,dev-%d,%g,%d\n", base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i%7, float64(i)/4, i)
	}
	return b.Bytes()
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newBenchEnv is a file-backed store with DB.T of benchColumns.
func newBenchEnv(b *testing.B, path string) *env {
	e := newEnvAt(b, path, Options{})
	e.table("DB", "T", benchColumns)
	return e
}

func (e *env) close() {
	e.svc.Close()
	e.store.Close()
}
