package format

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// pickPaths are the paths the picking tests extract: top-level and nested
// names, siblings under one parent, a name that needs quoting in JSONPath.
var pickPaths = [][]string{{"a"}, {"b", "c"}, {"b", "d"}, {"x y"}, {"n", "m", "k"}}

// readPicked decodes in as json lines twice, picking and in full, and
// returns both records' picked values and both error lists. asText picks
// objects and arrays as text (PickedJSON), which Any parses back.
func readPicked(t *testing.T, in string, asText bool) (picked, full [][]any, perrs, ferrs []RecordError) {
	t.Helper()
	var text []bool
	if asText {
		text = []bool{true, true, true, true, true}
	}
	ps, ok := NewPicksWithText(pickPaths, text)
	if !ok {
		t.Fatal("the test paths must be pickable")
	}
	precs, perrs, err := ReadAll(JSON, stream(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12, Picks: ps})
	if err != nil {
		t.Fatalf("json lines must not fail as a whole: %v", err)
	}
	// Picking left to Batch.Finish gives the same records and errors, in
	// the same order.
	drecs, derrs, err := ReadAll(JSON, stream(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12, Picks: ps, DeferPicking: true})
	if err != nil {
		t.Fatalf("json lines must not fail as a whole: %v", err)
	}
	if !reflect.DeepEqual(derrs, perrs) {
		t.Fatalf("deferred picking: errors %v\nwant %v", derrs, perrs)
	}
	if len(drecs) != len(precs) {
		t.Fatalf("deferred picking: %d records, want %d", len(drecs), len(precs))
	}
	for i := range drecs {
		if d, p := append([]any{drecs[i].Number, drecs[i].Line}, anys(drecs[i].Picked)...), append([]any{precs[i].Number, precs[i].Line}, anys(precs[i].Picked)...); !reflect.DeepEqual(d, p) {
			t.Fatalf("deferred picking: record %v, want %v", d, p)
		}
	}
	frecs, ferrs, err := ReadAll(JSON, stream(in), Options{BatchSize: 2, MaxRecordBytes: 1 << 12})
	if err != nil {
		t.Fatalf("json lines must not fail as a whole: %v", err)
	}
	for _, r := range precs {
		if r.Value != nil || len(r.Picked) != len(pickPaths) {
			t.Fatalf("record %d: picked %d values (Value %v), want %d", r.Number, len(r.Picked), r.Value, len(pickPaths))
		}
		picked = append(picked, append([]any{r.Number, r.Line}, anys(r.Picked)...))
	}
	for _, r := range frecs {
		out := make([]Picked, len(pickPaths))
		ps.lookup(r.Value, out)
		full = append(full, append([]any{r.Number, r.Line}, anys(out)...))
	}
	return picked, full, perrs, ferrs
}

// stream reads in as a stream of unknown length: read through the
// decoders' fixed buffer, as files are, so that a line can be too long.
func stream(in string) io.Reader { return struct{ io.Reader }{strings.NewReader(in)} }

// missingValue marks a missing path in what anys returns.
type missingValue struct{}

func anys(ps []Picked) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		v, ok := p.Any()
		if !ok {
			v = missingValue{}
		}
		out[i] = v
	}
	return out
}

func TestPicksMatchFullDecode(t *testing.T) {
	in := strings.Join([]string{
		`{"a":1,"b":{"c":"x","d":[1,{"e":2}]},"x y":true,"z":{"deep":[[[]]]}}`,
		`{"b":5,"a":null}`,          // b is not an object: b.c and b.d are missing; a is present (null)
		`{"b":{"c":1},"b":{"d":2}}`, // a repeated name: the last one wins whole
		`{"a":1,"a":{"q":"w"}}`,     // ... for a picked value too
		`{'a':'single', /* comment */ "n":{"m":{"k":-1.5e3}}} // trailing`,
		`{"a":"\u00e9\ud83d\ude00","b\u0020":1,"x\u0020y":"escaped name"}`,
		`[{"a":1}]`,                 // not an object: nothing picked
		`{"a":1,"b":{"c":2}`,        // not closed: dropped
		`{"a":1} x`,                 // trailing data: dropped
		`{"a":01}`,                  // invalid number in a picked value
		`{"z":01}`,                  // ... and in a skipped one
		`{"z":"ctl` + "\x01" + `"}`, // control character in a skipped string
		`{"z":"bad \q escape"}`,     // invalid escape in a skipped string
		`{"z":[1,2,}`,               // broken skipped array
		`"just a string"`, `42`, `null`,
		`{"b":{"c":"esc\n"},"b":{"c":"plain"}}`, // a repeated parent: the plain value after an escaped one wins
		`{"a":"esc\u00e9","a":"plain"}`,         // ... a repeated name too
		`{"a":"plain","a":"esc\t"}`,             // ... and the other way round
		`{"ab":1,"a":2,"\u0061":3}`,             // a longer name, then the name, then the name escaped
	}, "\n")
	for _, asText := range []bool{false, true} {
		picked, full, perrs, ferrs := readPicked(t, in, asText)
		if !reflect.DeepEqual(picked, full) {
			t.Fatalf("as text %v: picked %v\nfull   %v", asText, picked, full)
		}
		if !reflect.DeepEqual(perrs, ferrs) {
			t.Fatalf("as text %v: picked errors %v\nfull errors %v", asText, perrs, ferrs)
		}
	}
	picked, _, perrs, _ := readPicked(t, in, false)
	if len(picked) != 14 || len(perrs) != 7 {
		t.Fatalf("%d records and %d errors, want 14 and 7", len(picked), len(perrs))
	}
	if last := picked[len(picked)-4:]; last[0][3] != "plain" || last[1][2] != "plain" || last[2][2] != "esc\t" || last[3][2] != any(json.Number("3")) {
		t.Fatalf("repeated names: got %v", last)
	}
	if picked[0][2] != any(json1) || picked[1][2] != nil || picked[1][3] != any(missingValue{}) || picked[2][3] != any(missingValue{}) || picked[2][4] != any(json2) {
		t.Fatalf("unexpected values: %v", picked[:3])
	}
}

// A batch's errors are in record order whether its lines are picked while
// read or later (DeferPicking): a malformed line is found when the batch is
// finished, after a later line of the batch that was too long to read.
func TestDeferredPickingKeepsErrorOrder(t *testing.T) {
	in := `{"a":1,"b":{"c":2}` + "\n" + `{"a":"` + strings.Repeat("x", 300<<10) + `"}` + "\n" + `{"a":2}` + "\n"
	_, _, perrs, _ := readPicked(t, in, false) // compares the deferred errors with these
	if len(perrs) != 2 || perrs[0].Record != 1 || perrs[0].Code != CodeMalformedRecord || perrs[1].Record != 2 || perrs[1].Code != CodeInputTooLarge {
		t.Fatalf("errors %v, want record 1 malformed, then record 2 too large", perrs)
	}
}

const json1, json2 = json.Number("1"), json.Number("2")

func TestNewPicksRejectsOverlappingPaths(t *testing.T) {
	for _, paths := range [][][]string{{{}}, {{"a"}, {"a", "b"}}, {{"a", "b"}, {"a"}}, {{"a"}, {"a"}}} {
		if _, ok := NewPicks(paths); ok {
			t.Errorf("NewPicks(%v) accepted paths it cannot pick faithfully", paths)
		}
	}
}

// FuzzJSONPicks: a json decoder that picks paths yields exactly the values
// and errors that a full decode followed by a path lookup yields.
func FuzzJSONPicks(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"c":2,"d":[3]}}`, `{"b":{"c":1},"b":{"d":2}}`, `{"x y":'q'} // c`, `{"a":1}` + "\n" + `{"a"`, `[{"a":1}]`, `{"n":{"m":{"k":{}}}}`, `{"a":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, asText := range []bool{false, true} {
			picked, full, perrs, ferrs := readPicked(t, in, asText)
			if !reflect.DeepEqual(picked, full) {
				t.Fatalf("as text %v: picked %v\nfull   %v", asText, picked, full)
			}
			if !reflect.DeepEqual(perrs, ferrs) {
				t.Fatalf("as text %v: picked errors %v\nfull errors %v", asText, perrs, ferrs)
			}
		}
	})
}
