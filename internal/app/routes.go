package app

import (
	"net/http"

	"odx/internal/auth"
	"odx/internal/ingest/pipeline"
	"odx/internal/kustoapi"
)

// routes mounts odx's one HTTPS surface. /healthz, the Azure AD endpoints and
// the Kusto auth metadata are open; everything else needs a bearer token
// issued by odx, checked before the request reaches its handler, with each
// surface's own error envelope.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})

	kusto := kustoapi.NewHandler(kustoapi.Options{
		Executor:          a.executor(),
		Logger:            a.log,
		LoginEndpoint:     a.creds.Authority,
		ServiceResourceID: a.creds.DataEndpoint,
	})
	kustoGuard := a.authority.Guard(kustoapi.WriteAuthError)
	mux.Handle(kustoapi.MetadataPath, kusto)
	mux.Handle("/v1/rest/", kustoGuard.Middleware(kusto))
	mux.Handle("/v2/rest/", kustoGuard.Middleware(kusto))
	mux.Handle("POST /v1/rest/ingest/", kustoGuard.Middleware(pipeline.NewStreamingHandler(a.ingest, pipeline.StreamingOptions{})))

	// Metrics are operational data of the whole cluster: cluster viewers and admins.
	mux.Handle("GET /metrics", kustoGuard.Middleware(kustoGuard.RequireRole(auth.RoleAllDatabasesViewer)(a.metrics.handler())))

	a.mountARM(mux)

	// The Azure AD endpoints live under /{tenant}/..., a wildcard that would
	// clash with every other route in one mux; they get their own.
	ad := a.authority.Handler()
	return a.metrics.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.IsADPath(r.URL.Path) {
			ad.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}
