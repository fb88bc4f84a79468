package arm_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeFlow runs node/flow.mjs with @azure/arm-kusto 8.1.0 and
// @azure/identity 4.14.1, installed from test/arm/node/package-lock.json.
func TestNodeFlow(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@azure", "arm-kusto")); err != nil {
		// Install the pinned SDKs (package-lock.json) on first use.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		npm.Dir = "node"
		if out, err := npm.CombinedOutput(); err != nil {
			t.Skipf("cannot install @azure/arm-kusto and @azure/identity (npm ci in test/arm/node): %v\n%s", err, out)
		}
	}
	s := startServer(t)
	s.dataPlane.CreateTable("nodedb", "Events")
	s.dataPlane.CreateMapping("nodedb", "Events", "EventsMapping", "Json")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "flow.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(),
		"ODX_URL="+s.url, "ODX_TENANT="+s.creds.TenantID, "ODX_CLIENT_ID="+s.creds.ClientID,
		"ODX_CLIENT_SECRET="+s.creds.ClientSecret, "ODX_SUBSCRIPTION="+subscription,
		"NODE_EXTRA_CA_CERTS="+s.bundle.CAFile)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		t.Fatalf("flow.mjs: %v\n%s", err, out)
	}
	if n := len(s.conns.Running()); n != 0 {
		t.Errorf("connections still running after the cluster was deleted: %d", n)
	}
}
