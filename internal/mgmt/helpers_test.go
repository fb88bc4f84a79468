package mgmt

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"odx/internal/access"
	"odx/internal/ingest/pipeline"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/query"
	"odx/internal/result"
	"odx/internal/storage"
)

var admin = access.Caller{Name: "aadapp=boot;tenant", ClusterRoles: []string{access.ClusterAdmin}}

// fakeCompile stands in for the KQL compiler in these tests: it knows
// `range x from A to B step 1`, a bare table name, and `T | count`.
func fakeCompile(req query.CompileRequest) (*query.Compiled, error) {
	text := strings.TrimSpace(req.Text)
	if m := regexp.MustCompile(`^range (\w+) from (\d+) to (\d+) step 1$`).FindStringSubmatch(text); m != nil {
		from, _ := strconv.Atoi(m[2])
		to, _ := strconv.Atoi(m[3])
		return &query.Compiled{SQL: fmt.Sprintf(`SELECT CAST(range AS BIGINT) AS "%s" FROM range(?, ?)`, m[1]), Args: []any{from, to + 1},
			Columns: []schema.Column{{Name: m[1], Type: types.Long}}}, nil
	}
	db, _ := req.Catalog.Database(req.Database)
	name, counting := strings.CutSuffix(text, " | count")
	t, ok := db.Table(name)
	if !ok {
		return nil, fmt.Errorf("fake compiler: unknown query %q", text)
	}
	if counting {
		return &query.Compiled{SQL: "SELECT count(*) AS Count FROM " + t.SQL(), Columns: []schema.Column{{Name: "Count", Type: types.Long}}}, nil
	}
	var cols []string
	for _, c := range t.Columns() {
		cols = append(cols, `"`+c.Name+`"`)
	}
	return &query.Compiled{SQL: "SELECT " + strings.Join(cols, ", ") + " FROM " + t.SQL(), Columns: t.Columns()}, nil
}

func newService(t *testing.T, path string) (*Service, *storage.Store) {
	t.Helper()
	st, err := storage.Open(context.Background(), path, storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(st, queryService(st), Options{Version: "test"}), st
}

func queryService(st *storage.Store) *query.Service {
	return query.New(st, query.Options{Compile: fakeCompile})
}

// table is a fully read result table.
type table struct {
	cols []result.Column
	rows [][]any
}

func (tb table) col(name string) int {
	for i, c := range tb.cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// column returns the values of one column, formatted with %v.
func (tb table) column(name string) []string {
	i := tb.col(name)
	var out []string
	for _, r := range tb.rows {
		if i < 0 {
			out = append(out, "<no column "+name+">")
			continue
		}
		out = append(out, fmt.Sprint(r[i]))
	}
	return out
}

func (tb table) names() string {
	var n []string
	for _, c := range tb.cols {
		n = append(n, c.Name+":"+c.Type.String())
	}
	return strings.Join(n, ", ")
}

func readSet(t *testing.T, set *result.Set) table {
	t.Helper()
	defer set.Close()
	if len(set.Tables) != 1 {
		t.Fatalf("%d tables", len(set.Tables))
	}
	tb := table{cols: set.Tables[0].Columns()}
	for {
		row, ok, err := set.Tables[0].Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return tb
		}
		tb.rows = append(tb.rows, append([]any(nil), row...))
	}
}

// pipelines holds the ingestion pipeline of each store the tests open.
var pipelines sync.Map // *storage.Store → *pipeline.Service

// execute runs a command as odx's executor does (app/executor.go):
// `.ingest ...` through the ingestion pipeline, everything else through mgmt.
func execute(t testing.TB, s *Service, c access.Caller, db, text string) (*result.Set, error) {
	t.Helper()
	if pipeline.Handles(text) {
		return ingestion(t, s.store).Execute(context.Background(), c, db, text)
	}
	return s.Execute(context.Background(), c, db, text)
}

// ingestion is the ingestion pipeline over st, started on first use and
// closed with the test.
func ingestion(t testing.TB, st *storage.Store) *pipeline.Service {
	t.Helper()
	if p, ok := pipelines.Load(st); ok {
		return p.(*pipeline.Service)
	}
	p, err := pipeline.New(context.Background(), st, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pipelines.Store(st, p)
	t.Cleanup(func() {
		pipelines.Delete(st)
		p.Close()
	})
	return p
}

func run1(t *testing.T, s *Service, c access.Caller, db, text string) table {
	t.Helper()
	set, err := execute(t, s, c, db, text)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return readSet(t, set)
}
