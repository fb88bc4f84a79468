// Package lexer turns KQL text into tokens. It knows Kusto's literal forms:
// bracketed names (['a b']), verbatim (@"..."), obfuscated (h"...") and
// multi-line (```...```) strings, timespans (1d, 30m, 10ms), and typed
// literals whose content is not made of tokens (datetime(2020-01-01 10:00),
// guid(...), dynamic({...})), which it returns as one raw token.
package lexer

import (
	"fmt"
	"strings"

	"odx/internal/kql/token"
)

// Error is a lexical error at a position.
type Error struct {
	Pos token.Pos
	Msg string
}

// Lexer scans one query text.
type Lexer struct {
	src  string
	off  int
	Errs []Error
}

// New returns a lexer over src.
func New(src string) *Lexer { return &Lexer{src: src} }

// All scans the whole text; the last token is EOF.
func All(src string) ([]token.Token, []Error) {
	l := New(src)
	var toks []token.Token
	for {
		t := l.Next()
		toks = append(toks, t)
		if t.Kind == token.EOF {
			return toks, l.Errs
		}
	}
}

func (l *Lexer) errorf(pos int, format string, args ...any) {
	l.Errs = append(l.Errs, Error{Pos: token.Pos(pos), Msg: fmt.Sprintf(format, args...)})
}

// typedLiteralPrefixes are the names whose parenthesised content is raw text.
var typedLiteralPrefixes = map[string]bool{
	"datetime": true, "date": true, "timespan": true, "time": true, "guid": true,
	"dynamic": true, "bool": true, "boolean": true, "int": true, "long": true,
	"real": true, "double": true, "decimal": true,
}

func (l *Lexer) skipSpace() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			l.off++
			continue
		}
		if c == '/' && l.off+1 < len(l.src) && l.src[l.off+1] == '/' {
			for l.off < len(l.src) && l.src[l.off] != '\n' {
				l.off++
			}
			continue
		}
		return
	}
}

func isLetter(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Next returns the next token.
func (l *Lexer) Next() token.Token {
	l.skipSpace()
	start := l.off
	mk := func(k token.Kind) token.Token {
		return token.Token{Kind: k, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: l.src[start:l.off]}
	}
	if l.off >= len(l.src) {
		return token.Token{Kind: token.EOF, Pos: token.Pos(len(l.src)), End: token.Pos(len(l.src))}
	}
	c := l.src[l.off]
	switch {
	case (c == '@' || c == 'h' || c == 'H') && l.off+1 < len(l.src) && (l.src[l.off+1] == '"' || l.src[l.off+1] == '\''):
		return l.scanString()
	case (c == 'h' || c == 'H') && l.off+2 < len(l.src) && l.src[l.off+1] == '@' && (l.src[l.off+2] == '"' || l.src[l.off+2] == '\''):
		return l.scanString()
	case isLetter(c):
		for l.off < len(l.src) && (isLetter(l.src[l.off]) || isDigit(l.src[l.off])) {
			l.off++
		}
		t := mk(token.Ident)
		if typedLiteralPrefixes[strings.ToLower(t.Text)] {
			// Look past spaces for '(' introducing raw content.
			j := l.off
			for j < len(l.src) && (l.src[j] == ' ' || l.src[j] == '\t') {
				j++
			}
			if j < len(l.src) && l.src[j] == '(' {
				return l.scanTypedLiteral(start, t.Text, j)
			}
		}
		return t
	case isDigit(c) || (c == '.' && l.off+1 < len(l.src) && isDigit(l.src[l.off+1])):
		return l.scanNumber()
	case c == '"' || c == '\'':
		return l.scanString()
	case c == '`' && strings.HasPrefix(l.src[l.off:], "```"):
		return l.scanString()
	}
	l.off++
	two := func(next byte, k2, k1 token.Kind) token.Token {
		if l.off < len(l.src) && l.src[l.off] == next {
			l.off++
			return mk(k2)
		}
		return mk(k1)
	}
	switch c {
	case '(':
		return mk(token.LParen)
	case ')':
		return mk(token.RParen)
	case '[':
		return mk(token.LBrack)
	case ']':
		return mk(token.RBrack)
	case '{':
		return mk(token.LBrace)
	case '}':
		return mk(token.RBrace)
	case ',':
		return mk(token.Comma)
	case ';':
		return mk(token.Semi)
	case ':':
		return mk(token.Colon)
	case '.':
		return two('.', token.DotDot, token.Dot)
	case '|':
		return mk(token.Pipe)
	case '+':
		return mk(token.Plus)
	case '-':
		return mk(token.Minus)
	case '*':
		return mk(token.Star)
	case '/':
		return mk(token.Slash)
	case '%':
		return mk(token.Percent)
	case '~':
		return mk(token.Tilde)
	case '?':
		return mk(token.Question)
	case '@':
		return mk(token.At)
	case '=':
		if l.off < len(l.src) {
			switch l.src[l.off] {
			case '=':
				l.off++
				return mk(token.Eq)
			case '~':
				l.off++
				return mk(token.EqTilde)
			case '>':
				l.off++
				return mk(token.Arrow)
			}
		}
		return mk(token.Assign)
	case '!':
		if l.off < len(l.src) {
			switch l.src[l.off] {
			case '=':
				l.off++
				return mk(token.Ne)
			case '~':
				l.off++
				return mk(token.NeTilde)
			}
		}
		return mk(token.Bang)
	case '<':
		if l.off < len(l.src) && l.src[l.off] == '>' {
			l.off++
			return mk(token.Ne)
		}
		return two('=', token.Le, token.Lt)
	case '>':
		return two('=', token.Ge, token.Gt)
	}
	l.errorf(start, "unexpected character %q", c)
	return mk(token.Illegal)
}

// timespanUnits maps every unit suffix Kusto accepts to its length in ticks.
var timespanUnits = map[string]int64{
	"d": 864000000000, "day": 864000000000, "days": 864000000000,
	"h": 36000000000, "hr": 36000000000, "hrs": 36000000000, "hour": 36000000000, "hours": 36000000000,
	"m": 600000000, "min": 600000000, "minute": 600000000, "minutes": 600000000,
	"s": 10000000, "sec": 10000000, "second": 10000000, "seconds": 10000000,
	"ms": 10000, "milli": 10000, "millis": 10000, "millisecond": 10000, "milliseconds": 10000,
	"microsecond": 10, "microseconds": 10, "micros": 10, "micro": 10,
	"nanosecond": 0, "nanoseconds": 0,
	"tick": 1, "ticks": 1,
}

// TimespanUnit returns the tick length of a unit suffix.
func TimespanUnit(u string) (int64, bool) {
	v, ok := timespanUnits[strings.ToLower(u)]
	return v, ok
}

func (l *Lexer) scanNumber() token.Token {
	start := l.off
	kind := token.Int
	if strings.HasPrefix(l.src[l.off:], "0x") || strings.HasPrefix(l.src[l.off:], "0X") {
		l.off += 2
		for l.off < len(l.src) && strings.IndexByte("0123456789abcdefABCDEF", l.src[l.off]) >= 0 {
			l.off++
		}
		return token.Token{Kind: kind, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: l.src[start:l.off]}
	}
	for l.off < len(l.src) && isDigit(l.src[l.off]) {
		l.off++
	}
	if l.off+1 < len(l.src) && l.src[l.off] == '.' && isDigit(l.src[l.off+1]) {
		kind = token.Real
		l.off++
		for l.off < len(l.src) && isDigit(l.src[l.off]) {
			l.off++
		}
	} else if l.off < len(l.src) && l.src[l.off] == '.' && !(l.off+1 < len(l.src) && l.src[l.off+1] == '.') {
		// "1." is a real
		kind = token.Real
		l.off++
	}
	if l.off < len(l.src) && (l.src[l.off] == 'e' || l.src[l.off] == 'E') {
		j := l.off + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			kind = token.Real
			l.off = j
			for l.off < len(l.src) && isDigit(l.src[l.off]) {
				l.off++
			}
		}
	}
	numEnd := l.off
	if l.off < len(l.src) && isLetter(l.src[l.off]) {
		j := l.off
		for j < len(l.src) && (isLetter(l.src[j]) || isDigit(l.src[j])) {
			j++
		}
		unit := l.src[l.off:j]
		l.off = j
		if _, ok := TimespanUnit(unit); ok {
			return token.Token{Kind: token.Timespan, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: l.src[start:numEnd], Prefix: strings.ToLower(unit)}
		}
		l.errorf(start, "invalid number literal %q", l.src[start:l.off])
		return token.Token{Kind: token.Illegal, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off]}
	}
	return token.Token{Kind: kind, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: l.src[start:l.off]}
}

func (l *Lexer) scanString() token.Token {
	start := l.off
	obfuscated, verbatim := false, false
	if c := l.src[l.off]; c == 'h' || c == 'H' {
		obfuscated = true
		l.off++
	}
	if l.src[l.off] == '@' {
		verbatim = true
		l.off++
	}
	var b strings.Builder
	if strings.HasPrefix(l.src[l.off:], "```") {
		l.off += 3
		end := strings.Index(l.src[l.off:], "```")
		if end < 0 {
			l.errorf(start, "unterminated multi-line string literal")
			b.WriteString(l.src[l.off:])
			l.off = len(l.src)
		} else {
			b.WriteString(l.src[l.off : l.off+end])
			l.off += end + 3
		}
		return token.Token{Kind: token.String, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: b.String(), Quoted: obfuscated}
	}
	q := l.src[l.off]
	l.off++
	for {
		if l.off >= len(l.src) {
			l.errorf(start, "unterminated string literal")
			break
		}
		c := l.src[l.off]
		if c == '\n' && !verbatim {
			l.errorf(start, "unterminated string literal")
			break
		}
		if c == q {
			if verbatim && l.off+1 < len(l.src) && l.src[l.off+1] == q {
				b.WriteByte(q)
				l.off += 2
				continue
			}
			l.off++
			break
		}
		if c == '\\' && !verbatim && l.off+1 < len(l.src) {
			l.off++
			e := l.src[l.off]
			l.off++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'u':
				if l.off+4 <= len(l.src) {
					var r rune
					if _, err := fmt.Sscanf(l.src[l.off:l.off+4], "%04x", &r); err == nil {
						b.WriteRune(r)
						l.off += 4
						continue
					}
				}
				b.WriteString("\\u")
			default:
				b.WriteByte(e)
			}
			continue
		}
		b.WriteByte(c)
		l.off++
	}
	return token.Token{Kind: token.String, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: b.String(), Quoted: obfuscated}
}

// scanTypedLiteral scans `prefix(raw)` where open is the offset of '('.
// Nested brackets and quoted strings inside the raw text are skipped whole.
func (l *Lexer) scanTypedLiteral(start int, prefix string, open int) token.Token {
	depth := 0
	i := open
	for i < len(l.src) {
		c := l.src[i]
		switch c {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '"', '\'':
			j := i + 1
			for j < len(l.src) && l.src[j] != c {
				if l.src[j] == '\\' {
					j++
				}
				j++
			}
			i = j
		}
		i++
		if depth == 0 {
			break
		}
	}
	if depth != 0 {
		l.errorf(start, "unterminated %s literal", prefix)
		l.off = len(l.src)
		return token.Token{Kind: token.Illegal, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:]}
	}
	l.off = i
	inner := strings.TrimSpace(l.src[open+1 : i-1])
	return token.Token{Kind: token.TypedLit, Pos: token.Pos(start), End: token.Pos(l.off), Text: l.src[start:l.off], Value: inner, Prefix: strings.ToLower(prefix)}
}
