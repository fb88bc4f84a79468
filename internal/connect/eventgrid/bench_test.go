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

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventgrid"
	"odx/internal/ingest/pipeline"
)

// TestThroughputBlobsInProcess is the in-process variant of the issue's
// benchmark, for profiling the connector (go test -cpuprofile): opt-in with
// ODX_EG_PROFILE_BENCH=<blobs>. N blobs of 1 MB CSV in Azurite announced at
// once; MB/s until all rows are queryable, against the pipeline ingesting
// the same files straight from memory with 4 workers, in the same run.
// The figure (against the `odx ingest` binary, on odx serve) is
// test/eventgrid's TestThroughputAgainstOdxIngest (ODX_EG_BENCH=500).
func TestThroughputBlobsInProcess(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ODX_EG_PROFILE_BENCH"))
	if n <= 0 {
		t.Skip("set ODX_EG_PROFILE_BENCH=500 to profile the Event Grid connector in process (the issue's benchmark is test/eventgrid, ODX_EG_BENCH)")
	}
	ep := startAzurite(t)
	parallel, _ := strconv.Atoi(os.Getenv("ODX_EG_PARALLEL")) // the connector's default when unset
	e := newEnv(t, envOptions{endpoint: ep, parallel: parallel})
	e.table("db", "T", colsT)
	e.table("db", "Direct", colsT)
	e.table("db", "Direct2", colsT)
	bc := blobClient(t, ep)

	// 1 MB of CSV per blob.
	files := make([][]byte, n)
	rows := 0
	for i := range files {
		var b bytes.Buffer
		r := 0
		for b.Len() < 1<<20 {
			fmt.Fprintf(&b, "device-%03d-%06d,%d\n", i, r, i*100000+r)
			r++
		}
		files[i] = b.Bytes()
		rows += r
	}
	total := int64(0)
	for _, f := range files {
		total += int64(len(f))
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			upload(t, bc, "bench", fmt.Sprintf("b%04d.csv", i), f, nil)
		}()
	}
	wg.Wait()
	mb := float64(total) / (1 << 20)

	// The same files through the pipeline directly, 4 at a time (before
	// and after the connection's run: the second run sees the bigger store).
	direct := func(table string) time.Duration {
		start := time.Now()
		jobs := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					if _, err := e.svc.IngestReader(context.Background(), pipeline.Request{Database: "db", Table: table,
						Source: fmt.Sprintf("b%04d.csv", i)}, bytes.NewReader(files[i])); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		for i := range files {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		return time.Since(start)
	}
	direct1 := direct("Direct")

	// Reading the blobs alone (4 at a time), to see what the storage costs.
	start := time.Now()
	dl := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range dl {
				resp, err := bc.DownloadStream(context.Background(), "bench", fmt.Sprintf("b%04d.csv", i), nil)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := range files {
		dl <- i
	}
	close(dl)
	wg.Wait()
	download := time.Since(start)

	// The Event Grid connection: every notification produced at once.
	s := e.spec("bench", "bench-events", e.account, nil)
	e.apply(s)
	// The connection is running (partitions assigned) before the blobs are announced.
	connecttest.Eventually(t, 30*time.Second, func() bool {
		st, _ := e.mgr.Status(s.ID)
		return len(st.Partitions) > 0
	}, func() string { return "the connection got no partitions" })
	recs := make([]*kgo.Record, n)
	for i := range files {
		body := mustJSON(t, event(false, eventgrid.BlobCreated, e.account, fmt.Sprintf("%s/bench/b%04d.csv", ep, i), int64(len(files[i])), "PutBlob"))
		recs[i] = &kgo.Record{Topic: "bench-events", Value: body}
	}
	start = time.Now()
	if err := e.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	want := int64(rows)
	for {
		if got := e.count("db", "T"); got == want {
			break
		} else if got > want {
			t.Fatalf("%d rows, want %d", got, want)
		}
		if time.Since(start) > 30*time.Minute {
			t.Fatal("the blobs were not ingested within 30 minutes")
		}
		time.Sleep(250 * time.Millisecond)
	}
	viaGrid := time.Since(start)
	direct2 := direct("Direct2")
	best := min(direct1, direct2)
	ratio := best.Seconds() / viaGrid.Seconds()
	t.Logf("%d blobs, %.0f MB, %d rows: Event Grid %.2fs (%.1f MB/s); pipeline directly %.2fs before, %.2fs after (best %.1f MB/s); ratio %.2f (target 0.8); downloading alone from Azurite %.2fs (%.1f MB/s)",
		n, mb, want, viaGrid.Seconds(), mb/viaGrid.Seconds(), direct1.Seconds(), direct2.Seconds(), mb/best.Seconds(), ratio, download.Seconds(), mb/download.Seconds())
}
