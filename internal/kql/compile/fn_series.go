package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Series functions: element-wise math over dynamic arrays of numbers.

// seriesElem is element i (0-based, SQL variable i) of argument n as a
// double; a scalar argument is the same for every i.
func seriesElem(call *sem.Call, a []sqlast.Expr, n int) sqlast.Expr {
	x := dyn(call, a, n)
	if argType(call, n) != types.Dynamic {
		return cast(a[n], "DOUBLE")
	}
	return tmpl("TRY_CAST(json_extract({}, '$[' || i || ']') ->> '$' AS DOUBLE)", x)
}

func seriesLen(call *sem.Call, a []sqlast.Expr) sqlast.Expr {
	var lens []sqlast.Expr
	for n := range a {
		if argType(call, n) == types.Dynamic {
			lens = append(lens, tmpl("CAST(COALESCE(json_array_length({}), 0) AS BIGINT)", dyn(call, a, n)))
		}
	}
	if len(lens) == 0 {
		return i64(0)
	}
	return fn("greatest", lens...)
}

// seriesMap builds to_json([f(elements...) for i in 0..len-1]).
func seriesMap(f string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		var elems []sqlast.Expr
		for n := range a {
			elems = append(elems, seriesElem(call, a, n))
		}
		body := tmpl(f, elems...)
		return tmpl("to_json(list_transform(range({}), i -> {}))", seriesLen(call, a), body), nil
	}
}

func init() {
	fns := map[string]string{
		"series_add": "{} + {}", "series_subtract": "{} - {}", "series_multiply": "{} * {}",
		"series_divide":  "CASE WHEN {} = 0 THEN NULL ELSE {} / {} END",
		"series_greater": "{} > {}", "series_greater_equals": "{} >= {}", "series_less": "{} < {}",
		"series_less_equals": "{} <= {}", "series_equals": "{} = {}", "series_not_equals": "{} <> {}",
		"series_abs": "abs({})", "series_atan": "atan({})", "series_acos": "acos({})", "series_asin": "asin({})",
		"series_cos": "cos({})", "series_sin": "sin({})", "series_tan": "tan({})", "series_exp": "exp({})",
		"series_log": "CASE WHEN {} > 0 THEN ln({}) ELSE NULL END", "series_sign": "sign({})",
		"series_floor": "floor({})", "series_ceiling": "ceil({})", "series_pow": "pow({}, {})",
	}
	m := map[string]lowerFunc{}
	for name, f := range fns {
		switch name {
		case "series_divide":
			m[name] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
				x, y := seriesElem(call, a, 0), seriesElem(call, a, 1)
				return tmpl("to_json(list_transform(range({}), i -> CASE WHEN {} = 0 THEN NULL ELSE {} / {} END))", seriesLen(call, a), y, x, y), nil
			}
		case "series_log":
			m[name] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
				x := seriesElem(call, a, 0)
				return tmpl("to_json(list_transform(range({}), i -> CASE WHEN {} > 0 THEN ln({}) ELSE NULL END))", seriesLen(call, a), x, x), nil
			}
		default:
			m[name] = seriesMap(f)
		}
	}
	m["series_dot_product"] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x, y := seriesElem(call, a, 0), seriesElem(call, a, 1)
		return tmpl("list_sum(list_transform(range({}), i -> {} * {}))", seriesLen(call, a), x, y), nil
	}
	m["series_cosine_similarity"] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		n := seriesLen(call, a)
		x, y := seriesElem(call, a, 0), seriesElem(call, a, 1)
		return tmpl("list_sum(list_transform(range({}), i -> {} * {})) / (sqrt(list_sum(list_transform(range({}), i -> {} * {}))) * sqrt(list_sum(list_transform(range({}), i -> {} * {}))))",
			n, x, y, n, x, x, n, y, y), nil
	}
	fill := func(backward bool) lowerFunc {
		return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := asJSONList(dyn(call, a, 0))
			isVal := "x IS NOT NULL AND json_type(x) <> 'NULL'"
			if backward {
				return tmpl("to_json(list_transform(range(len({})), i -> COALESCE(list_filter(list_slice({}, i + 1, len({})), x -> "+isVal+")[1], 'null'::JSON)))", l, l, l), nil
			}
			return tmpl("to_json(list_transform(range(len({})), i -> COALESCE(list_last(list_filter(list_slice({}, 1, i + 1), x -> "+isVal+")), 'null'::JSON)))", l, l), nil
		}
	}
	m["series_fill_forward"] = fill(false)
	m["series_fill_backward"] = fill(true)
	// series_fill_linear(series [, missing_value_placeholder [, fill_edges [, constant_value]]]):
	// a missing element between two present ones takes the value on the line
	// through them; edges take the nearest present value when fill_edges
	// (the default), and constant_value when nothing is present. Quadratic in
	// the series length, which make-series keeps modest.
	m["series_fill_linear"] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l := asJSONList(dyn(call, a, 0))
		var placeholder sqlast.Expr = sqlast.Keyword("CAST(NULL AS DOUBLE)")
		if len(a) > 1 {
			placeholder = cast(a[1], "DOUBLE")
		}
		var edges sqlast.Expr = sqlast.Keyword("TRUE")
		if len(a) > 2 {
			edges = a[2]
		}
		var konst sqlast.Expr = sqlast.Keyword("CAST(NULL AS DOUBLE)")
		if len(a) > 3 {
			konst = cast(a[3], "DOUBLE")
		}
		v := tmpl("list_transform({}, x -> CASE WHEN x IS NULL OR json_type(x) = 'NULL' OR TRY_CAST(x ->> '$' AS DOUBLE) = {} THEN NULL ELSE TRY_CAST(x ->> '$' AS DOUBLE) END)", l, placeholder)
		// list_transform([e], name -> ...)[1] binds a name: v the values,
		// idx the present positions, s.p / s.q the nearest present
		// positions before and after i
		return tmpl("to_json(list_transform([{}], v -> list_transform([list_filter(range(len(v)), k -> v[k + 1] IS NOT NULL)], idx -> "+
			"list_transform(range(len(v)), i -> list_transform([{'p': list_max(list_filter(idx, j -> j < i)), 'q': list_min(list_filter(idx, j -> j > i))}], s -> "+
			"CASE WHEN v[i + 1] IS NOT NULL THEN v[i + 1] "+
			"WHEN s.p IS NOT NULL AND s.q IS NOT NULL THEN v[s.p + 1] + (v[s.q + 1] - v[s.p + 1]) * (i - s.p) / (s.q - s.p) "+
			"WHEN len(idx) = 0 THEN {} WHEN {} THEN COALESCE(v[s.p + 1], v[s.q + 1]) ELSE NULL END)[1]))[1])[1])", v, konst, edges), nil
	}
	m["series_fill_const"] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l := asJSONList(dyn(call, a, 0))
		return tmpl("to_json(list_transform({}, x -> CASE WHEN x IS NULL OR json_type(x) = 'NULL' THEN {} ELSE x END))", l, dyn(call, a, 1)), nil
	}
	m["series_stats_dynamic"] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l := tmpl("list_filter(list_transform({}, x -> TRY_CAST(x ->> '$' AS DOUBLE)), x -> x IS NOT NULL)", asJSONList(dyn(call, a, 0)))
		return tmpl("json_object('min', list_min({}), 'min_idx', list_position({}, list_min({})) - 1, 'max', list_max({}), 'max_idx', list_position({}, list_max({})) - 1, "+
			"'avg', list_avg({}), 'stdev', COALESCE(list_aggregate({}, 'stddev_samp'), 0), 'variance', COALESCE(list_aggregate({}, 'var_samp'), 0), 'sum', list_sum({}), 'len', len({}))",
			l, l, l, l, l, l, l, l, l, l, l), nil
	}
	m["series_fir"] = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x := asJSONList(dyn(call, a, 0))
		f := tmpl("list_transform({}, v -> TRY_CAST(v ->> '$' AS DOUBLE))", asJSONList(dyn(call, a, 1)))
		xs := tmpl("list_transform({}, v -> TRY_CAST(v ->> '$' AS DOUBLE))", x)
		// y[i] = sum_j f[j] * x[i - j]
		return tmpl("to_json(list_transform(range(len({})), i -> list_sum(list_transform(range(len({})), j -> CASE WHEN i - j >= 0 THEN {}[j + 1] * {}[i - j + 1] ELSE 0 END))))", xs, f, f, xs), nil
	}
	register(m)
}

func init() {
	register(map[string]lowerFunc{
		"series_stats": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return lowerings["series_stats_dynamic"](c, call, a[:1])
		},
		// series_fit_line: least squares over x = 1..n.
		"series_fit_line": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			y := tmpl("list_transform({}, v -> COALESCE(TRY_CAST(v ->> '$' AS DOUBLE), 0))", asJSONList(dyn(call, a, 0)))
			n := tmpl("CAST(len({}) AS DOUBLE)", y)
			sx := tmpl("({} * ({} + 1) / 2)", n, n)
			sxx := tmpl("({} * ({} + 1) * (2 * {} + 1) / 6)", n, n, n)
			sy := tmpl("list_sum({})", y)
			sxy := tmpl("list_sum(list_transform(range(len({})), i -> (i + 1) * {}[i + 1]))", y, y)
			slope := tmpl("(({} * {} - {} * {}) / nullif({} * {} - {} * {}, 0))", n, sxy, sx, sy, n, sxx, sx, sx)
			icpt := tmpl("(({} - {} * {}) / {})", sy, slope, sx, n)
			fit := tmpl("list_transform(range(len({})), i -> {} + {} * (i + 1))", y, icpt, slope)
			ssr := tmpl("list_sum(list_transform(range(len({})), i -> pow({}[i + 1] - {}[i + 1], 2)))", y, y, fit)
			mean := tmpl("({} / {})", sy, n)
			sst := tmpl("list_sum(list_transform({}, v -> pow(v - {}, 2)))", y, mean)
			return tmpl("json_object('rsquare', 1 - {} / nullif({}, 0), 'slope', {}, 'variance', {} / {}, 'rvariance', {} / {}, 'interception', {}, 'line_fit', to_json({}))",
				ssr, sst, slope, sst, n, ssr, n, icpt, fit), nil
		},
	})
}

func init() {
	register(map[string]lowerFunc{
		// series_iir(x, b, a): y[n] = (sum_k b[k]·x[n-k] - sum_{k>=1} a[k]·y[n-k]) / a[0],
		// folded left over the indexes (each element a one-item list, as
		// list_reduce needs the accumulator's type).
		"series_iir": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			num := func(n int) sqlast.Expr {
				return tmpl("list_transform({}, v -> COALESCE(TRY_CAST(v ->> '$' AS DOUBLE), 0))", asJSONList(dyn(call, a, n)))
			}
			x, b, den := num(0), num(1), num(2)
			return tmpl("to_json(list_reduce(list_transform(range(len({})), i -> [CAST(i AS DOUBLE)]), (acc, e) -> list_append(acc, "+
				"(list_sum(list_transform(range(len({})), k -> CASE WHEN CAST(e[1] AS BIGINT) - k >= 0 THEN {}[k + 1] * {}[CAST(e[1] AS BIGINT) - k + 1] ELSE 0 END)) - "+
				"COALESCE(list_sum(list_transform(range(1, len({})), k -> CASE WHEN CAST(e[1] AS BIGINT) - k >= 0 THEN {}[k + 1] * acc[CAST(e[1] AS BIGINT) - k + 1] ELSE 0 END)), 0)) / {}[1]), CAST([] AS DOUBLE[])))",
				x, b, b, x, den, den, den), nil
		},
	})
}
