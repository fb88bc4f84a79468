package sem

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"odx/internal/kql/ast"
	"odx/internal/kql/builtins"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// scope is the row an expression is evaluated against.
type scope struct {
	cols        []schema.Column
	left, right []schema.Column // join conditions: $left / $right
	aggs        bool            // aggregate functions allowed (summarize)
	steps       []string        // scan: step names, whose state s.col reads
	state       []schema.Column // scan: what a step's state holds (input columns and declared variables)
	declared    []schema.Column // scan: declared variables (a bare name reads the step's own state)
	window      bool            // set when a window function was used
}

func (s *scope) column(name string) (schema.Column, bool) {
	if s == nil {
		return schema.Column{}, false
	}
	for _, c := range s.cols {
		if c.Name == name {
			return c, true
		}
	}
	return schema.Column{}, false
}

func findCol(cols []schema.Column, name string) (schema.Column, bool) {
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	return schema.Column{}, false
}

// scalar analyses a scalar expression against a row scope (nil: no columns).
func (a *analyzer) scalar(e *env, sc *scope, x ast.Expr) (Expr, error) {
	switch v := x.(type) {
	case *ast.Literal:
		c, err := literal(v)
		if err != nil {
			return nil, a.errf(v, "SEM0009", "%v", err)
		}
		return c, nil
	case *ast.Paren:
		if isTabularSyntax(v.X) {
			n, err := a.tabular(e, v.X)
			if err != nil {
				return nil, err
			}
			return a.tabularScalar(v, n)
		}
		return a.scalar(e, sc, v.X)
	case *ast.Ident:
		if c, ok := sc.column(v.Name); ok {
			return &ColumnRef{Name: c.Name, T: c.Type}, nil
		}
		if sc != nil {
			if c, ok := findCol(sc.declared, v.Name); ok {
				return &ColumnRef{Name: c.Name, T: c.Type, Side: "state"}, nil
			}
		}
		if b := e.lookup(v.Name); b != nil {
			if k, ok := b.scalar.(*Const); ok {
				named := *k
				named.Name = v.Name
				return &named, nil
			}
			if b.scalar != nil {
				return b.scalar, nil
			}
			if b.fn != nil && len(b.fn.Params) == 0 {
				return a.call(e, sc, &ast.Call{Span: v.Span, Fun: v})
			}
		}
		return nil, a.errf(v, "SEM0100", "Failed to resolve scalar expression named '%s'", v.Name)
	case *ast.Unary:
		y, err := a.scalar(e, sc, v.X)
		if err != nil {
			return nil, err
		}
		if v.Op == "+" {
			return y, nil
		}
		if c, ok := y.(*Const); ok {
			if n := negate(c); n != nil {
				return n, nil
			}
		}
		t := y.Type()
		if !t.Numeric() && t != types.TimeSpan && t != types.Dynamic {
			return nil, a.errf(v, "SEM0002", "Unary operator '-' cannot be applied to an operand of type %s", t)
		}
		return &Call{Fn: "neg", Args: []Expr{y}, T: t}, nil
	case *ast.Binary:
		return a.binary(e, sc, v)
	case *ast.Between:
		xs, err := a.scalars(e, sc, v.X, v.Lo, v.Hi)
		if err != nil {
			return nil, err
		}
		fn := "between"
		if v.Not {
			fn = "!between"
		}
		return &Call{Fn: fn, Args: xs, T: types.Bool}, nil
	case *ast.In:
		return a.in(e, sc, v)
	case *ast.Call:
		return a.call(e, sc, v)
	case *ast.Member:
		if id, ok := v.X.(*ast.Ident); ok && sc != nil && slices.Contains(sc.steps, id.Name) {
			c, ok := findCol(sc.state, v.Name.Name)
			if !ok {
				return nil, a.errf(v, "SEM0100", "'%s' is neither a column nor a declared scan variable", v.Name.Name)
			}
			return &ColumnRef{Name: c.Name, T: c.Type, Side: "step" + strconv.Itoa(slices.Index(sc.steps, id.Name))}, nil
		}
		if id, ok := v.X.(*ast.Ident); ok && (id.Name == "$left" || id.Name == "$right") && sc != nil {
			cols, side := sc.left, "left"
			if id.Name == "$right" {
				cols, side = sc.right, "right"
			}
			c, ok := findCol(cols, v.Name.Name)
			if !ok {
				return nil, a.errf(v, "SEM0100", "Failed to resolve column '%s' on the %s side of the join", v.Name.Name, side)
			}
			return &ColumnRef{Name: c.Name, T: c.Type, Side: side}, nil
		}
		base, err := a.scalar(e, sc, v.X)
		if err != nil {
			return nil, err
		}
		if base.Type() != types.Dynamic {
			return nil, a.errf(v, "SEM0110", "Member access '.%s' needs a dynamic value, found %s", v.Name.Name, base.Type())
		}
		return &Call{Fn: "_index", Args: []Expr{base, &Const{V: v.Name.Name, T: types.String}}, T: types.Dynamic}, nil
	case *ast.Index:
		base, err := a.scalar(e, sc, v.X)
		if err != nil {
			return nil, err
		}
		idx, err := a.scalar(e, sc, v.I)
		if err != nil {
			return nil, err
		}
		if base.Type() != types.Dynamic {
			return nil, a.errf(v, "SEM0110", "Indexing needs a dynamic value, found %s", base.Type())
		}
		return &Call{Fn: "_index", Args: []Expr{base, idx}, T: types.Dynamic}, nil
	case *ast.Star:
		return &Star{}, nil
	case *ast.NamedExpr:
		return a.scalar(e, sc, v.X)
	case *ast.Pipe, *ast.Datatable, *ast.Source:
		n, err := a.tabular(e, v)
		if err != nil {
			return nil, err
		}
		return a.tabularScalar(v, n)
	}
	return nil, a.errf(x, "SEM0100", "Unsupported expression '%s'", x.String())
}

// tabularScalar turns a one-column table into a scalar (toscalar semantics).
func (a *analyzer) tabularScalar(at ast.Node, n Node) (Expr, error) {
	cols := n.Schema()
	if len(cols) == 0 {
		return nil, a.errf(at, "SEM0100", "A tabular expression used as a scalar must have a column")
	}
	return &TabularExpr{Plan: n, T: cols[0].Type}, nil
}

func (a *analyzer) scalars(e *env, sc *scope, xs ...ast.Expr) ([]Expr, error) {
	out := make([]Expr, len(xs))
	for i, x := range xs {
		y, err := a.scalar(e, sc, x)
		if err != nil {
			return nil, err
		}
		out[i] = y
	}
	return out, nil
}

func (a *analyzer) in(e *env, sc *scope, v *ast.In) (Expr, error) {
	x, err := a.scalar(e, sc, v.X)
	if err != nil {
		return nil, err
	}
	if len(v.List) == 1 {
		item := v.List[0]
		tab := isTabularSyntax(item)
		if id, ok := item.(*ast.Ident); ok {
			if _, isCol := sc.column(id.Name); !isCol {
				if b := e.lookup(id.Name); b != nil && b.table != nil {
					tab = true
				}
			}
		}
		if tab {
			n, err := a.tabular(e, item)
			if err != nil {
				return nil, err
			}
			return &Call{Fn: v.Op, Args: []Expr{x, &TabularExpr{Plan: n, T: n.Schema()[0].Type}}, T: types.Bool}, nil
		}
	}
	items, err := a.scalars(e, sc, v.List...)
	if err != nil {
		return nil, err
	}
	return &Call{Fn: v.Op, Args: []Expr{x, &List{Items: items}}, T: types.Bool}, nil
}

var arithmetic = map[string]bool{"+": true, "-": true, "*": true, "/": true, "%": true}
var comparison = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (a *analyzer) binary(e *env, sc *scope, v *ast.Binary) (Expr, error) {
	l, err := a.scalar(e, sc, v.X)
	if err != nil {
		return nil, err
	}
	r, err := a.scalar(e, sc, v.Y)
	if err != nil {
		return nil, err
	}
	lt, rt := l.Type(), r.Type()
	op := v.Op
	switch {
	case op == "and" || op == "or":
		for _, s := range []Expr{l, r} {
			if t := s.Type(); t != types.Bool && t != types.Dynamic {
				return nil, a.errf(v, "SEM0002", "Operator '%s' needs bool operands, found %s and %s", op, lt, rt)
			}
		}
		return &Call{Fn: op, Args: []Expr{l, r}, T: types.Bool}, nil
	case arithmetic[op]:
		t, ok := ArithmeticType(op, lt, rt)
		if !ok {
			return nil, a.errf(v, "SEM0002", "Operator '%s' cannot be applied to operands of type %s and %s", op, lt, rt)
		}
		if t == types.Real || t == types.Long {
			// constants take the operation's type now rather than per row
			if lt.Numeric() {
				l = convertConst(l, t)
			}
			if rt.Numeric() {
				r = convertConst(r, t)
			}
		}
		if folded := foldTime(op, l, r); folded != nil {
			return folded, nil
		}
		return &Call{Fn: op, Args: []Expr{l, r}, T: t}, nil
	case comparison[op]:
		if !comparable(lt, rt) {
			return nil, a.errf(v, "SEM0002", "Cannot compare values of types %s and %s. Try adding explicit casts", lt, rt)
		}
		return &Call{Fn: op, Args: []Expr{l, r}, T: types.Bool}, nil
	}
	// string operators: both sides are used as strings
	return &Call{Fn: op, Args: []Expr{l, r}, T: types.Bool}, nil
}

func comparable(l, r types.Type) bool {
	if l == r || l == types.Dynamic || r == types.Dynamic || l == types.Invalid || r == types.Invalid {
		return true
	}
	if l.Numeric() && r.Numeric() {
		return true
	}
	return false
}

// foldTime computes datetime/timespan arithmetic on constants at compile
// time (ago(1h), now() - 1d, datetime(...) + 2h), so the SQL compares a
// column with a plain value.
func foldTime(op string, l, r Expr) Expr {
	lc, ok1 := l.(*Const)
	rc, ok2 := r.(*Const)
	if !ok1 || !ok2 || lc.V == nil || rc.V == nil {
		return nil
	}
	lt, lok := lc.V.(time.Time)
	rticks, rok := rc.V.(int64)
	if lok && rok && rc.T == types.TimeSpan && (op == "+" || op == "-") {
		// in ticks: a time.Duration spans only 292 years, and a result
		// outside 0001-01-01..9999-12-31 is null, as in Kusto
		lticks, ok := types.TicksFromTime(lt)
		if !ok {
			return &Const{T: types.DateTime}
		}
		span := max(min(rticks, types.MaxDateTimeTicks+1), -types.MaxDateTimeTicks-1)
		if op == "-" {
			span = -span
		}
		if t, ok := types.TimeFromTicks(lticks + span); ok {
			return DateTimeConst(t)
		}
		return &Const{T: types.DateTime}
	}
	lticks, lok2 := lc.V.(int64)
	if lok2 && rok && lc.T == types.TimeSpan && rc.T == types.TimeSpan {
		switch op {
		case "+":
			return &Const{V: lticks + rticks, T: types.TimeSpan}
		case "-":
			return &Const{V: lticks - rticks, T: types.TimeSpan}
		}
	}
	return nil
}

// ArithmeticType is Kusto's result type of `l op r`, false when not defined.
func ArithmeticType(op string, l, r types.Type) (types.Type, bool) {
	if l == types.Dynamic && r == types.Dynamic {
		return types.Dynamic, true
	}
	if l == types.Dynamic {
		l = types.Real
		if r.Numeric() && r != types.Real && r != types.Decimal {
			l = types.Long
		}
	}
	if r == types.Dynamic {
		r = types.Real
		if l.Numeric() && l != types.Real && l != types.Decimal {
			r = types.Long
		}
	}
	num := func(t types.Type) bool { return t.Numeric() }
	switch {
	case num(l) && num(r):
		return builtins.Promoted([]types.Type{l, r}), true
	case l == types.DateTime && r == types.DateTime && op == "-":
		return types.TimeSpan, true
	case l == types.DateTime && r == types.TimeSpan && (op == "+" || op == "-"):
		return types.DateTime, true
	case l == types.TimeSpan && r == types.DateTime && op == "+":
		return types.DateTime, true
	case l == types.TimeSpan && r == types.TimeSpan:
		switch op {
		case "+", "-", "%":
			return types.TimeSpan, true
		case "/":
			return types.Real, true
		}
	case l == types.TimeSpan && num(r) && (op == "*" || op == "/"):
		return types.TimeSpan, true
	case num(l) && r == types.TimeSpan && op == "*":
		return types.TimeSpan, true
	}
	return types.Invalid, false
}

// call analyses a function call: builtins, user functions, special forms.
func (a *analyzer) call(e *env, sc *scope, c *ast.Call) (Expr, error) {
	name := c.Fun.Name
	// user functions shadow builtins
	if b := a.lookupFunction(e, name); b != nil {
		return a.scalarFunction(e, sc, b, c)
	}
	switch name {
	case "toscalar":
		if len(c.Args) != 1 {
			return nil, a.errf(c, "SEM0219", "toscalar expects one argument")
		}
		arg := c.Args[0]
		if !isTabularSyntax(arg) {
			if x, err := a.scalar(e, sc, arg); err == nil {
				return x, nil
			}
		}
		n, err := a.tabular(e, arg)
		if err != nil {
			return nil, err
		}
		return a.tabularScalar(c, n)
	case "now":
		var off Expr
		if len(c.Args) == 1 {
			x, err := a.scalar(e, sc, c.Args[0])
			if err != nil {
				return nil, err
			}
			off = x
		}
		now := DateTimeConst(a.opts.Now)
		if off != nil {
			return &Call{Fn: "+", Args: []Expr{now, off}, T: types.DateTime}, nil
		}
		return now, nil
	case "ago":
		if len(c.Args) != 1 {
			return nil, a.errf(c, "SEM0219", "ago expects one timespan argument")
		}
		x, err := a.scalar(e, sc, c.Args[0])
		if err != nil {
			return nil, err
		}
		if f := foldTime("-", DateTimeConst(a.opts.Now), x); f != nil {
			return f, nil
		}
		return &Call{Fn: "-", Args: []Expr{DateTimeConst(a.opts.Now), x}, T: types.DateTime}, nil
	case "column_ifexists":
		if len(c.Args) != 2 {
			return nil, a.errf(c, "SEM0219", "column_ifexists expects a column name and a default value")
		}
		n, err := a.constString(e, c.Args[0])
		if err != nil {
			return nil, err
		}
		if col, ok := sc.column(n); ok {
			return &ColumnRef{Name: col.Name, T: col.Type}, nil
		}
		return a.scalar(e, sc, c.Args[1])
	case "ingestion_time":
		if col, ok := sc.column(schema.ExtentColumn); ok {
			return &Call{Fn: "ingestion_time", Args: []Expr{&ColumnRef{Name: col.Name, T: col.Type}}, T: types.DateTime}, nil
		}
		return &Const{T: types.DateTime}, nil
	case "column_names_of":
		if len(c.Args) == 1 {
			n, err := a.tabular(e, c.Args[0])
			if err != nil {
				return nil, err
			}
			var names []string
			for _, col := range visible(n.Schema()) {
				names = append(names, col.Name)
			}
			js, _ := json.Marshal(names)
			if names == nil {
				js = []byte("[]")
			}
			return &Const{V: string(js), T: types.Dynamic}, nil
		}
	case "pack_all":
		var args []Expr
		for _, col := range sc.cols {
			if col.Name == schema.ExtentColumn {
				continue
			}
			args = append(args, &Const{V: col.Name, T: types.String}, &ColumnRef{Name: col.Name, T: col.Type})
		}
		return &Call{Fn: "bag_pack", Args: args, T: types.Dynamic}, nil
	case "typeof":
		// typeof(T) names a type for extract(..., typeof(T)) and friends
		if len(c.Args) == 1 {
			if id, ok := c.Args[0].(*ast.Ident); ok {
				if t, ok := types.Parse(id.Name); ok {
					return &TypeArg{T: t}, nil
				}
			}
		}
		return nil, a.errf(c, "SEM0007", "typeof() expects a type name")
	}
	canon := builtins.Canonical(name)
	f, ok := builtins.Lookup(name)
	if !ok {
		return nil, a.errf(c, "SEM0260", "Unknown function: '%s'", name)
	}
	if len(c.Args) < f.Min || (f.Max >= 0 && len(c.Args) > f.Max) {
		return nil, a.errf(c, "SEM0219", "Function '%s' expects between %d and %d arguments, got %d", name, f.Min, f.Max, len(c.Args))
	}
	if f.Kind == builtins.Aggregate && (sc == nil || !sc.aggs) {
		return nil, a.errf(c, "SEM0005", "Aggregate function '%s' is only allowed in summarize (and make-series)", name)
	}
	if f.Kind == builtins.Window && sc != nil {
		sc.window = true
	}
	argScope := sc
	if f.Kind == builtins.Aggregate {
		// aggregates do not nest
		inner := *sc
		inner.aggs = false
		argScope = &inner
	}
	args := make([]Expr, len(c.Args))
	for i, arg := range c.Args {
		x, err := a.scalar(e, argScope, arg)
		if err != nil {
			return nil, err
		}
		args[i] = x
	}
	if argScope != sc && argScope.window {
		sc.window = true
	}
	ats := make([]types.Type, len(args))
	for i, x := range args {
		ats[i] = x.Type()
	}
	t := f.Result(ats)
	if err := a.checkArgs(c, canon, args); err != nil {
		return nil, err
	}
	if t == types.Int && (canon == "sum" || canon == "sumif") {
		t = types.Long
	}
	if canon == "extract" && len(args) == 4 {
		if ta, ok := args[3].(*TypeArg); ok {
			t = ta.T
		}
	}
	return &Call{Fn: canon, Args: args, T: t}, nil
}

// checkArgs applies the type checks users hit most often.
func (a *analyzer) checkArgs(c *ast.Call, fn string, args []Expr) error {
	switch fn {
	case "sum", "avg", "sumif", "avgif", "stdev", "variance", "abs", "sqrt", "log", "exp", "round", "ceiling":
		if t := args[0].Type(); t == types.String || t == types.Bool && fn != "sum" {
			return a.errf(c, "SEM0003", "Function '%s' needs a numeric argument, found %s", fn, t)
		}
	case "strlen", "toupper", "tolower":
		// Kusto converts any scalar to string here.
	case "iff":
		if t := args[0].Type(); t != types.Bool && t != types.Dynamic {
			return a.errf(c, "SEM0003", "The first argument of iff() must be bool, found %s", t)
		}
	}
	return nil
}

func (a *analyzer) scalarFunction(e *env, sc *scope, b *binding, c *ast.Call) (Expr, error) {
	fe, err := a.bindArgs(b, c, e, nil, sc)
	defer func() { a.callDepth-- }()
	if err != nil {
		return nil, err
	}
	var result Expr
	for _, st := range b.fn.Body.Stmts {
		switch s := st.(type) {
		case *ast.LetStmt:
			if err := a.let(fe, s); err != nil {
				return nil, err
			}
		case *ast.ExprStmt:
			if isTabularSyntax(s.X) {
				n, err := a.tabular(fe, s.X)
				if err != nil {
					return nil, err
				}
				return a.tabularScalar(c, n)
			}
			x, err := a.scalar(fe, sc, s.X)
			if err != nil {
				return nil, err
			}
			result = x
		}
	}
	if result == nil {
		return nil, a.errf(c, "SEM0100", "Function '%s' has no result expression", b.fnName)
	}
	return result, nil
}

// exprName is the column name Kusto derives from an expression: the column
// itself, or the column under a conversion or binning function.
func exprName(x Expr) string {
	switch v := x.(type) {
	case *ColumnRef:
		return v.Name
	case *Const:
		return v.Name
	case *Call:
		switch v.Fn {
		case "_index":
			base := exprName(v.Args[0])
			if base == "" {
				return ""
			}
			if k, ok := v.Args[1].(*Const); ok {
				if s, ok := k.V.(string); ok {
					return base + "_" + s
				}
				return fmt.Sprintf("%s_%v", base, k.V)
			}
			// An index computed per row has no name of its own: Kusto
			// names it with a fresh GUID (d[k] → d___obj_<guid>).
			return base + "___obj_" + uuid.NewString()
		case "bin", "floor", "bin_at", "tostring", "toint", "tolong", "toreal", "todecimal", "tobool", "todatetime",
			"totimespan", "toguid", "todynamic", "startofday", "startofweek", "startofmonth", "startofyear":
			if len(v.Args) > 0 {
				return exprName(v.Args[0])
			}
		}
	}
	return ""
}

// columnIn returns the names of columns an expression reads.
func columnsIn(x Expr, out map[string]bool) {
	switch v := x.(type) {
	case *ColumnRef:
		out[v.Name] = true
	case *Call:
		for _, a := range v.Args {
			columnsIn(a, out)
		}
	case *List:
		for _, a := range v.Items {
			columnsIn(a, out)
		}
	}
}
