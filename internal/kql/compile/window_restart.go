package compile

import (
	"fmt"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Window functions with a restart predicate (row_number(1, k != prev(k)),
// row_cumsum(x, restart), row_window_session) number or sum within runs of
// rows. The predicate usually holds prev()/next(), and SQL cannot nest
// window functions, so the projection reads from two extra layers:
//
//	layer 1: the input, its serialized position __i, and each predicate __rN
//	layer 2: __gN, the running count of __rN (a run id)
//
// and the restartable call becomes a window PARTITION BY __gN ORDER BY __i.

// rowIndex is the serialized position column the layers add.
const rowIndex = "__i"

// restartBreak returns the SQL boolean that starts a new run for a window
// call with a restart predicate, or nil when the call has none.
func (c *compiler) restartBreak(call *sem.Call) (sqlast.Expr, error) {
	switch call.Fn {
	case "row_number", "row_cumsum":
		if len(call.Args) != 2 {
			return nil, nil
		}
		r, err := c.expr(call.Args[1])
		if err != nil {
			return nil, err
		}
		return c.truth(call.Args[1], r), nil
	case "row_window_session":
		// a run is a stretch of rows whose neighbours are at most
		// maxDistanceBetweenNeighbors apart; the restart predicate and the
		// first row also begin one. Within a run, sessions split on the
		// distance from their first row (see the lowering).
		x, err := c.expr(call.Args[0])
		if err != nil {
			return nil, err
		}
		gap, err := c.expr(call.Args[2])
		if err != nil {
			return nil, err
		}
		// datetimes and timespans are both ticks
		prev := &sqlast.Call{Name: "lag", Args: []sqlast.Expr{x}, Over: over()}
		brk := tmpl("({} IS NULL OR {} - {} > {})", prev, x, prev, gap)
		if len(call.Args) == 4 {
			r, err := c.expr(call.Args[3])
			if err != nil {
				return nil, err
			}
			brk = tmpl("(COALESCE({}, FALSE) OR {})", c.truth(call.Args[3], r), brk)
		}
		return brk, nil
	}
	return nil, nil
}

// restartLayers wraps the projection's input in the two layers when some
// item holds a window call with a restart predicate; it records each call's
// run column in c.runs. ok is false when no item needs them.
func (c *compiler) restartLayers(in *sqlast.SubFrom, items []sem.Item) (out *sqlast.SubFrom, ok bool, err error) {
	var calls []*sem.Call
	for _, it := range items {
		sem.WalkCalls(it.X, func(call *sem.Call) {
			if b, _ := c.restartBreak(call); b != nil {
				calls = append(calls, call)
			}
		})
	}
	if len(calls) == 0 {
		return in, false, nil
	}
	if c.runs == nil {
		c.runs = map[*sem.Call]string{}
	}
	l1 := &sqlast.Select{From: in, Items: []sqlast.SelectItem{{X: &sqlast.Star{}},
		{X: &sqlast.Call{Name: "row_number", Over: over()}, Alias: rowIndex}}}
	l2 := &sqlast.Select{From: &sqlast.SubFrom{Q: l1, Alias: c.alias()}, Items: []sqlast.SelectItem{{X: &sqlast.Star{}}}}
	for _, call := range calls {
		brk, err := c.restartBreak(call)
		if err != nil {
			return nil, false, err
		}
		c.aliases++
		r, g := fmt.Sprintf("__r%d", c.aliases), fmt.Sprintf("__g%d", c.aliases)
		l1.Items = append(l1.Items, sqlast.SelectItem{X: brk, Alias: r})
		w := &sqlast.Window{OrderBy: []sqlast.OrderItem{{X: col(rowIndex)}}, Frame: "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"}
		l2.Items = append(l2.Items, sqlast.SelectItem{X: &sqlast.Call{Name: "sum",
			Args: []sqlast.Expr{tmpl("CASE WHEN COALESCE({}, FALSE) THEN 1 ELSE 0 END", col(r))}, Over: w}, Alias: g})
		c.runs[call] = g
	}
	return &sqlast.SubFrom{Q: l2, Alias: c.alias()}, true, nil
}

// runWindow is the window of a restartable call: within its run, in
// serialized order, from the run's first row to the current one.
func (c *compiler) runWindow(call *sem.Call) *sqlast.Window {
	g, ok := c.runs[call]
	if !ok {
		w := c.serial()
		w.Frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
		return w
	}
	return &sqlast.Window{PartitionBy: []sqlast.Expr{col(g)}, OrderBy: []sqlast.OrderItem{{X: col(rowIndex)}},
		Frame: "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"}
}

func init() {
	register(map[string]lowerFunc{
		// row_window_session(expr, maxDistanceFromFirst, maxDistanceBetweenNeighbors [, restart]):
		// the first value of the row's session. Within a run (see
		// restartBreak) a session ends when a value is more than
		// maxDistanceFromFirst after the session's first value, which a
		// fold over the run's values so far finds. The fold is quadratic in
		// a run's length; runs end at every gap wider than the neighbour
		// distance, so they stay short on typical event data.
		"row_window_session": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if argType(call, 0) != types.DateTime {
				return nil, unsupported("row_window_session expects a datetime expression, got %s", argType(call, 0))
			}
			// datetimes and timespans are both ticks
			seen := &sqlast.Call{Name: "list", Args: []sqlast.Expr{a[0]}, Over: c.runWindow(call)}
			return tmpl("list_reduce({}, (s, x) -> CASE WHEN x - s > {} THEN x ELSE s END)", seen, a[1]), nil
		},
	})
}
