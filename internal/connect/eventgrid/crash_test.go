package eventgrid_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"odx/internal/connect/eventgrid"
	"odx/internal/hub"
	"odx/internal/storage"
)

// Environment of the child process TestCrashChild runs in.
const (
	crashChildEnv = "ODX_EG_CRASH_CHILD"
	crashDBEnv    = "ODX_EG_CRASH_DB"
	crashHubEnv   = "ODX_EG_CRASH_HUB"
	crashEPEnv    = "ODX_EG_CRASH_ENDPOINT"
	crashGroupEnv = "ODX_EG_CRASH_GROUP"
)

const crashHub = "crash-events"

// TestCrashChild is the odx that TestKilledWhileIngesting kills: it
// ingests the announced blobs into the DuckDB file it is given and prints
// how many blobs it committed until it is killed.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) == "" {
		t.Skip("run by TestKilledWhileIngesting")
	}
	e := newEnv(t, envOptions{endpoint: os.Getenv(crashEPEnv), dbPath: os.Getenv(crashDBEnv), hubAddr: os.Getenv(crashHubEnv), chunkRows: 1000})
	s := e.spec("crash", crashHub, e.account, nil)
	// Positions live with the rows, so each run may use its own consumer
	// group: the next run does not wait for the killed member's session.
	s.ConsumerGroup = os.Getenv(crashGroupEnv)
	e.apply(s)
	for {
		st, _ := e.grid.Blobs(s.ID)
		fmt.Printf("committed %d\n", st.Ingested+st.Duplicates+st.Failed)
		time.Sleep(20 * time.Millisecond)
	}
}

// kill -9 while blobs are being ingested, twice; then a restart ingests
// the rest. Every blob's rows are in the table exactly once.
func TestKilledWhileIngesting(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	ep := startAzurite(t)
	h, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dbPath := filepath.Join(t.TempDir(), "odx.duckdb")
	ctx := context.Background()
	st, err := storage.Open(ctx, dbPath, storage.Options{RetentionInterval: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateDatabase(ctx, "db", true, true, storage.Principal{}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTables(ctx, "db", []storage.TableSpec{{Name: "T", Columns: colsT}}, storage.CreateOnly); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// 30 blobs of 2500 rows (3 extents each at 1000 rows per extent),
	// announced three per notification, plus repeated notifications.
	const blobs, rowsPer = 30, 2500
	bc := blobClient(t, ep)
	var want []string
	var events []map[string]any
	for b := range blobs {
		var sb strings.Builder
		for r := range rowsPer {
			fmt.Fprintf(&sb, "b%02d-r%04d,%d\n", b, r, b*rowsPer+r)
			want = append(want, fmt.Sprintf("b%02d-r%04d|%d", b, r, b*rowsPer+r))
		}
		name := fmt.Sprintf("crash/b%02d.csv", b)
		upload(t, bc, "crash", name[len("crash/"):], []byte(sb.String()), nil)
		events = append(events, event(b%2 == 0, eventgrid.BlobCreated, "odxtest", ep+"/"+name, int64(sb.Len()), "PutBlob"))
	}
	producerEnv := newEnvProducer(t, h.Addr())
	for i := 0; i < blobs; i += 3 {
		producerEnv.notify(crashHub, []any{events[i], events[i+1], events[i+2]})
		if i%9 == 0 {
			producerEnv.notify(crashHub, events[i]) // a repeated notification
		}
	}

	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	childTmp := t.TempDir()
	for run, killAfter := range []int64{4, 14} {
		cmd := exec.Command(bin, "-test.run", "^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDBEnv+"="+dbPath, crashHubEnv+"="+h.Addr(),
			crashEPEnv+"="+ep, crashGroupEnv+"=run"+strconv.Itoa(run),
			"TMPDIR="+childTmp) // the killed child cannot remove its temporary folders; this test does
		var stderr syncBuffer // the child's output, shown when it ends before it is killed
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		reached := false
		deadline := time.Now().Add(60 * time.Second)
		for sc.Scan() && time.Now().Before(deadline) {
			n, ok := strings.CutPrefix(sc.Text(), "committed ")
			if !ok {
				fmt.Fprintln(&stderr, sc.Text()) // the child's test output, e.g. why it failed
				continue
			}
			if v, _ := strconv.ParseInt(n, 10, 64); v >= killAfter {
				reached = true
				break
			}
		}
		cmd.Process.Kill() // SIGKILL: no flush, no clean shutdown
		go func() {
			for sc.Scan() {
			}
		}()
		cmd.Wait()
		if !reached {
			t.Fatalf("run %d: the child did not commit %d blobs before the deadline; its stderr:\n%s", run, killAfter, stderr.String())
		}
		t.Logf("run %d killed after at least %d blob commits", run, killAfter)
	}

	// The last odx runs to the end.
	e := newEnv(t, envOptions{endpoint: ep, dbPath: dbPath, hubAddr: h.Addr(), chunkRows: 1000})
	s := e.spec("crash", crashHub, e.account, nil)
	s.ConsumerGroup = "final"
	e.apply(s)
	e.waitRows("db", "T", want)
	if f := e.failures(); len(f) != 0 {
		t.Errorf("failures: %+v", f)
	}
}

// newEnvProducer is an env that only produces notifications to a hub.
func newEnvProducer(t *testing.T, addr string) *env {
	t.Helper()
	e := newEnv(t, envOptions{hubAddr: addr})
	return e
}

// syncBuffer is a bytes.Buffer that the child's stderr copier and the test
// write to at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
