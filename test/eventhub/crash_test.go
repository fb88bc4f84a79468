package eventhub_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// The child side of TestCrashExactlyOnce: one odx node (store, pipeline,
// manager) ingesting the hub until it is killed, or, in the final run,
// until the table holds ODX_CRASH_WANT rows.
func crashChild() {
	addr, dbFile := os.Getenv("ODX_CRASH_HUB"), os.Getenv("ODX_CRASH_DB")
	want, _ := strconv.Atoi(os.Getenv("ODX_CRASH_WANT"))
	t := &testing.T{}
	n := startNodeNoCleanup(t, dbFile, addr)
	n.table("Metrics", "Events", []schema.Column{{Name: "Id", Type: types.Long}, {Name: "Payload", Type: types.String}})
	s := connSpec("crash", "crash")
	s.Table, s.SystemProperties = "Events", nil
	if err := n.m.Apply(context.Background(), s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for {
		time.Sleep(100 * time.Millisecond)
		rows := len(n.rows("Metrics", "Events", `"Id"`))
		os.WriteFile(os.Getenv("ODX_CRASH_PROGRESS"), []byte(strconv.Itoa(rows)), 0o600)
		if want > 0 && rows >= want {
			time.Sleep(500 * time.Millisecond) // anything extra would show up now
			n.stop()
			os.Exit(0)
		}
	}
}

// Produce N events with unique ids, kill -9 the ingesting process several
// times mid-stream, restart it, and find exactly N rows with N distinct ids.
func TestCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary several times")
	}
	const total = 30000
	dir := t.TempDir()
	h := startTestHub(t)
	dbFile := filepath.Join(dir, "odx.duckdb")

	cl, err := kgo.NewClient(kgo.SeedBrokers(h.Addr()), kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := h.CreateTopic("crash"); err != nil {
		t.Fatal(err)
	}
	// Produce in the background, so kills land while events keep arriving.
	produced := make(chan error, 1)
	go func() {
		for i := range total {
			cl.Produce(context.Background(), &kgo.Record{Topic: "crash", Value: fmt.Appendf(nil, "%d,payload-%d", i, i)}, nil)
			if i%2000 == 1999 {
				time.Sleep(60 * time.Millisecond)
			}
		}
		produced <- cl.Flush(context.Background())
	}()

	run := func(want int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ODX_CRASH_HUB="+h.Addr(), "ODX_CRASH_DB="+dbFile, "ODX_CRASH_WANT="+strconv.Itoa(want),
			"ODX_CRASH_PROGRESS="+filepath.Join(dir, "progress"))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	kills := 0
	var seenAtKill []string
	for range 4 {
		cmd := run(0)
		time.Sleep(time.Duration(1000+rand.IntN(1000)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		kills++
		p, _ := os.ReadFile(filepath.Join(dir, "progress"))
		seenAtKill = append(seenAtKill, string(p))
	}
	t.Logf("rows seen by the node shortly before each kill -9: %v", seenAtKill)
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	final := run(total)
	done := make(chan error, 1)
	go func() { done <- final.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("final run: %v", err)
		}
	case <-time.After(60 * time.Second):
		final.Process.Kill()
		t.Fatal("final run did not reach the expected row count in 60s")
	}

	n := startNode(t, dbFile, h.Addr())
	rows := n.rows("Metrics", "Events", `"Id"`)
	ids := map[int64]bool{}
	for _, r := range rows {
		ids[r[0].(int64)] = true
	}
	if len(rows) != total || len(ids) != total {
		t.Fatalf("after %d kill -9: %d rows, %d distinct ids, want %d of each", kills, len(rows), len(ids), total)
	}
	t.Logf("%d events, %d kill -9 while ingesting: %d rows, %d distinct ids", total, kills, len(rows), len(ids))
}
