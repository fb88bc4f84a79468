package compile

import (
	"strings"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Datetime and timespan functions. Datetimes are TIMESTAMP_NS; arithmetic
// goes through epoch nanoseconds so that 100 ns ticks survive.

var tickUnits = map[string]int64{
	"day": types.TicksPerDay, "hour": types.TicksPerHour, "minute": types.TicksPerMinute,
	"second": types.TicksPerSecond, "millisecond": types.TicksPerMillisecond, "microsecond": types.TicksPerMicrosecond,
	"week": 7 * types.TicksPerDay,
}

func partArg(call *sem.Call, i int) string {
	if v, ok := constArg(call, i); ok {
		if s, ok := v.(string); ok {
			p := strings.ToLower(strings.TrimSpace(s))
			p = strings.TrimSuffix(p, "s")
			switch p {
			case "ms":
				p = "millisecond"
			case "min":
				p = "minute"
			}
			return p
		}
	}
	return ""
}

// ticksTo1970 is the number of ticks from 0001-01-01 to 1970-01-01.
const ticksTo1970 = 621355968000000000

// floorDiv is integer division rounding toward negative infinity.
func floorDiv(a, b sqlast.Expr) sqlast.Expr {
	return tmpl("(({} // {}) - CASE WHEN ({} % {} <> 0) AND (({} < 0) <> ({} < 0)) THEN 1 ELSE 0 END)", a, b, a, b, a, b)
}

func binValue(x sqlast.Expr, xt types.Type, span sqlast.Expr, st types.Type, t types.Type, constSpan int64) sqlast.Expr {
	switch xt {
	case types.DateTime:
		if constSpan > 0 && types.TicksPerDay%constSpan == 0 {
			// The common case (1h, 5m, 1d): 1970 and 0001-01-01 agree on the
			// bin edges, and a positive span needs no sign test.
			ns := bin("*", span, i64(100))
			e := epochNs(x)
			return fromNs(bin("*", tmpl("(({} // {}) - CAST({} % {} < 0 AS BIGINT))", e, ns, e, ns), ns))
		}
		// Kusto bins count from 0001-01-01, whose offset from 1970 is a whole
		// number of days: only spans that do not divide a day need it.
		t := bin("+", bin("//", epochNs(x), i64(100)), i64(ticksTo1970))
		return fromNs(bin("*", bin("-", bin("*", floorDiv(t, span), span), i64(ticksTo1970)), i64(100)))
	case types.TimeSpan:
		return bin("*", floorDiv(x, span), span)
	case types.Int, types.Long:
		if st == types.Real || st == types.Decimal {
			return cast(bin("*", fn("floor", bin("/", cast(x, "DOUBLE"), span)), span), t.DuckDB())
		}
		return cast(bin("*", floorDiv(x, span), span), t.DuckDB())
	}
	return cast(bin("*", fn("floor", bin("/", x, span)), span), t.DuckDB())
}

func binFn(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	var constSpan int64
	if v, ok := constArg(call, 1); ok && argType(call, 1) == types.TimeSpan {
		constSpan, _ = v.(int64)
		if constSpan <= 0 {
			return null(call.T), nil
		}
	}
	x := binValue(a[0], argType(call, 0), a[1], argType(call, 1), call.T, constSpan)
	if constSpan == 0 {
		// a bin size that is not positive gives null, not a division error
		return caseWhen(bin("<=", a[1], i64(0)), null(call.T), x), nil
	}
	return x, nil
}

func startOf(unit string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x := startOfExpr(unit, a[0])
		if len(a) == 2 {
			x = addUnits(unit, x, a[1])
		}
		return x, nil
	}
}

func startOfExpr(unit string, x sqlast.Expr) sqlast.Expr {
	if unit == "week" {
		// Kusto weeks start on Sunday.
		d := cast(fn("date_trunc", sqlast.Keyword("'day'"), cast(x, "TIMESTAMP")), "TIMESTAMP_NS")
		return fromNs(bin("-", epochNs(d), bin("*", fn("dayofweek", cast(x, "TIMESTAMP")), i64(types.TicksPerDay*100))))
	}
	return cast(fn("date_trunc", sqlast.Keyword("'"+unit+"'"), cast(x, "TIMESTAMP")), "TIMESTAMP_NS")
}

// addUnits adds n calendar units (day, week, month, year...) to a datetime.
func addUnits(unit string, x, n sqlast.Expr) sqlast.Expr {
	switch unit {
	case "month", "year", "quarter":
		months := map[string]int64{"month": 1, "quarter": 3, "year": 12}[unit]
		base := cast(x, "TIMESTAMP")
		sub := tmpl("(epoch_ns({}) % 1000)", x)
		return fromNs(bin("+", epochNs(cast(tmpl("{} + to_months(CAST({} AS INTEGER) * "+itoa(int(months))+")", base, n), "TIMESTAMP_NS")), sub))
	}
	ticks := tickUnits[unit]
	if unit == "nanosecond" {
		return fromNs(bin("+", epochNs(x), n))
	}
	return fromNs(bin("+", epochNs(x), bin("*", cast(n, "BIGINT"), i64(ticks*100))))
}

func endOf(unit string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		start := startOfExpr(unit, a[0])
		var off sqlast.Expr = i64(1)
		if len(a) == 2 {
			off = bin("+", a[1], i64(1))
		}
		next := addUnits(unit, start, off)
		return fromNs(bin("-", epochNs(next), i64(100))), nil
	}
}

func datePart(part string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		return cast(fn(part, cast(a[0], "TIMESTAMP")), "INTEGER"), nil
	}
}

func init() {
	register(map[string]lowerFunc{
		// make_timespan(hour, minute [, second]) or (day, hour, minute, second)
		"make_timespan": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var d, h, m, s sqlast.Expr = i64(0), i64(0), i64(0), i64(0)
			switch len(a) {
			case 2:
				h, m = a[0], a[1]
			case 3:
				h, m, s = a[0], a[1], a[2]
			case 4:
				d, h, m, s = a[0], a[1], a[2], a[3]
			default:
				return nil, unsupported("make_timespan expects (hour, minute[, second]) or (day, hour, minute, second)")
			}
			mins := tmpl("((CAST({} AS BIGINT) * 24 + CAST({} AS BIGINT)) * 60 + CAST({} AS BIGINT))", d, h, m)
			return tmpl("CAST({} * 600000000 + round(CAST({} AS DOUBLE) * 10000000) AS BIGINT)", mins, s), nil
		},
		"bin":   binFn,
		"floor": binFn,
		"bin_at": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x, span, at := a[0], a[1], a[2]
			switch argType(call, 0) {
			case types.DateTime:
				s := bin("*", span, i64(100))
				return fromNs(bin("+", epochNs(at), bin("*", floorDiv(bin("-", epochNs(x), epochNs(at)), s), s))), nil
			case types.TimeSpan, types.Long, types.Int:
				return cast(bin("+", at, bin("*", floorDiv(bin("-", x, at), span), span)), call.T.DuckDB()), nil
			}
			return bin("+", at, bin("*", fn("floor", bin("/", bin("-", x, at), span)), span)), nil
		},
		"startofday":   startOf("day"),
		"startofweek":  startOf("week"),
		"startofmonth": startOf("month"),
		"startofyear":  startOf("year"),
		"endofday":     endOf("day"),
		"endofweek":    endOf("week"),
		"endofmonth":   endOf("month"),
		"endofyear":    endOf("year"),
		"datetime_add": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			p := partArg(call, 0)
			if p == "" {
				return nil, unsupported("datetime_add needs a constant part name")
			}
			return addUnits(p, a[2], a[1]), nil
		},
		"datetime_diff": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			p := partArg(call, 0)
			x, y := a[1], a[2]
			switch p {
			case "year", "quarter", "month", "day", "hour", "minute", "second":
				return cast(fn("date_diff", sqlast.Keyword("'"+p+"'"), cast(y, "TIMESTAMP"), cast(x, "TIMESTAMP")), "BIGINT"), nil
			case "week":
				return bin("//", bin("-", epochNs(startOfExpr("week", x)), epochNs(startOfExpr("week", y))), i64(7*types.TicksPerDay*100)), nil
			case "millisecond", "microsecond":
				t := tickUnits[p] * 100
				return bin("-", floorDiv(epochNs(x), i64(t)), floorDiv(epochNs(y), i64(t))), nil
			case "nanosecond":
				return bin("-", epochNs(x), epochNs(y)), nil
			}
			return nil, unsupported("datetime_diff: unknown part")
		},
		"datetime_part": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			p := partArg(call, 0)
			switch p {
			case "year", "quarter", "month", "day", "hour", "minute", "second", "millisecond", "microsecond", "dayofyear":
				x := cast(fn("date_part", sqlast.Keyword("'"+p+"'"), cast(a[1], "TIMESTAMP")), "INTEGER")
				if p == "millisecond" || p == "microsecond" {
					x = cast(bin("%", x, i64(map[string]int64{"millisecond": 1000, "microsecond": 1000000}[p])), "INTEGER")
				}
				return x, nil
			case "nanosecond":
				return cast(bin("%", epochNs(a[1]), i64(1000000000)), "INTEGER"), nil
			case "week_of_year", "weekofyear", "week":
				return cast(fn("weekofyear", cast(a[1], "TIMESTAMP")), "INTEGER"), nil
			}
			return nil, unsupported("datetime_part: unknown part")
		},
		"dayofweek": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin("*", cast(fn("dayofweek", cast(a[0], "TIMESTAMP")), "BIGINT"), i64(types.TicksPerDay)), nil
		},
		"dayofmonth":   datePart("dayofmonth"),
		"dayofyear":    datePart("dayofyear"),
		"getyear":      datePart("year"),
		"getmonth":     datePart("month"),
		"monthofyear":  datePart("month"),
		"hourofday":    datePart("hour"),
		"week_of_year": datePart("weekofyear"),
		"make_datetime": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			parts := []sqlast.Expr{i64(0), i64(1), i64(1), i64(0), i64(0), sqlast.Keyword("0.0")}
			for i, x := range a {
				if i < 6 {
					parts[i] = x
				}
			}
			return tryCast(fn("make_timestamp", cast(parts[0], "BIGINT"), cast(parts[1], "BIGINT"), cast(parts[2], "BIGINT"),
				cast(parts[3], "BIGINT"), cast(parts[4], "BIGINT"), cast(parts[5], "DOUBLE")), "TIMESTAMP_NS"), nil
		},
		"unixtime_seconds_todatetime":      unixTime(1e9),
		"unixtime_milliseconds_todatetime": unixTime(1e6),
		"unixtime_microseconds_todatetime": unixTime(1e3),
		"unixtime_nanoseconds_todatetime":  unixTime(1),
		"format_datetime":                  formatDateTimeFn,
		"format_timespan":                  formatTimeSpanFn,
	})
}

func unixTime(nsPerUnit float64) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		if nsPerUnit == 1 {
			return fromNs(cast(a[0], "BIGINT")), nil
		}
		return fromNs(cast(fn("round", bin("*", cast(a[0], "DOUBLE"), sqlast.Keyword(ftoa(nsPerUnit)))), "BIGINT")), nil
	}
}

func ftoa(f float64) string {
	switch f {
	case 1e9:
		return "1000000000.0"
	case 1e6:
		return "1000000.0"
	case 1e3:
		return "1000.0"
	}
	return "1.0"
}

// formatTokens splits a .NET custom format string into runs of one letter
// (yyyy, MM, ...) and literal text.
func formatTokens(f string) (out []string) {
	defer func() {
		// runs longer than a specifier are read as several specifiers (dddd = dd dd)
		var split []string
		for _, t := range out {
			if len(t) > 2 && strings.IndexByte("dMHhms", t[0]) >= 0 {
				for len(t) > 2 {
					split = append(split, t[:2])
					t = t[2:]
				}
			}
			split = append(split, t)
		}
		out = split
	}()
	for i := 0; i < len(f); {
		ch := f[i]
		j := i + 1
		if strings.IndexByte("yMdHhmsfFtT", ch) >= 0 {
			for j < len(f) && f[j] == ch {
				j++
			}
		} else if ch == '\\' && j < len(f) {
			out = append(out, "'"+string(f[j]))
			i = j + 1
			continue
		} else {
			for j < len(f) && strings.IndexByte("yMdHhmsfFtT\\", f[j]) < 0 {
				j++
			}
			out = append(out, "'"+f[i:j])
			i = j
			continue
		}
		out = append(out, f[i:j])
		i = j
	}
	return out
}

func formatDateTimeFn(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	v, ok := constArg(call, 1)
	f, _ := v.(string)
	if !ok {
		return nil, unsupported("format_datetime needs a constant format")
	}
	x := a[0]
	ts := cast(x, "TIMESTAMP")
	var parts []sqlast.Expr
	sf := func(pat string) sqlast.Expr { return fn("strftime", ts, sqlast.Keyword("'"+pat+"'")) }
	for _, tok := range formatTokens(f) {
		if strings.HasPrefix(tok, "'") {
			parts = append(parts, str(tok[1:]))
			continue
		}
		switch tok {
		case "yyyy":
			parts = append(parts, sf("%Y"))
		case "yy":
			parts = append(parts, sf("%y"))
		case "MM":
			parts = append(parts, sf("%m"))
		case "M":
			parts = append(parts, sf("%-m"))
		case "dd":
			parts = append(parts, sf("%d"))
		case "d":
			parts = append(parts, sf("%-d"))
		case "HH":
			parts = append(parts, sf("%H"))
		case "H":
			parts = append(parts, sf("%-H"))
		case "hh":
			parts = append(parts, sf("%I"))
		case "h":
			parts = append(parts, sf("%-I"))
		case "mm":
			parts = append(parts, sf("%M"))
		case "m":
			parts = append(parts, sf("%-M"))
		case "ss":
			parts = append(parts, sf("%S"))
		case "s":
			parts = append(parts, sf("%-S"))
		case "tt":
			parts = append(parts, sf("%p"))
		case "y":
			parts = append(parts, cast(bin("%", fn("year", ts), i64(100)), "VARCHAR"))
		default:
			if tok[0] == 'f' {
				parts = append(parts, fn("left", fn("strftime", x, sqlast.Keyword("'%n'")), i64(int64(len(tok)))))
			} else if tok[0] == 'F' {
				parts = append(parts, fn("rtrim", fn("left", fn("strftime", x, sqlast.Keyword("'%n'")), i64(int64(len(tok)))), sqlast.Keyword("'0'")))
			} else {
				parts = append(parts, str(tok))
			}
		}
	}
	if len(parts) == 0 {
		return str(""), nil
	}
	return fn("COALESCE", fn("concat", parts...), sqlast.Keyword("''")), nil
}

func formatTimeSpanFn(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	v, ok := constArg(call, 1)
	f, _ := v.(string)
	if !ok {
		return nil, unsupported("format_timespan needs a constant format")
	}
	u := fn("abs", a[0])
	num := func(div, mod int64, width int) sqlast.Expr {
		var x sqlast.Expr = bin("//", u, i64(div))
		if mod > 0 {
			x = bin("%", x, i64(mod))
		}
		return fn("lpad", cast(x, "VARCHAR"), i64(int64(width)), sqlast.Keyword("'0'"))
	}
	var parts []sqlast.Expr
	for _, tok := range formatTokens(f) {
		if strings.HasPrefix(tok, "'") {
			parts = append(parts, str(tok[1:]))
			continue
		}
		n := len(tok)
		switch tok[0] {
		case 'd':
			parts = append(parts, num(types.TicksPerDay, 0, n))
		case 'h', 'H':
			parts = append(parts, num(types.TicksPerHour, 24, n))
		case 'm':
			parts = append(parts, num(types.TicksPerMinute, 60, n))
		case 's':
			parts = append(parts, num(types.TicksPerSecond, 60, n))
		case 'f':
			parts = append(parts, fn("left", fn("lpad", cast(bin("%", u, i64(types.TicksPerSecond)), "VARCHAR"), i64(7), sqlast.Keyword("'0'")), i64(int64(n))))
		case 'F':
			parts = append(parts, fn("rtrim", fn("left", fn("lpad", cast(bin("%", u, i64(types.TicksPerSecond)), "VARCHAR"), i64(7), sqlast.Keyword("'0'")), i64(int64(n))), sqlast.Keyword("'0'")))
		default:
			parts = append(parts, str(tok))
		}
	}
	if len(parts) == 0 {
		return str(""), nil
	}
	return fn("concat", append([]sqlast.Expr{tmpl("CASE WHEN {} < 0 THEN '-' ELSE '' END", a[0])}, parts...)...), nil
}
