package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"odx/internal/engine"
)

// BenchmarkV2Query1M streams a 1M-row query result through a real odx's
// /v2/rest/query (KQL compile, DuckDB, v2 frames over HTTPS) and, in the same
// run, the same rows straight from DuckDB through internal/engine, the
// physical reference. It reports rows/s of both, their ratio, and odx's peak
// resident memory (VmHWM).
//
//	go test -run XXX -bench V2Query1M -benchtime 3x ./test/e2e/
func BenchmarkV2Query1M(b *testing.B) {
	const rows = 1_000_000
	s := startServer(b, "")
	token := s.dataToken()
	kql := fmt.Sprintf("range x from 1 to %d step 1 | extend s=strcat('device-', tostring(x %% 1000)), v=todouble(x) / 7.0, ts=datetime(2024-01-01) + x * 1s", rows)
	body := `{"db":"NetDefaultDB","csl":` + strconv.Quote(kql) + `,"properties":{"Options":{"results_v2_fragment_primary_tables":true,"notruncation":true}}}`

	var odxTime time.Duration
	var bytes int64
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", s.url+"/v2/rest/query", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := s.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != 200 {
			msg, _ := io.ReadAll(resp.Body)
			b.Fatalf("status %d: %s", resp.StatusCode, msg)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		odxTime += time.Since(start)
		bytes += n
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		if n < rows*20 {
			b.Fatalf("a %d-byte response cannot hold %d rows", n, rows)
		}
	}
	peak := peakRSS(s.cmd.Process.Pid)

	// The physical reference: DuckDB producing the same rows, read as Go values.
	db, err := engine.Open("", engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	sql := fmt.Sprintf(`SELECT x, 'device-' || (x %% 1000)::VARCHAR AS s, x::DOUBLE / 7.0 AS v, TIMESTAMP_NS '2024-01-01' + to_seconds(x) AS ts FROM range(1, %d + 1) t(x)`, rows)
	var duckTime time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := db.Query(context.Background(), sql)
		if err != nil {
			b.Fatal(err)
		}
		count := 0
		for r.Next() {
			if _, err := r.Values(); err != nil {
				b.Fatal(err)
			}
			count++
		}
		r.Close()
		duckTime += time.Since(start)
		if count != rows {
			b.Fatalf("duckdb returned %d rows", count)
		}
	}
	odxRate := float64(rows*b.N) / odxTime.Seconds()
	duckRate := float64(rows*b.N) / duckTime.Seconds()
	b.ReportMetric(odxRate, "odx-rows/s")
	b.ReportMetric(duckRate, "duckdb-rows/s")
	b.ReportMetric(duckRate/odxRate, "duckdb/odx")
	b.ReportMetric(float64(peak)/(1<<20), "odx-peak-MiB")
	b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MiB/response")
}

// peakRSS reads a process's peak resident set size in bytes from /proc.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
