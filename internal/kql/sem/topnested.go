package sem

import (
	"odx/internal/kql/ast"
	"odx/internal/kql/schema"
)

// topNested builds each level as an aggregate over the keys of the levels
// so far, keeps the top N per parent group, and joins the levels on the
// parent keys: output is key1, agg1, key2, agg2, ...
func (a *analyzer) topNested(e *env, in Node, o *ast.TopNested) (Node, error) {
	var result Node
	var keys []*ast.NamedExpr
	var keyNames []string
	for _, l := range o.Levels {
		keys = append(keys, l.Of)
		n, err := a.summarize(e, in, []*ast.NamedExpr{l.By}, keys, o)
		if err != nil {
			return nil, err
		}
		agg := n.(*Aggregate)
		if len(agg.Aggs) != 1 {
			return nil, a.errf(o, "SEM0170", "top-nested needs one aggregation per level")
		}
		aggCol := agg.Cols[len(agg.Cols)-1]
		keyCol := agg.Cols[len(keys)-1]
		var level Node = agg
		if l.N != nil {
			nx, err := a.scalar(e, nil, l.N)
			if err != nil {
				return nil, err
			}
			desc := l.Order != "asc"
			sorted := &Sort{In: agg, Keys: []SortKey{{X: &ColumnRef{Name: aggCol.Name, T: aggCol.Type}, Desc: desc, NullsFirst: !desc}}}
			level = &Limit{In: sorted, N: nx, PartitionBy: append([]string(nil), keyNames...)}
		}
		if result == nil {
			result = level
		} else {
			j := &Join{L: result, R: level, Kind: "inner"}
			for _, k := range keyNames {
				lc, _ := findCol(result.Schema(), k)
				j.LeftKeys = append(j.LeftKeys, &ColumnRef{Name: k, T: lc.Type, Side: "left"})
				j.RightKeys = append(j.RightKeys, &ColumnRef{Name: k, T: lc.Type, Side: "right"})
			}
			for _, c := range result.Schema() {
				j.Cols = append(j.Cols, c)
				j.From = append(j.From, JoinCol{Side: "left", Name: c.Name})
			}
			for _, c := range []schema.Column{keyCol, aggCol} {
				j.Cols = append(j.Cols, c)
				j.From = append(j.From, JoinCol{Side: "right", Name: c.Name})
			}
			result = j
		}
		keyNames = append(keyNames, keyCol.Name)
	}
	return result, nil
}
