package format

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// BenchmarkJSONLines decodes 100,000 telemetry lines (six fields and one
// nested object the mapping does not read) whole and picking the six, as
// the decoder's Next does and left to Batch.Finish (DeferPicking).
//
//	go test ./internal/ingest/format -run '^$' -bench JSONLines -benchmem
func BenchmarkJSONLines(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `{"Timestamp":"2026-01-01T00:00:%02d.%03dZ","Device":"device-%d","Metric":"temperature","Value":%d.25,"Count":%d,"Ok":true,"Tags":{"site":"a","rack":[1,2]}}`+"\n",
			i%60, i%1000, i%5000, i%1000, i)
	}
	data := buf.Bytes()
	picks, _ := NewPicks([][]string{{"Timestamp"}, {"Device"}, {"Metric"}, {"Value"}, {"Count"}, {"Ok"}})
	for _, c := range []struct {
		name     string
		picks    *Picks
		deferred bool
	}{{"whole", nil, false}, {"picked", picks, false}, {"deferred", picks, true}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				d, _ := NewDecoder(JSON, bytes.NewReader(data), Options{Picks: c.picks, DeferPicking: c.deferred})
				rows := 0
				for {
					batch, err := d.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					batch.Finish()
					rows += len(batch.Records)
				}
				if rows != n {
					b.Fatalf("%d rows", rows)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
