package mgmt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"odx/internal/storage"
)

const killHelperEnv = "ODX_MGMT_KILL_HELPER"

// TestMain lets the test binary double as the process that gets killed.
func TestMain(m *testing.M) {
	if path := os.Getenv(killHelperEnv); path != "" {
		os.Exit(killHelper(path, os.Getenv("ODX_MGMT_KILL_TABLE")))
	}
	os.Exit(m.Run())
}

// killRows is large enough that the INSERT runs for seconds.
const killRows = 40_000_000

func killHelper(path, table string) int {
	st, err := storage.Open(context.Background(), path, storage.Options{RetentionInterval: -1})
	if err != nil {
		fmt.Println("open:", err)
		return 2
	}
	s := New(st, queryService(st), Options{})
	fmt.Println("started")
	_, err = s.Execute(context.Background(), admin, "DB", fmt.Sprintf(".set-or-append %s <| range a from 1 to %d step 1", table, killRows))
	fmt.Println("finished", err)
	return 0
}

func TestSetOrAppendSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process and writes 40M rows")
	}
	for _, table := range []string{"T", "NewTable"} {
		t.Run(table, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "odx.duckdb")
			s, st := newService(t, path)
			run1(t, s, admin, "", ".create database DB")
			run1(t, s, admin, "DB", ".create table T (a:long)")
			run1(t, s, admin, "DB", ".ingest inline into table T <| 1\n2\n3")
			st.Close()

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), killHelperEnv+"="+path, "ODX_MGMT_KILL_TABLE="+table)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewScanner(out)
			if !lines.Scan() || lines.Text() != "started" {
				t.Fatalf("helper said %q", lines.Text())
			}
			time.Sleep(1500 * time.Millisecond)
			finished := make(chan string, 1)
			go func() {
				if lines.Scan() {
					finished <- lines.Text()
				}
				close(finished)
			}()
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if msg, ok := <-finished; ok {
				t.Fatalf("the command ended before the kill (%s); the test needs a longer command", msg)
			}
			cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("helper was not killed: %v", cmd.ProcessState)
			}

			s2, st2 := newService(t, path)
			d, _ := st2.Snapshot().DB("DB")
			tb, exists := d.Tbl(table)
			if table == "NewTable" && exists {
				// All of it, or none of it (including the table).
				assertCount(t, s2, table, killRows)
				return
			}
			if !exists {
				return
			}
			n := countRows(t, s2, tb.Name())
			if n != 3 && n != 3+killRows {
				t.Fatalf("%d rows after kill -9: neither all nor none", n)
			}
			ext := run1(t, s2, admin, "DB", ".show table T extents")
			var total int64
			for _, r := range ext.column("RowCount") {
				v, _ := strconv.ParseInt(r, 10, 64)
				total += v
			}
			if total != n {
				t.Fatalf("extents say %d rows, table has %d", total, n)
			}
			// The file is healthy: it takes more writes.
			run1(t, s2, admin, "DB", ".ingest inline into table T <| 4")
		})
	}
}

func countRows(t *testing.T, s *Service, table string) int64 {
	t.Helper()
	out := queryFn(s)(t, table+" | count")
	return out.rows[0][0].(int64)
}

func assertCount(t *testing.T, s *Service, table string, want int64) {
	t.Helper()
	if n := countRows(t, s, table); n != want {
		t.Fatalf("%s has %d rows, want %d", table, n, want)
	}
}
