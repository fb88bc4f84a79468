package kql

import (
	"errors"
	"strings"
	"testing"
	"time"

	"odx/internal/kerr"
	"odx/internal/kql/types"
)

func compileErr(t *testing.T, q string) *kerr.Error {
	t.Helper()
	_, err := Compile(q, testOptions())
	if err == nil {
		t.Fatalf("%q: expected an error", q)
	}
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		t.Fatalf("%q: error is %T, want *kerr.Error", q, err)
	}
	return ke
}

func TestSyntaxErrorsCarryPosition(t *testing.T) {
	e := compileErr(t, "Events\n| where Level ==\n| take 1")
	if e.Code != kerr.CodeSyntax || e.Line != 3 || e.Column != 1 {
		t.Fatalf("got %s %d:%d %q", e.Code, e.Line, e.Column, e.Message)
	}
	if !strings.Contains(e.Message, "expected an expression, found '|'") {
		t.Fatalf("message %q does not say what was expected", e.Message)
	}
}

func TestSemanticErrors(t *testing.T) {
	cases := []struct{ q, sem, contains string }{
		{"Nope | take 1", "SEM0100", "Failed to resolve table or column expression named 'Nope'"},
		{"Events | where Nope > 1", "SEM0100", "Failed to resolve scalar expression named 'Nope'"},
		{"Events | project x = Level + 1", "SEM0002", "cannot be applied to operands of type string and long"},
		{"Events | where Level > 1", "SEM0002", "Cannot compare values of types string and long"},
		{"Events | extend n = frob(Level)", "SEM0260", "Unknown function: 'frob'"},
		{"Events | extend c = count()", "SEM0005", "only allowed in summarize"},
		{"Events | summarize Level", "SEM0112", "must contain an aggregation function"},
		{"Events | where Value", "SEM0017", "must be bool"},
	}
	for _, c := range cases {
		e := compileErr(t, c.q)
		if e.Semantic != c.sem || !strings.Contains(e.Message, c.contains) || e.Line == 0 {
			t.Errorf("%q: got %s %q at %d:%d, want %s containing %q", c.q, e.Semantic, e.Message, e.Line, e.Column, c.sem, c.contains)
		}
	}
}

func TestResultColumnsHaveKustoTypes(t *testing.T) {
	q, err := Compile(`Events | summarize n = count(), s = sum(toint(Value)), a = avg(Value), l = make_list(Level), last = max(Timestamp) by Device, h = bin(Timestamp, 1h)`, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := "Device:string h:datetime n:long s:long a:real l:dynamic last:datetime"
	var got []string
	for _, c := range q.Columns {
		got = append(got, c.Name+":"+c.Type.String())
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("columns %v, want %s", got, want)
	}
}

func TestValuesAreArguments(t *testing.T) {
	q, err := Compile(`Events | where Level == "it's'; DROP TABLE x; --" | take 3`, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(q.SQL, "DROP TABLE") || strings.Contains(q.SQL, "it's") {
		t.Fatalf("a query value was spliced into the SQL: %s", q.SQL)
	}
	found := false
	for _, a := range q.Args {
		if a == "it's'; DROP TABLE x; --" {
			found = true
		}
	}
	if !found {
		t.Fatalf("value not passed as an argument: %#v", q.Args)
	}
}

func TestIdentifiersAreQuoted(t *testing.T) {
	q, err := Compile(`datatable(['a"b']:long)[1] | project ['a"b']`, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q.SQL, `"a""b"`) {
		t.Fatalf("identifier not escaped: %s", q.SQL)
	}
}

func TestRenderProperties(t *testing.T) {
	q, err := Compile(`Events | summarize count() by Device | render columnchart with (title="Per device", xcolumn=Device)`, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	v, ok := q.Properties["Visualization"].(map[string]any)
	if !ok || v["Visualization"] != "columnchart" || v["title"] != "Per device" || v["xcolumn"] != "Device" {
		t.Fatalf("visualization properties: %#v", q.Properties)
	}
}

func TestQueryParameters(t *testing.T) {
	opts := testOptions()
	opts.Parameters = map[string]string{"lvl": "Error", "since": "datetime(2020-01-01)", "n": "7"}
	q, err := Compile(`declare query_parameters(lvl:string, since:datetime, n:long = 3); Events | where Level == lvl and Timestamp > since | take n`, opts)
	if err != nil {
		t.Fatal(err)
	}
	since, _ := types.TicksFromTime(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) // datetimes bind as ticks
	want := map[any]bool{"Error": true, since: true, int64(7): true}
	for _, a := range q.Args {
		delete(want, a)
	}
	if len(want) != 0 {
		t.Fatalf("parameters missing from args %#v: %v", q.Args, want)
	}
	if _, err := Compile(`declare query_parameters(x:long); print x`, testOptions()); err == nil {
		t.Fatal("a declared parameter without value or default must be an error")
	}
}

func TestCatalogResolution(t *testing.T) {
	for _, q := range []string{
		`database("Other").Logs | take 1`,
		`table("Events") | count`,
		`RecentErrors(1h) | count`,
		`let T = Events | where Value > 1; T | join (Devices) on Device | count`,
		`Events | where Value > toscalar(Events | summarize avg(Value))`,
	} {
		if _, err := Compile(q, testOptions()); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
}

func TestIngestionTimeOnlyWhenUsed(t *testing.T) {
	plain, err := Compile(`Events | take 1`, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.SQL, "__odx_extent") || strings.Contains(plain.SQL, "extents") {
		t.Fatalf("a scan without ingestion_time() reads extent data: %s", plain.SQL)
	}
	q, err := Compile(`Events | extend it = ingestion_time() | project it`, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q.SQL, `"odx_meta"."extents"`) || q.Columns[0].Type != types.DateTime {
		t.Fatalf("ingestion_time() not served from the extents table: %s", q.SQL)
	}
}

func TestFormatAndExplain(t *testing.T) {
	f, err := Format("Events|where Level=='x'|project   Device")
	if err != nil {
		t.Fatal(err)
	}
	if f != "Events\n| where Level == \"x\"\n| project Device" {
		t.Fatalf("format: %q", f)
	}
	x, err := Explain("Events | count", testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"-- query", "-- plan", "Aggregate", "-- sql", "SELECT", "-- columns", "Count:long"} {
		if !strings.Contains(x, part) {
			t.Fatalf("explain lacks %q:\n%s", part, x)
		}
	}
}

func TestCompileNeverPanics(t *testing.T) {
	for _, q := range []string{"", ";", "print", "datatable()[]", "Events | summarize by", "range x from 1 to 2 step 0",
		"print dynamic({", "Events | join", "Events | mv-expand", "let f = (x:long) { f(x) }; print f(1)"} {
		Compile(q, testOptions()) // must return, error or not
	}
}
