// Package token defines the lexical tokens of KQL, byte positions in the
// query text and the mapping from positions to line:column.
package token

import (
	"fmt"
	"sort"
)

// Pos is a byte offset into the query text; NoPos marks synthesized nodes.
type Pos int

// NoPos is the position of nodes that do not come from the text.
const NoPos Pos = -1

// Kind classifies a token.
type Kind uint8

const (
	EOF Kind = iota
	Illegal
	Ident    // name, keyword or bracketed ['name']
	Int      // 123, 0x1F
	Real     // 1.5, 1e3
	String   // "a", 'b', @"c", h"d", ```e```
	Timespan // 1d, 30m, 1.5h, 10ms
	TypedLit // datetime(...), guid(...), dynamic(...), long(...) as raw text

	LParen   // (
	RParen   // )
	LBrack   // [
	RBrack   // ]
	LBrace   // {
	RBrace   // }
	Comma    // ,
	Semi     // ;
	Colon    // :
	Dot      // .
	DotDot   // ..
	Pipe     // |
	Assign   // =
	Eq       // ==
	Ne       // != or <>
	Lt       // <
	Le       // <=
	Gt       // >
	Ge       // >=
	Plus     // +
	Minus    // -
	Star     // *
	Slash    // /
	Percent  // %
	EqTilde  // =~
	NeTilde  // !~
	Bang     // !
	Tilde    // ~
	Arrow    // =>
	Question // ?
	At       // @
)

var kindNames = [...]string{
	EOF: "end of query", Illegal: "illegal character", Ident: "identifier", Int: "integer",
	Real: "real number", String: "string", Timespan: "timespan", TypedLit: "literal",
	LParen: "'('", RParen: "')'", LBrack: "'['", RBrack: "']'", LBrace: "'{'", RBrace: "'}'",
	Comma: "','", Semi: "';'", Colon: "':'", Dot: "'.'", DotDot: "'..'", Pipe: "'|'",
	Assign: "'='", Eq: "'=='", Ne: "'!='", Lt: "'<'", Le: "'<='", Gt: "'>'", Ge: "'>='",
	Plus: "'+'", Minus: "'-'", Star: "'*'", Slash: "'/'", Percent: "'%'", EqTilde: "'=~'",
	NeTilde: "'!~'", Bang: "'!'", Tilde: "'~'", Arrow: "'=>'", Question: "'?'", At: "'@'",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Token is one lexical token.
type Token struct {
	Kind Kind
	Pos  Pos    // offset of the first byte
	End  Pos    // offset just past the last byte
	Text string // the source text of the token
	// Value is the decoded value: the unquoted name of a bracketed identifier,
	// the unescaped content of a string, the inner text of a typed literal.
	Value string
	// Prefix is the type name of a TypedLit (datetime, guid, ...).
	Prefix string
	// Quoted marks identifiers written as ['x'] or strings written h"..." (obfuscated).
	Quoted bool
}

// Describe renders the token for "expected X, found Y" messages.
func (t Token) Describe() string {
	switch t.Kind {
	case EOF:
		return "end of query"
	case Ident:
		return fmt.Sprintf("'%s'", t.Value)
	case Int, Real, String, Timespan, TypedLit:
		return fmt.Sprintf("%s %s", t.Kind, t.Text)
	}
	return t.Kind.String()
}

// Source maps byte offsets of one query text to line and column.
type Source struct {
	Text  string
	lines []int // offsets of line starts
}

// NewSource indexes text's line starts.
func NewSource(text string) *Source {
	s := &Source{Text: text, lines: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			s.lines = append(s.lines, i+1)
		}
	}
	return s
}

// Position returns the 1-based line and column (in bytes) of p.
func (s *Source) Position(p Pos) (line, col int) {
	if p < 0 {
		return 0, 0
	}
	i := sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > int(p) }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, int(p) - s.lines[i] + 1
}
