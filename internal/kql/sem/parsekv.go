package sem

import (
	"regexp"

	"odx/internal/kql/ast"
	"odx/internal/kql/types"
)

// parseKV extends the input with one column per requested key. Pairs are
// found by a regular expression with a key group and a value group, either
// given (regex=) or built from pair_delimiter and kv_delimiter; the first
// pair with a key wins.
func (a *analyzer) parseKV(e *env, in Node, o *ast.ParseKV) (Node, error) {
	sc := rowScope(in)
	x, err := a.scalar(e, sc, o.X)
	if err != nil {
		return nil, err
	}
	props := map[string]string{}
	for _, p := range o.Props {
		if len(p.Names) != 1 {
			return nil, a.errf(p, "SEM0160", "parse-kv properties are name = value")
		}
		v, err := a.constString(e, p.X)
		if err != nil {
			return nil, err
		}
		props[p.Names[0].Name] = v
	}
	re := props["regex"]
	if re == "" {
		pd, kvd := props["pair_delimiter"], props["kv_delimiter"]
		if pd == "" {
			pd = " "
		}
		if kvd == "" {
			kvd = "="
		}
		re = "([^" + regexp.QuoteMeta(pd+kvd) + "]+)" + regexp.QuoteMeta(kvd) + "([^" + regexp.QuoteMeta(pd) + "]*)"
	}
	if _, err := regexp.Compile(re); err != nil {
		return nil, a.errf(o, "SEM0140", "Invalid parse-kv regex: %v", err)
	}
	items := colRefs(in.Schema())
	for _, c := range o.Columns {
		t, ok := types.Parse(c.Type)
		if !ok {
			return nil, a.errf(c, "SEM0007", "Unknown type '%s'", c.Type)
		}
		var v Expr = &Call{Fn: "_kv_value", Args: []Expr{x, &Const{V: re, T: types.String}, &Const{V: c.Name.Name, T: types.String}}, T: types.String}
		if t != types.String {
			v = &Call{Fn: "to" + t.String(), Args: []Expr{v}, T: t}
		}
		replaced := false
		for i := range items {
			if items[i].Name == c.Name.Name {
				items[i].X, replaced = v, true
			}
		}
		if !replaced {
			items = append(items, Item{Name: c.Name.Name, X: v})
		}
	}
	return &Project{In: in, Items: items}, nil
}
