package auth_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"odx/internal/auth"
)

func TestBootstrapWritesCredentialsOnceAndKeepsThem(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "tls", "ca.pem")
	first, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:8443/"), ca)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "credentials.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials.json mode = %v, want 0600", fi.Mode().Perm())
	}
	if fi, err := os.Stat(filepath.Join(dir, "principals.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("principals.json: %v %v, want mode 0600", fi, err)
	}
	if _, err := auth.New(dir, auth.Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "token-signing-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token-signing-key.pem: %v %v, want mode 0600", fi, err)
	}

	// The file's fields are an outside contract (DESIGN.md): exactly these.
	var fields map[string]string
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"armEndpoint", "authority", "caFile", "clientId", "clientSecret", "dataEndpoint", "tenantId"}; !slices.Equal(keys, want) {
		t.Errorf("credentials.json keys = %v, want %v", keys, want)
	}
	if fields["authority"] != "https://127.0.0.1:8443" || fields["caFile"] != ca || fields["tenantId"] == "" || fields["clientSecret"] == "" {
		t.Errorf("credentials.json = %v", fields)
	}

	again, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:8443"), ca)
	if err != nil {
		t.Fatal(err)
	}
	if *again != *first {
		t.Errorf("second start changed credentials: %+v -> %+v", first, again)
	}

	// A new listen address updates the endpoints but keeps the identity.
	moved, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:9443"), ca)
	if err != nil {
		t.Fatal(err)
	}
	if moved.TenantID != first.TenantID || moved.ClientID != first.ClientID || moved.ClientSecret != first.ClientSecret {
		t.Error("a new endpoint replaced the bootstrap principal")
	}
	loaded, err := auth.LoadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Authority != "https://127.0.0.1:9443" || loaded.DataEndpoint != "https://127.0.0.1:9443" {
		t.Errorf("endpoints not updated: %+v", loaded)
	}

	apps, _ := auth.ListPrincipals(dir)
	if len(apps) != 1 || apps[0].ClientID != first.ClientID || !slices.Equal(apps[0].Roles, auth.AllRoles) || apps[0].TenantID != first.TenantID {
		t.Errorf("principals after three starts = %+v", apps)
	}
}

func TestBootstrapRebuildsLostPrincipals(t *testing.T) {
	dir := t.TempDir()
	creds, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:8443"), "")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "principals.json"))
	again, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:8443"), "")
	if err != nil {
		t.Fatal(err)
	}
	if again.TenantID != creds.TenantID || again.ClientSecret != creds.ClientSecret {
		t.Error("lost principals.json changed the bootstrap identity")
	}
	a, err := auth.New(dir, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.TenantID() != creds.TenantID {
		t.Errorf("tenant = %s, want %s", a.TenantID(), creds.TenantID)
	}
	if _, err := a.MintToken(creds.ClientID, "https://management.azure.com", 0); err != nil {
		t.Errorf("bootstrap principal not restored: %v", err)
	}
}

func TestLoadCredentialsMissingSaysWhatToDo(t *testing.T) {
	_, err := auth.LoadCredentials(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "odx serve") {
		t.Errorf("err = %v, want advice to run odx serve", err)
	}
}

// TestEnvLinesEvaluateInShell runs the lines through a real shell, so the
// quoting is proven rather than compared with a string.
func TestEnvLinesEvaluateInShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	creds := &auth.Credentials{
		TenantID:     "tenant-1",
		ClientID:     "client-1",
		ClientSecret: `it's a $ecret "with" spaces; and \ backslash`,
		Authority:    "https://127.0.0.1:8443",
		ARMEndpoint:  "https://127.0.0.1:8443",
		DataEndpoint: "https://127.0.0.1:8443",
		CAFile:       "/data dir/tls/ca.pem",
	}
	lines := auth.EnvLines(creds)
	script := strings.Join(lines, "\n") + "\n" + `for v in AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_AUTHORITY_HOST SSL_CERT_FILE REQUESTS_CA_BUNDLE NODE_EXTRA_CA_CERTS ODX_ARM_ENDPOINT ODX_DATA_ENDPOINT; do eval "printf '%s=%s\n' $v \"\$$v\""; done`
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, script)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{
		"AZURE_TENANT_ID=tenant-1",
		"AZURE_CLIENT_ID=client-1",
		"AZURE_CLIENT_SECRET=" + creds.ClientSecret,
		"AZURE_AUTHORITY_HOST=https://127.0.0.1:8443",
		"SSL_CERT_FILE=/data dir/tls/ca.pem",
		"REQUESTS_CA_BUNDLE=/data dir/tls/ca.pem",
		"NODE_EXTRA_CA_CERTS=/data dir/tls/ca.pem",
		"ODX_ARM_ENDPOINT=https://127.0.0.1:8443",
		"ODX_DATA_ENDPOINT=https://127.0.0.1:8443",
	}
	if !slices.Equal(got, want) {
		t.Errorf("shell saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "export ") {
			t.Errorf("line %q is not an export", l)
		}
	}
}

func TestDataAudienceDefaultsToDataEndpoint(t *testing.T) {
	dir := t.TempDir()
	creds, err := auth.Bootstrap(dir, auth.Endpoints{
		Authority: "https://127.0.0.1:8443", ARM: "https://127.0.0.1:8443", Data: "https://kusto.odx.test:8443",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(dir, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://kusto.odx.test:8443", "https://management.azure.com", "https://management.core.windows.net"}
	if got := a.AcceptedAudiences(); !slices.Equal(got, want) {
		t.Errorf("AcceptedAudiences = %v, want %v", got, want)
	}
	tok, err := a.MintToken(creds.ClientID, "https://kusto.odx.test:8443/", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Audience != "https://kusto.odx.test:8443" {
		t.Errorf("audience = %q", p.Audience)
	}
	if app, ok, err := a.LookupApp(creds.ClientID); err != nil || !ok || app.DisplayName != "odx-bootstrap" {
		t.Errorf("LookupApp = %+v %v %v", app, ok, err)
	}
}

// TestConcurrentAddPrincipal: several `odx principals add` at once must not
// lose each other's principals.
func TestConcurrentAddPrincipal(t *testing.T) {
	dir := t.TempDir()
	if _, err := auth.Bootstrap(dir, auth.EndpointsFor("https://127.0.0.1:8443"), ""); err != nil {
		t.Fatal(err)
	}
	const n = 12
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, _, err := auth.AddPrincipal(dir, fmt.Sprintf("job-%d", i), []string{auth.RoleReader})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- id
		}()
	}
	wg.Wait()
	close(ids)
	apps, err := auth.ListPrincipals(dir)
	if err != nil {
		t.Fatal(err)
	}
	for id := range ids {
		if !slices.ContainsFunc(apps, func(a auth.App) bool { return a.ClientID == id }) {
			t.Errorf("principal %s lost", id)
		}
	}
	if len(apps) != n+1 {
		t.Errorf("%d principals, want %d", len(apps), n+1)
	}
}
