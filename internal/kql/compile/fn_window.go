package compile

import (
	"odx/internal/kql/schema"
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// Window functions over serialized rows. The row order is the order of the
// input, which DuckDB preserves through the projection.

func over() *sqlast.Window { return &sqlast.Window{} }

// serial is the window of prev/next/row_number: the input order, made
// explicit by the serialized position when the restart layers provide one.
func (c *compiler) serial() *sqlast.Window {
	if c.layered {
		return &sqlast.Window{OrderBy: []sqlast.OrderItem{{X: col(rowIndex)}}}
	}
	return over()
}

func extentsTable() string { return schema.ExtentsTable }

func init() {
	register(map[string]lowerFunc{
		"row_number": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			rn := &sqlast.Call{Name: "row_number", Over: c.serial()}
			if _, restarts := c.runs[call]; restarts {
				w := c.runWindow(call)
				w.Frame = ""
				rn.Over = w
			}
			if len(a) >= 1 {
				return bin("+", rn, bin("-", a[0], i64(1))), nil
			}
			return rn, nil
		},
		"prev": shift("lag"),
		"next": shift("lead"),
		"row_cumsum": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(&sqlast.Call{Name: "sum", Args: []sqlast.Expr{a[0]}, Over: c.runWindow(call)}, call.T.DuckDB()), nil
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
		return &sqlast.Call{Name: name, Args: args, Over: c.serial()}, nil
	}
}
