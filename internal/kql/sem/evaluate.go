package sem

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"odx/internal/kql/ast"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// evaluate dispatches `evaluate plugin(...)` to the plugin's analysis. Each
// plugin becomes existing plan nodes; a plugin whose output columns depend on
// the data needs them known at compile time (a declared output schema or a
// constant input), since the compiler does not see data.
func (a *analyzer) evaluate(e *env, in Node, o *ast.Evaluate) (Node, error) {
	switch strings.ToLower(o.Call.Fun.Name) {
	case "bag_unpack":
		return a.bagUnpack(e, in, o)
	case "narrow":
		return a.narrow(in, o)
	case "schema_merge":
		return a.schemaMerge(e, in, o)
	case "pivot":
		return a.pivot(e, in, o)
	}
	return nil, a.errf(o.Call, "SEM0300", "The plugin '%s' is not supported; supported plugins: bag_unpack, narrow, pivot, schema_merge", o.Call.Fun.Name)
}

// optString reads an optional constant string argument of a plugin.
func (a *analyzer) optString(e *env, args []ast.Expr, i int) (string, error) {
	if i >= len(args) {
		return "", nil
	}
	return a.constString(e, args[i])
}

// bagUnpack makes each top-level slot of a dynamic column a column:
// bag_unpack(Column [, OutputColumnPrefix [, columnsConflict [, ignoredProperties]]]).
// Output columns come from the declared schema (`: (*, Name:type, ...)`);
// without one, from the slots of a constant input (datatable), sorted by
// name and typed by their values as ADX does. Otherwise the query must
// declare the schema.
func (a *analyzer) bagUnpack(e *env, in Node, o *ast.Evaluate) (Node, error) {
	args := o.Call.Args
	if len(args) < 1 || len(args) > 4 {
		return nil, a.errf(o.Call, "SEM0219", "bag_unpack expects between 1 and 4 arguments, got %d", len(args))
	}
	src, err := a.scalar(e, rowScope(in), args[0])
	if err != nil {
		return nil, err
	}
	ref, ok := src.(*ColumnRef)
	if !ok || ref.T != types.Dynamic {
		return nil, a.errf(args[0], "SEM0007", "bag_unpack expects a column of type dynamic")
	}
	prefix, err := a.optString(e, args, 1)
	if err != nil {
		return nil, err
	}
	conflict, err := a.optString(e, args, 2)
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	if len(args) > 3 {
		x, err := a.scalar(e, nil, args[3])
		if err != nil {
			return nil, err
		}
		c, ok := x.(*Const)
		var names []string
		if s, isStr := c.V.(string); !ok || !isStr || json.Unmarshal([]byte(s), &names) != nil {
			return nil, a.errf(args[3], "SEM0007", "bag_unpack's ignoredProperties must be a constant dynamic array of names")
		}
		for _, n := range names {
			ignored[n] = true
		}
	}

	var slots []schema.Column // output columns of the slots (names with prefix)
	keep := true              // keep the input's other columns
	if o.SchemaStar || len(o.Schema) > 0 {
		keep = o.SchemaStar
		for _, c := range o.Schema {
			t, ok := types.Parse(c.Type)
			if !ok {
				return nil, a.errf(c, "SEM0007", "unknown type '%s' in the output schema", c.Type)
			}
			slots = append(slots, schema.Column{Name: c.Name.Name, Type: t})
		}
	} else {
		found, ok := constantSlots(in, ref.Name)
		if !ok {
			return nil, a.errf(o, "SEM0300", "bag_unpack's columns depend on the data; declare them after the call: evaluate bag_unpack(%s) : (*, Name:type, ...)", ref.Name)
		}
		for _, s := range found {
			if !ignored[s.Name] {
				slots = append(slots, schema.Column{Name: prefix + s.Name, Type: s.Type})
			}
		}
	}

	var items []Item
	taken := map[string]bool{}
	if keep {
		for _, c := range in.Schema() {
			if c.Name == ref.Name {
				continue
			}
			taken[c.Name] = true
			items = append(items, Item{Name: c.Name, X: &ColumnRef{Name: c.Name, T: c.Type}})
		}
	}
	for _, s := range slots {
		key := strings.TrimPrefix(s.Name, prefix)
		if ignored[key] {
			continue
		}
		slot := &Call{Fn: "_index", Args: []Expr{ref, &Const{V: key, T: types.String}}, T: types.Dynamic}
		x := Expr(slot)
		if s.Type != types.Dynamic {
			x = &Call{Fn: converter(s.Type), Args: []Expr{slot}, T: s.Type}
		}
		if taken[s.Name] {
			switch conflict {
			case "keep_source":
				continue
			case "replace_source":
				items = removeItem(items, s.Name)
			default:
				return nil, a.errf(o, "SEM0100", "bag_unpack: slot '%s' conflicts with an input column; pass columnsConflict 'replace_source' or 'keep_source'", s.Name)
			}
		}
		items = append(items, Item{Name: s.Name, X: x})
	}
	return &Project{In: in, Items: items}, nil
}

func removeItem(items []Item, name string) []Item {
	var out []Item
	for _, it := range items {
		if it.Name != name {
			out = append(out, it)
		}
	}
	return out
}

// converter names the conversion from a dynamic slot to t.
func converter(t types.Type) string {
	switch t {
	case types.Int:
		return "toint"
	case types.Long:
		return "tolong"
	case types.Real:
		return "toreal"
	case types.Decimal:
		return "todecimal"
	case types.Bool:
		return "tobool"
	case types.DateTime:
		return "todatetime"
	case types.TimeSpan:
		return "totimespan"
	case types.Guid:
		return "toguid"
	}
	return "tostring"
}

// constantSlots lists the slots of column name when the input is a
// datatable of constants: each slot's type is the type of its non-null
// values (long, real, bool, string; dynamic for nested or mixed values).
func constantSlots(in Node, name string) ([]schema.Column, bool) {
	v, ok := in.(*Values)
	if !ok {
		return nil, false
	}
	idx := -1
	for i, c := range v.Cols {
		if c.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return nil, false
	}
	seen := map[string]types.Type{}
	for _, row := range v.Rows {
		c, ok := row[idx].(*Const)
		if !ok {
			return nil, false
		}
		s, isStr := c.V.(string)
		if !isStr {
			continue // null
		}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var bag map[string]any
		if dec.Decode(&bag) != nil {
			continue // not a bag: no slots
		}
		for k, val := range bag {
			t := jsonType(val)
			if t == types.Invalid {
				if _, ok := seen[k]; !ok {
					seen[k] = types.Invalid
				}
				continue
			}
			switch prev, ok := seen[k]; {
			case !ok || prev == types.Invalid:
				seen[k] = t
			case prev != t:
				seen[k] = types.Dynamic
			}
		}
	}
	var out []schema.Column
	for k, t := range seen {
		if t == types.Invalid {
			t = types.Dynamic
		}
		out = append(out, schema.Column{Name: k, Type: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, true
}

// jsonType is the Kusto type of a decoded JSON value; Invalid for null.
func jsonType(v any) types.Type {
	switch x := v.(type) {
	case nil:
		return types.Invalid
	case bool:
		return types.Bool
	case string:
		return types.String
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return types.Long
		}
		return types.Real
	}
	return types.Dynamic
}

// narrow unpivots every row into (Row, Column, Value) rows: Row numbers the
// input rows from 0, Column names each column, Value is its value as a
// string. It numbers rows, packs each row's cells into an array and
// expands it.
func (a *analyzer) narrow(in Node, o *ast.Evaluate) (Node, error) {
	if len(o.Call.Args) != 0 {
		return nil, a.errf(o.Call, "SEM0219", "narrow takes no arguments")
	}
	const cells = "__cells"
	var packed []Expr
	for _, c := range in.Schema() {
		if c.Name == schema.ExtentColumn {
			continue
		}
		var val Expr = &ColumnRef{Name: c.Name, T: c.Type}
		if c.Type != types.String {
			val = &Call{Fn: "tostring", Args: []Expr{val}, T: types.String}
		}
		packed = append(packed, &Call{Fn: "bag_pack", Args: []Expr{
			&Const{V: "c", T: types.String}, &Const{V: c.Name, T: types.String},
			&Const{V: "v", T: types.String}, val}, T: types.Dynamic})
	}
	row := &Call{Fn: "row_number", Args: []Expr{&Const{V: int64(0), T: types.Long}}, T: types.Long}
	numbered := &Project{In: in, Window: true, Items: []Item{
		{Name: "Row", X: row},
		{Name: cells, X: &Call{Fn: "pack_array", Args: packed, T: types.Dynamic}},
	}}
	expanded := &MvExpand{In: numbered, Items: []MvItem{{Name: cells, X: &ColumnRef{Name: cells, T: types.Dynamic}, T: types.Dynamic}},
		Cols: []schema.Column{{Name: "Row", Type: types.Long}, {Name: cells, Type: types.Dynamic}}}
	cell := func(k string) Expr {
		return &Call{Fn: "tostring", Args: []Expr{&Call{Fn: "_index", Args: []Expr{&ColumnRef{Name: cells, T: types.Dynamic}, &Const{V: k, T: types.String}}, T: types.Dynamic}}, T: types.String}
	}
	return &Project{In: expanded, Items: []Item{
		{Name: "Row", X: &ColumnRef{Name: "Row", T: types.Long}},
		{Name: "Column", X: cell("c")},
		{Name: "Value", X: cell("v")},
	}}, nil
}

// schemaMerge merges getschema outputs into one schema: a column takes the
// ordinal of its first appearance; a column seen again with another type,
// or (PreserveOrder, the default) at another ordinal, becomes an error row
// with ordinal -1 after the others. The input must be compile-time
// constant, which getschema results (and unions of them) are.
func (a *analyzer) schemaMerge(e *env, in Node, o *ast.Evaluate) (Node, error) {
	preserve := true
	if len(o.Call.Args) > 1 {
		return nil, a.errf(o.Call, "SEM0219", "schema_merge expects at most 1 argument (PreserveOrder)")
	}
	if len(o.Call.Args) == 1 {
		arg := o.Call.Args[0]
		if n, ok := arg.(*ast.NamedExpr); ok && len(n.Names) == 1 && strings.EqualFold(n.Names[0].Name, "PreserveOrder") {
			arg = n.X
		}
		x, err := a.scalar(e, nil, arg)
		if err != nil {
			return nil, err
		}
		c, ok := x.(*Const)
		b, isBool := c.V.(bool)
		if !ok || !isBool {
			return nil, a.errf(arg, "SEM0007", "schema_merge's PreserveOrder must be a constant bool")
		}
		preserve = b
	}
	var inputs []*Values
	switch v := in.(type) {
	case *Values:
		inputs = append(inputs, v)
	case *Union:
		for _, n := range v.Inputs {
			vals, ok := n.(*Values)
			if !ok {
				return nil, a.errf(o, "SEM0300", "schema_merge needs getschema results known at compile time")
			}
			inputs = append(inputs, vals)
		}
	default:
		return nil, a.errf(o, "SEM0300", "schema_merge needs getschema results known at compile time")
	}
	type entry struct {
		name, dataType, colType string
		ordinal                 int64
		bad                     string // why the column cannot merge
	}
	var merged []*entry
	byName := map[string]*entry{}
	for _, v := range inputs {
		idx := map[string]int{}
		for i, c := range v.Cols {
			idx[c.Name] = i
		}
		for _, need := range []string{"ColumnName", "ColumnOrdinal", "DataType", "ColumnType"} {
			if _, ok := idx[need]; !ok {
				return nil, a.errf(o, "SEM0100", "schema_merge expects getschema output; column '%s' is missing", need)
			}
		}
		for _, row := range v.Rows {
			get := func(col string) any {
				if c, ok := row[idx[col]].(*Const); ok {
					return c.V
				}
				return nil
			}
			name, _ := get("ColumnName").(string)
			dt, _ := get("DataType").(string)
			ct, _ := get("ColumnType").(string)
			var ord int64
			switch n := get("ColumnOrdinal").(type) {
			case int32:
				ord = int64(n)
			case int64:
				ord = n
			}
			if prev, ok := byName[name]; ok {
				switch {
				case prev.colType != ct:
					prev.bad = "conflicting column types"
				case preserve && prev.ordinal != ord && prev.bad == "":
					prev.bad = "columns out of order"
				}
				continue
			}
			en := &entry{name: name, dataType: dt, colType: ct, ordinal: ord}
			byName[name] = en
			merged = append(merged, en)
		}
	}
	out := &Values{Cols: []schema.Column{{Name: "ColumnName", Type: types.String}, {Name: "ColumnOrdinal", Type: types.Int},
		{Name: "DataType", Type: types.String}, {Name: "ColumnType", Type: types.String}}}
	row := func(name string, ord int32, dt, ct string) []Expr {
		return []Expr{&Const{V: name, T: types.String}, &Const{V: ord, T: types.Int}, &Const{V: dt, T: types.String}, &Const{V: ct, T: types.String}}
	}
	n := int32(0)
	for _, en := range merged {
		if en.bad == "" {
			out.Rows = append(out.Rows, row(en.name, n, en.dataType, en.colType))
			n++
		}
	}
	for _, en := range merged {
		if reason := en.bad; reason != "" {
			out.Rows = append(out.Rows, row(en.name, -1, "ERROR(unknown CSL type:ERROR("+reason+"))", "ERROR("+reason+")"))
		}
	}
	return out, nil
}

// conditional names the -if form of an aggregate, for pivot's cells.
var conditional = map[string]string{
	"count": "countif", "sum": "sumif", "avg": "avgif", "min": "minif", "max": "maxif",
	"dcount": "dcountif", "make_list": "make_list_if", "make_set": "make_set_if",
	"take_any": "take_anyif", "stdev": "stdevif", "variance": "varianceif",
}

// pivot turns the values of a column into columns:
// pivot(PivotColumn [, Aggregation [, GroupColumn...]]). Each cell is the
// aggregation (count() by default) over the rows of its group whose pivot
// value is the column's name. The value columns come from the declared
// output schema (`: (Group:type, Value1:type, ...)`) or from the values of a
// constant input, sorted.
func (a *analyzer) pivot(e *env, in Node, o *ast.Evaluate) (Node, error) {
	args := o.Call.Args
	if len(args) < 1 {
		return nil, a.errf(o.Call, "SEM0219", "pivot expects a pivot column")
	}
	sc := rowScope(in)
	px, err := a.scalar(e, sc, args[0])
	if err != nil {
		return nil, err
	}
	ref, ok := px.(*ColumnRef)
	if !ok {
		return nil, a.errf(args[0], "SEM0007", "pivot expects a column name as its first argument")
	}
	agg := &Call{Fn: "count", T: types.Long}
	if len(args) > 1 {
		x, err := a.scalar(e, &scope{cols: sc.cols, aggs: true}, args[1])
		if err != nil {
			return nil, err
		}
		c, ok := x.(*Call)
		if !ok || conditional[c.Fn] == "" {
			return nil, a.errf(args[1], "SEM0300", "pivot's aggregation must be one of count, sum, avg, min, max, dcount, make_list, make_set, take_any, stdev, variance")
		}
		agg = c
	}
	node := &Aggregate{In: in}
	for _, g := range args[min(len(args), 2):] {
		x, err := a.scalar(e, sc, g)
		if err != nil {
			return nil, err
		}
		gr, ok := x.(*ColumnRef)
		if !ok {
			return nil, a.errf(g, "SEM0007", "pivot's group columns must be column names")
		}
		node.Keys = append(node.Keys, Item{Name: gr.Name, X: gr})
		node.Cols = append(node.Cols, schema.Column{Name: gr.Name, Type: gr.T})
	}
	var values []schema.Column
	if len(o.Schema) > 0 || o.SchemaStar {
		for _, c := range o.Schema {
			t, ok := types.Parse(c.Type)
			if !ok {
				return nil, a.errf(c, "SEM0007", "unknown type '%s' in the output schema", c.Type)
			}
			if _, isKey := findCol(node.Cols, c.Name.Name); !isKey {
				values = append(values, schema.Column{Name: c.Name.Name, Type: t})
			}
		}
	} else {
		names, ok := constantValues(in, ref.Name)
		if !ok {
			return nil, a.errf(o, "SEM0300", "pivot's columns depend on the data; declare them after the call: evaluate pivot(...) : (GroupColumn:type, Value1:type, ...)")
		}
		for _, n := range names {
			values = append(values, schema.Column{Name: n, Type: agg.T})
		}
	}
	var key Expr = ref
	if ref.T != types.String {
		key = &Call{Fn: "tostring", Args: []Expr{ref}, T: types.String}
	}
	for _, v := range values {
		cond := &Call{Fn: "==", Args: []Expr{key, &Const{V: v.Name, T: types.String}}, T: types.Bool}
		var cell Expr = &Call{Fn: conditional[agg.Fn], Args: append(append([]Expr(nil), agg.Args...), cond), T: agg.T}
		if v.Type != agg.T {
			cell = &Call{Fn: converter(v.Type), Args: []Expr{cell}, T: v.Type}
		}
		node.Aggs = append(node.Aggs, Item{Name: v.Name, X: cell})
		node.Cols = append(node.Cols, v)
	}
	return node, nil
}

// constantValues lists the distinct values of a column of a constant input
// as strings, sorted.
func constantValues(in Node, name string) ([]string, bool) {
	v, ok := in.(*Values)
	if !ok {
		return nil, false
	}
	idx := -1
	for i, c := range v.Cols {
		if c.Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return nil, false
	}
	seen := map[string]bool{}
	var out []string
	for _, row := range v.Rows {
		c, ok := row[idx].(*Const)
		if !ok {
			return nil, false
		}
		s := ""
		if c.V != nil {
			s = fmt.Sprint(c.V)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, true
}
