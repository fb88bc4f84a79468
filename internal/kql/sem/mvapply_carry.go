package sem

// mv-apply carries the input row's columns through its subquery's
// summarize as take_any(column) per row id (see keepPartition), so that the
// output has them without joining back. When the operator right after the
// mv-apply is a summarize that reads none of some carried columns, carrying
// them is wasted work (DuckDB does not drop the unused aggregates: about a
// tenth of the benchmark's mv-apply query). withoutUnusedCarry gives that
// summarize an input that carries only what it reads. It builds new nodes
// and leaves the mv-apply's own nodes alone, which a let or as may share.
func withoutUnusedCarry(n Node) Node {
	agg, ok := n.(*Aggregate)
	if !ok {
		return n
	}
	out, ok := agg.In.(*Project)
	if !ok {
		return n
	}
	inner, ok := out.In.(*Aggregate)
	if !ok || len(inner.Keys) == 0 || inner.Keys[0].Name != mvApplyRowID {
		return n
	}
	read := map[string]bool{}
	for _, it := range append(append([]Item{}, agg.Keys...), agg.Aggs...) {
		if !columnsRead(it.X, read) {
			return n
		}
	}
	carried := map[string]bool{}
	for _, it := range inner.Aggs {
		if c, ok := it.X.(*Call); ok && c.Fn == "take_any" && len(c.Args) == 1 {
			if r, ok := c.Args[0].(*ColumnRef); ok && r.Name == it.Name {
				carried[it.Name] = true
			}
		}
	}
	drop := map[string]bool{}
	for _, it := range out.Items {
		if r, ok := it.X.(*ColumnRef); ok && carried[r.Name] && r.Name == it.Name && !read[it.Name] {
			drop[it.Name] = true
		}
	}
	if len(drop) == 0 || len(drop) == len(out.Items) {
		return n
	}
	slim := *inner
	slim.Aggs, slim.Cols = nil, nil
	for _, it := range inner.Aggs {
		if !drop[it.Name] {
			slim.Aggs = append(slim.Aggs, it)
		}
	}
	for _, c := range inner.Cols {
		if !drop[c.Name] {
			slim.Cols = append(slim.Cols, c)
		}
	}
	proj := &Project{In: &slim, Window: out.Window}
	for _, it := range out.Items {
		if !drop[it.Name] {
			proj.Items = append(proj.Items, it)
		}
	}
	pruned := *agg
	pruned.In = proj
	return &pruned
}

// columnsRead adds the columns x reads to read; false when x holds
// something whose reads it cannot tell (then nothing may be dropped).
func columnsRead(x Expr, read map[string]bool) bool {
	switch v := x.(type) {
	case nil, *Const, *TypeArg:
		return true
	case *ColumnRef:
		read[v.Name] = true
		return true
	case *Call:
		for _, a := range v.Args {
			if !columnsRead(a, read) {
				return false
			}
		}
		return true
	case *List:
		for _, it := range v.Items {
			if !columnsRead(it, read) {
				return false
			}
		}
		return true
	}
	return false
}
