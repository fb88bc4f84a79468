package authclient_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"odx/internal/auth"
	"odx/internal/auth/authclient"
	"odx/internal/pki"
)

// serve starts the AD endpoints and a protected route of a fresh data
// directory on a TLS listener on 127.0.0.1.
func serve(t *testing.T) (dir, base string, a *auth.Authority) {
	t.Helper()
	dir = t.TempDir()
	bundle, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base = "https://" + ln.Addr().String()
	if _, err := auth.Bootstrap(dir, auth.EndpointsFor(base), bundle.CAFile); err != nil {
		t.Fatal(err)
	}
	a, err = auth.New(dir, auth.Options{DataAudiences: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	mux.Handle("/whoami", a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.PrincipalFrom(r.Context())
		w.Write([]byte(p.KustoName()))
	})))
	srv := &http.Server{Handler: mux}
	go srv.Serve(tls.NewListener(ln, bundle.ServerTLS))
	t.Cleanup(func() { srv.Close() })
	return dir, base, a
}

func clearAzureEnv(t *testing.T) {
	for _, name := range []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST", "SSL_CERT_FILE"} {
		t.Setenv(name, "")
	}
}

func tokenFor(t *testing.T, cfg *authclient.Config, scope string) string {
	t.Helper()
	cred, err := cfg.Credential()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatalf("GetToken with config from %s: %v", cfg.Source, err)
	}
	return tok.Token
}

func TestLoadFromDataDirectory(t *testing.T) {
	clearAzureEnv(t)
	dir, base, a := serve(t)
	cfg, err := authclient.Load(dir, "https://ignored.example:1")
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := auth.LoadCredentials(dir)
	if cfg.ClientID != creds.ClientID || cfg.AuthorityHost != base || cfg.CAFile != creds.CAFile {
		t.Errorf("config = %+v", cfg)
	}
	token := tokenFor(t, cfg, base+"/.default")
	if _, err := a.Verify(token); err != nil {
		t.Fatal(err)
	}

	// The HTTP client trusts odx's CA and carries the token to a protected route.
	client, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /whoami: %d", res.StatusCode)
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	clearAzureEnv(t)
	dir, base, a := serve(t)
	clientID, secret, err := auth.AddPrincipal(dir, "ingest-job", []string{auth.RoleAllDatabasesAdmin})
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := auth.LoadCredentials(dir)
	t.Setenv("AZURE_TENANT_ID", creds.TenantID)
	t.Setenv("AZURE_CLIENT_ID", clientID)
	t.Setenv("AZURE_CLIENT_SECRET", secret)
	t.Setenv("SSL_CERT_FILE", creds.CAFile)

	// No data directory at all: the environment is enough, the endpoint is
	// the authority.
	cfg, err := authclient.Load(t.TempDir(), base)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "environment" || cfg.AuthorityHost != base {
		t.Errorf("config = %+v", cfg)
	}
	p, err := a.Verify(tokenFor(t, cfg, base+"/.default"))
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != clientID {
		t.Errorf("token is for %s, want the environment's %s", p.ClientID, clientID)
	}
}

func TestLoadErrors(t *testing.T) {
	clearAzureEnv(t)
	if _, err := authclient.Load(t.TempDir(), "https://127.0.0.1:8443"); err == nil || !strings.Contains(err.Error(), "odx serve") {
		t.Errorf("empty data dir: err = %v, want advice to start odx serve", err)
	}
	t.Setenv("AZURE_CLIENT_ID", "x")
	if _, err := authclient.Load(t.TempDir(), "https://127.0.0.1:8443"); err == nil || !strings.Contains(err.Error(), "AZURE_TENANT_ID") {
		t.Errorf("partial environment: err = %v, want it to name the missing variables", err)
	}
	t.Setenv("AZURE_TENANT_ID", "t")
	t.Setenv("AZURE_CLIENT_SECRET", "s")
	if _, err := authclient.Load(t.TempDir(), "http://127.0.0.1:8443"); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http authority: err = %v", err)
	}
}
