package mgmt

import (
	"context"
	"slices"
	"testing"

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
