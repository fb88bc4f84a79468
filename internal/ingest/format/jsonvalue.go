package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON parses one JSON value (with optional surrounding whitespace)
// into the record value types: map[string]any, []any, string, json.Number,
// bool and nil. It accepts exactly what encoding/json accepts and produces
// the same values (invalid UTF-8 in strings becomes U+FFFD), about three
// times faster, which matters for JSON-lines ingestion where every line is
// a separate document.
func parseJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	return p.parse()
}

// keyCache interns property names across the records of one source:
// JSON-lines records repeat the same names, and allocating each name once
// instead of once per record is a large part of the decoding cost.
type keyCache map[string]string

const maxCachedKeys = 4096

// JSONShape carries what the JSON decoders learn about the records of a
// source to the next source of the same shape: interned property names and
// the size of the last top-level object (to size the next one's map at
// once instead of growing it). A caller decoding many small sources of one
// shape, such as the events of a data connection, passes one JSONShape in
// Options to all of their decoders. It is not safe for concurrent use.
type JSONShape struct {
	keys      keyCache
	values    valueCache
	topFields int
	// arena holds the picked text of a json decoder's batch. It is empty
	// between calls of Next, so decoders of one shape, which are never
	// used at once, share its buffers: a data connection makes a decoder
	// per run of events.
	arena pickArena
}

// NewJSONShape returns an empty JSONShape.
func NewJSONShape() *JSONShape { return &JSONShape{keys: keyCache{}, values: valueCache{}} }

// valueCache holds short string values already boxed: telemetry repeats
// device ids, metric names and units from record to record, and a cached
// value costs a lookup instead of two allocations (the text and its
// interface). It is bounded in entries and value size, so varied data
// only pays the lookup.
type valueCache map[string]any

const (
	maxCachedValues     = 8192
	maxCachedValueBytes = 48
)

func (c valueCache) get(b []byte) any {
	if v, ok := c[string(b)]; ok { // this lookup does not allocate
		return v
	}
	s := string(b)
	var v any = s
	if len(c) < maxCachedValues {
		c[s] = v
	}
	return v
}

func (c keyCache) intern(b []byte) string {
	if k, ok := c[string(b)]; ok { // this lookup does not allocate
		return k
	}
	k := string(b)
	if len(c) < maxCachedKeys {
		c[k] = k
	}
	return k
}

func (p *jsonParser) parse() (any, error) {
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, p.errorf("unexpected %q after the value", abbreviate(string(p.data[p.pos:]), 20))
	}
	return v, nil
}

// maxJSONDepth matches encoding/json's nesting limit.
const maxJSONDepth = 10000

type jsonParser struct {
	data []byte
	pos  int
	keys keyCache // nil: no interning
	// values, when set, caches short string values (see valueCache).
	values valueCache
	// top, when set, holds the field count of the last top-level object and
	// is updated by each one: consecutive records tend to share a shape.
	top *int
	// arena collects picked text (see pickValue).
	arena *pickArena
	// base, when set, is text that holds data at baseOff, kept as long as
	// the picked values: they are then substrings of it (see pickSpan).
	base    string
	baseOff int
	// lineRefs is where the line's references start in arena.refs.
	lineRefs int
	// lenient accepts what ADX's json (JSON Lines) reader accepts beyond
	// strict JSON: // and /* */ comments, and single-quoted strings and
	// property names.
	lenient bool
}

func (p *jsonParser) isQuote(c byte) bool { return c == '"' || p.lenient && c == '\'' }

// ranOut reports whether the last error happened at the end of the data:
// the value may be complete with more input (streaming multijson reads on).
func (p *jsonParser) ranOut() bool { return p.pos >= len(p.data) }

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at byte %d", fmt.Sprintf(format, args...), p.pos+1)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '/':
			if !p.lenient || p.pos+1 >= len(p.data) {
				return
			}
			switch p.data[p.pos+1] {
			case '/':
				end := bytes.IndexByte(p.data[p.pos:], '\n')
				if end < 0 {
					p.pos = len(p.data)
				} else {
					p.pos += end + 1
				}
			case '*':
				end := bytes.Index(p.data[p.pos+2:], []byte("*/"))
				if end < 0 {
					p.pos = len(p.data) // unterminated: the value is incomplete
				} else {
					p.pos += 2 + end + 2
				}
			default:
				return
			}
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("the value is incomplete")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		if depth >= maxJSONDepth {
			return nil, p.errorf("nesting is deeper than %d", maxJSONDepth)
		}
		return p.object(depth + 1)
	case c == '[':
		if depth >= maxJSONDepth {
			return nil, p.errorf("nesting is deeper than %d", maxJSONDepth)
		}
		return p.array(depth + 1)
	case p.isQuote(c):
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	default:
		return nil, p.errorf("invalid character %q looking for the beginning of a value", c)
	}
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if rest := p.data[p.pos:]; len(rest) < len(word) {
		if string(rest) == word[:len(rest)] {
			p.pos = len(p.data) // a prefix: the input ends too early
		}
		return nil, p.errorf("invalid literal, expected %s", word)
	}
	if string(p.data[p.pos:p.pos+len(word)]) != word {
		return nil, p.errorf("invalid literal, expected %s", word)
	}
	p.pos += len(word)
	return v, nil
}

func (p *jsonParser) object(depth int) (any, error) {
	p.pos++ // '{'
	hint := 0
	if depth == 1 && p.top != nil {
		hint = *p.top
	}
	obj := make(map[string]any, hint)
	if depth == 1 && p.top != nil {
		defer func() { *p.top = len(obj) }()
	}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return obj, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || !p.isQuote(p.data[p.pos]) {
			return nil, p.errorf("expected a property name in double quotes")
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("expected ':' after a property name")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		obj[key] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("the object is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return obj, nil
		default:
			return nil, p.errorf("expected ',' or '}' after an object member")
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.pos++ // '['
	arr := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return arr, nil
	}
	for {
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf("the array is not closed")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return arr, nil
		default:
			return nil, p.errorf("expected ',' or ']' after an array element")
		}
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.pos
	end, err := p.numberEnd()
	if err != nil {
		return nil, err
	}
	return json.Number(p.data[start:end]), nil
}

// numberEnd validates the number at p.pos, moves past it and returns where
// it ends.
func (p *jsonParser) numberEnd() (int, error) {
	d := p.data
	i := p.pos
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if digits() == 0 {
		p.pos = i
		return 0, p.errorf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			return 0, p.errorf("invalid number: no digits after '.'")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			return 0, p.errorf("invalid number: no digits in the exponent")
		}
	}
	p.pos = i
	return i, nil
}

// key reads a property name, interned when it has no escapes.
func (p *jsonParser) key() (string, error) {
	if p.keys != nil {
		d := p.data
		q := d[p.pos]
		for i := p.pos + 1; i < len(d); i++ {
			c := d[i]
			if c == q {
				k := p.keys.intern(d[p.pos+1 : i])
				if utf8.ValidString(k) {
					p.pos = i + 1
					return k, nil
				}
				break
			}
			if c == '\\' || c < 0x20 {
				break
			}
		}
	}
	v, err := p.str()
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (p *jsonParser) str() (any, error) {
	q := p.data[p.pos]
	p.pos++ // opening quote
	start := p.pos
	d := p.data
	// Fast path: no escapes, ASCII or valid UTF-8.
	ascii := true
	for i := start; i < len(d); i++ {
		c := d[i]
		if c == q {
			p.pos = i + 1
			if ascii || utf8.Valid(d[start:i]) {
				if p.values != nil && i-start <= maxCachedValueBytes {
					return p.values.get(d[start:i]), nil
				}
				return string(d[start:i]), nil
			}
			return p.slowString(start, q)
		}
		if c == '\\' {
			return p.slowString(start, q)
		}
		if c < 0x20 {
			p.pos = i
			return nil, p.errorf("invalid control character in a string")
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	p.pos = len(d)
	return nil, p.errorf("the string is not closed")
}

// slowString decodes a string with escapes or invalid UTF-8 from start (just
// after the opening quote).
func (p *jsonParser) slowString(start int, q byte) (any, error) {
	d := p.data
	buf := make([]byte, 0, 32)
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == q:
			p.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return nil, p.errorf("invalid control character in a string")
		case c == '\\':
			if i+1 >= len(d) {
				p.pos = len(d)
				return nil, p.errorf("the string is not closed")
			}
			e := d[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case '\'':
				if !p.lenient {
					p.pos = i - 1
					return nil, p.errorf("invalid escape \\'")
				}
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := hex4(d, i)
				if !ok {
					p.pos = i
					if i+4 > len(d) {
						p.pos = len(d)
					}
					return nil, p.errorf("invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A valid pair combines; a lone surrogate is U+FFFD.
					if i+6 <= len(d) && d[i] == '\\' && d[i+1] == 'u' {
						if r2, ok := hex4(d, i+2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								buf = utf8.AppendRune(buf, dec)
								i += 6
								continue
							}
						}
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos = i - 1
				return nil, p.errorf("invalid escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, d[i:i+size]...)
			}
			i += size
		}
	}
	p.pos = len(d)
	return nil, p.errorf("the string is not closed")
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d[i:i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}
