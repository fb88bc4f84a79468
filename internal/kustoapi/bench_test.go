package kustoapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-kusto-go/azkustodata"
	"github.com/Azure/azure-kusto-go/azkustodata/kql"

	"odx/internal/kql/types"
	"odx/internal/kustoapi"
	"odx/internal/result"
)

// generated is an n-row, 6-column table computed row by row, like a
// database cursor: it holds one row at a time.
type generated struct {
	n, pos int
	row    []any
	base   time.Time
}

func newGenerated(n int) *generated {
	return &generated{n: n, row: make([]any, 6), base: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (g *generated) Name() string { return "PrimaryResult" }
func (g *generated) Columns() []result.Column {
	return []result.Column{
		{Name: "Id", Type: types.Long},
		{Name: "Name", Type: types.String},
		{Name: "Value", Type: types.Real},
		{Name: "Timestamp", Type: types.DateTime},
		{Name: "Flag", Type: types.Bool},
		{Name: "Elapsed", Type: types.TimeSpan},
	}
}
func (g *generated) Close() error { return nil }
func (g *generated) Next() ([]any, bool, error) {
	if g.pos >= g.n {
		return nil, false, nil
	}
	i := g.pos
	g.pos++
	g.row[0] = int64(i)
	g.row[1] = "device-" + string(rune('a'+i%26))
	g.row[2] = float64(i) * 0.25
	g.row[3] = g.base.Add(time.Duration(i) * time.Second)
	g.row[4] = i%2 == 0
	g.row[5] = int64(i) * 10_000
	return g.row, true, nil
}

type genExecutor struct{ rows int }

func (e genExecutor) Query(context.Context, *kustoapi.Request) (*result.Set, error) {
	return &result.Set{Tables: []result.Table{newGenerated(e.rows)}}, nil
}
func (e genExecutor) Mgmt(ctx context.Context, r *kustoapi.Request) (*result.Set, error) {
	return e.Query(ctx, r)
}

// BenchmarkV2Stream1M streams a generated 1M-row, 6-column result through
// /v2/rest/query (fragmented, as the Go client asks) into a discarding
// reader, and reports rows/s and the peak in-use heap while it runs.
func BenchmarkV2Stream1M(b *testing.B) {
	const rows = 1_000_000
	srv := httptest.NewServer(kustoapi.NewHandler(kustoapi.Options{Executor: genExecutor{rows: rows}, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	body := `{"db":"db","csl":"T","properties":{"Options":{"results_v2_fragment_primary_tables":true,"notruncation":true}}}`

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()

	var bytes int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		resp, err := http.Post(srv.URL+"/v2/rest/query", "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		bytes = n
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.SetBytes(bytes)
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MB")
}

// TestGoClientLargeResult sends a result of many fragments through the real
// Go client's streaming reader.
func TestGoClientLargeResult(t *testing.T) {
	if testing.Short() {
		t.Skip("large result")
	}
	const rows = 120_000
	srv := httptest.NewTLSServer(kustoapi.NewHandler(kustoapi.Options{Executor: genExecutor{rows: rows}, Logger: slog.New(slog.DiscardHandler), FragmentBytes: 64 << 10}))
	defer srv.Close()
	kcsb := azkustodata.NewConnectionStringBuilder(srv.URL).WithApplicationToken("app", "token")
	client, err := azkustodata.New(kcsb, azkustodata.WithHttpClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ds, err := client.IterativeQuery(context.Background(), "db", kql.New("T"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	seen := 0
	for tr := range ds.Tables() {
		if tr.Err() != nil {
			t.Fatal(tr.Err())
		}
		if tr.Table().Kind() != "PrimaryResult" {
			continue
		}
		for rr := range tr.Table().Rows() {
			if rr.Err() != nil {
				t.Fatal(rr.Err())
			}
			id, err := rr.Row().LongByIndex(0)
			if err != nil || id == nil || *id != int64(seen) {
				t.Fatalf("row %d has id %v (%v)", seen, id, err)
			}
			seen++
		}
	}
	if seen != rows {
		t.Errorf("got %d rows, want %d", seen, rows)
	}
}
