package mgmt

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"odx/internal/kql/types"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenScript runs in order against a fresh store; every result is
// printed into testdata/commands.golden with volatile values masked.
var goldenScript = []string{
	".create database DB",
	".show databases",
	".create table Events (Timestamp:datetime, Name:string, Value:real, Props:dynamic) with (folder='ops', docstring='raw events')",
	".create-merge table Events (Level:int)",
	".show tables",
	".show table Events",
	".show table Events cslschema",
	".show table Events schema as json",
	".show database DB schema",
	".show database DB schema as json",
	".ingest inline into table Events with (tags='[\"drop-by:x\"]') <| 2024-01-01T00:00:00Z,start,1.5,\"{\"\"a\"\":1}\",3",
	".show table Events extents",
	".set-or-append Copy <| range n from 1 to 3 step 1",
	".show tables details",
	".alter table Events policy retention softdelete = 30d",
	".show table Events policy retention",
	".alter database DB policy ingestionbatching '{\"MaximumBatchingTimeSpan\": \"00:00:30\"}'",
	".show database DB policy ingestionbatching",
	".alter table Events policy streamingingestion enable",
	".show table Events policy streamingingestion",
	".alter-merge table Events policy merge '{\"MaxExtentsToMerge\": 10}'",
	".show table Events policy merge",
	".add database DB viewers ('aadapp=11111111-2222-3333-4444-555555555555;tenant') 'dashboards'",
	".show database DB principals",
	".create function with (folder='lib', docstring='events by name') ByName(n:string) { Events | where Name == n }",
	".show functions",
	".create table Events ingestion json mapping \"EventsMapping\" '[{\"column\":\"Name\",\"Properties\":{\"Path\":\"$.name\"}}]'",
	".show table Events ingestion mappings",
	".drop extents <| .show table Events extents where tags has 'drop-by:x'",
	".rename table Copy to Numbers",
	".drop table Numbers",
	".show version",
	".drop database DB",
}

var guidText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func TestGoldenCommandOutputs(t *testing.T) {
	s, _ := newService(t, "")
	var b strings.Builder
	for _, cmd := range goldenScript {
		out := run1(t, s, admin, "DB", cmd)
		fmt.Fprintf(&b, "> %s\n%s\n", cmd, out.names())
		for _, row := range out.rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = maskCell(out.cols[i].Name, out.cols[i].Type, v)
			}
			b.WriteString("  " + strings.Join(cells, " | ") + "\n")
		}
		b.WriteString("\n")
	}
	path := filepath.Join("testdata", "commands.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("command outputs differ from %s (run with -update after checking):\n%s", path, diff(string(want), got))
	}
}

// maskCell prints a value, hiding what changes from run to run.
func maskCell(name string, t types.Type, v any) string {
	switch {
	case v == nil:
		return "null"
	case t == types.DateTime && name != "LastUpdatedOn" || name == "LastUpdatedOn":
		return "<datetime>"
	case t == types.Guid:
		return "<guid>"
	case name == "Duration" || name == "BuildVersion" || name == "ProductVersion" || name == "ItemLoaded":
		return "<" + strings.ToLower(name) + ">"
	}
	return guidText.ReplaceAllString(fmt.Sprint(v), "<guid>")
}

func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d\nwant: %s\n got: %s", i+1, w, g)
		}
	}
	return ""
}
