package kustoapi

import (
	"net/http"
)

// WriteError answers a data-plane request that failed before any result
// byte was written (the streaming ingestion endpoint, for one) with Kusto's
// error envelope and the status err's category maps to. activityType names
// the request kind in the error context, e.g. "DN.RestApi.StreamingIngest".
func WriteError(w http.ResponseWriter, r *http.Request, err error, activityType string) {
	req := &Request{ClientRequestID: r.Header.Get("x-ms-client-request-id")}
	writeError(w, classify(err), req, newActivity(req.ClientRequestID, activityType))
}
