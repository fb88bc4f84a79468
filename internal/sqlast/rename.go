package sqlast

// Rename rewrites every column name and column alias in q with f, except
// names marked Raw (stored columns, final output names). The compiler uses
// it to keep Kusto's case-sensitive names apart, since DuckDB matches
// identifiers case-insensitively.
func Rename(q *Select, f func(string) string) {
	r := renamer{f}
	r.sel(q)
}

type renamer struct{ f func(string) string }

func (r renamer) sel(q *Select) {
	if q == nil {
		return
	}
	for i := range q.With {
		r.sel(q.With[i].Q)
	}
	for i := range q.Items {
		r.expr(q.Items[i].X)
		if q.Items[i].Alias != "" && !q.Items[i].RawAlias {
			q.Items[i].Alias = r.f(q.Items[i].Alias)
		}
	}
	r.from(q.From)
	r.expr(q.Where)
	for _, g := range q.GroupBy {
		r.expr(g)
	}
	r.expr(q.Having)
	r.expr(q.Qualify)
	r.order(q.OrderBy)
	r.expr(q.Limit)
	r.sel(q.Next)
}

func (r renamer) order(items []OrderItem) {
	for _, o := range items {
		r.expr(o.X)
	}
}

func (r renamer) from(f From) {
	switch v := f.(type) {
	case *SubFrom:
		r.sel(v.Q)
	case *Join:
		r.from(v.L)
		r.from(v.R)
		r.expr(v.On)
	case *Values:
		for _, row := range v.Rows {
			for _, x := range row {
				r.expr(x)
			}
		}
		for i := range v.Columns {
			v.Columns[i] = r.f(v.Columns[i])
		}
	case *FuncFrom:
		r.expr(v.Call)
		for i := range v.Columns {
			v.Columns[i] = r.f(v.Columns[i])
		}
	}
}

func (r renamer) expr(e Expr) {
	switch v := e.(type) {
	case *Col:
		if !v.Raw {
			v.Name = r.f(v.Name)
		}
	case *Call:
		for _, a := range v.Args {
			r.expr(a)
		}
		r.order(v.OrderBy)
		r.expr(v.Filter)
		if v.Over != nil {
			for _, p := range v.Over.PartitionBy {
				r.expr(p)
			}
			r.order(v.Over.OrderBy)
		}
	case *Bin:
		r.expr(v.L)
		r.expr(v.R)
	case *Unary:
		r.expr(v.X)
	case *Cast:
		r.expr(v.X)
	case *Case:
		for _, w := range v.Whens {
			r.expr(w.Cond)
			r.expr(w.Then)
		}
		r.expr(v.Else)
	case *Template:
		for _, a := range v.Args {
			r.expr(a)
		}
	case *In:
		r.expr(v.X)
		for _, a := range v.List {
			r.expr(a)
		}
		r.sel(v.Sub)
	case *Subquery:
		r.sel(v.Q)
	case *Star:
		for i := range v.Exclude {
			v.Exclude[i] = r.f(v.Exclude[i])
		}
	}
}
