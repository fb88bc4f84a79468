package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// Geospatial functions on WGS-84 coordinates measured on a sphere (ADX's
// default). The geometry is Go (internal/geo) behind odx_geo_* engine
// functions; invalid coordinates give null, or "" for the string results.

func init() {
	register(map[string]lowerFunc{
		"geo_distance_2points": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("odx_geo_distance", realArgs(call, a, 0, 4)...), nil
		},
		"geo_point_in_circle": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			r := numberArg(call, a, 4, "DOUBLE")
			d := fn("odx_geo_distance", realArgs(call, a, 0, 4)...)
			return tmpl("CASE WHEN {} >= 0 THEN {} <= {} ELSE NULL END", r, d, r), nil
		},
		"geo_point_in_polygon": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("odx_geo_in_polygon", append(realArgs(call, a, 0, 2), jsonText(call, a, 2))...), nil
		},
		"geo_distance_point_to_line": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("odx_geo_distance_to_line", append(realArgs(call, a, 0, 2), jsonText(call, a, 2))...), nil
		},
		"geo_point_to_geohash": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("COALESCE", fn("odx_geo_geohash", append(realArgs(call, a, 0, 2), optLong(call, a, 2, 5))...), sqlast.Keyword("''")), nil
		},
		"geo_point_to_s2cell": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("COALESCE", fn("odx_geo_s2cell", append(realArgs(call, a, 0, 2), optLong(call, a, 2, 11))...), sqlast.Keyword("''")), nil
		},
		"geo_distance_point_to_polygon": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("odx_geo_distance_to_polygon", append(realArgs(call, a, 0, 2), jsonText(call, a, 2))...), nil
		},
		"geo_s2cell_to_central_point": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("odx_geo_s2cell_center", strArg(call, a, 0)), "JSON"), nil
		},
		"geo_geohash_to_central_point": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("odx_geo_geohash_center", strArg(call, a, 0)), "JSON"), nil
		},
	})
}

// realArgs are arguments from..to-1 as DOUBLE (null when not a number).
func realArgs(call *sem.Call, a []sqlast.Expr, from, to int) []sqlast.Expr {
	var out []sqlast.Expr
	for i := from; i < to; i++ {
		out = append(out, numberArg(call, a, i, "DOUBLE"))
	}
	return out
}

// numberArg is argument i as the SQL number type sqlType: numbers cast,
// dynamic values extracted, anything else null unless its text is a number.
func numberArg(call *sem.Call, a []sqlast.Expr, i int, sqlType string) sqlast.Expr {
	switch t := argType(call, i); {
	case t.Numeric() || t == types.Bool:
		return cast(numArg(call, a, i), sqlType)
	case t == types.Dynamic:
		return tryCast(fromDynamic(a[i], types.Real), sqlType)
	}
	return tryCast(a[i], sqlType)
}

// optLong is argument i as BIGINT, or def when it is absent.
func optLong(call *sem.Call, a []sqlast.Expr, i int, def int64) sqlast.Expr {
	if i < len(a) {
		return numberArg(call, a, i, "BIGINT")
	}
	return i64(def)
}

// jsonText is a dynamic argument as JSON text; a string argument is taken to
// hold JSON already.
func jsonText(call *sem.Call, a []sqlast.Expr, i int) sqlast.Expr {
	if argType(call, i) == types.Dynamic {
		return cast(a[i], "VARCHAR")
	}
	return strArg(call, a, i)
}
