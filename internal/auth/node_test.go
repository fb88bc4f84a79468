package auth_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"odx/internal/auth"
)

// nodeGetToken uses @azure/identity (msal-node) the way README users will:
// authorityHost = odx, instance discovery off, odx's CA through
// NODE_EXTRA_CA_CERTS. msal-node is the strictest client: it wants jwks_uri
// and an issuer on the authority's host.
const nodeGetToken = `
const { ClientSecretCredential } = require("@azure/identity");
const e = process.env;
const cred = new ClientSecretCredential(e.ODX_T, e.ODX_C, e.ODX_S,
  { authorityHost: e.ODX_A, disableInstanceDiscovery: true });
cred.getToken(process.argv[1]).then(
  (t) => console.log(t.token),
  (err) => console.log("ERROR " + err.name + " " + err.message));
`

// nodeModules finds an installed @azure/identity: this package's testdata
// (npm ci in testdata/node) or the e2e suite's.
func nodeModules() string {
	for _, dir := range []string{"testdata/node/node_modules", "../../test/e2e/node/node_modules"} {
		if _, err := os.Stat(filepath.Join(dir, "@azure", "identity", "package.json")); err == nil {
			abs, _ := filepath.Abs(dir)
			return abs
		}
	}
	return ""
}

func TestNodeAzureIdentity(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	modules := nodeModules()
	if modules == "" {
		t.Skip("@azure/identity not installed (cd internal/auth/testdata/node && npm ci)")
	}
	o := startODX(t, t.TempDir(), auth.Options{})
	run := func(secret, scope string) string {
		t.Helper()
		cmd := exec.Command(node, "-e", nodeGetToken, scope)
		cmd.Env = append(os.Environ(),
			"NODE_PATH="+modules,
			"ODX_T="+o.creds.TenantID, "ODX_C="+o.creds.ClientID, "ODX_S="+secret, "ODX_A="+o.creds.Authority,
			"NODE_EXTRA_CA_CERTS="+o.creds.CAFile)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}

	for _, scope := range []string{"https://management.azure.com/.default", o.url + "/.default"} {
		out := run(o.creds.ClientSecret, scope)
		if strings.HasPrefix(out, "ERROR") {
			t.Fatalf("@azure/identity getToken(%s): %s", scope, out)
		}
		if _, err := o.auth.Verify(out); err != nil {
			t.Fatalf("token from @azure/identity: %v", err)
		}
	}
	if out := run("wrong", "https://management.azure.com/.default"); !strings.Contains(out, "AADSTS7000215") {
		t.Errorf("wrong secret: %s", out)
	}
}
