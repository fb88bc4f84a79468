// Package auth is odx's identity: the service principals, an Azure
// AD-compatible token authority that the real Azure SDK credentials talk to,
// and the verification of its tokens on every other endpoint.
//
// Files under the data directory:
//
//	principals.json        tenant id and service principals, secrets hashed (0600)
//	credentials.json       the bootstrap principal with its secret and endpoints (0600)
//	token-signing-key.pem  RSA key signing the access tokens (0600)
//
// Tokens are RS256 JWTs shaped like Azure AD app-only tokens (aud, iss, tid,
// appid/azp, oid, roles, iat/nbf/exp). Roles are taken from the token, as
// with Azure AD, so removing a principal or its role takes effect when its
// tokens expire (one hour).
package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// DefaultARMAudiences are the audiences Azure Resource Manager clients ask
// tokens for.
var DefaultARMAudiences = []string{
	"https://management.azure.com",
	"https://management.core.windows.net",
}

// Options configure an Authority. The zero value works for tests; odx serve
// sets DataAudiences to the KustoServiceResourceId it advertises.
type Options struct {
	// PublicURL, when set, is the scheme://host[:port] the AD endpoints put
	// into issuer and endpoint URLs. Otherwise they are built from each
	// request's Host, which is what the client was given as authority.
	PublicURL string
	// DataAudiences are the accepted Kusto data-plane audiences (the
	// KustoServiceResourceId odx advertises, e.g. https://127.0.0.1:8443).
	// nil means the dataEndpoint of credentials.json.
	DataAudiences []string
	// ARMAudiences default to DefaultARMAudiences.
	ARMAudiences []string
	// TokenLifetime defaults to one hour.
	TokenLifetime time.Duration
	// ClockSkew tolerated on nbf and exp; defaults to two minutes.
	ClockSkew time.Duration
	// OnError writes the body of 401 and 403 answers of Middleware and
	// RequireRole; defaults to WriteJSONError.
	OnError ErrorWriter
	// Now defaults to time.Now; tests move the clock with it.
	Now    func() time.Time
	Logger *slog.Logger
}

// Authority issues and verifies odx's tokens.
type Authority struct {
	opts      Options
	key       *signingKey
	reg       *registry
	audiences map[string]string // normalized -> as configured
	// issuerFallback is the issuer host of tokens minted outside a request.
	issuerFallback string
}

// New opens the authority of a data directory: its signing key (created on
// first use) and its principals. Call Bootstrap first on a server so that
// the bootstrap principal exists.
func New(dataDir string, opts Options) (*Authority, error) {
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnError == nil {
		opts.OnError = WriteJSONError
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ARMAudiences == nil {
		opts.ARMAudiences = DefaultARMAudiences
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("public URL %q: want scheme://host[:port]", opts.PublicURL)
		}
		opts.PublicURL = u.Scheme + "://" + u.Host
	}
	a := &Authority{opts: opts, audiences: map[string]string{}, issuerFallback: "https://127.0.0.1"}
	if creds, err := LoadCredentials(dataDir); err == nil {
		if opts.DataAudiences == nil && creds.DataEndpoint != "" {
			opts.DataAudiences = []string{creds.DataEndpoint}
		}
		if creds.Authority != "" {
			a.issuerFallback = creds.Authority
		}
	}
	if opts.PublicURL != "" {
		a.issuerFallback = opts.PublicURL
	}
	a.opts = opts
	for _, aud := range slices.Concat(opts.ARMAudiences, opts.DataAudiences) {
		if n := normalizeAudience(aud); n != "" {
			a.audiences[n] = strings.TrimRight(aud, "/")
		}
	}
	var err error
	if a.key, err = loadOrCreateSigningKey(dataDir); err != nil {
		return nil, err
	}
	if a.reg, err = openRegistry(dataDir); err != nil {
		return nil, err
	}
	return a, nil
}

// TenantID is the tenant every odx principal belongs to.
func (a *Authority) TenantID() string { return a.reg.tenantID() }

// AcceptedAudiences lists the audiences tokens may be issued for and are
// accepted with.
func (a *Authority) AcceptedAudiences() []string {
	out := make([]string, 0, len(a.audiences))
	for _, v := range a.audiences {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// normalizeAudience makes https://Management.Azure.com/ and
// https://management.azure.com the same audience.
func normalizeAudience(aud string) string {
	aud = strings.TrimRight(strings.TrimSpace(aud), "/")
	u, err := url.Parse(aud)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return strings.ToLower(aud)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.Path
}

func (a *Authority) acceptsAudience(aud string) (string, bool) {
	v, ok := a.audiences[normalizeAudience(aud)]
	return v, ok
}

// Principal is the caller a verified token names.
type Principal struct {
	TenantID    string
	ClientID    string // appid
	ObjectID    string // oid
	DisplayName string
	Roles       []string
	Audience    string
	ExpiresAt   time.Time
}

// KustoName is the principal's fully qualified name in Kusto's principal
// commands: aadapp=<clientId>;<tenantId>.
func (p Principal) KustoName() string {
	return "aadapp=" + p.ClientID + ";" + p.TenantID
}

// HasRole reports whether p holds any of roles, directly or through a
// stronger role (AllDatabasesAdmin grants AllDatabasesViewer, Contributor
// grants Reader).
func (p Principal) HasRole(roles ...string) bool {
	for _, held := range p.Roles {
		for _, want := range roles {
			if held == want || slices.Contains(impliedRoles[held], want) {
				return true
			}
		}
	}
	return false
}

// Error codes of failed authentication and authorization, as Azure Resource
// Manager names them. They are passed to ErrorWriter.
const (
	CodeMissingToken    = "AuthenticationFailed"
	CodeInvalidToken    = "InvalidAuthenticationToken"
	CodeExpiredToken    = "ExpiredAuthenticationToken"
	CodeWrongAudience   = "InvalidAuthenticationTokenAudience"
	CodeWrongTenant     = "InvalidAuthenticationTokenTenant"
	CodeMissingRole     = "AuthorizationFailed"
	wwwAuthErrorInvalid = "invalid_token"
)

// VerifyError says why a token was rejected.
type VerifyError struct {
	Code    string // one of the Code* constants
	Message string
}

func (e *VerifyError) Error() string { return e.Message }

// Verify checks a bearer token: signed by this odx, within its lifetime
// (with ClockSkew), for an accepted audience and odx's tenant. The error is a
// *VerifyError.
func (a *Authority) Verify(token string) (Principal, error) {
	c, err := a.key.parse(token)
	if err != nil {
		if errors.Is(err, errForeignToken) {
			return Principal{}, &VerifyError{CodeInvalidToken, "The access token was not issued by this odx (signature check failed); get a token from this odx's token endpoint."}
		}
		return Principal{}, &VerifyError{CodeInvalidToken, "The access token is invalid: " + err.Error() + "."}
	}
	now := a.opts.Now()
	skew := a.opts.ClockSkew
	if c.Exp == 0 {
		return Principal{}, &VerifyError{CodeInvalidToken, "The access token has no expiry (exp claim)."}
	}
	if now.After(time.Unix(c.Exp, 0).Add(skew)) {
		return Principal{}, &VerifyError{CodeExpiredToken, fmt.Sprintf("The access token expired at %s; get a new token.", time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))}
	}
	if c.Nbf != 0 && now.Add(skew).Before(time.Unix(c.Nbf, 0)) {
		return Principal{}, &VerifyError{CodeInvalidToken, fmt.Sprintf("The access token is not valid before %s.", time.Unix(c.Nbf, 0).UTC().Format(time.RFC3339))}
	}
	var aud string
	for _, candidate := range c.Aud {
		if v, ok := a.acceptsAudience(candidate); ok {
			aud = v
			break
		}
	}
	if aud == "" {
		return Principal{}, &VerifyError{CodeWrongAudience, fmt.Sprintf("The access token has audience %q, which this odx does not accept; request a token for one of: %s.",
			strings.Join(c.Aud, ","), strings.Join(a.AcceptedAudiences(), ", "))}
	}
	if !strings.EqualFold(c.TID, a.TenantID()) {
		return Principal{}, &VerifyError{CodeWrongTenant, fmt.Sprintf("The access token is from tenant %q, but odx's tenant is %s.", c.TID, a.TenantID())}
	}
	if c.clientID() == "" {
		return Principal{}, &VerifyError{CodeInvalidToken, "The access token names no application (appid or azp)."}
	}
	return Principal{
		TenantID:    c.TID,
		ClientID:    c.clientID(),
		ObjectID:    c.OID,
		DisplayName: c.AppName,
		Roles:       slices.Clone(c.Roles),
		Audience:    aud,
		ExpiresAt:   time.Unix(c.Exp, 0),
	}, nil
}

// tokenVersion selects the AAD v1 or v2 token shape.
type tokenVersion int

const (
	tokenV1 tokenVersion = 1
	tokenV2 tokenVersion = 2
)

// issue signs an access token for app and audience. issuerBase is
// scheme://host of the authority the client used.
func (a *Authority) issue(app App, aud, issuerBase string, ver tokenVersion, lifetime time.Duration) (token string, exp time.Time, err error) {
	now := a.opts.Now().Truncate(time.Second)
	exp = now.Add(lifetime)
	c := &claims{
		Aud:        audience{aud},
		Iat:        now.Unix(),
		Nbf:        now.Unix(),
		Exp:        exp.Unix(),
		AppName:    app.DisplayName,
		IDType:     "app",
		OID:        app.ObjectID,
		Sub:        app.ObjectID,
		TID:        app.TenantID,
		Roles:      slices.Clone(app.Roles),
		UniqueTokI: uuid.NewString(),
	}
	if ver == tokenV1 {
		c.Iss, c.AppID, c.Ver = issuerBase+"/"+app.TenantID+"/", app.ClientID, "1.0"
	} else {
		c.Iss, c.Azp, c.Ver = issuerBase+"/"+app.TenantID+"/v2.0", app.ClientID, "2.0"
	}
	token, err = a.key.sign(c)
	return token, exp, err
}

// MintToken issues a token for a registered principal without a token
// request, for static-token tests and tools. lifetime <= 0 means the
// configured TokenLifetime.
func (a *Authority) MintToken(clientID, aud string, lifetime time.Duration) (string, error) {
	app, ok, err := a.reg.lookup(clientID)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("no principal with client id %s", clientID)
	}
	accepted, ok := a.acceptsAudience(aud)
	if !ok {
		return "", fmt.Errorf("audience %q is not accepted; use one of %s", aud, strings.Join(a.AcceptedAudiences(), ", "))
	}
	if lifetime <= 0 {
		lifetime = a.opts.TokenLifetime
	}
	tok, _, err := a.issue(app, accepted, a.issuerFallback, tokenV2, lifetime)
	return tok, err
}

// LookupApp returns a registered principal (re-reading principals.json if
// it changed), for instance to show its display name.
func (a *Authority) LookupApp(clientID string) (App, bool, error) {
	return a.reg.lookup(clientID)
}

// Handler serves the Azure AD endpoints; see Register for the routes.
func (a *Authority) Handler() http.Handler {
	mux := http.NewServeMux()
	a.Register(mux)
	return mux
}

// IsADPath reports whether path is one of the Azure AD endpoints, which need
// no bearer token.
func IsADPath(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 {
		return false
	}
	switch strings.Join(parts[1:], "/") {
	case "v2.0/.well-known/openid-configuration", ".well-known/openid-configuration",
		"oauth2/v2.0/token", "oauth2/token",
		"discovery/v2.0/keys", "discovery/keys":
		return true
	}
	return false
}
