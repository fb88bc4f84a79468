package kustoapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"odx/internal/kql/types"
)

// dynamicMode says how a dynamic value is written: v2 embeds the JSON value
// itself, v1 writes its JSON text as a string (what the real service does in
// the older protocol).
type dynamicMode uint8

const (
	dynamicEmbedded dynamicMode = iota
	dynamicAsString
)

// appendValue appends the JSON form of v, a value of Kusto type t following
// the result package's conventions, exactly as Kusto writes it on the wire.
// It never writes a newline: a v2 frame must stay on one line.
func appendValue(b []byte, t types.Type, v any, dyn dynamicMode) ([]byte, error) {
	if v == nil {
		if t == types.String {
			// Kusto strings are never null: an absent string is empty.
			return append(b, `""`...), nil
		}
		return append(b, "null"...), nil
	}
	switch t {
	case types.Bool:
		switch x := v.(type) {
		case bool:
			return strconv.AppendBool(b, x), nil
		case int64:
			return strconv.AppendBool(b, x != 0), nil
		case int32:
			return strconv.AppendBool(b, x != 0), nil
		case int:
			return strconv.AppendBool(b, x != 0), nil
		}
	case types.Int, types.Long:
		switch x := v.(type) {
		case int64:
			return strconv.AppendInt(b, x, 10), nil
		case int32:
			return strconv.AppendInt(b, int64(x), 10), nil
		case int:
			return strconv.AppendInt(b, int64(x), 10), nil
		case int16:
			return strconv.AppendInt(b, int64(x), 10), nil
		case int8:
			return strconv.AppendInt(b, int64(x), 10), nil
		case uint32:
			return strconv.AppendUint(b, uint64(x), 10), nil
		case uint64:
			return strconv.AppendUint(b, x, 10), nil
		}
	case types.Real:
		switch x := v.(type) {
		case float64:
			return appendReal(b, x), nil
		case float32:
			return appendReal(b, float64(x)), nil
		case int64:
			return strconv.AppendInt(b, x, 10), nil
		case int32:
			return strconv.AppendInt(b, int64(x), 10), nil
		}
	case types.Decimal:
		// Decimals travel as strings so that no precision is lost in a
		// float64 on the client side.
		switch x := v.(type) {
		case string:
			return appendString(b, x), nil
		case fmt.Stringer:
			return appendString(b, x.String()), nil
		case float64:
			return appendString(b, strconv.FormatFloat(x, 'f', -1, 64)), nil
		case int64:
			return appendString(b, strconv.FormatInt(x, 10)), nil
		}
	case types.DateTime:
		switch x := v.(type) {
		case time.Time:
			return appendDateTime(b, x), nil
		}
	case types.TimeSpan:
		switch x := v.(type) {
		case int64:
			return appendTimeSpan(b, x), nil
		case time.Duration:
			return appendTimeSpan(b, int64(x/100)), nil
		}
	case types.String:
		switch x := v.(type) {
		case string:
			return appendString(b, x), nil
		case []byte:
			return appendString(b, string(x)), nil
		}
	case types.Guid:
		switch x := v.(type) {
		case string:
			return appendString(b, x), nil
		case [16]byte:
			return appendString(b, uuid.UUID(x).String()), nil
		case fmt.Stringer:
			return appendString(b, x.String()), nil
		}
	case types.Dynamic:
		return appendDynamic(b, v, dyn)
	}
	return b, fmt.Errorf("cannot encode a Go %T as a Kusto %s value", v, t)
}

// appendReal writes a real the way Kusto does: special values as strings,
// everything else as a JSON number.
func appendReal(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	// Same choice as encoding/json: plain notation for ordinary magnitudes,
	// exponent notation for very large or very small ones.
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

// appendDynamic writes a dynamic value. JSON text (json.RawMessage, or a
// string holding JSON) is compacted so that it never spans lines; decoded Go
// values are marshalled.
func appendDynamic(b []byte, v any, dyn dynamicMode) ([]byte, error) {
	var text []byte
	switch x := v.(type) {
	case json.RawMessage:
		text = x
	case []byte:
		text = x
	case string:
		if !json.Valid([]byte(x)) {
			// Not JSON text: the value is a plain string.
			m, _ := json.Marshal(x)
			text = m
		} else {
			text = []byte(x)
		}
	default:
		m, err := json.Marshal(x)
		if err != nil {
			return b, fmt.Errorf("cannot encode a dynamic value of Go type %T: %w", v, err)
		}
		text = m
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, text); err != nil {
		return b, fmt.Errorf("dynamic value is not valid JSON: %w", err)
	}
	if dyn == dynamicAsString {
		if compact.String() == "null" {
			return append(b, "null"...), nil
		}
		return appendString(b, compact.String()), nil
	}
	return append(b, compact.Bytes()...), nil
}

// appendDateTime appends the quoted form of types.FormatDateTime without
// going through fmt: this runs once per datetime cell of every result.
func appendDateTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	b = append(b, '"')
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		b = t.AppendFormat(b, "2006-01-02T15:04:05")
	} else {
		hour, minute, sec := t.Clock()
		b = appendPadded(b, uint64(year), 4)
		b = append(b, '-')
		b = appendPadded(b, uint64(month), 2)
		b = append(b, '-')
		b = appendPadded(b, uint64(day), 2)
		b = append(b, 'T')
		b = appendPadded(b, uint64(hour), 2)
		b = append(b, ':')
		b = appendPadded(b, uint64(minute), 2)
		b = append(b, ':')
		b = appendPadded(b, uint64(sec), 2)
	}
	b = append(b, '.')
	b = appendPadded(b, uint64(t.Nanosecond()/100), 7)
	return append(b, 'Z', '"')
}

// appendTimeSpan appends the quoted form of types.FormatTimeSpan.
func appendTimeSpan(b []byte, ticks int64) []byte {
	b = append(b, '"')
	u := uint64(ticks)
	if ticks < 0 {
		b = append(b, '-')
		u = -u
	}
	days := u / uint64(types.TicksPerDay)
	rem := u % uint64(types.TicksPerDay)
	if days > 0 {
		b = strconv.AppendUint(b, days, 10)
		b = append(b, '.')
	}
	b = appendPadded(b, rem/uint64(types.TicksPerHour), 2)
	rem %= uint64(types.TicksPerHour)
	b = append(b, ':')
	b = appendPadded(b, rem/uint64(types.TicksPerMinute), 2)
	rem %= uint64(types.TicksPerMinute)
	b = append(b, ':')
	b = appendPadded(b, rem/uint64(types.TicksPerSecond), 2)
	if frac := rem % uint64(types.TicksPerSecond); frac != 0 {
		b = append(b, '.')
		b = appendPadded(b, frac, 7)
	}
	return append(b, '"')
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n uint64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n > 0 || i > len(buf)-width {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[i:]...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD; control characters and the JavaScript line separators are escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
