package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// IPv6 functions, which also take IPv4 addresses (compared as IPv4-mapped
// IPv6 addresses, their prefixes counting IPv4 bits), and the IPv4
// functions that need lists or formatting. Parsing and masking is done by Go
// functions the engine registers (odx_ipv6_*, internal/ipaddr).

func init() {
	register(map[string]lowerFunc{
		"ipv6_compare": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return ipv6Compare(call, a), nil
		},
		"ipv6_is_match": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return bin("=", ipv6Compare(call, a), i64(0)), nil
		},
		// parse_ipv6 gives "" (not null) for what is not an address.
		"parse_ipv6": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("odx_ipv6_parse", strArg(call, a, 0), i64(-1)), nil
		},
		"parse_ipv6_mask": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("COALESCE", fn("odx_ipv6_parse", strArg(call, a, 0), numberArg(call, a, 1, "BIGINT")), sqlast.Keyword("''")), nil
		},
		"ipv6_is_in_range": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return fn("odx_ipv6_in_range", strArg(call, a, 0), strArg(call, a, 1)), nil
		},
		"ipv6_is_in_any_range": inAnyRange(func(ip, rng sqlast.Expr) sqlast.Expr {
			return fn("odx_ipv6_in_range", ip, rng)
		}),
		"ipv4_is_in_any_range": inAnyRange(func(ip, rng sqlast.Expr) sqlast.Expr {
			bits := ipv4Prefix(rng)
			return bin("=", ipv4Mask(ipv4Number(ip), bits), ipv4Mask(ipv4Number(rng), bits))
		}),
		"format_ipv4":      formatIPv4(false),
		"format_ipv4_mask": formatIPv4(true),
	})
}

// ipv6Compare is odx_ipv6_compare with the optional prefix (-1 for none).
func ipv6Compare(call *sem.Call, a []sqlast.Expr) sqlast.Expr {
	var prefix sqlast.Expr = i64(-1)
	if len(a) > 2 {
		prefix = numberArg(call, a, 2, "BIGINT")
	}
	return fn("odx_ipv6_compare", strArg(call, a, 0), strArg(call, a, 1), prefix)
}

// inAnyRange lowers f(ip, range1, range2, ...) and f(ip, dynamic([ranges])):
// true when ip is in one of the ranges.
func inAnyRange(inRange func(ip, rng sqlast.Expr) sqlast.Expr) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		ip := strArg(call, a, 0)
		var out sqlast.Expr
		for i := 1; i < len(a); i++ {
			var e sqlast.Expr
			if argType(call, i) == types.Dynamic {
				ranges := fn("json_extract_string", a[i], str("$[*]"))
				e = tmpl("list_bool_or(list_transform({}, odx_range -> {}))", ranges, inRange(ip, sqlast.Keyword("odx_range")))
			} else {
				e = inRange(ip, strArg(call, a, i))
			}
			if out == nil {
				out = e
			} else {
				out = bin("OR", out, e)
			}
		}
		return out, nil
	}
}

// formatIPv4 lowers format_ipv4(ip [, prefix]) and format_ipv4_mask: ip is an
// address (with an optional /prefix) or a number; the address masked to the
// shorter prefix, "" when ip or prefix is invalid. The _mask form appends
// "/prefix".
func formatIPv4(withMask bool) lowerFunc {
	return func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
		var num, bits sqlast.Expr
		switch argType(call, 0) {
		case types.Int, types.Long, types.Real, types.Decimal:
			num, bits = numberArg(call, a, 0, "BIGINT"), i64(32)
		default:
			s := strArg(call, a, 0)
			num, bits = ipv4Number(s), ipv4Prefix(s)
		}
		given := sqlast.Expr(i64(32))
		if len(a) > 1 {
			given = numberArg(call, a, 1, "BIGINT")
		}
		eff := fn("least", bits, given)
		m := ipv4Mask(num, eff)
		octet := func(shift int) sqlast.Expr {
			return cast(tmpl("(({} >> "+itoa(shift)+") & 255)", m), "VARCHAR")
		}
		text := tmpl("{} || '.' || {} || '.' || {} || '.' || {}", octet(24), octet(16), octet(8), octet(0))
		if withMask {
			text = tmpl("{} || '/' || CAST({} AS VARCHAR)", text, eff)
		}
		valid := tmpl("{} BETWEEN 0 AND 4294967295 AND {} BETWEEN 0 AND 32", num, given)
		return fn("COALESCE", caseWhen(valid, text, sqlast.Keyword("''")), sqlast.Keyword("''")), nil
	}
}
