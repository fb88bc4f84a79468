package dynshape

import (
	"reflect"
	"testing"
)

// Examples from Kusto's treepath() documentation.
func TestTreePath(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`{"a":"b", "c":123}`, []string{"['a']", "['c']"}},
		{`{"prop1":[1,2,3,4], "prop2":"value2"}`, []string{"['prop1']", "['prop1'][0]", "['prop2']"}},
		{`{"listProperty":[100,200,300,"abcde",{"x":"y"}]}`, []string{"['listProperty']", "['listProperty'][0]", "['listProperty'][0]['x']"}},
		{`{"it's":{"b":1}}`, []string{`['it\'s']`, `['it\'s']['b']`}},
		{`"scalar"`, []string{}},
	} {
		got, err := TreePath(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("TreePath(%s) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if _, err := TreePath(`{"a":`); err == nil {
		t.Error("truncated JSON must fail")
	}
}

// The first case is the example of Kusto's buildschema() documentation.
func TestBuildSchema(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[{"x":1, "y":3.5}, {"x":"somevalue", "z":[1, 2, 3]}, {"y":{"w":"zzz"}, "t":["aa", "bb"], "z":["foo"]}]`,
			"{\"x\":[\"long\",\"string\"],\"y\":[\"double\",{\"w\":\"string\"}],\"z\":{\"`indexer`\":[\"long\",\"string\"]},\"t\":{\"`indexer`\":\"string\"}}"},
		{`[1, 2]`, `"long"`},
		{`[null, {"a":null}]`, `{}`},
		{`[null]`, `null`},
		{`[]`, `null`},
		{`[true, [[1]]]`, "[\"bool\",{\"`indexer`\":{\"`indexer`\":\"long\"}}]"},
	} {
		got, err := BuildSchema(c.in)
		if err != nil || got != c.want {
			t.Errorf("BuildSchema(%s) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}
