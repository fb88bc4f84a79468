// Package builtins is the table of KQL's built-in scalar, aggregate and window
// functions: names, argument counts and result-type rules. It is pure data for
// the semantic pass; how each function becomes SQL lives in the compiler.
// Adding a function is one entry here plus one lowering in compile/fn_*.go.
package builtins

import (
	"strings"

	"odx/internal/kql/types"
)

// Kind tells scalar, aggregate and window functions apart.
type Kind uint8

const (
	Scalar Kind = iota
	Aggregate
	Window // needs a serialized input (row_number, prev, next, row_cumsum)
)

// ResultFunc computes the result type from the argument types.
type ResultFunc func(args []types.Type) types.Type

// Func describes one builtin.
type Func struct {
	Name     string
	Kind     Kind
	Min, Max int // argument count bounds; Max < 0 means variadic
	Result   ResultFunc
	// Prefix names unnamed aggregate columns: "sum" gives sum_x; "count"
	// with no column argument gives count_.
	Prefix string
}

// Fixed returns t whatever the arguments.
func Fixed(t types.Type) ResultFunc { return func([]types.Type) types.Type { return t } }

// Arg returns the type of argument i.
func Arg(i int) ResultFunc {
	return func(a []types.Type) types.Type {
		if i < len(a) {
			return a[i]
		}
		return types.Invalid
	}
}

// Promoted returns the widest numeric type among the arguments (int < long <
// real < decimal), or the first non-numeric argument's type.
func Promoted(a []types.Type) types.Type {
	var best types.Type
	rank := map[types.Type]int{types.Int: 1, types.Long: 2, types.Real: 3, types.Decimal: 4}
	for _, t := range a {
		if !t.Numeric() {
			if best == types.Invalid {
				best = t
			}
			continue
		}
		if rank[t] > rank[best] {
			best = t
		}
	}
	return best
}

// widenInt makes int results long, as Kusto's sum and arithmetic aggregates do.
func widenInt(a []types.Type) types.Type {
	t := Promoted(a)
	if t == types.Int || t == types.Bool {
		return types.Long
	}
	return t
}

var table = map[string]*Func{}

func add(kind Kind, name string, min, max int, r ResultFunc) {
	table[name] = &Func{Name: name, Kind: kind, Min: min, Max: max, Result: r}
}

func agg(name, prefix string, min, max int, r ResultFunc) {
	table[name] = &Func{Name: name, Kind: Aggregate, Min: min, Max: max, Result: r, Prefix: prefix}
}

// Lookup finds a builtin by its exact (case-sensitive) name.
func Lookup(name string) (*Func, bool) {
	f, ok := table[name]
	return f, ok
}

// Names lists every builtin name (for documentation and tests).
func Names() []string {
	var ns []string
	for n := range table {
		ns = append(ns, n)
	}
	return ns
}

var (
	long     = Fixed(types.Long)
	real     = Fixed(types.Real)
	str      = Fixed(types.String)
	boolean  = Fixed(types.Bool)
	datetime = Fixed(types.DateTime)
	timespan = Fixed(types.TimeSpan)
	dyn      = Fixed(types.Dynamic)
	integer  = Fixed(types.Int)
)

// roundLike keeps the argument type for numeric functions that preserve it.
func roundLike(a []types.Type) types.Type {
	if len(a) > 0 && (a[0].Numeric()) {
		return a[0]
	}
	return types.Real
}

func init() {
	// strings
	for _, n := range []string{"strlen", "indexof", "countof", "string_size", "indexof_regex"} {
		add(Scalar, n, 1, 5, long)
	}
	add(Scalar, "substring", 2, 3, str)
	add(Scalar, "strcat", 1, 64, str)
	add(Scalar, "strcat_delim", 2, 64, str)
	add(Scalar, "strcat_array", 2, 2, str)
	for _, n := range []string{"tolower", "toupper", "trim", "trim_start", "trim_end", "reverse", "replace_string",
		"replace_regex", "replace", "extract", "base64_encode_tostring", "base64_decode_fromstring", "url_encode",
		"url_decode", "url_encode_component", "strrep", "translate", "tohex", "base64_encode_fromguid", "make_string",
		"base64_encode_fromarray", "strip", "format_datetime", "format_timespan", "regex_quote", "parse_path_str"} {
		add(Scalar, n, 1, 4, str)
	}
	add(Scalar, "split", 2, 3, dyn)
	add(Scalar, "extract_all", 2, 3, dyn)
	add(Scalar, "parse_url", 1, 1, dyn)
	add(Scalar, "parse_path", 1, 1, dyn)
	add(Scalar, "base64_decode_toarray", 1, 1, dyn)
	add(Scalar, "to_utf8", 1, 1, dyn)
	add(Scalar, "unicode_codepoints_to_string", 1, 64, str)
	add(Scalar, "unicode_codepoints_from_string", 1, 1, dyn)
	add(Scalar, "hash", 1, 2, long)
	add(Scalar, "hash_sha256", 1, 1, str)
	add(Scalar, "hash_md5", 1, 1, str)
	add(Scalar, "hash_sha1", 1, 1, str)
	add(Scalar, "format_bytes", 1, 3, str)
	add(Scalar, "isascii", 1, 1, boolean)
	add(Scalar, "isutf8", 1, 1, boolean)
	add(Scalar, "has_any_index", 2, 2, long)
	// conversions
	add(Scalar, "tostring", 1, 1, str)
	add(Scalar, "toint", 1, 1, integer)
	add(Scalar, "tolong", 1, 1, long)
	add(Scalar, "toreal", 1, 1, real)
	add(Scalar, "todouble", 1, 1, real)
	add(Scalar, "todecimal", 1, 1, Fixed(types.Decimal))
	add(Scalar, "tobool", 1, 1, boolean)
	add(Scalar, "toboolean", 1, 1, boolean)
	add(Scalar, "todatetime", 1, 1, datetime)
	add(Scalar, "totimespan", 1, 1, timespan)
	add(Scalar, "toguid", 1, 1, Fixed(types.Guid))
	add(Scalar, "todynamic", 1, 1, dyn)
	add(Scalar, "toobject", 1, 1, dyn)
	add(Scalar, "parse_json", 1, 1, dyn)
	add(Scalar, "gettype", 1, 1, str)
	// datetime
	add(Scalar, "now", 0, 1, datetime)
	add(Scalar, "ago", 1, 1, datetime)
	add(Scalar, "datetime_add", 3, 3, datetime)
	add(Scalar, "datetime_diff", 3, 3, long)
	add(Scalar, "datetime_part", 2, 2, integer)
	for _, n := range []string{"startofday", "startofweek", "startofmonth", "startofyear", "endofday", "endofweek", "endofmonth", "endofyear",
		"make_datetime", "unixtime_seconds_todatetime", "unixtime_milliseconds_todatetime", "unixtime_microseconds_todatetime",
		"unixtime_nanoseconds_todatetime", "datetime_utc_to_local", "datetime_local_to_utc"} {
		add(Scalar, n, 1, 7, datetime)
	}
	add(Scalar, "dayofweek", 1, 1, timespan)
	add(Scalar, "make_timespan", 1, 4, timespan)
	for _, n := range []string{"dayofmonth", "dayofyear", "getyear", "getmonth", "monthofyear", "week_of_year", "hourofday"} {
		add(Scalar, n, 1, 1, integer)
	}
	add(Scalar, "bin", 2, 2, binResult)
	add(Scalar, "floor", 2, 2, binResult)
	add(Scalar, "bin_at", 3, 3, binResult)
	add(Scalar, "bin_auto", 1, 1, Arg(0))
	// math
	add(Scalar, "abs", 1, 1, Arg(0))
	add(Scalar, "round", 1, 2, roundLike)
	add(Scalar, "ceiling", 1, 1, Arg(0))
	add(Scalar, "sign", 1, 1, Arg(0))
	for _, n := range []string{"sqrt", "pow", "log", "log2", "log10", "exp", "exp2", "exp10", "sin", "cos", "tan", "asin", "acos",
		"atan", "atan2", "cot", "degrees", "radians", "pi", "rand", "erf", "erfc", "gamma", "loggamma"} {
		add(Scalar, n, 0, 2, real)
	}
	add(Scalar, "min_of", 1, 64, Promoted)
	add(Scalar, "max_of", 1, 64, Promoted)
	add(Scalar, "binary_and", 2, 2, long)
	add(Scalar, "binary_or", 2, 2, long)
	add(Scalar, "binary_xor", 2, 2, long)
	add(Scalar, "binary_not", 1, 1, long)
	add(Scalar, "binary_shift_left", 2, 2, long)
	add(Scalar, "binary_shift_right", 2, 2, long)
	// conditionals
	add(Scalar, "iff", 3, 3, condResult)
	add(Scalar, "iif", 3, 3, condResult)
	add(Scalar, "case", 3, 255, caseResult)
	add(Scalar, "coalesce", 1, 64, Promoted)
	for _, n := range []string{"isnull", "isnotnull", "isempty", "isnotempty", "isnan", "isinf", "isfinite", "not"} {
		add(Scalar, n, 1, 1, boolean)
	}
	// dynamic
	add(Scalar, "array_length", 1, 1, long)
	add(Scalar, "array_index_of", 2, 4, long)
	add(Scalar, "array_sum", 1, 1, real)
	for _, n := range []string{"array_concat", "array_slice", "bag_keys", "bag_merge", "bag_pack", "pack", "pack_array", "pack_all",
		"array_reverse", "array_sort_asc", "array_sort_desc", "set_union", "set_intersect", "set_difference", "bag_remove_keys",
		"array_shift_left", "array_shift_right", "array_rotate_left", "array_rotate_right", "zip", "array_iff", "array_split",
		"range", "repeat", "bag_pack_columns", "set_has_element_dyn", "treepath"} {
		add(Scalar, n, 0, 64, dyn)
	}
	// exact argument counts where the lowering reads fixed positions
	for n, bounds := range map[string][2]int{
		"array_rotate_left": {2, 2}, "array_rotate_right": {2, 2}, "array_shift_left": {2, 3}, "array_shift_right": {2, 3},
		"array_split": {2, 2}, "repeat": {2, 2}, "bag_remove_keys": {2, 2}, "bag_merge": {1, 64}, "bag_pack_columns": {1, 64},
		"array_concat": {1, 64}, "array_slice": {3, 3}, "bag_keys": {1, 1}, "array_reverse": {1, 1},
		"treepath": {1, 1}, "datetime_utc_to_local": {2, 2}, "datetime_local_to_utc": {2, 2},
	} {
		table[n].Min, table[n].Max = bounds[0], bounds[1]
	}
	table["translate"].Min, table["translate"].Max = 3, 3
	table["indexof_regex"].Min = 2
	table["make_timespan"].Min = 2
	for _, n := range []string{"series_add", "series_subtract", "series_multiply", "series_divide", "series_greater",
		"series_greater_equals", "series_less", "series_less_equals", "series_equals", "series_not_equals", "series_abs",
		"series_atan", "series_acos", "series_asin", "series_cos", "series_sin", "series_tan", "series_exp", "series_log",
		"series_sign", "series_floor", "series_ceiling", "series_pow", "series_fill_forward", "series_fill_backward",
		"series_fill_const", "series_fill_linear", "series_stats_dynamic", "series_fir", "series_iir"} {
		add(Scalar, n, 1, 5, dyn)
	}
	add(Scalar, "series_dot_product", 2, 2, real)
	add(Scalar, "series_cosine_similarity", 2, 2, real)
	add(Scalar, "parse_ipv4", 1, 1, long)
	add(Scalar, "parse_ipv4_mask", 2, 2, long)
	add(Scalar, "ipv4_netmask_suffix", 1, 1, long)
	add(Scalar, "ipv4_compare", 2, 3, long)
	for _, n := range []string{"ipv4_is_private", "ipv4_is_match", "ipv4_is_in_range", "has_ipv4", "has_ipv4_prefix", "has_any_ipv4", "has_any_ipv4_prefix"} {
		add(Scalar, n, 1, 64, boolean)
	}
	add(Scalar, "_kv_value", 3, 3, str) // parse-kv's lowering helper
	add(Scalar, "bag_zip", 2, 2, dyn)
	add(Scalar, "parse_version", 1, 1, Fixed(types.Decimal))
	add(Scalar, "series_stats", 1, 2, dyn)    // several columns; see sem's multiOutputs
	add(Scalar, "series_fit_line", 1, 1, dyn) // several columns
	// series analysis (Go functions in the engine; several columns where sem's multiOutputs says so)
	for n, b := range map[string][2]int{"series_decompose": {1, 5}, "series_decompose_anomalies": {1, 7},
		"series_decompose_forecast": {2, 5}, "series_outliers": {1, 5}, "series_fit_2lines": {1, 1},
		"series_fit_2lines_dynamic": {1, 1}, "series_fit_line_dynamic": {1, 1}, "series_periods_detect": {4, 4}, "series_periods_validate": {2, 17}} {
		add(Scalar, n, b[0], b[1], dyn)
	}
	add(Scalar, "bag_has_key", 2, 2, boolean)
	add(Scalar, "set_has_element", 2, 2, boolean)
	add(Scalar, "jaccard_index", 2, 2, real)
	add(Scalar, "new_guid", 0, 0, Fixed(types.Guid))
	add(Scalar, "column_ifexists", 2, 2, Arg(1))
	add(Scalar, "ingestion_time", 0, 0, datetime)
	add(Scalar, "toscalar", 1, 1, Arg(0))
	add(Scalar, "materialize", 1, 1, Arg(0))
	// hash_many, punycode, ipv6, geo, time zones, paths (compile/fn_hash.go,
	// fn_punycode.go, fn_ipv6.go, fn_geo.go, fn_timezone.go, fn_dynshape.go)
	add(Scalar, "hash_many", 2, 64, long)
	add(Scalar, "hash_combine", 2, 64, long)
	for _, n := range []string{"punycode_from_string", "punycode_to_string", "punycode_domain_from_string", "punycode_domain_to_string", "parse_ipv6"} {
		add(Scalar, n, 1, 1, str)
	}
	add(Scalar, "parse_ipv6_mask", 2, 2, str)
	add(Scalar, "format_ipv4", 1, 2, str)
	add(Scalar, "format_ipv4_mask", 1, 2, str)
	add(Scalar, "ipv6_compare", 2, 3, long)
	add(Scalar, "ipv6_is_match", 2, 3, boolean)
	add(Scalar, "ipv6_is_in_range", 2, 2, boolean)
	add(Scalar, "ipv6_is_in_any_range", 2, 64, boolean)
	add(Scalar, "ipv4_is_in_any_range", 2, 64, boolean)
	add(Scalar, "geo_distance_2points", 4, 4, real)
	add(Scalar, "geo_point_in_circle", 5, 5, boolean)
	add(Scalar, "geo_point_in_polygon", 3, 3, boolean)
	add(Scalar, "geo_distance_point_to_line", 3, 3, real)
	add(Scalar, "geo_point_to_geohash", 2, 3, str)
	add(Scalar, "geo_point_to_s2cell", 2, 3, str)
	add(Scalar, "geo_geohash_to_central_point", 1, 1, dyn)
	add(Scalar, "geo_s2cell_to_central_point", 1, 1, dyn)
	add(Scalar, "geo_distance_point_to_polygon", 3, 3, real)
	agg("buildschema", "schema", 1, 1, dyn)
	// window functions (need serialized rows)
	table["row_number"] = &Func{Name: "row_number", Kind: Window, Min: 0, Max: 2, Result: long}
	table["prev"] = &Func{Name: "prev", Kind: Window, Min: 1, Max: 3, Result: Arg(0)}
	table["next"] = &Func{Name: "next", Kind: Window, Min: 1, Max: 3, Result: Arg(0)}
	table["row_window_session"] = &Func{Name: "row_window_session", Kind: Window, Min: 3, Max: 4, Result: Arg(0)}
	table["row_cumsum"] = &Func{Name: "row_cumsum", Kind: Window, Min: 1, Max: 2, Result: widenInt}

	// aggregates
	agg("count", "count", 0, 1, long)
	agg("countif", "countif", 1, 1, long)
	agg("sum", "sum", 1, 1, widenInt)
	agg("sumif", "sumif", 2, 2, widenInt)
	agg("avg", "avg", 1, 1, avgResult)
	agg("avgif", "avgif", 2, 2, avgResult)
	agg("min", "min", 1, 1, Arg(0))
	agg("max", "max", 1, 1, Arg(0))
	agg("minif", "minif", 2, 2, Arg(0))
	agg("maxif", "maxif", 2, 2, Arg(0))
	agg("dcount", "dcount", 1, 2, long)
	agg("dcountif", "dcountif", 2, 3, long)
	agg("count_distinct", "count_distinct", 1, 1, long)
	agg("count_distinctif", "count_distinctif", 2, 2, long)
	agg("percentile", "percentile", 2, 2, Arg(0))
	agg("percentiles", "percentile", 2, 64, Arg(0))
	agg("percentiles_array", "percentiles", 2, 64, dyn)
	agg("percentilew", "percentilew", 3, 3, Arg(0))
	agg("percentilesw", "percentile", 3, 64, Arg(0))
	agg("percentilesw_array", "percentiles", 3, 64, dyn)
	agg("hll", "hll", 1, 2, dyn)
	agg("hll_merge", "hll_merge", 1, 1, dyn)
	agg("tdigest", "tdigest", 1, 2, dyn)
	agg("tdigest_merge", "tdigest_merge", 1, 1, dyn)
	add(Scalar, "dcount_hll", 1, 1, long)
	add(Scalar, "percentile_tdigest", 2, 2, real)
	agg("stdev", "stdev", 1, 1, real)
	agg("stdevif", "stdevif", 2, 2, real)
	agg("stdevp", "stdevp", 1, 1, real)
	agg("variance", "variance", 1, 1, real)
	agg("varianceif", "varianceif", 2, 2, real)
	agg("variancep", "variancep", 1, 1, real)
	agg("make_list", "list", 1, 2, dyn)
	agg("make_list_if", "list", 2, 3, dyn)
	agg("make_list_with_nulls", "list", 1, 2, dyn)
	agg("make_set", "set", 1, 2, dyn)
	agg("make_set_if", "set", 2, 3, dyn)
	agg("make_bag", "bag", 1, 2, dyn)
	agg("make_bag_if", "bag", 2, 3, dyn)
	agg("arg_max", "max", 1, 64, Arg(0))
	agg("arg_min", "min", 1, 64, Arg(0))
	agg("take_any", "any", 1, 64, Arg(0))
	agg("any", "any", 1, 64, Arg(0))
	agg("take_anyif", "anyif", 2, 2, Arg(0))
	agg("binary_all_and", "binary_all_and", 1, 1, long)
	agg("binary_all_or", "binary_all_or", 1, 1, long)
	agg("binary_all_xor", "binary_all_xor", 1, 1, long)
}

// binResult is the type of bin(x, size): x's type, with int widened to long
// and integers binned by a real size becoming real.
func binResult(a []types.Type) types.Type {
	if len(a) < 2 {
		return types.Invalid
	}
	switch {
	case (a[0] == types.Int || a[0] == types.Long) && a[1] == types.Real:
		return types.Real
	case a[0] == types.Int:
		return types.Long
	}
	return a[0]
}

func avgResult(a []types.Type) types.Type {
	if len(a) > 0 && a[0] == types.Decimal {
		return types.Decimal
	}
	return types.Real
}

// condResult is the type of iff(c, a, b): the branches' common type.
func condResult(a []types.Type) types.Type {
	if len(a) < 3 {
		return types.Invalid
	}
	return common(a[1], a[2])
}

func caseResult(a []types.Type) types.Type {
	var vals []types.Type
	for i := 1; i < len(a); i += 2 {
		vals = append(vals, a[i])
	}
	vals = append(vals, a[len(a)-1])
	t := vals[0]
	for _, v := range vals[1:] {
		t = common(t, v)
	}
	return t
}

// common is the type two values unify to (iff, case, coalesce, union columns).
func common(x, y types.Type) types.Type {
	if x == y {
		return x
	}
	if x.Numeric() && y.Numeric() {
		return Promoted([]types.Type{x, y})
	}
	if x == types.Invalid {
		return y
	}
	return x
}

// Common is exported for the semantic pass.
func Common(x, y types.Type) types.Type { return common(x, y) }

// IsAggregate reports whether name is an aggregate function.
func IsAggregate(name string) bool {
	f, ok := table[name]
	return ok && f.Kind == Aggregate
}

// Canonical resolves legacy aliases to the function the compiler implements.
func Canonical(name string) string {
	switch name {
	case "iif":
		return "iff"
	case "todouble":
		return "toreal"
	case "toboolean":
		return "tobool"
	case "pack":
		return "bag_pack"
	case "any":
		return "take_any"
	case "toobject":
		return "todynamic"
	}
	return strings.TrimSpace(name)
}
