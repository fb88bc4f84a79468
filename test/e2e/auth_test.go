package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// endpointFamilies are one representative request per protected surface.
var endpointFamilies = []struct {
	name, method, path, body string
}{
	// .show databases would answer 200 with only the databases the caller may
	// see, as Kusto does; .create database needs a cluster role.
	{"kusto-mgmt", "POST", "/v1/rest/mgmt", `{"db":"NetDefaultDB","csl":".create database NotAllowed"}`},
	{"kusto-query-v1", "POST", "/v1/rest/query", `{"db":"NetDefaultDB","csl":"print 1"}`},
	{"kusto-query-v2", "POST", "/v2/rest/query", `{"db":"NetDefaultDB","csl":"print 1"}`},
	{"kusto-ingest", "POST", "/v1/rest/ingest/Private/T?streamFormat=Csv", "1,2\n"},
	{"arm", "GET", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Kusto/clusters?api-version=2022-12-29", ""},
	{"metrics", "GET", "/metrics", ""},
}

func (s *server) do(method, path, body, token string) (*http.Response, string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func TestAuthentication(t *testing.T) {
	s := startServer(t, "")

	// The bootstrap files: credentials.json and the CA, private to the owner.
	info, err := os.Stat(filepath.Join(s.dataDir, "credentials.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credentials.json must exist with mode 0600: %v %v", info.Mode(), err)
	}
	if s.creds.Authority != s.url || s.creds.CAFile == "" || s.creds.TenantID == "" {
		t.Fatalf("credentials.json: %+v", s.creds)
	}

	// /healthz and the AD endpoints need no token.
	if resp, _ := s.do("GET", "/healthz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	resp, body := s.do("GET", "/"+s.creds.TenantID+"/v2.0/.well-known/openid-configuration", "", "")
	var oidc map[string]any
	json.Unmarshal([]byte(body), &oidc)
	if resp.StatusCode != 200 || oidc["issuer"] != s.url+"/"+s.creds.TenantID+"/v2.0" || oidc["jwks_uri"] == nil {
		t.Fatalf("openid-configuration: %d %s", resp.StatusCode, body)
	}

	// A bad secret is refused with AAD's error shape.
	form := "grant_type=client_credentials&client_id=" + s.creds.ClientID + "&client_secret=wrong&scope=https://management.azure.com/.default"
	r, err := s.client.Post(s.url+"/"+s.creds.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	var aadErr map[string]any
	json.NewDecoder(r.Body).Decode(&aadErr)
	r.Body.Close()
	if r.StatusCode != 400 && r.StatusCode != 401 || aadErr["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", r.StatusCode, aadErr)
	}

	tampered := s.dataToken()
	tampered = tampered[:len(tampered)-4] + "AAAA"
	for _, ep := range endpointFamilies {
		for _, tok := range []struct{ what, token string }{{"no token", ""}, {"garbage", "not-a-jwt"}, {"bad signature", tampered}} {
			resp, body := s.do(ep.method, ep.path, ep.body, tok.token)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %s: status %d, want 401 (%s)", ep.name, tok.what, resp.StatusCode, body)
			}
		}
	}

	boot := s.dataToken()
	for _, cmd := range []string{".create database Private", ".create table T (a: long, b: long)"} {
		if resp, body := s.do("POST", "/v1/rest/mgmt", `{"db":"Private","csl":"`+cmd+`"}`, boot); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", cmd, resp.StatusCode, body)
		}
	}

	// A principal without roles is authenticated (not 401) but forbidden (403).
	out, err := s.run("principals", "add", "--data", s.dataDir, "--name", "nobody")
	if err != nil {
		t.Fatalf("odx principals add: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`(?m)client id:\s*(\S+)`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`(?m)client secret:\s*(\S+)`).FindStringSubmatch(out)
	if id == nil || secret == nil {
		t.Fatalf("odx principals add must print the client id and secret:\n%s", out)
	}
	dataTok := s.token(id[1], secret[1], s.creds.DataEndpoint+"/.default")
	armTok := s.token(id[1], secret[1], "https://management.azure.com/.default")
	for _, ep := range endpointFamilies {
		tok := dataTok
		if ep.name == "arm" {
			tok = armTok
		}
		resp, body := s.do(ep.method, ep.path, ep.body, tok)
		if ep.name == "kusto-query-v1" || ep.name == "kusto-query-v2" {
			// `print 1` touches no database: anyone authenticated may run it.
			continue
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s as a principal without roles: status %d, want 403 (%s)", ep.name, resp.StatusCode, body)
		}
	}
	// A data-plane query on a database the principal has no role in is forbidden too.
	if resp, body := s.do("POST", "/v2/rest/query", `{"db":"Private","csl":"print 1"}`, dataTok); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("query on a database without a role: %d, want 403 (%s)", resp.StatusCode, body)
	}
	// Granting the viewer role lets the principal query.
	grant := `{"db":"Private","csl":".add database Private viewers ('aadapp=` + id[1] + `;` + s.creds.TenantID + `')"}`
	if resp, body := s.do("POST", "/v1/rest/mgmt", grant, boot); resp.StatusCode != 200 {
		t.Fatalf(".add database viewers: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.do("POST", "/v2/rest/query", `{"db":"Private","csl":"print 1"}`, dataTok); resp.StatusCode != 200 {
		t.Fatalf("query as a viewer: %d %s", resp.StatusCode, body)
	}
	// The bootstrap principal (AllDatabasesAdmin) may stream rows in.
	if resp, body := s.do("POST", "/v1/rest/ingest/Private/T?streamFormat=Csv", "1,2\n3,4\n", boot); resp.StatusCode != 200 {
		t.Fatalf("streaming ingest as admin: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.do("POST", "/v1/rest/query", `{"db":"Private","csl":"T | summarize sum(a), sum(b)"}`, boot); resp.StatusCode != 200 || !strings.Contains(body, "[4,6]") {
		t.Fatalf("rows from streaming ingest: %d %s", resp.StatusCode, body)
	}
	// Another database stays closed even when named from one the principal may view.
	for _, cmd := range []string{".create database Secret", ".create table S (x: long)", ".ingest inline into table S <| 42"} {
		if resp, body := s.do("POST", "/v1/rest/mgmt", `{"db":"Secret","csl":"`+cmd+`"}`, boot); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", cmd, resp.StatusCode, body)
		}
	}
	if resp, body := s.do("POST", "/v2/rest/query", `{"db":"Private","csl":"database('Secret').S | count"}`, dataTok); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-database query without a role there: %d, want 403 (%s)", resp.StatusCode, body)
	}
	if resp, body := s.do("POST", "/v2/rest/query", `{"db":"Private","csl":"database('Secret').S | count"}`, boot); resp.StatusCode != 200 || !strings.Contains(body, "[1]") {
		t.Fatalf("cross-database query as admin: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.do("POST", "/v1/rest/mgmt", `{"db":"Private","csl":".create table T (x: long)"}`, dataTok); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("DDL as a viewer: %d, want 403 (%s)", resp.StatusCode, body)
	}
}
