package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Conditionals and null tests.

func init() {
	register(map[string]lowerFunc{
		"iff": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return caseWhen(c.truth(call.Args[0], a[0]), convert(a[1], argType(call, 1), call.T), convert(a[2], argType(call, 2), call.T)), nil
		},
		"case": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			cs := &sqlast.Case{}
			for i := 0; i+1 < len(a); i += 2 {
				cs.Whens = append(cs.Whens, sqlast.When{Cond: c.truth(call.Args[i], a[i]), Then: convert(a[i+1], argType(call, i+1), call.T)})
			}
			last := len(a) - 1
			cs.Else = convert(a[last], argType(call, last), call.T)
			return cs, nil
		},
		"coalesce": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var args []sqlast.Expr
			for i, x := range a {
				x = convert(x, argType(call, i), call.T)
				if call.T == types.String {
					x = fn("nullif", x, sqlast.Keyword("''"))
				}
				args = append(args, x)
			}
			return fn("COALESCE", args...), nil
		},
		"isnull": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return isNull(call.Args[0], a[0]), nil
		},
		"isnotnull": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return &sqlast.Unary{Op: "NOT", X: isNull(call.Args[0], a[0])}, nil
		},
		"isempty": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return isEmpty(call.Args[0], a[0]), nil
		},
		"isnotempty": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return &sqlast.Unary{Op: "NOT", X: isEmpty(call.Args[0], a[0])}, nil
		},
		"isnan": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("isnan", cast(numArg(call, a, 0), "DOUBLE")), nil
		},
		"isinf": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("isinf", cast(numArg(call, a, 0), "DOUBLE")), nil
		},
		"isfinite": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("isfinite", cast(numArg(call, a, 0), "DOUBLE")), nil
		},
	})
}

func isNull(x sem.Expr, s sqlast.Expr) sqlast.Expr {
	switch x.Type() {
	case types.String:
		return sqlast.Keyword("FALSE")
	case types.Dynamic:
		return tmpl("({} IS NULL OR json_type({}) = 'NULL')", s, s)
	}
	return tmpl("({} IS NULL)", s)
}

func isEmpty(x sem.Expr, s sqlast.Expr) sqlast.Expr {
	switch x.Type() {
	case types.String:
		return tmpl("({} IS NULL OR {} = '')", s, s)
	case types.Dynamic:
		return tmpl("({} IS NULL OR json_type({}) = 'NULL' OR (json_type({}) = 'VARCHAR' AND ({} ->> '$') = ''))", s, s, s, s)
	}
	return tmpl("({} IS NULL)", s)
}
