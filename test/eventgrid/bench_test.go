package eventgrid_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"odx/internal/testutil/azurite"
)

// TestThroughputAgainstOdxIngest is the benchmark, opt-in
// (ODX_EG_BENCH=<blobs>, 500 for the figure): N blobs of 1 MB CSV
// in Azurite, announced to an Event Grid connection of a real odx serve all
// at once; MB/s until every row is queryable, against `odx ingest` (the
// built binary, as a user runs it) of the same files into the same odx, in
// the same run: once before the connection's run and once after, the
// ratio taken against the faster of the two.
func TestThroughputAgainstOdxIngest(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ODX_EG_BENCH"))
	if n <= 0 {
		t.Skip("set ODX_EG_BENCH=500 to run the Event Grid throughput benchmark")
	}
	s := startStack(t)
	s.createConnections([]string{
		".create table Events (Device: string, Value: long)", // the script's two article connections write here
		".create table GridBench (Device: string, Value: long)",
		".create table IngestBefore (Device: string, Value: long)",
		".create table IngestAfter (Device: string, Value: long)",
	}, "ODX_EXTRA_CONNECTION=bench,bench-events,GridBench")

	// N files of 1 MB CSV, on disk for odx ingest and in Azurite.
	dir := t.TempDir()
	paths := make([]string, n)
	rows, total := 0, int64(0)
	for i := range paths {
		var b bytes.Buffer
		for r := 0; b.Len() < 1<<20; r++ {
			fmt.Fprintf(&b, "device-%04d-%06d,%d\n", i, r, i*100000+r)
			rows++
		}
		total += int64(b.Len())
		paths[i] = filepath.Join(dir, fmt.Sprintf("b%04d.csv", i))
		if err := os.WriteFile(paths[i], b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bc := azurite.Client(t, s.blobEP)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := os.ReadFile(p)
			if err != nil {
				t.Error(err)
				return
			}
			azurite.Upload(t, bc, "bench", filepath.Base(p), body, nil)
		}()
	}
	wg.Wait()
	mb := float64(total) / (1 << 20)

	odxIngest := func(table string) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		args := append([]string{"ingest", "--data", s.odx.DataDir, "--endpoint", s.odx.URL, "--db", database, "--table", table}, paths...)
		start := time.Now()
		out, err := s.odx.Run(ctx, args...)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("odx ingest: %v\n%s", err, out)
		}
		if got := s.count(table + " | count"); got != int64(rows) {
			t.Fatalf("odx ingest: %s has %d rows, want %d\n%s", table, got, rows, out)
		}
		return took
	}
	before := odxIngest("IngestBefore")

	// Every notification at once, then wait until all rows are queryable.
	events := make([]any, n)
	for i, p := range paths {
		events[i] = blobEvent(i%2 == 1, blobCreated, account, s.blobURL("bench", filepath.Base(p)), int(total/int64(n)), "PutBlob")
	}
	start := time.Now()
	s.notify("bench-events", events...)
	for {
		got := s.count("GridBench | count")
		if got == int64(rows) {
			break
		}
		if got > int64(rows) {
			t.Fatalf("GridBench has %d rows, want %d", got, rows)
		}
		if time.Since(start) > 30*time.Minute {
			t.Fatalf("the blobs were not ingested within 30 minutes (%d of %d rows)", got, rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	grid := time.Since(start)

	after := odxIngest("IngestAfter")
	best := min(before, after)
	t.Logf("%d blobs, %.0f MB, %d rows: Event Grid connection %.2fs (%.1f MB/s); odx ingest %.2fs before (%.1f MB/s), %.2fs after (%.1f MB/s); ratio to the faster odx ingest %.2f (target 0.8)",
		n, mb, rows, grid.Seconds(), mb/grid.Seconds(), before.Seconds(), mb/before.Seconds(), after.Seconds(), mb/after.Seconds(), best.Seconds()/grid.Seconds())
}
