package sem

import (
	"strings"

	"odx/internal/kql/ast"
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
