package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// datetime_utc_to_local(dt, zone) and datetime_local_to_utc(dt, zone) with
// IANA zone names ("Europe/Paris"); an unknown zone gives null. The zone
// arithmetic is Go's time package behind engine functions that work on
// ticks, so only zoneTicks below depends on how datetimes are stored.

func init() {
	register(map[string]lowerFunc{
		"datetime_utc_to_local": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return zoneTicks("odx_utc_to_local_ticks", a[0], strArg(call, a, 1)), nil
		},
		"datetime_local_to_utc": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return zoneTicks("odx_local_to_utc_ticks", a[0], strArg(call, a, 1)), nil
		},
	})
}

// zoneTicks applies a ticks -> ticks zone function to a stored datetime
// (ticks themselves); a shift past either end of the range is null.
func zoneTicks(udf string, dt, zone sqlast.Expr) sqlast.Expr {
	return dtRange(fn(udf, dt, zone))
}
