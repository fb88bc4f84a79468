package compile

import (
	"math"
	"time"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// lowerFunc lowers one builtin call; args are the lowered arguments (nil for
// list, star and tabular arguments, which the function reads from call.Args).
type lowerFunc func(c *compiler, call *sem.Call, args []sqlast.Expr) (sqlast.Expr, error)

// lowerings maps builtin and operator names to their lowering; each
// fn_<family>.go file registers its entries in init.
var lowerings = map[string]lowerFunc{}

func register(fns map[string]lowerFunc) {
	for k, v := range fns {
		lowerings[k] = v
	}
}

func (c *compiler) expr(x sem.Expr) (sqlast.Expr, error) {
	switch v := x.(type) {
	case *sem.ColumnRef:
		if c.scanRef != nil && v.Side != "" && v.Side != "row" {
			return c.scanRef(v), nil
		}
		if v.Side != "" && c.sides != nil {
			return &sqlast.Col{Table: c.sides[v.Side], Name: v.Name}, nil
		}
		return col(v.Name), nil
	case *sem.Const:
		return constant(v), nil
	case *sem.TabularExpr:
		q, err := c.node(v.Plan)
		if err != nil {
			return nil, err
		}
		cols := v.Plan.Schema()
		sub := &sqlast.Select{Items: []sqlast.SelectItem{{X: col(cols[0].Name)}}, From: &sqlast.SubFrom{Q: q, Alias: c.alias()}, Limit: sqlast.Int(1)}
		return &sqlast.Subquery{Q: sub}, nil
	case *sem.Call:
		fn, ok := lowerings[v.Fn]
		if !ok && len(v.Fn) > 1 && v.Fn[0] == '!' {
			// !has, !contains, ...: the negation of the positive operator
			if pos, found := lowerings[v.Fn[1:]]; found {
				ok = true
				fn = func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
					e, err := pos(c, call, a)
					if err != nil {
						return nil, err
					}
					return &sqlast.Unary{Op: "NOT", X: e}, nil
				}
			}
		}
		if !ok {
			return nil, unsupported("The function '%s' is not supported yet", v.Fn)
		}
		args := make([]sqlast.Expr, len(v.Args))
		for i, a := range v.Args {
			switch a.(type) {
			case *sem.List, *sem.Star, *sem.TypeArg:
				continue
			case *sem.TabularExpr:
				if v.Fn != "toscalar" && isListOp(v.Fn) {
					continue
				}
			}
			e, err := c.expr(a)
			if err != nil {
				return nil, err
			}
			args[i] = e
		}
		return fn(c, v, args)
	}
	return nil, unsupported("cannot compile expression %T", x)
}

func isListOp(fn string) bool {
	switch fn {
	case "in", "!in", "in~", "!in~", "has_any", "has_all":
		return true
	}
	return false
}

// constant binds a constant as an argument cast to its storage type.
func constant(k *sem.Const) sqlast.Expr {
	dt := k.T.DuckDB()
	if k.V == nil {
		if k.T == types.Dynamic {
			return &sqlast.Cast{X: sqlast.Keyword("NULL"), Type: "JSON"}
		}
		return &sqlast.Cast{X: sqlast.Keyword("NULL"), Type: dt}
	}
	switch v := k.V.(type) {
	case bool:
		if v {
			return sqlast.Keyword("TRUE")
		}
		return sqlast.Keyword("FALSE")
	case float64:
		switch {
		case math.IsNaN(v):
			return sqlast.Keyword("CAST('NaN' AS DOUBLE)")
		case math.IsInf(v, 1):
			return sqlast.Keyword("CAST('Infinity' AS DOUBLE)")
		case math.IsInf(v, -1):
			return sqlast.Keyword("CAST('-Infinity' AS DOUBLE)")
		}
		return &sqlast.Param{Value: v, Type: "DOUBLE"}
	case time.Time:
		// datetimes are ticks; one outside Kusto's range is null
		ticks, ok := types.TicksFromTime(v)
		if !ok {
			return null(types.DateTime)
		}
		return &sqlast.Param{Value: ticks, Type: dt}
	}
	return &sqlast.Param{Value: k.V, Type: dt}
}

func str(s string) sqlast.Expr { return &sqlast.Param{Value: s, Type: "VARCHAR"} }
func i64(n int64) sqlast.Expr  { return sqlast.Int(n) }
func fn(name string, args ...sqlast.Expr) *sqlast.Call {
	return &sqlast.Call{Name: name, Args: args}
}
func bin(op string, l, r sqlast.Expr) sqlast.Expr { return &sqlast.Bin{Op: op, L: l, R: r} }
func cast(x sqlast.Expr, t string) sqlast.Expr    { return &sqlast.Cast{X: x, Type: t} }
func tryCast(x sqlast.Expr, t string) sqlast.Expr { return &sqlast.Cast{X: x, Type: t, Try: true} }
func tmpl(f string, args ...sqlast.Expr) sqlast.Expr {
	return &sqlast.Template{Fmt: f, Args: args}
}
func caseWhen(cond, then, els sqlast.Expr) sqlast.Expr {
	return &sqlast.Case{Whens: []sqlast.When{{Cond: cond, Then: then}}, Else: els}
}
func null(t types.Type) sqlast.Expr {
	return &sqlast.Cast{X: sqlast.Keyword("NULL"), Type: t.DuckDB()}
}

func argType(call *sem.Call, i int) types.Type {
	if i < len(call.Args) {
		return call.Args[i].Type()
	}
	return types.Invalid
}

// constArg returns argument i's constant value, if it is a constant.
func constArg(call *sem.Call, i int) (any, bool) {
	if i < len(call.Args) {
		if k, ok := call.Args[i].(*sem.Const); ok {
			return k.V, true
		}
	}
	return nil, false
}
