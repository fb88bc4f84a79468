package engine

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAppendJSON appends rows with a dynamic value through the query
// appender (types given) and through the driver's JSON column.
//
//	go test ./internal/engine -run '^$' -bench AppendJSON
func BenchmarkAppendJSON(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{int64(i), fmt.Sprintf(`{"site":"s%d","unit":"C","ok":true}`, i%50), "device-1"}
	}
	for _, typed := range []bool{true, false} {
		b.Run(fmt.Sprint("typed=", typed), func(b *testing.B) {
			db, err := Open("", Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(ctx, `CREATE TABLE j (id BIGINT, d JSON, s VARCHAR)`); err != nil {
				b.Fatal(err)
			}
			to := AppendTarget{Schema: "main", Table: "j"}
			if typed {
				to.Types = []string{"BIGINT", "JSON", "VARCHAR"}
			}
			b.ResetTimer()
			for range b.N {
				err := db.InTx(ctx, func(tx *Tx) error {
					done := false
					return tx.AppendParts(to, func() (int, func(int, []any) error, error) {
						if done {
							return 0, nil, nil
						}
						done = true
						return n, func(i int, dst []any) error { copy(dst, rows[i]); return nil }, nil
					})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
