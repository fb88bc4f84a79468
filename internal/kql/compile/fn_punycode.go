package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/sqlast"
)

// Punycode (RFC 3492) and IDNA domain names. Kusto's names read from the
// point of view of the Unicode string: punycode_from_string encodes it,
// punycode_to_string decodes back to it; likewise for the _domain_ pair
// (punycode_domain_from_string decodes "xn--" labels). Conversions that fail
// give "". The work is done by Go functions the engine registers
// (internal/engine/functions_kql.go).

func init() {
	register(map[string]lowerFunc{
		"punycode_from_string":        punycodeFunc("odx_punycode_encode"),
		"punycode_to_string":          punycodeFunc("odx_punycode_decode"),
		"punycode_domain_to_string":   punycodeFunc("odx_punycode_domain_encode"),
		"punycode_domain_from_string": punycodeFunc("odx_punycode_domain_decode"),
	})
}

func punycodeFunc(udf string) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		return fn(udf, strArg(call, a, 0)), nil
	}
}
