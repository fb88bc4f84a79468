package lexer

import (
	"testing"

	"odx/internal/kql/token"
)

func TestLiteralForms(t *testing.T) {
	cases := []struct {
		src    string
		kind   token.Kind
		value  string
		prefix string
	}{
		{`"a\"b\n"`, token.String, "a\"b\n", ""},
		{`'it''s'`, token.String, "it", ""}, // adjacent literal follows
		{`@"c:\dir"`, token.String, `c:\dir`, ""},
		{`h"secret"`, token.String, "secret", ""},
		{"```multi\nline```", token.String, "multi\nline", ""},
		{`['my col']`, token.LBrack, "[", ""},
		{`1.5h`, token.Timespan, "1.5", "h"},
		{`10ms`, token.Timespan, "10", "ms"},
		{`0x1F`, token.Int, "0x1F", ""},
		{`1e3`, token.Real, "1e3", ""},
		{`datetime(2020-01-01 10:00)`, token.TypedLit, "2020-01-01 10:00", "datetime"},
		{`dynamic({"a": [1, (2)]})`, token.TypedLit, `{"a": [1, (2)]}`, "dynamic"},
		{`guid(74be27de-1e4e-49d9-b579-fe0b331d3642)`, token.TypedLit, "74be27de-1e4e-49d9-b579-fe0b331d3642", "guid"},
	}
	for _, c := range cases {
		toks, errs := All(c.src)
		if len(errs) > 0 {
			t.Errorf("%s: %v", c.src, errs)
			continue
		}
		got := toks[0]
		if got.Kind != c.kind || got.Value != c.value || got.Prefix != c.prefix {
			t.Errorf("%s: got %v %q %q, want %v %q %q", c.src, got.Kind, got.Value, got.Prefix, c.kind, c.value, c.prefix)
		}
	}
}

func TestPositionsAndComments(t *testing.T) {
	src := "T // comment\n| where x !~ 'a'"
	toks, _ := All(src)
	s := token.NewSource(src)
	want := []struct {
		kind      token.Kind
		line, col int
	}{{token.Ident, 1, 1}, {token.Pipe, 2, 1}, {token.Ident, 2, 3}, {token.Ident, 2, 9}, {token.NeTilde, 2, 11}, {token.String, 2, 14}, {token.EOF, 2, 17}}
	if len(toks) != len(want) {
		t.Fatalf("got %d tokens: %v", len(toks), toks)
	}
	for i, w := range want {
		l, c := s.Position(toks[i].Pos)
		if toks[i].Kind != w.kind || l != w.line || c != w.col {
			t.Errorf("token %d: got %v at %d:%d, want %v at %d:%d", i, toks[i].Kind, l, c, w.kind, w.line, w.col)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, src := range []string{`"unterminated`, "datetime(2020", "1xyz", "#"} {
		if _, errs := All(src); len(errs) == 0 {
			t.Errorf("%q: expected a lexical error", src)
		}
	}
}
