package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"odx/internal/access"
	"odx/internal/storage"
)

const childEnv = "ODX_PIPELINE_DURABILITY_CHILD"

// TestDurabilityChild is the process the kill -9 test starts and kills:
// it serves the streaming endpoint over a store file until it is killed.
func TestDurabilityChild(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("run by TestAcknowledgedRowsSurviveKill9")
	}
	ctx := context.Background()
	st, err := storage.Open(ctx, path, storage.Options{RetentionInterval: -1})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	svc, err := New(ctx, st, Options{DefaultBatching: BatchingPolicy{MaxDelay: 30 * time.Millisecond, MaxItems: 5}})
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	if _, err := st.CreateDatabase(ctx, "DB", true, true, storage.Principal{}); err != nil {
		fmt.Println("ERROR", err)
		return
	}
	if err := st.CreateTables(ctx, "DB", []storage.TableSpec{{Name: "T", Columns: telemetry}}, storage.CreateOnly); err != nil {
		fmt.Println("ERROR", err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		return
	}
	h := NewStreamingHandler(svc, StreamingOptions{Caller: func(context.Context) (access.Caller, error) { return clusterAdmin, nil }})
	fmt.Printf("LISTEN http://%s\n", ln.Addr())
	http.Serve(ln, h) // until kill -9
}

// TestAcknowledgedRowsSurviveKill9 streams requests into a child odx
// pipeline, kills it with SIGKILL while requests are in flight, and checks
// that every acknowledged request's row is in the reopened file.
func TestAcknowledgedRowsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "odx.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	var base string
	for sc.Scan() {
		line := sc.Text()
		if u, ok := strings.CutPrefix(line, "LISTEN "); ok {
			base = u
			break
		}
		if strings.HasPrefix(line, "ERROR") {
			t.Fatal(line)
		}
	}
	if base == "" {
		t.Fatal("the child did not start")
	}
	go func() {
		for sc.Scan() {
		}
	}()

	var mu sync.Mutex
	acked := map[int]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf("2026-01-01T00:00:00Z,req,1,%d\n", i)
				resp, err := client.Post(base+"/v1/rest/ingest/DB/T?streamFormat=csv", "text/csv", strings.NewReader(body))
				if err != nil {
					return // the child is gone
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked[i] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	// Let some requests be acknowledged, then kill without warning.
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no request was acknowledged before the kill")
	}

	e := newEnvAt(t, path, Options{})
	present := map[int]bool{}
	for _, r := range e.rows("DB", "T", `"Count"`) {
		present[int(r[3].(int64))] = true
	}
	for i := range acked {
		if !present[i] {
			t.Errorf("request %d was acknowledged but its row is gone after kill -9", i)
		}
	}
	t.Logf("%d requests acknowledged, %d rows present after kill -9", len(acked), len(present))
}
