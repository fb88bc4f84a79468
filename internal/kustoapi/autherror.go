package kustoapi

import (
	"net/http"

	"odx/internal/kerr"
)

// WriteAuthError answers a data-plane request that failed authentication or
// authorization with Kusto's error envelope, so the Kusto clients show the
// reason instead of a parse failure. Its signature matches auth.ErrorWriter.
func WriteAuthError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	cat := kerr.Unauthorized
	kcode := kerr.CodeUnauthorized
	if status == http.StatusForbidden {
		cat, kcode = kerr.Forbidden, kerr.CodeForbidden
	}
	e := &kerr.Error{Category: cat, Code: kcode, Message: message + " (" + code + ")"}
	req := &Request{ClientRequestID: r.Header.Get("x-ms-client-request-id")}
	writeError(w, e, req, newActivity(req.ClientRequestID, "DN.RestApi.Auth"))
}
