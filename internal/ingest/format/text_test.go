package format

import (
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"odx/internal/kerr"
)

func fieldsOf(recs []Record) [][]string {
	out := make([][]string, len(recs))
	for i, r := range recs {
		out[i] = r.Fields
	}
	return out
}

func codeOf(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return ""
}

func TestCSVQuotingAsRFC4180(t *testing.T) {
	in := "a,b,c\r\n" +
		"\"x, y\",\"he said \"\"hi\"\"\",plain\n" +
		"\n" + // empty lines between records are skipped
		"\"multi\nline\",,\"\"\n" +
		"un\"quoted\",\"closed\"after,last"
	recs, errs, err := ReadAll(CSV, strings.NewReader(in), Options{Source: "t.csv"})
	if err != nil || len(errs) != 0 {
		t.Fatalf("err=%v errs=%v", err, errs)
	}
	want := [][]string{
		{"a", "b", "c"},
		{"x, y", `he said "hi"`, "plain"},
		{"multi\nline", "", ""},
		{`un"quoted"`, "closedafter", "last"},
	}
	if got := fieldsOf(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields\n got %q\nwant %q", got, want)
	}
	if recs[2].Number != 3 || recs[2].Line != 4 || recs[3].Line != 6 {
		t.Errorf("numbering: record 3 is #%d at line %d, record 4 at line %d", recs[2].Number, recs[2].Line, recs[3].Line)
	}
}

func TestCSVFamilySeparators(t *testing.T) {
	cases := []struct {
		f  Format
		in string
	}{
		{TSV, "1\t\"a\tb\"\tz\n"},
		{PSV, "1|\"a\tb\"|z\n"},
		{SCSV, "1;\"a\tb\";z\n"},
		{SOHSV, "1\x01\"a\tb\"\x01z\n"},
		{CSV, "1,\"a\tb\",z\n"},
	}
	for _, c := range cases {
		recs, _, err := ReadAll(c.f, strings.NewReader(c.in), Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.f, err)
		}
		if got := fieldsOf(recs); !reflect.DeepEqual(got, [][]string{{"1", "a\tb", "z"}}) {
			t.Errorf("%s: got %q", c.f, got)
		}
	}
}

func TestTSVEBackslashEscapes(t *testing.T) {
	recs, _, err := ReadAll(TSVE, strings.NewReader("a\\tb\tline\\nbreak\tback\\\\slash\t\\q\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a\tb", "line\nbreak", `back\slash`, `\q`}}
	if got := fieldsOf(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
	// In plain tsv a backslash is an ordinary character.
	recs, _, _ = ReadAll(TSV, strings.NewReader("a\\tb\n"), Options{})
	if recs[0].Fields[0] != `a\tb` {
		t.Errorf("tsv unescaped a backslash: %q", recs[0].Fields[0])
	}
}

func TestCSVIgnoreFirstRecordAndFieldCount(t *testing.T) {
	in := "h1,h2\n1,2\n3\n4,5,6\n7,8\n"
	recs, errs, err := ReadAll(CSV, strings.NewReader(in), Options{Source: "f.csv", IgnoreFirstRecord: true, CheckFieldCount: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].Fields[0] != "1" || recs[0].Number != 2 {
		t.Fatalf("records %+v", recs)
	}
	if len(errs) != 2 {
		t.Fatalf("want 2 field-count errors, got %v", errs)
	}
	for _, e := range errs {
		if e.Code != CodeWrongNumberOfFields || e.Dropped || e.Source != "f.csv" {
			t.Errorf("unexpected error %+v", e)
		}
	}
	if !strings.Contains(errs[0].Error(), "f.csv: record 3") || !strings.Contains(errs[0].Error(), "1 fields but the first record has 2") {
		t.Errorf("message does not say where and why: %s", errs[0].Error())
	}
}

func TestCSVUnclosedQuoteKeepsGoodRecords(t *testing.T) {
	in := "1,a\n2,b\n3,\"never closed\n4,d\n"
	recs, errs, err := ReadAll(CSV, strings.NewReader(in), Options{Source: "bad.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("want the 2 good records, got %q", fieldsOf(recs))
	}
	if len(errs) != 1 || errs[0].Code != CodeClosingQuoteMissing || !errs[0].Dropped || errs[0].Record != 3 || errs[0].Line != 3 {
		t.Fatalf("errors %+v", errs)
	}
}

func TestBatchesAreBounded(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 2500; i++ {
		sb.WriteString("x,1\n")
	}
	d, err := NewDecoder(CSV, strings.NewReader(sb.String()), Options{BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for {
		b, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(b.Records))
	}
	if !reflect.DeepEqual(sizes, []int{1000, 1000, 500}) {
		t.Fatalf("batch sizes %v", sizes)
	}
}

func TestTxtAndRaw(t *testing.T) {
	recs, _, err := ReadAll(TXT, strings.NewReader("first line\r\n\nsecond, with comma\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fieldsOf(recs); !reflect.DeepEqual(got, [][]string{{"first line"}, {"second, with comma"}}) {
		t.Fatalf("txt: %q", got)
	}
	payload := "line one\nline two\n"
	recs, _, err = ReadAll(Raw, strings.NewReader(payload), Options{})
	if err != nil || len(recs) != 1 || recs[0].Fields[0] != payload {
		t.Fatalf("raw: %v %q", err, fieldsOf(recs))
	}
	recs, _, _ = ReadAll(Raw, strings.NewReader(""), Options{})
	if len(recs) != 0 {
		t.Fatalf("empty raw payload gave %d records", len(recs))
	}
}

func TestVeryLongLine(t *testing.T) {
	long := strings.Repeat("z", 3*readBufferSize)
	recs, _, err := ReadAll(CSV, strings.NewReader("a,"+long+"\nb,c\n"), Options{})
	if err != nil || len(recs) != 2 || recs[0].Fields[1] != long || recs[1].Fields[0] != "b" {
		t.Fatalf("err=%v n=%d", err, len(recs))
	}
	_, _, err = ReadAll(CSV, strings.NewReader("a,"+long+"\n"), Options{MaxRecordBytes: 1000})
	if codeOf(err) != CodeInputTooLarge {
		t.Fatalf("want %s for a record over the limit, got %v", CodeInputTooLarge, err)
	}
}

func TestJSONLinesSkipMalformedLines(t *testing.T) {
	in := `{"a":1,"big":9007199254740993}` + "\r\n" +
		"\n" +
		`{"a":2, broken` + "\n" +
		`  {"a":3,"s":"x y"}  ` + "\n" +
		`{"a":4} trailing` + "\n" +
		`[1,2]`
	recs, errs, err := ReadAll(JSON, strings.NewReader(in), Options{Source: "t.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("want 3 records, got %d: %+v", len(recs), recs)
	}
	first := recs[0].Value.(map[string]any)
	if first["big"].(interface{ String() string }).String() != "9007199254740993" {
		t.Errorf("a long beyond 2^53 lost precision: %v", first["big"])
	}
	if recs[1].Number != 3 || recs[1].Line != 4 {
		t.Errorf("record numbering: %+v", recs[1])
	}
	if len(errs) != 2 || errs[0].Record != 2 || errs[0].Line != 3 || !errs[0].Dropped || errs[1].Line != 5 {
		t.Fatalf("errors %+v", errs)
	}
	if !strings.Contains(errs[0].Error(), "t.json: record 2 (line 3): malformed JSON") {
		t.Errorf("error text: %s", errs[0].Error())
	}
}

func TestMultiJSONForms(t *testing.T) {
	concatenated := "{\"a\":\n 1}\n{\"a\":2}{\"a\":3}\n\n  {\n\"a\": 4\n}"
	array := "[ {\"a\":1},\n {\"a\":2},{\"a\":3}, {\"a\":4} ]"
	mixed := "[{\"a\":1},{\"a\":2}]\n{\"a\":3}\n[{\"a\":4}]"
	for name, in := range map[string]string{"concatenated": concatenated, "array": array, "mixed": mixed} {
		recs, _, err := ReadAll(MultiJSON, strings.NewReader(in), Options{BatchSize: 3})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(recs) != 4 {
			t.Fatalf("%s: want 4 records, got %d", name, len(recs))
		}
		for i, r := range recs {
			if got := r.Value.(map[string]any)["a"].(interface{ String() string }).String(); got != itoa(i+1) || r.Number != int64(i+1) {
				t.Errorf("%s: record %d = %v (#%d)", name, i, got, r.Number)
			}
		}
	}
}

func TestMultiJSONMalformedFailsAfterGoodRecords(t *testing.T) {
	recs, _, err := ReadAll(MultiJSON, strings.NewReader(`{"a":1} {"a":2} {"a": oops}`), Options{Source: "m.json"})
	if len(recs) != 2 {
		t.Fatalf("want the 2 good records, got %d", len(recs))
	}
	if codeOf(err) != CodeInvalidBlob || !strings.Contains(err.Error(), "m.json: record 3") {
		t.Fatalf("want %s naming record 3, got %v", CodeInvalidBlob, err)
	}
}

func TestSingleJSON(t *testing.T) {
	recs, _, err := ReadAll(SingleJSON, strings.NewReader("{\n \"a\": [1, 2],\n \"b\": {\"c\": null}\n}\n"), Options{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %d", err, len(recs))
	}
	_, _, err = ReadAll(SingleJSON, strings.NewReader(`{"a":1}{"a":2}`), Options{})
	if codeOf(err) != CodeInvalidBlob {
		t.Fatalf("two values in singlejson: %v", err)
	}
}

// Lines from a real IIS 10 log (W3C extended format), including a second
// #Fields directive mid-file as IIS writes after a restart.
const iisLog = `#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2023-03-14 08:04:11
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
2023-03-14 08:04:11 10.0.0.4 GET /index.html - 443 - 203.0.113.7 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 15
2023-03-14 08:04:12 10.0.0.4 POST /api/orders id=42 443 alice 203.0.113.9 curl/8.4.0 https://example.com/ 201 0 0 48
#Software: Microsoft Internet Information Services 10.0
#Version: 1.0
#Date: 2023-03-14 09:00:00
#Fields: date time cs-method cs-uri-stem sc-status
2023-03-14 09:00:01 GET /health 200
`

func TestW3CLogFile(t *testing.T) {
	recs, errs, err := ReadAll(W3CLogFile, strings.NewReader(iisLog), Options{Source: "u_ex230314.log"})
	if err != nil || len(errs) != 0 {
		t.Fatalf("%v %v", err, errs)
	}
	if len(recs) != 3 {
		t.Fatalf("want 3 records, got %d", len(recs))
	}
	r0 := recs[0].Value.(map[string]any)
	if r0["cs-method"] != "GET" || r0["cs(User-Agent)"] != "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)" || r0["cs-uri-query"] != nil || r0["time-taken"] != "15" {
		t.Errorf("record 1: %v", r0)
	}
	if recs[1].Value.(map[string]any)["cs-username"] != "alice" {
		t.Errorf("record 2: %v", recs[1].Value)
	}
	r2 := recs[2].Value.(map[string]any)
	if len(r2) != 5 || r2["cs-uri-stem"] != "/health" {
		t.Errorf("record after the second #Fields: %v", r2)
	}
	_, errs, _ = ReadAll(W3CLogFile, strings.NewReader("2023-03-14 08:04:11 GET\n"), Options{})
	if len(errs) != 1 || !errs[0].Dropped {
		t.Errorf("a data line without #Fields must be reported: %v", errs)
	}
}

func TestGuessAndParseFormat(t *testing.T) {
	cases := []struct {
		name string
		f    Format
		c    Compression
		ok   bool
	}{
		{"data/x.csv", CSV, None, true},
		{"x.CSV.gz", CSV, Gzip, true},
		{"https://acct.blob.core.windows.net/c/events.json.gz?sv=2020&sig=abc", JSON, Gzip, true},
		{"u_ex230314.log", W3CLogFile, None, true},
		{"a.parquet", Parquet, None, true},
		{"a.avro", ApacheAvro, None, true},
		{"MyData.zip", "", Zip, false},
		{"noext", "", None, false},
		{"x.tsve.zip", TSVE, Zip, true},
	}
	for _, c := range cases {
		f, comp, ok := Guess(c.name)
		if f != c.f || comp != c.c || ok != c.ok {
			t.Errorf("Guess(%q) = %q %q %v", c.name, f, comp, ok)
		}
	}
	if f, err := ParseFormat("MultiJSON"); err != nil || f != MultiJSON {
		t.Errorf("ParseFormat is not case-insensitive: %v %v", f, err)
	}
	if _, err := ParseFormat("xlsx"); codeOf(err) != CodeFormatNotSupported {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := NewDecoder(ORC, strings.NewReader(""), Options{}); codeOf(err) != CodeInvalidBlob {
		t.Errorf("an empty orc source must be an invalid blob: %v", err)
	}
}

// lineSource generates n CSV or JSON lines on the fly, so that the test
// input itself takes no memory.
type lineSource struct {
	n, i int
	json bool
	buf  []byte
}

func (s *lineSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		if s.json {
			s.buf = append(s.buf, `{"id":`+itoa(s.i)+`,"device":"dev-`+itoa(s.i%1000)+`","temp":21.5,"tags":{"a":[1,2,3]}}`+"\n"...)
		} else {
			s.buf = append(s.buf, itoa(s.i)+",dev-"+itoa(s.i%1000)+",21.5,\"quoted, field\"\n"...)
		}
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}

// TestStreamingKeepsMemoryBounded decodes 2M rows batch by batch and checks
// that the live heap stays far below the size of the data (about 100 MB).
func TestStreamingKeepsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 2M rows")
	}
	for _, f := range []Format{CSV, JSON} {
		const rows = 2_000_000
		d, err := NewDecoder(f, &lineSource{n: rows, json: f == JSON}, Options{BatchSize: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		var peak uint64
		var ms runtime.MemStats
		total := 0
		for {
			b, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			total += len(b.Records)
			if total%200_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		if total != rows {
			t.Fatalf("%s: %d rows", f, total)
		}
		if peak > 64<<20 {
			t.Errorf("%s: heap reached %d MB while streaming", f, peak>>20)
		}
		t.Logf("%s: %d rows, peak sampled heap %d MB", f, total, peak>>20)
	}
}

func TestJSONLinesAcceptCommentsAndSingleQuotes(t *testing.T) {
	// ADX: the json format "supports parsing of comments and single-quoted properties".
	in := `{'a': 'it\'s', /* note */ "b": 1} // trailing comment` + "\n" + `{"c": "x"}`
	recs, errs, err := ReadAll(JSON, strings.NewReader(in), Options{})
	if err != nil || len(errs) != 0 || len(recs) != 2 {
		t.Fatalf("%v %v %d", err, errs, len(recs))
	}
	r := recs[0].Value.(map[string]any)
	if r["a"] != "it's" || r["b"].(interface{ String() string }).String() != "1" {
		t.Errorf("record %v", r)
	}
	// multijson stays strict JSON.
	if _, _, err := ReadAll(MultiJSON, strings.NewReader(`{'a': 1}`), Options{}); codeOf(err) != CodeInvalidBlob {
		t.Errorf("multijson accepted single quotes: %v", err)
	}
}

func TestByteOrderMarks(t *testing.T) {
	utf16le := func(s string, bigEndian bool) string {
		var b []byte
		if bigEndian {
			b = append(b, 0xFE, 0xFF)
		} else {
			b = append(b, 0xFF, 0xFE)
		}
		for _, u := range utf16.Encode([]rune(s)) {
			if bigEndian {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return string(b)
	}
	text := "name,city\nZoë,Zürich 😀\n"
	for label, in := range map[string]string{
		"utf-8 bom": "\xEF\xBB\xBF" + text, "utf-16le": utf16le(text, false), "utf-16be": utf16le(text, true), "plain": text,
	} {
		recs, _, err := ReadAll(CSV, strings.NewReader(in), Options{})
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if got := fieldsOf(recs); !reflect.DeepEqual(got, [][]string{{"name", "city"}, {"Zoë", "Zürich 😀"}}) {
			t.Errorf("%s: %q", label, got)
		}
	}
	recs, errs, _ := ReadAll(JSON, strings.NewReader("\xEF\xBB\xBF{\"a\":1}\n"), Options{})
	if len(recs) != 1 || len(errs) != 0 {
		t.Errorf("json with a BOM: %v", errs)
	}
}

func TestParseJSONStrings(t *testing.T) {
	cases := map[string]string{
		`"plain"`:                    "plain",
		`"tab\there \"q\" \\ \/"`:    "tab\there \"q\" \\ /",
		`"\u00e9\u4e2d\ud83d\ude00"`: "é中😀",
		`"lone \ud800 surrogate"`:    "lone \uFFFD surrogate",
		`"\b\f\n\r"`:                 "\b\f\n\r",
		"\"bad utf8 \xff here\"":     "bad utf8 \uFFFD here",
		"\"ok utf8 é\"":              "ok utf8 é",
		`"pair split \ud83d\u0041"`:  "pair split \uFFFDA",
	}
	for in, want := range cases {
		got, err := parseJSON([]byte(in))
		if err != nil || got != want {
			t.Errorf("parseJSON(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`"\x"`, `"\u12"`, `"\u12zz"`, "\"ctrl \x01\"", `"open`, `'single'`, `[1,]`, `{"a":1,}`, `01`, `1.`, `-`, `tru`, `{"a" 1}`, `[1 2]`} {
		if v, err := parseJSON([]byte(bad)); err == nil {
			t.Errorf("parseJSON(%s) = %#v, want an error", bad, v)
		}
	}
	deep := strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1)
	if _, err := parseJSON([]byte(deep)); err == nil {
		t.Error("nesting beyond the limit was accepted")
	}
}

func TestPrefetchYieldsTheSameBatches(t *testing.T) {
	in := "1,a\n2,b\n3,\"unclosed\n"
	direct, derrs, derr := ReadAll(CSV, strings.NewReader(in), Options{BatchSize: 1})
	d, err := NewDecoder(CSV, strings.NewReader(in), Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := Prefetch(d, 4)
	var recs []Record
	var errs []RecordError
	for {
		b, err := p.Next()
		if b != nil {
			recs = append(recs, b.Records...)
			errs = append(errs, b.Errors...)
		}
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if _, err := p.Next(); err != io.EOF {
		t.Errorf("Next after the end: %v", err)
	}
	if !reflect.DeepEqual(recs, direct) || !reflect.DeepEqual(errs, derrs) || derr != nil {
		t.Errorf("prefetched %v %v, direct %v %v", recs, errs, direct, derrs)
	}
	if err := Close(p); err != nil {
		t.Fatal(err)
	}
	// Closing early stops the goroutine even when nobody reads.
	d2, _ := NewDecoder(JSON, &lineSource{n: 1_000_000, json: true}, Options{BatchSize: 10})
	p2 := Prefetch(d2, 2)
	p2.Next()
	if err := Close(p2); err != nil {
		t.Fatal(err)
	}
}
