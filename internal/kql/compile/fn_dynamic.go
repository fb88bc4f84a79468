package compile

import (
	"encoding/json"
	"strconv"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Dynamic (JSON) functions and member/index access.

// jsonPath builds a constant JSON path for d.a[0]["b"] chains; ok is false
// when some key is not a constant.
func jsonPath(x sem.Expr) (base sem.Expr, path string, ok bool) {
	c, isCall := x.(*sem.Call)
	if !isCall || c.Fn != "_index" {
		return x, "$", true
	}
	base, path, ok = jsonPath(c.Args[0])
	if !ok {
		return nil, "", false
	}
	k, isConst := c.Args[1].(*sem.Const)
	if !isConst {
		return nil, "", false
	}
	switch v := k.V.(type) {
	case string:
		q, _ := json.Marshal(v)
		return base, path + "." + string(q), true
	case int64:
		if v < 0 {
			return base, path + "[#" + strconv.FormatInt(v, 10) + "]", true
		}
		return base, path + "[" + strconv.FormatInt(v, 10) + "]", true
	case int32:
		return base, path + "[" + strconv.FormatInt(int64(v), 10) + "]", true
	}
	return nil, "", false
}

func asJSONList(x sqlast.Expr) sqlast.Expr {
	return tmpl("CASE WHEN json_type({}) = 'ARRAY' THEN CAST({} AS JSON[]) ELSE NULL END", x, x)
}

func dyn(call *sem.Call, a []sqlast.Expr, i int) sqlast.Expr {
	return toDynamic(a[i], argType(call, i))
}

func init() {
	register(map[string]lowerFunc{
		"_index": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if base, path, ok := jsonPath(call); ok {
				b, err := c.expr(base)
				if err != nil {
					return nil, err
				}
				return fn("json_extract", b, str(path)), nil
			}
			if t := argType(call, 1); t == types.Long || t == types.Int {
				k := a[1]
				return tmpl("json_extract({}, CASE WHEN {} < 0 THEN '$[#' || CAST({} AS VARCHAR) || ']' ELSE '$[' || CAST({} AS VARCHAR) || ']' END)", a[0], k, k, k), nil
			}
			return tmpl("json_extract({}, '$.' || to_json({}))", a[0], strArg(call, a, 1)), nil
		},
		"array_length": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := dyn(call, a, 0)
			return tmpl("CASE WHEN json_type({}) = 'ARRAY' THEN CAST(json_array_length({}) AS BIGINT) ELSE NULL END", x, x), nil
		},
		"array_concat": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var lists []sqlast.Expr
			for i := range a {
				lists = append(lists, asJSONList(dyn(call, a, i)))
			}
			var out sqlast.Expr = lists[0]
			for _, l := range lists[1:] {
				out = fn("list_concat", out, l)
			}
			return fn("to_json", out), nil
		},
		"array_slice": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := asJSONList(dyn(call, a, 0))
			n := tmpl("len({})", l)
			s := tmpl("CASE WHEN {} < 0 THEN greatest({} + {}, 0) ELSE {} END", a[1], n, a[1], a[1])
			e := tmpl("CASE WHEN {} < 0 THEN {} + {} ELSE least({}, {} - 1) END", a[2], n, a[2], a[2], n)
			return tmpl("to_json(CASE WHEN {} > {} THEN [] ELSE list_slice({}, {} + 1, {} + 1) END)", s, e, l, s, e), nil
		},
		"array_reverse": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("to_json", fn("list_reverse", asJSONList(dyn(call, a, 0)))), nil
		},
		"array_index_of": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := asJSONList(dyn(call, a, 0))
			v := cast(dyn(call, a, 1), "VARCHAR")
			return tmpl("CASE WHEN {} IS NULL THEN NULL ELSE COALESCE(list_position(list_transform({}, x -> CAST(x AS VARCHAR)), {}), 0) - 1 END", l, l, v), nil
		},
		"array_sum": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := asJSONList(dyn(call, a, 0))
			return tmpl("CASE WHEN len({}) = 0 THEN NULL ELSE list_sum(list_transform({}, x -> TRY_CAST(x ->> '$' AS DOUBLE))) END", l, l), nil
		},
		"bag_keys": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := dyn(call, a, 0)
			return tmpl("CASE WHEN json_type({}) = 'OBJECT' THEN to_json(json_keys({})) ELSE NULL END", x, x), nil
		},
		"bag_merge": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			// The first bag wins on a key conflict and keys keep first-seen
			// order: concatenate every bag's entries and keep each key's first
			// entry. (json_merge_patch would merge nested objects and reorder.)
			var entries sqlast.Expr
			for i := range a {
				x := dyn(call, a, i)
				e := tmpl("CASE WHEN json_type({}) = 'OBJECT' THEN map_entries(CAST({} AS MAP(VARCHAR, JSON))) ELSE [] END", x, x)
				if entries == nil {
					entries = e
				} else {
					entries = fn("list_concat", entries, e)
				}
			}
			return tmpl("to_json(map_from_entries(list_filter({}, (e, i) -> list_position(list_transform({}, f -> f.key), e.key) = i)))", entries, entries), nil
		},
		"bag_remove_keys": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			// Each key is a top-level name or a JSONPath ('$.a.b'). A key is
			// removed by a merge patch whose leaf is null, applied only when
			// the path exists (a patch on a missing path would add objects).
			bag := dyn(call, a, 0)
			keys := asJSONList(dyn(call, a, 1))
			const path = "(CASE WHEN starts_with(k ->> '$', '$') THEN k ->> '$' ELSE '$.' || to_json(k ->> '$') END)"
			const segs = "(CASE WHEN starts_with(k ->> '$', '$.') THEN string_split((k ->> '$')[3:], '.') ELSE [k ->> '$'] END)"
			const patch = "list_reduce(list_reverse(" + segs + "), (p, g) -> '{' || to_json(g) || ':' || p || '}', 'null')"
			return tmpl("CASE WHEN json_type({}) <> 'OBJECT' THEN NULL ELSE list_reduce(COALESCE({}, []), (acc, k) -> CASE WHEN json_exists(acc, "+path+") THEN json_merge_patch(acc, CAST("+patch+" AS JSON)) ELSE acc END, CAST({} AS JSON)) END", bag, keys, bag), nil
		},
		// _bag_pack_nonnull(name, value, ...): bag_pack without the null
		// values (find's pack_ holds only the columns a row has)
		"_bag_pack_nonnull": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if len(a) == 0 {
				return sqlast.Keyword("json_object()"), nil
			}
			packed, err := lowerings["bag_pack"](c, call, a)
			if err != nil {
				return nil, err
			}
			return tmpl("to_json(map_from_entries(list_filter(map_entries(CAST({} AS MAP(VARCHAR, JSON))), e -> json_type(e.value) <> 'NULL')))", packed), nil
		},
		// bag_pack_columns(c1, c2, ...): a bag keyed by the column names.
		"bag_pack_columns": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var args []sqlast.Expr
			for i, x := range call.Args {
				ref, ok := x.(*sem.ColumnRef)
				if !ok {
					return nil, unsupported("bag_pack_columns expects column names")
				}
				args = append(args, str(ref.Name), fn("COALESCE", dyn(call, a, i), sqlast.Keyword("'null'::JSON")))
			}
			return fn("json_object", args...), nil
		},
		"bag_has_key": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			x := dyn(call, a, 0)
			return tmpl("COALESCE(json_type({}) = 'OBJECT' AND list_contains(json_keys({}), {}), FALSE)", x, x, strArg(call, a, 1)), nil
		},
		"bag_pack": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if len(a)%2 != 0 {
				return nil, unsupported("bag_pack expects name/value pairs")
			}
			var args []sqlast.Expr
			for i := 0; i < len(a); i += 2 {
				args = append(args, strArg(call, a, i), fn("COALESCE", dyn(call, a, i+1), sqlast.Keyword("'null'::JSON")))
			}
			return fn("json_object", args...), nil
		},
		"pack_array": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var args []sqlast.Expr
			for i := range a {
				args = append(args, fn("COALESCE", dyn(call, a, i), sqlast.Keyword("'null'::JSON")))
			}
			return fn("json_array", args...), nil
		},
		"range": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			step := sqlast.Expr(i64(1))
			if len(a) == 3 {
				step = a[2]
			}
			switch argType(call, 0) {
			case types.DateTime:
				return tmpl("to_json(list_transform(generate_series(0, ({} - {}) // {}), i -> {}))",
					a[1], a[0], step, formatDateTime(tmpl("({} + i * {})", a[0], step))), nil
			case types.Real:
				return tmpl("to_json(list_transform(generate_series(0, CAST(floor(({} - {}) / {}) AS BIGINT)), i -> {} + i * {}))", a[1], a[0], step, a[0], step), nil
			}
			return tmpl("to_json(generate_series(CAST({} AS BIGINT), CAST({} AS BIGINT), CAST({} AS BIGINT)))", a[0], a[1], step), nil
		},
		"new_guid": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("uuid"), nil
		},
		"ingestion_time": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return &sqlast.Subquery{Q: &sqlast.Select{
				Items: []sqlast.SelectItem{{X: dtFromTimestampNs(&sqlast.Col{Table: "e", Name: "ingestion_time"})}},
				From:  &sqlast.Table{SQL: extentsTable(), Alias: "e"},
				Where: bin("=", &sqlast.Col{Table: "e", Name: "extent_id"}, a[0]),
			}}, nil
		},
	})
}
