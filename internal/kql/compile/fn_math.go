package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Math functions. Domain errors give NaN or ±Infinity as in Kusto, not SQL errors.

func double(call *sem.Call, a []sqlast.Expr, i int) sqlast.Expr {
	return cast(numArg(call, a, i), "DOUBLE")
}

func unaryReal(name string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		return fn(name, double(call, a, 0)), nil
	}
}

func logFn(sqlName string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		x := double(call, a, 0)
		return tmpl("CASE WHEN {} < 0 OR isnan({}) THEN CAST('NaN' AS DOUBLE) WHEN {} = 0 THEN CAST('-Infinity' AS DOUBLE) ELSE "+sqlName+"({}) END", x, x, x, x), nil
	}
}

func init() {
	register(map[string]lowerFunc{
		"abs": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if argType(call, 0) == types.TimeSpan || call.T.Numeric() {
				return fn("abs", a[0]), nil
			}
			return fn("abs", double(call, a, 0)), nil
		},
		"round": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := a[0]
			if len(a) == 2 {
				return cast(fn("round", x, cast(a[1], "INTEGER")), call.T.DuckDB()), nil
			}
			return cast(fn("round", x), call.T.DuckDB()), nil
		},
		"ceiling": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("ceil", a[0]), call.T.DuckDB()), nil
		},
		"sign": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("sign", a[0]), call.T.DuckDB()), nil
		},
		"sqrt": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := double(call, a, 0)
			return tmpl("CASE WHEN {} < 0 THEN CAST('NaN' AS DOUBLE) ELSE sqrt({}) END", x, x), nil
		},
		"pow": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("pow", double(call, a, 0), double(call, a, 1)), nil
		},
		"log":   logFn("ln"),
		"log2":  logFn("log2"),
		"log10": logFn("log10"),
		"exp":   unaryReal("exp"),
		"exp2": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("pow", sqlast.Keyword("2.0"), double(call, a, 0)), nil
		},
		"exp10": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("pow", sqlast.Keyword("10.0"), double(call, a, 0)), nil
		},
		"sin": unaryReal("sin"), "cos": unaryReal("cos"), "tan": unaryReal("tan"), "asin": unaryReal("asin"),
		"acos": unaryReal("acos"), "atan": unaryReal("atan"), "cot": unaryReal("cot"), "degrees": unaryReal("degrees"),
		"radians": unaryReal("radians"), "gamma": unaryReal("gamma"), "loggamma": unaryReal("lgamma"),
		"atan2": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("atan2", double(call, a, 0), double(call, a, 1)), nil
		},
		"pi": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("pi"), nil
		},
		"rand": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if len(a) == 1 {
				return cast(fn("floor", bin("*", fn("random"), a[0])), "BIGINT"), nil
			}
			return fn("random"), nil
		},
		"min_of": extremeOf("least"),
		"max_of": extremeOf("greatest"),
		"binary_and": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin("&", cast(a[0], "BIGINT"), cast(a[1], "BIGINT")), nil
		},
		"binary_or": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin("|", cast(a[0], "BIGINT"), cast(a[1], "BIGINT")), nil
		},
		"binary_xor": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("xor", cast(a[0], "BIGINT"), cast(a[1], "BIGINT")), nil
		},
		"binary_not": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return &sqlast.Unary{Op: "~", X: cast(a[0], "BIGINT")}, nil
		},
		"binary_shift_left": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tmpl("CAST((CAST({} AS HUGEINT) << (CAST({} AS INTEGER) % 64)) & CAST('18446744073709551615' AS HUGEINT) AS UBIGINT)::BIGINT", a[0], a[1]), nil
		},
		"binary_shift_right": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin(">>", cast(a[0], "BIGINT"), cast(a[1], "BIGINT")), nil
		},
	})
}

func extremeOf(name string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		var args []sqlast.Expr
		for i, x := range a {
			args = append(args, convert(x, argType(call, i), call.T))
		}
		return fn(name, args...), nil
	}
}

// erfc computes the complementary error function in SQL: the Taylor series
// of erf near zero, and a continued fraction (evaluated from its tail with
// list_reduce) further out, both to double precision.
func erfcExpr(x sqlast.Expr) sqlast.Expr {
	series := tmpl("(1 - 2 / sqrt(pi()) * list_sum(list_transform(range(0, 60), n -> pow(-1, n) * pow({}, 2 * n + 1) / (gamma(n + 1) * (2 * n + 1)))))", x)
	ax := tmpl("abs({})", x)
	frac := tmpl("(exp(-{} * {}) / (sqrt(pi()) * list_reduce(list_transform(range(120, 0, -1), k -> CAST(k AS DOUBLE) / 2), (t, h) -> {} + h / t, {})))", ax, ax, ax, ax)
	return tmpl("CASE WHEN isnan({}) THEN CAST('NaN' AS DOUBLE) WHEN abs({}) < 2 THEN {} WHEN {} > 0 THEN {} ELSE 2 - {} END", x, x, series, x, frac, frac)
}

func init() {
	register(map[string]lowerFunc{
		"erfc": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return erfcExpr(double(call, a, 0)), nil
		},
		"erf": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin("-", sqlast.Keyword("1.0"), erfcExpr(double(call, a, 0))), nil
		},
	})
}
