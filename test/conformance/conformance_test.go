// Package conformance runs the shared KQL conformance cases through the KQL
// compiler and the real DuckDB engine and reports how many pass.
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"odx/internal/engine"
	"odx/internal/kql"
	"odx/internal/kql/schema"
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
)

// casesPath is the shared conformance file, relative to a folder that holds
// both the repository and shared/ (as the work tree and CI lay them out).
const casesPath = "shared/kql-conformance/public-cases.jsonl"

// findCases looks for casesPath in ODX_CONFORMANCE_CASES, then beside each
// parent folder of the test's working directory.
func findCases() (string, error) {
	if p := os.Getenv("ODX_CONFORMANCE_CASES"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, casesPath)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found beside any parent of the working directory; set ODX_CONFORMANCE_CASES", casesPath)
		}
		dir = parent
	}
}

// Case is one conformance case (see the README next to the cases file).
type Case struct {
	ID       string `json:"id"`
	Query    string `json:"query"`
	Expected struct {
		Columns []struct{ Name, Type string } `json:"columns"`
		Rows    [][]any                       `json:"rows"`
	} `json:"expected"`
	Ordered bool   `json:"ordered"`
	Notes   string `json:"notes"`
}

func loadCases(t *testing.T) []Case {
	casesFile, err := findCases()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(casesFile)
	if err != nil {
		t.Skipf("conformance cases not available: %v", err)
	}
	var cases []Case
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("bad case line: %v", err)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestConformance reports `conformance: N passed, M failed`. Failing cases
// do not fail the test: the count is the report. It fails only when the
// harness itself cannot run.
func TestConformance(t *testing.T) {
	cases := loadCases(t)
	db, err := engine.Open("", engine.Options{Threads: 1})
	if err != nil {
		t.Fatalf("open engine: %v", err)
	}
	defer db.Close()
	passed := 0
	var failures []string
	only := os.Getenv("CONFORMANCE_CASE")
	for _, c := range cases {
		if only != "" && !strings.Contains(c.ID, only) {
			continue
		}
		if reason := runCase(db, c); reason != "" {
			failures = append(failures, fmt.Sprintf("%s: %s", c.ID, reason))
		} else {
			passed++
		}
	}
	fmt.Printf("conformance: %d passed, %d failed\n", passed, len(failures))
	if testing.Verbose() {
		for _, f := range failures {
			fmt.Println("FAIL", f)
		}
	}
}

func runCase(db *engine.DB, c Case) (reason string) {
	defer func() {
		if r := recover(); r != nil {
			reason = fmt.Sprintf("panic: %v", r)
		}
	}()
	q, err := kql.Compile(c.Query, kql.Options{Now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return "compile: " + oneLine(err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rows, err := db.Query(ctx, q.SQL, q.Args...)
	if err != nil {
		return "execute: " + oneLine(err.Error())
	}
	defer rows.Close()
	if len(q.Columns) != len(c.Expected.Columns) {
		return fmt.Sprintf("columns: got %s, want %s", colsString(q.Columns), expColsString(c))
	}
	for i, ec := range c.Expected.Columns {
		if !sameName(q.Columns[i].Name, ec.Name) || q.Columns[i].Type.String() != ec.Type {
			return fmt.Sprintf("columns: got %s, want %s", colsString(q.Columns), expColsString(c))
		}
	}
	var got [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return "scan: " + err.Error()
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = decode(v, q.Columns[i].Type)
		}
		got = append(got, row)
	}
	if err := rows.Err(); err != nil {
		return "execute: " + oneLine(err.Error())
	}
	setArrays := strings.Contains(strings.ToLower(c.Notes), "not guaranteed")
	if len(got) != len(c.Expected.Rows) {
		return fmt.Sprintf("rows: got %d rows %s, want %d rows %s", len(got), short(got), len(c.Expected.Rows), short(c.Expected.Rows))
	}
	colTypes := make([]types.Type, len(q.Columns))
	for i, col := range q.Columns {
		colTypes[i] = col.Type
	}
	eqRow := func(g, e []any) bool {
		if len(g) != len(e) {
			return false
		}
		for i := range g {
			if !equalValue(g[i], e[i], colTypes[i], setArrays) {
				return false
			}
		}
		return true
	}
	if c.Ordered {
		for i := range got {
			if !eqRow(got[i], c.Expected.Rows[i]) {
				return fmt.Sprintf("row %d: got %s, want %s", i, short(got[i]), short(c.Expected.Rows[i]))
			}
		}
		return ""
	}
	used := make([]bool, len(got))
	for _, e := range c.Expected.Rows {
		found := false
		for j, g := range got {
			if !used[j] && eqRow(g, e) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return fmt.Sprintf("expected row %s not found in %s", short(e), short(got))
		}
	}
	return ""
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

func short(v any) string {
	b, _ := json.Marshal(v)
	return oneLine(string(b))
}

func colsString(cols []schema.Column) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, c.Name+":"+c.Type.String())
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func expColsString(c Case) string {
	var parts []string
	for _, col := range c.Expected.Columns {
		parts = append(parts, col.Name+":"+col.Type)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// decode turns an engine value of a result column into a comparable Go value:
// int64 for int/long/timespan, float64, bool, string, time.Time (datetime), *big.Rat for
// decimal, decoded JSON (with json.Number) for dynamic.
func decode(v any, t types.Type) any {
	if v == nil {
		return nil
	}
	switch t {
	case types.Int, types.Long, types.TimeSpan:
		switch x := v.(type) {
		case int32:
			return int64(x)
		case int64:
			return x
		case int16:
			return int64(x)
		case int8:
			return int64(x)
		case *big.Int:
			return x.Int64()
		}
	case types.DateTime:
		// datetimes come out of the engine as ticks since 0001-01-01
		if x, ok := v.(int64); ok {
			if tm, ok := types.TimeFromTicks(x); ok {
				return tm
			}
			return nil
		}
	case types.Decimal:
		if d, ok := v.(engine.Decimal); ok {
			r, _ := new(big.Rat).SetString(d.String())
			return r
		}
	case types.Guid:
		switch x := v.(type) {
		case engine.UUID:
			return x.String()
		case string:
			return strings.ToLower(x)
		}
	case types.Dynamic:
		s, ok := v.(string)
		if !ok {
			return v
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var out any
		if err := dec.Decode(&out); err != nil {
			return s
		}
		return out
	}
	return v
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

func closeEnough(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	diff := math.Abs(a - b)
	return diff <= 1e-12 || diff <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func equalValue(got, want any, t types.Type, setArrays bool) bool {
	if t == types.Dynamic {
		return equalJSON(got, want, setArrays)
	}
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	switch t {
	case types.Bool:
		return got == want
	case types.Int, types.Long:
		w, ok := want.(json.Number)
		if !ok {
			return false
		}
		n, err := w.Int64()
		return err == nil && got == n
	case types.Real:
		g, ok1 := num(got)
		w, ok2 := num(want)
		return ok1 && ok2 && closeEnough(g, w)
	case types.Decimal:
		g, ok := got.(*big.Rat)
		ws := fmt.Sprint(want)
		w, ok2 := new(big.Rat).SetString(ws)
		return ok && ok2 && g.Cmp(w) == 0
	case types.String, types.Guid:
		return fmt.Sprint(got) == fmt.Sprint(want)
	case types.DateTime:
		g, ok := got.(time.Time)
		ws, ok2 := want.(string)
		if !ok || !ok2 {
			return false
		}
		w, err := sem.ParseDateTime(ws)
		return err == nil && g.Equal(w)
	case types.TimeSpan:
		ws, ok := want.(string)
		if !ok {
			return false
		}
		w, err := sem.ParseTimeSpan(ws)
		return err == nil && got == w
	}
	return false
}

func equalJSON(got, want any, setArrays bool) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !equalJSON(gv, wv, setArrays) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		if setArrays {
			used := make([]bool, len(g))
			for _, wv := range w {
				found := false
				for j, gv := range g {
					if !used[j] && equalJSON(gv, wv, setArrays) {
						used[j], found = true, true
						break
					}
				}
				if !found {
					return false
				}
			}
			return true
		}
		for i := range w {
			if !equalJSON(g[i], w[i], setArrays) {
				return false
			}
		}
		return true
	case json.Number:
		gf, ok := num(got)
		wf, _ := w.Float64()
		return ok && closeEnough(gf, wf)
	case string:
		if gs, ok := got.(string); ok {
			if gs == w {
				return true
			}
			// datetimes and timespans inside dynamic compare by value
			if gt, err := sem.ParseDateTime(gs); err == nil {
				if wt, err := sem.ParseDateTime(w); err == nil {
					return gt.Equal(wt)
				}
			}
			return false
		}
		gf, ok := num(got)
		wf, ok2 := num(w)
		return ok && ok2 && closeEnough(gf, wf)
	case bool:
		return got == w
	}
	return false
}

// guidPattern matches a GUID in a column name.
var guidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// sameName compares column names, except for the GUIDs Kusto generates in
// the names of unnamed expressions (d[k] → d___obj_<guid>): those are new
// on every run, in ADX too, so any GUID stands for any other.
func sameName(got, want string) bool {
	return guidPattern.ReplaceAllString(got, "<guid>") == guidPattern.ReplaceAllString(want, "<guid>")
}
