package compile

import (
	"odx/internal/kql/builtins"
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Operators: arithmetic with Kusto's promotion and datetime/timespan rules,
// comparisons, logic, and the string operators.

func init() {
	register(map[string]lowerFunc{
		"+": arith, "-": arith, "*": arith, "/": arith, "%": arith,
		"neg": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return &sqlast.Unary{Op: "-", X: asType(call.Args[0], a[0], call.T)}, nil
		},
		"==": compare, "!=": compare, "<": compare, "<=": compare, ">": compare, ">=": compare,
		"and": logic, "or": logic,
		"not": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			// a null condition counts as false, so not(null) is true
			return &sqlast.Unary{Op: "NOT", X: fn("COALESCE", c.truth(call.Args[0], a[0]), sqlast.Keyword("FALSE"))}, nil
		},
		"between": between, "!between": between,
	})
}

// asType converts a lowered value of x's type to type t (numeric widening,
// dynamic extraction) so SQL arithmetic runs in the Kusto result type.
func asType(x sem.Expr, s sqlast.Expr, t types.Type) sqlast.Expr {
	from := x.Type()
	if from == t {
		return s
	}
	if from == types.Dynamic {
		return fromDynamic(s, t)
	}
	if t.Numeric() || t == types.TimeSpan {
		return cast(s, t.DuckDB())
	}
	return s
}

func arith(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	op := call.Fn
	lt, rt := argType(call, 0), argType(call, 1)
	l, r := a[0], a[1]
	if lt == types.Dynamic || rt == types.Dynamic {
		if call.T == types.Dynamic {
			l, r = fromDynamic(l, types.Real), fromDynamic(r, types.Real)
			return toDynamic(numOp(op, l, r, types.Real), types.Real), nil
		}
	}
	switch {
	case call.T.Numeric():
		l, r = asType(call.Args[0], l, call.T), asType(call.Args[1], r, call.T)
		if (call.T == types.Long || call.T == types.Int) && (op == "+" || op == "-" || op == "*") && spansRows(call) {
			// TRY cannot hold aggregates, window functions or subqueries
			return wrapped(op, l, r, call.T), nil
		}
		return numOp(op, l, r, call.T), nil
	case lt == types.DateTime && rt == types.DateTime:
		// both are ticks in range: the difference cannot overflow
		return bin("-", l, r), nil
	case lt == types.DateTime && rt == types.TimeSpan:
		return dtAdd(l, op, r), nil
	case lt == types.TimeSpan && rt == types.DateTime:
		return dtAdd(r, "+", l), nil
	case lt == types.TimeSpan && rt == types.TimeSpan:
		if op == "/" {
			return bin("/", cast(l, "DOUBLE"), cast(r, "DOUBLE")), nil
		}
		if op == "%" {
			return kustoMod(l, r, types.Long), nil
		}
		return bin(op, l, r), nil
	case lt == types.TimeSpan:
		if rt == types.Long || rt == types.Int {
			if op == "/" {
				return bin("//", l, r), nil
			}
			return bin(op, l, r), nil
		}
		return cast(fn("round", bin(op, cast(l, "DOUBLE"), cast(r, "DOUBLE"))), "BIGINT"), nil
	case rt == types.TimeSpan:
		if lt == types.Long || lt == types.Int {
			return bin(op, l, r), nil
		}
		return cast(fn("round", bin(op, cast(l, "DOUBLE"), cast(r, "DOUBLE"))), "BIGINT"), nil
	}
	return nil, unsupported("operator %s on %s and %s", op, lt, rt)
}

// numOp applies an arithmetic operator in type t: integer division truncates,
// and % is never negative, as in Kusto.
func numOp(op string, l, r sqlast.Expr, t types.Type) sqlast.Expr {
	switch op {
	case "/":
		if t == types.Long || t == types.Int {
			return bin("//", l, r)
		}
		if t == types.Decimal {
			return cast(bin("/", l, r), t.DuckDB())
		}
		// IEEE division: x/0 gives ±Infinity or NaN, not NULL.
		return tmpl("CASE WHEN {} = 0 THEN {} * CAST('Infinity' AS DOUBLE) ELSE {} / {} END", r, l, l, r)
	case "%":
		return kustoMod(l, r, t)
	case "+", "-", "*":
		switch t {
		case types.Decimal:
			return cast(bin(op, l, r), t.DuckDB())
		case types.Long, types.Int:
			return wrapping(op, l, r, t)
		}
	}
	return bin(op, l, r)
}

// wrapping is integer arithmetic that wraps around on overflow, as Kusto's
// (.NET unchecked) int and long do, where DuckDB raises an error. The
// checked operation runs first; only a row whose result overflows takes the
// HUGEINT path, so the common case costs nothing extra.
func wrapping(op string, l, r sqlast.Expr, t types.Type) sqlast.Expr {
	return fn("COALESCE", fn("TRY", bin(op, l, r)), wrapped(op, l, r, t))
}

// wrapped is the wrapping operation computed in HUGEINT for every row.
func wrapped(op string, l, r sqlast.Expr, t types.Type) sqlast.Expr {
	half, full, typ := "9223372036854775808", "18446744073709551616", "BIGINT"
	if t == types.Int {
		half, full, typ = "2147483648", "4294967296", "INTEGER"
	}
	wide := bin(op, cast(l, "HUGEINT"), cast(r, "HUGEINT"))
	return tmpl("CAST(((({} + "+half+") % "+full+") + "+full+") % "+full+" - "+half+" AS "+typ+")", wide)
}

// spansRows reports whether an expression holds an aggregate, a window
// function or a subquery, none of which DuckDB allows inside TRY.
func spansRows(x sem.Expr) bool {
	switch v := x.(type) {
	case *sem.TabularExpr:
		return true
	case *sem.Call:
		if f, ok := builtins.Lookup(v.Fn); ok && f.Kind != builtins.Scalar {
			return true
		}
		for _, a := range v.Args {
			if spansRows(a) {
				return true
			}
		}
	case *sem.List:
		for _, it := range v.Items {
			if spansRows(it) {
				return true
			}
		}
	}
	return false
}

func kustoMod(l, r sqlast.Expr, t types.Type) sqlast.Expr {
	m := bin("%", l, r)
	return tmpl("CASE WHEN {} < 0 THEN {} + abs({}) ELSE {} END", m, m, r, m)
}

// comparable lowers both sides to one comparable type.
func comparablePair(call *sem.Call, a []sqlast.Expr) (sqlast.Expr, sqlast.Expr) {
	lt, rt := argType(call, 0), argType(call, 1)
	l, r := a[0], a[1]
	switch {
	case lt == rt:
	case lt == types.Dynamic:
		l = fromDynamic(l, rt)
	case rt == types.Dynamic:
		r = fromDynamic(r, lt)
	case lt.Numeric() && rt.Numeric():
		t := promoted(lt, rt)
		l, r = cast(l, t.DuckDB()), cast(r, t.DuckDB())
	}
	return l, r
}

func promoted(a, b types.Type) types.Type {
	rank := map[types.Type]int{types.Int: 1, types.Long: 2, types.Real: 3, types.Decimal: 4}
	if rank[a] >= rank[b] {
		return a
	}
	return b
}

func compare(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	l, r := comparablePair(call, a)
	op := call.Fn
	switch op {
	case "==":
		op = "="
	case "!=":
		op = "<>"
	}
	if argType(call, 0) == types.Dynamic && argType(call, 1) == types.Dynamic {
		l, r = cast(l, "VARCHAR"), cast(r, "VARCHAR")
	}
	if op == "<>" {
		// Kusto: x != null is true when exactly one side is null.
		return tmpl("({} IS DISTINCT FROM {} AND ({} IS NOT NULL OR {} IS NOT NULL))", l, r, l, r), nil
	}
	return bin(op, l, r), nil
}

func logic(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	return bin(map[string]string{"and": "AND", "or": "OR"}[call.Fn], c.truth(call.Args[0], a[0]), c.truth(call.Args[1], a[1])), nil
}

func between(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	x, lo, hi := a[0], a[1], a[2]
	xt, lt, ht := argType(call, 0), argType(call, 1), argType(call, 2)
	if xt == types.DateTime && ht == types.TimeSpan {
		hi = dtAdd(lo, "+", hi)
	}
	if xt == types.Dynamic && lt != types.Dynamic {
		x = fromDynamic(x, lt)
	}
	if xt.Numeric() && lt.Numeric() && xt != lt {
		t := promoted(promoted(xt, lt), ht)
		x, lo, hi = cast(x, t.DuckDB()), cast(lo, t.DuckDB()), cast(hi, t.DuckDB())
	}
	e := tmpl("({} BETWEEN {} AND {})", x, lo, hi)
	if call.Fn == "!between" {
		return &sqlast.Unary{Op: "NOT", X: e}, nil
	}
	return e, nil
}
