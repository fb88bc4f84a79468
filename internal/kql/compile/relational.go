package compile

import (
	"odx/internal/kql/schema"
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// join lowers every Kusto join kind. innerunique keeps one left row per key
// before joining, which is Kusto's default.
func (c *compiler) join(v *sem.Join) (*sqlast.Select, error) {
	lq, err := c.node(v.L)
	if err != nil {
		return nil, err
	}
	rq, err := c.node(v.R)
	if err != nil {
		return nil, err
	}
	la, ra := c.alias(), c.alias()
	saved := c.sides
	c.sides = map[string]string{"left": la, "right": ra}
	defer func() { c.sides = saved }()
	if v.Kind == "innerunique" {
		var keys []sqlast.Expr
		for _, k := range v.LeftKeys {
			keys = append(keys, col(k.(*sem.ColumnRef).Name))
		}
		lq = &sqlast.Select{From: &sqlast.SubFrom{Q: lq, Alias: c.alias()},
			Qualify: bin("=", &sqlast.Call{Name: "row_number", Over: &sqlast.Window{PartitionBy: keys}}, i64(1))}
	}
	var on sqlast.Expr
	for i := range v.LeftKeys {
		l, err := c.expr(v.LeftKeys[i])
		if err != nil {
			return nil, err
		}
		r, err := c.expr(v.RightKeys[i])
		if err != nil {
			return nil, err
		}
		lt, rt := v.LeftKeys[i].Type(), v.RightKeys[i].Type()
		if lt != rt {
			if lt == types.Dynamic || rt == types.Dynamic {
				l, r = toVarchar(l, lt), toVarchar(r, rt)
			} else if lt.Numeric() && rt.Numeric() {
				t := promoted(lt, rt)
				l, r = cast(l, t.DuckDB()), cast(r, t.DuckDB())
			}
		}
		// Kusto joins match null keys with null keys.
		eq := bin("IS NOT DISTINCT FROM", l, r)
		if on == nil {
			on = eq
		} else {
			on = bin("AND", on, eq)
		}
	}
	if v.Extra != nil {
		x, err := c.expr(v.Extra)
		if err != nil {
			return nil, err
		}
		if on == nil {
			on = x
		} else {
			on = bin("AND", on, x)
		}
	}
	if on == nil {
		on = sqlast.Keyword("TRUE")
	}
	kind := map[string]string{"innerunique": "INNER", "inner": "INNER", "leftouter": "LEFT", "rightouter": "RIGHT",
		"fullouter": "FULL", "leftsemi": "SEMI", "leftanti": "ANTI", "rightsemi": "SEMI", "rightanti": "ANTI"}[v.Kind]
	lf := sqlast.From(&sqlast.SubFrom{Q: lq, Alias: la})
	rf := sqlast.From(&sqlast.SubFrom{Q: rq, Alias: ra})
	if v.Kind == "rightsemi" || v.Kind == "rightanti" {
		lf, rf = rf, lf
	}
	q := &sqlast.Select{From: &sqlast.Join{Kind: kind, L: lf, R: rf, On: on}}
	for i, cl := range v.Cols {
		src := v.From[i]
		q.Items = append(q.Items, sqlast.SelectItem{X: &sqlast.Col{Table: c.sides[src.Side], Name: src.Name}, Alias: cl.Name})
	}
	return q, nil
}

// union aligns inputs by name; missing columns are NULL, and the optional
// source column names each row's input.
func (c *compiler) union(v *sem.Union) (*sqlast.Select, error) {
	var first, last *sqlast.Select
	for i, in := range v.Inputs {
		f, err := c.from(in)
		if err != nil {
			return nil, err
		}
		q := &sqlast.Select{From: f}
		incols := in.Schema()
		for j, uc := range v.Cols {
			var x sqlast.Expr
			if uc.Name == v.SourceCol && v.SourceCol != "" {
				x = str(v.SourceNames[i])
			} else {
				x = null(uc.Type)
				origin := schema.Column{Name: uc.Name, Type: uc.Type}
				if j < len(v.Origin) {
					origin = v.Origin[j]
				}
				for _, ic := range incols {
					if ic.Name == origin.Name && ic.Type == origin.Type {
						x = col(ic.Name)
						break
					}
				}
			}
			q.Items = append(q.Items, sqlast.SelectItem{X: x, Alias: uc.Name})
		}
		if first == nil {
			first = q
		} else {
			last.SetOp, last.Next = "UNION ALL", q
		}
		last = q
	}
	return &sqlast.Select{From: &sqlast.SubFrom{Q: first, Alias: c.alias()}}, nil
}

// mvExpand turns arrays into rows (property bags into one-property bags);
// several columns expand in lockstep.
func (c *compiler) mvExpand(v *sem.MvExpand) (*sqlast.Select, error) {
	f, err := c.from(v.In)
	if err != nil {
		return nil, err
	}
	// values: each expanded expression computed once
	values := &sqlast.Select{From: f, Items: []sqlast.SelectItem{{X: &sqlast.Star{}}}}
	inner := &sqlast.Select{Items: []sqlast.SelectItem{{X: &sqlast.Star{}}}}
	var valueCols []string
	var lists []string
	var indexCol string
	bagAs := "json_object(k, json_extract({}, '$.' || to_json(k)))"
	for i, it := range v.Items {
		if it.X == nil {
			indexCol = it.Name
			continue
		}
		x, err := c.expr(it.X)
		if err != nil {
			return nil, err
		}
		if it.X.Type() != types.Dynamic {
			x = toDynamic(x, it.X.Type())
		}
		name := "__mv" + itoa(i)
		lists = append(lists, name)
		values.Items = append(values.Items, sqlast.SelectItem{X: x, Alias: "__mvx" + itoa(i)})
		valueCols = append(valueCols, "__mvx"+itoa(i))
		x = col("__mvx" + itoa(i))
		pair := bagAs
		if !it.Bag {
			// bagexpansion=array: each property becomes [key, value]
			pair = "json_array(k, json_extract({}, '$.' || to_json(k)))"
		}
		expr := "CASE WHEN json_type({}) = 'ARRAY' THEN CAST({} AS JSON[]) " +
			"WHEN json_type({}) = 'OBJECT' THEN list_transform(json_keys({}), k -> " + pair + ") " +
			"ELSE [{}] END"
		if columnType(v.Cols, it.Name) == types.String {
			// to typeof(string): DuckDB's JSON to VARCHAR[] cast yields each
			// element's text (strings unquoted) in one pass, what ->> '$'
			// gives element by element over JSON[] at about twice the cost
			expr = "CASE WHEN json_type({}) = 'ARRAY' THEN CAST({} AS VARCHAR[]) " +
				"WHEN json_type({}) = 'OBJECT' THEN list_transform(json_keys({}), k -> CAST(" + pair + " AS VARCHAR)) " +
				"ELSE [{} ->> '$'] END"
		}
		inner.Items = append(inner.Items, sqlast.SelectItem{X: tmpl(expr, x, x, x, x, x, x), Alias: name})
	}
	inner.From = &sqlast.SubFrom{Q: values, Alias: c.alias()}
	inner.Items[0] = sqlast.SelectItem{X: &sqlast.Star{Exclude: valueCols}}
	// unnest in the select list keeps the input order and zips several
	// lists, padding the shorter ones with nulls, as Kusto does.
	mid := &sqlast.Select{From: &sqlast.SubFrom{Q: inner, Alias: c.alias()}, Items: []sqlast.SelectItem{{X: &sqlast.Star{Exclude: lists}}}}
	var maxLen sqlast.Expr
	for i, l := range lists {
		mid.Items = append(mid.Items, sqlast.SelectItem{X: fn("unnest", col(l)), Alias: "__e" + l[4:]})
		ln := tmpl("len({})", col(l))
		if i == 0 {
			maxLen = ln
		} else {
			maxLen = fn("greatest", maxLen, ln)
		}
	}
	if indexCol != "" || v.Limit != nil {
		mid.Items = append(mid.Items, sqlast.SelectItem{X: fn("unnest", fn("range", maxLen)), Alias: "__mvi"})
	}
	q := &sqlast.Select{From: &sqlast.SubFrom{Q: mid, Alias: c.alias()}}
	expanded := map[string]int{}
	for i, it := range v.Items {
		if it.X != nil {
			expanded[it.Name] = i
		}
	}
	for _, cl := range v.Cols {
		if cl.Name == indexCol && indexCol != "" {
			q.Items = append(q.Items, sqlast.SelectItem{X: col("__mvi"), Alias: cl.Name})
			continue
		}
		if i, ok := expanded[cl.Name]; ok {
			var x sqlast.Expr = col("__e" + itoa(i))
			// strings were expanded as VARCHAR[] above: already text
			if cl.Type != types.Dynamic && cl.Type != types.String {
				x = fromDynamic(x, cl.Type)
			}
			q.Items = append(q.Items, sqlast.SelectItem{X: x, Alias: cl.Name})
			continue
		}
		q.Items = append(q.Items, sqlast.SelectItem{X: col(cl.Name), Alias: cl.Name})
	}
	if v.Limit != nil {
		l, err := c.expr(v.Limit)
		if err != nil {
			return nil, err
		}
		q.Where = bin("<", col("__mvi"), l)
	}
	return q, nil
}

// columnType is the type of the column name in cols (dynamic when absent).
func columnType(cols []schema.Column, name string) types.Type {
	for _, cl := range cols {
		if cl.Name == name {
			return cl.Type
		}
	}
	return types.Dynamic
}

// parse extracts each column's group with regexp_extract. A pattern that
// does not match extracts "" everywhere, which is Kusto's result for string
// columns; typed columns then fail to convert. Unless kind=relaxed, a row
// whose typed values do not all convert yields nulls (and "") everywhere.
func (c *compiler) parse(v *sem.Parse) (*sqlast.Select, error) {
	f, err := c.from(v.In)
	if err != nil {
		return nil, err
	}
	x, err := c.expr(v.X)
	if err != nil {
		return nil, err
	}
	s := toVarchar(x, v.X.Type())
	re := v.Regex
	if v.Flags != "" {
		fl := ""
		for _, ch := range v.Flags {
			if ch == 'i' || ch == 's' || ch == 'm' || ch == 'U' {
				fl += string(ch)
			}
		}
		if fl != "" {
			re = "(?" + fl + ")" + re
		}
	}
	reArg := str(re)
	mid := &sqlast.Select{From: f, Items: []sqlast.SelectItem{{X: &sqlast.Star{}}}}
	var ok sqlast.Expr
	typed := false
	for i, o := range v.Outputs {
		var val sqlast.Expr = fn("regexp_extract", s, reArg, i64(int64(i+1)))
		if o.Type != types.String {
			if o.Type == types.Long || o.Type == types.Int {
				// the group matched -?\d+ already
				val = tryCast(val, o.Type.DuckDB())
			} else {
				val = convert(val, types.String, o.Type)
			}
			typed = true
			if !v.Relaxed {
				cond := notNull(col("__pv" + itoa(i)))
				if ok == nil {
					ok = cond
				} else {
					ok = bin("AND", ok, cond)
				}
			}
		}
		mid.Items = append(mid.Items, sqlast.SelectItem{X: val, Alias: "__pv" + itoa(i)})
	}
	if v.Where && (!typed || v.Relaxed) {
		mid.Items = append(mid.Items, sqlast.SelectItem{X: fn("regexp_matches", s, reArg), Alias: "__pm"})
		if ok == nil {
			ok = col("__pm")
		} else {
			ok = bin("AND", ok, col("__pm"))
		}
	}
	if ok == nil {
		ok = sqlast.Keyword("TRUE")
	}
	q := &sqlast.Select{From: &sqlast.SubFrom{Q: mid, Alias: c.alias()}}
	group := map[string]int{}
	for i, o := range v.Outputs {
		group[o.Name] = i
	}
	for _, cl := range v.Cols {
		g, isOut := group[cl.Name]
		if !isOut {
			q.Items = append(q.Items, sqlast.SelectItem{X: col(cl.Name), Alias: cl.Name})
			continue
		}
		failed := null(cl.Type)
		if cl.Type == types.String {
			failed = sqlast.Keyword("''")
		}
		q.Items = append(q.Items, sqlast.SelectItem{X: caseWhen(ok, col("__pv"+itoa(g)), failed), Alias: cl.Name})
	}
	if v.Where {
		q.Where = ok
	}
	return q, nil
}

// partitionedLimit keeps the first N rows of each partition (take/top
// inside mv-apply), in the order of a sort directly below, if any.
func (c *compiler) partitionedLimit(v *sem.Limit) (*sqlast.Select, error) {
	in := v.In
	w := &sqlast.Window{}
	for _, p := range v.PartitionBy {
		w.PartitionBy = append(w.PartitionBy, col(p))
	}
	if s, ok := in.(*sem.Sort); ok {
		for _, k := range s.Keys {
			x, err := c.expr(k.X)
			if err != nil {
				return nil, err
			}
			w.OrderBy = append(w.OrderBy, sqlast.OrderItem{X: x, Desc: k.Desc, NullsFirst: k.NullsFirst})
		}
		in = s.In
	}
	f, err := c.from(in)
	if err != nil {
		return nil, err
	}
	n, err := c.expr(v.N)
	if err != nil {
		return nil, err
	}
	return &sqlast.Select{From: f, Qualify: bin("<=", &sqlast.Call{Name: "row_number", Over: w}, n)}, nil
}
