package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// has_ipv4(text, ip), has_ipv4_prefix(text, prefix) and their has_any_
// forms (several addresses, or dynamic arrays of them): whether text holds a
// valid IPv4 address set off by non-alphanumeric characters that equals one
// of the addresses or starts with one of the prefixes ("10.", "192.168.").
// Invalid addresses or prefixes never match. The scan is Go
// (internal/ipaddr) behind odx_has_ipv4.

func init() {
	register(map[string]lowerFunc{
		"has_ipv4":            hasIPv4(false),
		"has_ipv4_prefix":     hasIPv4(true),
		"has_any_ipv4":        hasIPv4(false),
		"has_any_ipv4_prefix": hasIPv4(true),
	})
}

func hasIPv4(prefix bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		isPrefix := sqlast.Keyword("FALSE")
		if prefix {
			isPrefix = sqlast.Keyword("TRUE")
		}
		args := []sqlast.Expr{isPrefix, strArg(call, a, 0)}
		for i := 1; i < len(a); i++ {
			if argType(call, i) == types.Dynamic {
				// a JSON array of addresses, passed as its text
				args = append(args, fn("COALESCE", cast(a[i], "VARCHAR"), sqlast.Keyword("''")))
				continue
			}
			args = append(args, strArg(call, a, i))
		}
		return fn("odx_has_ipv4", args...), nil
	}
}
