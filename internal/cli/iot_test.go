package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"odx/internal/iothub"
)

func runIoTForTest(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runIoT(args, &out, &errOut)
	return strings.TrimSpace(out.String()), err
}

func TestIoTTokenCommandPrintsTokensTheHubAccepts(t *testing.T) {
	dir := t.TempDir()
	user := "myhub.azure-devices.net/dev1/?api-version=2021-04-12"

	tok, err := runIoTForTest(t, "token", "--hub", "myhub", "--device", "dev1", "--ttl", "10m", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := iothub.ParseToken(tok)
	if err != nil {
		t.Fatalf("output %q is not a SAS token: %v", tok, err)
	}
	if parsed.Resource != "myhub.azure-devices.net/devices/dev1" || parsed.KeyName != "" {
		t.Errorf("device-key token for %q signed by %q", parsed.Resource, parsed.KeyName)
	}
	if d := time.Until(parsed.Expiry); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("token expires in %v, want 10m", d)
	}
	if st, err := os.Stat(filepath.Join(dir, iothub.KeysDir, iothub.KeysFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keys file: %v %v", st, err)
	}
	keys, err := iothub.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Authenticate("dev1", user, tok, time.Now()); err != nil {
		t.Fatalf("the hub refuses the printed token: %v", err)
	}
	if _, err := keys.Authenticate("dev2", "myhub", tok, time.Now()); err == nil {
		t.Fatal("the token of dev1 let dev2 in")
	}
	if _, err := keys.Authenticate("dev1", user, tok, time.Now().Add(11*time.Minute)); err == nil {
		t.Fatal("the token was accepted after its ttl")
	}

	ptok, err := runIoTForTest(t, "token", "--hub", "myhub", "--device", "dev1", "--policy", "iothubowner", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := keys.Authenticate("dev1", user, ptok, time.Now())
	if err != nil || id.Scope != "hub" || id.Policy != "iothubowner" {
		t.Fatalf("policy token: %+v %v", id, err)
	}

	// A policy without DeviceConnect cannot sign device tokens.
	if out, err := runIoTForTest(t, "policy", "add", "--hub", "myhub", "--name", "adx", "--rights", "ServiceConnect", "--data", dir); err != nil || !strings.Contains(out, "ServiceConnect") {
		t.Fatalf("policy add: %q %v", out, err)
	}
	if _, err := runIoTForTest(t, "token", "--hub", "myhub", "--device", "dev1", "--policy", "adx", "--data", dir); err == nil || !strings.Contains(err.Error(), "DeviceConnect") {
		t.Fatalf("token signed with a ServiceConnect-only policy: %v", err)
	}
	list, err := runIoTForTest(t, "policy", "list", "--hub", "myhub", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"iothubowner", "service", "device", "registryRead", "registryReadWrite", "adx"} {
		if !strings.Contains(list, p) {
			t.Errorf("policy list lacks %s:\n%s", p, list)
		}
	}

	cs, err := runIoTForTest(t, "connection-string", "--hub", "myhub", "--device", "dev1", "--data", dir)
	if err != nil || !strings.HasPrefix(cs, "HostName=myhub.azure-devices.net;DeviceId=dev1;SharedAccessKey=") {
		t.Fatalf("connection string %q %v", cs, err)
	}
	if _, err := runIoTForTest(t, "token", "--hub", "-bad-", "--device", "d", "--data", dir); err == nil {
		t.Error("an invalid hub name was accepted")
	}
	if _, err := runIoTForTest(t, "token", "--hub", "myhub", "--data", dir); err == nil {
		t.Error("a token without --device was printed")
	}
}
