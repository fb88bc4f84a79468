package format

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

const binaryBenchRows = 200_000

var (
	benchOnce               sync.Once
	benchAvro, benchParquet []byte
)

func benchFiles(b *testing.B) {
	benchOnce.Do(func() {
		benchAvro = writeAvro(b, "snappy", binaryBenchRows)
		benchParquet = writeParquet(b, binaryBenchRows, 50_000)
	})
}

func benchDecode(b *testing.B, f Format, data []byte) {
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
	if rows != binaryBenchRows*b.N {
		b.Fatalf("%d rows", rows)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// Both files have 10 fields per row, nested ones included (see the tests).
func BenchmarkDecodeApacheAvro(b *testing.B) { benchFiles(b); benchDecode(b, ApacheAvro, benchAvro) }
func BenchmarkDecodeParquet(b *testing.B)    { benchFiles(b); benchDecode(b, Parquet, benchParquet) }
