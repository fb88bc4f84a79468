package eventgrid_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	scorc "github.com/scritchley/orc"
)

// An .orc blob announced by Event Grid is ingested as ORC. The connection
// names no data format (nor does the blob's metadata), so the blob name decides.
func TestORCBlobByExtension(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.table("db", "T", colsT)
	const account = "localdev"
	s := e.spec("local", "local-events", account, nil)
	s.Format = ""
	e.apply(s)
	dir := filepath.Join(e.root, account, "landing")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cat := scorc.SetCategory
	schema, err := scorc.NewTypeDescription(cat(scorc.CategoryStruct),
		scorc.AddField("Device", cat(scorc.CategoryString)), scorc.AddField("Value", cat(scorc.CategoryLong)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := scorc.NewWriter(&buf, scorc.SetSchema(schema), scorc.SetCompression(scorc.CompressionZlib{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]any{{"dev-o", int64(7)}, {"dev-p", int64(8)}} {
		if err := w.Write(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "t.orc"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitRows("db", "T", []string{"dev-o|7", "dev-p|8"})
}
