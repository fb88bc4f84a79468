package sem

import (
	"odx/internal/kql/ast"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// scan checks a scan with a single step (sequences of several steps are not
// supported yet): the output is the input columns and the declared variables.
func (a *analyzer) scan(e *env, in Node, o *ast.Scan) (Node, error) {
	if len(o.Steps) != 1 {
		return nil, a.errf(o, "SEM0180", "scan with %d steps is not supported yet; use a single step", len(o.Steps))
	}
	step := o.Steps[0]
	n := &ScanOp{In: in, Assign: map[string]Expr{}}
	var state []schema.Column
	for _, d := range o.Declare {
		t, ok := types.Parse(d.Type)
		if !ok {
			return nil, a.errf(d, "SEM0007", "Unknown type '%s' for scan variable '%s'", d.Type, d.Name.Name)
		}
		var init Expr = &Const{T: t}
		if d.Default != nil {
			x, err := a.scalar(e, nil, d.Default)
			if err != nil {
				return nil, err
			}
			init = coerceValue(x, t)
		}
		n.Vars = append(n.Vars, Item{Name: d.Name.Name, X: init})
		state = append(state, schema.Column{Name: d.Name.Name, Type: t})
	}
	sc := &scope{cols: visible(in.Schema()), stepName: step.Name.Name, state: state}
	cond, err := a.scalar(e, sc, step.Cond)
	if err != nil {
		return nil, err
	}
	n.Cond = rowSide(cond)
	for _, as := range step.Assign {
		if len(as.Names) != 1 {
			return nil, a.errf(as, "SEM0181", "A scan step assigns one variable at a time: name = expression")
		}
		v, ok := findCol(state, as.Names[0].Name)
		if !ok {
			return nil, a.errf(as, "SEM0100", "'%s' is not a declared scan variable", as.Names[0].Name)
		}
		x, err := a.scalar(e, sc, as.X)
		if err != nil {
			return nil, err
		}
		n.Assign[v.Name] = coerceValue(rowSide(x), v.Type)
	}
	n.Cols = append(visible(in.Schema()), state...)
	return n, nil
}

// rowSide marks plain column references as reads of the current row.
func rowSide(x Expr) Expr {
	switch v := x.(type) {
	case *ColumnRef:
		if v.Side == "" {
			return &ColumnRef{Name: v.Name, T: v.T, Side: "row"}
		}
	case *Call:
		args := make([]Expr, len(v.Args))
		for i, a := range v.Args {
			args[i] = rowSide(a)
		}
		return &Call{Fn: v.Fn, Args: args, T: v.T}
	}
	return x
}
