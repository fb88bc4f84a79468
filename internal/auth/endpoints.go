package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// tenantAliases are the AAD pseudo-tenants; odx has one tenant, so they all
// mean it.
var tenantAliases = []string{"common", "organizations", "consumers"}

// maxTokenRequestBytes bounds a token request body; real ones are < 2 KiB.
const maxTokenRequestBytes = 64 << 10

// Register adds the Azure AD endpoints to mux:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   OIDC discovery (v2)
//	GET  /{tenant}/.well-known/openid-configuration        OIDC discovery (v1)
//	POST /{tenant}/oauth2/v2.0/token                       client credentials, scope=
//	POST /{tenant}/oauth2/token                            client credentials, resource= (v1)
//	GET  /{tenant}/discovery/v2.0/keys, /{tenant}/discovery/keys   JWKS
//
// {tenant} is odx's tenant id or common, organizations, consumers. These
// endpoints take no bearer token.
func (a *Authority) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		a.serveDiscovery(w, r, tokenV2)
	})
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		a.serveDiscovery(w, r, tokenV1)
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		a.serveToken(w, r, tokenV2)
	})
	mux.HandleFunc("POST /{tenant}/oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		a.serveToken(w, r, tokenV1)
	})
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", a.serveKeys)
	mux.HandleFunc("GET /{tenant}/discovery/keys", a.serveKeys)
}

// baseURL is scheme://host of the authority the client used: the configured
// public URL, or the request's own Host, since MSAL rejects a discovery
// document whose issuer host differs from the authority it was given.
func (a *Authority) baseURL(r *http.Request) string {
	if a.opts.PublicURL != "" {
		return a.opts.PublicURL
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// resolveTenant maps the path's tenant to odx's tenant id, or "" if unknown.
func (a *Authority) resolveTenant(r *http.Request) string {
	t := r.PathValue("tenant")
	own := a.TenantID()
	for _, alias := range tenantAliases {
		if strings.EqualFold(t, alias) {
			return own
		}
	}
	if strings.EqualFold(t, own) {
		return own
	}
	return ""
}

func (a *Authority) serveDiscovery(w http.ResponseWriter, r *http.Request, ver tokenVersion) {
	tenant := a.resolveTenant(r)
	if tenant == "" {
		writeAADError(w, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. odx serves tenant %s.", r.PathValue("tenant"), a.TenantID()))
		return
	}
	base := a.baseURL(r) + "/" + tenant
	doc := map[string]any{
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"issuer":                                base + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "roles", "appid", "azp"},
		"tenant_region_scope":                   nil,
		"cloud_instance_name":                   "odx",
		"request_uri_parameter_supported":       false,
	}
	if ver == tokenV1 {
		doc["authorization_endpoint"] = base + "/oauth2/authorize"
		doc["token_endpoint"] = base + "/oauth2/token"
		doc["jwks_uri"] = base + "/discovery/keys"
		doc["issuer"] = base + "/"
	}
	writeJSON(w, http.StatusOK, doc)
}

func (a *Authority) serveKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=86400")
	writeJSON(w, http.StatusOK, a.key.jwks())
}

// serveToken implements the client-credentials grant. Both versions take
// client_id and client_secret from the form (or HTTP Basic); v2 takes the
// resource as scope=<resource>/.default (Go adds " openid offline_access
// profile"), v1 as resource=<resource>. Other fields (claims, client_info,
// client-request-id, x-client-*) are ignored.
func (a *Authority) serveToken(w http.ResponseWriter, r *http.Request, ver tokenVersion) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	if err := r.ParseForm(); err != nil {
		writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded: "+err.Error())
		return
	}
	tenant := a.resolveTenant(r)
	if tenant == "" {
		writeAADError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. odx serves tenant %s.", r.PathValue("tenant"), a.TenantID()))
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		} else {
			writeAADError(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
				fmt.Sprintf("The app requested an unsupported grant type '%s'. odx supports only client_credentials.", gt))
		}
		return
	}
	clientID, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok && secret == "" {
		clientID, secret = user, pass
	}
	if clientID == "" {
		writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	if secret == "" {
		writeAADError(w, http.StatusBadRequest, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}

	var aud string
	if ver == tokenV2 {
		scope := r.PostForm.Get("scope")
		if scope == "" {
			writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
			return
		}
		for _, s := range strings.Fields(scope) {
			if strings.HasSuffix(s, "/.default") {
				aud = strings.TrimSuffix(s, "/.default")
				break
			}
		}
		if aud == "" {
			writeAADError(w, http.StatusBadRequest, "invalid_scope", 1002012,
				fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
			return
		}
	} else {
		aud = r.PostForm.Get("resource")
		if aud == "" {
			writeAADError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'resource'.")
			return
		}
	}

	app, ok, err := a.reg.lookup(clientID)
	if err != nil {
		a.opts.Logger.Error("token request: cannot read principals", "err", err)
		writeAADError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "odx cannot read its principals; see the server log.")
		return
	}
	if !ok {
		writeAADError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. Add it with `odx principals add`.", clientID, tenant))
		return
	}
	if !secretMatches(secret, app.SecretHash) {
		a.opts.Logger.Info("token request rejected: wrong client secret", "client_id", clientID)
		writeAADError(w, http.StatusBadRequest, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return
	}
	if _, ok := a.acceptsAudience(aud); !ok {
		writeAADError(w, http.StatusBadRequest, "invalid_resource", 500011,
			fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. odx issues tokens for: %s.",
				aud, tenant, strings.Join(a.AcceptedAudiences(), ", ")))
		return
	}

	// The token names the audience as the client asked for it, like AAD.
	token, exp, err := a.issue(app, aud, a.baseURL(r), ver, a.opts.TokenLifetime)
	if err != nil {
		a.opts.Logger.Error("token request: cannot sign", "err", err)
		writeAADError(w, http.StatusInternalServerError, "temporarily_unavailable", 90033, "odx could not sign the token; see the server log.")
		return
	}
	expiresIn := int64(exp.Sub(a.opts.Now()) / time.Second)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if ver == tokenV2 {
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type":     "Bearer",
			"expires_in":     expiresIn,
			"ext_expires_in": expiresIn,
			"access_token":   token,
		})
		return
	}
	// AAD v1 answers with numbers as strings.
	notBefore := exp.Add(-a.opts.TokenLifetime)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     strconv.FormatInt(expiresIn, 10),
		"ext_expires_in": strconv.FormatInt(expiresIn, 10),
		"expires_on":     strconv.FormatInt(exp.Unix(), 10),
		"not_before":     strconv.FormatInt(notBefore.Unix(), 10),
		"resource":       aud,
		"access_token":   token,
	})
}

// writeAADError answers in Azure AD's error shape, which MSAL and adal turn
// into readable exceptions.
func writeAADError(w http.ResponseWriter, status int, code string, aadsts int, description string) {
	now := time.Now().UTC()
	traceID := uuid.NewString()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Timestamp: %s", aadsts, description, traceID, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          traceID,
		"correlation_id":    uuid.NewString(),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
