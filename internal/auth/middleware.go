package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrorWriter writes the body of a 401 or 403 answer. The Kusto data plane
// and ARM have different error envelopes, so each passes its own; code is
// one of the Code* constants and message says what to do. The
// WWW-Authenticate header is already set when it is called.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, code, message string)

// WriteJSONError is the default ErrorWriter: ARM's envelope
// {"error":{"code":...,"message":...}}.
func WriteJSONError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated caller Middleware stored in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Guard authenticates and authorizes requests, answering failures through
// its ErrorWriter.
type Guard struct {
	a       *Authority
	onError ErrorWriter
}

// Guard returns a Guard writing errors with onError (nil: Options.OnError).
func (a *Authority) Guard(onError ErrorWriter) *Guard {
	if onError == nil {
		onError = a.opts.OnError
	}
	return &Guard{a: a, onError: onError}
}

// Middleware is a.Guard(nil).Middleware.
func (a *Authority) Middleware(next http.Handler) http.Handler { return a.Guard(nil).Middleware(next) }

// RequireRole is a.Guard(nil).RequireRole.
func (a *Authority) RequireRole(roles ...string) func(http.Handler) http.Handler {
	return a.Guard(nil).RequireRole(roles...)
}

// Middleware admits requests with a valid bearer token and puts its
// Principal into the request context; it answers 401 with a
// WWW-Authenticate challenge when the token is missing, malformed, expired,
// foreign or for another audience.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			g.challenge(w, r, "", &VerifyError{CodeMissingToken,
				"Authentication failed: the request has no 'Authorization: Bearer <token>' header. Get a token from odx's token endpoint (see `odx env`)."})
			return
		}
		p, err := g.a.Verify(token)
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) {
				ve = &VerifyError{CodeInvalidToken, err.Error()}
			}
			g.challenge(w, r, wwwAuthErrorInvalid, ve)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// RequireRole admits callers holding any of roles (directly or through a
// stronger role, see Principal.HasRole) and answers 403 otherwise. It must
// run inside Middleware; without a principal it answers 401.
func (g *Guard) RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				g.challenge(w, r, "", &VerifyError{CodeMissingToken, "Authentication failed: the request carries no verified token."})
				return
			}
			if !p.HasRole(roles...) {
				g.onError(w, r, http.StatusForbidden, CodeMissingRole, fmt.Sprintf(
					"The client '%s' (%s) does not have authorization to perform this action: it needs one of the roles %s and holds [%s].",
					p.ClientID, p.DisplayName, strings.Join(roles, ", "), strings.Join(p.Roles, ", ")))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// challenge answers 401 with an RFC 6750 challenge naming odx's authority,
// as Azure services do, so clients know where to get a token.
func (g *Guard) challenge(w http.ResponseWriter, r *http.Request, wwwErr string, ve *VerifyError) {
	value := fmt.Sprintf(`Bearer authorization_uri="%s/%s"`, g.a.baseURL(r), g.a.TenantID())
	if wwwErr != "" {
		value += fmt.Sprintf(`, error="%s", error_description="%s"`, wwwErr, strings.ReplaceAll(ve.Message, `"`, `'`))
	}
	w.Header().Set("WWW-Authenticate", value)
	g.onError(w, r, http.StatusUnauthorized, ve.Code, ve.Message)
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
