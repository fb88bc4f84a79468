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
	// Objects and arrays for a dynamic column are written as text by the
	// decoder: members out of order, repeated names, escapes, non-ASCII,
	// lenient syntax, whitespace and nesting must give writeJSON's text.
	`{"dyn":{"z":1,"a":{"y":[1,{"q":2,"b":null}],"x":"s"},"m":true,"a2":[]}}`,
	`{"dyn":{"a":1,"b":{"c":1,"c":[2]},"a":{"n":3}}}`,
	`{"dyn":{"k\u00e9y":"v\"q\\\n\t\r\u0001\u00e9\ud83d\ude00\/","é":"xÿ","e":"\ud800","":0}}`,
	`{'dyn':{'b':'it"s', /* note */ 'a' : [ 1 , 2.50e+3 , -0 ] }}`,
	"{\"dyn\": [ {\"b\" : 1 , \"a\" : 2} , [ ] , { } , -1.5e+3 , false, null, true ] , \"s\":\"x\"}",
	"{\"dyn\":{\"bad\xffname\":\"bad\xfe\x80value\",\"ok\":\"\u007f\x7f\"}}",
	// Members in another order than the mapping's, and repeated.
	`{"dyn":[0],"s":"z","g":null,"ts":"00:00:01","dt":"2024-01-01","d":1,"r":2,"l":3,"i":4,"b":true,"s":"last","x":{"s":1}}`,
	`{"dyn":{"a":01}}`, `{"dyn":{"a":1,}}`, `{"dyn":[1 2]}`, `{"dyn":{"a" 1}}`, `{"dyn":{"a":tru}}`,
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
		if len(wantRows) != 15 {
			t.Fatalf("%s: %d rows from whole records, want 15", name, len(wantRows))
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

// Consecutive records repeating a value share its converted value; a value
// with a problem must still be reported once per record, whatever the
// error limit.
func TestPickedRepeatedValuesReportEachRecord(t *testing.T) {
	cols := []schema.Column{{Name: "s", Type: types.String}, {Name: "l", Type: types.Long}, {Name: "dyn", Type: types.Dynamic}}
	line := `{"s":"a long string value","l":"x","dyn":{"b":1,"a":[2]}}`
	ok := `{"s":"short","l":12345,"dyn":{"b":1,"a":[2]}}`
	input := strings.Join([]string{ok, ok, line, line, line, ok, ok}, "\n")
	for _, maxErrors := range []int{0, -1, 2} {
		bind := func(pick bool) ([][]any, []format.RecordError) {
			b, err := Bind(Identity(JSON, cols), cols, Options{Source: "in", MaxStringBytes: 10, MaxErrors: maxErrors})
			if err != nil {
				t.Fatal(err)
			}
			opts := format.Options{Source: "in"}
			if pick {
				opts.Picks = b.Picks()
			}
			recs, derrs, err := format.ReadAll(format.JSON, strings.NewReader(input), opts)
			if err != nil {
				t.Fatal(err)
			}
			return b.Rows(&format.Batch{Records: recs, Errors: derrs})
		}
		wantRows, wantErrs := bind(false)
		gotRows, gotErrs := bind(true)
		if !reflect.DeepEqual(gotRows, wantRows) || !reflect.DeepEqual(gotErrs, wantErrs) {
			t.Errorf("MaxErrors %d: picked\n%v\n%v\nwhole\n%v\n%v", maxErrors, gotRows, gotErrs, wantRows, wantErrs)
		}
		if want := map[int]int{0: 6, -1: 6, 2: 2}[maxErrors]; len(gotErrs) != want {
			t.Errorf("MaxErrors %d: %d errors, want %d (two per bad record, capped)", maxErrors, len(gotErrs), want)
		}
	}
}

// FuzzPickedDynamicText: for any line, a dynamic column bound from picked
// text holds what binding the whole record gives (writeJSON of the value).
//
//	go test ./internal/ingest/mapping -run '^$' -fuzz PickedDynamicText -fuzztime 30s
func FuzzPickedDynamicText(f *testing.F) {
	for _, line := range strings.Split(pickInput, "\n") {
		f.Add(line)
	}
	cols := []schema.Column{{Name: "dyn", Type: types.Dynamic}, {Name: "s", Type: types.String}}
	m := Identity(JSON, cols)
	f.Fuzz(func(t *testing.T, line string) {
		bind := func(pick bool) ([][]any, []format.RecordError) {
			b, err := Bind(m, cols, Options{Source: "in"})
			if err != nil {
				t.Fatal(err)
			}
			opts := format.Options{Source: "in"}
			if pick {
				opts.Picks = b.Picks()
			}
			recs, derrs, err := format.ReadAll(format.JSON, strings.NewReader(line), opts)
			if err != nil {
				t.Skip() // not a line the json format reads
			}
			return b.Rows(&format.Batch{Records: recs, Errors: derrs})
		}
		wantRows, wantErrs := bind(false)
		gotRows, gotErrs := bind(true)
		if !reflect.DeepEqual(gotRows, wantRows) || !reflect.DeepEqual(gotErrs, wantErrs) {
			t.Errorf("line %q: picked %q %v, whole %q %v", line, gotRows, gotErrs, wantRows, wantErrs)
		}
	})
}
