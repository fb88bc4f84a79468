package mgmt

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"odx/internal/kerr"
)

// tokKind classifies a token of a management command.
type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokCommand         // .create, .create-merge, .set-or-append
	tokIdent           // a name or keyword; Quoted when written as ['...']
	tokString          // a string literal, unescaped
	tokNumber          // 10, 1.5, 10d (a number with its unit suffix)
	tokPunct           // ( ) , : = { } [ ] ; <| and any other symbol
)

type token struct {
	kind   tokKind
	text   string // identifier, unescaped string, number or punctuation
	quoted bool   // identifier written in brackets: never a keyword
	pos    int    // byte offset in the command text
	end    int
}

// describe names a token in "expected X, found Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of command"
	case tokString:
		return "string literal"
	}
	return "'" + t.text + "'"
}

// scanner reads tokens on demand, so the parser can take raw text (a query
// after `<|`, a function body) straight from the source.
type scanner struct {
	src string
	pos int
}

func (s *scanner) position(off int) (line, col int) {
	line, col = 1, 1
	for i, r := range s.src {
		if i >= off {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return
}

func (s *scanner) errAt(off int, format string, args ...any) *kerr.Error {
	line, col := s.position(off)
	return kerr.Syntax(line, col, format, args...)
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			s.pos++
		case strings.HasPrefix(s.src[s.pos:], "//"):
			for s.pos < len(s.src) && s.src[s.pos] != '\n' {
				s.pos++
			}
		default:
			return
		}
	}
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// atCommandStart reports whether a dot at off begins a command word rather
// than qualifying a name (`T.c`, `['T'].['c']`).
func (s *scanner) atCommandStart(off int) bool {
	if off == 0 {
		return true
	}
	prev := s.src[off-1]
	return prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r' || prev == ';'
}

// scan reads the token at s.pos and advances past it.
func (s *scanner) scan() (token, error) {
	s.skipSpace()
	start := s.pos
	if s.pos >= len(s.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	rest := s.src[s.pos:]
	c := rest[0]
	r, size := utf8.DecodeRuneInString(rest)
	switch {
	case c == '.' && len(rest) > 1 && isIdentStart(rune(rest[1])) && s.atCommandStart(start):
		i := 1
		for i < len(rest) && (isIdentPart(rune(rest[i])) || rest[i] == '-') {
			i++
		}
		s.pos += i
		return token{kind: tokCommand, text: strings.ToLower(rest[:i]), pos: start, end: s.pos}, nil
	case isIdentStart(r):
		i := size
		for i < len(rest) {
			r2, n := utf8.DecodeRuneInString(rest[i:])
			// A dash inside a name (my-db) belongs to it when a name character follows.
			if r2 == '-' && i+1 < len(rest) && isIdentPart(rune(rest[i+1])) {
				i++
				continue
			}
			if !isIdentPart(r2) {
				break
			}
			i += n
		}
		// h'...' and @'...' prefixes are strings, not names.
		if i == 1 && (c == 'h' || c == 'H') && i < len(rest) && (rest[i] == '\'' || rest[i] == '"') {
			s.pos++
			return s.scanString(start)
		}
		s.pos += i
		return token{kind: tokIdent, text: rest[:i], pos: start, end: s.pos}, nil
	case c >= '0' && c <= '9':
		i := 0
		for i < len(rest) && (isIdentPart(rune(rest[i])) || rest[i] == '.' || rest[i] == '-' && i > 0 && (rest[i-1] == 'e' || rest[i-1] == 'E')) {
			i++
		}
		s.pos += i
		return token{kind: tokNumber, text: rest[:i], pos: start, end: s.pos}, nil
	case c == '\'' || c == '"' || c == '@' || strings.HasPrefix(rest, "```"):
		return s.scanString(start)
	case c == '[' && len(rest) > 1 && (rest[1] == '\'' || rest[1] == '"'):
		s.pos++
		str, err := s.scanString(s.pos)
		if err != nil {
			return token{}, err
		}
		s.skipSpace()
		if s.pos >= len(s.src) || s.src[s.pos] != ']' {
			return token{}, s.errAt(s.pos, "expected ']' to close the bracketed name")
		}
		s.pos++
		return token{kind: tokIdent, text: str.text, quoted: true, pos: start, end: s.pos}, nil
	case strings.HasPrefix(rest, "<|"):
		s.pos += 2
		return token{kind: tokPunct, text: "<|", pos: start, end: s.pos}, nil
	}
	s.pos += size
	return token{kind: tokPunct, text: rest[:size], pos: start, end: s.pos}, nil
}

// scanString reads one string literal starting at s.pos: '...', "...",
// @'...' (verbatim), ```...``` (multi-line). Adjacent literals are joined
// by the parser, as Kusto does.
func (s *scanner) scanString(start int) (token, error) {
	rest := s.src[s.pos:]
	if strings.HasPrefix(rest, "```") {
		end := strings.Index(rest[3:], "```")
		if end < 0 {
			return token{}, s.errAt(start, "unterminated ``` string literal")
		}
		s.pos += 3 + end + 3
		return token{kind: tokString, text: rest[3 : 3+end], pos: start, end: s.pos}, nil
	}
	verbatim := false
	if rest[0] == '@' {
		verbatim = true
		rest = rest[1:]
		s.pos++
		if rest == "" || (rest[0] != '\'' && rest[0] != '"') {
			return token{}, s.errAt(start, "expected a string literal after '@'")
		}
	}
	q := rest[0]
	var b strings.Builder
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == q && verbatim && i+1 < len(rest) && rest[i+1] == q:
			b.WriteByte(q)
			i++
		case c == q:
			s.pos += i + 1
			return token{kind: tokString, text: b.String(), pos: start, end: s.pos}, nil
		case c == '\\' && !verbatim && i+1 < len(rest):
			i++
			switch rest[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(rest[i])
			}
		case c == '\n' && !verbatim:
			return token{}, s.errAt(start, "string literal is not closed on its line")
		default:
			b.WriteByte(c)
		}
	}
	return token{}, s.errAt(start, "unterminated string literal")
}

// matchClose returns the offset just past the bracket closing the one at
// open (one of ( { [), skipping string literals and comments.
func matchClose(src string, open int) (int, error) {
	pairs := map[byte]byte{'(': ')', '{': '}', '[': ']'}
	var stack []byte
	for i := open; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && (i == 0 || src[i-1] != '@') {
					j++
				}
				j++
			}
			i = j
		case strings.HasPrefix(src[i:], "```"):
			end := strings.Index(src[i+3:], "```")
			if end < 0 {
				return 0, fmt.Errorf("unterminated ``` string")
			}
			i += 3 + end + 2
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case pairs[c] != 0:
			stack = append(stack, pairs[c])
		case c == ')' || c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return 0, fmt.Errorf("unbalanced '%c'", c)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("missing closing bracket")
}
