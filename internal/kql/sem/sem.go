package sem

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"odx/internal/kerr"
	"odx/internal/kql/ast"
	"odx/internal/kql/parser"
	"odx/internal/kql/schema"
	"odx/internal/kql/token"
	"odx/internal/kql/types"
)

// Options is what the analysis needs besides the query text.
type Options struct {
	Database   string
	Catalog    schema.Catalog
	Parameters map[string]string
	Now        time.Time
}

// binding is what a name declared by let, a parameter or `as` stands for.
type binding struct {
	scalar Expr
	table  Node
	fn     *ast.FuncDecl
	fnEnv  *env
	fnName string
}

type env struct {
	parent *env
	vars   map[string]*binding
}

func (e *env) lookup(name string) *binding {
	for ; e != nil; e = e.parent {
		if b, ok := e.vars[name]; ok {
			return b
		}
	}
	return nil
}

func (e *env) child() *env { return &env{parent: e, vars: map[string]*binding{}} }

type analyzer struct {
	opts      Options
	src       *token.Source
	env       *env
	props     map[string]any
	options   map[string]any
	extent    bool // the query uses ingestion_time(): scans carry the extent column
	callDepth int
	// partition is the hidden row-id column while analysing an mv-apply
	// subquery: its operators work per input row.
	partition string
	// partitionT is the partition column's type (long for mv-apply's row id)
	partitionT types.Type
	carry      []schema.Column // the input row's columns, carried through the subquery
	// databases are the databases whose entities the query reads, for authorization.
	databases map[string]bool
}

// Analyze checks a parsed script and returns its typed plan. src maps
// positions to line:column for error messages.
func Analyze(script *ast.Script, src *token.Source, opts Options) (res *Result, err error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC()
	}
	a := &analyzer{opts: opts, src: src, env: (&env{}).child(), props: map[string]any{}, options: map[string]any{}, databases: map[string]bool{}}
	a.extent = strings.Contains(src.Text, "ingestion_time")
	var plan Node
	for _, st := range script.Stmts {
		switch s := st.(type) {
		case *ast.LetStmt:
			if err := a.let(a.env, s); err != nil {
				return nil, err
			}
		case *ast.DeclareParamsStmt:
			if err := a.declare(s); err != nil {
				return nil, err
			}
		case *ast.SetStmt:
			var v any = true
			if s.Value != nil {
				if lit, ok := s.Value.(*ast.Literal); ok {
					v = lit.Value
				} else {
					v = s.Value.String()
				}
			}
			a.options[s.Name] = v
		case *ast.ExprStmt:
			n, err := a.tabular(a.env, s.X)
			if err != nil {
				return nil, err
			}
			if plan == nil {
				plan = n
			}
		}
	}
	if plan == nil {
		return nil, kerr.Semantic("SEM0001", 0, 0, "The query has no tabular expression to return; add a query after the let statements")
	}
	dbs := make([]string, 0, len(a.databases))
	for db := range a.databases {
		dbs = append(dbs, db)
	}
	sort.Strings(dbs)
	return &Result{Plan: plan, Properties: a.props, Options: a.options, Databases: dbs}, nil
}

func (a *analyzer) errf(n ast.Node, sem string, format string, args ...any) *kerr.Error {
	line, col := 0, 0
	if n != nil {
		line, col = a.src.Position(n.Pos())
	}
	return kerr.Semantic(sem, line, col, format, args...)
}

func (a *analyzer) let(e *env, s *ast.LetStmt) error {
	name := s.Name.Name
	if fn, ok := s.Value.(*ast.FuncDecl); ok {
		e.vars[name] = &binding{fn: fn, fnEnv: e, fnName: name}
		return nil
	}
	// A let value is tabular or scalar; try scalar first only for obviously scalar forms.
	if isTabularSyntax(s.Value) {
		n, err := a.tabular(e, s.Value)
		if err != nil {
			return err
		}
		e.vars[name] = &binding{table: n}
		return nil
	}
	x, err := a.scalar(e, nil, s.Value)
	if err != nil {
		// The value may be a tabular reference (let T2 = T1).
		if n, terr := a.tabular(e, s.Value); terr == nil {
			e.vars[name] = &binding{table: n}
			return nil
		}
		return err
	}
	e.vars[name] = &binding{scalar: x}
	return nil
}

// isTabularSyntax reports expressions that can only be tabular.
func isTabularSyntax(x ast.Expr) bool {
	switch v := x.(type) {
	case *ast.Pipe, *ast.Datatable, *ast.Source:
		return true
	case *ast.Paren:
		return isTabularSyntax(v.X)
	case *ast.Call:
		switch v.Fun.Name {
		case "materialize", "table", "view":
			return true
		}
	case *ast.Member:
		if c, ok := v.X.(*ast.Call); ok && c.Fun.Name == "database" {
			return true
		}
	}
	return false
}

func (a *analyzer) declare(s *ast.DeclareParamsStmt) error {
	for _, p := range s.Params {
		t, ok := types.Parse(p.Type)
		if !ok {
			return a.errf(p, "SEM0007", "Unknown type '%s' for query parameter '%s'", p.Type, p.Name.Name)
		}
		raw, given := a.opts.Parameters[p.Name.Name]
		var x Expr
		switch {
		case given:
			c, err := ParseValue(raw, t)
			if err != nil {
				return kerr.BadRequestf("Query parameter '%s' is not a valid %s: %v", p.Name.Name, t, err)
			}
			x = c
		case p.Default != nil:
			d, err := a.scalar(a.env, nil, p.Default)
			if err != nil {
				return err
			}
			x = d
		default:
			return kerr.BadRequestf("Query parameter '%s' was declared but no value was given and it has no default", p.Name.Name)
		}
		a.env.vars[p.Name.Name] = &binding{scalar: convertConst(x, t)}
	}
	return nil
}

// ParseValue parses a client-supplied parameter value as a constant of type t.
// Values may be KQL literal text (datetime(2020-01-01), 10m, "a") or plain text.
func ParseValue(raw string, t types.Type) (*Const, error) {
	if t == types.String {
		if sc, errs := parser.ParseScript(raw); len(errs) == 0 && len(sc.Stmts) == 1 {
			if es, ok := sc.Stmts[0].(*ast.ExprStmt); ok {
				if lit, ok := es.X.(*ast.Literal); ok && lit.Kind == ast.LitString {
					return &Const{V: lit.Value, T: types.String}, nil
				}
			}
		}
		return &Const{V: raw, T: types.String}, nil
	}
	text := strings.TrimSpace(raw)
	if sc, errs := parser.ParseScript(text); len(errs) == 0 && len(sc.Stmts) == 1 {
		if es, ok := sc.Stmts[0].(*ast.ExprStmt); ok {
			x := es.X
			neg := false
			if u, ok := x.(*ast.Unary); ok && u.Op == "-" {
				neg, x = true, u.X
			}
			if lit, ok := x.(*ast.Literal); ok && lit.Kind != ast.LitString {
				c, err := literal(lit)
				if err == nil {
					if neg {
						c = negate(c)
					}
					return convertConst(c, t).(*Const), nil
				}
			}
		}
	}
	c, err := typedLiteral(t.String(), text)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// convertConst adjusts a constant's Go value to type t where the conversion is lossless.
func convertConst(x Expr, t types.Type) Expr {
	c, ok := x.(*Const)
	if !ok || c.T == t {
		return x
	}
	switch v := c.V.(type) {
	case nil:
		return &Const{V: nil, T: t}
	case int64:
		switch t {
		case types.Int:
			return &Const{V: int32(v), T: t}
		case types.Real:
			return &Const{V: float64(v), T: t}
		case types.Long, types.TimeSpan:
			return &Const{V: v, T: t}
		}
	case int32:
		if t == types.Long {
			return &Const{V: int64(v), T: t}
		}
	}
	return x
}

// ----- tabular expressions -----

func (a *analyzer) tabular(e *env, x ast.Expr) (Node, error) {
	switch v := x.(type) {
	case *ast.Paren:
		return a.tabular(e, v.X)
	case *ast.Pipe:
		in, err := a.tabular(e, v.X)
		if err != nil {
			return nil, err
		}
		return a.operator(e, in, v.Op)
	case *ast.Datatable:
		return a.datatable(e, v)
	case *ast.Source:
		return a.source(e, v)
	case *ast.Ident:
		return a.tableByName(e, v, v.Name)
	case *ast.Member:
		if c, ok := v.X.(*ast.Call); ok && c.Fun.Name == "database" && len(c.Args) >= 1 {
			db, err := a.constString(e, c.Args[len(c.Args)-1])
			if err != nil {
				return nil, err
			}
			return a.catalogTable(v, db, v.Name.Name)
		}
	case *ast.Call:
		switch v.Fun.Name {
		case "table", "view":
			if len(v.Args) >= 1 {
				name, err := a.constString(e, v.Args[0])
				if err != nil {
					return nil, err
				}
				return a.tableByName(e, v, name)
			}
		case "materialize":
			if len(v.Args) == 1 {
				return a.tabular(e, v.Args[0])
			}
		}
		return a.callTabularFunction(e, v, nil)
	}
	return nil, a.errf(x, "SEM0100", "Expected a tabular expression, found '%s'", x.String())
}

func (a *analyzer) constString(e *env, x ast.Expr) (string, error) {
	c, err := a.scalar(e, nil, x)
	if err != nil {
		return "", err
	}
	k, ok := c.(*Const)
	if !ok || k.T != types.String {
		return "", a.errf(x, "SEM0078", "Expected a constant string, found '%s'", x.String())
	}
	s, _ := k.V.(string)
	return s, nil
}

func (a *analyzer) tableByName(e *env, at ast.Node, name string) (Node, error) {
	if b := e.lookup(name); b != nil {
		switch {
		case b.table != nil:
			return b.table, nil
		case b.fn != nil && len(b.fn.Params) == 0:
			return a.expandFunction(b, &ast.Call{Span: ast.Span{From: at.Pos(), To: at.End()}, Fun: &ast.Ident{Name: name}}, nil)
		}
	}
	return a.catalogTable(at, a.opts.Database, name)
}

func (a *analyzer) catalogTable(at ast.Node, dbName, name string) (Node, error) {
	if a.opts.Catalog != nil {
		if db, ok := a.opts.Catalog.Database(dbName); ok {
			a.databases[db.Name()] = true
			if t, ok := db.Table(name); ok {
				cols := append([]schema.Column(nil), t.Columns()...)
				if a.extent {
					cols = append(cols, schema.Column{Name: schema.ExtentColumn, Type: types.Guid}) // storage keeps extent ids as UUID
				}
				return &Scan{Table: t, Cols: cols, Extent: a.extent}, nil
			}
			if f, ok := db.Function(name); ok {
				fn, errs := parser.ParseFunction(f.Parameters, f.Body)
				if len(errs) > 0 {
					return nil, a.errf(at, "SEM0101", "Stored function '%s' does not parse: %v", name, errs)
				}
				if len(fn.Params) == 0 {
					return a.expandFunction(&binding{fn: fn, fnEnv: a.env, fnName: name}, &ast.Call{Fun: &ast.Ident{Name: name}}, nil)
				}
			}
		} else if dbName != "" && dbName != a.opts.Database {
			return nil, a.errf(at, "SEM0100", "Failed to resolve database '%s'", dbName)
		}
	}
	return nil, a.errf(at, "SEM0100", "Failed to resolve table or column expression named '%s'", name)
}

// lookupFunction finds a user (let) or stored function.
func (a *analyzer) lookupFunction(e *env, name string) *binding {
	if b := e.lookup(name); b != nil && b.fn != nil {
		return b
	}
	if a.opts.Catalog != nil {
		if db, ok := a.opts.Catalog.Database(a.opts.Database); ok {
			if f, ok := db.Function(name); ok {
				fn, errs := parser.ParseFunction(f.Parameters, f.Body)
				if len(errs) == 0 {
					a.databases[db.Name()] = true
					return &binding{fn: fn, fnEnv: a.env, fnName: name}
				}
			}
		}
	}
	return nil
}

func (a *analyzer) callTabularFunction(e *env, c *ast.Call, input Node) (Node, error) {
	b := a.lookupFunction(e, c.Fun.Name)
	if b == nil {
		return nil, a.errf(c, "SEM0100", "Failed to resolve table or function named '%s'", c.Fun.Name)
	}
	return a.expandFunction(b, c, input)
}

// bindArgs binds a user function's parameters to call arguments in a new scope.
// Functions are expanded at each call, like macros, so tabular and scalar
// arguments both work and types follow the actual arguments.
func (a *analyzer) bindArgs(b *binding, c *ast.Call, callerEnv *env, input Node, callerScope *scope) (*env, error) {
	a.callDepth++
	if a.callDepth > 50 {
		return nil, a.errf(c, "SEM0400", "Function '%s' calls itself too deeply; recursion is not supported", b.fnName)
	}
	fe := b.fnEnv.child()
	args := c.Args
	params := b.fn.Params
	if input != nil && len(params) > 0 && params[0].Tabular {
		fe.vars[params[0].Name.Name] = &binding{table: input}
		params = params[1:]
	}
	if len(args) > len(params) {
		return nil, a.errf(c, "SEM0219", "Function '%s' expects %d arguments, got %d", b.fnName, len(params), len(args))
	}
	for i, p := range params {
		var arg ast.Expr
		argEnv := callerEnv
		if i < len(args) {
			arg = args[i]
			if ne, ok := arg.(*ast.NamedExpr); ok {
				arg = ne.X
			}
		} else if p.Default != nil {
			arg = p.Default
			argEnv = b.fnEnv
		} else {
			return nil, a.errf(c, "SEM0219", "Function '%s' needs a value for parameter '%s'", b.fnName, p.Name.Name)
		}
		if p.Tabular {
			n, err := a.tabular(argEnv, arg)
			if err != nil {
				return nil, err
			}
			fe.vars[p.Name.Name] = &binding{table: n}
			continue
		}
		var sc *scope
		if argEnv == callerEnv {
			sc = callerScope
		}
		x, err := a.scalar(argEnv, sc, arg)
		if err != nil {
			return nil, err
		}
		if t, ok := types.Parse(p.Type); ok && x.Type() != t {
			x = convertConst(x, t)
			if x.Type() != t && x.Type().Numeric() && t.Numeric() {
				x = &Call{Fn: "to" + t.String(), Args: []Expr{x}, T: t}
			}
		}
		fe.vars[p.Name.Name] = &binding{scalar: x}
	}
	return fe, nil
}

func (a *analyzer) expandFunction(b *binding, c *ast.Call, input Node) (Node, error) {
	fe, err := a.bindArgs(b, c, a.env, input, nil)
	defer func() { a.callDepth-- }()
	if err != nil {
		return nil, err
	}
	var result Node
	for _, st := range b.fn.Body.Stmts {
		switch s := st.(type) {
		case *ast.LetStmt:
			if err := a.let(fe, s); err != nil {
				return nil, err
			}
		case *ast.ExprStmt:
			n, err := a.tabular(fe, s.X)
			if err != nil {
				return nil, err
			}
			result = n
		}
	}
	if result == nil {
		return nil, a.errf(c, "SEM0100", "Function '%s' does not return a table", b.fnName)
	}
	return result, nil
}

func (a *analyzer) datatable(e *env, d *ast.Datatable) (Node, error) {
	cols := make([]schema.Column, len(d.Columns))
	for i, c := range d.Columns {
		t, ok := types.Parse(c.Type)
		if !ok {
			return nil, a.errf(c, "SEM0007", "Unknown type '%s' of column '%s'", c.Type, c.Name.Name)
		}
		cols[i] = schema.Column{Name: c.Name.Name, Type: t}
	}
	if len(cols) == 0 {
		return nil, a.errf(d, "SEM0007", "datatable needs at least one column")
	}
	if len(d.Values)%len(cols) != 0 {
		return nil, a.errf(d, "SEM0008", "datatable has %d values, which is not a multiple of its %d columns", len(d.Values), len(cols))
	}
	v := &Values{Cols: cols}
	for i := 0; i < len(d.Values); i += len(cols) {
		row := make([]Expr, len(cols))
		for j := range cols {
			x, err := a.scalar(e, nil, d.Values[i+j])
			if err != nil {
				return nil, err
			}
			row[j] = coerceValue(x, cols[j].Type)
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

// coerceValue converts a datatable/print value to its column type.
func coerceValue(x Expr, t types.Type) Expr {
	if x.Type() == t {
		return x
	}
	x = convertConst(x, t)
	if x.Type() == t {
		return x
	}
	if c, ok := x.(*Const); ok && c.V == nil {
		return &Const{T: t}
	}
	return &Call{Fn: "to" + t.String(), Args: []Expr{x}, T: t}
}

func (a *analyzer) source(e *env, s *ast.Source) (Node, error) {
	switch op := s.Op.(type) {
	case *ast.Project: // print
		var items []Item
		used := map[string]bool{}
		for i, it := range op.Items {
			x, err := a.scalar(e, &scope{}, it.X)
			if err != nil {
				return nil, err
			}
			if multi, ok := expandMulti(x, it.Names); ok {
				for _, m := range multi {
					items = append(items, Item{Name: uniqueName(m.Name, used), X: m.X})
				}
				continue
			}
			name := fmt.Sprintf("print_%d", i)
			if len(it.Names) > 0 {
				name = it.Names[0].Name
			}
			items = append(items, Item{Name: uniqueName(name, used), X: x})
		}
		cols := make([]schema.Column, len(items))
		row := make([]Expr, len(items))
		for i, it := range items {
			cols[i] = schema.Column{Name: it.Name, Type: it.X.Type()}
			row[i] = it.X
		}
		return &Values{Cols: cols, Rows: [][]Expr{row}}, nil
	case *ast.Range:
		from, err := a.scalar(e, nil, op.From)
		if err != nil {
			return nil, err
		}
		to, err := a.scalar(e, nil, op.To)
		if err != nil {
			return nil, err
		}
		step, err := a.scalar(e, nil, op.Step)
		if err != nil {
			return nil, err
		}
		t := from.Type()
		if t == types.Int {
			t = types.Long
		}
		if !(t == types.Long || t == types.Real || t == types.DateTime || t == types.TimeSpan || t == types.Decimal) {
			return nil, a.errf(op.From, "SEM0050", "range start must be a number, datetime or timespan, found %s", t)
		}
		return &Range{Col: schema.Column{Name: op.Col.Name, Type: t}, From: from, To: to, Step: step}, nil
	case *ast.Union:
		return a.union(e, nil, op)
	case *ast.Find:
		return a.find(e, op)
	}
	return nil, a.errf(s, "SEM0100", "Unsupported tabular source")
}

// uniqueName returns name, or name1, name2, ... if it is taken; it records the result.
func uniqueName(name string, used map[string]bool) string {
	n := name
	for i := 1; used[n]; i++ {
		n = fmt.Sprintf("%s%d", name, i)
	}
	used[n] = true
	return n
}
