package kustoapi_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeClientDir holds the Node scenario and its package.json.
const nodeClientDir = "testdata/node"

// ensureNodeClient installs azure-kusto-data@7.0.4 into testdata/node once,
// or skips the test when node or the npm registry is not available.
func ensureNodeClient(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("Node client test in -short mode")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", "azure-kusto-data", "package.json")); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", nodeClientDir, "--no-audit", "--no-fund")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm install of azure-kusto-data failed (registry unreachable?): %v\n%s", err, out)
	}
}

// nodeResult is one step of client.mjs: the tables the client returned, or
// the error it threw.
type nodeResult struct {
	OK []struct {
		Name    string
		Columns [][2]string
		Rows    [][]any
		Parsed  []map[string]any
	}
	Error  string
	Status int
	Body   map[string]any
}

func TestNodeClient(t *testing.T) {
	ensureNodeClient(t)
	executor := wireExecutor()
	srv := newServer(t, executor)

	// Node trusts the test server's certificate through NODE_EXTRA_CA_CERTS.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Dir = nodeClientDir
	cmd.Env = append(os.Environ(), "ODX_URL="+srv.URL, "NODE_EXTRA_CA_CERTS="+caFile)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node client.mjs: %v\n%s\n%s", err, out, stderr)
	}
	if os.Getenv("ODX_DUMP_NODE") != "" {
		t.Logf("node output: %s", out)
	}
	var res map[string]nodeResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output is not JSON: %v\n%s", err, out)
	}

	for _, step := range []string{"v2", "v1", "mgmt"} {
		r := res[step]
		if r.Error != "" || len(r.OK) < 1 {
			t.Errorf("%s: error %q, %d tables", step, r.Error, len(r.OK))
			continue
		}
		tb := r.OK[0]
		if len(tb.Rows) != 5 || len(tb.Columns) != 10 {
			t.Errorf("%s: %d rows, %d columns; want 5 and 10", step, len(tb.Rows), len(tb.Columns))
			continue
		}
		for i, c := range tb.Columns {
			if c[0] != allTypesColumns[i].Name || c[1] != allTypesColumns[i].Type.String() {
				t.Errorf("%s: column %d = %v", step, i, c)
			}
		}
		row := tb.Rows[0]
		if row[0] != true || row[1] != float64(-7) || row[2] != float64(1<<53) || row[3] != 2.5 ||
			row[4] != "12345678901234567890.123" || row[5] != "2024-02-29T13:14:15.1234567Z" ||
			row[6] != "1.02:03:04.5000000" || row[7] != "line1\nline2 \"quoted\" é" ||
			row[8] != "0b2a1b3c-4d5e-4f60-8a7b-9c8d7e6f5a4b" {
			t.Errorf("%s: first row = %#v", step, row)
		}
		if step == "v2" {
			if dyn, ok := row[9].(map[string]any); !ok || dyn["a"] == nil {
				t.Errorf("v2 dynamic = %#v, want the JSON object", row[9])
			}
		}
		if tb.Parsed[0]["dt"] != "2024-02-29T13:14:15.123Z" {
			t.Errorf("%s: the client parsed the datetime as %v", step, tb.Parsed[0]["dt"])
		}
		if got := tb.Rows[2][3]; got != "NaN" {
			t.Errorf("%s: NaN real = %v", step, got)
		}
		for i, v := range tb.Rows[1] {
			if want := any(nil); i != 7 && v != want {
				t.Errorf("%s: null %s = %v", step, allTypesColumns[i].Name, v)
			}
		}
	}
	if n := len(res["three"].OK); n != 3 {
		t.Errorf("three tables over v2: Node saw %d primary results (%s)", n, res["three"].Error)
	}
	if n := len(res["mgmt"].OK); n != 3 {
		t.Errorf("three tables over v1 mgmt: Node saw %d primary results", n)
	}
	if s := res["syntax"]; s.Status != 400 || !strings.Contains(stringField(s.Body, "error", "message"), "whre") {
		t.Errorf("syntax error: status %d, body %v, error %q", s.Status, s.Body, s.Error)
	}
	if s := res["truncated"]; !strings.Contains(s.Error, "Kusto request had errors") || !strings.Contains(s.Error, "E_QUERY_RESULT_SET_TOO_LARGE") {
		t.Errorf("truncation: Node saw %+v, want its partial-failure error", s)
	}
	if p := res["params"]; p.Error != "" || len(p.OK) != 1 || len(p.OK[0].Rows) != 10 {
		t.Errorf("parameters: %+v", p)
	}
	if got := executor.lastRequest(); got.Parameters["n"] != "5" || got.Options["servertimeout"] != "00:00:30.000" {
		t.Errorf("Node's properties reached the executor as %v / %v", got.Parameters, got.Options)
	}
}

func stringField(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}
