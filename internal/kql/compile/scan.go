package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// scanOp lowers a single-step scan to a recursive CTE that walks the rows
// in order (row_number over the input), carrying the state variables.
// It is linear in rows per step; meant for modest inputs.
func (c *compiler) scanOp(v *sem.ScanOp) (*sqlast.Select, error) {
	in, err := c.node(v.In)
	if err != nil {
		return nil, err
	}
	base := &sqlast.Select{From: &sqlast.SubFrom{Q: in, Alias: c.alias()},
		Items: []sqlast.SelectItem{{X: &sqlast.Star{}}, {X: &sqlast.Call{Name: "row_number", Over: &sqlast.Window{}}, Alias: "__rn"}}}
	saved := c.sides
	c.sides = map[string]string{"row": "b", "state": "st"}
	defer func() { c.sides = saved }()
	anchor := &sqlast.Select{Items: []sqlast.SelectItem{{X: cast(i64(0), "BIGINT"), Alias: "__rn"}}}
	for _, it := range v.Vars {
		x, err := c.expr(it.X)
		if err != nil {
			return nil, err
		}
		anchor.Items = append(anchor.Items, sqlast.SelectItem{X: cast(x, it.X.Type().DuckDB()), Alias: it.Name})
	}
	anchor.Items = append(anchor.Items, sqlast.SelectItem{X: sqlast.Keyword("FALSE"), Alias: "__m"})
	cond, err := c.expr(v.Cond)
	if err != nil {
		return nil, err
	}
	cond = fn("COALESCE", c.truth(v.Cond, cond), sqlast.Keyword("FALSE"))
	step := &sqlast.Select{
		Items: []sqlast.SelectItem{{X: &sqlast.Col{Table: "b", Name: "__rn"}, Alias: "__rn"}},
		From: &sqlast.Join{Kind: "INNER", L: &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_state"), Alias: "st"},
			R:  &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_rows"), Alias: "b"},
			On: bin("=", &sqlast.Col{Table: "b", Name: "__rn"}, bin("+", &sqlast.Col{Table: "st", Name: "__rn"}, i64(1)))},
	}
	for _, it := range v.Vars {
		prev := sqlast.Expr(&sqlast.Col{Table: "st", Name: it.Name})
		val := prev
		if x, ok := v.Assign[it.Name]; ok {
			e, err := c.expr(x)
			if err != nil {
				return nil, err
			}
			val = caseWhen(cond, cast(e, it.X.Type().DuckDB()), prev)
		}
		step.Items = append(step.Items, sqlast.SelectItem{X: val, Alias: it.Name})
	}
	step.Items = append(step.Items, sqlast.SelectItem{X: cond, Alias: "__m"})
	anchor.SetOp, anchor.Next = "UNION ALL", step
	out := &sqlast.Select{
		Recursive: true,
		With:      []sqlast.CTE{{Name: "__scan_rows", Q: base}, {Name: "__scan_state", Q: anchor}},
		From: &sqlast.Join{Kind: "INNER", L: &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_rows"), Alias: "b"},
			R:  &sqlast.Table{SQL: sqlast.QuoteIdent("__scan_state"), Alias: "st"},
			On: bin("=", &sqlast.Col{Table: "st", Name: "__rn"}, &sqlast.Col{Table: "b", Name: "__rn"})},
		Where:   &sqlast.Col{Table: "st", Name: "__m"},
		OrderBy: []sqlast.OrderItem{{X: &sqlast.Col{Table: "b", Name: "__rn"}}},
	}
	nIn := len(v.Cols) - len(v.Vars)
	for i, cl := range v.Cols {
		t := "b"
		if i >= nIn {
			t = "st"
		}
		out.Items = append(out.Items, sqlast.SelectItem{X: &sqlast.Col{Table: t, Name: cl.Name}, Alias: cl.Name})
	}
	return out, nil
}
