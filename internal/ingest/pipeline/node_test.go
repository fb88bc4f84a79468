package pipeline

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"odx/internal/auth"
	"odx/internal/kustoapi"
	"odx/internal/storage"
)

const nodeClientDir = "testdata/node"

// ensureNodeIngestClient installs azure-kusto-ingest@7.0.1 into
// testdata/node once, or skips when node or the npm registry is missing.
func ensureNodeIngestClient(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("Node client test in -short mode")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", "azure-kusto-ingest", "package.json")); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", "install", "--prefix", nodeClientDir, "--no-audit", "--no-fund").CombinedOutput(); err != nil {
		t.Skipf("npm install of azure-kusto-ingest failed (registry unreachable?): %v\n%s", err, out)
	}
}

// TestNodeStreamingIngestClient drives the streaming endpoint with the
// real Node StreamingIngestClient: what it sends must land in the table, and
// an error must reach its user as Kusto's error.
func TestNodeStreamingIngestClient(t *testing.T) {
	ensureNodeIngestClient(t)
	e := newEnv(t, Options{DefaultBatching: BatchingPolicy{MaxDelay: 20 * time.Millisecond}})
	e.table("DB", "T", telemetry)
	if err := e.store.PutMapping(context.Background(), storage.Mapping{Database: "DB", Table: "T", Kind: "json", Name: "jm",
		Text: `[{"column":"Device","Properties":{"Path":"$.dev"}},{"column":"Count","Properties":{"Path":"$.n"}}]`}, storage.MappingCreate); err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{ClientID: "boot", TenantID: "tn", Roles: []string{auth.RoleAllDatabasesAdmin}}
	// As odx mounts it: the auth metadata open (clients read it first), the
	// streaming endpoint behind the token check.
	mux := http.NewServeMux()
	mux.Handle(kustoapi.MetadataPath, kustoapi.MetadataHandler(kustoapi.Options{}))
	mux.Handle("POST "+StreamingPathPrefix, withPrincipal(admin, NewStreamingHandler(e.svc, StreamingOptions{})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)

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
	var res map[string]struct {
		OK     any            `json:"ok"`
		Error  string         `json:"error"`
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output is not JSON: %v\n%s", err, out)
	}
	if r := res["csv"]; r.Error != "" {
		t.Fatalf("csv: %s (%d %v)", r.Error, r.Status, r.Body)
	}
	if r := res["json"]; r.Error != "" {
		t.Fatalf("json with mapping: %s (%d %v)", r.Error, r.Status, r.Body)
	}
	rows := e.rows("DB", "T", `"Count"`)
	if len(rows) != 3 || rows[0][1] != "node-a" || rows[1][2] != 2.5 || rows[2][1] != "node-j" {
		t.Fatalf("rows %v", rows)
	}
	if r := res["missingTable"]; r.Error == "" || !strings.Contains(r.Error+stringOf(r.Body), "Nope") {
		t.Fatalf("missing table: %+v", r)
	}
}

func stringOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
