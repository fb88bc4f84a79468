package sem

import (
	"fmt"

	"odx/internal/kql/ast"
	"odx/internal/kql/types"
)

// output is one column of a function that yields several columns.
type output struct {
	suffix string
	T      types.Type
}

// multiOutputs lists functions that yield several columns. Their lowering
// returns a property bag (or, for the sorts, an array) and each column reads
// one member of it.
var multiOutputs = map[string][]output{
	"series_stats": {{"min", types.Real}, {"min_idx", types.Long}, {"max", types.Real}, {"max_idx", types.Long},
		{"avg", types.Real}, {"stdev", types.Real}, {"variance", types.Real}},
	"series_fit_line": {{"rsquare", types.Real}, {"slope", types.Real}, {"variance", types.Real}, {"rvariance", types.Real},
		{"interception", types.Real}, {"line_fit", types.Dynamic}},
}

// expandMulti turns a call of a multi-column function into its columns:
// `(a, b) = f(x)` names the first ones, `c = f(x)` keeps the first column
// only, and an unnamed call gets Kusto's default names.
func expandMulti(x Expr, names []*ast.Ident) ([]Item, bool) {
	call, ok := x.(*Call)
	if !ok {
		return nil, false
	}
	var outs []output
	var key func(i int) Expr
	var defaultName func(i int) string
	switch {
	case multiOutputs[call.Fn] != nil:
		outs = multiOutputs[call.Fn]
		key = func(i int) Expr { return &Const{V: outs[i].suffix, T: types.String} }
		arg := ""
		if len(call.Args) > 0 {
			arg = exprName(call.Args[0])
		}
		defaultName = func(i int) string { return fmt.Sprintf("%s_%s_%s", call.Fn, arg, outs[i].suffix) }
	case (call.Fn == "array_sort_asc" || call.Fn == "array_sort_desc") && len(call.Args) > 1:
		for range call.Args {
			outs = append(outs, output{T: types.Dynamic})
		}
		key = func(i int) Expr { return &Const{V: int64(i), T: types.Long} }
		defaultName = func(i int) string { return exprName(call.Args[i]) + "_sorted" }
	default:
		return nil, false
	}
	n := len(outs)
	if len(names) > 0 && len(names) < n {
		n = len(names)
	}
	items := make([]Item, n)
	for i := 0; i < n; i++ {
		var v Expr = &Call{Fn: "_index", Args: []Expr{call, key(i)}, T: types.Dynamic}
		if outs[i].T != types.Dynamic {
			v = &Call{Fn: "to" + outs[i].T.String(), Args: []Expr{v}, T: outs[i].T}
		}
		name := defaultName(i)
		if i < len(names) {
			name = names[i].Name
		}
		items[i] = Item{Name: name, X: v}
	}
	return items, true
}
