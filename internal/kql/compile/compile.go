// Package compile lowers the typed plan of package sem to a DuckDB SQL tree
// (package sqlast). Each plan node becomes one SELECT over its input as a
// derived table; DuckDB's optimizer flattens the nesting. Builtin functions
// are lowered in fn_<family>.go files, one table entry per function.
package compile

import (
	"fmt"
	"strings"
	"unicode"

	"odx/internal/kerr"
	"odx/internal/kql/schema"
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Output is a compiled query.
type Output struct {
	SQL     string
	Args    []any
	Columns []schema.Column
	Tree    *sqlast.Select
}

type compiler struct {
	aliases int
	sides   map[string]string                // join side ("left"/"right") → relation alias
	scanRef func(*sem.ColumnRef) sqlast.Expr // scan steps: reads of a step's state (scan.go)
	runs    map[*sem.Call]string             // restartable window call → its run column (window_restart.go)
	layered bool                             // lowering a projection over the restart layers: order windows by __i
}

// Compile lowers a plan to SQL. The outermost SELECT converts every column
// to the storage representation the result encoder expects (see Output
// contract in package kql): strings never NULL, dynamic as JSON text.
func Compile(plan sem.Node) (out *Output, err error) {
	c := &compiler{}
	q, err := c.node(plan)
	if err != nil {
		return nil, err
	}
	cols := visibleCols(plan.Schema())
	top := &sqlast.Select{From: &sqlast.SubFrom{Q: q, Alias: "q"}}
	for _, col := range cols {
		top.Items = append(top.Items, sqlast.SelectItem{X: outputValue(&sqlast.Col{Name: col.Name}, col.Type), Alias: col.Name, RawAlias: true})
	}
	if caseCollisions(plan) {
		sqlast.Rename(top, caseSafe)
	}
	sql, args := sqlast.Print(top)
	return &Output{SQL: sql, Args: args, Columns: cols, Tree: top}, nil
}

// caseCollisions reports whether two column names of the plan differ only
// in case. Kusto tells them apart; DuckDB would not.
func caseCollisions(n sem.Node) bool {
	seen := map[string]string{}
	collide := false
	var walk func(n sem.Node)
	walk = func(n sem.Node) {
		for _, c := range n.Schema() {
			l := strings.ToLower(c.Name)
			if prev, ok := seen[l]; ok && prev != c.Name {
				collide = true
			}
			seen[l] = c.Name
		}
		for _, in := range sem.Inputs(n) {
			walk(in)
		}
	}
	walk(n)
	return collide
}

// caseSafe encodes a name so that names differing in case stay distinct
// under DuckDB's case-insensitive matching: an upper-case letter becomes
// "^" followed by its lower-case form.
func caseSafe(name string) string {
	var b strings.Builder
	for _, r := range name {
		if l := unicode.ToLower(r); l != r {
			b.WriteByte('^')
			b.WriteRune(l)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func visibleCols(cols []schema.Column) []schema.Column {
	var out []schema.Column
	for _, c := range cols {
		if c.Name != schema.ExtentColumn {
			out = append(out, c)
		}
	}
	return out
}

// outputValue converts a column to the result representation of its Kusto type.
func outputValue(x sqlast.Expr, t types.Type) sqlast.Expr {
	switch t {
	case types.String:
		return &sqlast.Call{Name: "COALESCE", Args: []sqlast.Expr{&sqlast.Cast{X: x, Type: "VARCHAR"}, sqlast.Keyword("''")}}
	case types.Dynamic:
		return &sqlast.Cast{X: &sqlast.Cast{X: x, Type: "JSON"}, Type: "VARCHAR"}
	}
	return &sqlast.Cast{X: x, Type: t.DuckDB()}
}

func (c *compiler) alias() string {
	c.aliases++
	return fmt.Sprintf("t%d", c.aliases)
}

func (c *compiler) from(n sem.Node) (*sqlast.SubFrom, error) {
	q, err := c.node(n)
	if err != nil {
		return nil, err
	}
	return &sqlast.SubFrom{Q: q, Alias: c.alias()}, nil
}

func col(name string) *sqlast.Col { return &sqlast.Col{Name: name} }

func unsupported(format string, args ...any) error {
	return kerr.New(kerr.BadRequest, kerr.CodeSemantic, format, args...)
}

func (c *compiler) node(n sem.Node) (*sqlast.Select, error) {
	// a subquery inside a layered projection has no serialized position
	saved := c.layered
	c.layered = false
	defer func() { c.layered = saved }()
	switch v := n.(type) {
	case *sem.Scan:
		q := &sqlast.Select{From: &sqlast.Table{SQL: v.Table.SQL()}}
		for _, cl := range v.Cols {
			q.Items = append(q.Items, sqlast.SelectItem{X: &sqlast.Col{Name: cl.Name, Raw: true}, Alias: cl.Name})
		}
		return q, nil
	case *sem.Values:
		return c.values(v)
	case *sem.Range:
		return c.rangeNode(v)
	case *sem.Filter:
		f, err := c.from(v.In)
		if err != nil {
			return nil, err
		}
		p, err := c.expr(v.Pred)
		if err != nil {
			return nil, err
		}
		return &sqlast.Select{From: f, Where: c.truth(v.Pred, p)}, nil
	case *sem.Project:
		f, err := c.from(v.In)
		if err != nil {
			return nil, err
		}
		layered := false
		if v.Window {
			if f, layered, err = c.restartLayers(f, v.Items); err != nil {
				return nil, err
			}
		}
		q := &sqlast.Select{From: f}
		if layered {
			// the run windows sort by position; keep the serialized order
			q.OrderBy = []sqlast.OrderItem{{X: col(rowIndex)}}
			c.layered = true
		}
		for _, it := range v.Items {
			x, err := c.expr(it.X)
			if err != nil {
				return nil, err
			}
			q.Items = append(q.Items, sqlast.SelectItem{X: x, Alias: it.Name})
		}
		return q, nil
	case *sem.Aggregate:
		return c.aggregate(v)
	case *sem.Sort:
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
			q.OrderBy = append(q.OrderBy, sqlast.OrderItem{X: x, Desc: k.Desc, NullsFirst: k.NullsFirst})
		}
		return q, nil
	case *sem.Limit:
		if len(v.PartitionBy) > 0 {
			return c.partitionedLimit(v)
		}
		if s, ok := v.In.(*sem.Sort); ok {
			// top / sort | take: one ORDER BY ... LIMIT, which DuckDB runs as a top-N
			q, err := c.node(s)
			if err != nil {
				return nil, err
			}
			n, err := c.expr(v.N)
			if err != nil {
				return nil, err
			}
			q.Limit = n
			return q, nil
		}
		f, err := c.from(v.In)
		if err != nil {
			return nil, err
		}
		n, err := c.expr(v.N)
		if err != nil {
			return nil, err
		}
		return &sqlast.Select{From: f, Limit: n}, nil
	case *sem.Distinct:
		f, err := c.from(v.In)
		if err != nil {
			return nil, err
		}
		q := &sqlast.Select{Distinct: true, From: f}
		for _, cl := range visibleCols(v.In.Schema()) {
			// the hidden extent column must not make rows distinct
			q.Items = append(q.Items, sqlast.SelectItem{X: col(cl.Name), Alias: cl.Name})
		}
		return q, nil
	case *sem.Serialize:
		return c.node(v.In)
	case *sem.Join:
		return c.join(v)
	case *sem.Union:
		return c.union(v)
	case *sem.MvExpand:
		return c.mvExpand(v)
	case *sem.Parse:
		return c.parse(v)
	case *sem.MakeSeries:
		return c.makeSeries(v)
	case *sem.ScanOp:
		return c.scanOp(v)
	}
	return nil, unsupported("cannot compile plan node %T", n)
}

// truth makes a Kusto predicate a SQL boolean (dynamic values are cast).
func (c *compiler) truth(x sem.Expr, s sqlast.Expr) sqlast.Expr {
	if x.Type() == types.Dynamic {
		return &sqlast.Cast{X: s, Type: "BOOLEAN", Try: true}
	}
	return s
}

func (c *compiler) values(v *sem.Values) (*sqlast.Select, error) {
	if len(v.Rows) == 1 {
		q := &sqlast.Select{}
		for i, cl := range v.Cols {
			x, err := c.expr(v.Rows[0][i])
			if err != nil {
				return nil, err
			}
			q.Items = append(q.Items, sqlast.SelectItem{X: &sqlast.Cast{X: x, Type: cl.Type.DuckDB()}, Alias: cl.Name})
		}
		return q, nil
	}
	if len(v.Rows) == 0 {
		q := &sqlast.Select{Where: sqlast.Keyword("FALSE")}
		for _, cl := range v.Cols {
			q.Items = append(q.Items, sqlast.SelectItem{X: &sqlast.Cast{X: sqlast.Keyword("NULL"), Type: cl.Type.DuckDB()}, Alias: cl.Name})
		}
		return q, nil
	}
	vals := &sqlast.Values{Alias: c.alias()}
	for _, cl := range v.Cols {
		vals.Columns = append(vals.Columns, cl.Name)
	}
	for _, row := range v.Rows {
		var r []sqlast.Expr
		for i, x := range row {
			e, err := c.expr(x)
			if err != nil {
				return nil, err
			}
			r = append(r, &sqlast.Cast{X: e, Type: v.Cols[i].Type.DuckDB()})
		}
		vals.Rows = append(vals.Rows, r)
	}
	return &sqlast.Select{From: vals}, nil
}

// rangeNode generates From + i*Step for i in 0..floor((To-From)/Step).
func (c *compiler) rangeNode(v *sem.Range) (*sqlast.Select, error) {
	from, err := c.expr(v.From)
	if err != nil {
		return nil, err
	}
	to, err := c.expr(v.To)
	if err != nil {
		return nil, err
	}
	step, err := c.expr(v.Step)
	if err != nil {
		return nil, err
	}
	i := col("i")
	var count, value sqlast.Expr
	switch v.Col.Type {
	case types.Real, types.Decimal:
		count = &sqlast.Cast{X: &sqlast.Call{Name: "floor", Args: []sqlast.Expr{&sqlast.Bin{Op: "/", L: &sqlast.Bin{Op: "-", L: to, R: from}, R: step}}}, Type: "BIGINT"}
		value = &sqlast.Bin{Op: "+", L: from, R: &sqlast.Bin{Op: "*", L: i, R: step}}
	default:
		count = &sqlast.Bin{Op: "//", L: &sqlast.Bin{Op: "-", L: to, R: from}, R: step}
		value = &sqlast.Bin{Op: "+", L: from, R: &sqlast.Bin{Op: "*", L: i, R: step}}
	}
	gen := &sqlast.FuncFrom{Call: &sqlast.Call{Name: "generate_series", Args: []sqlast.Expr{sqlast.Int(0), count}}, Alias: c.alias(), Columns: []string{"i"}}
	return &sqlast.Select{Items: []sqlast.SelectItem{{X: &sqlast.Cast{X: value, Type: v.Col.Type.DuckDB()}, Alias: v.Col.Name}}, From: gen,
		OrderBy: []sqlast.OrderItem{{X: i}}}, nil
}
