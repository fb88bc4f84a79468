package mapping

import (
	"os"
	"strings"
	"testing"
	"time"

	"odx/internal/ingest/format"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// The Orc mapping kind takes Path or Field (not Ordinal), as ADX's ORC
// mapping documentation says, and the transforms of the other named kinds.
func TestORCMappingRules(t *testing.T) {
	if k, err := ParseKind("orc"); err != nil || k != ORC || KindOf(format.ORC) != ORC {
		t.Fatalf("ParseKind(orc) = %v %v", k, err)
	}
	good := `[{"column":"a","Properties":{"Path":"$.Event.Name"}},{"column":"b","Properties":{"Field":"EventName"}},
		{"column":"c","Properties":{"Path":"$.Timestamp","Transform":"DateTimeFromUnixMilliseconds"}},
		{"column":"d","Properties":{"ConstValue":"2021-01-01T10:32:00"}},{"column":"e","Properties":{"Path":"$"}},
		{"column":"f","Properties":{"Transform":"SourceLocation"}},{"column":"g","Properties":{"Path":"$.bag","Transform":"PropertyBagArrayToDictionary"}}]`
	if _, err := Parse(ORC, good); err != nil {
		t.Fatalf("the documented ORC mapping forms: %v", err)
	}
	for text, want := range map[string]string{
		`[{"column":"a","Properties":{"Ordinal":"0"}}]`:                            "not Ordinal",
		`[{"column":"a","Properties":{"Path":"$.a","Field":"a"}}]`:                 "mutually exclusive",
		`[{"column":"a","Properties":{"Path":"$.a","Transform":"BytesAsBase64"}}]`: "not available",
	} {
		if _, err := Parse(ORC, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", text, err, want)
		}
	}
}

// Apache ORC Java's TestOrcFile.test1.orc bound with an Orc mapping that
// reaches into its nested struct, list and map columns.
func TestORCRecordsBindWithPaths(t *testing.T) {
	fh, err := os.Open("../format/testdata/orc/TestOrcFile.test1.orc")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, _, err := format.ReadAll(format.ORC, fh, format.Options{Source: "test1.orc"})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	cols := []schema.Column{{Name: "first", Type: types.Int}, {Name: "word", Type: types.String}, {Name: "chani", Type: types.Long},
		{Name: "big", Type: types.Long}, {Name: "f", Type: types.Real}, {Name: "when", Type: types.DateTime}, {Name: "src", Type: types.String}}
	m, err := Parse(ORC, `[{"column":"first","Properties":{"Path":"$.middle.list[0].int1"}},
		{"column":"word","Properties":{"Path":"$['list'][1].string1"}},{"column":"chani","Properties":{"Path":"$.map.chani.int1"}},
		{"column":"big","Properties":{"Field":"long1"}},{"column":"f","Properties":{"Field":"float1"}},
		{"column":"when","Properties":{"Path":"$.int1","Transform":"DateTimeFromUnixSeconds"}},
		{"column":"src","Properties":{"Transform":"SourceLocation"}}]`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Bind(m, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, errs := b.ForSource("test1.orc").Rows(&format.Batch{Records: recs})
	if len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	// Row 2 as orc-tools prints it: "int1": 65536, "long1": 9223372036854775807, "float1": 2,
	// "list": [..., {"int1": -100000, "string1": "in"}, ...], "map": [{"key": "chani", "value": {"int1": 5, ...}}, ...]
	want := []any{int32(1), "in", int64(5), int64(9223372036854775807), 2.0, time.Unix(65536, 0).UTC(), "test1.orc"}
	for i, w := range want {
		if !equal(rows[1][i], w) {
			t.Errorf("%s = %#v, want %#v", cols[i].Name, rows[1][i], w)
		}
	}
}
