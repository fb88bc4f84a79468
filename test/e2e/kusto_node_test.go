package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeDeps installs the Node client packages into test/e2e/node once.
func nodeDeps(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is required for the Node client test (.ci/run installs it)")
	}
	dir, _ := filepath.Abs("node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "azure-kusto-data")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install: %v\n%s", err, out)
		}
	}
	return dir
}

// TestNodeClientEndToEnd drives odx with azure-kusto-data@7.0.4 and
// @azure/identity's ClientSecretCredential against odx's token endpoint.
func TestNodeClientEndToEnd(t *testing.T) {
	dir := nodeDeps(t)
	s := startServer(t, "")
	cmd := exec.Command("node", "client.mjs", s.creds.DataEndpoint, s.creds.Authority, s.creds.TenantID, s.creds.ClientID, s.creds.ClientSecret, "NodeDb")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+s.creds.CAFile)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		s.dumpLog()
		t.Fatalf("node client: %v\n%s\n%s", err, out, stderr)
	}
	var got struct {
		V2          []map[string]any `json:"v2"`
		V2Columns   [][]string       `json:"v2Columns"`
		V1          []map[string]any `json:"v1"`
		Tables      []string         `json:"tables"`
		SyntaxError *string          `json:"syntaxError"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	if len(got.V2) != 2 || got.V2[0]["Name"] != "cpu" || got.V2[0]["total"] != float64(40) || got.V2[1]["total"] != float64(7) {
		t.Fatalf("v2 summarize: %+v", got.V2)
	}
	if hosts, _ := got.V2[0]["hosts"].([]any); len(hosts) != 2 {
		t.Fatalf("v2 make_set must come back as a JSON array of 2 hosts: %+v", got.V2[0]["hosts"])
	}
	wantCols := [][]string{{"Name", "string"}, {"total", "long"}, {"hosts", "dynamic"}}
	for i, c := range wantCols {
		if len(got.V2Columns) != 3 || got.V2Columns[i][0] != c[0] || got.V2Columns[i][1] != c[1] {
			t.Fatalf("v2 columns: %v, want %v", got.V2Columns, wantCols)
		}
	}
	if len(got.V1) != 2 || got.V1[1]["Value"] != float64(30) {
		t.Fatalf("v1 query: %+v", got.V1)
	}
	if ts, _ := got.V1[0]["Timestamp"].(string); !strings.HasPrefix(ts, "2024-05-01T10:00:00") {
		t.Fatalf("v1 datetime: %+v", got.V1[0]["Timestamp"])
	}
	if len(got.Tables) != 1 || got.Tables[0] != "Metrics" {
		t.Fatalf(".show tables: %v", got.Tables)
	}
	if got.SyntaxError == nil || !strings.Contains(*got.SyntaxError, "400 BadRequest_SyntaxError") {
		t.Fatalf("syntax error must reach the Node client: %q", deref(got.SyntaxError))
	}
}

func deref(s *string) string {
	if s == nil {
		return "<no error>"
	}
	return *s
}
