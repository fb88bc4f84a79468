package compile

import (
	"encoding/json"
	"regexp"
	"strings"

	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// String operators and functions. Kusto strings are never null; inputs that
// might be null are treated as "".

func init() {
	register(map[string]lowerFunc{
		// format_bytes(value [, precision [, units]]): value in the largest
		// 1024-based unit (Bytes, KB, MB, GB, TB, PB) not above it, or in the
		// given unit, with precision decimals (0 by default).
		"format_bytes": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			v := cast(a[0], "DOUBLE")
			var prec sqlast.Expr = i64(0)
			if len(a) > 1 {
				prec = cast(a[1], "BIGINT")
			}
			units := "['Bytes', 'KB', 'MB', 'GB', 'TB', 'PB']"
			const auto = "CAST(least(greatest(floor(log(greatest(abs({}), 1)) / log(1024)), 0), 5) AS BIGINT)"
			idx := tmpl(auto, v)
			if len(a) > 2 {
				u := strArg(call, a, 2)
				idx = tmpl("COALESCE(list_position("+units+", CASE WHEN upper({}) = 'BYTES' THEN 'Bytes' ELSE upper({}) END) - 1, "+auto+")", u, u, v)
			}
			return tmpl("CASE WHEN {} IS NULL THEN '' ELSE printf('%.' || CAST(greatest({}, 0) AS VARCHAR) || 'f', round({} / pow(1024, {}), CAST(greatest({}, 0) AS INTEGER))) || ' ' || "+units+"[{} + 1] END",
				v, prec, v, idx, prec, idx), nil
		},
		// translate(searchList, replacementList, source): each character of
		// searchList becomes the character at its position in
		// replacementList, or that list's last character past its end; an
		// empty replacementList deletes them.
		"translate": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			from, to, src := strArg(call, a, 0), strArg(call, a, 1), strArg(call, a, 2)
			padded := tmpl("CASE WHEN length({}) = 0 THEN '' ELSE rpad({}, CAST(greatest(length({}), length({})) AS INTEGER), right({}, 1)) END", to, to, from, to, to)
			return fn("translate", src, from, padded), nil
		},
		"hash_sha1": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("sha1", strArg(call, a, 0)), nil
		},
		"make_string": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return lowerings["unicode_codepoints_to_string"](c, call, a)
		},
		// DuckDB strings are valid UTF-8 by construction.
		"isutf8": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return sqlast.Keyword("TRUE"), nil
		},
		// indexof_regex(source, regex): the position of the first match, or -1.
		"indexof_regex": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			if len(a) > 2 {
				return nil, unsupported("indexof_regex with start, length or occurrence is not supported; use indexof_regex(source, regex)")
			}
			s, re := strArgs(call, a)
			return tmpl("CAST(CASE WHEN regexp_matches({}, {}) THEN length(regexp_split_to_array({}, {})[1]) ELSE -1 END AS BIGINT)", s, re, s, re), nil
		},
		"=~": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l, r := strArgs(call, a)
			return bin("=", fn("lower", l), fn("lower", r)), nil
		},
		"!~": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l, r := strArgs(call, a)
			return bin("<>", fn("lower", l), fn("lower", r)), nil
		},
		"contains":      substringOp("contains", false),
		"contains_cs":   substringOp("contains", true),
		"startswith":    substringOp("starts_with", false),
		"startswith_cs": substringOp("starts_with", true),
		"endswith":      substringOp("ends_with", false),
		"endswith_cs":   substringOp("ends_with", true),
		"has":           termOp(true, true, false),
		"has_cs":        termOp(true, true, true),
		"hasprefix":     termOp(true, false, false),
		"hasprefix_cs":  termOp(true, false, true),
		"hassuffix":     termOp(false, true, false),
		"hassuffix_cs":  termOp(false, true, true),
		"matches regex": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l, r := strArgs(call, a)
			return fn("regexp_matches", l, r), nil
		},
		"like": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l, r := strArgs(call, a)
			return bin("ILIKE", l, r), nil
		},
		"in": inList(false, false), "!in": inList(true, false), "in~": inList(false, true), "!in~": inList(true, true),
		"has_any": hasAnyAll("OR"), "has_all": hasAnyAll("AND"),

		"strlen": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("length", strArg(call, a, 0)), "BIGINT"), nil
		},
		"string_size": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("octet_length", fn("encode", strArg(call, a, 0))), "BIGINT"), nil
		},
		"tolower": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("lower", strArg(call, a, 0)), nil
		},
		"toupper": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("upper", strArg(call, a, 0)), nil
		},
		"reverse": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("reverse", strArg(call, a, 0)), nil
		},
		"strcat": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var args []sqlast.Expr
			for i := range a {
				args = append(args, strArg(call, a, i))
			}
			return fn("concat", args...), nil
		},
		"strcat_delim": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var args []sqlast.Expr
			for i := range a {
				args = append(args, fn("COALESCE", strArg(call, a, i), sqlast.Keyword("''")))
			}
			return fn("concat_ws", args...), nil
		},
		"strcat_array": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tmpl("array_to_string(list_transform(CAST({} AS JSON[]), x -> COALESCE(CASE WHEN json_type(x) = 'VARCHAR' THEN x ->> '$' WHEN json_type(x) = 'NULL' THEN '' ELSE CAST(x AS VARCHAR) END, '')), {})", a[0], strArg(call, a, 1)), nil
		},
		"substring": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := strArg(call, a, 0)
			// a negative start counts from the end
			start := tmpl("greatest(CASE WHEN {} < 0 THEN length({}) + {} ELSE {} END, 0)", a[1], s, a[1], a[1])
			if len(a) == 3 {
				return fn("COALESCE", tmpl("substr({}, {} + 1, greatest({}, 0))", s, start, a[2]), sqlast.Keyword("''")), nil
			}
			return fn("COALESCE", tmpl("substr({}, {} + 1)", s, start), sqlast.Keyword("''")), nil
		},
		"indexof": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s, n := strArg(call, a, 0), strArg(call, a, 1)
			if len(a) >= 3 {
				return tmpl("CASE WHEN strpos(substr({}, {} + 1), {}) = 0 THEN -1 ELSE strpos(substr({}, {} + 1), {}) - 1 + {} END", s, a[2], n, s, a[2], n, a[2]), nil
			}
			return tmpl("(CAST(strpos({}, {}) AS BIGINT) - 1)", s, n), nil
		},
		"countof": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s, n := strArg(call, a, 0), strArg(call, a, 1)
			if len(a) == 3 {
				if k, ok := constArg(call, 2); ok && k == "regex" {
					return tmpl("CAST(len(regexp_extract_all({}, {})) AS BIGINT)", s, n), nil
				}
			}
			return tmpl("CAST((length({}) - length(replace({}, {}, ''))) // greatest(length({}), 1) AS BIGINT)", s, s, n, n), nil
		},
		"trim":       trimFn("^(", ")|(", ")$"),
		"trim_start": trimFn("^(", ")", ""),
		"trim_end":   trimFn("(", ")$", ""),
		"replace_string": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("replace", strArg(call, a, 0), strArg(call, a, 1), strArg(call, a, 2)), nil
		},
		"replace_regex": replaceRegex,
		"replace":       replaceRegex,
		"extract": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			re, s := strArg(call, a, 0), strArg(call, a, 2)
			if call.T == types.Invalid {
				call.T = types.String
			}
			x := tmpl("CASE WHEN regexp_matches({}, {}) THEN regexp_extract({}, {}, CAST({} AS INTEGER)) ELSE NULL END", s, re, s, re, a[1])
			if call.T != types.String && call.T != types.Invalid {
				return convert(x, types.String, call.T), nil
			}
			return x, nil
		},
		"extract_all": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			re, s := strArg(call, a, 0), strArg(call, a, len(a)-1)
			groups := 0
			if k, ok := constArg(call, 0); ok {
				if r, err := regexp.Compile(k.(string)); err == nil {
					groups = r.NumSubexp()
				}
			}
			if groups <= 1 {
				g := sqlast.Expr(i64(int64(groups)))
				return tmpl("CASE WHEN len(regexp_extract_all({}, {}, {})) = 0 THEN NULL ELSE to_json(regexp_extract_all({}, {}, {})) END", s, re, g, s, re, g), nil
			}
			// several groups: one array of group values per match
			var parts []string
			var args []sqlast.Expr
			for i := 1; i <= groups; i++ {
				parts = append(parts, "regexp_extract(m, {}, "+itoa(i)+")")
				args = append(args, re)
			}
			all := append([]sqlast.Expr{s, re}, args...)
			all = append(all, s, re)
			return tmpl("CASE WHEN len(regexp_extract_all({}, {})) = 0 THEN NULL ELSE to_json(list_transform(regexp_extract_all({}, {}), m -> ["+strings.Join(parts, ", ")+"])) END", append([]sqlast.Expr{s, re}, all...)...), nil
		},
		"split": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := tmpl("string_split({}, {})", strArg(call, a, 0), strArg(call, a, 1))
			if len(a) == 3 {
				return tmpl("CASE WHEN {} < len({}) THEN to_json([{}[{} + 1]]) ELSE NULL END", a[2], s, s, a[2]), nil
			}
			return fn("to_json", s), nil
		},
		"base64_encode_tostring": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("to_base64", fn("encode", strArg(call, a, 0))), nil
		},
		"base64_decode_fromstring": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tmpl("TRY_CAST(TRY(from_base64({})) AS VARCHAR)", strArg(call, a, 0)), nil
		},
		"url_encode": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("url_encode", strArg(call, a, 0)), nil
		},
		"url_encode_component": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("url_encode", strArg(call, a, 0)), nil
		},
		"url_decode": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("url_decode", strArg(call, a, 0)), nil
		},
		"hash": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			// Kusto's hash is xxhash64: of a string's UTF-8 bytes, of a
			// number's or a datetime's ticks as 8 little-endian bytes. Other
			// types hash their string form. odx_hash_* are Go functions the
			// engine registers (internal/engine/functions.go).
			var h sqlast.Expr
			switch argType(call, 0) {
			case types.String:
				h = fn("odx_hash_string", strArg(call, a, 0))
			case types.Int, types.Long, types.TimeSpan, types.DateTime:
				h = fn("odx_hash_long", cast(a[0], "BIGINT"))
			default:
				h = fn("odx_hash_string", strArg(call, a, 0))
			}
			if len(a) == 2 {
				return kustoMod(h, a[1], types.Long), nil
			}
			return h, nil
		},
		"hash_sha256": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("sha256", strArg(call, a, 0)), nil
		},
		"hash_md5": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("md5", strArg(call, a, 0)), nil
		},
		"strrep": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := strArg(call, a, 0)
			if len(a) == 3 {
				return tmpl("array_to_string(list_transform(range({}), i -> {}), {})", a[1], s, strArg(call, a, 2)), nil
			}
			return fn("repeat", s, a[1]), nil
		},
		"isascii": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tmpl("NOT regexp_matches({}, '[^\\x00-\\x7F]')", strArg(call, a, 0)), nil
		},
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// strArg is argument i as a Kusto string (tostring of non-strings).
func strArg(call *sem.Call, a []sqlast.Expr, i int) sqlast.Expr {
	t := argType(call, i)
	if t == types.String {
		return fn("COALESCE", a[i], sqlast.Keyword("''"))
	}
	return toVarchar(a[i], t)
}

func strArgs(call *sem.Call, a []sqlast.Expr) (sqlast.Expr, sqlast.Expr) {
	return strArg(call, a, 0), strArg(call, a, 1)
}

func substringOp(sqlFn string, cs bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l, r := strArgs(call, a)
		if k, ok := constArg(call, 1); ok {
			if s, ok := k.(string); ok {
				// a constant needle is folded here, once, instead of per row
				if !cs {
					s = strings.ToLower(s)
					l = fn("lower", l)
				}
				return fn(sqlFn, l, str(s)), nil
			}
		}
		if !cs {
			l, r = fn("lower", l), fn("lower", r)
		}
		return fn(sqlFn, l, r), nil
	}
}

// termChars is what separates terms for has/hasprefix/hassuffix: anything
// that is not a letter or a digit.
const termSep = `[^\pL\pN]`

// termOp lowers has-family operators as a regular expression over term
// boundaries, guarded by a cheap substring test.
func termOp(startBoundary, endBoundary, cs bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l, r := strArgs(call, a)
		flags := "(?i)"
		if cs {
			flags = ""
		}
		pre, post := "", ""
		if startBoundary {
			pre = "(^|" + termSep + ")"
		}
		if endBoundary {
			post = "($|" + termSep + ")"
		}
		guard := fn("contains", fn("lower", l), fn("lower", r))
		if cs {
			guard = fn("contains", l, r)
		}
		if k, ok := constArg(call, 1); ok {
			if s, ok := k.(string); ok {
				if s == "" {
					return sqlast.Keyword("TRUE"), nil
				}
				re := flags + pre + regexp.QuoteMeta(s) + post
				if cs {
					guard = fn("contains", l, str(s))
				} else {
					guard = fn("contains", fn("lower", l), str(strings.ToLower(s)))
				}
				return bin("AND", guard, fn("regexp_matches", l, str(re))), nil
			}
		}
		re := tmpl("{} || regexp_escape({}) || {}", str(flags+pre), r, str(post))
		return bin("AND", guard, fn("regexp_matches", l, re)), nil
	}
}

func trimFn(pre, mid, post string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		re, s := strArg(call, a, 0), strArg(call, a, 1)
		pattern := tmpl("{} || {} || {}", str(pre), re, str(mid))
		if post != "" {
			pattern = tmpl("{} || {} || {} || {} || {}", str(pre), re, str(mid), re, str(post))
		}
		return fn("regexp_replace", s, pattern, sqlast.Keyword("''"), sqlast.Keyword("'g'")), nil
	}
}

// replaceRegex translates .NET-style $1 group references to RE2's \1.
func replaceRegex(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
	s, re, rep := strArg(call, a, 0), strArg(call, a, 1), strArg(call, a, 2)
	if k, ok := constArg(call, 2); ok {
		if t, ok := k.(string); ok {
			t = strings.ReplaceAll(t, `\`, `\\`)
			t = regexp.MustCompile(`\$(\d)`).ReplaceAllString(t, `\$1`)
			rep = str(t)
		}
	}
	return fn("regexp_replace", s, re, rep, sqlast.Keyword("'g'")), nil
}

// listItems lowers an `in` list; dynamic array constants contribute their elements.
func (c *compiler) listItems(call *sem.Call, elemType types.Type) ([]sqlast.Expr, error) {
	l, _ := call.Args[1].(*sem.List)
	var out []sqlast.Expr
	for _, it := range l.Items {
		if k, ok := it.(*sem.Const); ok && k.T == types.Dynamic {
			if s, ok := k.V.(string); ok {
				var vals []any
				if json.Unmarshal([]byte(s), &vals) == nil {
					for _, v := range vals {
						out = append(out, jsonElem(v, elemType))
					}
					continue
				}
			}
		}
		x, err := c.expr(it)
		if err != nil {
			return nil, err
		}
		if it.Type() != elemType {
			x = convert(x, it.Type(), elemType)
		}
		out = append(out, x)
	}
	return out, nil
}

func jsonElem(v any, t types.Type) sqlast.Expr {
	switch x := v.(type) {
	case nil:
		return null(t)
	case string:
		return convert(str(x), types.String, t)
	case float64:
		if t == types.Long || t == types.Int {
			return &sqlast.Param{Value: int64(x), Type: t.DuckDB()}
		}
		return convert(&sqlast.Param{Value: x, Type: "DOUBLE"}, types.Real, t)
	case bool:
		return convert(&sqlast.Param{Value: x, Type: "BOOLEAN"}, types.Bool, t)
	}
	b, _ := json.Marshal(v)
	return convert(&sqlast.Param{Value: string(b), Type: "JSON"}, types.Dynamic, t)
}

func inList(not, ci bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		xt := argType(call, 0)
		x := a[0]
		if xt == types.Dynamic {
			x, xt = toVarchar(x, xt), types.String
		}
		if ci {
			x, xt = fn("lower", strArg(call, a, 0)), types.String
		}
		if tab, ok := call.Args[1].(*sem.TabularExpr); ok {
			q, err := c.node(tab.Plan)
			if err != nil {
				return nil, err
			}
			v := sqlast.Expr(col(tab.Plan.Schema()[0].Name))
			if ci || tab.T != xt {
				v = convert(v, tab.T, xt)
				if ci {
					v = fn("lower", v)
				}
			}
			sub := &sqlast.Select{Items: []sqlast.SelectItem{{X: v}}, From: &sqlast.SubFrom{Q: q, Alias: c.alias()}}
			return &sqlast.In{X: x, Not: not, Sub: sub}, nil
		}
		items, err := c.listItems(call, xt)
		if err != nil {
			return nil, err
		}
		if ci {
			for i := range items {
				items[i] = fn("lower", items[i])
			}
		}
		if len(items) == 0 {
			if not {
				return sqlast.Keyword("TRUE"), nil
			}
			return sqlast.Keyword("FALSE"), nil
		}
		return &sqlast.In{X: x, Not: not, List: items}, nil
	}
}

func hasAnyAll(join string) lowerFunc {
	has := termOp(true, true, false)
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		l, _ := call.Args[1].(*sem.List)
		var items []sem.Expr
		if l != nil {
			for _, it := range l.Items {
				if k, ok := it.(*sem.Const); ok && k.T == types.Dynamic {
					var vals []any
					if s, ok := k.V.(string); ok && json.Unmarshal([]byte(s), &vals) == nil {
						for _, v := range vals {
							if sv, ok := v.(string); ok {
								items = append(items, &sem.Const{V: sv, T: types.String})
							}
						}
						continue
					}
				}
				items = append(items, it)
			}
		}
		if len(items) == 0 {
			if join == "AND" {
				return sqlast.Keyword("TRUE"), nil
			}
			return sqlast.Keyword("FALSE"), nil
		}
		var out sqlast.Expr
		for _, it := range items {
			r, err := c.expr(it)
			if err != nil {
				return nil, err
			}
			sub := &sem.Call{Fn: "has", Args: []sem.Expr{call.Args[0], it}, T: types.Bool}
			e, err := has(c, sub, []sqlast.Expr{a[0], r})
			if err != nil {
				return nil, err
			}
			if out == nil {
				out = e
			} else {
				out = bin(join, out, e)
			}
		}
		return out, nil
	}
}

func init() {
	register(map[string]lowerFunc{
		// parse_url splits a URL into Kusto's property bag.
		"parse_url": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			const re = `^(?:([a-zA-Z][a-zA-Z0-9+.-]*)://)?(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?#]*)(?::(\d+))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$`
			s := strArg(call, a, 0)
			g := func(i int) sqlast.Expr { return fn("regexp_extract", s, str(re), i64(int64(i))) }
			params := tmpl("(SELECT COALESCE(json_group_object(split_part(p, '=', 1), url_decode(substr(p, length(split_part(p, '=', 1)) + 2))), json_object()) FROM unnest(string_split(nullif({}, ''), '&')) AS u(p) WHERE p <> '')", g(7))
			return tmpl("CASE WHEN regexp_matches({}, {}) THEN json_object('Scheme', {}, 'Host', {}, 'Port', {}, 'Path', {}, 'Username', {}, 'Password', {}, 'Query Parameters', {}, 'Fragment', {}) ELSE json_object('Scheme', '', 'Host', '', 'Port', '', 'Path', '', 'Username', '', 'Password', '', 'Query Parameters', json_object(), 'Fragment', '') END",
				s, str(re), g(1), g(4), g(5), g(6), g(2), g(3), params, g(8)), nil
		},
	})
}

func init() {
	register(map[string]lowerFunc{
		"unicode_codepoints_to_string": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			var parts []sqlast.Expr
			for i, x := range a {
				if argType(call, i) == types.Dynamic {
					parts = append(parts, tmpl("array_to_string(list_transform(CAST({} AS JSON[]), x -> chr(CAST(x AS INTEGER))), '')", x))
					continue
				}
				parts = append(parts, fn("chr", convert(x, argType(call, i), types.Int)))
			}
			return fn("concat", parts...), nil
		},
		"unicode_codepoints_from_string": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return tmpl("to_json(list_transform(string_split({}, ''), x -> unicode(x)))", strArg(call, a, 0)), nil
		},
	})
}

func init() {
	register(map[string]lowerFunc{
		// _kv_value(text, regex, key): the value group of the first match whose key group is key.
		"_kv_value": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := strArg(call, a, 0)
			return tmpl("COALESCE(regexp_extract_all({}, {}, 2)[list_position(list_transform(regexp_extract_all({}, {}, 1), k -> trim(k)), {})], '')", s, a[1], s, a[1], a[2]), nil
		},
	})
}

func init() {
	register(map[string]lowerFunc{
		// parse_version: up to four dot-separated numbers of at most eight
		// digits each, as one comparable decimal (each part 8 digits wide).
		"parse_version": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := fn("trim", strArg(call, a, 0))
			re := str(`^\d{1,8}(\.\d{1,8}){0,3}$`)
			part := func(i int) sqlast.Expr {
				return tmpl("COALESCE(TRY_CAST(nullif(split_part({}, '.', "+itoa(i)+"), '') AS DECIMAL(38,0)), 0)", s)
			}
			return tmpl("CASE WHEN regexp_matches({}, {}) THEN CAST({} * CAST('1000000000000000000000000' AS DECIMAL(38,0)) + {} * CAST('10000000000000000' AS DECIMAL(38,0)) + {} * CAST('100000000' AS DECIMAL(38,0)) + {} AS DECIMAL(38,10)) ELSE NULL END",
				s, re, part(1), part(2), part(3), part(4)), nil
		},
		"base64_decode_toarray": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			b := tmpl("TRY(from_base64({}))", strArg(call, a, 0))
			return tmpl("to_json(list_transform(range(octet_length({})), i -> CAST('0x' || substr(hex({}), CAST(i * 2 + 1 AS INTEGER), 2) AS INTEGER)))", b, b), nil
		},
		"base64_encode_fromarray": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l := asJSONList(dyn(call, a, 0))
			return tmpl("to_base64(unhex(array_to_string(list_transform({}, x -> lpad(to_hex(CAST(x ->> '$' AS INTEGER)), 2, '0')), '')))", l), nil
		},
	})
}
