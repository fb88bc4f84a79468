package format

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/linkedin/goavro/v2"
)

const avroSchema = `{
  "type": "record", "name": "Event", "namespace": "odx.test",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "name", "type": ["null", "string"]},
    {"name": "score", "type": "float"},
    {"name": "ok", "type": "boolean"},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "payload", "type": "bytes"},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "props", "type": {"type": "map", "values": ["null", "long"]}},
    {"name": "inner", "type": ["null", {"type": "record", "name": "Inner", "fields": [{"name": "x", "type": "int"}]}]}
  ]}`

// writeAvro makes an OCF file with goavro's writer (an independent writer).
func writeAvro(t testing.TB, codec string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := goavro.NewOCFWriter(goavro.OCFConfig{W: &buf, Schema: avroSchema, CompressionName: codec})
	if err != nil {
		t.Fatal(err)
	}
	var recs []any
	for i := 0; i < n; i++ {
		var name any
		if i%2 == 0 {
			name = goavro.Union("string", "n"+itoa(i))
		}
		var inner any
		if i%3 == 0 {
			inner = goavro.Union("odx.test.Inner", map[string]any{"x": int32(i)})
		}
		recs = append(recs, map[string]any{
			"id": int64(i), "name": name, "score": float32(0.1), "ok": i%2 == 1,
			"ts":      time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC).Add(time.Duration(i) * time.Second),
			"payload": []byte{0, 1, 255},
			"price":   big.NewRat(12345, 100),
			"tags":    []any{"a", "b"},
			"props":   map[string]any{"k": goavro.Union("long", int64(7)), "none": nil},
			"inner":   inner,
		})
	}
	if err := w.Append(recs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestApacheAvroFromGoavroWriter(t *testing.T) {
	for _, codec := range []string{"null", "deflate", "snappy"} {
		data := writeAvro(t, codec, 6)
		recs, errs, err := ReadAll(ApacheAvro, bytes.NewReader(data), Options{BatchSize: 4})
		if err != nil || len(errs) != 0 {
			t.Fatalf("%s: %v %v", codec, err, errs)
		}
		if len(recs) != 6 {
			t.Fatalf("%s: %d records", codec, len(recs))
		}
		r0 := recs[0].Value.(map[string]any)
		want := map[string]any{
			"id": int64(0), "name": "n0", "score": 0.1, "ok": false,
			"ts":      time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
			"payload": []byte{0, 1, 255},
			"price":   Decimal("123.45"),
			"tags":    []any{"a", "b"},
			"props":   map[string]any{"k": int64(7), "none": nil},
			"inner":   map[string]any{"x": int32(0)},
		}
		for k, w := range want {
			got := r0[k]
			if gt, ok := got.(time.Time); ok {
				got = gt.UTC()
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s: field %s = %#v, want %#v", codec, k, got, w)
			}
		}
		r1 := recs[1].Value.(map[string]any)
		if r1["name"] != nil || r1["inner"] != nil || recs[1].Number != 2 {
			t.Errorf("%s: null unions: %v", codec, r1)
		}
	}
}

func TestLegacyAvroBytesAreIntegerArrays(t *testing.T) {
	recs, _, err := ReadAll(Avro, bytes.NewReader(writeAvro(t, "null", 1)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0].Value.(map[string]any)["payload"]; !reflect.DeepEqual(got, []any{int64(0), int64(1), int64(255)}) {
		t.Fatalf("payload = %#v", got)
	}
}

func TestAvroRejectsNonOCF(t *testing.T) {
	if _, err := NewDecoder(ApacheAvro, strings.NewReader(`{"not":"avro"}`), Options{Source: "x.avro"}); codeOf(err) != CodeInvalidBlob {
		t.Fatalf("got %v", err)
	}
}

var parquetSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
	{Name: "f32", Type: arrow.PrimitiveTypes.Float32},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "attrs", Type: arrow.StructOf(arrow.Field{Name: "k", Type: arrow.BinaryTypes.String}, arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int32})},
	{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32},
}, nil)

// writeParquet makes a Parquet file with arrow-go's writer, in row groups of
// rowsPerGroup rows, snappy-compressed.
func writeParquet(t testing.TB, rows, rowsPerGroup int) []byte {
	t.Helper()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(int64(rowsPerGroup)))
	w, err := pqarrow.NewFileWriter(parquetSchema, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start < rows; start += rowsPerGroup {
		var lines []string
		for i := start; i < rows && i < start+rowsPerGroup; i++ {
			name := `"n` + itoa(i) + `"`
			if i%2 == 1 {
				name = "null"
			}
			lines = append(lines, `{"id":`+itoa(i)+`,"name":`+name+`,"ts":"2024-01-02T03:04:05.123456Z","price":"123.45","f32":0.1,"flag":true,`+
				`"tags":["a","b"],"attrs":{"k":"v","n":7},"m":[{"key":"x","value":1}],"day":"2024-02-29"}`)
		}
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, parquetSchema, strings.NewReader("["+strings.Join(lines, ",")+"]"))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParquetFromArrowWriter(t *testing.T) {
	data := writeParquet(t, 25, 10)
	recs, errs, err := ReadAll(Parquet, bytes.NewReader(data), Options{BatchSize: 8})
	if err != nil || len(errs) != 0 {
		t.Fatalf("%v %v", err, errs)
	}
	if len(recs) != 25 || recs[24].Number != 25 || recs[24].Value.(map[string]any)["id"] != int64(24) {
		t.Fatalf("%d records, last %+v", len(recs), recs[len(recs)-1])
	}
	r0 := recs[0].Value.(map[string]any)
	want := map[string]any{
		"id": int64(0), "name": "n0", "ts": time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
		"price": Decimal("123.45"), "f32": 0.1, "flag": true, "tags": []any{"a", "b"},
		"attrs": map[string]any{"k": "v", "n": int32(7)}, "m": map[string]any{"x": int64(1)},
		"day": time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
	}
	for k, w := range want {
		if !reflect.DeepEqual(r0[k], w) {
			t.Errorf("field %s = %#v, want %#v", k, r0[k], w)
		}
	}
	if recs[1].Value.(map[string]any)["name"] != nil {
		t.Errorf("null string: %v", recs[1].Value)
	}
}

func TestParquetFromFileAndCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(path, writeParquet(t, 3, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, _, err := ReadAll(Parquet, f, Options{})
	if err != nil || len(recs) != 3 {
		t.Fatalf("%v %d", err, len(recs))
	}
	if _, err := NewDecoder(Parquet, strings.NewReader("a,b\n1,2\n"), Options{Source: "fake.parquet"}); codeOf(err) != CodeInvalidBlob {
		t.Fatalf("csv read as parquet: %v", err)
	}
}

func gzipped(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	zw.Close()
	return buf.Bytes()
}

func zipped(t testing.TB, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

// decodeAll unpacks and decodes, returning records per stream name.
func decodeAll(t *testing.T, f Format, data []byte, c Compression, pattern string) (map[string][]Record, error) {
	out := map[string][]Record{}
	err := Unpack(bytes.NewReader(data), c, pattern, func(name string, body io.Reader) error {
		recs, _, err := ReadAll(f, body, Options{Source: name})
		out[name] = recs
		return err
	})
	return out, err
}

func TestCompressedTextFormats(t *testing.T) {
	csvText := "1,a\n2,b\n"
	jsonText := `{"a":1}` + "\n" + `{"a":2}` + "\n"
	for _, c := range []struct {
		f    Format
		text string
	}{{CSV, csvText}, {JSON, jsonText}, {MultiJSON, jsonText}, {W3CLogFile, iisLog}} {
		plain, err := decodeAll(t, c.f, []byte(c.text), None, "")
		if err != nil {
			t.Fatal(err)
		}
		gz, err := decodeAll(t, c.f, gzipped(t, c.text), Gzip, "")
		if err != nil {
			t.Fatalf("%s gzip: %v", c.f, err)
		}
		if !reflect.DeepEqual(plain, gz) || len(plain[""]) == 0 {
			t.Errorf("%s: gzip decoded differently: %v vs %v", c.f, gz, plain)
		}
		zp, err := decodeAll(t, c.f, zipped(t, map[string]string{"dir/data." + string(c.f): c.text, "README.txt": "ignore me"}), Zip, `\.`+string(c.f)+`$`)
		if err != nil {
			t.Fatalf("%s zip: %v", c.f, err)
		}
		if len(zp) != 1 || !reflect.DeepEqual(zp["dir/data."+string(c.f)], plain[""]) {
			t.Errorf("%s: zip decoded %v", c.f, zp)
		}
	}
}

func TestCompressedBinaryFormats(t *testing.T) {
	av := writeAvro(t, "null", 5)
	pq := writeParquet(t, 5, 5)
	for name, in := range map[Format][]byte{ApacheAvro: av, Parquet: pq} {
		got, err := decodeAll(t, name, gzipped(t, string(in)), Gzip, "")
		if err != nil || len(got[""]) != 5 {
			t.Errorf("%s gzip: %v %d", name, err, len(got[""]))
		}
		got, err = decodeAll(t, name, zipped(t, map[string]string{"a.bin": string(in), "b.bin": string(in)}), Zip, "*.bin")
		if err != nil || len(got) != 2 || len(got["b.bin"]) != 5 {
			t.Errorf("%s zip with glob pattern: %v %v", name, err, got)
		}
	}
}

func TestArchiveErrors(t *testing.T) {
	if err := Unpack(strings.NewReader("plain text"), Gzip, "", func(string, io.Reader) error { return nil }); codeOf(err) != CodeInvalidArchive {
		t.Errorf("not gzip: %v", err)
	}
	if err := Unpack(strings.NewReader("plain text"), Zip, "", func(string, io.Reader) error { return nil }); codeOf(err) != CodeInvalidArchive {
		t.Errorf("not zip: %v", err)
	}
	z := zipped(t, map[string]string{"a.txt": "x"})
	if err := Unpack(bytes.NewReader(z), Zip, `\.csv$`, func(string, io.Reader) error { return nil }); codeOf(err) != CodeEmptyArchive {
		t.Errorf("no matching entry: %v", err)
	}
	// A truncated gzip stream surfaces as a decode error, not a silent short read.
	gz := gzipped(t, strings.Repeat("1,abcdefgh\n", 5000))
	err := Unpack(bytes.NewReader(gz[:len(gz)/2]), Gzip, "", func(_ string, body io.Reader) error {
		_, _, err := ReadAll(CSV, body, Options{})
		return err
	})
	if codeOf(err) != CodeInvalidArchive && codeOf(err) != CodeInvalidBlob {
		t.Errorf("truncated gzip: %v", err)
	}
	// A corrupt (not just short) gzip stream keeps the archive error code.
	bad := append([]byte(nil), gz...)
	for i := 20; i < len(bad)-20; i += 7 {
		bad[i] ^= 0x5a
	}
	err = Unpack(bytes.NewReader(bad), Gzip, "", func(_ string, body io.Reader) error {
		_, _, err := ReadAll(CSV, body, Options{Source: "bad.csv.gz"})
		return err
	})
	if codeOf(err) != CodeInvalidArchive || !strings.Contains(err.Error(), "bad.csv.gz") {
		t.Errorf("corrupt gzip: %v (%s)", err, codeOf(err))
	}
	if c, err := ParseCompression("GZip"); err != nil || c != Gzip {
		t.Errorf("ParseCompression: %v %v", c, err)
	}
}

func TestRecordValuesAreJSONFriendly(t *testing.T) {
	// Values from every named-field format can be marshalled; the mapping
	// package relies on that for dynamic columns.
	for _, f := range []Format{ApacheAvro, Parquet} {
		data := map[Format][]byte{ApacheAvro: writeAvro(t, "null", 2), Parquet: writeParquet(t, 2, 2)}[f]
		recs, _, err := ReadAll(f, bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := json.Marshal(recs[0].Value); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
