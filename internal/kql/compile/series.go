package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// makeSeries lowers make-series: every key gets every bin of the axis range
// (keys × bins), the aggregates are computed per key and bin and left-joined
// in, missing bins take the default, and arrays are built in bin order.
//
// The axis is handled as a number: ticks for datetime and timespan.
func (c *compiler) makeSeries(v *sem.MakeSeries) (*sqlast.Select, error) {
	in, err := c.node(v.In)
	if err != nil {
		return nil, err
	}
	at := v.Axis.Type()
	axisNum := func(x sqlast.Expr, t types.Type) sqlast.Expr {
		switch t {
		case types.Real, types.Decimal:
			return cast(x, "DOUBLE")
		}
		return cast(x, "BIGINT")
	}
	numType := "BIGINT"
	if at == types.Real || at == types.Decimal {
		numType = "DOUBLE"
	}
	axis, err := c.expr(v.Axis)
	if err != nil {
		return nil, err
	}
	step, err := c.expr(v.Step)
	if err != nil {
		return nil, err
	}
	step = cast(step, numType)
	// src: the input with the axis as a number
	src := &sqlast.Select{From: &sqlast.SubFrom{Q: in, Alias: c.alias()}, Items: []sqlast.SelectItem{{X: &sqlast.Star{}}, {X: axisNum(axis, at), Alias: "__av"}}}
	// rng: start, end (exclusive) and bin count
	var start, end sqlast.Expr = tmpl("min(__av)"), bin("+", tmpl("max(__av)"), step)
	if v.From != nil {
		f, err := c.expr(v.From)
		if err != nil {
			return nil, err
		}
		start = axisNum(f, v.From.Type())
	}
	if v.To != nil {
		t, err := c.expr(v.To)
		if err != nil {
			return nil, err
		}
		end = axisNum(t, v.To.Type())
	}
	var count sqlast.Expr
	if numType == "DOUBLE" {
		count = tmpl("CAST(ceil((__e - __s) / {}) AS BIGINT)", step)
	} else {
		count = tmpl("((__e - __s + {} - 1) // {})", step, step)
	}
	bounds := &sqlast.Select{
		Items: []sqlast.SelectItem{{X: cast(start, numType), Alias: "__s"}, {X: cast(end, numType), Alias: "__e"}},
	}
	if v.From == nil || v.To == nil {
		// min/max over the data: one row
		bounds.From = &sqlast.SubFrom{Q: src, Alias: c.alias()}
	}
	rng := &sqlast.Select{
		Items: []sqlast.SelectItem{{X: col("__s")}, {X: col("__e")}, {X: tmpl("unnest(range(greatest({}, 0)))", count), Alias: "__i"}},
		From:  &sqlast.SubFrom{Alias: c.alias(), Q: bounds},
	}
	// keys: the distinct keys of the input (one empty row without keys)
	keys := &sqlast.Select{Distinct: true, From: &sqlast.SubFrom{Q: src, Alias: c.alias()}}
	if len(v.Keys) == 0 {
		keys = &sqlast.Select{Items: []sqlast.SelectItem{{X: i64(1), Alias: "__one"}}}
	}
	// agg: aggregates per key and bin, inside the range
	ra := c.alias()
	agg := &sqlast.Select{
		From: &sqlast.Join{Kind: "CROSS", L: &sqlast.SubFrom{Q: src, Alias: c.alias()},
			R: &sqlast.SubFrom{Alias: ra, Q: &sqlast.Select{Distinct: true, Items: []sqlast.SelectItem{{X: col("__s")}, {X: col("__e")}}, From: &sqlast.SubFrom{Q: rng, Alias: c.alias()}}}},
		Where: tmpl("__av >= __s AND __av < __e"),
	}
	for i, k := range v.Keys {
		x, err := c.expr(k.X)
		if err != nil {
			return nil, err
		}
		keys.Items = append(keys.Items, sqlast.SelectItem{X: x, Alias: k.Name})
		agg.Items = append(agg.Items, sqlast.SelectItem{X: x, Alias: k.Name})
		agg.GroupBy = append(agg.GroupBy, sqlast.Int(int64(i+1)))
	}
	var b sqlast.Expr
	if numType == "DOUBLE" {
		b = cast(tmpl("floor((__av - __s) / {})", step), "BIGINT")
	} else {
		b = tmpl("((__av - __s) // {})", step)
	}
	agg.Items = append(agg.Items, sqlast.SelectItem{X: b, Alias: "__b"})
	agg.GroupBy = append(agg.GroupBy, sqlast.Int(int64(len(v.Keys)+1)))
	for i, a := range v.Aggs {
		x, err := c.expr(a.X)
		if err != nil {
			return nil, err
		}
		agg.Items = append(agg.Items, sqlast.SelectItem{X: x, Alias: "__a" + itoa(i)})
	}
	// grid: keys × bins, left-joined with agg, folded into ordered arrays
	ka, ga, aa := c.alias(), c.alias(), c.alias()
	on := bin("=", &sqlast.Col{Table: aa, Name: "__b"}, &sqlast.Col{Table: ga, Name: "__i"})
	for _, k := range v.Keys {
		on = bin("AND", on, bin("IS NOT DISTINCT FROM", &sqlast.Col{Table: ka, Name: k.Name}, &sqlast.Col{Table: aa, Name: k.Name}))
	}
	grid := &sqlast.Join{Kind: "LEFT",
		L:  &sqlast.Join{Kind: "CROSS", L: &sqlast.SubFrom{Q: keys, Alias: ka}, R: &sqlast.SubFrom{Q: rng, Alias: ga}},
		R:  &sqlast.SubFrom{Q: agg, Alias: aa},
		On: on}
	q := &sqlast.Select{From: grid}
	order := []sqlast.OrderItem{{X: &sqlast.Col{Table: ga, Name: "__i"}}}
	for i, k := range v.Keys {
		q.Items = append(q.Items, sqlast.SelectItem{X: &sqlast.Col{Table: ka, Name: k.Name}, Alias: k.Name})
		q.GroupBy = append(q.GroupBy, sqlast.Int(int64(i+1)))
	}
	for i, a := range v.Aggs {
		def, err := c.expr(v.Defaults[i])
		if err != nil {
			return nil, err
		}
		t := a.X.Type()
		val := toDynamic(fn("COALESCE", &sqlast.Col{Table: aa, Name: "__a" + itoa(i)}, def), t)
		q.Items = append(q.Items, sqlast.SelectItem{X: fn("to_json", &sqlast.Call{Name: "list", Args: []sqlast.Expr{val}, OrderBy: order}), Alias: a.Name})
	}
	s, i := &sqlast.Col{Table: ga, Name: "__s"}, &sqlast.Col{Table: ga, Name: "__i"}
	pos := bin("+", s, bin("*", i, step))
	var axisVal sqlast.Expr
	switch at {
	case types.DateTime:
		axisVal = toDynamic(pos, types.DateTime)
	default:
		axisVal = fn("to_json", pos)
	}
	q.Items = append(q.Items, sqlast.SelectItem{X: fn("to_json", &sqlast.Call{Name: "list", Args: []sqlast.Expr{axisVal}, OrderBy: order}), Alias: v.AxisName})
	return q, nil
}
