package sem

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"odx/internal/kql/ast"
	"odx/internal/kql/lexer"
	"odx/internal/kql/token"
	"odx/internal/kql/types"
)

// literal evaluates a literal to a constant.
func literal(l *ast.Literal) (*Const, error) {
	switch l.Kind {
	case ast.LitNull:
		return &Const{T: types.Dynamic}, nil
	case ast.LitBool:
		return &Const{V: strings.EqualFold(l.Value, "true"), T: types.Bool}, nil
	case ast.LitString:
		return &Const{V: l.Value, T: types.String}, nil
	case ast.LitInt:
		if n, err := strconv.ParseInt(l.Value, 0, 64); err == nil {
			return &Const{V: n, T: types.Long}, nil
		}
		if u, err := strconv.ParseUint(l.Value, 0, 64); err == nil {
			return &Const{V: int64(u), T: types.Long}, nil
		}
		f, err := strconv.ParseFloat(l.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %s", l.Text)
		}
		return &Const{V: f, T: types.Real}, nil
	case ast.LitReal:
		f, err := strconv.ParseFloat(l.Value, 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			return nil, fmt.Errorf("invalid number %s", l.Text)
		}
		return &Const{V: f, T: types.Real}, nil
	case ast.LitTimespan:
		ticks, err := timespanLiteral(l.Value, l.Prefix)
		if err != nil {
			return nil, err
		}
		return &Const{V: ticks, T: types.TimeSpan}, nil
	case ast.LitTyped:
		return typedLiteral(l.Prefix, l.Value)
	}
	return nil, fmt.Errorf("unsupported literal %s", l.Text)
}

func timespanLiteral(num, unit string) (int64, error) {
	per, ok := lexer.TimespanUnit(unit)
	if !ok {
		return 0, fmt.Errorf("unknown timespan unit %q", unit)
	}
	if strings.HasPrefix(unit, "nano") {
		f, err := strconv.ParseFloat(num, 64)
		return int64(f / 100), err
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		return n * per, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid timespan %s%s", num, unit)
	}
	return int64(math.Round(f * float64(per))), nil
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// typedLiteral evaluates `prefix(text)`, e.g. datetime(2020-01-01).
func typedLiteral(prefix, text string) (*Const, error) {
	t, ok := types.Parse(prefix)
	if !ok {
		return nil, fmt.Errorf("unknown literal type %s", prefix)
	}
	raw := strings.TrimSpace(text)
	if strings.EqualFold(raw, "null") || raw == "" && t != types.String {
		if t == types.Dynamic {
			return &Const{V: "null", T: t}, nil
		}
		return &Const{T: t}, nil
	}
	switch t {
	case types.DateTime:
		tm, err := ParseDateTime(unquote(raw))
		if err != nil {
			return nil, err
		}
		return &Const{V: tm, T: t}, nil
	case types.TimeSpan:
		ticks, err := ParseTimeSpan(unquote(raw))
		if err != nil {
			return nil, err
		}
		return &Const{V: ticks, T: t}, nil
	case types.Guid:
		g := strings.ToLower(unquote(raw))
		if !guidRe.MatchString(g) {
			return nil, fmt.Errorf("invalid guid literal %q", raw)
		}
		return &Const{V: g, T: t}, nil
	case types.Dynamic:
		js, err := DynamicJSON(raw)
		if err != nil {
			return nil, err
		}
		return &Const{V: js, T: t}, nil
	case types.Bool:
		switch strings.ToLower(unquote(raw)) {
		case "true", "1":
			return &Const{V: true, T: t}, nil
		case "false", "0":
			return &Const{V: false, T: t}, nil
		}
		return nil, fmt.Errorf("invalid bool literal %q", raw)
	case types.Int, types.Long:
		n, err := strconv.ParseInt(strings.ReplaceAll(raw, " ", ""), 0, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid %s literal %q", t, raw)
		}
		if t == types.Int {
			return &Const{V: int32(n), T: t}, nil
		}
		return &Const{V: n, T: t}, nil
	case types.Real:
		switch strings.ToLower(strings.ReplaceAll(raw, " ", "")) {
		case "nan":
			return &Const{V: math.NaN(), T: t}, nil
		case "+inf", "inf", "infinity", "+infinity":
			return &Const{V: math.Inf(1), T: t}, nil
		case "-inf", "-infinity":
			return &Const{V: math.Inf(-1), T: t}, nil
		}
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid real literal %q", raw)
		}
		return &Const{V: f, T: t}, nil
	case types.Decimal:
		r, ok := new(big.Rat).SetString(raw)
		if !ok {
			return nil, fmt.Errorf("invalid decimal literal %q", raw)
		}
		return &Const{V: r.FloatString(10), T: t}, nil
	case types.String:
		return &Const{V: unquote(raw), T: t}, nil
	}
	return nil, fmt.Errorf("unsupported literal type %s", prefix)
}

var guidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var dateLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006-01",
	"2006-01-02 15",
	"01/02/2006 15:04:05.999999999",
	"01/02/2006 15:04",
	"01/02/2006",
	"2006/01/02 15:04:05.999999999",
	"2006/01/02",
	"Mon, 02 Jan 2006 15:04:05 MST",
	"02 Jan 2006 15:04:05",
	"2 Jan 2006",
	"Jan 2 2006",
	"2006-01-02 15:04:05.999999999 -07:00",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999-0700",
}

// ParseDateTime parses the datetime forms Kusto accepts (ISO 8601, RFC 822,
// US dates), returning UTC.
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10] + " " + s[11:]
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "Z"), "z")
	if strings.HasSuffix(s, " GMT") || strings.HasSuffix(s, " UTC") {
		if _, err := time.Parse("Mon, 02 Jan 2006 15:04:05 MST", s); err != nil {
			s = strings.TrimSuffix(strings.TrimSuffix(s, " GMT"), " UTC")
		}
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid datetime %q", s)
}

var timespanRe = regexp.MustCompile(`^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$`)

// ParseTimeSpan parses `[-][d.]hh:mm[:ss[.fffffff]]`, a unit form (`1.5h`,
// `10ms`) or a bare number of days, returning ticks.
func ParseTimeSpan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if m := timespanRe.FindStringSubmatch(s); m != nil {
		atoi := func(x string) int64 { n, _ := strconv.ParseInt(x, 10, 64); return n }
		ticks := atoi(m[2])*types.TicksPerDay + atoi(m[3])*types.TicksPerHour + atoi(m[4])*types.TicksPerMinute + atoi(m[5])*types.TicksPerSecond
		if m[6] != "" {
			frac := m[6] + strings.Repeat("0", 7-len(m[6]))
			ticks += atoi(frac)
		}
		if m[1] == "-" {
			ticks = -ticks
		}
		return ticks, nil
	}
	toks, errs := lexer.All(s)
	if len(errs) == 0 {
		neg := false
		if toks[0].Kind == token.Minus {
			neg, toks = true, toks[1:]
		}
		if len(toks) == 2 && toks[0].Kind == token.Timespan {
			ticks, err := timespanLiteral(toks[0].Value, toks[0].Prefix)
			if err == nil && neg {
				ticks = -ticks
			}
			return ticks, err
		}
		if len(toks) == 2 && (toks[0].Kind == token.Int || toks[0].Kind == token.Real) {
			f, err := strconv.ParseFloat(toks[0].Value, 64)
			if err == nil {
				if neg {
					f = -f
				}
				return int64(math.Round(f * float64(types.TicksPerDay))), nil
			}
		}
	}
	return 0, fmt.Errorf("invalid timespan %q", s)
}

// DynamicJSON converts the text of a dynamic literal (KQL syntax: single or
// double quotes, nested datetime(...)) to JSON.
func DynamicJSON(text string) (string, error) {
	toks, errs := lexer.All(text)
	if len(errs) > 0 {
		return "", fmt.Errorf("invalid dynamic literal: %s", errs[0].Msg)
	}
	var b strings.Builder
	i := 0
	if err := jsonValue(toks, &i, &b, 0); err != nil {
		return "", err
	}
	if toks[i].Kind != token.EOF {
		return "", fmt.Errorf("invalid dynamic literal: unexpected %s", toks[i].Describe())
	}
	return b.String(), nil
}

func jsonValue(toks []token.Token, i *int, b *strings.Builder, depth int) error {
	if depth > 100 {
		return fmt.Errorf("dynamic literal nests too deeply")
	}
	t := toks[*i]
	*i++
	switch t.Kind {
	case token.Minus, token.Plus:
		n := toks[*i]
		if n.Kind != token.Int && n.Kind != token.Real {
			return fmt.Errorf("invalid dynamic literal near %s", t.Text)
		}
		*i++
		if t.Kind == token.Minus {
			b.WriteString("-")
		}
		return writeNumber(b, n)
	case token.Int, token.Real:
		return writeNumber(b, t)
	case token.String:
		js, _ := json.Marshal(t.Value)
		b.Write(js)
	case token.Ident:
		switch strings.ToLower(t.Value) {
		case "true", "false", "null":
			b.WriteString(strings.ToLower(t.Value))
		default:
			return fmt.Errorf("invalid dynamic literal: unexpected %s", t.Value)
		}
	case token.Timespan:
		ticks, err := timespanLiteral(t.Value, t.Prefix)
		if err != nil {
			return err
		}
		js, _ := json.Marshal(types.FormatTimeSpan(ticks))
		b.Write(js)
	case token.TypedLit:
		c, err := typedLiteral(t.Prefix, t.Value)
		if err != nil {
			return err
		}
		b.WriteString(ConstJSON(c))
	case token.LBrack:
		b.WriteString("[")
		for n := 0; toks[*i].Kind != token.RBrack; n++ {
			if n > 0 {
				if toks[*i].Kind != token.Comma {
					return fmt.Errorf("invalid dynamic literal: expected ',' in array")
				}
				*i++
				if toks[*i].Kind == token.RBrack {
					break
				}
				b.WriteString(",")
			}
			if toks[*i].Kind == token.EOF {
				return fmt.Errorf("invalid dynamic literal: unterminated array")
			}
			if err := jsonValue(toks, i, b, depth+1); err != nil {
				return err
			}
		}
		*i++
		b.WriteString("]")
	case token.LBrace:
		b.WriteString("{")
		for n := 0; toks[*i].Kind != token.RBrace; n++ {
			if n > 0 {
				if toks[*i].Kind != token.Comma {
					return fmt.Errorf("invalid dynamic literal: expected ',' in object")
				}
				*i++
				if toks[*i].Kind == token.RBrace {
					break
				}
				b.WriteString(",")
			}
			k := toks[*i]
			if k.Kind != token.String && k.Kind != token.Ident {
				return fmt.Errorf("invalid dynamic literal: expected a property name")
			}
			*i++
			js, _ := json.Marshal(k.Value)
			b.Write(js)
			if toks[*i].Kind != token.Colon {
				return fmt.Errorf("invalid dynamic literal: expected ':' after property name")
			}
			*i++
			b.WriteString(":")
			if err := jsonValue(toks, i, b, depth+1); err != nil {
				return err
			}
		}
		*i++
		b.WriteString("}")
	default:
		return fmt.Errorf("invalid dynamic literal: unexpected %s", t.Describe())
	}
	return nil
}

func writeNumber(b *strings.Builder, t token.Token) error {
	if t.Kind == token.Int {
		if n, err := strconv.ParseInt(t.Value, 0, 64); err == nil {
			b.WriteString(strconv.FormatInt(n, 10))
			return nil
		}
	}
	f, err := strconv.ParseFloat(t.Value, 64)
	if err != nil {
		return fmt.Errorf("invalid number %s", t.Text)
	}
	b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	return nil
}

// ConstJSON renders a constant as a JSON value the way Kusto puts scalars
// inside dynamic values (datetimes and timespans as strings).
func ConstJSON(c *Const) string {
	if c.V == nil {
		return "null"
	}
	switch v := c.V.(type) {
	case time.Time:
		js, _ := json.Marshal(types.FormatDateTime(v))
		return string(js)
	case int64:
		if c.T == types.TimeSpan {
			js, _ := json.Marshal(types.FormatTimeSpan(v))
			return string(js)
		}
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			js, _ := json.Marshal(FormatReal(v))
			return string(js)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case string:
		if c.T == types.Dynamic {
			return v
		}
		if c.T == types.Decimal {
			return v
		}
		js, _ := json.Marshal(v)
		return string(js)
	}
	return "null"
}

// FormatReal prints a real the way Kusto's tostring does.
func FormatReal(f float64) string {
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

func negate(c *Const) *Const {
	switch v := c.V.(type) {
	case int64:
		return &Const{V: -v, T: c.T}
	case int32:
		return &Const{V: -v, T: c.T}
	case float64:
		return &Const{V: -v, T: c.T}
	case string:
		if c.T == types.Decimal {
			if strings.HasPrefix(v, "-") {
				return &Const{V: v[1:], T: c.T}
			}
			return &Const{V: "-" + v, T: c.T}
		}
	}
	return nil
}
