package compile

import (
	"fmt"
	"strconv"
	"strings"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// scanOp lowers scan to a recursive CTE that walks the rows in order
// (row_number over the input) carrying the state of every step, following
// the documented matching logic. For each row the steps are evaluated from
// the last to the first, each seeing what the later ones changed:
//
//   - check 1 (not for the first step): the previous step has an active
//     sequence and the condition holds against that sequence's state. The
//     sequence moves up to this step (the previous step's state is cleared)
//     and the row, extended by the assignments, joins it and is output.
//   - otherwise check 2: this step has an active sequence, or is the first
//     step, and the condition holds against its own state. The row replaces
//     this step's entry in the state and is output unless output=none; on
//     the first step without an active sequence it starts a new one (the
//     next match id).
//
// A step of a state that does not hold it (s2.x while in s1's state, or
// any step of an empty state) reads the declared default, or null for an
// input column. Unassigned variables take their default in the extended row.
// output=last keeps a step's match only when the next row does not match
// that step again by check 2. Linear in rows per step; meant for modest
// inputs, like the single-step form it generalises.
func (c *compiler) scanOp(v *sem.ScanOp) (*sqlast.Select, error) {
	in, err := c.node(v.In)
	if err != nil {
		return nil, err
	}
	l := newScanLowering(c, v)
	savedSides, savedRef := c.sides, c.scanRef
	c.sides = map[string]string{"row": ""}
	c.scanRef = l.ref
	defer func() { c.sides, c.scanRef = savedSides, savedRef }()

	if err := l.defaults(); err != nil {
		return nil, err
	}
	// __g numbers the rows in input order, __rn within the partition (inside
	// partition, every partition runs its own scan, all in the same pass)
	numbered := &sqlast.Select{From: &sqlast.SubFrom{Q: in, Alias: c.alias()},
		Items: []sqlast.SelectItem{{X: &sqlast.Star{}}, {X: &sqlast.Call{Name: "row_number", Over: &sqlast.Window{}}, Alias: "__g"}}}
	rn := &sqlast.Window{OrderBy: []sqlast.OrderItem{{X: col("__g")}}}
	if v.PartitionBy != "" {
		rn.PartitionBy = []sqlast.Expr{col(v.PartitionBy)}
	}
	rows := &sqlast.Select{From: &sqlast.SubFrom{Q: numbered, Alias: c.alias()},
		Items: []sqlast.SelectItem{{X: &sqlast.Star{}}, {X: &sqlast.Call{Name: "row_number", Over: rn}, Alias: "__rn"}}}
	anchor := &sqlast.Select{}
	for _, sc := range l.state {
		x := cast(sc.init, sc.typ)
		if sc.name == "__p" {
			x = col(v.PartitionBy)
		}
		anchor.Items = append(anchor.Items, sqlast.SelectItem{X: x, Alias: sc.name})
	}
	if v.PartitionBy != "" {
		// one state per partition
		anchor.From = &sqlast.SubFrom{Alias: c.alias(), Q: &sqlast.Select{Distinct: true, Items: []sqlast.SelectItem{{X: col(v.PartitionBy)}},
			From: &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_rows")}}}
	}
	// the next row joined to the state so far
	cur := &sqlast.Select{
		Items: []sqlast.SelectItem{{X: &sqlast.Col{Table: "b", Name: "__rn"}, Alias: "__rn"}},
		From: &sqlast.Join{Kind: "INNER", L: &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_state"), Alias: "st"},
			R:  &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_rows"), Alias: "b"},
			On: l.samePartition(bin("=", &sqlast.Col{Table: "b", Name: "__rn"}, bin("+", &sqlast.Col{Table: "st", Name: "__rn"}, i64(1))))},
	}
	for _, sc := range l.state[1:] {
		x := sqlast.Expr(&sqlast.Col{Table: "st", Name: sc.name})
		if sc.output {
			x = cast(sc.init, sc.typ) // outputs are per row
		}
		cur.Items = append(cur.Items, sqlast.SelectItem{X: x, Alias: sc.name})
	}
	for _, name := range l.inCols {
		cur.Items = append(cur.Items, sqlast.SelectItem{X: &sqlast.Col{Table: "b", Name: name}, Alias: name})
	}
	for k := len(v.Steps); k >= 1; k-- {
		if cur, err = l.step(cur, k, k == 1); err != nil {
			return nil, err
		}
	}
	anchor.SetOp, anchor.Next = "UNION ALL", cur

	out := l.output()
	out.Recursive = true
	out.With = []sqlast.CTE{{Name: "__scan_rows", Q: rows, Materialized: true}, {Name: "__scan_state", Q: anchor}}
	return out, nil
}

// scanCol is one column of the scan state.
type scanCol struct {
	name   string
	typ    string
	init   sqlast.Expr
	output bool // reset for every row (what the row's matches output)
}

type scanLowering struct {
	c       *compiler
	v       *sem.ScanOp
	inCols  []string
	tracked map[string]int // tracked column → index
	deflt   map[string]sqlast.Expr
	state   []scanCol
	// the state the expressions being compiled read (1-based step, 0: none)
	// and the step that is evaluating them (for Side "state")
	ctx, own int
}

func newScanLowering(c *compiler, v *sem.ScanOp) *scanLowering {
	l := &scanLowering{c: c, v: v, tracked: map[string]int{}, deflt: map[string]sqlast.Expr{}}
	nOut := len(v.Vars)
	if v.MatchID != "" {
		nOut++
	}
	for _, cl := range v.Cols[:len(v.Cols)-nOut] {
		l.inCols = append(l.inCols, cl.Name)
	}
	for i, t := range v.Tracked {
		l.tracked[t.Name] = i
	}
	return l
}

func (l *scanLowering) a(k int) string         { return "__a" + strconv.Itoa(k) }
func (l *scanLowering) m(k int) string         { return "__m" + strconv.Itoa(k) }
func (l *scanLowering) val(k, j, t int) string { return fmt.Sprintf("__v%d_%d_%d", k, j, t) }
func (l *scanLowering) o(k int) string         { return "__o" + strconv.Itoa(k) }
func (l *scanLowering) c2(k int) string        { return "__c2_" + strconv.Itoa(k) }
func (l *scanLowering) x(k, i int) string      { return fmt.Sprintf("__x%d_%d", k, i) }
func (l *scanLowering) id(k int) string        { return "__id" + strconv.Itoa(k) }

// defaults compiles the declared defaults and lays out the state columns.
func (l *scanLowering) defaults() error {
	for _, it := range l.v.Vars {
		x, err := l.c.expr(it.X)
		if err != nil {
			return err
		}
		l.deflt[it.Name] = cast(x, it.X.Type().DuckDB())
	}
	for _, t := range l.v.Tracked {
		if _, ok := l.deflt[t.Name]; !ok {
			l.deflt[t.Name] = null(t.Type)
		}
	}
	big, boolean := "BIGINT", "BOOLEAN"
	l.state = []scanCol{{name: "__rn", typ: big, init: i64(0)}, {name: "__cnt", typ: big, init: i64(-1)}}
	if l.v.PartitionBy != "" {
		l.state = append(l.state, scanCol{name: "__p", typ: columnType(l.v.Cols, l.v.PartitionBy).DuckDB(), init: sqlast.Keyword("NULL")})
	}
	for k := 1; k <= len(l.v.Steps); k++ {
		l.state = append(l.state, scanCol{name: l.a(k), typ: boolean, init: sqlast.Keyword("FALSE")},
			scanCol{name: l.m(k), typ: big, init: sqlast.Keyword("NULL")})
		for j := 1; j <= k; j++ {
			for ti, t := range l.v.Tracked {
				l.state = append(l.state, scanCol{name: l.val(k, j, ti), typ: t.Type.DuckDB(), init: l.deflt[t.Name]})
			}
		}
		l.state = append(l.state, scanCol{name: l.o(k), typ: boolean, init: sqlast.Keyword("FALSE"), output: true},
			scanCol{name: l.c2(k), typ: boolean, init: sqlast.Keyword("FALSE"), output: true},
			scanCol{name: l.id(k), typ: big, init: sqlast.Keyword("NULL"), output: true})
		for i, it := range l.v.Vars {
			l.state = append(l.state, scanCol{name: l.x(k, i), typ: it.X.Type().DuckDB(), init: sqlast.Keyword("NULL"), output: true})
		}
	}
	return nil
}

// ref lowers a read of a step's state in the current context.
func (l *scanLowering) ref(r *sem.ColumnRef) sqlast.Expr {
	j := l.own
	if strings.HasPrefix(r.Side, "step") {
		j, _ = strconv.Atoi(r.Side[len("step"):])
		j++
	}
	t, ok := l.tracked[r.Name]
	if !ok || j < 1 || j > l.ctx {
		if d, ok := l.deflt[r.Name]; ok {
			return d
		}
		return null(r.T)
	}
	return col(l.val(l.ctx, j, t))
}

// compileIn compiles x reading state ctx on behalf of step own.
func (l *scanLowering) compileIn(x sem.Expr, ctx, own int) (sqlast.Expr, error) {
	l.ctx, l.own = ctx, own
	return l.c.expr(x)
}

// step evaluates step k (1-based) for the row in cur and returns the
// select with the updated state and, unless it is the last stage (the
// recursive part itself), the row's columns.
func (l *scanLowering) step(cur *sqlast.Select, k int, last bool) (*sqlast.Select, error) {
	st := l.v.Steps[k-1]
	c := l.c
	wrap := func(q *sqlast.Select, items ...sqlast.SelectItem) *sqlast.Select {
		return &sqlast.Select{From: &sqlast.SubFrom{Q: q, Alias: c.alias()}, Items: append([]sqlast.SelectItem{{X: &sqlast.Star{}}}, items...)}
	}
	holds := func(ctx int) (sqlast.Expr, error) {
		x, err := l.compileIn(st.Cond, ctx, k)
		if err != nil {
			return nil, err
		}
		return fn("COALESCE", c.truth(st.Cond, x), sqlast.Keyword("FALSE")), nil
	}
	// check 1: the previous step's sequence moves up to this step
	var c1 sqlast.Expr = sqlast.Keyword("FALSE")
	if k > 1 {
		h, err := holds(k - 1)
		if err != nil {
			return nil, err
		}
		c1 = bin("AND", col(l.a(k-1)), h)
	}
	// check 2: this step's own sequence (or a new one on the first step)
	h, err := holds(k)
	if err != nil {
		return nil, err
	}
	var active sqlast.Expr = col(l.a(k))
	if k == 1 {
		active = sqlast.Keyword("TRUE")
	}
	// one level per step keeps DuckDB's work per recursion small: c1 is
	// repeated in c2 rather than read from a level of its own
	q := wrap(cur, sqlast.SelectItem{X: c1, Alias: "__c1"},
		sqlast.SelectItem{X: tmpl("(NOT {} AND {} AND {})", c1, active, h), Alias: "__c2"})
	// the extended row: each declared variable's value for this match
	ext := make([]func() sqlast.Expr, len(l.v.Vars))
	for i, it := range l.v.Vars {
		typ := it.X.Type().DuckDB()
		val := func(ctx int) (sqlast.Expr, error) {
			x, ok := st.Assign[it.Name]
			if !ok {
				return l.deflt[it.Name], nil
			}
			e, err := l.compileIn(x, ctx, k)
			if err != nil {
				return nil, err
			}
			return cast(e, typ), nil
		}
		v1, err := val(k - 1)
		if err != nil {
			return nil, err
		}
		v2, err := val(k)
		if err != nil {
			return nil, err
		}
		ext[i] = func() sqlast.Expr {
			return &sqlast.Case{Whens: []sqlast.When{{Cond: col("__c1"), Then: v1}, {Cond: col("__c2"), Then: v2}}, Else: null(it.X.Type())}
		}
	}
	// the new state
	c1c, c2c, either := col("__c1"), col("__c2"), tmpl("({} OR {})", col("__c1"), col("__c2"))
	newM := tmpl("CASE WHEN {} THEN {} ELSE {} END", c1c, col(l.m(k-1)), col(l.m(k)))
	// a match of the first step starts a new sequence unless it continues one
	starts := tmpl("({} AND NOT {})", c2c, col(l.a(1)))
	if k == 1 {
		newM = tmpl("CASE WHEN {} THEN {} + 1 ELSE {} END", starts, col("__cnt"), col(l.m(k)))
	}
	set := map[string]sqlast.Expr{
		l.a(k):  tmpl("({} OR {})", col(l.a(k)), either),
		l.m(k):  newM,
		l.o(k):  either,
		l.c2(k): c2c,
		l.id(k): newM,
	}
	if k == 1 {
		set["__cnt"] = tmpl("CASE WHEN {} THEN {} + 1 ELSE {} END", starts, col("__cnt"), col("__cnt"))
	} else {
		set[l.a(k-1)] = tmpl("CASE WHEN {} THEN FALSE ELSE {} END", c1c, col(l.a(k-1)))
		set[l.m(k-1)] = tmpl("CASE WHEN {} THEN NULL ELSE {} END", c1c, col(l.m(k-1)))
	}
	for ti, t := range l.v.Tracked {
		for j := 1; j < k; j++ {
			set[l.val(k, j, ti)] = tmpl("CASE WHEN {} THEN {} ELSE {} END", c1c, col(l.val(k-1, j, ti)), col(l.val(k, j, ti)))
			set[l.val(k-1, j, ti)] = tmpl("CASE WHEN {} THEN {} ELSE {} END", c1c, l.deflt[t.Name], col(l.val(k-1, j, ti)))
		}
		var now sqlast.Expr = col(t.Name) // an input column: the row's value
		for i, it := range l.v.Vars {
			if it.Name == t.Name {
				now = ext[i]()
			}
		}
		set[l.val(k, k, ti)] = tmpl("CASE WHEN {} THEN {} ELSE {} END", either, now, col(l.val(k, k, ti)))
	}
	for i := range l.v.Vars {
		set[l.x(k, i)] = ext[i]()
	}
	next := &sqlast.Select{From: &sqlast.SubFrom{Q: q, Alias: c.alias()}}
	for _, sc := range l.state {
		x, ok := set[sc.name]
		if !ok {
			x = col(sc.name)
		} else if last {
			x = cast(x, sc.typ) // the recursive part's types are the anchor's
		}
		next.Items = append(next.Items, sqlast.SelectItem{X: x, Alias: sc.name})
	}
	if !last {
		for _, name := range l.inCols {
			next.Items = append(next.Items, sqlast.SelectItem{X: col(name), Alias: name})
		}
	}
	return next, nil
}

// output lists, per row and in reverse step order, the matches each step
// outputs: the row's columns, the extended variables and the match id.
func (l *scanLowering) output() *sqlast.Select {
	c := l.c
	n := len(l.v.Steps)
	marks := &sqlast.Select{Items: []sqlast.SelectItem{{X: &sqlast.Star{}}}, From: &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_state")}}
	for k, st := range l.v.Steps {
		if st.Output == "last" {
			marks.Items = append(marks.Items, sqlast.SelectItem{
				X:     &sqlast.Call{Name: "lead", Args: []sqlast.Expr{col(l.c2(k + 1))}, Over: l.byPartition(&sqlast.Window{OrderBy: []sqlast.OrderItem{{X: col("__rn")}}})},
				Alias: "__nx" + strconv.Itoa(k+1)})
		}
	}
	var union, last *sqlast.Select
	for k := n; k >= 1; k-- {
		st := l.v.Steps[k-1]
		if st.Output == "none" {
			continue
		}
		b := &sqlast.Select{
			From: &sqlast.Join{Kind: "INNER", L: &sqlast.SubFrom{Q: marks, Alias: "st"},
				R:  &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_rows"), Alias: "b"},
				On: l.samePartition(bin("=", &sqlast.Col{Table: "st", Name: "__rn"}, &sqlast.Col{Table: "b", Name: "__rn"}))},
			Where: &sqlast.Col{Table: "st", Name: l.o(k)},
		}
		if st.Output == "last" {
			b.Where = tmpl("({} AND NOT COALESCE({}, FALSE))", b.Where, &sqlast.Col{Table: "st", Name: "__nx" + strconv.Itoa(k)})
		}
		l.outputItems(b, func(name string) sqlast.Expr { return &sqlast.Col{Table: "b", Name: name} },
			func(i int) sqlast.Expr { return &sqlast.Col{Table: "st", Name: l.x(k, i)} },
			&sqlast.Col{Table: "st", Name: l.id(k)})
		b.Items = append(b.Items, sqlast.SelectItem{X: &sqlast.Col{Table: "b", Name: "__g"}, Alias: "__ord"},
			sqlast.SelectItem{X: i64(int64(n - k)), Alias: "__ord2"})
		if union == nil {
			union = b
		} else {
			last.SetOp, last.Next = "UNION ALL", b
		}
		last = b
	}
	if union == nil {
		// every step is output=none: no rows, the right columns
		union = &sqlast.Select{Where: sqlast.Keyword("FALSE")}
		l.outputItems(union, func(name string) sqlast.Expr { return null(columnType(l.v.Cols, name)) },
			func(i int) sqlast.Expr { return null(l.v.Vars[i].X.Type()) }, null(types.Long))
		union.Items = append(union.Items, sqlast.SelectItem{X: i64(0), Alias: "__ord"}, sqlast.SelectItem{X: i64(0), Alias: "__ord2"})
	}
	out := &sqlast.Select{From: &sqlast.SubFrom{Q: union, Alias: c.alias()},
		OrderBy: []sqlast.OrderItem{{X: col("__ord")}, {X: col("__ord2")}}}
	for _, cl := range l.v.Cols {
		out.Items = append(out.Items, sqlast.SelectItem{X: col(cl.Name), Alias: cl.Name})
	}
	return out
}

func (l *scanLowering) outputItems(q *sqlast.Select, row func(string) sqlast.Expr, variable func(int) sqlast.Expr, matchID sqlast.Expr) {
	for _, name := range l.inCols {
		q.Items = append(q.Items, sqlast.SelectItem{X: row(name), Alias: name})
	}
	for i, it := range l.v.Vars {
		q.Items = append(q.Items, sqlast.SelectItem{X: variable(i), Alias: it.Name})
	}
	if l.v.MatchID != "" {
		q.Items = append(q.Items, sqlast.SelectItem{X: matchID, Alias: l.v.MatchID})
	}
}

// samePartition adds "and the same partition" to a join of the state (st)
// with the rows (b).
func (l *scanLowering) samePartition(on sqlast.Expr) sqlast.Expr {
	if l.v.PartitionBy == "" {
		return on
	}
	return bin("AND", on, bin("IS NOT DISTINCT FROM", &sqlast.Col{Table: "b", Name: l.v.PartitionBy}, &sqlast.Col{Table: "st", Name: "__p"}))
}

func (l *scanLowering) byPartition(w *sqlast.Window) *sqlast.Window {
	if l.v.PartitionBy != "" {
		w.PartitionBy = []sqlast.Expr{col("__p")}
	}
	return w
}
