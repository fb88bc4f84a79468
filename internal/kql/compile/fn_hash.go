package compile

import (
	"odx/internal/kql/sem"
	"odx/internal/kql/types"
	"odx/internal/sqlast"
)

// hash_many(s1, s2, ...) applies hash() to each value and combines the
// hashes; hash_combine(h1, h2, ...) combines hashes already computed, so
// hash_many(a, b) == hash_combine(hash(a), hash(b)). ADX documents neither
// the combining step nor its stability ("only within a single query"); odx
// combines with xxhash64 over the hashes' little-endian bytes
// (odx_hash_combine in internal/engine/functions_kql.go), so its values
// differ from ADX's.

func init() {
	register(map[string]lowerFunc{
		"hash_many": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			hashes := make([]sqlast.Expr, len(a))
			for i := range a {
				one := &sem.Call{Fn: "hash", Args: []sem.Expr{call.Args[i]}, T: types.Long}
				h, err := lowerings["hash"](c, one, []sqlast.Expr{a[i]})
				if err != nil {
					return nil, err
				}
				hashes[i] = h
			}
			return fn("odx_hash_combine", hashes...), nil
		},
		"hash_combine": func(c *compiler, call *sem.Call, a []sqlast.Expr) (sqlast.Expr, error) {
			hashes := make([]sqlast.Expr, len(a))
			for i := range a {
				hashes[i] = numberArg(call, a, i, "BIGINT")
			}
			return fn("odx_hash_combine", hashes...), nil
		},
	})
}
