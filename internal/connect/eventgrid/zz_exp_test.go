package eventgrid_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"odx/internal/connect"
	"odx/internal/ingest/pipeline"
)

func TestExpSink(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ODX_EG_EXP"))
	if n <= 0 {
		t.Skip()
	}
	e := newEnv(t, envOptions{})
	e.table("db", "T", colsT)
	e.table("db", "Direct", colsT)
	files := make([][]byte, n)
	for i := range files {
		var b bytes.Buffer
		r := 0
		for b.Len() < 1<<20 {
			fmt.Fprintf(&b, "device-%03d-%06d,%d\n", i, r, i*100000+r)
			r++
		}
		files[i] = b.Bytes()
	}
	run := func(name string, fn func(i int)) {
		start := time.Now()
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					fn(i)
				}
			}()
		}
		for i := range files {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		t.Logf("%s: %v", name, time.Since(start))
	}
	sink := e.svc.Sink()
	for round := 0; round < 2; round++ {
		run("direct", func(i int) {
			if _, err := e.svc.IngestReader(context.Background(), pipeline.Request{Database: "db", Table: "Direct", Source: fmt.Sprintf("b%04d.csv", i)}, bytes.NewReader(files[i])); err != nil {
				t.Error(err)
			}
		})
		run("sink", func(i int) {
			u := fmt.Sprintf("https://a.blob.core.windows.net/c/r%d-b%04d.csv", round, i)
			_, err := sink.IngestBlob(context.Background(), connect.Blob{Connection: "c", URL: u, Identity: u,
				Route:    connect.Route{Database: "db", Table: "T", Format: "csv", Compression: "none"},
				Position: connect.Position{Partition: 0, NextOffset: 1},
				Open:     func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files[i])), nil }})
			if err != nil {
				t.Error(err)
			}
		})
	}
}
