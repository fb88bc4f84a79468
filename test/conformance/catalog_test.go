package conformance

import (
	"context"
	"testing"
	"time"

	"odx/internal/engine"
	"odx/internal/kql"
	"odx/internal/kql/schema/schematest"
	"odx/internal/kql/types"
)

// TestCatalogQueries runs compiled queries against real tables laid out as
// the storage layer lays them out: Kusto columns plus the hidden extent
// column, and the extents table that serves ingestion_time().
func TestCatalogQueries(t *testing.T) {
	ctx := context.Background()
	db, err := engine.Open("", engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat := schematest.New()
	d := cat.AddDatabase("Samples")
	events := d.AddTable("Events", "Timestamp:datetime, Level:string, Value:real, Props:dynamic")
	d.AddFunction("ErrorsAbove", "(v:real = 1.0)", `{ Events | where Level == "Error" and Value > v }`)
	for _, stmt := range []string{
		`CREATE SCHEMA "Samples"`, `CREATE SCHEMA "odx_meta"`,
		`CREATE TABLE "odx_meta"."extents" (extent_id UUID, ingestion_time TIMESTAMP_NS)`,
		events.CreateSQL(), // datetime columns hold ticks since 0001-01-01
		`INSERT INTO "odx_meta"."extents" VALUES ('00000000-0000-0000-0000-000000000001', TIMESTAMP_NS '2024-01-01 10:00:00.1234567'), ('00000000-0000-0000-0000-000000000002', TIMESTAMP_NS '2024-01-02 10:00:00')`,
		`INSERT INTO "Samples"."Events" VALUES
			(epoch_us(TIMESTAMP '2024-01-01 09:00:00') * 10 + 621355968000000000, 'Error', 5.5, '{"tags":["a","b"]}', '00000000-0000-0000-0000-000000000001'),
			(epoch_us(TIMESTAMP '2024-01-01 09:30:00') * 10 + 621355968000000000, 'Info', 0.5, '{"tags":[]}', '00000000-0000-0000-0000-000000000001'),
			(epoch_us(TIMESTAMP '2024-01-02 09:00:00') * 10 + 621355968000000000, 'Error', 0.5, '{}', '00000000-0000-0000-0000-000000000002')`,
	} {
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	opts := kql.Options{Database: "Samples", Catalog: cat, Now: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)}
	scalar := func(q string) any {
		t.Helper()
		cq, err := kql.Compile(q, opts)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows, err := db.Query(ctx, cq.SQL, cq.Args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", q, err, cq.SQL)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("%s: no rows", q)
		}
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	if got := scalar(`Events | where Level == "Error" | count`); got != int64(2) {
		t.Errorf("count of errors = %v, want 2", got)
	}
	if got := scalar(`ErrorsAbove() | count`); got != int64(1) {
		t.Errorf("stored function with default = %v, want 1", got)
	}
	if got := scalar(`ErrorsAbove(0.1) | count`); got != int64(2) {
		t.Errorf("stored function with argument = %v, want 2", got)
	}
	it := scalar(`Events | where Value == 5.5 | project ingestion_time()`)
	ticks, _ := it.(int64) // datetimes come out as ticks since 0001-01-01
	if tm, ok := types.TimeFromTicks(ticks); !ok || !tm.Equal(time.Date(2024, 1, 1, 10, 0, 0, 123456700, time.UTC)) {
		t.Errorf("ingestion_time() = %v, want the extent's time with 100 ns precision", it)
	}
	if got := scalar(`Events | where ingestion_time() > datetime(2024-01-02) | count`); got != int64(1) {
		t.Errorf("filter on ingestion_time() = %v, want 1", got)
	}
	if got := scalar(`Events | mv-expand tag = Props.tags to typeof(string) | where isnotempty(tag) | count`); got != int64(2) {
		t.Errorf("mv-expand over stored dynamic = %v, want 2", got)
	}
	if got := scalar(`Events | summarize c = count() by bin(Timestamp, 1d) | count`); got != int64(2) {
		t.Errorf("days = %v, want 2", got)
	}
	if got := scalar(`Events | where Timestamp > ago(1d) | count`); got != int64(1) {
		t.Errorf("ago(1d) with now=2024-01-03 = %v, want 1", got)
	}
	if got := scalar(`print u = parse_url("https://me:pw@example.com:8080/a/b?x=1&y=two%20words#frag") | project strcat(u.Scheme, "|", u.Host, "|", u.Port, "|", u.Path, "|", u.Username, "|", u["Query Parameters"].y, "|", u.Fragment)`); got != "https|example.com|8080|/a/b|me|two words|frag" {
		t.Errorf("parse_url = %v", got)
	}
	if got := scalar(`print extract("n=([0-9]+)", 1, "n=42", typeof(long)) + 1`); got != int64(43) {
		t.Errorf("extract typeof(long) = %v, want 43", got)
	}
	if got := scalar(`datatable(a:long)[1] | extend A = a + 1 | project A`); got != int64(2) {
		t.Errorf("column names differing in case must stay distinct: got %v, want 2", got)
	}
	if got := scalar(`Events | where Timestamp > ago(12h) | count`); got != int64(0) {
		t.Errorf("ago(12h) with now=2024-01-03 = %v, want 0", got)
	}
}
