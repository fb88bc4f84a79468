package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Conversions between Kusto types, and the to*() functions.

func init() {
	register(map[string]lowerFunc{
		"tostring": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return toVarchar(a[0], argType(call, 0)), nil
		},
		"toint":      convertTo(types.Int),
		"tolong":     convertTo(types.Long),
		"toreal":     convertTo(types.Real),
		"todecimal":  convertTo(types.Decimal),
		"tobool":     convertTo(types.Bool),
		"todatetime": convertTo(types.DateTime),
		"totimespan": convertTo(types.TimeSpan),
		"toguid":     convertTo(types.Guid),
		"todynamic":  parseJSON,
		"parse_json": parseJSON,
		"gettype": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if t := argType(call, 0); t != types.Dynamic {
				return str(t.String()), nil
			}
			return tmpl(`CASE json_type({}) WHEN 'VARCHAR' THEN 'string' WHEN 'BIGINT' THEN 'long' WHEN 'UBIGINT' THEN 'long' WHEN 'DOUBLE' THEN 'real' WHEN 'BOOLEAN' THEN 'bool' WHEN 'ARRAY' THEN 'array' WHEN 'OBJECT' THEN 'dictionary' WHEN 'NULL' THEN 'null' ELSE 'null' END`, a[0]), nil
		},
	})
}

// convertTo lowers to<type>(x): Kusto conversions yield null instead of failing.
func convertTo(t types.Type) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		return convert(a[0], argType(call, 0), t), nil
	}
}

func convert(x sqlast.Expr, from, to types.Type) sqlast.Expr {
	if from == to {
		return x
	}
	if from == types.Dynamic {
		return fromDynamic(x, to)
	}
	switch to {
	case types.String:
		return toVarchar(x, from)
	case types.Dynamic:
		return toDynamic(x, from)
	case types.Int, types.Long:
		switch from {
		case types.Real, types.Decimal:
			return tryCast(fn("trunc", x), to.DuckDB())
		case types.String:
			return tmpl("COALESCE(TRY_CAST(trim({}) AS "+to.DuckDB()+"), TRY_CAST(trunc(TRY_CAST(trim({}) AS DOUBLE)) AS "+to.DuckDB()+"))", x, x)
		case types.DateTime:
			// ticks since 0001-01-01
			return tryCast(x, to.DuckDB())
		case types.Bool:
			return cast(x, to.DuckDB())
		}
		return tryCast(x, to.DuckDB())
	case types.Real:
		if from == types.DateTime {
			return cast(x, "DOUBLE")
		}
		if from == types.String {
			return stringToReal(x)
		}
		return tryCast(x, "DOUBLE")
	case types.Bool:
		switch from {
		case types.String:
			return tmpl("CASE lower({}) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE WHEN '1' THEN TRUE WHEN '0' THEN FALSE ELSE NULL END", x)
		case types.Int, types.Long, types.Real, types.Decimal:
			return bin("<>", x, i64(0))
		}
		return tryCast(x, "BOOLEAN")
	case types.DateTime:
		switch from {
		case types.String:
			return stringToDateTime(x)
		case types.Long, types.Int:
			// ticks since 0001-01-01
			return dtRange(cast(x, "BIGINT"))
		case types.Real, types.Decimal:
			// ticks, truncated: todatetime(1.5) is one tick
			return dtRange(tryCast(fn("trunc", x), "BIGINT"))
		}
		return null(types.DateTime)
	case types.TimeSpan:
		switch from {
		case types.String:
			return stringToTimeSpan(x)
		case types.Long, types.Int:
			return cast(x, "BIGINT")
		case types.Real:
			return cast(fn("round", x), "BIGINT")
		}
		return tryCast(x, "BIGINT")
	case types.Guid:
		return tryCast(x, "UUID")
	case types.Decimal:
		return tryCast(x, types.Decimal.DuckDB())
	}
	return tryCast(x, to.DuckDB())
}

func stringToReal(x sqlast.Expr) sqlast.Expr {
	// DuckDB would also accept digit separators (1_000); Kusto does not
	return tmpl("CASE lower(trim({})) WHEN 'nan' THEN CAST('NaN' AS DOUBLE) WHEN 'infinity' THEN CAST('Infinity' AS DOUBLE) WHEN '-infinity' THEN CAST('-Infinity' AS DOUBLE) ELSE CASE WHEN contains({}, '_') THEN NULL ELSE TRY_CAST(trim({}) AS DOUBLE) END END", x, x, x)
}

// stringToDateTime parses ISO 8601 (DuckDB's cast) and the common US and RFC
// forms. A TIMESTAMP holds microseconds, so the seconds' fraction is cut
// off before the cast and added back as seven digits of ticks.
func stringToDateTime(x sqlast.Expr) sqlast.Expr {
	iso := tmpl("TRY_CAST(regexp_replace(replace(replace(trim({}), 'T', ' '), 'Z', ''), '(:\\d\\d)[.,]\\d+', '\\1') AS TIMESTAMP)", x)
	frac := tmpl("CAST(rpad(left(regexp_extract(trim({}), ':\\d\\d[.,](\\d+)', 1), 7), 7, '0') AS BIGINT)", x)
	other := tmpl("CAST(try_strptime(trim({}), ['%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M', '%m/%d/%Y', '%a, %d %b %Y %H:%M:%S GMT', '%d %b %Y %H:%M:%S', '%Y-%m-%dT%H:%M:%S%z']) AS TIMESTAMP)", x)
	return dtRange(fn("COALESCE", bin("+", dtFromTimestamp(iso), frac), dtFromTimestamp(other)))
}

// stringToTimeSpan parses [-][d.]hh:mm[:ss[.fffffff]] and unit forms (1d, 2h, 30m, 10s, 100ms).
func stringToTimeSpan(x sqlast.Expr) sqlast.Expr {
	const re = `^(-)?(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d{1,7}))?)?$`
	const unitRe = `^(-?\d+(?:\.\d+)?)\s*(d|h|m|s|ms|microsecond|tick)$`
	p := &sqlast.Param{Value: re, Type: "VARCHAR"}
	u := &sqlast.Param{Value: unitRe, Type: "VARCHAR"}
	return tmpl("CASE WHEN regexp_matches(trim({}), {}) THEN "+
		"(CASE WHEN regexp_extract(trim({}), {}, 1) = '-' THEN -1 ELSE 1 END) * ("+
		"COALESCE(TRY_CAST(regexp_extract(trim({}), {}, 2) AS BIGINT), 0) * 864000000000 + "+
		"CAST(regexp_extract(trim({}), {}, 3) AS BIGINT) * 36000000000 + "+
		"CAST(regexp_extract(trim({}), {}, 4) AS BIGINT) * 600000000 + "+
		"COALESCE(TRY_CAST(regexp_extract(trim({}), {}, 5) AS BIGINT), 0) * 10000000 + "+
		"COALESCE(TRY_CAST(rpad(regexp_extract(trim({}), {}, 6), 7, '0') AS BIGINT), 0)) "+
		"WHEN regexp_matches(trim({}), {}) THEN CAST(round(CAST(regexp_extract(trim({}), {}, 1) AS DOUBLE) * "+
		"CASE regexp_extract(trim({}), {}, 2) WHEN 'd' THEN 864000000000 WHEN 'h' THEN 36000000000 WHEN 'm' THEN 600000000 "+
		"WHEN 's' THEN 10000000 WHEN 'ms' THEN 10000 WHEN 'microsecond' THEN 10 ELSE 1 END) AS BIGINT) ELSE NULL END",
		x, p, x, p, x, p, x, p, x, p, x, p, x, p, x, u, x, u, x, u)
}

func parseJSON(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	t := argType(call, 0)
	if t == types.Dynamic {
		return a[0], nil
	}
	if t == types.String {
		// A string that is not JSON stays a JSON string, as in Kusto.
		return tmpl("CASE WHEN json_valid({}) THEN CAST({} AS JSON) ELSE to_json({}) END", a[0], a[0], a[0]), nil
	}
	return toDynamic(a[0], t), nil
}

// fromDynamic extracts a typed scalar from a JSON value (null when it does not convert).
func fromDynamic(x sqlast.Expr, t types.Type) sqlast.Expr {
	s := tmpl("({} ->> '$')", x)
	switch t {
	case types.Dynamic:
		return x
	case types.String:
		return s
	case types.Int, types.Long:
		return tmpl("COALESCE(TRY_CAST({} AS "+t.DuckDB()+"), TRY_CAST(trunc(TRY_CAST({} AS DOUBLE)) AS "+t.DuckDB()+"))", s, s)
	case types.Real:
		return stringToReal(s)
	case types.Bool:
		return tryCast(s, "BOOLEAN")
	case types.DateTime:
		return stringToDateTime(s)
	case types.TimeSpan:
		return tmpl("CASE WHEN json_type({}) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN TRY_CAST({} AS BIGINT) ELSE {} END", x, s, stringToTimeSpan(s))
	}
	return tryCast(s, t.DuckDB())
}

// toDynamic wraps a typed scalar as a JSON value, with datetime and timespan as Kusto strings.
func toDynamic(x sqlast.Expr, t types.Type) sqlast.Expr {
	switch t {
	case types.Dynamic:
		return x
	case types.DateTime, types.TimeSpan, types.Guid:
		return fn("to_json", toVarchar(x, t))
	case types.Real:
		return tmpl("CASE WHEN isnan({}) THEN to_json('NaN') WHEN isinf({}) THEN to_json(CASE WHEN {} > 0 THEN 'Infinity' ELSE '-Infinity' END) ELSE to_json({}) END", x, x, x, x)
	}
	return fn("to_json", x)
}

// toVarchar formats a value the way Kusto's tostring() does; null becomes "".
func toVarchar(x sqlast.Expr, t types.Type) sqlast.Expr {
	switch t {
	case types.String:
		return x
	case types.Bool:
		return tmpl("CASE WHEN {} THEN 'True' WHEN NOT {} THEN 'False' ELSE '' END", x, x)
	case types.Real:
		return fn("COALESCE", formatReal(x), sqlast.Keyword("''"))
	case types.DateTime:
		return fn("COALESCE", formatDateTime(x), sqlast.Keyword("''"))
	case types.TimeSpan:
		return fn("COALESCE", formatTimeSpan(x), sqlast.Keyword("''"))
	case types.Dynamic:
		return tmpl("COALESCE(CASE WHEN json_type({}) = 'VARCHAR' THEN {} ->> '$' WHEN json_type({}) = 'NULL' THEN '' ELSE CAST({} AS VARCHAR) END, '')", x, x, x, x)
	case types.Decimal:
		return fn("COALESCE", tmpl("regexp_replace(regexp_replace(CAST({} AS VARCHAR), '(\\.\\d*?)0+$', '\\1'), '\\.$', '')", x), sqlast.Keyword("''"))
	}
	return fn("COALESCE", cast(x, "VARCHAR"), sqlast.Keyword("''"))
}

// formatReal prints doubles like .NET's "R" format: integers without ".0".
func formatReal(x sqlast.Expr) sqlast.Expr {
	return tmpl("CASE WHEN isnan({}) THEN 'NaN' WHEN isinf({}) THEN CASE WHEN {} > 0 THEN 'Infinity' ELSE '-Infinity' END "+
		"WHEN {} = trunc({}) AND abs({}) < 1e15 THEN CAST(CAST({} AS BIGINT) AS VARCHAR) ELSE CAST({} AS VARCHAR) END", x, x, x, x, x, x, x, x)
}

// formatDateTime prints yyyy-MM-ddTHH:mm:ss.fffffffZ.
func formatDateTime(x sqlast.Expr) sqlast.Expr {
	return tmpl("(strftime({}, '%Y-%m-%dT%H:%M:%S.') || lpad(CAST({} % 10000000 AS VARCHAR), 7, '0') || 'Z')", dtTimestamp(x), x)
}

// formatTimeSpan prints [-][d.]hh:mm:ss[.fffffff] from ticks.
func formatTimeSpan(x sqlast.Expr) sqlast.Expr {
	u := tmpl("abs({})", x)
	return tmpl("(CASE WHEN {} < 0 THEN '-' ELSE '' END || CASE WHEN {} >= 864000000000 THEN CAST({} // 864000000000 AS VARCHAR) || '.' ELSE '' END || "+
		"printf('%02d:%02d:%02d', ({} % 864000000000) // 36000000000, ({} % 36000000000) // 600000000, ({} % 600000000) // 10000000) || "+
		"CASE WHEN {} % 10000000 <> 0 THEN '.' || lpad(CAST({} % 10000000 AS VARCHAR), 7, '0') ELSE '' END)",
		x, u, u, u, u, u, u, u)
}
