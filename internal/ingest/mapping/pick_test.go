package mapping

import (
	"reflect"
	"strings"
	"testing"

	"odx/internal/ingest/format"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// pickInput has, for every column type, values of every JSON kind (strings,
// numbers in and out of range, booleans, null, arrays, objects, missing),
// so that binding picked values is checked against binding whole records.
var pickInput = strings.Join([]string{
	`{"b":true,"i":-5,"l":9007199254740993,"r":1.5e3,"d":12.3456789012345,"dt":"2024-01-02T03:04:05.1234567Z","ts":"1.02:03:04.5","s":"a \"q\"","g":"12345678-9abc-def0-1234-56789abcdef0","dyn":{"k":[1,2]},"n":{"x":"y"}}`,
	`{"b":"1","i":"7","l":"3.0","r":"-Infinity","d":"1e40","dt":"2024-13-01","ts":"nope","s":12.50,"g":"not-a-guid","dyn":"plain text","n":{"x":1}}`,
	`{"b":0,"i":2147483648,"l":1.5,"r":1e400,"d":-1,"dt":1700000000,"ts":100,"s":true,"g":null,"dyn":null,"n":5}`,
	`{"b":[1],"i":{"a":1},"l":null,"r":false,"d":"x","dt":null,"ts":[],"s":{"z":1,"a":[null]},"g":1,"dyn":1.50}`,
	`{"i":1e3,"l":"-0","r":"  2.5 ","s":"\u00e9\ud800","dyn":[1,"x"],"n":{}}`,
	`{}`, `[1,2]`, `"text"`, `{"bad":`,
}, "\n")

func bindJSON(t *testing.T, m *Mapping, cols []schema.Column, pick bool) ([][]any, []format.RecordError) {
	t.Helper()
	b, err := Bind(m, cols, Options{Source: "src://in"})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	opts := format.Options{Source: "src://in"}
	if pick {
		if opts.Picks = b.Picks(); opts.Picks == nil {
			t.Fatalf("mapping %s should be pickable", m.JSON())
		}
	}
	recs, derrs, err := format.ReadAll(format.JSON, strings.NewReader(pickInput), opts)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return b.Rows(&format.Batch{Records: recs, Errors: derrs})
}

func TestPickedBindingMatchesWholeRecords(t *testing.T) {
	cols := append(append([]schema.Column{}, allTypes...), schema.Column{Name: "nx", Type: types.String}, schema.Column{Name: "line", Type: types.Long})
	identity := Identity(JSON, allTypes)
	withNested := &Mapping{Kind: JSON, Elements: append(append([]Element{}, identity.Elements...),
		Element{Column: "nx", Path: "$.n.x", Ordinal: -1}, Element{Column: "line", Transform: SourceLineNumber, Ordinal: -1})}
	unix := &Mapping{Kind: JSON, Elements: []Element{{Column: "dt", Path: "$.dt", Transform: DateTimeFromUnixSeconds, Ordinal: -1}, {Column: "s", Path: "$['s']", Ordinal: -1}, {Column: "dyn", Path: "$.n", Transform: DropMappedFields, Ordinal: -1}}}
	for name, m := range map[string]*Mapping{"identity": identity, "nested": withNested, "transforms": unix} {
		m, cols := m, cols
		if m == identity {
			cols = allTypes
		}
		if err := m.Validate(cols); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wantRows, wantErrs := bindJSON(t, m, cols, false)
		gotRows, gotErrs := bindJSON(t, m, cols, true)
		if len(wantRows) != 8 {
			t.Fatalf("%s: %d rows from whole records, want 8", name, len(wantRows))
		}
		if !reflect.DeepEqual(gotRows, wantRows) {
			t.Errorf("%s: picked rows\n%#v\nwhole-record rows\n%#v", name, gotRows, wantRows)
		}
		if !reflect.DeepEqual(gotErrs, wantErrs) {
			t.Errorf("%s: picked errors\n%v\nwhole-record errors\n%v", name, gotErrs, wantErrs)
		}
	}
}

func TestPicksNeedSimplePaths(t *testing.T) {
	cols := []schema.Column{{Name: "a", Type: types.Dynamic}, {Name: "b", Type: types.Long}}
	for _, paths := range [][2]string{{"$", "$.b"}, {"$.a", "$.a.b"}, {"$.a[0]", "$.b"}} {
		m := &Mapping{Kind: JSON, Elements: []Element{{Column: "a", Path: paths[0], Ordinal: -1}, {Column: "b", Path: paths[1], Ordinal: -1}}}
		b, err := Bind(m, cols, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if b.Picks() != nil {
			t.Errorf("paths %v: picking cannot give what a whole record gives, yet Picks is set", paths)
		}
	}
}
