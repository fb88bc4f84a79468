package mapping

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"odx/internal/ingest/format"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// allTypes has one column of every Kusto type.
var allTypes = []schema.Column{
	{Name: "b", Type: types.Bool}, {Name: "i", Type: types.Int}, {Name: "l", Type: types.Long},
	{Name: "r", Type: types.Real}, {Name: "d", Type: types.Decimal}, {Name: "dt", Type: types.DateTime},
	{Name: "ts", Type: types.TimeSpan}, {Name: "s", Type: types.String}, {Name: "g", Type: types.Guid},
	{Name: "dyn", Type: types.Dynamic},
}

func decodeAndBind(t *testing.T, f format.Format, input string, m *Mapping, cols []schema.Column) ([][]any, []format.RecordError) {
	t.Helper()
	recs, derrs, err := format.ReadAll(f, strings.NewReader(input), format.Options{Source: "src://in"})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	b, err := Bind(m, cols, Options{Source: "src://in"})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	return b.Rows(&format.Batch{Records: recs, Errors: derrs})
}

var guid = [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}

func TestCSVConversionsToEveryType(t *testing.T) {
	in := `true,-5,9007199254740993,1.5e3,12.3456789012345,2024-01-02 03:04:05.1234567,1.02:03:04.5,"a ""q""",12345678-9abc-def0-1234-56789abcdef0,"{""k"": [1, 2]}"` + "\n" +
		`0,2147483648,x,NaN,1e40,2024-13-01,nope,,not-a-guid,plain text` + "\n" +
		`,,,,,,,,,` + "\n"
	rows, errs := decodeAndBind(t, format.CSV, in, Identity(CSV, allTypes), allTypes)
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	want0 := []any{true, int32(-5), int64(9007199254740993), 1500.0, "12.3456789012", time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC),
		int64(1*types.TicksPerDay + 2*types.TicksPerHour + 3*types.TicksPerMinute + 4*types.TicksPerSecond + 5_000_000), `a "q"`, guid, `{"k":[1,2]}`}
	for i, w := range want0 {
		if !equal(rows[0][i], w) {
			t.Errorf("row 1 column %s = %#v, want %#v", allTypes[i].Name, rows[0][i], w)
		}
	}
	// Row 2: unconvertible values are null (strings stay as text), each reported.
	if rows[1][0] != false || rows[1][1] != nil || rows[1][2] != nil || rows[1][4] != nil || rows[1][5] != nil || rows[1][6] != nil || rows[1][7] != "" || rows[1][8] != nil {
		t.Errorf("row 2 = %#v", rows[1])
	}
	if rows[1][9] != `"plain text"` {
		t.Errorf("non-JSON text in a dynamic column is a JSON string, got %#v", rows[1][9])
	}
	bad := map[string]bool{}
	for _, e := range errs {
		if e.Record != 2 || e.Dropped || e.Code != format.CodeValueNotConvertible || e.Source != "src://in" {
			t.Errorf("unexpected error %+v", e)
		}
		bad[e.Column] = true
	}
	for _, c := range []string{"i", "l", "d", "dt", "ts", "g"} {
		if !bad[c] {
			t.Errorf("no error reported for column %s in %v", c, errs)
		}
	}
	if len(errs) > 0 && !strings.Contains(errs[0].Error(), "src://in: record 2: column i: \"2147483648\" is not a valid int; stored null") {
		t.Errorf("error text: %s", errs[0].Error())
	}
	// Row 3: empty fields are null, except strings which are empty.
	for i, v := range rows[2] {
		want := any(nil)
		if allTypes[i].Type == types.String {
			want = ""
		}
		if v != want {
			t.Errorf("row 3 column %s = %#v", allTypes[i].Name, v)
		}
	}
}

func equal(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb) && ta.Location() == time.UTC
	}
	return a == b
}

func TestJSONConversionsAndMissingFields(t *testing.T) {
	in := `{"b":true,"i":"7","l":1.0,"r":"2.5","d":0.1,"dt":"2024-01-02T03:04:05+02:00","ts":"00:00:01","s":42,"g":"{12345678-9abc-def0-1234-56789abcdef0}","dyn":{"z":1,"a":[true,null]}}` + "\n" +
		`{"s":{"nested":"obj"},"dyn":"str","l":1.5}` + "\n"
	rows, errs := decodeAndBind(t, format.JSON, in, Identity(JSON, allTypes), allTypes)
	want0 := []any{true, int32(7), int64(1), 2.5, "0.1", time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC), types.TicksPerSecond, "42", guid, `{"a":[true,null],"z":1}`}
	for i, w := range want0 {
		if !equal(rows[0][i], w) {
			t.Errorf("row 1 column %s = %#v, want %#v", allTypes[i].Name, rows[0][i], w)
		}
	}
	if rows[1][7] != `{"nested":"obj"}` || rows[1][9] != `"str"` || rows[1][0] != nil || rows[1][2] != nil {
		t.Errorf("row 2 = %#v", rows[1])
	}
	if len(errs) != 1 || errs[0].Column != "l" || errs[0].Record != 2 {
		t.Errorf("only 1.5 into long is an error, got %v", errs)
	}
}

func TestTransforms(t *testing.T) {
	cols := []schema.Column{
		{Name: "sec", Type: types.DateTime}, {Name: "ms", Type: types.DateTime}, {Name: "us", Type: types.DateTime}, {Name: "ns", Type: types.DateTime},
		{Name: "where", Type: types.String}, {Name: "line", Type: types.Long}, {Name: "rest", Type: types.Dynamic},
		{Name: "bag", Type: types.Dynamic}, {Name: "const", Type: types.Int}, {Name: "whole", Type: types.Dynamic},
	}
	m, err := Parse(JSON, `[
	  {"column":"sec","Properties":{"Path":"$.t.s","Transform":"DateTimeFromUnixSeconds"}},
	  {"column":"ms","Properties":{"Path":"$.t.ms","Transform":"DateTimeFromUnixMilliseconds"}},
	  {"column":"us","Properties":{"Path":"$.t.us","Transform":"DateTimeFromUnixMicroseconds"}},
	  {"column":"ns","Properties":{"Path":"$.t.ns","Transform":"DateTimeFromUnixNanoseconds"}},
	  {"column":"where","Properties":{"Transform":"SourceLocation"}},
	  {"column":"line","Properties":{"Transform":"SourceLineNumber"}},
	  {"column":"rest","Properties":{"Path":"$","Transform":"DropMappedFields"}},
	  {"column":"bag","Properties":{"Path":"$.props","Transform":"PropertyBagArrayToDictionary"}},
	  {"column":"const","Properties":{"ConstValue":"42"}},
	  {"column":"whole","Properties":{"Path":"$"}}
	]`)
	if err != nil {
		t.Fatal(err)
	}
	in := `{"t":{"s":1700000000.5,"ms":"1700000000123","us":1700000000123456,"ns":1700000000123456789,"keep":1},"props":[{"n1":"v1"},{"n2":2}],"other":"x"}` + "\n"
	rows, errs := decodeAndBind(t, format.JSON, "\n"+in, m, cols)
	if len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	base := time.Unix(1700000000, 0).UTC()
	want := []any{base.Add(500 * time.Millisecond), base.Add(123 * time.Millisecond), base.Add(123456 * time.Microsecond), base.Add(123456700 * time.Nanosecond),
		"src://in", int64(1), `{"other":"x","t":{"keep":1}}`, `{"n1":"v1","n2":2}`, int32(42), ""}
	for i, w := range want[:9] {
		if !equal(rows[0][i], w) {
			t.Errorf("%s = %#v, want %#v", cols[i].Name, rows[0][i], w)
		}
	}
	if !strings.Contains(rows[0][9].(string), `"props":[{"n1":"v1"},{"n2":2}]`) {
		t.Errorf("$ is the whole record: %v", rows[0][9])
	}

	// DateTimeFromUnix* in a CSV mapping, and a non-number reported.
	cm, _ := Parse(CSV, `[{"column":"sec","Properties":{"Ordinal":"0","Transform":"DateTimeFromUnixSeconds"}},{"column":"line","Properties":{"Transform":"SourceLineNumber"}}]`)
	rows, errs = decodeAndBind(t, format.CSV, "1700000000\nsoon\n", cm, cols)
	if !equal(rows[0][0], base) || rows[1][0] != nil || rows[1][5] != int64(2) {
		t.Errorf("csv unix seconds: %#v", rows)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "DateTimeFromUnixSeconds needs a number") {
		t.Errorf("errors %v", errs)
	}
}

func TestBytesAsBase64(t *testing.T) {
	cols := []schema.Column{{Name: "p", Type: types.String}}
	m, _ := Parse(Avro, `[{"column":"p","Properties":{"Field":"payload","Transform":"BytesAsBase64"}}]`)
	b, err := Bind(m, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := b.Rows(&format.Batch{Records: []format.Record{
		{Number: 1, Value: map[string]any{"payload": []byte{0, 1, 255}}},                     // apacheavro bytes
		{Number: 2, Value: map[string]any{"payload": []any{int64(0), int64(1), int64(255)}}}, // legacy avro int array
		{Number: 3, Value: map[string]any{"payload": []any{int64(300)}}},                     // invalid: null
	}})
	if rows[0][0] != "AAH/" || rows[1][0] != "AAH/" || rows[2][0] != "" {
		t.Errorf("rows %#v", rows)
	}
}

func TestSizeLimits(t *testing.T) {
	cols := []schema.Column{{Name: "s", Type: types.String}, {Name: "d", Type: types.Dynamic}}
	m := Identity(CSV, cols)
	b, err := Bind(m, cols, Options{MaxStringBytes: 10, MaxDynamicBytes: 8, Source: "big.csv"})
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := b.Rows(&format.Batch{Records: []format.Record{{Number: 1, Fields: []string{"ééééééé", `[1,2,3,4,5]`}}}})
	if rows[0][0] != "ééééé" || rows[0][1] != nil {
		t.Errorf("rows %#v", rows)
	}
	if len(errs) != 2 || errs[0].Code != format.CodeValueTruncated || errs[1].Code != format.CodeDynamicTooLarge {
		t.Errorf("errors %v", errs)
	}
}

func TestErrorCapAndUnmappedColumns(t *testing.T) {
	cols := []schema.Column{{Name: "n", Type: types.Long}, {Name: "s", Type: types.String}, {Name: "x", Type: types.Real}}
	m, _ := Parse(CSV, `[{"column":"n","Properties":{"Ordinal":"0"}}]`)
	b, _ := Bind(m, cols, Options{MaxErrors: 3})
	var recs []format.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, format.Record{Number: int64(i + 1), Fields: []string{"bad"}})
	}
	rows, errs := b.Rows(&format.Batch{Records: recs})
	if len(rows) != 10 || len(errs) != 3 || b.Suppressed() != 7 {
		t.Errorf("rows %d errs %d suppressed %d", len(rows), len(errs), b.Suppressed())
	}
	if rows[0][1] != "" || rows[0][2] != nil {
		t.Errorf("unmapped columns: %#v", rows[0])
	}
}

func TestW3CBinding(t *testing.T) {
	cols := []schema.Column{{Name: "date", Type: types.DateTime}, {Name: "cs-method", Type: types.String}, {Name: "sc-status", Type: types.Int}, {Name: "time-taken", Type: types.Long}, {Name: "cs-uri-query", Type: types.String}}
	log := "#Fields: date time cs-method sc-status time-taken cs-uri-query\n2023-03-14 08:04:11 GET 200 15 -\n"
	rows, errs := decodeAndBind(t, format.W3CLogFile, log, Identity(W3CLogFile, cols), cols)
	if len(errs) != 0 || !equal(rows[0][0], time.Date(2023, 3, 14, 0, 0, 0, 0, time.UTC)) || rows[0][1] != "GET" || rows[0][2] != int32(200) || rows[0][3] != int64(15) || rows[0][4] != "" {
		t.Errorf("rows %#v errs %v", rows, errs)
	}
}

func TestBinaryFormatValuesToColumns(t *testing.T) {
	cols := []schema.Column{{Name: "t", Type: types.DateTime}, {Name: "ts", Type: types.String}, {Name: "dec", Type: types.Decimal}, {Name: "r", Type: types.Real},
		{Name: "raw", Type: types.Dynamic}, {Name: "dur", Type: types.TimeSpan}, {Name: "u", Type: types.Guid}, {Name: "i", Type: types.Int}}
	m, _ := Parse(Parquet, `[{"column":"t","Properties":{"Field":"t"}},{"column":"ts","Properties":{"Path":"$.t"}},{"column":"dec","Properties":{"Field":"dec"}},
	  {"column":"r","Properties":{"Field":"dec"}},{"column":"raw","Properties":{"Field":"raw"}},{"column":"dur","Properties":{"Field":"dur"}},{"column":"u","Properties":{"Field":"u"}},{"column":"i","Properties":{"Field":"i"}}]`)
	b, err := Bind(m, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tm := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))
	rows, errs := b.Rows(&format.Batch{Records: []format.Record{{Number: 1, Value: map[string]any{
		"t": tm, "dec": format.Decimal("123.45"), "raw": []byte("hi"), "dur": 90 * time.Second, "u": guid[:], "i": uint64(1 << 40)}}}})
	want := []any{time.Date(2024, 1, 2, 2, 4, 5, 123456700, time.UTC), "2024-01-02T02:04:05.1234567Z", "123.45", 123.45, `"aGk="`, 90 * types.TicksPerSecond, guid, nil}
	for i, w := range want {
		if !equal(rows[0][i], w) {
			t.Errorf("%s = %#v, want %#v", cols[i].Name, rows[0][i], w)
		}
	}
	if len(errs) != 1 || errs[0].Column != "i" {
		t.Errorf("2^40 into int must be reported: %v", errs)
	}
}

func TestParseDateTimeAndTimeSpan(t *testing.T) {
	dt := map[string]time.Time{
		"2024-01-02":                      time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		"2024-01-02T03:04":                time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC),
		"2024-01-02T03:04:05.123456789Z":  time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC),
		"2024-01-02T03:04:05-0130":        time.Date(2024, 1, 2, 4, 34, 5, 0, time.UTC),
		"Tue, 02 Jan 2024 03:04:05 GMT":   time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"Tuesday, 02-Jan-24 03:04:05 UTC": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"01/02/2024 03:04:05":             time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024/01/02 03:04:05":             time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	for s, want := range dt {
		got, ok := ParseDateTime(s)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseDateTime(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
	for _, bad := range []string{"2023-02-30", "2024-01-02T25:00", "yesterday", "2024-01-02Tfoo"} {
		if _, ok := ParseDateTime(bad); ok {
			t.Errorf("ParseDateTime(%q) accepted", bad)
		}
	}
	ts := map[string]int64{
		"00:00:01":         types.TicksPerSecond,
		"-1.00:00:00":      -types.TicksPerDay,
		"01:02":            types.TicksPerHour + 2*types.TicksPerMinute,
		"00:00:00.0000001": 1,
		"1.5h":             90 * types.TicksPerMinute,
		"100ms":            100 * types.TicksPerMillisecond,
		"2d":               2 * types.TicksPerDay,
		"10microseconds":   100,
		"7ticks":           7,
	}
	for s, want := range ts {
		if got, ok := ParseTimeSpan(s); !ok || got != want {
			t.Errorf("ParseTimeSpan(%q) = %d %v, want %d", s, got, ok, want)
		}
	}
	for _, bad := range []string{"", "1x", "24:00:00", "a:b"} {
		if _, ok := ParseTimeSpan(bad); ok {
			t.Errorf("ParseTimeSpan(%q) accepted", bad)
		}
	}
}

func TestDynamicJSONText(t *testing.T) {
	var b bytes.Buffer
	writeJSON(&b, map[string]any{"s": "line\n\"q\"\x01\xff", "n": nil, "f": 1.5, "t": time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)})
	want := `{"f":1.5,"n":null,"s":"line\n\"q\"\u0001\ufffd","t":"2024-01-02T00:00:00.0000000Z"}`
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
}

func TestInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	cols := []schema.Column{{Name: "s", Type: types.String}, {Name: "d", Type: types.Dynamic}}
	rows, _ := decodeAndBind(t, format.CSV, "caf\xe9,\"[\"\"\xe9\"\"]\"\n", Identity(CSV, cols), cols)
	if rows[0][0] != "caf\uFFFD" || rows[0][1] != "[\"\uFFFD\"]" {
		t.Errorf("row %q", rows[0])
	}
}

func TestMappingBuiltInCode(t *testing.T) {
	cols := []schema.Column{{Name: "x", Type: types.Long}}
	m := &Mapping{Kind: JSON, Elements: []Element{{Column: "x", Path: "$.a.b", Ordinal: -1}}}
	b, err := Bind(m, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := b.Rows(&format.Batch{Records: []format.Record{{Number: 1, Value: map[string]any{"a": map[string]any{"b": int64(5)}}}}})
	if rows[0][0] != int64(5) {
		t.Errorf("row %v", rows[0])
	}
	if _, err := Bind(&Mapping{Kind: JSON, Elements: []Element{{Column: "x", Path: "$.a["}}}, cols, Options{}); err == nil {
		t.Error("a bad path in a mapping built in code was accepted")
	}
}

func TestJSONTextValues(t *testing.T) {
	cols := []schema.Column{{Name: "d", Type: types.Dynamic}, {Name: "s", Type: types.String}}
	b, err := Bind(Identity(Parquet, cols), cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := b.Rows(&format.Batch{Records: []format.Record{{Number: 1, Value: map[string]any{"d": format.JSONText(`{ "x": [1] }`), "s": format.JSONText(`{ "x": [1] }`)}}}})
	if rows[0][0] != `{"x":[1]}` || rows[0][1] != `{ "x": [1] }` {
		t.Errorf("row %q", rows[0])
	}
}

// TestDuckDBParquetToKustoTypes binds the DuckDB-written Parquet file of the
// format package's tests to a table with every Kusto type.
func TestDuckDBParquetToKustoTypes(t *testing.T) {
	fh, err := os.Open("../format/testdata/duckdb_types.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, _, err := format.ReadAll(format.Parquet, fh, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cols := []schema.Column{
		{Name: "id", Type: types.Long}, {Name: "b", Type: types.Bool}, {Name: "i32", Type: types.Int}, {Name: "f32", Type: types.Real},
		{Name: "dec38", Type: types.Decimal}, {Name: "s", Type: types.String}, {Name: "bin", Type: types.String},
		{Name: "tsns", Type: types.DateTime}, {Name: "tm", Type: types.TimeSpan}, {Name: "u", Type: types.Guid},
		{Name: "lst", Type: types.Dynamic}, {Name: "st", Type: types.Dynamic}, {Name: "mp", Type: types.Dynamic}, {Name: "js", Type: types.Dynamic},
		{Name: "d", Type: types.String},
	}
	b, err := Bind(Identity(Parquet, cols), cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := b.Rows(&format.Batch{Records: recs})
	if len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	want := []any{int64(1), true, int32(2147483647), 0.1, "12345678901234567890.0123456789", "plain", "AP8=",
		time.Date(2024, 1, 2, 3, 4, 5, 123456700, time.UTC), (13*3600 + 14*60 + 15) * types.TicksPerSecond, guid,
		`[1,2,null]`, `{"k":"v","n":7}`, `{"a":1,"b":2}`, `{"x":[1,{"y":null}]}`, "2024-02-29T00:00:00.0000000Z"}
	for i, w := range want {
		if !equal(rows[0][i], w) {
			t.Errorf("%s = %#v, want %#v", cols[i].Name, rows[0][i], w)
		}
	}
	for i, v := range rows[1] {
		if i > 0 && v != nil && v != "" {
			t.Errorf("row 2: %s = %#v, want null", cols[i].Name, v)
		}
	}
}

func TestFromValueMatrix(t *testing.T) {
	num := func(s string) any { return json.Number(s) }
	cases := []struct {
		in   any
		t    types.Type
		want any
		ok   bool
	}{
		{num("1.25"), types.Real, 1.25, true},
		{num("1e400"), types.Real, math.Inf(1), true},
		{int32(3), types.Real, 3.0, true},
		{uint64(7), types.Real, 7.0, true},
		{true, types.Real, 1.0, true},
		{format.Decimal("2.5"), types.Real, 2.5, true},
		{[]any{1}, types.Real, nil, false},
		{num("0"), types.Bool, false, true},
		{num("2"), types.Bool, true, true},
		{int64(5), types.Bool, true, true},
		{uint64(math.MaxUint64), types.Long, nil, false},
		{1e19, types.Long, nil, false},
		{true, types.Int, int32(1), true},
		{format.Decimal("12"), types.Int, int32(12), true},
		{num("1e3"), types.Long, int64(1000), true},
		{true, types.Decimal, "1", true},
		{int64(-3), types.Decimal, "-3", true},
		{math.NaN(), types.Decimal, nil, false},
		{0.1, types.Decimal, "0.1", true},
		{num("1e30"), types.Decimal, nil, false},
		{math.NaN(), types.String, "NaN", true},
		{math.Inf(-1), types.String, "-Infinity", true},
		{uint64(math.MaxUint64), types.String, "18446744073709551615", true},
		{90 * time.Minute, types.String, "01:30:00", true},
		{[]byte{1, 2}, types.String, "AQI=", true},
		{map[string]any{"g": guid, "n": math.NaN()}, types.String, `{"g":"12345678-9abc-def0-1234-56789abcdef0","n":"NaN"}`, true},
		{int64(42), types.TimeSpan, int64(42), true},
		{num("1.5"), types.TimeSpan, nil, false},
		{[]byte{1}, types.Guid, nil, false},
		{guid, types.Guid, guid, true},
		{int64(1), types.DateTime, nil, false},
		{true, types.Dynamic, "true", true},
		{nil, types.Dynamic, nil, true},
		{nil, types.String, "", true},
	}
	for _, c := range cases {
		got, ok := fromValue(c.in, c.t)
		if ok != c.ok || ok && !equal(got, c.want) {
			t.Errorf("fromValue(%#v, %s) = %#v, %v; want %#v, %v", c.in, c.t, got, ok, c.want, c.ok)
		}
	}
}

func TestUnixTimeForms(t *testing.T) {
	base := time.Unix(1700000000, 0).UTC()
	cases := []struct {
		in any
		tr Transform
	}{
		{int32(1700000000), DateTimeFromUnixSeconds}, {int64(1700000000000), DateTimeFromUnixMilliseconds},
		{uint64(1700000000000000), DateTimeFromUnixMicroseconds}, {1.7e9, DateTimeFromUnixSeconds},
		{format.Decimal("1700000000"), DateTimeFromUnixSeconds}, {"1700000000000000000", DateTimeFromUnixNanoseconds},
	}
	for _, c := range cases {
		if got, ok := unixTime(c.in, c.tr); !ok || !got.Equal(base) {
			t.Errorf("unixTime(%#v, %s) = %v %v", c.in, c.tr, got, ok)
		}
	}
	for _, bad := range []any{math.NaN(), "soon", true, int64(math.MaxInt64), int64(253402300800), int64(-62135596801)} {
		if _, ok := unixTime(bad, DateTimeFromUnixSeconds); ok {
			t.Errorf("unixTime(%#v) accepted", bad)
		}
	}
	// Kusto's whole datetime range, beyond the 1677..2262 of int64 nanoseconds
	for in, want := range map[int64]time.Time{
		-62135596800: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		253402300799: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		if got, ok := unixTime(in, DateTimeFromUnixSeconds); !ok || !got.Equal(want) {
			t.Errorf("unixTime(%d) = %v %v, want %v", in, got, ok, want)
		}
	}
	// Kusto's "Key"/"Value" pairs also merge.
	got := bagArrayToDictionary([]any{map[string]any{"Key": "a", "Value": 1}, map[string]any{"b": 2}})
	if !reflect.DeepEqual(got, map[string]any{"a": 1, "b": 2}) {
		t.Errorf("bagArrayToDictionary = %v", got)
	}
	if got := bagArrayToDictionary([]any{1, 2}); !reflect.DeepEqual(got, []any{1, 2}) {
		t.Errorf("non-bag array changed: %v", got)
	}
}

func TestBinderConcurrentUse(t *testing.T) {
	cols := []schema.Column{{Name: "n", Type: types.Long}}
	b, err := Bind(Identity(CSV, cols), cols, Options{MaxErrors: 50})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errCount := make([]int, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			recs := make([]format.Record, 100)
			for i := range recs {
				recs[i] = format.Record{Number: int64(i + 1), Fields: []string{"x"}}
			}
			_, errs := b.Rows(&format.Batch{Records: recs})
			errCount[g] = len(errs)
		}(g)
	}
	wg.Wait()
	total := 0
	for _, n := range errCount {
		total += n
	}
	if total != 50 || b.Suppressed() != 750 {
		t.Errorf("reported %d, suppressed %d; want 50 and 750", total, b.Suppressed())
	}
}

// A datetime column's ticks, computed from ISO text directly, are the
// ticks of the time ParseDateTime reads, for dates across the calendar
// (leap days, centuries, offsets that cross a day or the range's ends).
func TestDateTimeTicksMatchParseDateTime(t *testing.T) {
	for _, s := range []string{
		"2026-01-01T00:00:00.000Z", "2024-02-29 23:59:59.9999999", "1900-03-01", "2000-02-29T12:00",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "2026-11-28T21:45:00+02:00",
		"2026-11-28T01:00:00-05:30", "1970-01-01T00:00:00.123456789Z", "2023-02-30", "0001-01-01T00:00:00+01:00",
		"9999-12-31T23:00:00-02:00", "0000-06-01", "0000-12-31T23:00:00-02:00", "Tue, 02 Jan 2024 03:04:05 GMT", "not a date",
	} {
		ticks, ok, inRange := parseDateTimeTicks(s)
		tm, wantOK := ParseDateTime(s)
		wantTicks, wantInRange := types.TicksFromTime(tm)
		if ok != wantOK || ok && (inRange != wantInRange || inRange && ticks != wantTicks) {
			t.Errorf("%q: ticks %d ok %v in range %v; ParseDateTime gives %v (%d, ok %v, in range %v)",
				s, ticks, ok, inRange, tm, wantTicks, wantOK, wantInRange)
		}
	}
}
