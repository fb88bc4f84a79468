package compile

import (
	"odx/internal/kql/schema"
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// Window functions over serialized rows. The row order is the order of the
// input, which DuckDB preserves through the projection.

func over() *sqlast.Window { return &sqlast.Window{} }

func extentsTable() string { return schema.ExtentsTable }

func init() {
	register(map[string]lowerFunc{
		"row_number": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			rn := &sqlast.Call{Name: "row_number", Over: over()}
			if len(a) >= 1 {
				return bin("+", rn, bin("-", a[0], i64(1))), nil
			}
			return rn, nil
		},
		"prev": shift("lag"),
		"next": shift("lead"),
		"row_cumsum": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			w := over()
			w.Frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
			return cast(&sqlast.Call{Name: "sum", Args: []sqlast.Expr{a[0]}, Over: w}, call.T.DuckDB()), nil
		},
	})
}

func shift(name string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		args := []sqlast.Expr{a[0]}
		if len(a) >= 2 {
			args = append(args, a[1])
		}
		if len(a) == 3 {
			args = append(args, convert(a[2], argType(call, 2), call.T))
		}
		return &sqlast.Call{Name: name, Args: args, Over: over()}, nil
	}
}
