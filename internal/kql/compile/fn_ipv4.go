package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// IPv4 functions. Addresses are compared as 32-bit numbers, with an
// optional /prefix in the text.

const ipv4Re = `^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\s*(?:/\s*(\d{1,2}))?\s*$`

// ipv4Number is the address of s as a BIGINT (null when s is not an address).
func ipv4Number(s sqlast.Expr) sqlast.Expr {
	re := str(ipv4Re)
	part := func(i int) sqlast.Expr {
		return tmpl("CAST(regexp_extract({}, {}, "+itoa(i)+") AS BIGINT)", s, re)
	}
	return tmpl("CASE WHEN regexp_matches({}, {}) AND {} < 256 AND {} < 256 AND {} < 256 AND {} < 256 THEN ({} << 24) + ({} << 16) + ({} << 8) + {} ELSE NULL END",
		s, re, part(1), part(2), part(3), part(4), part(1), part(2), part(3), part(4))
}

// ipv4Prefix is the /n of s, 32 when absent.
func ipv4Prefix(s sqlast.Expr) sqlast.Expr {
	return tmpl("COALESCE(TRY_CAST(nullif(regexp_extract({}, {}, 5), '') AS BIGINT), 32)", s, str(ipv4Re))
}

func ipv4Mask(ip, bits sqlast.Expr) sqlast.Expr {
	return tmpl("(({} >> (32 - {})) << (32 - {}))", ip, bits, bits)
}

func init() {
	register(map[string]lowerFunc{
		"parse_ipv4": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := strArg(call, a, 0)
			return ipv4Mask(ipv4Number(s), ipv4Prefix(s)), nil
		},
		"parse_ipv4_mask": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			return ipv4Mask(ipv4Number(strArg(call, a, 0)), cast(a[1], "BIGINT")), nil
		},
		"ipv4_netmask_suffix": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			s := strArg(call, a, 0)
			return caseWhen(tmpl("{} IS NULL", ipv4Number(s)), null(types.Long), ipv4Prefix(s)), nil
		},
		"ipv4_is_private": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			n := ipv4Number(strArg(call, a, 0))
			return tmpl("CASE WHEN {} IS NULL THEN NULL ELSE ({} >> 24 = 10 OR {} >> 20 = 2753 OR {} >> 16 = 49320) END", n, n, n, n), nil
		},
		"ipv4_compare": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l, r := strArg(call, a, 0), strArg(call, a, 1)
			bits := fn("least", ipv4Prefix(l), ipv4Prefix(r))
			if len(a) == 3 {
				bits = fn("least", bits, cast(a[2], "BIGINT"))
			}
			return cast(fn("sign", bin("-", ipv4Mask(ipv4Number(l), bits), ipv4Mask(ipv4Number(r), bits))), "BIGINT"), nil
		},
		"ipv4_is_match": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			l, r := strArg(call, a, 0), strArg(call, a, 1)
			bits := fn("least", ipv4Prefix(l), ipv4Prefix(r))
			if len(a) == 3 {
				bits = fn("least", bits, cast(a[2], "BIGINT"))
			}
			return bin("=", ipv4Mask(ipv4Number(l), bits), ipv4Mask(ipv4Number(r), bits)), nil
		},
		"ipv4_is_in_range": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			ip, rng := strArg(call, a, 0), strArg(call, a, 1)
			bits := ipv4Prefix(rng)
			return bin("=", ipv4Mask(ipv4Number(ip), bits), ipv4Mask(ipv4Number(rng), bits)), nil
		},
	})
}
