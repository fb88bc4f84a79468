package mapping

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"odx/internal/ingest/format"
	"odx/internal/kql/types"
)

// Row values use the Go types the storage appender takes, per Kusto type:
// bool→bool, int→int32, long→int64, real→float64, decimal→string (plain
// decimal text), datetime→time.Time (UTC), timespan→int64 ticks,
// string→string, guid→[16]byte, dynamic→string (compact JSON). nil is null;
// a string column is never null (Kusto has no null strings).

// fromString converts text (a CSV field, a W3C value, a JSON string, a
// ConstValue) to column type t. ok is false when the text is not a value of t.
func fromString(s string, t types.Type) (any, bool) {
	switch t {
	case types.String:
		return s, true
	case types.Dynamic:
		return dynamicFromText(s), true
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true // an empty field is null for every non-string type
	}
	switch t {
	case types.Bool:
		v, ok := parseBool(s)
		if !ok {
			return nil, false
		}
		return v, true
	case types.Int:
		n, ok := parseInt32(s)
		if !ok {
			return nil, false
		}
		return n, true
	case types.Long:
		n, ok := parseInteger(s)
		return n, ok
	case types.Real:
		f, ok := parseReal(s)
		if !ok {
			return nil, false
		}
		return f, true
	case types.Decimal:
		d, ok := parseDecimal(s)
		return d, ok
	case types.DateTime:
		tm, ok := ParseDateTime(s)
		return tm, ok
	case types.TimeSpan:
		ticks, ok := ParseTimeSpan(s)
		return ticks, ok
	case types.Guid:
		g, ok := parseGuid(s)
		return g, ok
	}
	return nil, false
}

// parseBool reads a bool as ADX does: true/false in any case, or 1/0.
func parseBool(s string) (v, ok bool) {
	switch {
	case s == "1" || len(s) == 4 && strings.EqualFold(s, "true"):
		return true, true
	case s == "0" || len(s) == 5 && strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseReal reads a real number; one that overflows is ±Inf, as .NET
// parses an overflowing double.
func parseReal(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil || isRange(err)
}

// parseInt32 is parseInteger for an int column: ok is false out of its range.
func parseInt32(s string) (int32, bool) {
	n, ok := parseInteger(s)
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false
	}
	return int32(n), true
}

// parseInteger reads an integer, also written as a number with an integral
// value (`3.0`, `1e3`), as JSON writers sometimes do.
func parseInteger(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	if strings.ContainsAny(s, ".eE") {
		r, ok := new(big.Rat).SetString(s)
		if ok && r.IsInt() && r.Num().IsInt64() {
			return r.Num().Int64(), true
		}
	}
	return 0, false
}

// decimal(38,10) holds at most 28 integer digits.
var decimalLimit = new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(28), nil))

// parseDecimal returns the plain text of a decimal number, rounded to the
// 10 fraction digits odx stores.
func parseDecimal(s string) (string, bool) {
	if strings.ContainsAny(s, "/") { // big.Rat would read a fraction
		return "", false
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return "", false
	}
	if new(big.Rat).Abs(r).Cmp(decimalLimit) >= 0 {
		return "", false
	}
	return canonicalDecimal(r), true
}

func canonicalDecimal(r *big.Rat) string {
	out := r.FloatString(10)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(out, "0")
		out = strings.TrimSuffix(out, ".")
	}
	if out == "-0" {
		out = "0"
	}
	return out
}

func parseGuid(s string) ([16]byte, bool) {
	var g [16]byte
	if len(s) == 38 && (s[0] == '{' && s[37] == '}' || s[0] == '(' && s[37] == ')') {
		s = s[1:37]
	}
	var hexText string
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return g, false
		}
		hexText = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	case 32:
		hexText = s
	default:
		return g, false
	}
	if _, err := hex.Decode(g[:], []byte(hexText)); err != nil {
		return g, false
	}
	return g, true
}

// ParseDateTime reads a datetime as Kusto accepts it in ingestion: ISO 8601
// (`2024-01-02`, `2024-01-02T03:04:05.1234567Z`, with a space instead of T,
// with an offset such as +02:00 converted to UTC, without a zone read as
// UTC), RFC 1123 / RFC 850 (`Tue, 02 Jan 2024 03:04:05 GMT`), and the
// invariant-culture `MM/dd/yyyy HH:mm:ss`. The result is UTC with 100 ns
// precision.
func ParseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if iso, ok := parseISO(s); ok {
		return iso.time(), true
	}
	return parseOtherDateTime(s)
}

// parseOtherDateTime reads the layouts besides ISO 8601 that ParseDateTime
// accepts, from trimmed text.
func parseOtherDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC, "Mon, 2 Jan 2006 15:04:05 MST", "2 Jan 2006 15:04:05 MST",
		"01/02/2006 15:04:05", "01/02/2006 15:04", "01/02/2006", "1/2/2006 15:04:05", "1/2/2006 3:04:05 PM", "1/2/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(100), true
		}
	}
	return time.Time{}, false
}

// parseDateTimeTicks is ParseDateTime giving datetime ticks, for a column:
// ISO 8601 text (what telemetry carries) is turned into ticks directly,
// without the time.Time a column would only convert again. inRange is
// false for a datetime outside Kusto's 0001..9999, which is stored null.
func parseDateTimeTicks(s string) (ticks int64, ok, inRange bool) {
	s = strings.TrimSpace(s)
	var t time.Time
	if iso, isISO := parseISO(s); isISO && iso.year >= 1 {
		ticks, inRange = iso.ticks()
		return ticks, true, inRange
	} else if isISO {
		t = iso.time() // year 0: its zone offset may still bring it into year 1
	} else if t, ok = parseOtherDateTime(s); !ok {
		return 0, false, false
	}
	ticks, inRange = types.TicksFromTime(t)
	return ticks, true, inRange
}

// isoTime is an ISO 8601 date and time as written, checked to be a real
// date; offset is the zone's offset east of UTC in seconds.
type isoTime struct {
	year, month, day, hour, min, sec, nsec, offset int
}

// time is t in UTC, to 100 ns.
func (t isoTime) time() time.Time {
	utc := time.Date(t.year, time.Month(t.month), t.day, t.hour, t.min, t.sec, t.nsec, time.UTC)
	return utc.Add(-time.Duration(t.offset) * time.Second).Truncate(100)
}

// ticks is t in UTC as datetime ticks, counted from the civil date (days
// before the year, the month, the day) as the proleptic Gregorian calendar
// of .NET and Kusto counts them. The count needs year ≥ 1.
func (t isoTime) ticks() (int64, bool) {
	y := int64(t.year - 1)
	days := 365*y + y/4 - y/100 + y/400 + int64(daysBeforeMonth[t.month-1]+t.day-1)
	if t.month > 2 && isLeap(t.year) {
		days++
	}
	secs := days*86400 + int64(t.hour*3600+t.min*60+t.sec-t.offset)
	ticks := secs*types.TicksPerSecond + int64(t.nsec/100)
	if ticks < types.MinDateTimeTicks || ticks > types.MaxDateTimeTicks {
		return 0, false
	}
	return ticks, true
}

var daysBeforeMonth = [12]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(month, year int) int {
	if month == 2 && isLeap(year) {
		return 29
	}
	return [12]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
}

// parseISO reads yyyy-MM-dd[(T| )HH:mm[:ss[.fffffffff]]][Z|±HH[:]mm].
func parseISO(s string) (isoTime, bool) {
	num := func(str string) (int, bool) {
		n := 0
		for i := 0; i < len(str); i++ {
			c := str[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, len(str) > 0
	}
	var t isoTime
	if len(s) < 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] {
		return t, false
	}
	var ok1, ok2, ok3 bool
	t.year, ok1 = num(s[0:4])
	t.month, ok2 = num(s[5:7])
	t.day, ok3 = num(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return t, false
	}
	rest := s[10:]
	if rest != "" {
		if rest[0] != 'T' && rest[0] != ' ' && rest[0] != 't' {
			return t, false
		}
		rest = rest[1:]
		if len(rest) < 5 || rest[2] != ':' {
			return t, false
		}
		var ok bool
		if t.hour, ok = num(rest[0:2]); !ok {
			return t, false
		}
		if t.min, ok = num(rest[3:5]); !ok {
			return t, false
		}
		rest = rest[5:]
		if len(rest) >= 3 && rest[0] == ':' {
			if t.sec, ok = num(rest[1:3]); !ok {
				return t, false
			}
			rest = rest[3:]
			if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') {
				j := 1
				for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
					j++
				}
				frac := rest[1:j]
				if frac == "" {
					return t, false
				}
				if len(frac) > 9 {
					frac = frac[:9]
				}
				n, _ := num(frac)
				for k := len(frac); k < 9; k++ {
					n *= 10
				}
				t.nsec = n
				rest = rest[j:]
			}
		}
		switch {
		case rest == "" || rest == "Z" || rest == "z":
		case rest[0] == '+' || rest[0] == '-':
			off := strings.ReplaceAll(rest[1:], ":", "")
			if len(off) == 2 {
				off += "00"
			}
			if len(off) != 4 {
				return t, false
			}
			oh, ok1 := num(off[:2])
			om, ok2 := num(off[2:])
			if !ok1 || !ok2 {
				return t, false
			}
			t.offset = oh*3600 + om*60
			if rest[0] == '-' {
				t.offset = -t.offset
			}
		default:
			return t, false
		}
	}
	if t.month < 1 || t.month > 12 || t.day < 1 || t.day > daysIn(t.month, t.year) || t.hour > 23 || t.min > 59 || t.sec > 59 {
		return t, false // 2023-02-30 is no date
	}
	return t, true
}

// ParseTimeSpan reads a timespan as ticks: .NET's `[-][d.]hh:mm[:ss[.fffffff]]`
// and Kusto's literals (`2d`, `1.5h`, `30m`, `10s`, `100ms`,
// `10microseconds`, `5ticks`).
func ParseTimeSpan(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	neg := false
	body := s
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	var ticks int64
	var ok bool
	if strings.Contains(body, ":") {
		ticks, ok = parseClockSpan(body)
	} else {
		ticks, ok = parseLiteralSpan(body)
	}
	if !ok {
		return 0, false
	}
	if neg {
		ticks = -ticks
	}
	return ticks, true
}

func parseClockSpan(s string) (int64, bool) {
	var days int64
	if dot := strings.IndexByte(s, '.'); dot >= 0 && dot < strings.IndexByte(s, ':') {
		d, err := strconv.ParseInt(s[:dot], 10, 64)
		if err != nil {
			return 0, false
		}
		days, s = d, s[dot+1:]
	}
	frac := ""
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		s, frac = s[:dot], s[dot+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var hms [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || len(p) == 0 {
			return 0, false
		}
		hms[i] = n
	}
	if hms[0] > 23 || hms[1] > 59 || hms[2] > 59 {
		return 0, false
	}
	ticks := days*types.TicksPerDay + hms[0]*types.TicksPerHour + hms[1]*types.TicksPerMinute + hms[2]*types.TicksPerSecond
	if frac != "" {
		if len(frac) > 7 {
			frac = frac[:7]
		}
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
		for i := len(frac); i < 7; i++ {
			f *= 10
		}
		ticks += f
	}
	return ticks, true
}

var spanUnits = []struct {
	suffix string
	ticks  int64
}{
	{"microseconds", types.TicksPerMicrosecond}, {"microsecond", types.TicksPerMicrosecond},
	{"milliseconds", types.TicksPerMillisecond}, {"millisecond", types.TicksPerMillisecond},
	{"seconds", types.TicksPerSecond}, {"second", types.TicksPerSecond},
	{"minutes", types.TicksPerMinute}, {"minute", types.TicksPerMinute},
	{"hours", types.TicksPerHour}, {"hour", types.TicksPerHour},
	{"days", types.TicksPerDay}, {"day", types.TicksPerDay},
	{"ticks", 1}, {"tick", 1}, {"ms", types.TicksPerMillisecond},
	{"d", types.TicksPerDay}, {"h", types.TicksPerHour}, {"m", types.TicksPerMinute}, {"s", types.TicksPerSecond},
}

func parseLiteralSpan(s string) (int64, bool) {
	low := strings.ToLower(s)
	for _, u := range spanUnits {
		if num, ok := strings.CutSuffix(low, u.suffix); ok && num != "" {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f < 0 {
				return 0, false
			}
			return int64(math.Round(f * float64(u.ticks))), true
		}
	}
	return 0, false
}

// dynamicFromText is how a text field becomes a dynamic value: valid JSON
// is kept (compacted); any other text is a JSON string, as Kusto's
// parse_json does.
func dynamicFromText(s string) any {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil
	}
	var b bytes.Buffer
	b.Grow(len(t))
	// json.Compact validates as it goes: one pass for valid JSON.
	if json.Compact(&b, []byte(t)) == nil {
		return b.String()
	}
	b.Reset()
	writeJSONString(&b, s)
	return b.String()
}

// fromValue converts a decoded value (see format.Record) to column type t.
func fromValue(v any, t types.Type) (any, bool) {
	if v == nil {
		if t == types.String {
			return "", true
		}
		return nil, true
	}
	// A value that already is the column's Go type is returned as it is:
	// re-boxing it would allocate once per cell.
	switch v.(type) {
	case string:
		if t == types.String {
			return v, true
		}
	case float64:
		if t == types.Real {
			return v, true
		}
	case int64:
		if t == types.Long {
			return v, true
		}
	case bool:
		if t == types.Bool {
			return v, true
		}
	}
	if j, ok := v.(format.JSONText); ok {
		if t == types.Dynamic {
			return dynamicFromText(string(j)), true
		}
		return fromString(string(j), t)
	}
	if s, ok := v.(string); ok {
		if t == types.Dynamic {
			var b bytes.Buffer
			writeJSONString(&b, s) // a JSON string stays a string in dynamic
			return b.String(), true
		}
		return fromString(s, t)
	}
	switch t {
	case types.String:
		return textOf(v), true
	case types.Dynamic:
		var b bytes.Buffer
		writeJSON(&b, v)
		return b.String(), true
	case types.Bool:
		switch x := v.(type) {
		case bool:
			return x, true
		case json.Number, int32, int64, uint64, float64, format.Decimal:
			f, ok := toFloat(x)
			if !ok {
				return nil, false
			}
			return f != 0, true
		}
	case types.Int, types.Long:
		var n int64
		switch x := v.(type) {
		case int32:
			n = int64(x)
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, false
			}
			n = int64(x)
		case bool:
			if x {
				n = 1
			}
		case float64:
			if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
				return nil, false
			}
			n = int64(x)
		case json.Number:
			var ok bool
			if n, ok = parseInteger(x.String()); !ok {
				return nil, false
			}
		case format.Decimal:
			var ok bool
			if n, ok = parseInteger(string(x)); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		if t == types.Int {
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, false
			}
			return int32(n), true
		}
		return n, true
	case types.Real:
		f, ok := toFloat(v)
		return f, ok
	case types.Decimal:
		switch x := v.(type) {
		case json.Number:
			return fromString(x.String(), t)
		case format.Decimal:
			return fromString(string(x), t)
		case int32, int64, uint64:
			return fromString(textOf(x), t)
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, false
			}
			return fromString(strconv.FormatFloat(x, 'f', -1, 64), t)
		case bool:
			if x {
				return "1", true
			}
			return "0", true
		}
	case types.DateTime:
		if x, ok := v.(time.Time); ok {
			return x.UTC().Truncate(100), true
		}
	case types.TimeSpan:
		switch x := v.(type) {
		case time.Duration:
			return int64(x / 100), true
		case int32, int64, json.Number:
			// totimespan(number) reads the number as ticks.
			return fromValue(x, types.Long)
		}
	case types.Guid:
		switch x := v.(type) {
		case []byte:
			if len(x) == 16 {
				var g [16]byte
				copy(g[:], x)
				return g, true
			}
		case [16]byte:
			return x, true
		}
	}
	return nil, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		return parseReal(x.String())
	case format.Decimal:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string:
		return parseReal(strings.TrimSpace(x))
	}
	return 0, false
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// textOf renders a non-string value for a string column: numbers as their
// text, datetimes and timespans as Kusto prints them, bytes as base64,
// arrays and objects as compact JSON.
func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case format.Decimal:
		return string(x)
	case format.JSONText:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return formatReal(x)
	case time.Time:
		return types.FormatDateTime(x)
	case time.Duration:
		return types.FormatTimeSpan(int64(x / 100))
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	}
	var b bytes.Buffer
	writeJSON(&b, v)
	return b.String()
}

func formatReal(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// writeJSON writes v as compact JSON. Object keys are sorted so that equal
// values give equal text. Values JSON has no literal for are written as
// strings: datetimes and timespans in Kusto's text form, bytes in base64,
// NaN and infinities by name.
func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeJSONString(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case format.Decimal:
		b.WriteString(string(x))
	case format.JSONText:
		if d, ok := dynamicFromText(string(x)).(string); ok {
			b.WriteString(d)
		} else {
			b.WriteString("null")
		}
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			writeJSONString(b, formatReal(x))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case time.Time, time.Duration, []byte:
		writeJSONString(b, textOf(x))
	case [16]byte:
		writeJSONString(b, formatGuid(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	default:
		data, err := json.Marshal(x)
		if err != nil {
			writeJSONString(b, "")
			return
		}
		b.Write(data)
	}
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s as a JSON string, replacing invalid UTF-8.
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

func formatGuid(g [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], g[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], g[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], g[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], g[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], g[10:])
	return string(buf[:])
}
