package auth_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"odx/internal/auth"
)

// debianPython is the interpreter Debian's python3-azure is installed for; a
// pyenv or venv python3 does not see it.
const debianPython = "/usr/bin/python3"

const pythonGetToken = `
import os, sys
from azure.identity import ClientSecretCredential
cred = ClientSecretCredential(os.environ["ODX_T"], os.environ["ODX_C"], os.environ["ODX_S"],
                              authority=os.environ["ODX_A"], instance_discovery=False)
try:
    print(cred.get_token(sys.argv[1]).token)
except Exception as e:
    print("ERROR", type(e).__name__, e)
`

// TestPythonAzureIdentity runs Python's azure-identity (msal) against odx,
// trusting odx's CA through REQUESTS_CA_BUNDLE as a Python user would. It is
// skipped where Debian's python3-azure is not installed.
func TestPythonAzureIdentity(t *testing.T) {
	if exec.Command(debianPython, "-c", "import azure.identity").Run() != nil {
		t.Skip("Debian python3-azure not installed (apt-get install -y python3-azure)")
	}
	o := startODX(t, t.TempDir(), auth.Options{})
	run := func(secret, scope string) string {
		t.Helper()
		cmd := exec.Command(debianPython, "-c", pythonGetToken, scope)
		cmd.Env = append(os.Environ(),
			"ODX_T="+o.creds.TenantID, "ODX_C="+o.creds.ClientID, "ODX_S="+secret, "ODX_A="+o.creds.Authority,
			"REQUESTS_CA_BUNDLE="+o.creds.CAFile)
		// stdout only: azure-identity also logs failures to stderr.
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}

	for _, scope := range []string{"https://management.azure.com/.default", o.url + "/.default"} {
		out := run(o.creds.ClientSecret, scope)
		if strings.HasPrefix(out, "ERROR") {
			t.Fatalf("azure-identity get_token(%s): %s", scope, out)
		}
		p, err := o.auth.Verify(out)
		if err != nil {
			t.Fatalf("token from azure-identity: %v", err)
		}
		if p.ClientID != o.creds.ClientID {
			t.Errorf("principal = %+v", p)
		}
	}

	out := run("wrong", "https://management.azure.com/.default")
	if !strings.HasPrefix(out, "ERROR ClientAuthenticationError") || !strings.Contains(out, "AADSTS7000215") {
		t.Errorf("wrong secret: %s", out)
	}
}
