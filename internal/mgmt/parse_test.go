package mgmt

import (
	"testing"

	"odx/internal/kerr"
)

func TestParseErrorsPointAtTheProblem(t *testing.T) {
	cases := []struct {
		text      string
		line, col int
		contains  string
	}{
		{".create table T (a:strin)", 1, 20, "unknown type 'strin'"},
		{".create table T (a string)", 1, 20, "expected ':'"},
		{".show tablez", 1, 7, "expected what to show"},
		{".create table T (a:long,\n  b long)", 2, 5, "expected ':'"},
		{".drop table T ifexists extra", 1, 24, "unexpected 'extra'"},
		{".alter table T policy retention", 1, 32, "expected the policy"},
		{".alter table T policy colour '{}'", 1, 23, "expected a policy kind"},
		{".create table T (a:long) with (folder='x'", 1, 42, "expected ',' or ')'"},
		{".set-or-append T", 1, 17, "expected '<|'"},
		{"show tables", 1, 1, "expected a management command"},
		{".frobnicate", 1, 1, "unknown management command"},
		{".show tables; .show databases", 1, 15, "one management command"},
		{".add database D admins ('aadapp=x;y'", 1, 37, "expected ',' or ')'"},
		{".create table T (a:long) with (docstring='unterminated)", 1, 42, "unterminated string"},
	}
	for _, c := range cases {
		_, err := parse(c.text)
		ke := kerr.As(err)
		if err == nil || ke.Code != kerr.CodeSyntax {
			t.Errorf("%q: want a syntax error, got %v", c.text, err)
			continue
		}
		if ke.Line != c.line || ke.Column != c.col || !contains(ke.Message, c.contains) {
			t.Errorf("%q: got %q at %d:%d, want %q at %d:%d", c.text, ke.Message, ke.Line, ke.Column, c.contains, c.line, c.col)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestParseShapes(t *testing.T) {
	c, err := parse(".create-merge tables A (x:long), ['B c'] (y:dynamic) with (folder = @'a\\b')")
	if err != nil {
		t.Fatal(err)
	}
	if c.kind != ".create-merge tables" || len(c.tableSpecs) != 2 || c.tableSpecs[1].name != "B c" || c.props["folder"] != `a\b` {
		t.Fatalf("%+v", c)
	}
	c, err = parse(".set-or-append async Target with (tags='[\"a\"]', creationTime=datetime(2020-01-01)) <| T\n| where x > 1")
	if err != nil {
		t.Fatal(err)
	}
	if c.table != "Target" || c.query != " T\n| where x > 1" || c.props["creationtime"] != "datetime(2020-01-01)" {
		t.Fatalf("%+v", c)
	}
	c, err = parse(".drop extents (6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9, '0e1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9') from T")
	if err != nil || len(c.extentIDs) != 2 || c.extentIDs[1] != "0e1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9" || c.table != "T" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parse(".drop extent 6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
	if err != nil || c.extentIDs[0] != "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parse(".drop extents older 10 days from all tables")
	if err != nil || !c.allTables || c.olderTicks != 10*864_000_000_000 {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parse(".alter column ['T'].['my col'] type=dynamic")
	if err != nil || c.table != "T" || c.column != "my col" || c.colType.String() != "dynamic" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parse(".create-or-alter function with (docstring = 'x') F(t:(a:long), s:string = 'a)') {\n  t | where a > 0 // }\n}")
	if err != nil || c.fn.Parameters != "(t:(a:long), s:string = 'a)')" || c.fn.Body != "{\n  t | where a > 0 // }\n}" {
		t.Fatalf("%+v %v", c.fn, err)
	}
	c, err = parse(".show database my-db schema as json")
	if err != nil || c.db != "my-db" || !c.asJSON {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parse(`.create database Logs persist (@"https://acct.blob.core.windows.net/md", @"https://acct.blob.core.windows.net/data") ifnotexists`)
	if err != nil || c.kind != ".create database" || c.db != "Logs" || c.volatile || !c.ifNotExists {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parse(".show database schema")
	if err != nil || c.db != "" || c.kind != ".show database schema" {
		t.Fatalf("%+v %v", c, err)
	}
}

// FuzzParse checks that no command text makes the parser panic or loop.
func FuzzParse(f *testing.F) {
	for _, s := range goldenScript {
		f.Add(s)
	}
	f.Add(".alter table T policy caching hot = 1d, hot_window = datetime(2021-01-01) .. datetime(2021-02-01)")
	f.Add(".drop extents (a, 'b') from T")
	f.Add(".create function F(x:(a:long)) { x | take 1 }")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parse(text)
		if err == nil && c == nil {
			t.Fatal("nil command without error")
		}
	})
}
