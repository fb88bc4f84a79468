package sem

import (
	"odx/internal/kql/ast"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// makeSeries checks make-series: keys first, then one dynamic array per
// aggregate, then the axis as a dynamic array of bin starts.
func (a *analyzer) makeSeries(e *env, in Node, o *ast.MakeSeries) (Node, error) {
	agg, err := a.summarize(e, in, o.Aggs, o.By, o)
	if err != nil {
		return nil, err
	}
	g := agg.(*Aggregate)
	sc := rowScope(in)
	axis, err := a.scalar(e, sc, o.On)
	if err != nil {
		return nil, err
	}
	at := axis.Type()
	if !(at.Numeric() || at == types.DateTime || at == types.TimeSpan) {
		return nil, a.errf(o.On, "SEM0150", "The make-series axis must be a number, datetime or timespan, found %s", at)
	}
	m := &MakeSeries{In: in, Keys: g.Keys, Aggs: g.Aggs, Axis: axis, AxisName: exprName(axis)}
	if m.AxisName == "" {
		m.AxisName = "Column1"
	}
	for i, it := range m.Aggs {
		var def Expr = &Const{V: int64(0), T: types.Long}
		if i < len(o.Defaults) && o.Defaults[i] != nil {
			d, err := a.scalar(e, nil, o.Defaults[i])
			if err != nil {
				return nil, err
			}
			def = d
		}
		m.Defaults = append(m.Defaults, coerceValue(def, it.X.Type()))
	}
	for _, x := range []struct {
		src ast.Expr
		dst *Expr
	}{{o.From, &m.From}, {o.To, &m.To}, {o.Step, &m.Step}} {
		if x.src == nil {
			continue
		}
		v, err := a.scalar(e, nil, x.src)
		if err != nil {
			return nil, err
		}
		*x.dst = v
	}
	for _, k := range m.Keys {
		m.Cols = append(m.Cols, schema.Column{Name: k.Name, Type: k.X.Type()})
	}
	for _, it := range m.Aggs {
		m.Cols = append(m.Cols, schema.Column{Name: it.Name, Type: types.Dynamic})
	}
	m.Cols = append(m.Cols, schema.Column{Name: m.AxisName, Type: types.Dynamic})
	return m, nil
}
