package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// treepath(), parse_path() and the buildschema() aggregate. The Go behind
// them (internal/dynshape, internal/pathparts) keeps JSON property order.

func init() {
	register(map[string]lowerFunc{
		"treepath": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("odx_treepath", cast(dyn(call, a, 0), "VARCHAR")), "JSON"), nil
		},
		"parse_path": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return cast(fn("odx_parse_path", strArg(call, a, 0)), "JSON"), nil
		},
		// buildschema gathers the group's values into one JSON array and
		// infers their schema in one call.
		"buildschema": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			values := fn("to_json", aggCall("list", dyn(call, a, 0)))
			return cast(fn("odx_buildschema", cast(values, "VARCHAR")), "JSON"), nil
		},
	})
}
