package storage

import (
	"context"
	"strconv"
	"testing"
	"time"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// BenchmarkIngestRows commits one extent of 262,144 six-column rows (the
// pipeline's extent size for large sources) into a file-backed store: the
// storage half of issue 4's telemetry benchmark.
//
//	go test ./internal/storage -run '^$' -bench IngestRows -benchmem
func BenchmarkIngestRows(b *testing.B) {
	const n = 262144
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir()+"/odx.duckdb", Options{RetentionInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateDatabase(ctx, "DB", true, true, Principal{}); err != nil {
		b.Fatal(err)
	}
	cols := []schema.Column{{Name: "Timestamp", Type: types.DateTime}, {Name: "Device", Type: types.String}, {Name: "Metric", Type: types.String},
		{Name: "Value", Type: types.Real}, {Name: "Count", Type: types.Long}, {Name: "Ok", Type: types.Bool}}
	if err := s.CreateTables(ctx, "DB", []TableSpec{{Name: "T", Columns: cols}}, CreateOnly); err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	metrics := []string{"temperature", "humidity", "pressure", "voltage"}
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{base.Add(time.Duration(i) * 10 * time.Millisecond), "device-" + strconv.Itoa(i%5000), metrics[i%4],
			float64(i%10000) / 7, int64(i), i%13 != 0}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: rows}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkIngestSmallBatches commits extents of a few rows, as data
// connections do with each poll: the fixed cost of a commit.
//
//	go test ./internal/storage -run '^$' -bench IngestSmallBatches
func BenchmarkIngestSmallBatches(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, b.TempDir()+"/odx.duckdb", Options{RetentionInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.CreateDatabase(ctx, "DB", true, true, Principal{}); err != nil {
				b.Fatal(err)
			}
			cols := []schema.Column{{Name: "Timestamp", Type: types.DateTime}, {Name: "Device", Type: types.String}, {Name: "Value", Type: types.Real}}
			if err := s.CreateTables(ctx, "DB", []TableSpec{{Name: "T", Columns: cols}}, CreateOnly); err != nil {
				b.Fatal(err)
			}
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			rows := make([][]any, n)
			for i := range rows {
				rows[i] = []any{base.Add(time.Duration(i) * time.Second), "device-" + strconv.Itoa(i%50), float64(i) / 7}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: rows}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/commit")
		})
	}
}
