package format

import (
	"os"
	"reflect"
	"testing"
	"time"
)

// Files written by DuckDB's COPY ... TO (see testdata/duckdb_gen.go.txt).

func readFile(t *testing.T, f Format, name string) ([]Record, []RecordError) {
	t.Helper()
	fh, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, errs, err := ReadAll(f, fh, Options{Source: name})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return recs, errs
}

func TestDuckDBParquetTypes(t *testing.T) {
	recs, errs := readFile(t, Parquet, "duckdb_types.parquet")
	if len(recs) != 3 || len(errs) != 0 {
		t.Fatalf("%d records, errors %v", len(recs), errs)
	}
	r := recs[0].Value.(map[string]any)
	want := map[string]any{
		"id": int32(1), "b": true, "i8": int32(7), "i16": int32(300), "i32": int32(2147483647), "i64": int64(9223372036854775807),
		"u64": uint64(18446744073709551615), "f32": 0.1, "f64": 2.5, "dec18": Decimal("123.456"),
		"dec38": Decimal("12345678901234567890.0123456789"), "s": "plain", "bin": []byte{0, 0xff},
		"d":    time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"ts":   time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
		"tsns": time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC),
		"tstz": time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC),
		"tm":   13*time.Hour + 14*time.Minute + 15*time.Second,
		"lst":  []any{int32(1), int32(2), nil},
		"st":   map[string]any{"k": "v", "n": int32(7)},
		"mp":   map[string]any{"a": int32(1), "b": int32(2)},
		"js":   JSONText(`{"x":[1,{"y":null}]}`),
		"u":    "12345678-9abc-def0-1234-56789abcdef0", // arrow's UUID extension type
	}
	for k, w := range want {
		if !reflect.DeepEqual(r[k], w) {
			t.Errorf("%s = %#v (%T), want %#v", k, r[k], r[k], w)
		}
	}
	for k, v := range recs[1].Value.(map[string]any) {
		if k != "id" && v != nil {
			t.Errorf("row 2: %s = %#v, want null", k, v)
		}
	}
	r3 := recs[2].Value.(map[string]any)
	if r3["tsns"] != time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC) || !reflect.DeepEqual(r3["lst"], []any{}) || r3["s"] != "quote \" comma , newline\nhere" {
		t.Errorf("row 3: %#v", r3)
	}
}

func TestDuckDBParquetRowGroups(t *testing.T) {
	fh, err := os.Open("testdata/duckdb_rowgroups.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	d, err := NewDecoder(Parquet, fh, Options{BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer Close(d)
	n := 0
	for {
		b, err := d.Next()
		if err != nil {
			break
		}
		if len(b.Records) > 1000 {
			t.Fatalf("batch of %d records", len(b.Records))
		}
		for _, r := range b.Records {
			v := r.Value.(map[string]any)
			if v["id"] != int64(n) || v["s"] != "row "+itoa(n) || r.Number != int64(n+1) {
				t.Fatalf("record %d: %v", n, v)
			}
			n++
		}
	}
	if n != 6144 {
		t.Fatalf("%d records", n)
	}
}

func TestDuckDBWrittenText(t *testing.T) {
	recs, _ := readFile(t, CSV, "duckdb.csv")
	if len(recs) != 4 || recs[3].Fields[5] != "quote \" comma , newline\nhere" || recs[2].Fields[1] != "" || len(recs[2].Fields) != 9 {
		t.Errorf("csv: %q", fieldsOf(recs))
	}
	lines, _ := readFile(t, JSON, "duckdb.json")
	array, _ := readFile(t, MultiJSON, "duckdb_array.multijson")
	if len(lines) != 3 || !reflect.DeepEqual(values(lines), values(array)) {
		t.Errorf("json lines and the json array differ:\n%v\n%v", values(lines), values(array))
	}
	if s := lines[2].Value.(map[string]any)["s"]; s != "quote \" comma , newline\nhere" {
		t.Errorf("json string: %q", s)
	}
}
