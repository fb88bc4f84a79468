package format

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The columnar decoders give their files' field order, which their map
// records cannot (`odx ingest --create-table` lays out new tables by it).
func TestFieldNamesFollowTheFile(t *testing.T) {
	open := func(f Format, data []byte) []string {
		t.Helper()
		dec, err := NewDecoder(f, bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer Close(dec)
		fn, ok := dec.(FieldNamer)
		if !ok {
			t.Fatalf("%s decoder does not name its fields", f)
		}
		return fn.FieldNames()
	}
	parquet, err := os.ReadFile(filepath.Join("testdata", "duckdb_types.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if got := open(Parquet, parquet); len(got) < 3 || got[0] != "id" || got[1] != "b" || got[2] != "i8" {
		t.Errorf("parquet fields %v, want DuckDB's column order id, b, i8, ...", got)
	}
	avroWant := []string{"id", "name", "score", "ok", "ts", "payload", "price", "tags", "props", "inner"}
	if got := open(ApacheAvro, writeAvro(t, "null", 1)); !reflect.DeepEqual(got, avroWant) {
		t.Errorf("avro fields %v, want the schema's order %v", got, avroWant)
	}
	orc, err := os.ReadFile(filepath.Join("testdata", "orc", "TestOrcFile.test1.orc"))
	if err != nil {
		t.Fatal(err)
	}
	orcWant := []string{"boolean1", "byte1", "short1", "int1", "long1", "float1", "double1", "bytes1", "string1", "middle", "list", "map"}
	if got := open(ORC, orc); !reflect.DeepEqual(got, orcWant) {
		t.Errorf("orc fields %v, want %v", got, orcWant)
	}
}
