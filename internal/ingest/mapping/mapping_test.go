package mapping

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"odx/internal/ingest/format"
	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

func code(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return ""
}

func TestParseAcceptsEveryDocumentedForm(t *testing.T) {
	cases := []struct {
		kind Kind
		text string
		want Element
	}{
		{JSON, `[{"column":"a","Properties":{"Path":"$.x"}}]`, Element{Column: "a", Path: "$.x", Ordinal: -1}},
		{CSV, `[{"Column":"a","Properties":{"Ordinal":"0"}}]`, Element{Column: "a", Ordinal: 0}},
		{CSV, `[{"column":"a","properties":{"ordinal":3}}]`, Element{Column: "a", Ordinal: 3}},
		{JSON, `[{"column":"a","path":"$.x","datatype":"long"}]`, Element{Column: "a", Path: "$.x", DataType: "long", Ordinal: -1}},
		{JSON, `[{"column":"timeStamp","path":"$['timeStamp']","datatype":"","transform":null}]`, Element{Column: "timeStamp", Path: "$['timeStamp']", Ordinal: -1}},
		{CSV, `[{"Name":"rownumber","DataType":"int","CsvDataType":null,"Ordinal":0,"ConstValue":null}]`, Element{Column: "rownumber", DataType: "int", Ordinal: 0}},
		{JSON, `[{"column":"_ts","path":"$._ts","transform":"DateTimeFromUnixSeconds"}]`, Element{Column: "_ts", Path: "$._ts", Transform: DateTimeFromUnixSeconds, Ordinal: -1}},
		{CSV, `[{"Column":"src","Properties":{"Transform":"SourceLocation"}}]`, Element{Column: "src", Transform: SourceLocation, Ordinal: -1}},
		{CSV, `[{"Column":"c","Properties":{"ConstValue":"2023-01-01T10:32:00"}}]`, Element{Column: "c", Const: "2023-01-01T10:32:00", HasConst: true, Ordinal: -1}},
		{Avro, `[{"Column":"e","Properties":{"Field":"EventName"}}]`, Element{Column: "e", Field: "EventName", Ordinal: -1}},
		{W3CLogFile, `[{"Column":"ua","Properties":{"Field":"cs(User-Agent)"}}]`, Element{Column: "ua", Field: "cs(User-Agent)", Ordinal: -1}},
		// ADX: a JSON Path that does not start with $ is a constant.
		{JSON, `[{"column":"k","Properties":{"Path":"fixed"}}]`, Element{Column: "k", Const: "fixed", HasConst: true, Ordinal: -1}},
	}
	for _, c := range cases {
		m, err := Parse(c.kind, c.text)
		if err != nil {
			t.Errorf("%s: %v", c.text, err)
			continue
		}
		got := m.Elements[0]
		got.path = nil
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.text, got, c.want)
		}
	}
}

func TestParseErrorsNameTheElement(t *testing.T) {
	cases := []struct {
		kind Kind
		text string
		want string
	}{
		{CSV, `{"column":"a"}`, "JSON array"},
		{CSV, `[]`, "no elements"},
		{CSV, `[{"column":"a","Properties":{"Ordinal":"0"}},{"column":"b","Properties":{}}]`, "element 2 (column b): the element needs an Ordinal"},
		{CSV, `[{"column":"a","Properties":{"Ordinal":"-1"}}]`, "element 1 (column a): Ordinal \"-1\""},
		{CSV, `[{"column":"a","Properties":{"Ordinal":"1","ConstValue":"x"}}]`, "Ordinal must be unset"},
		{CSV, `[{"column":"a","Properties":{"Path":"$.a"}}]`, "uses Ordinal"},
		{JSON, `[{"column":"a","Properties":{"Path":"$.a["}}]`, "element 1 (column a): Path"},
		{JSON, `[{"column":"a","Properties":{"Path":"$.a","Transform":"Frobnicate"}}]`, "unknown Transform \"Frobnicate\""},
		{JSON, `[{"column":"a","Properties":{"Path":"$.a","Transform":"BytesAsBase64"}}]`, "not available for Json"},
		{W3CLogFile, `[{"column":"a","Properties":{"Field":"x","Transform":"DropMappedFields"}}]`, "not available for W3CLogFile"},
		{Parquet, `[{"column":"a","Properties":{"Path":"$.a","Field":"a"}}]`, "mutually exclusive"},
		{JSON, `[{"column":"a","Properties":{"Path":"$.a"}},{"column":"a","Properties":{"Path":"$.b"}}]`, "elements 1 and 2 both map column a"},
		{JSON, `[{"Properties":{"Path":"$.a"}}]`, "no \"column\""},
		{JSON, `[{"column":"a","Properties":{"Path":"$.a","Colour":"red"}}]`, "unknown property \"colour\""},
	}
	for _, c := range cases {
		_, err := Parse(c.kind, c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) || code(err) != format.CodeInvalidMapping {
			t.Errorf("%s: error %v, want it to contain %q (code %s)", c.text, err, c.want, format.CodeInvalidMapping)
		}
	}
}

func TestPaths(t *testing.T) {
	rec := map[string]any{"a": map[string]any{"b": []any{"zero", map[string]any{"x y": 5}}}, "dash-ed": 1, "it's": 2}
	cases := map[string]any{
		"$.a.b[0]":           "zero",
		"$.a.b[1]['x y']":    5,
		`$["a"].b[1]["x y"]`: 5,
		"$.dash-ed":          1,
		`$['it\'s']`:         2,
	}
	for text, want := range cases {
		p, err := parsePath(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		got, ok := p.lookup(rec)
		if !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", text, got, ok, want)
		}
	}
	p, _ := parsePath("$")
	if got, _ := p.lookup(rec); got == nil {
		t.Error("$ must be the whole record")
	}
	for _, missing := range []string{"$.nope", "$.a.b[7]", "$.a.b.c", "$[0]"} {
		p, _ := parsePath(missing)
		if _, ok := p.lookup(rec); ok {
			t.Errorf("%s found something", missing)
		}
	}
	for _, bad := range []string{"a.b", "$.", "$[x]", "$['open", "$a"} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

var table = []schema.Column{
	{Name: "Timestamp", Type: types.DateTime},
	{Name: "Name", Type: types.String},
	{Name: "Value", Type: types.Long},
}

func TestValidateAgainstSchema(t *testing.T) {
	m, _ := Parse(JSON, `[{"column":"Timestamp","Properties":{"Path":"$.t"}},{"column":"name","Properties":{"Path":"$.n"}}]`)
	err := m.Validate(table)
	if code(err) != format.CodeInconsistentMapping || !strings.Contains(err.Error(), "element 2 maps column name") {
		t.Errorf("case-sensitive column: %v", err)
	}
	m, _ = Parse(JSON, `[{"column":"Value","datatype":"string","Properties":{"Path":"$.v"}}]`)
	if err := m.Validate(table); err == nil || !strings.Contains(err.Error(), "declares column Value as string, but the table column is long") {
		t.Errorf("type clash: %v", err)
	}
	m, _ = Parse(JSON, `[{"column":"Value","datatype":"int64","Properties":{"Path":"$.v"}}]`)
	if err := m.Validate(table); err != nil {
		t.Errorf("int64 is long: %v", err)
	}
	m, _ = Parse(JSON, `[{"column":"Value","Properties":{"Path":"$.v","Transform":"DateTimeFromUnixSeconds"}}]`)
	if err := m.Validate(table); err == nil || !strings.Contains(err.Error(), "produces a datetime") {
		t.Errorf("transform into long: %v", err)
	}
	m, _ = Parse(CSV, `[{"column":"Timestamp","Properties":{"ConstValue":"not a date"}}]`)
	if err := m.Validate(table); err == nil || !strings.Contains(err.Error(), "ConstValue \"not a date\"") {
		t.Errorf("bad constant: %v", err)
	}
	m, _ = Parse(CSV, `[{"column":"Extra","DataType":"real","Properties":{"Ordinal":"3"}},{"column":"Name","Properties":{"Ordinal":"1"}}]`)
	if nc := m.NewColumns(table); len(nc) != 1 || nc[0] != (schema.Column{Name: "Extra", Type: types.Real}) {
		t.Errorf("NewColumns = %v", nc)
	}
}

func TestIdentityAndCanonicalJSON(t *testing.T) {
	csv := Identity(CSV, table)
	if got := csv.JSON(); got != `[{"column":"Timestamp","Properties":{"Ordinal":"0"}},{"column":"Name","Properties":{"Ordinal":"1"}},{"column":"Value","Properties":{"Ordinal":"2"}}]` {
		t.Errorf("csv identity: %s", got)
	}
	cols := []schema.Column{{Name: "it's", Type: types.Long}}
	js := Identity(JSON, cols)
	if got := js.JSON(); got != `[{"column":"it's","Properties":{"Path":"$['it\\'s']"}}]` {
		t.Errorf("json identity: %s", got)
	}
	// The canonical text parses back to the same mapping.
	back, err := Parse(JSON, js.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := back.Elements[0].path.lookup(map[string]any{"it's": 1}); !ok || v != 1 {
		t.Errorf("round trip lost the path: %v", back.Elements[0])
	}
	m, _ := Parse(JSON, `[{"column":"a","path":"$.x","datatype":"long","transform":"DateTimeFromUnixSeconds"},{"Name":"b","ConstValue":7}]`)
	if got := m.JSON(); got != `[{"column":"a","datatype":"long","Properties":{"Path":"$.x","Transform":"DateTimeFromUnixSeconds"}},{"column":"b","Properties":{"ConstValue":"7"}}]` {
		t.Errorf("legacy to canonical: %s", got)
	}
	if Identity(Parquet, table).Elements[2].Field != "Value" {
		t.Error("parquet identity maps by name")
	}
}

func TestKinds(t *testing.T) {
	for f, k := range map[format.Format]Kind{format.TSVE: CSV, format.Raw: CSV, format.MultiJSON: JSON, format.ApacheAvro: Avro, format.Parquet: Parquet, format.W3CLogFile: W3CLogFile, format.ORC: ORC} {
		if KindOf(f) != k {
			t.Errorf("KindOf(%s) = %s", f, KindOf(f))
		}
	}
	if k, err := ParseKind("apacheavro"); err != nil || k != Avro {
		t.Errorf("apacheavro: %v %v", k, err)
	}
	if k, err := ParseKind("JSON"); err != nil || k != JSON {
		t.Errorf("JSON: %v %v", k, err)
	}
	if _, err := ParseKind("xml"); err == nil {
		t.Error("xml accepted")
	}
}
