package mapping

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"testing"
	"time"

	"odx/internal/ingest/format"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// telemetry is the benchmark table: a typical device telemetry row.
var telemetry = []schema.Column{
	{Name: "Timestamp", Type: types.DateTime}, {Name: "DeviceId", Type: types.String}, {Name: "Region", Type: types.String},
	{Name: "Temperature", Type: types.Real}, {Name: "Humidity", Type: types.Real}, {Name: "Count", Type: types.Long},
	{Name: "Ok", Type: types.Bool}, {Name: "Tags", Type: types.Dynamic},
}

const benchRows = 200_000

func telemetryFiles() (csv, jsonl []byte) {
	rng := rand.New(rand.NewSource(1))
	var c, j bytes.Buffer
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	regions := []string{"westeurope", "eastus", "japaneast", "brazilsouth"}
	for i := 0; i < benchRows; i++ {
		ts := start.Add(time.Duration(i) * 137 * time.Millisecond).Format("2006-01-02T15:04:05.0000000Z")
		dev := fmt.Sprintf("device-%05d", rng.Intn(5000))
		reg := regions[rng.Intn(len(regions))]
		temp, hum := 15+rng.Float64()*20, rng.Float64()*100
		n, ok := rng.Int63n(1_000_000), rng.Intn(10) > 0
		fmt.Fprintf(&c, "%s,%s,%s,%.3f,%.2f,%d,%t,\"{\"\"fw\"\":\"\"1.%d\"\"}\"\n", ts, dev, reg, temp, hum, n, ok, i%7)
		fmt.Fprintf(&j, `{"Timestamp":"%s","DeviceId":"%s","Region":"%s","Temperature":%.3f,"Humidity":%.2f,"Count":%d,"Ok":%t,"Tags":{"fw":"1.%d"}}`+"\n", ts, dev, reg, temp, hum, n, ok, i%7)
	}
	return c.Bytes(), j.Bytes()
}

var benchCSV, benchJSON = telemetryFiles()

func benchmark(b *testing.B, f format.Format, data []byte, bind bool) {
	benchmarkWith(b, f, data, bind, false)
}

func benchmarkWith(b *testing.B, f format.Format, data []byte, bind, prefetch bool) {
	m := Identity(KindOf(f), telemetry)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		d, err := format.NewDecoder(f, bytes.NewReader(data), format.Options{Source: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if prefetch {
			d = format.Prefetch(d, 2)
		}
		binder, err := Bind(m, telemetry, Options{Source: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			batch, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if bind {
				blk, errs := binder.Block(batch)
				if len(errs) > 0 {
					b.Fatal(errs[0])
				}
				rows += blk.Len
			} else {
				rows += len(batch.Records)
			}
		}
		format.Close(d)
	}
	if rows != benchRows*b.N {
		b.Fatalf("%d rows, want %d", rows, benchRows*b.N)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkDecodeCSV(b *testing.B)       { benchmark(b, format.CSV, benchCSV, false) }
func BenchmarkDecodeBindCSV(b *testing.B)   { benchmark(b, format.CSV, benchCSV, true) }
func BenchmarkDecodeJSONLines(b *testing.B) { benchmark(b, format.JSON, benchJSON, false) }
func BenchmarkDecodeBindJSON(b *testing.B)  { benchmark(b, format.JSON, benchJSON, true) }

// The same records as one top-level array spread over lines (multijson).
var benchMultiJSON = append(append([]byte("[\n"), bytes.ReplaceAll(bytes.TrimSuffix(benchJSON, []byte("\n")), []byte("}\n{"), []byte("},\n{"))...), "\n]\n"...)

func BenchmarkDecodeBindMultiJSON(b *testing.B) { benchmark(b, format.MultiJSON, benchMultiJSON, true) }

// Decoding in its own goroutine (format.Prefetch) overlaps with binding.
func BenchmarkDecodeBindCSVPrefetch(b *testing.B) { benchmarkWith(b, format.CSV, benchCSV, true, true) }
func BenchmarkDecodeBindJSONPrefetch(b *testing.B) {
	benchmarkWith(b, format.JSON, benchJSON, true, true)
}
