// Package sqlast is a minimal SQL syntax tree with a DuckDB printer. The KQL
// compiler builds queries from these nodes instead of concatenating text, so
// identifiers are always quoted and every value from a query is a positional
// argument (`?`), never spliced into the SQL.
package sqlast

import (
	"strconv"
	"strings"
)

// Expr is a SQL scalar expression.
type Expr interface{ print(*printer) }

// Col is a column reference, optionally qualified by a relation alias.
type Col struct {
	Table string
	Name  string
	Raw   bool // a stored column's own name: Rename leaves it alone
}

// Param is a value bound as a positional argument. Type, when set, is the
// DuckDB type the argument is cast to, so the statement's types never depend
// on how the driver binds Go values.
type Param struct {
	Value any
	Type  string
}

// Keyword is compiler-chosen SQL text with no user data: NULL, TRUE, a type
// name, a constant the compiler computed. Never build it from query input.
type Keyword string

// Call is a function call, an aggregate (with DISTINCT, FILTER) or a window
// function (with Over).
type Call struct {
	Name     string
	Args     []Expr
	Distinct bool
	OrderBy  []OrderItem // ordered aggregate: list(x ORDER BY y)
	Filter   Expr
	Over     *Window
}

// Window is an OVER clause.
type Window struct {
	PartitionBy []Expr
	OrderBy     []OrderItem
	Frame       string // compiler-written frame clause, e.g. ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
}

// Bin is a binary operator: + - * / // % = <> < <= > >= AND OR || LIKE ILIKE.
type Bin struct {
	Op   string
	L, R Expr
}

// Unary is NOT x or -x.
type Unary struct {
	Op string
	X  Expr
}

// Cast is CAST(x AS type) or TRY_CAST.
type Cast struct {
	X    Expr
	Type string
	Try  bool
}

// When is one branch of a CASE.
type When struct{ Cond, Then Expr }

// Case is CASE WHEN ... THEN ... ELSE ... END.
type Case struct {
	Whens []When
	Else  Expr
}

// Template is SQL syntax the other nodes do not model (x IS NULL, lambdas,
// list literals). Fmt is compiler-written SQL in which each `{}` is replaced
// by the next of Args, printed recursively. Fmt must never contain user text.
type Template struct {
	Fmt  string
	Args []Expr
}

// In is x [NOT] IN (list) or x [NOT] IN (subquery).
type In struct {
	X    Expr
	Not  bool
	List []Expr
	Sub  *Select
}

// Subquery is a scalar subquery.
type Subquery struct{ Q *Select }

// Star is `*`, optionally `t.*` and with EXCLUDE.
type Star struct {
	Table   string
	Exclude []string
}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	X          Expr
	Desc       bool
	NullsFirst bool
}

// SelectItem is one output column.
type SelectItem struct {
	X        Expr
	Alias    string
	RawAlias bool // the final output name: Rename leaves it alone
}

// From is a relation in FROM.
type From interface{ printFrom(*printer) }

// Table is a named relation; SQL is the already-quoted name from the catalog.
type Table struct {
	SQL   string
	Alias string
}

// SubFrom is a derived table.
type SubFrom struct {
	Q     *Select
	Alias string
}

// Join joins two relations.
type Join struct {
	Kind string // INNER, LEFT, RIGHT, FULL, CROSS, SEMI, ANTI
	L, R From
	On   Expr
}

// Values is a VALUES list with column aliases.
type Values struct {
	Rows    [][]Expr
	Alias   string
	Columns []string
}

// FuncFrom is a table function (range, unnest, ...).
type FuncFrom struct {
	Call    *Call
	Alias   string
	Columns []string
}

// Select is one SELECT statement; SetOp chains UNION ALL BY NAME and friends.
type Select struct {
	With      []CTE
	Recursive bool // WITH RECURSIVE
	Distinct  bool
	Items     []SelectItem
	From      From
	Where     Expr
	GroupBy   []Expr
	Having    Expr
	Qualify   Expr
	OrderBy   []OrderItem
	Limit     Expr
	SetOp     string // "UNION ALL BY NAME", ...
	Next      *Select
}

// CTE is a named common table expression.
type CTE struct {
	Name         string
	Q            *Select
	Materialized bool
}

// Print renders q as DuckDB SQL and returns its positional arguments.
func Print(q *Select) (string, []any) {
	p := &printer{}
	q.printSelect(p)
	return p.b.String(), p.args
}

// PrintExpr renders one expression (for tests and explain output).
func PrintExpr(e Expr) (string, []any) {
	p := &printer{}
	e.print(p)
	return p.b.String(), p.args
}

type printer struct {
	b    strings.Builder
	args []any
}

func (p *printer) w(s string) { p.b.WriteString(s) }

// QuoteIdent quotes an identifier for DuckDB.
func QuoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func (c *Col) print(p *printer) {
	if c.Table != "" {
		p.w(QuoteIdent(c.Table))
		p.w(".")
	}
	p.w(QuoteIdent(c.Name))
}

func (x *Param) print(p *printer) {
	p.args = append(p.args, x.Value)
	if x.Type == "" || nativeType(x) {
		// A bare parameter whose Go value binds to exactly the wanted type:
		// DuckDB then treats it like a constant (filter pushdown into scans,
		// compiled regular expressions), which a CAST would prevent.
		p.w("?")
		return
	}
	p.w("CAST(? AS " + x.Type + ")")
}

// nativeType reports whether the driver binds the Go value as Type itself.
func nativeType(x *Param) bool {
	switch x.Value.(type) {
	case string:
		return x.Type == "VARCHAR"
	case int64:
		return x.Type == "BIGINT"
	case float64:
		return x.Type == "DOUBLE"
	case bool:
		return x.Type == "BOOLEAN"
	}
	return false
}

func (k Keyword) print(p *printer) { p.w(string(k)) }

func (c *Call) print(p *printer) {
	p.w(c.Name)
	p.w("(")
	if c.Distinct {
		p.w("DISTINCT ")
	}
	for i, a := range c.Args {
		if i > 0 {
			p.w(", ")
		}
		a.print(p)
	}
	if len(c.OrderBy) > 0 {
		p.w(" ORDER BY ")
		printOrder(p, c.OrderBy)
	}
	p.w(")")
	if c.Filter != nil {
		p.w(" FILTER (WHERE ")
		c.Filter.print(p)
		p.w(")")
	}
	if c.Over != nil {
		p.w(" OVER (")
		if len(c.Over.PartitionBy) > 0 {
			p.w("PARTITION BY ")
			printList(p, c.Over.PartitionBy)
			if len(c.Over.OrderBy) > 0 {
				p.w(" ")
			}
		}
		if len(c.Over.OrderBy) > 0 {
			p.w("ORDER BY ")
			printOrder(p, c.Over.OrderBy)
		}
		if c.Over.Frame != "" {
			if len(c.Over.PartitionBy) > 0 || len(c.Over.OrderBy) > 0 {
				p.w(" ")
			}
			p.w(c.Over.Frame)
		}
		p.w(")")
	}
}

func printList(p *printer, xs []Expr) {
	for i, x := range xs {
		if i > 0 {
			p.w(", ")
		}
		x.print(p)
	}
}

func printOrder(p *printer, items []OrderItem) {
	for i, o := range items {
		if i > 0 {
			p.w(", ")
		}
		o.X.print(p)
		if o.Desc {
			p.w(" DESC")
		} else {
			p.w(" ASC")
		}
		if o.NullsFirst {
			p.w(" NULLS FIRST")
		} else {
			p.w(" NULLS LAST")
		}
	}
}

func (b *Bin) print(p *printer) {
	p.w("(")
	b.L.print(p)
	p.w(" " + b.Op + " ")
	b.R.print(p)
	p.w(")")
}

func (u *Unary) print(p *printer) {
	p.w("(" + u.Op)
	if len(u.Op) > 1 {
		p.w(" ")
	}
	u.X.print(p)
	p.w(")")
}

func (c *Cast) print(p *printer) {
	if c.Try {
		p.w("TRY_CAST(")
	} else {
		p.w("CAST(")
	}
	c.X.print(p)
	p.w(" AS " + c.Type + ")")
}

func (c *Case) print(p *printer) {
	p.w("CASE")
	for _, w := range c.Whens {
		p.w(" WHEN ")
		w.Cond.print(p)
		p.w(" THEN ")
		w.Then.print(p)
	}
	if c.Else != nil {
		p.w(" ELSE ")
		c.Else.print(p)
	}
	p.w(" END")
}

func (t *Template) print(p *printer) {
	f := t.Fmt
	i := 0
	for {
		j := strings.Index(f, "{}")
		if j < 0 {
			p.w(f)
			return
		}
		p.w(f[:j])
		if i < len(t.Args) {
			t.Args[i].print(p)
		}
		i++
		f = f[j+2:]
	}
}

func (x *In) print(p *printer) {
	p.w("(")
	x.X.print(p)
	if x.Not {
		p.w(" NOT")
	}
	p.w(" IN (")
	if x.Sub != nil {
		x.Sub.printSelect(p)
	} else {
		printList(p, x.List)
	}
	p.w("))")
}

func (s *Subquery) print(p *printer) {
	p.w("(")
	s.Q.printSelect(p)
	p.w(")")
}

func (s *Star) print(p *printer) {
	if s.Table != "" {
		p.w(QuoteIdent(s.Table) + ".")
	}
	p.w("*")
	if len(s.Exclude) > 0 {
		p.w(" EXCLUDE (")
		for i, n := range s.Exclude {
			if i > 0 {
				p.w(", ")
			}
			p.w(QuoteIdent(n))
		}
		p.w(")")
	}
}

func (t *Table) printFrom(p *printer) {
	p.w(t.SQL)
	if t.Alias != "" {
		p.w(" AS " + QuoteIdent(t.Alias))
	}
}

func (s *SubFrom) printFrom(p *printer) {
	p.w("(")
	s.Q.printSelect(p)
	p.w(")")
	if s.Alias != "" {
		p.w(" AS " + QuoteIdent(s.Alias))
	}
}

func (j *Join) printFrom(p *printer) {
	j.L.printFrom(p)
	p.w(" " + j.Kind + " JOIN ")
	j.R.printFrom(p)
	if j.On != nil {
		p.w(" ON ")
		j.On.print(p)
	}
}

func aliasCols(p *printer, alias string, cols []string) {
	p.w(" AS " + QuoteIdent(alias))
	if len(cols) > 0 {
		p.w("(")
		for i, c := range cols {
			if i > 0 {
				p.w(", ")
			}
			p.w(QuoteIdent(c))
		}
		p.w(")")
	}
}

func (v *Values) printFrom(p *printer) {
	p.w("(VALUES ")
	for i, r := range v.Rows {
		if i > 0 {
			p.w(", ")
		}
		p.w("(")
		printList(p, r)
		p.w(")")
	}
	p.w(")")
	aliasCols(p, v.Alias, v.Columns)
}

func (f *FuncFrom) printFrom(p *printer) {
	f.Call.print(p)
	aliasCols(p, f.Alias, f.Columns)
}

func (s *Select) printSelect(p *printer) {
	if len(s.With) > 0 {
		p.w("WITH ")
		if s.Recursive {
			p.w("RECURSIVE ")
		}
		for i, c := range s.With {
			if i > 0 {
				p.w(", ")
			}
			p.w(QuoteIdent(c.Name) + " AS ")
			if c.Materialized {
				p.w("MATERIALIZED ")
			}
			p.w("(")
			c.Q.printSelect(p)
			p.w(")")
		}
		p.w(" ")
	}
	p.w("SELECT ")
	if s.Distinct {
		p.w("DISTINCT ")
	}
	if len(s.Items) == 0 {
		p.w("*")
	}
	for i, it := range s.Items {
		if i > 0 {
			p.w(", ")
		}
		it.X.print(p)
		if it.Alias != "" {
			p.w(" AS " + QuoteIdent(it.Alias))
		}
	}
	if s.From != nil {
		p.w(" FROM ")
		s.From.printFrom(p)
	}
	if s.Where != nil {
		p.w(" WHERE ")
		s.Where.print(p)
	}
	if len(s.GroupBy) > 0 {
		p.w(" GROUP BY ")
		printList(p, s.GroupBy)
	}
	if s.Having != nil {
		p.w(" HAVING ")
		s.Having.print(p)
	}
	if s.Qualify != nil {
		p.w(" QUALIFY ")
		s.Qualify.print(p)
	}
	if s.Next != nil {
		p.w(" " + s.SetOp + " ")
		s.Next.printSelect(p)
	}
	if len(s.OrderBy) > 0 {
		p.w(" ORDER BY ")
		printOrder(p, s.OrderBy)
	}
	if s.Limit != nil {
		p.w(" LIMIT ")
		s.Limit.print(p)
	}
}

// Int is a compiler-computed integer constant printed inline (not user data).
func Int(n int64) Keyword { return Keyword(strconv.FormatInt(n, 10)) }
