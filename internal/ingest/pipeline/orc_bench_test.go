package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	scorc "github.com/scritchley/orc"
)

// BenchmarkIngestORCvsParquet ingests the same telemetry rows (1M, or
// ODX_BENCH_ROWS) through the pipeline as ORC (scritchley/orc's writer,
// zlib) and as Parquet (DuckDB's own COPY ... (FORMAT parquet), snappy), and
// loads the Parquet file with DuckDB's read_parquet for reference.
//
//	go test ./internal/ingest/pipeline -run '^$' -bench IngestORCvsParquet -benchtime 1x -count=1
func BenchmarkIngestORCvsParquet(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("ODX_BENCH_ROWS"); s != "" {
		n = benchRows()
	}
	dir := b.TempDir()
	csvPath, _ := writeTelemetry(b, dir, n)
	pqPath := filepath.Join(dir, "telemetry.parquet")
	{
		e := newBenchEnv(b, filepath.Join(dir, "convert.duckdb"))
		_, err := e.store.Engine().Exec(context.Background(), fmt.Sprintf("COPY (SELECT * FROM read_csv('%s', header=false, columns=%s)) TO '%s' (FORMAT parquet)",
			csvPath, duckColumns, pqPath))
		e.close()
		if err != nil {
			b.Fatal(err)
		}
	}
	orcPath := writeTelemetryORC(b, dir, n)
	for i := 0; i < b.N; i++ {
		orc := benchPipeline(b, dir, orcPath, "orc", n)
		pq := benchPipeline(b, dir, pqPath, "parquet", n)
		duck := benchDuckDB(b, dir, pqPath, fmt.Sprintf("read_parquet('%s')", pqPath), n)
		b.ReportMetric(orc.rowsPerSec(), "orc-rows/s")
		b.ReportMetric(pq.rowsPerSec(), "parquet-rows/s")
		b.ReportMetric(orc.rowsPerSec()/pq.rowsPerSec(), "orc/parquet")
		b.ReportMetric(float64(orc.peak)/(1<<20), "orc-peak-MB")
		b.Logf("%d rows: orc %.1f MB %.0f rows/s in %v (peak RSS %d MB, Go heap peak %d MB); parquet %.1f MB %.0f rows/s in %v (peak RSS %d MB, Go heap peak %d MB); "+
			"orc/parquet %.2f; duckdb read_parquet %.0f rows/s",
			n, float64(orc.bytes)/(1<<20), orc.rowsPerSec(), orc.took.Round(time.Millisecond), orc.peak>>20, orc.goPeak>>20,
			float64(pq.bytes)/(1<<20), pq.rowsPerSec(), pq.took.Round(time.Millisecond), pq.peak>>20, pq.goPeak>>20,
			orc.rowsPerSec()/pq.rowsPerSec(), duck.rowsPerSec())
	}
}

// writeTelemetryORC writes the rows writeTelemetry writes, as ORC.
func writeTelemetryORC(b *testing.B, dir string, n int) string {
	cat := scorc.SetCategory
	schema, err := scorc.NewTypeDescription(cat(scorc.CategoryStruct),
		scorc.AddField("Timestamp", cat(scorc.CategoryTimestamp)), scorc.AddField("Device", cat(scorc.CategoryString)),
		scorc.AddField("Metric", cat(scorc.CategoryString)), scorc.AddField("Value", cat(scorc.CategoryDouble)),
		scorc.AddField("Count", cat(scorc.CategoryLong)), scorc.AddField("Ok", cat(scorc.CategoryBoolean)))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "telemetry.orc")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, err := scorc.NewWriter(f, scorc.SetSchema(schema), scorc.SetCompression(scorc.CompressionZlib{}))
	if err != nil {
		b.Fatal(err)
	}
	metrics := []string{"temperature", "humidity", "pressure", "voltage"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(i%10000)/7, 'f', 4, 64), 64)
		if err := w.Write(base.Add(time.Duration(i)*10*time.Millisecond), "device-"+strconv.Itoa(i%5000), metrics[i%4], v, int64(i), i%13 != 0); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}
