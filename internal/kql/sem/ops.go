package sem

import (
	"fmt"
	"regexp"
	"strings"

	"odx/internal/kerr"
	"odx/internal/kql/ast"
	"odx/internal/kql/builtins"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

func rowScope(n Node) *scope { return &scope{cols: n.Schema()} }

func paramValue(ps []ast.OpParam, name string) string {
	for _, p := range ps {
		if p.Name == name {
			switch v := p.Value.(type) {
			case *ast.Ident:
				return v.Name
			case *ast.Literal:
				return v.Value
			}
			return p.Value.String()
		}
	}
	return ""
}

func colRefs(cols []schema.Column) []Item {
	items := make([]Item, len(cols))
	for i, c := range cols {
		items[i] = Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}}
	}
	return items
}

// operator analyses one pipe stage applied to in.
func (a *analyzer) operator(e *env, in Node, op ast.Operator) (Node, error) {
	n, err := a.operator1(e, in, op)
	if err != nil {
		return n, err
	}
	if a.partition == "" {
		return withoutUnusedCarry(n), nil
	}
	return a.keepPartition(n, op)
}

// keepPartition makes an operator inside mv-apply keep the row-id column
// and work per input row.
func (a *analyzer) keepPartition(n Node, op ast.Operator) (Node, error) {
	p := a.partition
	pt := a.partitionT
	if pt == types.Invalid {
		pt = types.Long
	}
	switch v := n.(type) {
	case *Project:
		for _, c := range append([]schema.Column{{Name: p, Type: pt}}, a.carry...) {
			if _, ok := findCol(v.Schema(), c.Name); !ok {
				v.Items = append(v.Items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
			}
		}
	case *Aggregate:
		if _, ok := findCol(v.Cols, p); !ok {
			v.Keys = append([]Item{{Name: p, X: &ColumnRef{Name: p, T: pt}}}, v.Keys...)
			v.Cols = append([]schema.Column{{Name: p, Type: pt}}, v.Cols...)
		}
		// the row's own columns are constant within the partition
		for _, c := range a.carry {
			if _, ok := findCol(v.Cols, c.Name); !ok {
				v.Aggs = append(v.Aggs, Item{Name: c.Name, X: &Call{Fn: "take_any", Args: []Expr{&ColumnRef{Name: c.Name, T: c.Type}}, T: c.Type}})
				v.Cols = append(v.Cols, c)
			}
		}
	case *Limit:
		v.PartitionBy = append(v.PartitionBy, p)
	case *ScanOp:
		if _, ok := findCol(v.Cols, p); !ok {
			return nil, a.errf(op, "SEM0301", "scan is not supported inside mv-apply")
		}
		v.PartitionBy = p
	case *Distinct, *Filter, *Sort, *Serialize, *MvExpand, *Parse:
	default:
		return nil, a.errf(op, "SEM0301", "This operator is not supported inside mv-apply or partition")
	}
	return n, nil
}

// topHitters is top-hitters N of X [by S]: the N most frequent values of X
// (or those with the largest sum of S) with approximate_count_X
// (approximate_sum_S). odx counts exactly, which ADX's estimate approaches.
func (a *analyzer) topHitters(e *env, in Node, o *ast.TopHitters) (Node, error) {
	const hits = "__odx_hits"
	agg := &ast.Call{Span: o.Span, Fun: &ast.Ident{Span: o.Span, Name: "count"}}
	if o.By != nil {
		agg = &ast.Call{Span: o.Span, Fun: &ast.Ident{Span: o.Span, Name: "sum"}, Args: []ast.Expr{o.By}}
	}
	aggs := []*ast.NamedExpr{{Span: o.Span, Names: []*ast.Ident{{Span: o.Span, Name: hits}}, X: agg}}
	grouped, err := a.summarize(e, in, aggs, []*ast.NamedExpr{o.Of}, o)
	if err != nil {
		return nil, err
	}
	cols := grouped.Schema()
	key := cols[0]
	name := "approximate_count_" + key.Name
	if o.By != nil {
		name = "approximate_sum_" + exprNameAST(o.By)
	}
	renamed := &Project{In: grouped, Items: []Item{
		{Name: key.Name, X: &ColumnRef{Name: key.Name, T: key.Type}},
		{Name: name, X: &ColumnRef{Name: hits, T: cols[len(cols)-1].Type}},
	}}
	n, err := a.scalar(e, nil, o.N)
	if err != nil {
		return nil, err
	}
	sorted := &Sort{In: renamed, Keys: []SortKey{{X: &ColumnRef{Name: name, T: cols[len(cols)-1].Type}, Desc: true}}}
	return &Limit{In: sorted, N: n}, nil
}

// exprNameAST names a column after an expression: its identifier, or Column1.
func exprNameAST(x ast.Expr) string {
	if id, ok := x.(*ast.Ident); ok {
		return id.Name
	}
	return "Column1"
}

// partitionOp runs the subquery on each partition of the input: every
// operator works per value of the partition column (grouping, limits and
// projections keep it), which is the union of the per-partition results.
// The partition column stays in the output only where the subquery keeps it.
func (a *analyzer) partitionOp(e *env, in Node, o *ast.Partition) (Node, error) {
	if a.partition != "" {
		return nil, a.errf(o, "SEM0301", "partition cannot be nested in mv-apply or partition")
	}
	col, ok := findCol(in.Schema(), o.By.Name)
	if !ok {
		return nil, a.errf(o.By, "SEM0100", "Failed to resolve column named '%s'", o.By.Name)
	}
	// the columns the subquery yields on its own decide the output
	natural := in
	for _, op := range o.Ops {
		next, err := a.operator(e, natural, op)
		if err != nil {
			return nil, err
		}
		natural = next
	}
	a.partition, a.partitionT, a.carry = col.Name, col.Type, nil
	defer func() { a.partition, a.partitionT, a.carry = "", types.Invalid, nil }()
	cur := in
	for _, op := range o.Ops {
		next, err := a.operator(e, cur, op)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	var items []Item
	for _, c := range natural.Schema() {
		items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
	}
	return &Project{In: cur, Items: items}, nil
}

// mvApplyRowID is the hidden row-id column mv-apply numbers its input rows
// with and partitions by (withoutUnusedCarry recognises mv-apply by it).
const mvApplyRowID = "__odx_rid"

// mvApply numbers the input rows, expands them and runs the subquery per row:
// operators see the row id as a partition and carry the row's columns, so
// the result needs no join back to the input.
func (a *analyzer) mvApply(e *env, in Node, o *ast.MvApply) (Node, error) {
	if a.partition != "" {
		return nil, a.errf(o, "SEM0301", "mv-apply cannot be nested")
	}
	numbered := &Project{In: in, Items: append(colRefs(in.Schema()), Item{Name: mvApplyRowID, X: &Call{Fn: "row_number", T: types.Long}}), Window: true}
	cur, err := a.mvExpand(e, numbered, o.Expand)
	if err != nil {
		return nil, err
	}
	a.partition, a.carry = mvApplyRowID, visible(in.Schema())
	defer func() { a.partition, a.carry = "", nil }()
	for _, op := range o.Ops {
		if cur, err = a.operator(e, cur, op); err != nil {
			return nil, err
		}
	}
	// the input row's columns first, then what the subquery added
	var items []Item
	taken := map[string]bool{mvApplyRowID: true}
	for _, c := range visible(in.Schema()) {
		if rc, ok := findCol(cur.Schema(), c.Name); ok {
			items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: rc.Type}})
			taken[c.Name] = true
		}
	}
	for _, c := range cur.Schema() {
		if !taken[c.Name] {
			items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
		}
	}
	return &Project{In: cur, Items: items}, nil
}

func (a *analyzer) operator1(e *env, in Node, op ast.Operator) (Node, error) {
	switch o := op.(type) {
	case *ast.Where:
		sc := rowScope(in)
		p, err := a.scalar(e, sc, o.Pred)
		if err != nil {
			return nil, err
		}
		if t := p.Type(); t != types.Bool && t != types.Dynamic {
			return nil, a.errf(o.Pred, "SEM0017", "The where predicate must be bool, found %s", t)
		}
		return &Filter{In: in, Pred: p}, nil
	case *ast.Project:
		return a.project(e, in, o)
	case *ast.Summarize:
		return a.summarize(e, in, o.Aggs, o.By, o)
	case *ast.Count:
		name := "Count"
		if o.As != nil {
			name = o.As.Name
		}
		return &Aggregate{In: in, Aggs: []Item{{Name: name, X: &Call{Fn: "count", T: types.Long}}},
			Cols: []schema.Column{{Name: name, Type: types.Long}}}, nil
	case *ast.Take:
		n, err := a.scalar(e, nil, o.N)
		if err != nil {
			return nil, err
		}
		if !n.Type().Numeric() {
			return nil, a.errf(o.N, "SEM0018", "%s needs a number of rows, found %s", o.Name, n.Type())
		}
		return &Limit{In: in, N: n}, nil
	case *ast.Top:
		n, err := a.scalar(e, nil, o.N)
		if err != nil {
			return nil, err
		}
		keys, err := a.sortKeys(e, in, o.By)
		if err != nil {
			return nil, err
		}
		return &Limit{In: &Sort{In: in, Keys: keys}, N: n}, nil
	case *ast.Sort:
		keys, err := a.sortKeys(e, in, o.Keys)
		if err != nil {
			return nil, err
		}
		return &Sort{In: in, Keys: keys}, nil
	case *ast.Join:
		return a.join(e, in, o)
	case *ast.Union:
		return a.union(e, in, o)
	case *ast.MvExpand:
		return a.mvExpand(e, in, o)
	case *ast.Parse:
		return a.parse(e, in, o)
	case *ast.As:
		a.env.vars[o.Name.Name] = &binding{table: in}
		return in, nil
	case *ast.Render:
		props := map[string]any{"Visualization": o.Kind}
		for _, p := range o.Props {
			if len(p.Names) == 0 {
				continue
			}
			var v any = p.X.String()
			if lit, ok := p.X.(*ast.Literal); ok {
				v = lit.Value
			}
			props[p.Names[0].Name] = v
		}
		a.props["Visualization"] = props
		return in, nil
	case *ast.Invoke:
		return a.callTabularFunction(e, o.Call, in)
	case *ast.Evaluate:
		return a.evaluate(e, in, o)
	case *ast.MakeSeries:
		return a.makeSeries(e, in, o)
	case *ast.Search:
		return a.search(e, in, o)
	case *ast.ParseKV:
		return a.parseKV(e, in, o)
	case *ast.MvApply:
		return a.mvApply(e, in, o)
	case *ast.Partition:
		return a.partitionOp(e, in, o)
	case *ast.TopHitters:
		return a.topHitters(e, in, o)
	case *ast.TopNested:
		return a.topNested(e, in, o)
	case *ast.Scan:
		return a.scan(e, in, o)
	}
	return nil, a.errf(op, "SEM0300", "The operator '%s' is not supported yet", strings.Fields(op.String())[0])
}

func (a *analyzer) sortKeys(e *env, in Node, keys []*ast.SortKey) ([]SortKey, error) {
	sc := rowScope(in)
	out := make([]SortKey, len(keys))
	for i, k := range keys {
		x, err := a.scalar(e, sc, k.X)
		if err != nil {
			return nil, err
		}
		nullsFirst := !k.Desc // Kusto: asc puts nulls first, desc puts them last
		switch k.Nulls {
		case "first":
			nullsFirst = true
		case "last":
			nullsFirst = false
		}
		out[i] = SortKey{X: x, Desc: k.Desc, NullsFirst: nullsFirst}
	}
	return out, nil
}

// project handles project, extend and their variants, distinct, serialize, getschema.
func (a *analyzer) project(e *env, in Node, o *ast.Project) (Node, error) {
	cols := in.Schema()
	switch o.Name {
	case "project":
		sc := rowScope(in)
		var items []Item
		used := map[string]bool{}
		for i, it := range o.Items {
			if _, ok := it.X.(*ast.Star); ok && len(it.Names) == 0 {
				for _, c := range visible(cols) {
					items = append(items, Item{Name: uniqueName(c.Name, used), X: &ColumnRef{Name: c.Name, T: c.Type}})
				}
				continue
			}
			x, err := a.scalar(e, sc, it.X)
			if err != nil {
				return nil, err
			}
			if multi, ok := expandMulti(x, it.Names); ok {
				for _, m := range multi {
					items = append(items, Item{Name: uniqueName(m.Name, used), X: m.X})
				}
				continue
			}
			if len(it.Names) > 1 {
				return nil, a.errf(it, "SEM0120", "A tuple of names needs a function returning several columns")
			}
			name := ""
			if len(it.Names) == 1 {
				name = it.Names[0].Name
			} else if name = exprName(x); name == "" {
				name = columnN(i, used)
			}
			items = append(items, Item{Name: uniqueName(name, used), X: x})
		}
		return &Project{In: in, Items: items, Window: sc.window}, nil
	case "extend", "serialize":
		if o.Name == "serialize" {
			in = &Serialize{In: in}
		}
		return a.extend(e, in, o.Items)
	case "project-away":
		drop := map[string]bool{}
		for _, it := range o.Items {
			for _, c := range a.namesOf(it.X, cols) {
				drop[c.Name] = true
			}
		}
		var items []Item
		for _, c := range cols {
			if !drop[c.Name] {
				items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
			}
		}
		return &Project{In: in, Items: items}, nil
	case "project-keep":
		keep := map[string]bool{}
		for _, it := range o.Items {
			ms := a.namesOf(it.X, cols)
			if len(ms) == 0 {
				return nil, a.errf(it, "SEM0100", "Failed to resolve column '%s'", it.X.String())
			}
			for _, c := range ms {
				keep[c.Name] = true
			}
		}
		var items []Item
		for _, c := range cols {
			if keep[c.Name] {
				items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
			}
		}
		return &Project{In: in, Items: items}, nil
	case "project-by-names":
		var items []Item
		taken := map[string]bool{}
		for _, it := range o.Items {
			ms := a.namesOf(it.X, cols)
			if len(ms) == 0 {
				return nil, a.errf(it, "SEM0100", "Failed to resolve column '%s'", it.X.String())
			}
			for _, c := range ms {
				if !taken[c.Name] {
					taken[c.Name] = true
					items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
				}
			}
		}
		return &Project{In: in, Items: items}, nil
	case "project-rename":
		rename := map[string]string{}
		for _, it := range o.Items {
			id, ok := it.X.(*ast.Ident)
			if len(it.Names) != 1 || !ok {
				return nil, a.errf(it, "SEM0121", "project-rename expects NewName = ExistingName")
			}
			if _, ok := findCol(cols, id.Name); !ok {
				return nil, a.errf(id, "SEM0100", "Failed to resolve column '%s'", id.Name)
			}
			rename[id.Name] = it.Names[0].Name
		}
		items := colRefs(cols)
		for i := range items {
			if n, ok := rename[items[i].Name]; ok {
				items[i].Name = n
			}
		}
		return &Project{In: in, Items: items}, nil
	case "project-reorder":
		var first []Item
		taken := map[string]bool{}
		for _, it := range o.Items {
			for _, c := range a.namesOf(it.X, cols) {
				if !taken[c.Name] {
					taken[c.Name] = true
					first = append(first, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
				}
			}
		}
		for _, c := range cols {
			if !taken[c.Name] {
				first = append(first, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
			}
		}
		return &Project{In: in, Items: first}, nil
	case "distinct":
		if len(o.Items) == 1 {
			if _, ok := o.Items[0].X.(*ast.Star); ok {
				return &Distinct{In: in}, nil
			}
		}
		return a.summarize(e, in, nil, o.Items, o)
	case "getschema":
		v := &Values{Cols: []schema.Column{{Name: "ColumnName", Type: types.String}, {Name: "ColumnOrdinal", Type: types.Int},
			{Name: "DataType", Type: types.String}, {Name: "ColumnType", Type: types.String}}}
		for i, c := range visible(cols) {
			v.Rows = append(v.Rows, []Expr{&Const{V: c.Name, T: types.String}, &Const{V: int32(i), T: types.Int},
				&Const{V: "System." + c.Type.DotNet(), T: types.String}, &Const{V: c.Type.String(), T: types.String}})
		}
		return v, nil
	case "print":
		return nil, a.errf(o, "SEM0300", "print cannot follow a pipe")
	}
	return nil, a.errf(o, "SEM0300", "The operator '%s' is not supported yet", o.Name)
}

// visible drops the hidden extent column.
func visible(cols []schema.Column) []schema.Column {
	out := make([]schema.Column, 0, len(cols))
	for _, c := range cols {
		if c.Name != schema.ExtentColumn {
			out = append(out, c)
		}
	}
	return out
}

// namesOf resolves a column name or a wildcard pattern (a*, *b) against cols.
func (a *analyzer) namesOf(x ast.Expr, cols []schema.Column) []schema.Column {
	pattern := strings.ReplaceAll(strings.ReplaceAll(x.String(), " ", ""), "['", "")
	pattern = strings.ReplaceAll(pattern, "']", "")
	if id, ok := x.(*ast.Ident); ok {
		pattern = id.Name
	}
	if lit, ok := x.(*ast.Literal); ok && lit.Kind == ast.LitString {
		pattern = lit.Value
	}
	if !strings.Contains(pattern, "*") {
		if c, ok := findCol(cols, pattern); ok {
			return []schema.Column{c}
		}
		return nil
	}
	re, err := regexp.Compile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$")
	if err != nil {
		return nil
	}
	var out []schema.Column
	for _, c := range visible(cols) {
		if re.MatchString(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// columnN picks the next free ColumnN name for unnamed expressions.
func columnN(_ int, used map[string]bool) string {
	for i := 1; ; i++ {
		n := fmt.Sprintf("Column%d", i)
		if !used[n] {
			return n
		}
	}
}

// extend adds or replaces columns. Items that use a column defined earlier
// in the same extend start a new projection, since SQL cannot reference a
// sibling alias.
func (a *analyzer) extend(e *env, in Node, items []*ast.NamedExpr) (Node, error) {
	cur := in
	var out []Item
	pending := map[string]bool{}
	flush := func() {
		w := hasWindow(out)
		cur = &Project{In: cur, Items: unmark(out), Window: w}
		pending = map[string]bool{}
	}
	out = colRefs(cur.Schema())
	for _, it := range items {
		sc := &scope{cols: itemCols(out)}
		x, err := a.scalar(e, sc, it.X)
		if err != nil {
			return nil, err
		}
		refs := map[string]bool{}
		columnsIn(x, refs)
		conflict := false
		for r := range refs {
			if pending[r] {
				conflict = true
			}
		}
		if conflict || (sc.window && len(pending) > 0) {
			flush()
			out = colRefs(cur.Schema())
			sc = &scope{cols: itemCols(out)}
			if x, err = a.scalar(e, sc, it.X); err != nil {
				return nil, err
			}
		}
		if multi, ok := expandMulti(x, it.Names); ok {
			for _, m := range multi {
				replaced := false
				for i := range out {
					if out[i].Name == m.Name {
						out[i].X, replaced = m.X, true
					}
				}
				if !replaced {
					out = append(out, m)
				}
				pending[m.Name] = true
			}
			continue
		}
		var names []string
		for _, n := range it.Names {
			names = append(names, n.Name)
		}
		if len(names) > 1 {
			return nil, a.errf(it, "SEM0120", "A tuple of names needs a function returning several columns")
		}
		name := ""
		if len(names) == 1 {
			name = names[0]
		} else if name = exprName(x); name == "" {
			used := map[string]bool{}
			for _, o := range out {
				used[o.Name] = true
			}
			name = columnN(0, used)
		}
		if sc.window {
			x = &windowMarker{x}
		}
		replaced := false
		for i := range out {
			if out[i].Name == name {
				out[i].X = x
				replaced = true
			}
		}
		if !replaced {
			out = append(out, Item{Name: name, X: x})
		}
		pending[name] = true
	}
	cur = &Project{In: cur, Items: unmark(out), Window: hasWindow(out)}
	return cur, nil
}

// windowMarker tags an item that uses window functions while extend builds its list.
type windowMarker struct{ Expr }

func hasWindow(items []Item) bool {
	for _, it := range items {
		if _, ok := it.X.(*windowMarker); ok {
			return true
		}
		if containsWindow(it.X) {
			return true
		}
	}
	return false
}

func containsWindow(x Expr) bool {
	c, ok := x.(*Call)
	if !ok {
		return false
	}
	if f, ok := builtins.Lookup(c.Fn); ok && f.Kind == builtins.Window {
		return true
	}
	for _, a := range c.Args {
		if containsWindow(a) {
			return true
		}
	}
	return false
}

func unmark(items []Item) []Item {
	for i, it := range items {
		if w, ok := it.X.(*windowMarker); ok {
			items[i].X = w.Expr
		}
	}
	return items
}

func itemCols(items []Item) []schema.Column {
	cols := make([]schema.Column, len(items))
	for i, it := range items {
		x := it.X
		if w, ok := x.(*windowMarker); ok {
			x = w.Expr
		}
		cols[i] = schema.Column{Name: it.Name, Type: x.Type()}
	}
	return cols
}

// summarize groups rows; keys come first in the output, then aggregates.
func (a *analyzer) summarize(e *env, in Node, aggs, by []*ast.NamedExpr, at ast.Node) (Node, error) {
	cols := in.Schema()
	used := map[string]bool{}
	node := &Aggregate{In: in}
	keyScope := rowScope(in)
	for i, k := range by {
		x, err := a.scalar(e, keyScope, k.X)
		if err != nil {
			return nil, err
		}
		name := ""
		if len(k.Names) > 0 {
			name = k.Names[0].Name
		} else if name = exprName(x); name == "" {
			name = columnN(i, used)
		}
		name = uniqueName(name, used)
		node.Keys = append(node.Keys, Item{Name: name, X: x})
		node.Cols = append(node.Cols, schema.Column{Name: name, Type: x.Type()})
	}
	aggScope := &scope{cols: cols, aggs: true}
	for _, it := range aggs {
		x, err := a.scalar(e, aggScope, it.X)
		if err != nil {
			return nil, err
		}
		call, isCall := x.(*Call)
		if isCall && (call.Fn == "arg_max" || call.Fn == "arg_min") {
			if err := a.argMinMax(node, call, it, cols, used); err != nil {
				return nil, err
			}
			continue
		}
		if isCall && (call.Fn == "percentiles" || call.Fn == "percentilesw") {
			// one column per percentile; percentilesw carries its weight
			fixed := 1
			if call.Fn == "percentilesw" {
				fixed = 2
			}
			for j, p := range call.Args[fixed:] {
				name := ""
				if j < len(it.Names) {
					name = it.Names[j].Name
				} else {
					name = fmt.Sprintf("percentile_%s_%s", exprName(call.Args[0]), constText(p))
				}
				name = uniqueName(name, used)
				px := &Call{Fn: "percentile", Args: []Expr{call.Args[0], p}, T: call.T}
				if fixed == 2 {
					px = &Call{Fn: "percentilew", Args: []Expr{call.Args[0], call.Args[1], p}, T: call.T}
				}
				node.Aggs = append(node.Aggs, Item{Name: name, X: px})
				node.Cols = append(node.Cols, schema.Column{Name: name, Type: px.T})
			}
			continue
		}
		if !containsAggregate(x) {
			return nil, a.errf(it, "SEM0112", "summarize expression '%s' must contain an aggregation function", it.X.String())
		}
		name := ""
		if len(it.Names) > 0 {
			name = it.Names[0].Name
		} else if isCall {
			name = aggName(call)
		} else {
			name = columnN(0, used)
		}
		name = uniqueName(name, used)
		node.Aggs = append(node.Aggs, Item{Name: name, X: x})
		node.Cols = append(node.Cols, schema.Column{Name: name, Type: x.Type()})
	}
	return node, nil
}

func constText(x Expr) string {
	if c, ok := x.(*Const); ok {
		s := fmt.Sprint(c.V)
		return strings.ReplaceAll(s, ".", "_")
	}
	return ""
}

func containsAggregate(x Expr) bool {
	c, ok := x.(*Call)
	if !ok {
		return false
	}
	if builtins.IsAggregate(c.Fn) {
		return true
	}
	for _, a := range c.Args {
		if containsAggregate(a) {
			return true
		}
	}
	return false
}

// aggName is Kusto's default column name of an aggregate: count_, sum_x, ...
func aggName(c *Call) string {
	f, ok := builtins.Lookup(c.Fn)
	if !ok || f.Kind != builtins.Aggregate {
		return "Column1"
	}
	arg := ""
	switch c.Fn {
	case "count", "countif":
	case "percentile":
		return fmt.Sprintf("percentile_%s_%s", exprName(c.Args[0]), constText(c.Args[1]))
	default:
		if len(c.Args) > 0 {
			arg = exprName(c.Args[0])
		}
	}
	return f.Prefix + "_" + arg
}

// argMinMax expands arg_max(x, cols...) into one aggregate per returned column.
func (a *analyzer) argMinMax(node *Aggregate, call *Call, it *ast.NamedExpr, cols []schema.Column, used map[string]bool) error {
	fn := call.Fn + "_by"
	target := call.Args[0]
	ret := call.Args[1:]
	keyNames := map[string]bool{}
	for _, k := range node.Keys {
		keyNames[k.Name] = true
	}
	type out struct {
		name string
		x    Expr
	}
	var outs []out
	tname := exprName(target)
	if tname == "" {
		tname = strings.TrimSuffix(call.Fn, "_by")[4:] + "_"
	}
	outs = append(outs, out{tname, target})
	for _, r := range ret {
		if _, ok := r.(*Star); ok {
			for _, c := range visible(cols) {
				if keyNames[c.Name] || c.Name == tname {
					continue
				}
				outs = append(outs, out{c.Name, &ColumnRef{Name: c.Name, T: c.Type}})
			}
			continue
		}
		outs = append(outs, out{exprName(r), r})
	}
	for i, o := range outs {
		name := o.name
		if i < len(it.Names) {
			name = it.Names[i].Name
		} else if name == "" {
			name = columnN(0, used)
		}
		name = uniqueName(name, used)
		x := &Call{Fn: fn, Args: []Expr{o.x, target}, T: o.x.Type()}
		node.Aggs = append(node.Aggs, Item{Name: name, X: x})
		node.Cols = append(node.Cols, schema.Column{Name: name, Type: x.T})
	}
	return nil
}

// join analyses join and lookup.
func (a *analyzer) join(e *env, left Node, o *ast.Join) (Node, error) {
	right, err := a.tabular(e, o.Right)
	if err != nil {
		return nil, err
	}
	kind := strings.ToLower(paramValue(o.Params, "kind"))
	if kind == "" {
		kind = "innerunique"
		if o.Name == "lookup" {
			kind = "leftouter"
		}
	}
	switch kind {
	case "left":
		kind = "leftouter"
	case "right":
		kind = "rightouter"
	case "full", "outer":
		kind = "fullouter"
	case "anti", "leftantisemi":
		kind = "leftanti"
	case "rightantisemi":
		kind = "rightanti"
	case "semi":
		kind = "leftsemi"
	}
	valid := map[string]bool{"innerunique": true, "inner": true, "leftouter": true, "rightouter": true, "fullouter": true,
		"leftanti": true, "rightanti": true, "leftsemi": true, "rightsemi": true}
	if !valid[kind] {
		return nil, a.errf(o, "SEM0130", "Unknown join kind '%s'", kind)
	}
	lc, rc := left.Schema(), right.Schema()
	j := &Join{L: left, R: right, Kind: kind}
	sc := &scope{left: lc, right: rc}
	var extras []Expr
	var addCond func(x ast.Expr) error
	addCond = func(x ast.Expr) error {
		if b, ok := x.(*ast.Binary); ok && b.Op == "and" {
			if err := addCond(b.X); err != nil {
				return err
			}
			return addCond(b.Y)
		}
		if id, ok := x.(*ast.Ident); ok {
			l, lok := findCol(lc, id.Name)
			r, rok := findCol(rc, id.Name)
			if !lok || !rok {
				return a.errf(id, "SEM0100", "Failed to resolve join key '%s' on both sides of the join", id.Name)
			}
			j.LeftKeys = append(j.LeftKeys, &ColumnRef{Name: l.Name, T: l.Type, Side: "left"})
			j.RightKeys = append(j.RightKeys, &ColumnRef{Name: r.Name, T: r.Type, Side: "right"})
			return nil
		}
		y, err := a.scalar(e, sc, x)
		if err != nil {
			return err
		}
		if c, ok := y.(*Call); ok && c.Fn == "==" {
			l, lok := c.Args[0].(*ColumnRef)
			r, rok := c.Args[1].(*ColumnRef)
			if lok && rok && l.Side != r.Side && l.Side != "" && r.Side != "" {
				if l.Side == "right" {
					l, r = r, l
				}
				j.LeftKeys = append(j.LeftKeys, l)
				j.RightKeys = append(j.RightKeys, r)
				return nil
			}
		}
		extras = append(extras, y)
		return nil
	}
	for _, c := range o.On {
		if err := addCond(c); err != nil {
			return nil, err
		}
	}
	for _, x := range extras {
		if j.Extra == nil {
			j.Extra = x
		} else {
			j.Extra = &Call{Fn: "and", Args: []Expr{j.Extra, x}, T: types.Bool}
		}
	}
	used := map[string]bool{}
	addCols := func(side string, cols []schema.Column, skip map[string]bool) {
		for _, c := range cols {
			if skip[c.Name] || c.Name == schema.ExtentColumn {
				continue
			}
			name := uniqueName(c.Name, used)
			j.Cols = append(j.Cols, schema.Column{Name: name, Type: c.Type})
			j.From = append(j.From, JoinCol{Side: side, Name: c.Name})
		}
	}
	switch kind {
	case "leftanti", "leftsemi":
		addCols("left", lc, nil)
	case "rightanti", "rightsemi":
		addCols("right", rc, nil)
	default:
		addCols("left", lc, nil)
		skip := map[string]bool{}
		if o.Name == "lookup" {
			for i, k := range j.RightKeys {
				if k.(*ColumnRef).Name == j.LeftKeys[i].(*ColumnRef).Name {
					skip[k.(*ColumnRef).Name] = true
				}
			}
		}
		addCols("right", rc, skip)
	}
	return j, nil
}

// union concatenates tables by column name; in is the piped input, if any.
func (a *analyzer) union(e *env, in Node, o *ast.Union) (Node, error) {
	var inputs []Node
	var names []string
	if in != nil {
		inputs = append(inputs, in)
		names = append(names, "union_arg0")
	}
	fuzzy := strings.EqualFold(paramValue(o.Params, "isfuzzy"), "true")
	for _, t := range o.Tables {
		n, err := a.tabular(e, t)
		if err != nil {
			if ke, ok := err.(*kerr.Error); ok && fuzzy && ke.Semantic == "SEM0100" {
				continue // isfuzzy: an input that does not resolve is left out
			}
			return nil, err
		}
		inputs = append(inputs, n)
		name := fmt.Sprintf("union_arg%d", len(names))
		if s, ok := n.(*Scan); ok {
			name = s.Table.Name()
		} else if id, ok := t.(*ast.Ident); ok {
			// a view is named as written; a let-bound table expression is not
			if b := e.lookup(id.Name); b != nil && b.fn != nil {
				name = id.Name
			}
		}
		names = append(names, name)
	}
	kind := strings.ToLower(paramValue(o.Params, "kind"))
	u := &Union{Inputs: inputs, SourceCol: paramValue(o.Params, "withsource"), SourceNames: names}
	if u.SourceCol != "" {
		u.Cols = append(u.Cols, schema.Column{Name: u.SourceCol, Type: types.String})
	}
	// Columns with one name but different types become name_type columns.
	typesOf := map[string]map[types.Type]bool{}
	for _, n := range inputs {
		for _, c := range visible(n.Schema()) {
			if typesOf[c.Name] == nil {
				typesOf[c.Name] = map[types.Type]bool{}
			}
			typesOf[c.Name][c.Type] = true
		}
	}
	present := func(name string, t types.Type) int {
		cnt := 0
		for _, n := range inputs {
			if c, ok := findCol(n.Schema(), name); ok && c.Type == t {
				cnt++
			}
		}
		return cnt
	}
	if u.SourceCol != "" {
		u.Origin = append(u.Origin, schema.Column{})
	}
	// A renamed column (x_long) must not take the name of another input
	// column: ADX numbers it (x_long1).
	plain := map[string]bool{}
	for c := range typesOf {
		if len(typesOf[c]) == 1 {
			plain[c] = true
		}
	}
	used := map[string]bool{}
	for _, c := range u.Cols {
		used[c.Name] = true
	}
	done := map[schema.Column]bool{}
	for _, n := range inputs {
		for _, c := range visible(n.Schema()) {
			k := schema.Column{Name: c.Name, Type: c.Type}
			if done[k] {
				continue
			}
			done[k] = true
			if kind == "inner" && present(c.Name, c.Type) != len(inputs) {
				continue
			}
			col := c
			if len(typesOf[c.Name]) > 1 {
				base := c.Name + "_" + c.Type.String()
				col.Name = base
				for i := 1; plain[col.Name] || used[col.Name]; i++ {
					col.Name = fmt.Sprintf("%s%d", base, i)
				}
			}
			used[col.Name] = true
			u.Cols = append(u.Cols, col)
			u.Origin = append(u.Origin, k)
		}
	}
	return u, nil
}

func (a *analyzer) mvExpand(e *env, in Node, o *ast.MvExpand) (Node, error) {
	sc := rowScope(in)
	cols := append([]schema.Column(nil), in.Schema()...)
	m := &MvExpand{In: in}
	bagArray := strings.EqualFold(paramValue(o.Params, "bagexpansion"), "array") || strings.EqualFold(paramValue(o.Params, "kind"), "array")
	for i, it := range o.Items {
		x, err := a.scalar(e, sc, it.X)
		if err != nil {
			return nil, err
		}
		name := ""
		if len(it.Names) > 0 {
			name = it.Names[0].Name
		} else if name = exprName(x); name == "" {
			name = columnN(0, map[string]bool{})
		}
		t := types.Dynamic
		if i < len(o.Types) && o.Types[i] != "" {
			tt, ok := types.Parse(o.Types[i])
			if !ok {
				return nil, a.errf(it, "SEM0007", "Unknown type '%s'", o.Types[i])
			}
			t = tt
		}
		m.Items = append(m.Items, MvItem{Name: name, X: x, T: t, Bag: !bagArray})
		replaced := false
		for j := range cols {
			if cols[j].Name == name {
				cols[j].Type = t
				replaced = true
			}
		}
		if !replaced {
			cols = append(cols, schema.Column{Name: name, Type: t})
		}
	}
	if ix := paramValue(o.Params, "with_itemindex"); ix != "" {
		cols = append(cols, schema.Column{Name: ix, Type: types.Long})
		m.Items = append(m.Items, MvItem{Name: ix, T: types.Long})
	}
	if o.Limit != nil {
		l, err := a.scalar(e, nil, o.Limit)
		if err != nil {
			return nil, err
		}
		m.Limit = l
	}
	m.Cols = cols
	return m, nil
}

// nonCapturing turns capturing groups of a regex fragment into non-capturing ones.
func nonCapturing(re string) string {
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		c := re[i]
		b.WriteByte(c)
		switch {
		case c == '\\' && i+1 < len(re):
			i++
			b.WriteByte(re[i])
		case c == '(' && (i+1 >= len(re) || re[i+1] != '?'):
			b.WriteString("?:")
		}
	}
	return b.String()
}

// parse compiles the parse pattern to one regular expression with a group per column.
func (a *analyzer) parse(e *env, in Node, o *ast.Parse) (Node, error) {
	x, err := a.scalar(e, rowScope(in), o.X)
	if err != nil {
		return nil, err
	}
	kind := strings.ToLower(paramValue(o.Params, "kind"))
	p := &Parse{In: in, X: x, Where: o.Name == "parse-where", Flags: paramValue(o.Params, "flags")}
	kind = strings.ToLower(kind)
	p.Relaxed = kind == "relaxed"
	var re strings.Builder
	re.WriteString("^")
	for i, part := range o.Parts {
		switch {
		case part.Lit != nil:
			if kind == "regex" {
				// groups in the user's regex must not shift the column groups
				re.WriteString(nonCapturing(part.Lit.Value))
			} else {
				re.WriteString(regexp.QuoteMeta(part.Lit.Value))
			}
		case part.Name == nil:
			if i < len(o.Parts)-1 {
				re.WriteString(".*?")
			}
		default:
			t := types.String
			if part.Type != "" {
				tt, ok := types.Parse(part.Type)
				if !ok {
					return nil, a.errf(o, "SEM0007", "Unknown type '%s' in parse pattern", part.Type)
				}
				t = tt
			}
			last := i == len(o.Parts)-1
			switch {
			case kind == "relaxed" && !last && (t == types.Long || t == types.Int):
				// relaxed: a value that does not convert is null, the rest still parses
				re.WriteString(`(-?\d+|.*?)`)
			case kind == "relaxed" && !last:
				re.WriteString("(.*?)")
			case t == types.Long || t == types.Int:
				re.WriteString(`(-?\d+)`)
			case t == types.Real:
				re.WriteString(`(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)`)
			case last || kind == "regex":
				re.WriteString("(.*)")
			default:
				re.WriteString("(.*?)")
			}
			p.Outputs = append(p.Outputs, schema.Column{Name: part.Name.Name, Type: t})
		}
	}
	if len(o.Parts) > 0 && o.Parts[len(o.Parts)-1].Name == nil && o.Parts[len(o.Parts)-1].Lit == nil {
		// trailing * matches the rest
	} else if kind != "regex" && len(o.Parts) > 0 && o.Parts[len(o.Parts)-1].Lit != nil {
		re.WriteString("$")
	}
	p.Regex = re.String()
	if _, err := regexp.Compile(p.Regex); err != nil {
		return nil, a.errf(o, "SEM0140", "Invalid parse pattern: %v", err)
	}
	cols := append([]schema.Column(nil), in.Schema()...)
	for _, oc := range p.Outputs {
		replaced := false
		for j := range cols {
			if cols[j].Name == oc.Name {
				cols[j].Type = oc.Type
				replaced = true
			}
		}
		if !replaced {
			cols = append(cols, oc)
		}
	}
	p.Cols = cols
	return p, nil
}
