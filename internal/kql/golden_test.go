package kql

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"odx/internal/kql/compile"
	"odx/internal/kql/schema/schematest"
	"odx/internal/kql/sem"
	"odx/internal/kql/token"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the golden files under testdata/golden instead of comparing")

// testCatalog is the catalog golden and facade tests compile against.
func testCatalog() *schematest.Catalog {
	c := schematest.New()
	db := c.AddDatabase("Samples")
	db.AddTable("Events", "Timestamp:datetime, Level:string, Device:string, Value:real, Message:string, Props:dynamic")
	db.AddTable("Devices", "Device:string, Region:string, Owner:string")
	db.AddFunction("RecentErrors", "(window:timespan)", `{ Events | where Level == "Error" and Timestamp > ago(window) }`)
	other := c.AddDatabase("Other")
	other.AddTable("Logs", "Line:string")
	return c
}

func testOptions() Options {
	return Options{Database: "Samples", Catalog: testCatalog(), Now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// TestGolden checks each compiler stage's output for the queries under
// testdata/queries: the canonical print (parse), the typed plan (check and
// plan) and the SQL with its arguments (sql). Run with -rewrite to update.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/queries/*.kql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden queries: %v", err)
	}
	opts := testOptions()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".kql")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			text := string(src)
			script, err := Parse(text)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			golden(t, "parse", name, script.String()+"\n")
			res, err := sem.Analyze(script, token.NewSource(text), sem.Options{Database: opts.Database, Catalog: opts.Catalog, Now: opts.Now})
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			golden(t, "plan", name, sem.Explain(res.Plan))
			out, err := compile.Compile(res.Plan)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var b strings.Builder
			b.WriteString(out.SQL + "\n")
			for i, a := range out.Args {
				fmt.Fprintf(&b, "$%d = %#v\n", i+1, a)
			}
			golden(t, "sql", name, b.String())
		})
	}
}

func golden(t *testing.T, stage, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", stage, name+".txt")
	if *rewrite {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing golden file %s (run go test -rewrite): %v", path, err)
	}
	if string(want) != got {
		t.Errorf("%s output for %s differs from %s:\n--- got\n%s\n--- want\n%s", stage, name, path, got, want)
	}
}
