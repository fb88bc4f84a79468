package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Aggregations. Results are cast to the Kusto result type (DuckDB's sum of
// BIGINT is HUGEINT, for example).

func (c *compiler) aggregate(v *sem.Aggregate) (*sqlast.Select, error) {
	f, err := c.from(v.In)
	if err != nil {
		return nil, err
	}
	q := &sqlast.Select{From: f}
	for _, k := range v.Keys {
		x, err := c.expr(k.X)
		if err != nil {
			return nil, err
		}
		q.Items = append(q.Items, sqlast.SelectItem{X: x, Alias: k.Name})
		// by position: the key expression may hold arguments, and a second
		// copy of it would not be recognised as the same expression
		q.GroupBy = append(q.GroupBy, sqlast.Int(int64(len(q.Items))))
	}
	for _, a := range v.Aggs {
		x, err := c.expr(a.X)
		if err != nil {
			return nil, err
		}
		q.Items = append(q.Items, sqlast.SelectItem{X: x, Alias: a.Name})
	}
	if len(v.Keys) == 0 && len(v.Aggs) == 0 {
		q.Distinct = true
	}
	return q, nil
}

func aggCall(name string, args ...sqlast.Expr) *sqlast.Call {
	return &sqlast.Call{Name: name, Args: args}
}

func withFilter(call *sqlast.Call, cond sqlast.Expr) *sqlast.Call {
	call.Filter = cond
	return call
}

func notNull(x sqlast.Expr) sqlast.Expr { return tmpl("({} IS NOT NULL)", x) }

func init() {
	register(map[string]lowerFunc{
		"count": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(aggCall("count", sqlast.Keyword("*")), "BIGINT"), nil
		},
		"countif": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(withFilter(aggCall("count", sqlast.Keyword("*")), c.truth(call.Args[0], a[0])), "BIGINT"), nil
		},
		// Kusto's sum of no values is 0, not null.
		"sum": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("COALESCE", cast(aggCall("sum", asType(call.Args[0], a[0], call.T)), call.T.DuckDB()), cast(i64(0), call.T.DuckDB())), nil
		},
		"sumif": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("COALESCE", cast(withFilter(aggCall("sum", asType(call.Args[0], a[0], call.T)), c.truth(call.Args[1], a[1])), call.T.DuckDB()), cast(i64(0), call.T.DuckDB())), nil
		},
		"avg": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := cast(aggCall("avg", numArg(call, a, 0)), call.T.DuckDB())
			if call.T == types.Real {
				// the average of no values is NaN in Kusto
				return fn("COALESCE", x, sqlast.Keyword("CAST('NaN' AS DOUBLE)")), nil
			}
			return x, nil
		},
		"avgif": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(withFilter(aggCall("avg", numArg(call, a, 0)), c.truth(call.Args[1], a[1])), call.T.DuckDB()), nil
		},
		"min":   minMax("min", false),
		"max":   minMax("max", false),
		"minif": minMax("min", true),
		"maxif": minMax("max", true),
		"dcount": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(&sqlast.Call{Name: "count", Args: []sqlast.Expr{a[0]}, Distinct: true}, "BIGINT"), nil
		},
		"count_distinct": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(&sqlast.Call{Name: "count", Args: []sqlast.Expr{a[0]}, Distinct: true}, "BIGINT"), nil
		},
		"dcountif": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(&sqlast.Call{Name: "count", Args: []sqlast.Expr{a[0]}, Distinct: true, Filter: c.truth(call.Args[1], a[1])}, "BIGINT"), nil
		},
		"count_distinctif": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(&sqlast.Call{Name: "count", Args: []sqlast.Expr{a[0]}, Distinct: true, Filter: c.truth(call.Args[1], a[1])}, "BIGINT"), nil
		},
		"percentile": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			// Kusto returns a value of the set (nearest rank), like quantile_disc.
			return cast(aggCall("quantile_disc", a[0], bin("/", cast(a[1], "DOUBLE"), sqlast.Keyword("100.0"))), call.T.DuckDB()), nil
		},
		"percentiles_array": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var ps []sqlast.Expr
			for _, p := range a[1:] {
				ps = append(ps, bin("/", cast(p, "DOUBLE"), sqlast.Keyword("100.0")))
			}
			list := aggCall("quantile_disc", a[0], tmpl("["+placeholders(len(ps))+"]", ps...))
			if t := argType(call, 0); t == types.DateTime {
				// datetimes in dynamic values are ISO strings, not ticks
				return tmpl("to_json(list_transform({}, v -> {}))", list, toVarchar(sqlast.Keyword("v"), t)), nil
			}
			return fn("to_json", list), nil
		},
		"stdev":                statAgg("stddev_samp", false),
		"stdevif":              statAgg("stddev_samp", true),
		"stdevp":               statAgg("stddev_pop", false),
		"variance":             statAgg("var_samp", false),
		"varianceif":           statAgg("var_samp", true),
		"variancep":            statAgg("var_pop", false),
		"make_list":            listAgg(false, false, false),
		"make_list_if":         listAgg(false, true, false),
		"make_list_with_nulls": listAgg(false, false, true),
		"make_set":             listAgg(true, false, false),
		"make_set_if":          listAgg(true, true, false),
		"make_bag": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bagAgg(c, call, a, nil), nil
		},
		"make_bag_if": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bagAgg(c, call, a, c.truth(call.Args[1], a[1])), nil
		},
		"arg_max_by": argBy("arg_max"),
		"arg_min_by": argBy("arg_min"),
		"take_any": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return aggCall("any_value", a[0]), nil
		},
		"take_anyif": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return withFilter(aggCall("any_value", a[0]), c.truth(call.Args[1], a[1])), nil
		},
		"binary_all_and": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(aggCall("bit_and", a[0]), "BIGINT"), nil
		},
		"binary_all_or": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(aggCall("bit_or", a[0]), "BIGINT"), nil
		},
		"binary_all_xor": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(aggCall("bit_xor", a[0]), "BIGINT"), nil
		},
	})
}

// argBy lowers arg_max/arg_min; when every value to maximise is null, Kusto
// returns the group's first row.
func argBy(name string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		return tmpl("CASE WHEN count({}) = 0 THEN first({}) ELSE "+name+"({}, {}) END", a[1], a[0], a[0], a[1]), nil
	}
}

func placeholders(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		if i > 0 {
			s += ", "
		}
		s += "{}"
	}
	return s
}

func numArg(call *sem.Call, a []sqlast.Expr, i int) sqlast.Expr {
	t := argType(call, i)
	switch t {
	case types.Dynamic:
		return fromDynamic(a[i], types.Real)
	case types.Bool:
		return cast(a[i], "INTEGER")
	}
	return a[i]
}

func minMax(name string, conditional bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		ac := aggCall(name, a[0])
		if conditional {
			ac.Filter = c.truth(call.Args[1], a[1])
		}
		return cast(ac, call.T.DuckDB()), nil
	}
}

func statAgg(name string, conditional bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x := cast(numArg(call, a, 0), "DOUBLE")
		// DuckDB fails on infinities; Kusto's result is NaN.
		ac := aggCall(name, tmpl("CASE WHEN isfinite({}) THEN {} END", x, x))
		bad := aggCall("bool_or", tmpl("NOT isfinite({})", x))
		if conditional {
			ac.Filter = c.truth(call.Args[1], a[1])
			bad.Filter = ac.Filter
		}
		return tmpl("CASE WHEN {} THEN CAST('NaN' AS DOUBLE) ELSE COALESCE({}, CAST(0 AS DOUBLE)) END", bad, ac), nil
	}
}

// listAgg builds make_list / make_set (and _if, _with_nulls) as JSON arrays.
func listAgg(distinct, conditional, withNulls bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x := toDynamic(a[0], argType(call, 0))
		flatten := argType(call, 0) == types.Dynamic
		if flatten {
			// array values contribute their elements
			distinct = false
		}
		ac := &sqlast.Call{Name: "list", Args: []sqlast.Expr{x}, Distinct: distinct}
		var conds []sqlast.Expr
		if !withNulls {
			if flatten {
				conds = append(conds, tmpl("({} IS NOT NULL)", a[0]))
			} else {
				conds = append(conds, tmpl("({} IS NOT NULL AND json_type({}) <> 'NULL')", a[0], x))
			}
		}
		limitArg := 1
		if conditional {
			conds = append(conds, c.truth(call.Args[1], a[1]))
			limitArg = 2
		}
		for _, cnd := range conds {
			if ac.Filter == nil {
				ac.Filter = cnd
			} else {
				ac.Filter = bin("AND", ac.Filter, cnd)
			}
		}
		var list sqlast.Expr = fn("COALESCE", ac, sqlast.Keyword("[]"))
		if flatten {
			list = tmpl("flatten(list_transform({}, v -> CASE WHEN json_type(v) = 'ARRAY' THEN CAST(v AS JSON[]) ELSE [v] END))", list)
			if _, isSet := map[string]bool{"make_set": true, "make_set_if": true}[call.Fn]; isSet {
				list = fn("list_distinct", list)
			}
		}
		if len(a) > limitArg && a[limitArg] != nil {
			list = tmpl("{}[1:{}]", list, a[limitArg])
		}
		return fn("to_json", list), nil
	}
}

// bagAgg merges property bags into one (first value of a key wins, as in Kusto).
func bagAgg(c *compiler, call *sem.Call, a []sqlast.Expr, cond sqlast.Expr) sqlast.Expr {
	x := a[0]
	ac := &sqlast.Call{Name: "list", Args: []sqlast.Expr{x}, Filter: tmpl("json_type({}) = 'OBJECT'", x)}
	if cond != nil {
		ac.Filter = bin("AND", ac.Filter, cond)
	}
	return tmpl("COALESCE(list_reduce(list_reverse({}), (acc, b) -> json_merge_patch(acc, b)), json_object())", ac)
}
