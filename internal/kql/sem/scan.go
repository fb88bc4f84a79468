package sem

import (
	"slices"

	"odx/internal/kql/ast"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// ScanStep is one step of a scan: its condition and assignments are
// analysed once and read the row (Side "row"), a step's state
// (Side "step<j>") or the evaluating step's own state (Side "state").
type ScanStep struct {
	Output string // "all", "last" or "none"
	Cond   Expr
	Assign map[string]Expr // declared variable → value; unassigned ones take their default
}

// scan checks `scan [with_match_id=Id] [declare (...)] with (step ...; ...)`.
// The output is the input columns, the declared variables and the match id.
func (a *analyzer) scan(e *env, in Node, o *ast.Scan) (Node, error) {
	if len(o.Steps) == 0 {
		return nil, a.errf(o, "SEM0180", "scan needs at least one step")
	}
	n := &ScanOp{In: in}
	inCols := visible(in.Schema())
	var declared []schema.Column
	for _, d := range o.Declare {
		t, ok := types.Parse(d.Type)
		if !ok {
			return nil, a.errf(d, "SEM0007", "Unknown type '%s' for scan variable '%s'", d.Type, d.Name.Name)
		}
		if _, clash := findCol(inCols, d.Name.Name); clash {
			return nil, a.errf(d, "SEM0182", "scan variable '%s' has the name of an input column", d.Name.Name)
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
		declared = append(declared, schema.Column{Name: d.Name.Name, Type: t})
	}
	sc := &scope{cols: inCols, state: append(append([]schema.Column{}, inCols...), declared...), declared: declared}
	for _, st := range o.Steps {
		if slices.Contains(sc.steps, st.Name.Name) {
			return nil, a.errf(st.Name, "SEM0183", "scan step name '%s' is used twice; step names must be unique", st.Name.Name)
		}
		sc.steps = append(sc.steps, st.Name.Name)
	}
	tracked := map[string]bool{}
	for _, st := range o.Steps {
		step := ScanStep{Output: st.Output, Assign: map[string]Expr{}}
		switch step.Output {
		case "":
			step.Output = "all"
		case "all", "last", "none":
		default:
			return nil, a.errf(st.Name, "SEM0184", "scan step output must be all, last or none, not '%s'", st.Output)
		}
		cond, err := a.scalar(e, sc, st.Cond)
		if err != nil {
			return nil, err
		}
		if t := cond.Type(); t != types.Bool && t != types.Dynamic {
			return nil, a.errf(st.Cond, "SEM0017", "A scan step condition must be bool, found %s", t)
		}
		step.Cond = scanSides(cond, tracked)
		for _, as := range st.Assign {
			if len(as.Names) != 1 {
				return nil, a.errf(as, "SEM0181", "A scan step assigns one variable at a time: name = expression")
			}
			v, ok := findCol(declared, as.Names[0].Name)
			if !ok {
				return nil, a.errf(as, "SEM0100", "'%s' is not a declared scan variable", as.Names[0].Name)
			}
			x, err := a.scalar(e, sc, as.X)
			if err != nil {
				return nil, err
			}
			step.Assign[v.Name] = coerceValue(scanSides(x, tracked), v.Type)
		}
		n.Steps = append(n.Steps, step)
	}
	for _, c := range sc.state {
		if tracked[c.Name] {
			n.Tracked = append(n.Tracked, c)
		}
	}
	n.Cols = append(append([]schema.Column{}, inCols...), declared...)
	if o.MatchID != nil {
		n.MatchID = o.MatchID.Name
		n.Cols = append(n.Cols, schema.Column{Name: n.MatchID, Type: types.Long})
	}
	return n, nil
}

// scanSides marks plain column references as reads of the current row and
// notes which columns are read through a state.
func scanSides(x Expr, tracked map[string]bool) Expr {
	switch v := x.(type) {
	case *ColumnRef:
		if v.Side == "" {
			return &ColumnRef{Name: v.Name, T: v.T, Side: "row"}
		}
		tracked[v.Name] = true
	case *Call:
		args := make([]Expr, len(v.Args))
		for i, a := range v.Args {
			args[i] = scanSides(a, tracked)
		}
		return &Call{Fn: v.Fn, Args: args, T: v.T}
	case *List:
		items := make([]Expr, len(v.Items))
		for i, it := range v.Items {
			items[i] = scanSides(it, tracked)
		}
		c := *v
		c.Items = items
		return &c
	}
	return x
}
