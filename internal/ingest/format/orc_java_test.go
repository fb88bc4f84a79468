package format

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The ORC files under testdata/orc were written by Apache ORC's Java writer
// for its own test suite; next to each, Apache ORC's `orc-tools data`
// printed every row as JSON (the .jsn.gz files). These tests decode each
// file with odx and compare every value of every row with that independent
// reading.

// javaORCFiles are the files compared row by row, with what each one covers.
var javaORCFiles = []string{
	"TestOrcFile.test1",                         // every primitive, nested struct/list/map, zlib
	"TestOrcFile.testDate1900",                  // timestamps and dates before 1970 with fractions, 70,000 rows, 7 stripes
	"TestOrcFile.testTimestamp",                 // nanosecond timestamps, writer time zone
	"TestOrcFile.testUnionAndTimestamp",         // union, decimal(38,18), nulls
	"TestOrcFile.testStringAndBinaryStatistics", // binary with nulls
	"TestOrcFile.emptyFile",                     // no rows
	"TestVectorOrcFile.testLz4",                 // LZ4
	"TestOrcFile.testSnappy",                    // SNAPPY
	"decimal",                                   // decimal column, RLE v2
	"orc-file-11-format",                        // Hive 0.11 writer: RLE v1, every type
	"over1k_bloom",                              // bloom filter streams to skip
}

func javaORCDir(t testing.TB) string {
	if d := os.Getenv("ODX_ORC_EXAMPLES"); d != "" {
		return d
	}
	return filepath.Join("testdata", "orc")
}

func TestORCMatchesApacheORCJava(t *testing.T) {
	dir := javaORCDir(t)
	files := javaORCFiles
	if os.Getenv("ODX_ORC_EXAMPLES") != "" {
		ents, _ := filepath.Glob(filepath.Join(dir, "*.orc"))
		files = nil
		for _, e := range ents {
			files = append(files, strings.TrimSuffix(filepath.Base(e), ".orc"))
		}
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			compareWithJava(t, filepath.Join(dir, name+".orc"), filepath.Join(dir, "expected", name+".jsn.gz"))
		})
	}
}

func compareWithJava(t *testing.T, orcPath, jsonPath string) {
	f, err := os.Open(orcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ef, err := os.Open(jsonPath)
	if err != nil {
		t.Skipf("no expected output: %v", err)
	}
	defer ef.Close()
	zr, err := gzip.NewReader(ef)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)

	d, err := NewDecoder(ORC, f, Options{Source: filepath.Base(orcPath), BatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer Close(d)
	od := d.(*orcDecoder)
	rows, mismatches := 0, 0
	for {
		b, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d rows: %v", rows, err)
		}
		for _, r := range b.Records {
			if !sc.Scan() {
				t.Fatalf("odx read more rows than Java: row %d %v", rows+1, r.Value)
			}
			rows++
			if r.Number != int64(rows) {
				t.Fatalf("record number %d at row %d", r.Number, rows)
			}
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			var want any
			if err := dec.Decode(&want); err != nil {
				t.Fatal(err)
			}
			if msg := sameAsJava(od, 0, r.Value, want, "$"); msg != "" {
				mismatches++
				if mismatches <= 5 {
					t.Errorf("row %d: %s", rows, msg)
				}
			}
		}
	}
	if sc.Scan() {
		t.Fatalf("odx read %d rows; Java has more: %s", rows, sc.Text())
	}
	if mismatches > 0 {
		t.Errorf("%d of %d rows differ", mismatches, rows)
	}
	t.Logf("%d rows equal", rows)
}

// sameAsJava compares a value odx decoded for ORC column id with the JSON
// that orc-tools printed for it, returning "" when they agree.
func sameAsJava(d *orcDecoder, id int, got, want any, where string) string {
	t := d.tail.types[id]
	if id == 0 && t.kind != orcStruct { // odx names the value of a non-struct root _col0
		got = got.(map[string]any)["_col0"]
	}
	if w, ok := want.(map[string]any); ok && t.kind == orcUnion && w["value"] == nil {
		want = nil // a union whose branch value is null is null
	}
	if want == nil || got == nil {
		if want == nil && got == nil {
			return ""
		}
		return fmt.Sprintf("%s: got %#v, want %#v", where, got, want)
	}
	bad := func() string { return fmt.Sprintf("%s: got %#v (%T), want %#v", where, got, got, want) }
	switch t.kind {
	case orcStruct:
		g, ok1 := got.(map[string]any)
		w, ok2 := want.(map[string]any)
		if !ok1 || !ok2 || len(g) != len(t.names) {
			return bad()
		}
		for i, name := range t.names {
			if msg := sameAsJava(d, t.subtypes[i], g[name], w[name], where+"."+name); msg != "" {
				return msg
			}
		}
		return ""
	case orcList:
		g, ok1 := got.([]any)
		w, ok2 := want.([]any)
		if !ok1 || !ok2 || len(g) != len(w) {
			return bad()
		}
		for i := range g {
			if msg := sameAsJava(d, t.subtypes[0], g[i], w[i], fmt.Sprintf("%s[%d]", where, i)); msg != "" {
				return msg
			}
		}
		return ""
	case orcMap: // orc-tools prints [{"key":k,"value":v}, ...]
		g, ok1 := got.(map[string]any)
		w, ok2 := want.([]any)
		if !ok1 || !ok2 || len(g) != len(w) {
			return bad()
		}
		for _, e := range w {
			kv := e.(map[string]any)
			k := fmt.Sprint(kv["key"])
			if msg := sameAsJava(d, t.subtypes[1], g[k], kv["value"], where+"."+k); msg != "" {
				return msg
			}
		}
		return ""
	case orcUnion: // {"tag":n,"value":v}
		w := want.(map[string]any)
		tag, _ := w["tag"].(json.Number).Int64()
		return sameAsJava(d, t.subtypes[tag], got, w["value"], where+"|"+fmt.Sprint(tag))
	case orcBinary:
		g, ok := got.([]byte)
		w, _ := want.([]any)
		if !ok || len(g) != len(w) {
			return bad()
		}
		for i := range g {
			if fmt.Sprint(g[i]) != w[i].(json.Number).String() {
				return bad()
			}
		}
		return ""
	case orcTimestamp, orcTimestampInstant:
		g, ok := got.(time.Time)
		wt, err := time.Parse("2006-01-02 15:04:05.999999999", want.(string))
		if !ok || err != nil || !g.Equal(wt) {
			return bad()
		}
		return ""
	case orcDate:
		g, ok := got.(time.Time)
		if !ok || g.Format("2006-01-02") != want.(string) || g.Hour() != 0 {
			return bad()
		}
		return ""
	case orcDecimal:
		g, ok := got.(Decimal)
		var a, b big.Rat
		if !ok {
			return bad()
		}
		if _, ok := a.SetString(string(g)); !ok {
			return bad()
		}
		if _, ok := b.SetString(want.(json.Number).String()); !ok || a.Cmp(&b) != 0 {
			return bad()
		}
		return ""
	case orcFloat, orcDouble:
		g, ok := got.(float64)
		w, err := want.(json.Number).Float64()
		if !ok || err != nil {
			return bad()
		}
		// orc-tools prints floats with 7 and doubles with 14 significant
		// digits at most.
		// orc-tools prints at most 7 (float) or 14 (double) significant
		// digits: equal means within half a unit of the last printed digit.
		tolerance := 5e-14
		if t.kind == orcFloat {
			tolerance = 5e-7
		}
		if math.Abs(g-w) > tolerance*math.Abs(w) {
			return bad()
		}
		return ""
	case orcBoolean:
		if got != want {
			return bad()
		}
		return ""
	case orcByte, orcShort, orcInt, orcLong:
		if fmt.Sprint(got) != want.(json.Number).String() {
			return bad()
		}
		return ""
	default: // strings
		if got != want {
			return bad()
		}
		return ""
	}
}
