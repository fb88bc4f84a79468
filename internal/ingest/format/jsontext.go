package format

import (
	"bytes"
	"slices"
	"unicode/utf8"
)

// Dynamic text: a picked object or array headed for a dynamic column is
// stored as JSON text. Decoding it into maps and slices only for the binder
// to write it out again costs a dozen allocations per value; instead the
// picking parser writes the text a dynamic column stores straight from the
// input (Options.Picks, NewPicksWithText). That text is what
// mapping.writeJSON makes of the decoded value:
//
//   - compact (no whitespace, no comments);
//   - object members sorted by name (byte order), a repeated name keeping
//     its last value, as the decoded map does;
//   - strings in double quotes with only '"', '\\' and control characters
//     escapes (\n, \r, \t, \u00XX), everything else as UTF-8; escapes in
//     the input are decoded, invalid UTF-8 and lone surrogates become U+FFFD;
//   - numbers as written, true, false and null.
//
// Whatever the input, the grammar accepted is the full parser's (value), so
// a line is malformed or not exactly as before.

// member is one object member written to the output: its decoded name and
// where "name":value starts and ends.
type member struct {
	name       []byte
	start, end int
}

// appendText validates the value at p.pos (at depth, as value(depth) counts
// it), moves past it and appends its dynamic text to out.
func (p *jsonParser) appendText(out []byte, depth int) ([]byte, error) {
	if p.pos >= len(p.data) {
		return out, p.errorf("the value is incomplete")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		if depth >= maxJSONDepth {
			return out, p.errorf("nesting is deeper than %d", maxJSONDepth)
		}
		return p.appendObjectText(out, depth+1)
	case c == '[':
		if depth >= maxJSONDepth {
			return out, p.errorf("nesting is deeper than %d", maxJSONDepth)
		}
		return p.appendArrayText(out, depth+1)
	case p.isQuote(c):
		name, err := p.stringBytes()
		if err != nil {
			return out, err
		}
		return appendJSONString(out, name), nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		end, err := p.numberEnd()
		if err != nil {
			return out, err
		}
		return append(out, p.data[start:end]...), nil
	case c == 't':
		_, err := p.literal("true", true)
		return append(out, "true"...), err
	case c == 'f':
		_, err := p.literal("false", false)
		return append(out, "false"...), err
	case c == 'n':
		_, err := p.literal("null", nil)
		return append(out, "null"...), err
	default:
		return out, p.errorf("invalid character %q looking for the beginning of a value", c)
	}
}

func (p *jsonParser) appendObjectText(out []byte, depth int) ([]byte, error) {
	p.pos++ // '{'
	open := len(out)
	out = append(out, '{')
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return append(out, '}'), nil
	}
	var small [16]member
	members := small[:0]
	sorted := true
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || !p.isQuote(p.data[p.pos]) {
			return out, p.errorf("expected a property name in double quotes")
		}
		name, err := p.stringBytes()
		if err != nil {
			return out, err
		}
		if n := len(members); n > 0 && bytes.Compare(members[n-1].name, name) >= 0 {
			sorted = false // out of order, or a repeated name
		}
		if len(members) > 0 {
			out = append(out, ',')
		}
		start := len(out)
		out = appendJSONString(out, name)
		out = append(out, ':')
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return out, p.errorf("expected ':' after a property name")
		}
		p.pos++
		p.skipSpace()
		if out, err = p.appendText(out, depth); err != nil {
			return out, err
		}
		members = append(members, member{name: name, start: start, end: len(out)})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return out, p.errorf("the object is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			if !sorted {
				out = sortMembers(out, open, members)
			}
			return append(out, '}'), nil
		default:
			return out, p.errorf("expected ',' or '}' after an object member")
		}
	}
}

// sortMembers rewrites the members written after out[open] ('{') in name
// order, keeping only the last of a repeated name, as a map does.
func sortMembers(out []byte, open int, members []member) []byte {
	// Stable: of equal names, the last written stays last and is kept.
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.name, b.name) })
	written := bytes.Clone(out[open+1:])
	base := open + 1
	out = out[:base]
	first := true
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(members[i+1].name, m.name) {
			continue // a later member of the same name wins
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, written[m.start-base:m.end-base]...)
	}
	return out
}

func (p *jsonParser) appendArrayText(out []byte, depth int) ([]byte, error) {
	p.pos++ // '['
	out = append(out, '[')
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return append(out, ']'), nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			out = append(out, ',')
		}
		p.skipSpace()
		var err error
		if out, err = p.appendText(out, depth); err != nil {
			return out, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return out, p.errorf("the array is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return append(out, ']'), nil
		default:
			return out, p.errorf("expected ',' or ']' after an array element")
		}
	}
}

// stringBytes reads a string as str does and returns its decoded bytes:
// a slice of the input for one without escapes in valid UTF-8 (no
// allocation), a decoded copy otherwise.
func (p *jsonParser) stringBytes() ([]byte, error) {
	if start, end, ok := p.stringSpan(); ok {
		return p.data[start:end], nil
	}
	v, err := p.str() // escapes, invalid UTF-8 or an error: the full rules
	if err != nil {
		return nil, err
	}
	return []byte(v.(string)), nil
}

// stringSpan reads a string that is its own decoded text (no escapes,
// valid UTF-8) and returns where that text is in the input; ok is false,
// and nothing read, for any other.
func (p *jsonParser) stringSpan() (start, end int, ok bool) {
	d := p.data
	q := d[p.pos]
	ascii := true
	for i := p.pos + 1; i < len(d); i++ {
		c := d[i]
		if c == q {
			if ascii || utf8.Valid(d[p.pos+1:i]) {
				start, p.pos = p.pos+1, i+1
				return start, i, true
			}
			return 0, 0, false
		}
		if c == '\\' || c < 0x20 {
			return 0, 0, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return 0, 0, false
}

// appendJSONString appends s (valid UTF-8) as a JSON string with only the
// escapes a dynamic value's text has (see mapping.writeJSONString).
func appendJSONString(out []byte, s []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
