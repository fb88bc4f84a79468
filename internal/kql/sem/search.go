package sem

import (
	"strings"

	"odx/internal/kql/ast"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// search filters rows with a predicate in which each bare string literal
// means "some column has this term"; the output starts with a $table column
// naming the input.
func (a *analyzer) search(e *env, in Node, o *ast.Search) (Node, error) {
	op := "has"
	if strings.EqualFold(paramValue(o.Params, "kind"), "case_sensitive") {
		op = "has_cs"
	}
	cols := visible(in.Schema())
	var termMatch func(x ast.Expr) ast.Expr
	termMatch = func(x ast.Expr) ast.Expr {
		switch v := x.(type) {
		case *ast.Literal:
			if v.Kind != ast.LitString {
				return x
			}
			term, termOp := v.Value, op
			if strings.HasSuffix(term, "*") && !strings.HasPrefix(term, "*") {
				term, termOp = strings.TrimSuffix(term, "*"), "hasprefix"
			}
			var or ast.Expr
			for _, c := range cols {
				if c.Type != types.String && c.Type != types.Dynamic {
					continue
				}
				m := &ast.Binary{Span: v.Span, Op: termOp, X: &ast.Ident{Span: v.Span, Name: c.Name},
					Y: &ast.Literal{Span: v.Span, Kind: ast.LitString, Text: ast.QuoteString(term), Value: term}}
				if or == nil {
					or = m
				} else {
					or = &ast.Binary{Span: v.Span, Op: "or", X: or, Y: m}
				}
			}
			if or == nil {
				return &ast.Literal{Span: v.Span, Kind: ast.LitBool, Text: "false", Value: "false"}
			}
			return &ast.Paren{Span: v.Span, X: or}
		case *ast.Binary:
			if v.Op == "and" || v.Op == "or" {
				return &ast.Binary{Span: v.Span, Op: v.Op, X: termMatch(v.X), Y: termMatch(v.Y)}
			}
		case *ast.Paren:
			return &ast.Paren{Span: v.Span, X: termMatch(v.X)}
		case *ast.Call:
			if v.Fun.Name == "not" && len(v.Args) == 1 {
				return &ast.Call{Span: v.Span, Fun: v.Fun, Args: []ast.Expr{termMatch(v.Args[0])}}
			}
		}
		return x
	}
	pred, err := a.scalar(e, rowScope(in), termMatch(o.Pred))
	if err != nil {
		return nil, err
	}
	filtered := &Filter{In: in, Pred: pred}
	items := []Item{{Name: "$table", X: &Const{V: "search_arg0", T: types.String}}}
	if s, ok := in.(*Scan); ok {
		items[0].X = &Const{V: s.Table.Name(), T: types.String}
	}
	for _, c := range in.Schema() {
		items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
	}
	return &Project{In: filtered, Items: items}, nil
}

// find searches several tables: find [withsource=Name] in (T1, ...) where
// Pred [| project Columns]. Its input is the outer union of the tables
// with a source column (source_ by default). Without project, the output
// is project-smart: the source, the columns every table has alike, the
// columns the predicate names, and pack_, a bag of the row's other
// non-null columns.
func (a *analyzer) find(e *env, o *ast.Find) (Node, error) {
	if len(o.Tables) == 0 {
		return nil, a.errf(o, "SEM0300", "find without 'in (tables)' is not supported yet; name the tables: find in (T1, T2) where ...")
	}
	src := paramValue(o.Params, "withsource")
	if src == "" {
		src = "source_"
	}
	un, err := a.union(e, nil, &ast.Union{Span: o.Span, Tables: o.Tables, Params: []ast.OpParam{
		{Name: "withsource", Value: &ast.Ident{Span: o.Span, Name: src}},
		{Name: "kind", Value: &ast.Ident{Span: o.Span, Name: "outer"}},
	}})
	if err != nil {
		return nil, err
	}
	if u := un.(*Union); len(u.SourceNames) == len(o.Tables) {
		// find names each row's table as written
		for i, t := range o.Tables {
			if id, ok := t.(*ast.Ident); ok {
				u.SourceNames[i] = id.Name
			}
		}
	}
	sc := rowScope(un)
	pred, err := a.scalar(e, sc, o.Pred)
	if err != nil {
		return nil, err
	}
	var in Node = &Filter{In: un, Pred: pred}
	items := []Item{{Name: src, X: &ColumnRef{Name: src, T: types.String}}}
	taken := map[string]bool{src: true}
	if o.Project != nil {
		for _, it := range o.Project {
			x, err := a.scalar(e, sc, it.X)
			if err != nil {
				return nil, err
			}
			name := exprName(x)
			if len(it.Names) > 0 {
				name = it.Names[0].Name
			} else if c, ok := x.(*Call); ok && c.Fn == "bag_pack" {
				name = "pack_"
			}
			items = append(items, Item{Name: name, X: x})
		}
		return &Project{In: in, Items: items}, nil
	}
	inputs := un.(*Union).Inputs
	common := func(c schema.Column) bool {
		for _, n := range inputs {
			if ic, ok := findCol(n.Schema(), c.Name); !ok || ic.Type != c.Type {
				return false
			}
		}
		return true
	}
	named := map[string]bool{}
	var walk func(x Expr)
	walk = func(x Expr) {
		switch v := x.(type) {
		case *ColumnRef:
			named[v.Name] = true
		case *Call:
			for _, arg := range v.Args {
				walk(arg)
			}
		}
	}
	walk(pred)
	var rest []Expr
	for _, c := range un.Schema() {
		if taken[c.Name] {
			continue
		}
		ref := &ColumnRef{Name: c.Name, T: c.Type}
		if common(c) || named[c.Name] {
			items = append(items, Item{Name: c.Name, X: ref})
			continue
		}
		rest = append(rest, &Const{V: c.Name, T: types.String}, ref)
	}
	items = append(items, Item{Name: "pack_", X: &Call{Fn: "_bag_pack_nonnull", Args: rest, T: types.Dynamic}})
	return &Project{In: in, Items: items}, nil
}
