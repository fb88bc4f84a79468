// Package arm is odx's Microsoft.Kusto resource provider: the ARM management
// API (clusters, databases, data connections, database principal assignments,
// name checks, data connection validation, async operations) that the real
// Azure SDKs drive. It keeps its resources in a Documents store, maps
// databases and principal roles onto the data plane through DataPlane, and
// starts and stops data connections through Connections.
//
// Writes follow ARM's long-running-operation protocol: the resource is stored
// with provisioningState Creating/Updating/Deleting, the answer carries
// Azure-AsyncOperation, Location and Retry-After, and a worker does the work
// and records the outcome in the operation document, so operations in flight
// resume after a restart.
package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configure the provider.
type Options struct {
	Documents   Documents
	DataPlane   DataPlane
	Connections Connections // nil: NoopConnections
	Logger      *slog.Logger
	// DataPlaneURL is the Kusto endpoint written into a cluster's
	// properties.uri and properties.dataIngestionUri, e.g. https://127.0.0.1:8443.
	// Empty: the scheme and host the request came in on.
	DataPlaneURL string
	// BaseURL is the public ARM endpoint for the Azure-AsyncOperation and
	// Location URLs. Empty: the scheme and host the request came in on.
	BaseURL string
	Clock   func() time.Time // nil: time.Now
	// Authorize, when set, decides whether the caller may perform action on
	// scope (see Authorizer); nil lets every authenticated caller do anything.
	Authorize Authorizer
	// RetryAfter is the Retry-After the provider asks pollers to wait; the
	// SDKs poll every 30 s without it. Zero: 1 s.
	RetryAfter time.Duration
}

// Handler serves the Microsoft.Kusto ARM API. Close it to stop the workers.
type Handler struct {
	docs      Documents
	dataPlane DataPlane
	conns     Connections
	log       *slog.Logger
	dataURL   string
	baseURL   string
	now       func() time.Time
	retry     time.Duration
	authorize Authorizer

	locks   sync.Map // cluster key -> *sync.Mutex: writes under one cluster are serialised
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup
}

// NewHandler builds the provider and resumes the operations that were in
// flight when odx stopped. It serves /subscriptions/... and
// /providers/Microsoft.Kusto/operations.
func NewHandler(opts Options) *Handler {
	h := &Handler{
		docs: opts.Documents, dataPlane: opts.DataPlane, conns: opts.Connections,
		log: opts.Logger, dataURL: strings.TrimRight(opts.DataPlaneURL, "/"),
		baseURL: strings.TrimRight(opts.BaseURL, "/"), now: opts.Clock, retry: opts.RetryAfter,
		authorize: opts.Authorize,
	}
	if h.conns == nil {
		h.conns = NoopConnections{}
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("component", "arm")
	if h.now == nil {
		h.now = time.Now
	}
	if h.retry <= 0 {
		h.retry = time.Second
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if h.docs != nil && h.dataPlane != nil {
		h.resumeOperations()
	}
	return h
}

// Close stops the operation workers and waits for them. Operations cut short
// stay Running in the store and resume at the next start.
func (h *Handler) Close() {
	h.cancel()
	h.workers.Wait()
}

// Wait blocks until no operation worker runs (tests use it).
func (h *Handler) Wait() { h.workers.Wait() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.docs == nil || h.dataPlane == nil {
		ARMError(w, http.StatusInternalServerError, "InternalServerError",
			"odx's ARM provider is not wired to storage and the data plane (Options.Documents and Options.DataPlane are required)")
		return
	}
	rt := parseRoute(r.URL)
	if rt.ep == epUnknown {
		ARMError(w, http.StatusNotFound, "InvalidResourceType",
			"The resource type could not be found in the namespace 'Microsoft.Kusto'; odx serves clusters, databases, dataConnections and principalAssignments.")
		return
	}
	if err := checkAPIVersion(r, rt.resourceType()); err != nil {
		h.writeError(w, err)
		return
	}
	if h.authorize != nil {
		action, scope := rt.action(r.Method), strings.TrimRight(r.URL.Path, "/")
		if ok, caller := h.authorize(r, action, scope); !ok {
			if caller == "" {
				caller = "The client"
			}
			ARMError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
				"%s does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
				caller, action, scope))
			return
		}
	}
	if err := h.dispatch(w, r, rt); err != nil {
		h.writeError(w, err)
	}
}

func (h *Handler) writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, errorBody{Error: errorDetail{Code: ae.code, Message: ae.message, Target: ae.target}})
		return
	}
	h.log.Error("request failed", "err", err)
	ARMError(w, http.StatusInternalServerError, "InternalServerError", "odx failed to serve the request: "+err.Error())
}

type handlerFunc func(http.ResponseWriter, *http.Request, route) error

func (h *Handler) dispatch(w http.ResponseWriter, r *http.Request, rt route) error {
	methods := map[endpoint]map[string]handlerFunc{
		epProviderOperations:           {http.MethodGet: h.listProviderOperations},
		epClustersBySubscription:       {http.MethodGet: h.listClusters},
		epClustersByResourceGroup:      {http.MethodGet: h.listClusters},
		epClusterNameCheck:             {http.MethodPost: h.checkClusterName},
		epOperationResult:              {http.MethodGet: h.getOperationResult},
		epCluster:                      {http.MethodGet: h.getCluster, http.MethodPut: h.putCluster, http.MethodPatch: h.patchCluster, http.MethodDelete: h.deleteCluster},
		epClusterStop:                  {http.MethodPost: h.stopCluster},
		epClusterStart:                 {http.MethodPost: h.startCluster},
		epDatabaseNameCheck:            {http.MethodPost: h.checkDatabaseName},
		epDatabases:                    {http.MethodGet: h.listDatabases},
		epDatabase:                     {http.MethodGet: h.getDatabase, http.MethodPut: h.putDatabase, http.MethodPatch: h.patchDatabase, http.MethodDelete: h.deleteDatabase},
		epDataConnectionNameCheck:      {http.MethodPost: h.checkDataConnectionName},
		epDataConnectionValidation:     {http.MethodPost: h.validateDataConnection},
		epDataConnections:              {http.MethodGet: h.listDataConnections},
		epDataConnection:               {http.MethodGet: h.getDataConnection, http.MethodPut: h.putDataConnection, http.MethodPatch: h.patchDataConnection, http.MethodDelete: h.deleteDataConnection},
		epPrincipalAssignmentNameCheck: {http.MethodPost: h.checkPrincipalAssignmentName},
		epPrincipalAssignments:         {http.MethodGet: h.listPrincipalAssignments},
		epPrincipalAssignment:          {http.MethodGet: h.getPrincipalAssignment, http.MethodPut: h.putPrincipalAssignment, http.MethodDelete: h.deletePrincipalAssignment},
	}
	fn, ok := methods[rt.ep][r.Method]
	if !ok {
		allowed := make([]string, 0, 4)
		for m := range methods[rt.ep] {
			allowed = append(allowed, m)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return newError(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The HTTP method '%s' is not supported for resource type '%s'.", r.Method, rt.resourceType())
	}
	return fn(w, r, rt)
}

// lockCluster serialises writes to one cluster and everything under it.
func (h *Handler) lockCluster(clusterID string) func() {
	m, _ := h.locks.LoadOrStore(key(clusterID), &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// requestBase is scheme://host of the ARM endpoint the client used.
func (h *Handler) requestBase(r *http.Request) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			scheme = p
		}
	}
	return scheme + "://" + r.Host
}

func (h *Handler) dataPlaneURL(r *http.Request) string {
	if h.dataURL != "" {
		return h.dataURL
	}
	return h.requestBase(r)
}

// Storage helpers.

func (h *Handler) load(ctx context.Context, kind, id string, v any) (bool, error) {
	body, ok, err := h.docs.GetDoc(ctx, kind, key(id))
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, errors.New("stored " + kind + " " + id + " is not valid JSON: " + err.Error())
	}
	return true, nil
}

func (h *Handler) store(ctx context.Context, kind, id string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return h.docs.PutDoc(ctx, kind, key(id), body)
}

func (h *Handler) remove(ctx context.Context, kind, id string) error {
	_, err := h.docs.DeleteDoc(ctx, kind, key(id))
	return err
}

// listUnder decodes every document of kind whose id starts with parentID+"/".
func listUnder[T any](ctx context.Context, h *Handler, kind, parentID string) ([]T, error) {
	docs, err := h.docs.ListDocs(ctx, kind, key(parentID)+"/")
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		var v T
		if err := json.Unmarshal(d.Body, &v); err != nil {
			return nil, errors.New("stored " + kind + " " + d.ID + " is not valid JSON: " + err.Error())
		}
		out = append(out, v)
	}
	return out, nil
}

// decodeBody reads a JSON request body into v with a message that names the problem.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return newError(http.StatusBadRequest, "InvalidRequestContent",
			"The request content was invalid and could not be deserialized: %s.", err.Error())
	}
	return nil
}

// normalizeLocation is ARM's short form of a region: "Central US" -> "centralus".
func normalizeLocation(loc string) string {
	return strings.ToLower(strings.ReplaceAll(loc, " ", ""))
}

// timestamp formats times the way the Kusto RP does (7 fractional digits).
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
