package bulkingest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	scorc "github.com/scritchley/orc"

	"odx/internal/storage"
)

// `odx ingest x.orc`: the format comes from the extension, the table is
// created from the file's own schema, and a damaged file is reported by name.
func TestBulkIngestORCByExtension(t *testing.T) {
	dir := t.TempDir()
	k, st := start(t, dir)
	cat := scorc.SetCategory
	schema, err := scorc.NewTypeDescription(cat(scorc.CategoryStruct),
		scorc.AddField("When", cat(scorc.CategoryTimestamp)), scorc.AddField("Device", cat(scorc.CategoryString)),
		scorc.AddField("Value", cat(scorc.CategoryDouble)), scorc.AddField("N", cat(scorc.CategoryLong)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := scorc.NewWriter(&buf, scorc.SetSchema(schema), scorc.SetCompression(scorc.CompressionZlib{}))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3000; i++ {
		if err := w.Write(base.Add(time.Duration(i)*time.Second), "dev", float64(i)/2, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "t.orc"), buf.Bytes(), 0o644)

	rep, err := Run(context.Background(), k, Options{Database: "DB", Table: "O", CreateTable: true, Inputs: []string{filepath.Join(dir, "t.orc")}})
	if err != nil || rep.Failed() || rep.Rows != 3000 {
		t.Fatalf("report %+v %v", rep, err)
	}
	d, _ := st.Snapshot().DB("DB")
	tb, _ := d.Tbl("O")
	if got := storage.CSLSchema(tb.Columns()); got != "When:datetime,Device:string,Value:real,N:long" { // the file's field order
		t.Fatalf("inferred schema %s", got)
	}
	if got := tableRows(t, st, "O"); got != 3000 {
		t.Fatalf("table has %d rows", got)
	}

	os.WriteFile(filepath.Join(dir, "bad.orc"), buf.Bytes()[:buf.Len()/2], 0o644)
	rep, _ = Run(context.Background(), k, Options{Database: "DB", Table: "O", Inputs: []string{filepath.Join(dir, "bad.orc")}})
	if !rep.Failed() || !strings.Contains(strings.Join(rep.Failures, "\n"), "bad.orc") {
		t.Fatalf("a truncated ORC file must fail by name: %+v", rep)
	}
}
