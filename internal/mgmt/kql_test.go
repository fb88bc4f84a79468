package mgmt

import (
	"context"
	"slices"
	"testing"

	"odx/internal/kerr"
	"odx/internal/query"
	"odx/internal/storage"
)

// TestCommandsWithTheKQLCompiler runs the query-taking commands through
// odx's real compiler, as the server does.
func TestCommandsWithTheKQLCompiler(t *testing.T) {
	st, err := storage.Open(context.Background(), "", storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := query.New(st, query.Options{})
	s := New(st, q, Options{})
	run1(t, s, admin, "", ".create database DB")
	run1(t, s, admin, "DB", ".create table T (a:long, s:string, d:dynamic)")
	run1(t, s, admin, "DB", ".ingest inline into table T <| 1,x,{\"k\":1}\n2,y,[1]\n3,z,")
	out := run1(t, s, admin, "DB", ".set-or-append Big <| T | where a > 1 | project a, s, d, doubled = a * 2")
	if out.rows[0][5] != int64(2) {
		t.Fatalf("set-or-append %v", out.rows)
	}
	if got := run1(t, s, admin, "DB", ".show table Big cslschema").column("Schema"); got[0] != "a:long,s:string,d:dynamic,doubled:long" {
		t.Fatalf("created schema %v", got)
	}
	run1(t, s, admin, "DB", ".append Big <| T | where a == 1 | project a, s, d, doubled = a * 2")
	set, err := q.Query(context.Background(), admin, "DB", "Big | order by a asc | project s, doubled", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := readSet(t, set)
	if !slices.Equal(got.column("s"), []string{"x", "y", "z"}) || !slices.Equal(got.column("doubled"), []string{"2", "4", "6"}) {
		t.Fatalf("Big %v", got.rows)
	}
}

// TestPipingCommandResults runs KQL over `.show` results, as Kusto allows.
func TestPipingCommandResults(t *testing.T) {
	st, err := storage.Open(context.Background(), "", storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(st, query.New(st, query.Options{}), Options{})
	run1(t, s, admin, "", ".create database DB")
	run1(t, s, admin, "DB", ".create tables Alpha (a:long), Beta (b:string), Another (c:int)")
	run1(t, s, admin, "DB", ".ingest inline into table Alpha <| 1\n2")
	run1(t, s, admin, "DB", ".ingest inline into table Alpha <| 3")

	out := run1(t, s, admin, "DB", ".show tables | where TableName startswith 'A' | project TableName | order by TableName asc")
	if got := out.column("TableName"); !slices.Equal(got, []string{"Alpha", "Another"}) || out.names() != "TableName:string" {
		t.Fatalf("piped .show tables: %s %v", out.names(), got)
	}
	out = run1(t, s, admin, "DB", ".show table Alpha extents | summarize Rows = sum(RowCount), Extents = count()")
	if got := out.rows[0]; got[0] != int64(3) || got[1] != int64(2) {
		t.Fatalf("piped extents %v", got)
	}
	out = run1(t, s, admin, DefaultDatabase, ".show databases | project DatabaseName, DatabaseId")
	if len(out.rows) != 1 || out.rows[0][0] != "DB" || len(out.rows[0][1].(string)) != 36 {
		t.Fatalf("piped databases %v", out.rows)
	}
	_, err = s.Execute(context.Background(), admin, "DB", ".show tables\n| where Nope == 1")
	if ke := kerr.As(err); err == nil || ke.Line != 2 {
		t.Fatalf("error in the pipe should point at line 2: %v", err)
	}
}
