package format

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	scorc "github.com/scritchley/orc"
)

// The same 1M telemetry rows (timestamp, two strings, a double, a long) as
// ORC (scritchley/orc's writer, zlib; and recompressed as snappy) and as
// Parquet (arrow-go's writer, snappy), decoded to records:
//
//	go test -run '^$' -bench 'Telemetry1M' -benchtime 3x -count=1 ./internal/ingest/format/
const telemetryBenchRows = 1_000_000

var (
	telemetryOnce                                     sync.Once
	telemetryORCZlib, telemetryORCSnappy, telemetryPQ []byte
)

func telemetryBenchRow(i int) (time.Time, string, string, float64, int64) {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 100 * time.Millisecond),
		fmt.Sprintf("device-%03d", i%500), fmt.Sprintf("site-%d", i%7), float64(i%10000) / 7, int64(i)
}

func telemetryBenchFiles(b *testing.B) {
	telemetryOnce.Do(func() {
		cat := scorc.SetCategory
		schema, err := scorc.NewTypeDescription(cat(scorc.CategoryStruct),
			scorc.AddField("Timestamp", cat(scorc.CategoryTimestamp)), scorc.AddField("Device", cat(scorc.CategoryString)),
			scorc.AddField("Site", cat(scorc.CategoryString)), scorc.AddField("Value", cat(scorc.CategoryDouble)),
			scorc.AddField("Count", cat(scorc.CategoryLong)))
		if err != nil {
			b.Fatal(err)
		}
		write := func(codec scorc.CompressionCodec) []byte {
			var buf bytes.Buffer
			w, err := scorc.NewWriter(&buf, scorc.SetSchema(schema), scorc.SetCompression(codec))
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < telemetryBenchRows; i++ {
				ts, dev, site, v, n := telemetryBenchRow(i)
				if err := w.Write(ts, dev, site, v, n); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			return buf.Bytes()
		}
		telemetryORCZlib = write(scorc.CompressionZlib{})
		telemetryORCSnappy = recompressORC(b, write(scorc.CompressionNone{}), orcSnappy, 256<<10)

		sc := arrow.NewSchema([]arrow.Field{
			{Name: "Timestamp", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}},
			{Name: "Device", Type: arrow.BinaryTypes.String}, {Name: "Site", Type: arrow.BinaryTypes.String},
			{Name: "Value", Type: arrow.PrimitiveTypes.Float64}, {Name: "Count", Type: arrow.PrimitiveTypes.Int64},
		}, nil)
		var buf bytes.Buffer
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(128<<10))
		w, err := pqarrow.NewFileWriter(sc, &buf, props, pqarrow.DefaultWriterProps())
		if err != nil {
			b.Fatal(err)
		}
		rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := 0; i < telemetryBenchRows; i++ {
			ts, dev, site, v, n := telemetryBenchRow(i)
			rb.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixNano()))
			rb.Field(1).(*array.StringBuilder).Append(dev)
			rb.Field(2).(*array.StringBuilder).Append(site)
			rb.Field(3).(*array.Float64Builder).Append(v)
			rb.Field(4).(*array.Int64Builder).Append(n)
			if (i+1)%(128<<10) == 0 || i+1 == telemetryBenchRows {
				rec := rb.NewRecordBatch()
				if err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
				rec.Release()
			}
		}
		rb.Release()
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		telemetryPQ = buf.Bytes()
	})
}

func benchDecodeTelemetry(b *testing.B, f Format, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for i := 0; i < b.N; i++ {
		d, err := NewDecoder(f, bytes.NewReader(data), Options{})
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
			rows += len(batch.Records)
		}
		Close(d)
	}
	if rows != telemetryBenchRows*b.N {
		b.Fatalf("%d rows", rows)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(data))/(1<<20), "file-MB")
}

func BenchmarkDecodeTelemetry1M(b *testing.B) {
	telemetryBenchFiles(b)
	b.Run("orc-zlib", func(b *testing.B) { benchDecodeTelemetry(b, ORC, telemetryORCZlib) })
	b.Run("orc-snappy", func(b *testing.B) { benchDecodeTelemetry(b, ORC, telemetryORCSnappy) })
	b.Run("parquet-snappy", func(b *testing.B) { benchDecodeTelemetry(b, Parquet, telemetryPQ) })
}
