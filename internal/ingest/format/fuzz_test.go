package format

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzCSV: any input, in any CSV-family format, decodes without panicking,
// every record is numbered in order, and no record is lost silently: a
// record either comes back or is reported.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\"x\"\"y\",\"multi\nline\"\r\n", "\"unclosed", "a\\tb\t\\", "\n\n,\n", "\x01\x01|;"} {
		f.Add(s, uint8(0), true)
	}
	formats := []Format{CSV, TSV, TSVE, PSV, SCSV, SOHSV, TXT, Raw}
	f.Fuzz(func(t *testing.T, in string, which uint8, header bool) {
		fm := formats[int(which)%len(formats)]
		recs, errs, err := ReadAll(fm, strings.NewReader(in), Options{BatchSize: 3, IgnoreFirstRecord: header, CheckFieldCount: true, MaxRecordBytes: 1 << 12})
		if err != nil && codeOf(err) == "" {
			t.Fatalf("error without a code: %v", err)
		}
		last := int64(0)
		for _, r := range recs {
			if r.Number <= last {
				t.Fatalf("record numbers not increasing: %d after %d", r.Number, last)
			}
			last = r.Number
			if len(r.Fields) == 0 {
				t.Fatalf("record %d has no fields", r.Number)
			}
		}
		for _, e := range errs {
			if e.Code == "" || e.Message == "" {
				t.Fatalf("record error without code or message: %+v", e)
			}
		}
		if fm == CSV && !strings.ContainsAny(in, "\"\r") && err == nil && !header {
			// Without quotes, the records are exactly the non-empty lines.
			var want int
			for _, line := range strings.Split(in, "\n") {
				if line != "" {
					want++
				}
			}
			if len(recs) != want {
				t.Fatalf("%d records for %d non-empty lines", len(recs), want)
			}
		}
	})
}

// FuzzJSON: any input decodes as json, multijson and singlejson without
// panicking, and json (lines) accounts for every non-empty line.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}` + "\n" + `{"b":[1,2,{"c":null}]}`, `[{"a":1},{"a":2}]`, `{"a":`, `]]]`, "{}\n\n[]", `"x" 1 true null`, `[{"a":1} {"b":2}]`, `{"s":"\\u00e9\\ud83d\\ude00\\ud800x\\n\xff"}`, `-0.5e+3`, `01`, `{"a" 1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		recs, errs, err := ReadAll(JSON, strings.NewReader(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12})
		if err != nil {
			t.Fatalf("json lines must not fail as a whole: %v", err)
		}
		lines := 0
		for _, line := range strings.Split(in, "\n") {
			if len(bytes.TrimSpace([]byte(line))) > 0 {
				lines++
			}
		}
		if len(recs)+len(errs) != lines {
			t.Fatalf("%d records + %d errors for %d non-empty lines", len(recs), len(errs), lines)
		}
		// The JSON-lines parser agrees with encoding/json on every line.
		for _, line := range strings.Split(in, "\n") {
			got, err := parseJSON([]byte(line))
			want, werr := stdDecode(line)
			if (err == nil) != (werr == nil) {
				t.Fatalf("line %q: parseJSON error %v, encoding/json error %v", line, err, werr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("line %q: parseJSON %#v, encoding/json %#v", line, got, want)
			}
			// The lenient reader of the json format accepts a superset.
			lp := jsonParser{data: []byte(line), lenient: true, keys: keyCache{}}
			lv, lerr := lp.parse()
			if werr == nil && (lerr != nil || !reflect.DeepEqual(lv, want)) {
				t.Fatalf("line %q: lenient parse %#v (%v), encoding/json %#v", line, lv, lerr, want)
			}
		}
		for _, fm := range []Format{MultiJSON, SingleJSON} {
			_, _, err := ReadAll(fm, strings.NewReader(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12})
			if err != nil && codeOf(err) == "" {
				t.Fatalf("%s: error without a code: %v", fm, err)
			}
		}
	})
}

func stdDecode(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if strings.Trim(s[dec.InputOffset():], " \t\r\n") != "" {
		return nil, errTrailing
	}
	return v, nil
}

var errTrailing = &json.SyntaxError{}
