package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Array and set functions over dynamic arrays (JSON lists).

// sortKey orders JSON elements like Kusto: numbers by value, then strings.
const sortKey = "struct_pack(n := TRY_CAST(x ->> '$' AS DOUBLE), s := x ->> '$', v := x)"

func arraySort(desc bool) lowerFunc {
	sorter := "list_sort"
	if desc {
		sorter = "list_reverse_sort"
	}
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l := asJSONList(dyn(call, a, 0))
		return tmpl("to_json(list_transform("+sorter+"(list_transform({}, x -> "+sortKey+")), e -> e.v))", l), nil
	}
}

func arrayShift(dir int64) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l := asJSONList(dyn(call, a, 0))
		n := bin("*", cast(a[1], "BIGINT"), i64(dir))
		var fill sqlast.Expr = sqlast.Keyword("'null'::JSON")
		if len(a) == 3 {
			fill = dyn(call, a, 2)
		}
		return tmpl("to_json(list_transform(range(len({})), i -> CASE WHEN i + {} >= 0 AND i + {} < len({}) THEN {}[i + {} + 1] ELSE {} END))", l, n, n, l, l, n, fill), nil
	}
}

// arrayRotate moves elements dir*n places towards the start, wrapping around.
func arrayRotate(dir int64) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l := asJSONList(dyn(call, a, 0))
		n := bin("*", cast(a[1], "BIGINT"), i64(dir))
		return tmpl("to_json(list_transform(range(len({})), i -> {}[(((i + {}) % len({})) + len({})) % len({}) + 1]))", l, l, n, l, l, l), nil
	}
}

func setOp(name string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		var out sqlast.Expr
		for i := range a {
			l := tmpl("list_transform({}, x -> CAST(x AS VARCHAR))", asJSONList(dyn(call, a, i)))
			switch {
			case out == nil:
				out = fn("list_distinct", l)
			case name == "union":
				out = fn("list_distinct", fn("list_concat", out, l))
			case name == "intersect":
				out = fn("list_intersect", out, l)
			case name == "difference":
				out = tmpl("list_filter({}, x -> NOT list_contains({}, x))", out, l)
			}
		}
		return tmpl("to_json(list_transform({}, x -> CAST(x AS JSON)))", out), nil
	}
}

func init() {
	register(map[string]lowerFunc{
		"array_sort_asc":    arraySort(false),
		"array_sort_desc":   arraySort(true),
		"array_shift_left":  arrayShift(1),
		"array_shift_right": arrayShift(-1),
		"array_iff": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			cond := asJSONList(dyn(call, a, 0))
			pick := func(i int) sqlast.Expr {
				x := dyn(call, a, i)
				return tmpl("CASE WHEN json_type({}) = 'ARRAY' THEN COALESCE(json_extract({}, '$[' || i || ']'), 'null'::JSON) ELSE {} END", x, x, x)
			}
			return tmpl("to_json(list_transform(range(len({})), i -> CASE WHEN COALESCE(TRY_CAST({}[i + 1] ->> '$' AS BOOLEAN), TRY_CAST({}[i + 1] ->> '$' AS DOUBLE) <> 0) THEN {} ELSE {} END))",
				cond, cond, cond, pick(1), pick(2)), nil
		},
		"set_union":      setOp("union"),
		"set_intersect":  setOp("intersect"),
		"set_difference": setOp("difference"),
		"jaccard_index": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			u, _ := setOp("union")(c, call, a)
			in, _ := setOp("intersect")(c, call, a)
			return tmpl("CAST(json_array_length({}) AS DOUBLE) / nullif(json_array_length({}), 0)", in, u), nil
		},
		"zip": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var lens, elems []sqlast.Expr
			for i := range a {
				l := asJSONList(dyn(call, a, i))
				lens = append(lens, tmpl("len({})", l))
				elems = append(elems, tmpl("COALESCE({}[i + 1], 'null'::JSON)", l))
			}
			return tmpl("to_json(list_transform(range(greatest("+placeholders(len(lens))+")), i -> json_array("+placeholders(len(elems))+")))", append(lens, elems...)...), nil
		},
		"tohex": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			h := fn("lower", fn("hex", cast(a[0], "BIGINT")))
			if len(a) == 2 {
				return fn("lpad", h, a[1], sqlast.Keyword("'0'")), nil
			}
			return h, nil
		},
		"regex_quote": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("regexp_escape", strArg(call, a, 0)), nil
		},
	})
}

func init() {
	register(map[string]lowerFunc{
		"array_rotate_left":  arrayRotate(1),
		"array_rotate_right": arrayRotate(-1),
		// array_split(arr, indices): the pieces between the split points;
		// negative indices count from the end, points are clamped to the array.
		"array_split": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := asJSONList(dyn(call, a, 0))
			var idx sqlast.Expr
			if argType(call, 1) == types.Dynamic {
				idx = tmpl("list_transform(COALESCE({}, []), x -> CAST(x AS BIGINT))", asJSONList(a[1]))
			} else {
				idx = tmpl("[CAST({} AS BIGINT)]", a[1])
			}
			n := tmpl("len({})", l)
			points := tmpl("list_concat([0], list_transform({}, p -> least(greatest(CASE WHEN p < 0 THEN p + {} ELSE p END, 0), {})), [{}])", idx, n, n, n)
			return tmpl("to_json(list_transform(range(len({}) - 1), k -> {}[{}[k + 1] + 1:{}[k + 2]]))", points, l, points, points), nil
		},
		"set_has_element": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			v := cast(dyn(call, a, 1), "VARCHAR")
			return tmpl("COALESCE(list_contains(list_transform({}, x -> CAST(x AS VARCHAR)), {}), FALSE)", asJSONList(dyn(call, a, 0)), v), nil
		},
		// repeat(value, count): count copies of value; none when count <= 0.
		"repeat": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			v := fn("COALESCE", dyn(call, a, 0), sqlast.Keyword("'null'::JSON"))
			return tmpl("to_json(list_transform(range(greatest(CAST({} AS BIGINT), 0)), i -> {}))", a[1], v), nil
		},
		"has_any_index": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := strArg(call, a, 0)
			l := asJSONList(dyn(call, a, 1))
			return tmpl("COALESCE(list_position(list_transform({}, x -> regexp_matches({}, '(?i)(^|[^\\pL\\pN])' || regexp_escape(COALESCE(x ->> '$', '')) || '($|[^\\pL\\pN])')), true), 0) - 1", l, s), nil
		},
		"bag_zip": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			k := tmpl("list_transform({}, x -> (x ->> '$'))", asJSONList(dyn(call, a, 0)))
			v := asJSONList(dyn(call, a, 1))
			return tmpl("to_json(map_from_entries(list_transform(range(len({})), i -> struct_pack(k := {}[i + 1], v := COALESCE({}[i + 1], 'null'::JSON)))))", k, k, v), nil
		},
	})
}

func init() {
	// With several arrays, array_sort_* sorts the first and reorders the
	// others the same way; the result is an array of the arrays.
	multiSort := func(desc bool) lowerFunc {
		single := arraySort(desc)
		return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if len(a) == 1 {
				return single(c, call, a)
			}
			sorter := "list_sort"
			if desc {
				sorter = "list_reverse_sort"
			}
			key := asJSONList(dyn(call, a, 0))
			perm := tmpl("list_transform("+sorter+"(list_transform(range(len({})), i -> struct_pack(n := TRY_CAST({}[i + 1] ->> '$' AS DOUBLE), s := {}[i + 1] ->> '$', i := i))), e -> e.i)", key, key, key)
			var arrays []sqlast.Expr
			for n := range a {
				l := asJSONList(dyn(call, a, n))
				arrays = append(arrays, tmpl("to_json(list_transform({}, i -> {}[i + 1]))", perm, l))
			}
			return tmpl("json_array("+placeholders(len(arrays))+")", arrays...), nil
		}
	}
	register(map[string]lowerFunc{"array_sort_asc": multiSort(false), "array_sort_desc": multiSort(true)})
}
