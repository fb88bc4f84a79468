package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Weighted percentiles and the mergeable sketches (hll, tdigest).
//
// odx's dcount is exact, so its sketches are exact too: an hll is the JSON
// array of the distinct values seen, a tdigest the JSON array of [value,
// weight] pairs. Both merge by concatenation and answer what ADX's
// approximate sketches answer, exactly; they grow with the distinct values
// (hll) or rows (tdigest), which suits the modest data sets odx serves.

// weightedPick returns the nearest-rank weighted percentile of a list of
// {'v': value, 'c': weight, 'd': false} structs: the smallest value whose
// running weight reaches p% of the total, as percentile() does with unit
// weights. One left fold, linear in the list.
func weightedPick(list, p sqlast.Expr) sqlast.Expr {
	sorted := fn("list_sort", list)
	target := tmpl("(list_sum(list_transform({}, e -> e.c)) * {} / 100.0)", sorted, cast(p, "DOUBLE"))
	return tmpl("list_reduce({}, (acc, e) -> CASE WHEN acc.d THEN acc ELSE {'v': e.v, 'c': acc.c + e.c, 'd': acc.c + e.c >= {}} END, {'v': CAST(NULL AS DOUBLE), 'c': 0.0, 'd': false}).v",
		sorted, target)
}

// pairs turns value and weight into the fold's element struct.
func pairs(v, w sqlast.Expr) sqlast.Expr {
	return tmpl("{'v': CAST({} AS DOUBLE), 'c': CAST({} AS DOUBLE), 'd': false}", v, w)
}

func percentileW(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	list := &sqlast.Call{Name: "list", Args: []sqlast.Expr{pairs(a[0], a[1])}, Filter: tmpl("({} IS NOT NULL AND {} > 0)", a[0], a[1])}
	v := weightedPick(list, a[2])
	if call.T == types.Int || call.T == types.Long {
		v = fn("round", v)
	}
	return cast(v, call.T.DuckDB()), nil
}

func init() {
	register(map[string]lowerFunc{
		"percentilew": percentileW,
		"percentilesw_array": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			list := &sqlast.Call{Name: "list", Args: []sqlast.Expr{pairs(a[0], a[1])}, Filter: tmpl("({} IS NOT NULL AND {} > 0)", a[0], a[1])}
			var out []sqlast.Expr
			for _, p := range a[2:] {
				out = append(out, weightedPick(list, p))
			}
			return fn("to_json", tmpl("["+placeholders(len(out))+"]", out...)), nil
		},
		"hll": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := toDynamic(a[0], argType(call, 0))
			l := &sqlast.Call{Name: "list", Args: []sqlast.Expr{x}, Distinct: true, Filter: tmpl("({} IS NOT NULL)", a[0])}
			return fn("to_json", fn("COALESCE", l, sqlast.Keyword("[]"))), nil
		},
		"hll_merge": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := &sqlast.Call{Name: "list", Args: []sqlast.Expr{asJSONList(a[0])}}
			return fn("to_json", tmpl("list_distinct(flatten(COALESCE({}, [])))", l)), nil
		},
		"dcount_hll": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tmpl("CAST(COALESCE(len(list_distinct({})), 0) AS BIGINT)", asJSONList(a[0])), nil
		},
		"tdigest": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			w := sqlast.Expr(i64(1))
			if len(a) == 2 {
				w = a[1]
			}
			l := &sqlast.Call{Name: "list", Args: []sqlast.Expr{tmpl("to_json([CAST({} AS DOUBLE), CAST({} AS DOUBLE)])", a[0], w)},
				Filter: tmpl("({} IS NOT NULL AND {} > 0)", a[0], w)}
			return fn("to_json", fn("COALESCE", l, sqlast.Keyword("[]"))), nil
		},
		"tdigest_merge": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := &sqlast.Call{Name: "list", Args: []sqlast.Expr{asJSONList(a[0])}}
			return fn("to_json", tmpl("flatten(COALESCE({}, []))", l)), nil
		},
		"percentile_tdigest": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := tmpl("list_transform({}, e -> "+
				"{'v': CAST(e ->> '$[0]' AS DOUBLE), 'c': CAST(e ->> '$[1]' AS DOUBLE), 'd': false})", asJSONList(a[0]))
			return weightedPick(l, a[1]), nil
		},
	})
}
