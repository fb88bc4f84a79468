package engine

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAppendJSON appends rows with a dynamic value, value by value,
// with the column types given and read from the catalog.
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
				err := db.InTx(ctx, func(tx *Tx) error { return appendRows(tx, to, rows) })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
