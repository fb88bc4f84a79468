package compile

import (
	"strings"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Datetime and timespan functions. Both are BIGINT counts of 100 ns ticks
// (datetime's since 0001-01-01, see types/ticks.go): bins, day, hour and
// weekday arithmetic stay integer arithmetic, and only calendar functions
// (months, years, ISO weeks, strftime) go through a DuckDB TIMESTAMP, whose
// microseconds get the sub-microsecond tick added back. Results outside
// 0001-01-01..9999-12-31 are null, as in Kusto.

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

// microsTo1970 is the number of microseconds from 0001-01-01 to 1970-01-01.
const microsTo1970 = types.UnixEpochTicks / types.TicksPerMicrosecond

// floorDiv is integer division rounding toward negative infinity (DuckDB's
// // truncates toward zero).
func floorDiv(a, b sqlast.Expr) sqlast.Expr {
	return tmpl("(({} // {}) - CASE WHEN ({} % {} <> 0) AND (({} < 0) <> ({} < 0)) THEN 1 ELSE 0 END)", a, b, a, b, a, b)
}

// dtRange makes a computed datetime null when it left Kusto's range. It
// clamps to one past either end and nulls those two sentinels, so the
// expression is written (and evaluated) once.
func dtRange(x sqlast.Expr) sqlast.Expr {
	lo, hi := i64(types.MinDateTimeTicks-1), i64(types.MaxDateTimeTicks+1)
	return fn("nullif", fn("nullif", fn("least", fn("greatest", x, lo), hi), lo), hi)
}

// clampSpan bounds a tick count to what can still reach the datetime range
// from inside it, so that adding it to a datetime cannot overflow BIGINT.
func clampSpan(x sqlast.Expr) sqlast.Expr {
	return clampTo(x, types.MaxDateTimeTicks+1)
}

func clampTo(x sqlast.Expr, limit int64) sqlast.Expr {
	return fn("least", fn("greatest", x, i64(-limit)), i64(limit))
}

// dtAdd is datetime op timespan (op + or -), null outside the range.
func dtAdd(x sqlast.Expr, op string, span sqlast.Expr) sqlast.Expr {
	return dtRange(bin(op, x, clampSpan(span)))
}

// dtTimestamp converts in-range datetime ticks to a DuckDB TIMESTAMP (whole
// microseconds; the rest is x % 10) for calendar functions. Ticks of valid
// datetimes are never negative, so // is a floor here.
func dtTimestamp(x sqlast.Expr) sqlast.Expr {
	return fn("make_timestamp", bin("-", bin("//", x, i64(types.TicksPerMicrosecond)), i64(microsTo1970)))
}

// dtFromTimestamp converts a DuckDB TIMESTAMP to datetime ticks.
func dtFromTimestamp(ts sqlast.Expr) sqlast.Expr {
	return bin("+", bin("*", fn("epoch_us", ts), i64(types.TicksPerMicrosecond)), i64(types.UnixEpochTicks))
}

// dtFromTimestampNs converts a TIMESTAMP_NS after 1970 (odx_meta's own
// columns, such as an extent's ingestion time) to datetime ticks.
func dtFromTimestampNs(ts sqlast.Expr) sqlast.Expr {
	return bin("+", bin("//", fn("epoch_ns", ts), i64(100)), i64(types.UnixEpochTicks))
}

func binValue(x sqlast.Expr, xt types.Type, span sqlast.Expr, st types.Type, t types.Type) sqlast.Expr {
	switch xt {
	case types.DateTime:
		// Kusto bins count from 0001-01-01, which is tick 0: valid ticks are
		// not negative and the span is positive here, so // is a floor and
		// the bin start never leaves the range.
		return bin("*", bin("//", x, span), span)
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
	x := binValue(a[0], argType(call, 0), a[1], argType(call, 1), call.T)
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
			x = addUnitsRaw(unit, x, a[1])
		} else if unit != "week" {
			return x, nil // the start of a day, month or year of a valid datetime is valid
		}
		return dtRange(x), nil
	}
}

// startOfExpr is the start of x's day, week, month or year, in ticks. The
// week of 0001-01-01 (a Monday) starts before the range: callers apply
// dtRange to what they return.
func startOfExpr(unit string, x sqlast.Expr) sqlast.Expr {
	switch unit {
	case "day":
		return bin("*", bin("//", x, i64(types.TicksPerDay)), i64(types.TicksPerDay))
	case "week":
		// Kusto weeks start on Sunday
		d := bin("//", x, i64(types.TicksPerDay))
		return bin("*", bin("-", d, daysSinceSunday(d)), i64(types.TicksPerDay))
	}
	return dtFromTimestamp(fn("date_trunc", sqlast.Keyword("'"+unit+"'"), dtTimestamp(x)))
}

// daysSinceSunday is the weekday of day number d (days since 0001-01-01,
// which is a Monday) counted from Sunday, 0 to 6.
func daysSinceSunday(d sqlast.Expr) sqlast.Expr {
	return bin("%", bin("+", d, i64(1)), i64(7))
}

// addUnits adds n calendar units (day, week, month, year...) to a datetime.
func addUnits(unit string, x, n sqlast.Expr) sqlast.Expr { return dtRange(addUnitsRaw(unit, x, n)) }

// addUnitsRaw is addUnits without the range check; it never overflows
// BIGINT for x within (or a week off) the range.
func addUnitsRaw(unit string, x, n sqlast.Expr) sqlast.Expr {
	switch unit {
	case "month", "year", "quarter":
		months := map[string]int64{"month": 1, "quarter": 3, "year": 12}[unit]
		// at most 10,000 years either way: beyond that the result is out of
		// range anyway, and the TIMESTAMP's microseconds still fit ticks
		count := cast(bin("*", clampTo(tryCast(n, "BIGINT"), 120000/months), i64(months)), "INTEGER")
		shifted := tmpl("({} + to_months({}))", dtTimestamp(x), count)
		return bin("+", dtFromTimestamp(shifted), bin("%", x, i64(types.TicksPerMicrosecond)))
	case "nanosecond":
		return bin("+", x, bin("//", cast(n, "BIGINT"), i64(100)))
	}
	ticks := tickUnits[unit]
	return bin("+", x, bin("*", clampTo(cast(n, "BIGINT"), types.MaxDateTimeTicks/ticks+1), i64(ticks)))
}

func endOf(unit string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		start := startOfExpr(unit, a[0])
		var off sqlast.Expr = i64(1)
		if len(a) == 2 {
			off = bin("+", clampTo(cast(a[1], "BIGINT"), types.MaxDateTimeTicks/types.TicksPerDay+1), i64(1))
		}
		return dtRange(bin("-", addUnitsRaw(unit, start, off), i64(1))), nil
	}
}

func datePart(part string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		return cast(fn(part, dtTimestamp(a[0])), "INTEGER"), nil
	}
}

// tickPart is (x % mod) // div as an int: the hour, minute, second or
// fraction of a datetime, which day-aligned ticks give without a calendar.
func tickPart(x sqlast.Expr, mod, div int64) sqlast.Expr {
	return cast(bin("//", bin("%", x, i64(mod)), i64(div)), "INTEGER")
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
				// x - at cannot overflow between two valid datetimes
				return dtRange(bin("+", at, bin("*", floorDiv(bin("-", x, at), span), span))), nil
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
			if _, ok := tickUnits[p]; !ok && p != "month" && p != "year" && p != "quarter" && p != "nanosecond" {
				return nil, unsupported("datetime_add: unknown part")
			}
			return addUnits(p, a[2], a[1]), nil
		},
		"datetime_diff": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			p := partArg(call, 0)
			x, y := a[1], a[2]
			switch p {
			case "year", "quarter", "month":
				return cast(fn("date_diff", sqlast.Keyword("'"+p+"'"), dtTimestamp(y), dtTimestamp(x)), "BIGINT"), nil
			case "week":
				return bin("//", bin("-", startOfExpr("week", x), startOfExpr("week", y)), i64(7*types.TicksPerDay)), nil
			case "day", "hour", "minute", "second", "millisecond", "microsecond":
				// the number of unit boundaries between the two: units are
				// aligned on tick 0 and valid ticks are not negative
				t := i64(tickUnits[p])
				return bin("-", bin("//", x, t), bin("//", y, t)), nil
			case "nanosecond":
				// null, not an error, past the 292 years a long holds
				return tryCast(bin("*", bin("-", cast(x, "HUGEINT"), y), i64(100)), "BIGINT"), nil
			}
			return nil, unsupported("datetime_diff: unknown part")
		},
		"datetime_part": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			p := partArg(call, 0)
			x := a[1]
			switch p {
			case "year", "quarter", "month", "day", "dayofyear":
				return cast(fn("date_part", sqlast.Keyword("'"+p+"'"), dtTimestamp(x)), "INTEGER"), nil
			case "hour":
				return tickPart(x, types.TicksPerDay, types.TicksPerHour), nil
			case "minute":
				return tickPart(x, types.TicksPerHour, types.TicksPerMinute), nil
			case "second":
				return tickPart(x, types.TicksPerMinute, types.TicksPerSecond), nil
			case "millisecond":
				return tickPart(x, types.TicksPerSecond, types.TicksPerMillisecond), nil
			case "microsecond":
				return tickPart(x, types.TicksPerSecond, types.TicksPerMicrosecond), nil
			case "nanosecond":
				return cast(bin("*", bin("%", x, i64(types.TicksPerSecond)), i64(100)), "INTEGER"), nil
			case "week_of_year", "weekofyear", "week":
				return cast(fn("weekofyear", dtTimestamp(x)), "INTEGER"), nil
			}
			return nil, unsupported("datetime_part: unknown part")
		},
		"dayofweek": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin("*", daysSinceSunday(bin("//", a[0], i64(types.TicksPerDay))), i64(types.TicksPerDay)), nil
		},
		"dayofmonth":  datePart("dayofmonth"),
		"dayofyear":   datePart("dayofyear"),
		"getyear":     datePart("year"),
		"getmonth":    datePart("month"),
		"monthofyear": datePart("month"),
		"hourofday": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tickPart(a[0], types.TicksPerDay, types.TicksPerHour), nil
		},
		"week_of_year": datePart("weekofyear"),
		"make_datetime": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			parts := []sqlast.Expr{i64(0), i64(1), i64(1), i64(0), i64(0), sqlast.Keyword("0.0")}
			for i, x := range a {
				if i < 6 {
					parts[i] = x
				}
			}
			// the calendar part in a TIMESTAMP (an invalid date is null), the
			// seconds in ticks, so that all seven fraction digits count
			var day sqlast.Expr = fn("make_timestamp", cast(parts[0], "BIGINT"), cast(parts[1], "BIGINT"), cast(parts[2], "BIGINT"),
				cast(parts[3], "BIGINT"), cast(parts[4], "BIGINT"), sqlast.Keyword("0.0"))
			if !spansRows(call) {
				day = fn("TRY", day) // TRY cannot hold aggregates or window functions
			}
			sec := cast(parts[5], "DOUBLE")
			ticks := tmpl("CASE WHEN {} >= 0 AND {} < 60 THEN CAST(round({} * 10000000) AS BIGINT) END", sec, sec, sec)
			return dtRange(bin("+", dtFromTimestamp(day), ticks)), nil
		},
		"unixtime_seconds_todatetime":      unixTime(types.TicksPerSecond),
		"unixtime_milliseconds_todatetime": unixTime(types.TicksPerMillisecond),
		"unixtime_microseconds_todatetime": unixTime(types.TicksPerMicrosecond),
		"unixtime_nanoseconds_todatetime":  unixTime(0),
		"format_datetime":                  formatDateTimeFn,
		"format_timespan":                  formatTimeSpanFn,
	})
}

// unixTime converts a count of units since 1970 to a datetime;
// ticksPerUnit 0 means nanoseconds (1/100 tick).
func unixTime(ticksPerUnit int64) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x := a[0]
		var ticks sqlast.Expr
		switch t := argType(call, 0); {
		case (t == types.Long || t == types.Int) && ticksPerUnit == 0:
			ticks = floorDiv(cast(x, "BIGINT"), i64(100))
		case t == types.Long || t == types.Int:
			ticks = bin("*", clampTo(cast(x, "BIGINT"), types.MaxDateTimeTicks/ticksPerUnit+1), i64(ticksPerUnit))
		case ticksPerUnit == 0:
			ticks = clampSpan(tryCast(fn("floor", bin("/", cast(x, "DOUBLE"), sqlast.Keyword("100.0"))), "BIGINT"))
		default:
			ticks = clampSpan(tryCast(fn("round", bin("*", cast(x, "DOUBLE"), i64(ticksPerUnit))), "BIGINT"))
		}
		return dtRange(bin("+", ticks, i64(types.UnixEpochTicks))), nil
	}
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
	ts := dtTimestamp(x)
	// the fraction as nine digits: seven of ticks, then nanoseconds' zeros
	frac := fn("rpad", fn("lpad", cast(bin("%", x, i64(types.TicksPerSecond)), "VARCHAR"), i64(7), sqlast.Keyword("'0'")), i64(9), sqlast.Keyword("'0'"))
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
				parts = append(parts, fn("left", frac, i64(int64(len(tok)))))
			} else if tok[0] == 'F' {
				parts = append(parts, fn("rtrim", fn("left", frac, i64(int64(len(tok)))), sqlast.Keyword("'0'")))
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
