package auth_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"odx/internal/auth"
	"odx/internal/pki"
)

// odx is a test server: the AD endpoints plus a few protected routes behind
// the middleware, on a real TLS listener on 127.0.0.1 using odx's own CA.
type odx struct {
	dir    string
	url    string // https://127.0.0.1:PORT
	bundle *pki.Bundle
	creds  *auth.Credentials
	auth   *auth.Authority
	client *http.Client
}

func startODX(t *testing.T, dir string, opts auth.Options) *odx {
	t.Helper()
	bundle, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	creds, err := auth.Bootstrap(dir, auth.EndpointsFor(base), bundle.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if opts.DataAudiences == nil {
		opts.DataAudiences = []string{base}
	}
	a, err := auth.New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok {
			http.Error(w, "no principal in context", 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"kustoName": p.KustoName(), "roles": p.Roles, "audience": p.Audience})
	})
	mux.Handle("/whoami", a.Middleware(whoami))
	mux.Handle("/admin", a.Middleware(a.RequireRole(auth.RoleAllDatabasesAdmin)(whoami)))
	mux.Handle("/read", a.Middleware(a.RequireRole(auth.RoleReader)(whoami)))
	srv := &http.Server{Handler: mux}
	go srv.Serve(tls.NewListener(ln, bundle.ServerTLS))
	t.Cleanup(func() { srv.Close() })
	return &odx{dir: dir, url: base, bundle: bundle, creds: creds, auth: a, client: bundle.HTTPClient()}
}

// credential builds azidentity's ClientSecretCredential exactly as a user of
// odx would: odx as authority host, instance discovery off, odx's CA trusted.
func (o *odx) credential(t *testing.T, clientID, secret string) *azidentity.ClientSecretCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(o.creds.TenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: o.creds.Authority + "/"},
			Transport: o.client,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) (azcore.AccessToken, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
}

// call GETs path on o with the bearer token (none when empty).
func (o *odx) call(t *testing.T, path, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := o.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func TestAzidentityGetsTokenThatVerifies(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	cred := o.credential(t, o.creds.ClientID, o.creds.ClientSecret)

	for _, scope := range []string{"https://management.azure.com/.default", o.url + "/.default"} {
		tok, err := getToken(t, cred, scope)
		if err != nil {
			t.Fatalf("azidentity GetToken(%s): %v", scope, err)
		}
		if time.Until(tok.ExpiresOn) < 50*time.Minute {
			t.Errorf("token expires in %v, want about an hour", time.Until(tok.ExpiresOn))
		}
		p, err := o.auth.Verify(tok.Token)
		if err != nil {
			t.Fatalf("Verify(token for %s): %v", scope, err)
		}
		if p.ClientID != o.creds.ClientID || p.TenantID != o.creds.TenantID {
			t.Errorf("principal = %+v, want client %s tenant %s", p, o.creds.ClientID, o.creds.TenantID)
		}
		if want := "aadapp=" + o.creds.ClientID + ";" + o.creds.TenantID; p.KustoName() != want {
			t.Errorf("KustoName = %q, want %q", p.KustoName(), want)
		}
		for _, role := range auth.AllRoles {
			if !slices.Contains(p.Roles, role) {
				t.Errorf("bootstrap principal lacks role %s: %v", role, p.Roles)
			}
		}
		if p.Audience != strings.TrimSuffix(scope, "/.default") {
			t.Errorf("audience = %q for scope %q", p.Audience, scope)
		}
		res, body := o.call(t, "/admin", tok.Token)
		if res.StatusCode != 200 || !strings.Contains(body, p.KustoName()) {
			t.Errorf("GET /admin with bootstrap token: %d %s", res.StatusCode, body)
		}
	}
}

func TestTokenClaimsLookLikeAzureAD(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	tok, err := getToken(t, o.credential(t, o.creds.ClientID, o.creds.ClientSecret), "https://management.azure.com/.default")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT: %q", tok.Token)
	}
	var header, claims map[string]any
	decodeSegment(t, parts[0], &header)
	decodeSegment(t, parts[1], &claims)
	if header["alg"] != "RS256" || header["kid"] == "" {
		t.Errorf("header = %v", header)
	}
	if claims["iss"] != o.url+"/"+o.creds.TenantID+"/v2.0" {
		t.Errorf("iss = %v", claims["iss"])
	}
	if claims["aud"] != "https://management.azure.com" || claims["tid"] != o.creds.TenantID || claims["azp"] != o.creds.ClientID {
		t.Errorf("claims = %v", claims)
	}
	for _, name := range []string{"oid", "iat", "nbf", "exp", "roles"} {
		if claims[name] == nil {
			t.Errorf("claim %s missing: %v", name, claims)
		}
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3600 {
		t.Errorf("lifetime = %v s, want 3600", exp-iat)
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestAzidentityWrongSecretGetsAADError(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	_, err := getToken(t, o.credential(t, o.creds.ClientID, "not-the-secret"), "https://management.azure.com/.default")
	if err == nil {
		t.Fatal("token issued for a wrong secret")
	}
	if !strings.Contains(err.Error(), "AADSTS7000215") || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("error does not carry AAD's invalid_client/AADSTS7000215: %v", err)
	}
}

func TestDiscoveryDocument(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	for _, tenant := range []string{o.creds.TenantID, "common", "organizations"} {
		var doc map[string]any
		res := getJSON(t, o, "/"+tenant+"/v2.0/.well-known/openid-configuration", &doc)
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", tenant, res.StatusCode)
		}
		base := o.url + "/" + o.creds.TenantID
		want := map[string]string{
			"issuer":                 base + "/v2.0",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"jwks_uri":               base + "/discovery/v2.0/keys",
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s: %s = %v, want %s", tenant, k, doc[k], v)
			}
		}
	}
	var keys struct {
		Keys []map[string]string `json:"keys"`
	}
	for _, path := range []string{"/" + o.creds.TenantID + "/discovery/v2.0/keys", "/common/discovery/keys"} {
		getJSON(t, o, path, &keys)
		if len(keys.Keys) != 1 || keys.Keys[0]["kty"] != "RSA" || keys.Keys[0]["n"] == "" || keys.Keys[0]["kid"] == "" {
			t.Errorf("%s: %v", path, keys)
		}
	}

	res := getJSON(t, o, "/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration", &map[string]any{})
	if res.StatusCode != 400 {
		t.Errorf("unknown tenant: status %d, want 400", res.StatusCode)
	}
}

// TestIssuerFollowsHost: MSAL refuses a discovery document whose issuer host
// differs from the authority it was given, so a client using localhost must
// get localhost back.
func TestIssuerFollowsHost(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(o.url, "https://"))
	localhost := "https://localhost:" + port
	res, err := o.client.Get(localhost + "/common/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	json.NewDecoder(res.Body).Decode(&doc)
	if !strings.HasPrefix(doc["issuer"].(string), localhost+"/") {
		t.Errorf("issuer = %v, want it under %s", doc["issuer"], localhost)
	}

	pub := startODX(t, t.TempDir(), auth.Options{PublicURL: "https://odx.example.test:9443/"})
	getJSON(t, pub, "/common/v2.0/.well-known/openid-configuration", &doc)
	if doc["issuer"] != "https://odx.example.test:9443/"+pub.creds.TenantID+"/v2.0" {
		t.Errorf("with PublicURL: issuer = %v", doc["issuer"])
	}
}

func getJSON(t *testing.T, o *odx, path string, v any) *http.Response {
	t.Helper()
	res, err := o.client.Get(o.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res
}

func postForm(t *testing.T, o *odx, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := o.client.PostForm(o.url+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: body is not JSON: %v", path, err)
	}
	return res.StatusCode, body
}

func TestV1TokenEndpoint(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	status, body := postForm(t, o, "/"+o.creds.TenantID+"/oauth2/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {o.creds.ClientID},
		"client_secret": {o.creds.ClientSecret},
		"resource":      {"https://management.azure.com/"},
	})
	if status != 200 {
		t.Fatalf("status %d: %v", status, body)
	}
	if body["token_type"] != "Bearer" || body["resource"] != "https://management.azure.com/" {
		t.Errorf("body = %v", body)
	}
	// AAD v1 sends the times as strings; adal parses them that way.
	for _, k := range []string{"expires_in", "expires_on", "not_before"} {
		if _, ok := body[k].(string); !ok {
			t.Errorf("%s = %#v, want a string", k, body[k])
		}
	}
	p, err := o.auth.Verify(body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != o.creds.ClientID {
		t.Errorf("appid = %s", p.ClientID)
	}
}

func TestTokenRequests(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	good := func() url.Values {
		return url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {o.creds.ClientID},
			"client_secret": {o.creds.ClientSecret},
			"scope":         {"https://management.azure.com/.default"},
		}
	}
	v2 := "/" + o.creds.TenantID + "/oauth2/v2.0/token"
	cases := []struct {
		name       string
		path       string
		change     func(url.Values)
		wantStatus int
		wantError  string // AAD "error"; "" for success
		wantCode   string // AADSTS code in error_description
	}{
		{"plain", v2, func(url.Values) {}, 200, "", ""},
		{"go scope with openid extras", v2, func(f url.Values) {
			f.Set("scope", "https://management.azure.com/.default openid offline_access profile")
		}, 200, "", ""},
		{"extra fields ignored", v2, func(f url.Values) {
			f.Set("claims", `{"access_token":{"xms_cc":{"values":["CP1"]}}}`)
			f.Set("client_info", "1")
			f.Set("client-request-id", "3f1b0f2a-0000-0000-0000-000000000000")
			f.Set("x-client-SKU", "MSAL.Python")
		}, 200, "", ""},
		{"trailing slash audience", v2, func(f url.Values) { f.Set("scope", "https://management.azure.com//.default") }, 200, "", ""},
		{"common tenant", "/common/oauth2/v2.0/token", func(url.Values) {}, 200, "", ""},
		{"wrong secret", v2, func(f url.Values) { f.Set("client_secret", "nope") }, 400, "invalid_client", "AADSTS7000215"},
		{"no secret", v2, func(f url.Values) { f.Del("client_secret") }, 400, "invalid_client", "AADSTS7000218"},
		{"unknown client", v2, func(f url.Values) { f.Set("client_id", "11111111-2222-3333-4444-555555555555") }, 400, "unauthorized_client", "AADSTS700016"},
		{"wrong grant", v2, func(f url.Values) { f.Set("grant_type", "password") }, 400, "unsupported_grant_type", "AADSTS70003"},
		{"scope without .default", v2, func(f url.Values) { f.Set("scope", "https://management.azure.com/user_impersonation") }, 400, "invalid_scope", "AADSTS1002012"},
		{"no scope", v2, func(f url.Values) { f.Del("scope") }, 400, "invalid_request", "AADSTS900144"},
		{"unknown resource", v2, func(f url.Values) { f.Set("scope", "https://vault.azure.net/.default") }, 400, "invalid_resource", "AADSTS500011"},
		{"unknown tenant", "/not-a-tenant/oauth2/v2.0/token", func(url.Values) {}, 400, "invalid_request", "AADSTS90002"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := good()
			tc.change(form)
			status, body := postForm(t, o, tc.path, form)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tc.wantStatus, body)
			}
			if tc.wantError == "" {
				if body["token_type"] != "Bearer" || body["expires_in"] == nil {
					t.Errorf("body = %v", body)
				}
				if _, err := o.auth.Verify(body["access_token"].(string)); err != nil {
					t.Errorf("issued token does not verify: %v", err)
				}
				return
			}
			if body["error"] != tc.wantError {
				t.Errorf("error = %v, want %s", body["error"], tc.wantError)
			}
			if desc, _ := body["error_description"].(string); !strings.HasPrefix(desc, tc.wantCode+": ") {
				t.Errorf("error_description = %q, want it to start with %s", desc, tc.wantCode)
			}
		})
	}
}

func TestMiddlewareRejectsBadTokens(t *testing.T) {
	dir := t.TempDir()
	o := startODX(t, dir, auth.Options{})
	good, err := o.auth.MintToken(o.creds.ClientID, "https://management.azure.com", 0)
	if err != nil {
		t.Fatal(err)
	}

	// Same principal and key, but minted an hour and a half ago.
	past, err := auth.New(dir, auth.Options{Now: func() time.Time { return time.Now().Add(-90 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := past.MintToken(o.creds.ClientID, "https://management.azure.com", 0)
	if err != nil {
		t.Fatal(err)
	}

	// Another odx's token: its own key (and tenant).
	other := startODX(t, t.TempDir(), auth.Options{})
	foreign, err := other.auth.MintToken(other.creds.ClientID, "https://management.azure.com", 0)
	if err != nil {
		t.Fatal(err)
	}

	// This odx's key, but an audience this odx's server does not accept.
	wide, err := auth.New(dir, auth.Options{DataAudiences: []string{"https://someone-else.example"}})
	if err != nil {
		t.Fatal(err)
	}
	wrongAudience, err := wide.MintToken(o.creds.ClientID, "https://someone-else.example", 0)
	if err != nil {
		t.Fatal(err)
	}

	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"https://management.azure.com","tid":"x","appid":"y","exp":9999999999}`)) + "." + parts[2]

	cases := []struct {
		name, header, wantCode string
	}{
		{"no header", "", auth.CodeMissingToken},
		{"basic auth", "Basic dXNlcjpwYXNz", auth.CodeMissingToken},
		{"garbage", "Bearer not-a-jwt", auth.CodeInvalidToken},
		{"expired", "Bearer " + expired, auth.CodeExpiredToken},
		{"foreign signer", "Bearer " + foreign, auth.CodeInvalidToken},
		{"tampered claims", "Bearer " + tampered, auth.CodeInvalidToken},
		{"wrong audience", "Bearer " + wrongAudience, auth.CodeWrongAudience},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, o.url+"/whoami", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := o.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			challenge := res.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(challenge, `Bearer authorization_uri="`+o.url+"/"+o.creds.TenantID+`"`) {
				t.Errorf("WWW-Authenticate = %q", challenge)
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			json.NewDecoder(res.Body).Decode(&body)
			if body.Error.Code != tc.wantCode || body.Error.Message == "" {
				t.Errorf("error = %+v, want code %s", body.Error, tc.wantCode)
			}
		})
	}

	if res, _ := o.call(t, "/whoami", good); res.StatusCode != 200 {
		t.Errorf("good token: status %d", res.StatusCode)
	}
}

func TestRolesAndPrincipalsAddedWhileRunning(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})

	// Added after the server started, as `odx principals add` does from
	// another process: the server must pick it up without a restart.
	readerID, readerSecret, err := auth.AddPrincipal(o.dir, "dashboards", []string{auth.RoleReader, auth.RoleAllDatabasesViewer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, o.credential(t, readerID, readerSecret), o.url+"/.default")
	if err != nil {
		t.Fatalf("new principal cannot get a token from the running server: %v", err)
	}
	if res, body := o.call(t, "/admin", tok.Token); res.StatusCode != http.StatusForbidden || !strings.Contains(body, auth.CodeMissingRole) {
		t.Errorf("reader on admin route: %d %s, want 403 %s", res.StatusCode, body, auth.CodeMissingRole)
	}
	if res, body := o.call(t, "/read", tok.Token); res.StatusCode != 200 || !strings.Contains(body, "aadapp="+readerID+";"+o.creds.TenantID) {
		t.Errorf("reader on read route: %d %s", res.StatusCode, body)
	}

	// Contributor implies Reader.
	contribID, contribSecret, err := auth.AddPrincipal(o.dir, "deployer", []string{auth.RoleContributor})
	if err != nil {
		t.Fatal(err)
	}
	ctok, err := getToken(t, o.credential(t, contribID, contribSecret), "https://management.azure.com/.default")
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := o.call(t, "/read", ctok.Token); res.StatusCode != 200 {
		t.Errorf("contributor on reader route: %d", res.StatusCode)
	}

	apps, err := auth.ListPrincipals(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, a := range apps {
		names = append(names, a.DisplayName)
		if strings.Contains(a.SecretHash, readerSecret) || a.SecretHash == "" {
			t.Errorf("%s: secret hash %q", a.DisplayName, a.SecretHash)
		}
	}
	if !slices.Equal(names, []string{"odx-bootstrap", "dashboards", "deployer"}) {
		t.Errorf("principals = %v", names)
	}
	raw, _ := os.ReadFile(filepath.Join(o.dir, "principals.json"))
	if strings.Contains(string(raw), readerSecret) || strings.Contains(string(raw), o.creds.ClientSecret) {
		t.Error("principals.json holds a plain secret")
	}

	if err := auth.RemovePrincipal(o.dir, readerID); err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(t, o.credential(t, readerID, readerSecret), "https://management.azure.com/.default"); err == nil || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Errorf("removed principal: err = %v, want AADSTS700016", err)
	}
	if err := auth.RemovePrincipal(o.dir, o.creds.ClientID); err == nil {
		t.Error("the bootstrap principal was removed")
	}
	if err := auth.RemovePrincipal(o.dir, readerID); err == nil {
		t.Error("removing an unknown principal succeeded")
	}
	if _, _, err := auth.AddPrincipal(o.dir, "x", []string{"Superuser"}); err == nil || !strings.Contains(err.Error(), "AllDatabasesAdmin") {
		t.Errorf("unknown role: err = %v, want one listing the valid roles", err)
	}
}

func TestTokensSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	first := startODX(t, dir, auth.Options{})
	tok, err := getToken(t, first.credential(t, first.creds.ClientID, first.creds.ClientSecret), "https://management.azure.com/.default")
	if err != nil {
		t.Fatal(err)
	}

	second := startODX(t, dir, auth.Options{})
	if second.creds.TenantID != first.creds.TenantID || second.creds.ClientID != first.creds.ClientID || second.creds.ClientSecret != first.creds.ClientSecret {
		t.Fatalf("restart changed the bootstrap principal: %+v -> %+v", first.creds, second.creds)
	}
	if _, err := second.auth.Verify(tok.Token); err != nil {
		t.Errorf("token from before the restart: %v", err)
	}
	if res, _ := second.call(t, "/admin", tok.Token); res.StatusCode != 200 {
		t.Errorf("token from before the restart on the new server: %d", res.StatusCode)
	}
}

func TestCustomErrorWriter(t *testing.T) {
	o := startODX(t, t.TempDir(), auth.Options{})
	kustoStyle := func(w http.ResponseWriter, r *http.Request, status int, code, message string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": "Unauthorized", "@message": message, "@type": code}})
	}
	h := o.auth.Guard(kustoStyle).Middleware(http.NotFoundHandler())
	req, _ := http.NewRequest(http.MethodPost, "/v1/rest/query", nil)
	req.Host = "127.0.0.1:8443"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"@type":"AuthenticationFailed"`) {
		t.Errorf("custom writer: %d %s", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("custom writer lost the WWW-Authenticate challenge")
	}
}

func TestIsADPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/common/oauth2/v2.0/token":                       true,
		"/t/oauth2/token":                                 true,
		"/t/v2.0/.well-known/openid-configuration":        true,
		"/common/discovery/keys":                          true,
		"/v1/rest/query":                                  false,
		"/healthz":                                        false,
		"/subscriptions/s/resourceGroups/r/providers/x/y": false,
	} {
		if got := auth.IsADPath(path); got != want {
			t.Errorf("IsADPath(%q) = %v, want %v", path, got, want)
		}
	}
}
