package arm_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's interpreter, the one that sees python3-azure
// (a pyenv or venv python3 does not).
const debianPython = "/usr/bin/python3"

// TestPythonSeedFlow runs testdata/seed_flow.py (the article's steps) with
// azure-mgmt-kusto 3.1.0b1 from Debian's python3-azure, both azure-identity
// and the article's adal credentials (through a get_token adapter).
func TestPythonSeedFlow(t *testing.T) {
	if err := exec.Command(debianPython, "-c", "import azure.mgmt.kusto, azure.identity, adal").Run(); err != nil {
		t.Skip("Debian's python3-azure and python3-adal are not installed: apt-get install -y python3-azure python3-adal python3-msrestazure")
	}
	s := startServer(t)
	// The article's prerequisites made through the data plane.
	s.dataPlane.CreateTable("mykustodatabase", "StormEvents")
	s.dataPlane.CreateMapping("mykustodatabase", "StormEvents", "StormEvents_CSV_Mapping", "Csv")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "testdata/seed_flow.py")
	cmd.Env = append(os.Environ(),
		"ODX_URL="+s.url, "ODX_TENANT="+s.creds.TenantID, "ODX_CLIENT_ID="+s.creds.ClientID,
		"ODX_CLIENT_SECRET="+s.creds.ClientSecret, "ODX_SUBSCRIPTION="+subscription,
		"REQUESTS_CA_BUNDLE="+s.bundle.CAFile)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		t.Fatalf("seed_flow.py: %v\n%s", err, out)
	}
	running := s.conns.Running()
	if len(running) != 2 {
		t.Errorf("after the Python flow the manager runs %d connections, want 2 (EventGrid, IotHub)", len(running))
	}
	for _, dc := range running {
		if dc.Properties.DataFormat != "CSV" || dc.Location != "Central US" {
			t.Errorf("%s: dataFormat %q location %q", dc.ID, dc.Properties.DataFormat, dc.Location)
		}
	}
}
