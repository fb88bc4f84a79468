package kustoapi_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-kusto-go/azkustodata"
	kerrors "github.com/Azure/azure-kusto-go/azkustodata/errors"
	"github.com/Azure/azure-kusto-go/azkustodata/kql"
	"github.com/Azure/azure-kusto-go/azkustodata/query"

	"odx/internal/kerr"
	"odx/internal/kql/types"
	"odx/internal/result"
)

// newGoClient connects the real Go data client, with a static token and
// trusting the test server's certificate, to a server over exec.
func newGoClient(t *testing.T, exec *fakeExecutor) *azkustodata.Client {
	t.Helper()
	srv := newServer(t, exec)
	kcsb := azkustodata.NewConnectionStringBuilder(srv.URL).WithApplicationToken("app-id", "static-token")
	client, err := azkustodata.New(kcsb, azkustodata.WithHttpClient(srv.Client()))
	if err != nil {
		t.Fatalf("azkustodata.New: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func primaryTables(ds query.Dataset) []query.Table {
	var out []query.Table
	for _, tb := range ds.Tables() {
		if tb.Kind() == "PrimaryResult" || tb.Kind() == "QueryResult" {
			out = append(out, tb)
		}
	}
	return out
}

// checkAllTypes asserts the decoded rows of allTypesTable, as a user of the
// Go client reads them.
// v1 carries dynamic values as their JSON text in a string.
func checkAllTypes(t *testing.T, tb query.Table, v1 bool) {
	t.Helper()
	cols := tb.Columns()
	if len(cols) != len(allTypesColumns) {
		t.Fatalf("got %d columns, want %d", len(cols), len(allTypesColumns))
	}
	for i, c := range cols {
		if c.Name() != allTypesColumns[i].Name || string(c.Type()) != allTypesColumns[i].Type.String() {
			t.Errorf("column %d = %s:%s, want %s:%s", i, c.Name(), c.Type(), allTypesColumns[i].Name, allTypesColumns[i].Type)
		}
	}
	rows := tb.Rows()
	if len(rows) != 5 {
		t.Fatalf("got %d rows, want 5", len(rows))
	}
	r := rows[0]
	must := func(v any, err error) any {
		t.Helper()
		if err != nil {
			t.Fatalf("reading value: %v", err)
		}
		return v
	}
	if b := must(r.BoolByIndex(0)).(*bool); b == nil || !*b {
		t.Errorf("bool = %v, want true", b)
	}
	if v := must(r.IntByIndex(1)).(*int32); v == nil || *v != -7 {
		t.Errorf("int = %v, want -7", v)
	}
	if v := must(r.LongByIndex(2)).(*int64); v == nil || *v != 1<<53 {
		t.Errorf("long = %v, want 2^53", v)
	}
	if v := must(r.RealByIndex(3)).(*float64); v == nil || *v != 2.5 {
		t.Errorf("real = %v, want 2.5", v)
	}
	if v, err := r.DecimalByIndex(4); err != nil || v == nil || v.String() != "12345678901234567890.123" {
		t.Errorf("decimal = %v (%v), want 12345678901234567890.123", v, err)
	}
	if v := must(r.DateTimeByIndex(5)).(*time.Time); v == nil || !v.Equal(sampleTime) {
		t.Errorf("datetime = %v, want %v", v, sampleTime)
	}
	if v := must(r.TimespanByIndex(6)).(*time.Duration); v == nil || *v != time.Duration(sampleTicks)*100 {
		t.Errorf("timespan = %v, want %v", v, time.Duration(sampleTicks)*100)
	}
	if v := must(r.StringByIndex(7)).(string); v != "line1\nline2 \"quoted\" é" {
		t.Errorf("string = %q", v)
	}
	if v, err := r.GuidByIndex(8); err != nil || v == nil || v.String() != "0b2a1b3c-4d5e-4f60-8a7b-9c8d7e6f5a4b" {
		t.Errorf("guid = %v (%v)", v, err)
	}
	if v := must(r.DynamicByIndex(9)).([]byte); string(v) != `{"a":[1,2,{"b":null}]}` {
		t.Errorf("dynamic = %s, want compact JSON", v)
	}

	// Row 2: a null of every type (strings are empty, never null, in Kusto).
	for i, v := range rows[1].Values() {
		if i == 7 {
			if s, _ := rows[1].StringByIndex(7); s != "" {
				t.Errorf("null string = %q, want empty", s)
			}
			continue
		}
		if g := v.GetValue(); !isNil(g) {
			t.Errorf("null %s decoded as %v", allTypesColumns[i].Name, g)
		}
	}

	// Rows 3-5: the edge values.
	if v, _ := rows[2].RealByIndex(3); v == nil || !math.IsNaN(*v) {
		t.Errorf("NaN real = %v", v)
	}
	if v, _ := rows[3].RealByIndex(3); v == nil || !math.IsInf(*v, 1) {
		t.Errorf("+Inf real = %v", v)
	}
	if v, _ := rows[4].RealByIndex(3); v == nil || !math.IsInf(*v, -1) {
		t.Errorf("-Inf real = %v", v)
	}
	if v, _ := rows[2].LongByIndex(2); v == nil || *v != math.MinInt64 {
		t.Errorf("min long = %v", v)
	}
	if v, _ := rows[2].TimespanByIndex(6); v == nil || *v != -time.Duration(sampleTicks)*100 {
		t.Errorf("negative timespan = %v", v)
	}
	if v, _ := rows[2].DynamicByIndex(9); string(v) != `[1,"x"]` {
		t.Errorf("dynamic from JSON string = %s", v)
	}
	if v, _ := rows[3].DynamicByIndex(9); string(v) != `{"k":"v"}` {
		t.Errorf("dynamic from Go map = %s", v)
	}
	// A string that is not JSON is a dynamic string value. In v2 the Go
	// client hands a string dynamic out without its quotes; in v1 it gets
	// the JSON text.
	want := `plain text`
	if v1 {
		want = `"plain text"`
	}
	if v, _ := rows[4].DynamicByIndex(9); string(v) != want {
		t.Errorf("dynamic from non-JSON string = %s", v)
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Slice) && rv.IsNil()
}

func TestGoClientQueryAllTypes(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){"AllTypes": answer(allTypes)}}
	client := newGoClient(t, exec)
	ds, err := client.Query(context.Background(), "db1", kql.New("AllTypes"))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	tables := primaryTables(ds)
	if len(tables) != 1 {
		t.Fatalf("got %d primary tables, want 1", len(tables))
	}
	checkAllTypes(t, tables[0], false)

	req := exec.lastRequest()
	if req.Database != "db1" || req.Text != "AllTypes" {
		t.Errorf("executor got db=%q text=%q", req.Database, req.Text)
	}
	if !strings.HasPrefix(req.ClientRequestID, "KGC.execute;") {
		t.Errorf("client request id = %q, want the client's KGC.execute;<uuid>", req.ClientRequestID)
	}
	if req.Options["results_v2_fragment_primary_tables"] != true {
		t.Errorf("options = %v, want the client's fragmentation option", req.Options)
	}
}

func TestGoClientMgmtAllTypes(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){".show alltypes": answer(allTypes)}}
	client := newGoClient(t, exec)
	ds, err := client.Mgmt(context.Background(), "NetDefaultDB", kql.New(".show alltypes"))
	if err != nil {
		t.Fatalf("Mgmt: %v", err)
	}
	if len(ds.Tables()) != 1 {
		t.Fatalf("got %d tables, want 1", len(ds.Tables()))
	}
	checkAllTypes(t, ds.Tables()[0], true)
}

// threeTables is a result of three tables of different shapes.
func threeTables() func(context.Context) (*result.Set, error) {
	return answer(
		allTypes,
		func() result.Table { return &counting{n: 3} },
		func() result.Table {
			return &result.Static{TableName: "Third", Cols: []result.Column{{Name: "x", Type: types.String}}, Rows: [][]any{{"only"}}}
		},
	)
}

func TestGoClientThreeTables(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"Three": threeTables(), ".three": threeTables(),
	}}
	client := newGoClient(t, exec)

	ds, err := client.Query(context.Background(), "db", kql.New("Three"))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	tables := primaryTables(ds)
	if len(tables) != 3 {
		t.Fatalf("v2: got %d primary tables, want 3", len(tables))
	}
	checkAllTypes(t, tables[0], false)
	if n := len(tables[1].Rows()); n != 3 {
		t.Errorf("v2 table 2 has %d rows, want 3", n)
	}
	if s, _ := tables[2].Rows()[0].StringByIndex(0); s != "only" || tables[2].Name() != "Third" {
		t.Errorf("v2 table 3 = %s %q", tables[2].Name(), s)
	}

	mds, err := client.Mgmt(context.Background(), "db", kql.New(".three"))
	if err != nil {
		t.Fatalf("Mgmt: %v", err)
	}
	if got := len(mds.Tables()); got != 3 {
		t.Fatalf("v1: got %d result tables, want 3 (the table of contents must be recognised)", got)
	}
	checkAllTypes(t, mds.Tables()[0], true)
	if n := len(mds.Tables()[1].Rows()); n != 3 {
		t.Errorf("v1 table 2 has %d rows, want 3", n)
	}
}

func TestGoClientSyntaxError(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"T | whre x": func(context.Context) (*result.Set, error) {
			return nil, kerr.Syntax(1, 5, "expected a query operator, found 'whre'")
		},
	}}
	client := newGoClient(t, exec)
	_, err := client.Query(context.Background(), "db", kql.New("T | whre x"))
	if err == nil {
		t.Fatal("Query succeeded, want a syntax error")
	}
	var httpErr *kerrors.HttpError
	if !errors.As(err, &httpErr) {
		t.Fatalf("error %T %v is not an HTTP error", err, err)
	}
	if httpErr.StatusCode != 400 {
		t.Errorf("status = %d, want 400", httpErr.StatusCode)
	}
	if kerrors.Retry(err) {
		t.Errorf("a syntax error must be permanent (not retried)")
	}
	rest := httpErr.UnmarshalREST()
	e, _ := rest["error"].(map[string]any)
	if e["code"] != kerr.CodeSyntax || e["@type"] != "Kusto.Data.Exceptions.SyntaxException" {
		t.Errorf("error = %v", e)
	}
	if !strings.Contains(err.Error(), "expected a query operator, found 'whre'") {
		t.Errorf("the client's error does not carry the message: %v", err)
	}
	if e["@line"] != "1" || e["@pos"] != "5" || e["@errorCode"] != "SYN0002" {
		t.Errorf("position fields = line %v pos %v code %v", e["@line"], e["@pos"], e["@errorCode"])
	}
}

func TestGoClientExecutorFailures(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"Missing": func(context.Context) (*result.Set, error) {
			return nil, kerr.New(kerr.BadRequest, kerr.CodeTableMissing, "table 'Missing' was not found in database 'db'")
		},
		"Boom": func(context.Context) (*result.Set, error) { return nil, errors.New("unexpected engine state") },
	}}
	client := newGoClient(t, exec)
	_, err := client.Query(context.Background(), "db", kql.New("Missing"))
	var httpErr *kerrors.HttpError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != 400 || !strings.Contains(err.Error(), "BadRequest_TableNotExist") {
		t.Errorf("missing table: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Internal errors are retryable, so the client retries them; it still fails.
	_, err = client.Mgmt(ctx, "db", kql.New("Boom"))
	if !errors.As(err, &httpErr) || httpErr.StatusCode != 500 || !strings.Contains(err.Error(), "unexpected engine state") {
		t.Errorf("internal error: %v", err)
	}
}

func TestGoClientMidStreamFailure(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"Failing": answer(func() result.Table { return &counting{n: 10, failAt: 3} }),
	}}
	client := newGoClient(t, exec)
	_, err := client.Query(context.Background(), "db", kql.New("Failing"))
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Query error = %v, want the mid-stream failure", err)
	}

	// The iterative API sees the rows sent before the failure, then the error.
	ds, err := client.IterativeQuery(context.Background(), "db", kql.New("Failing"))
	if err != nil {
		t.Fatalf("IterativeQuery: %v", err)
	}
	defer ds.Close()
	rows, failed := 0, error(nil)
	for tr := range ds.Tables() {
		if tr.Err() != nil {
			failed = tr.Err()
			continue
		}
		if tr.Table().Kind() != "PrimaryResult" {
			continue
		}
		for rr := range tr.Table().Rows() {
			if rr.Err() != nil {
				failed = rr.Err()
				continue
			}
			rows++
		}
	}
	if rows != 3 || failed == nil || !strings.Contains(failed.Error(), "disk on fire") {
		t.Errorf("iterative: %d rows, error %v; want 3 rows then the failure", rows, failed)
	}
}

func TestGoClientTruncation(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"Ten": answer(func() result.Table { return &counting{n: 10} }),
	}}
	client := newGoClient(t, exec)
	ctx := context.Background()

	_, err := client.Query(ctx, "db", kql.New("Ten"), azkustodata.TruncationMaxRecords(4))
	if err == nil || !strings.Contains(err.Error(), "E_QUERY_RESULT_SET_TOO_LARGE") || !strings.Contains(err.Error(), "LimitsExceeded") {
		t.Fatalf("Query with truncationmaxrecords=4: %v, want LimitsExceeded", err)
	}
	ds, err := client.IterativeQuery(ctx, "db", kql.New("Ten"), azkustodata.TruncationMaxRecords(4))
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for tr := range ds.Tables() {
		if tr.Err() == nil && tr.Table().Kind() == "PrimaryResult" {
			for rr := range tr.Table().Rows() {
				if rr.Err() == nil {
					rows++
				}
			}
		}
	}
	ds.Close()
	if rows != 4 {
		t.Errorf("truncated result delivered %d rows, want the first 4", rows)
	}

	// Exactly at the limit is not truncation; notruncation lifts it.
	if _, err := client.Query(ctx, "db", kql.New("Ten"), azkustodata.TruncationMaxRecords(10)); err != nil {
		t.Errorf("10 rows with limit 10: %v", err)
	}
	ds2, err := client.Query(ctx, "db", kql.New("Ten"), azkustodata.TruncationMaxRecords(4), azkustodata.NoTruncation())
	if err != nil {
		t.Fatalf("notruncation: %v", err)
	}
	if n := len(primaryTables(ds2)[0].Rows()); n != 10 {
		t.Errorf("notruncation delivered %d rows, want 10", n)
	}
}

func TestGoClientServerTimeoutAndParameters(t *testing.T) {
	exec := &fakeExecutor{answers: map[string]func(context.Context) (*result.Set, error){
		"Slow": func(ctx context.Context) (*result.Set, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
		"Param": answer(func() result.Table { return &counting{n: 1} }),
	}}
	client := newGoClient(t, exec)
	start := time.Now()
	_, err := client.Query(context.Background(), "db", kql.New("Slow"), azkustodata.ServerTimeout(300*time.Millisecond))
	var httpErr *kerrors.HttpError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != 504 || !strings.Contains(err.Error(), kerr.CodeTimeout) {
		t.Fatalf("slow query: %v, want a 504 %s", err, kerr.CodeTimeout)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("servertimeout was not applied (took %v)", time.Since(start))
	}

	params := kql.NewParameters().AddString("who", "o'brien").AddLong("n", 42)
	if _, err := client.Query(context.Background(), "db", kql.New("Param"), azkustodata.QueryParameters(params)); err != nil {
		t.Fatalf("parameterised query: %v", err)
	}
	req := exec.lastRequest()
	if req.Parameters["n"] != "long(42)" || !strings.Contains(req.Parameters["who"], "o") {
		t.Errorf("parameters = %v", req.Parameters)
	}
	if !strings.Contains(req.Text, "declare query_parameters") {
		t.Errorf("text = %q, want the client's declaration", req.Text)
	}
}
