package parser

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// conformanceQueries loads the shared conformance queries, a broad sample of real KQL.
func conformanceQueries(t testing.TB) []string {
	// shared/ lies beside the repository, in the work tree and in CI alike.
	f, err := os.Open("../../../../shared/kql-conformance/public-cases.jsonl")
	if err != nil {
		t.Fatalf("conformance cases: %v", err)
	}
	defer f.Close()
	var qs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c struct{ Query string }
		if json.Unmarshal(sc.Bytes(), &c) == nil {
			qs = append(qs, c.Query)
		}
	}
	return qs
}

func TestRoundTrip(t *testing.T) {
	qs := append(conformanceQueries(t), roundTripSamples...)
	failed := 0
	for _, q := range qs {
		s, errs := ParseScript(q)
		if len(errs) > 0 {
			continue // unsupported syntax is reported by the conformance test
		}
		p1 := s.String()
		s2, errs := ParseScript(p1)
		if len(errs) > 0 {
			t.Errorf("printed query does not parse: %v\n%s", errs, p1)
			failed++
			continue
		}
		if p2 := s2.String(); p1 != p2 {
			t.Errorf("round trip differs:\n%s\n---\n%s", p1, p2)
		}
	}
}

var roundTripSamples = []string{
	"T | where a > 1 and b has 'x' | project a, c = b * 2",
	"let f = (x:long, y:string = 'a') { x + 1 }; print f(1)",
	"T | summarize count(), s = sum(x) by bin(ts, 1h) | sort by s desc nulls last",
	"T | join kind=leftouter (U | where x !in ('a', 'b')) on $left.a == $right.b",
	"print x = datetime(2020-01-01 10:00), y = 1d + 2h, z = dynamic({\"a\": [1, 2]})",
	"T | parse msg with * 'id=' id:long ' ' rest",
	"T | mv-expand d to typeof(long) limit 10",
	"T | search kind=case_sensitive \"a\" and not(\"b\") | take 1",
	"T | parse-kv s as (a:string, ['b c']:long) with (pair_delimiter=\";\", kv_delimiter=\":\")",
	"T | mv-apply x = arr to typeof(long), y = b on (top 1 by x | extend z = x * 2)",
	"T | top-nested 3 of a by s = sum(v) desc, top-nested of b with others = \"other\" by c = count() asc",
	"T | sort by t asc | scan declare (a:long = 0, b:real) with (step s: x > 1 => a = s.a + x, b = 1.5; )",
	"T | make-series n = count() default = 0, avg(v) on ts from datetime(2020-01-01) to now() step 1h by k",
}

func TestSyntaxErrorPosition(t *testing.T) {
	cases := []struct {
		q         string
		line, col int
		contains  string
	}{
		{"T | where", 1, 10, "expected an expression"},
		{"T\n| project a,\n| take 1", 3, 1, "expected an expression"},
		{"T | frobnicate x", 1, 5, "unknown or unsupported query operator 'frobnicate'"},
		{"print (1", 1, 9, "expected ')'"},
	}
	for _, c := range cases {
		_, errs := ParseScript(c.q)
		if len(errs) == 0 {
			t.Errorf("%q: no error", c.q)
			continue
		}
		e := errs[0]
		if e.Line != c.line || e.Column != c.col || !strings.Contains(e.Msg, c.contains) {
			t.Errorf("%q: got %d:%d %s, want %d:%d containing %q", c.q, e.Line, e.Column, e.Msg, c.line, c.col, c.contains)
		}
	}
}

func TestNestingLimit(t *testing.T) {
	q := "print " + strings.Repeat("(", 10000) + "1" + strings.Repeat(")", 10000)
	_, errs := ParseScript(q)
	if len(errs) == 0 || !strings.Contains(errs[0].Msg, "nesting") {
		t.Fatalf("want nesting error, got %v", errs)
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range roundTripSamples {
		f.Add(q)
	}
	f.Add("T | where x in~ ('a') | summarize (a, b) = arg_max(x, *) by k")
	f.Add("datatable(a:long)[1, 2] | extend d = dynamic([1,{\"b\":2}])[1].b")
	f.Fuzz(func(t *testing.T, q string) {
		s, errs := ParseScript(q)
		if len(errs) == 0 && s != nil {
			_ = s.String()
		}
	})
}

func TestParseAllConformance(t *testing.T) {
	n, bad := 0, 0
	for _, q := range conformanceQueries(t) {
		n++
		if _, errs := ParseScript(q); len(errs) > 0 {
			bad++
			t.Logf("%v\n%s", errs, q)
		}
	}
	t.Logf("%d of %d conformance queries parse", n-bad, n)
}
