// Package kustoapi is the Kusto REST surface of odx: it parses the requests
// Kusto clients send to /v1/rest/query, /v2/rest/query and /v1/rest/mgmt,
// hands them to an Executor, and streams the answer back as Kusto v1 or v2
// frames, with Kusto's error shapes. It knows nothing of how queries run.
//
// Authentication is not done here: wrap NewHandler with the token middleware,
// and mount MetadataHandler (MetadataPath) outside it — clients fetch the auth
// metadata before they have a token.
package kustoapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"odx/internal/kerr"
	"odx/internal/result"
)

// Executor runs what a client sent. The returned set's tables are pulled row
// by row while the response is written, then closed by this package.
type Executor interface {
	// Query runs a KQL query (which may be a `.show` command sent to the
	// query endpoint: the executor decides).
	Query(ctx context.Context, req *Request) (*result.Set, error)
	// Mgmt runs a management command.
	Mgmt(ctx context.Context, req *Request) (*result.Set, error)
}

// Paths served by NewHandler and MetadataHandler.
const (
	MetadataPath = "/v1/rest/auth/metadata"
	MgmtPath     = "/v1/rest/mgmt"
	QueryV1Path  = "/v1/rest/query"
	QueryV2Path  = "/v2/rest/query"
)

// Options configures the handlers.
type Options struct {
	Executor Executor
	Logger   *slog.Logger // nil: slog.Default()
	// LoginEndpoint is the authority URL clients get from the auth metadata
	// (odx's own AAD endpoint). Empty: https://<request host>.
	LoginEndpoint string
	// ServiceResourceID is KustoServiceResourceId in the auth metadata;
	// clients ask for tokens with scope "<ServiceResourceID>/.default".
	// Empty: https://<request host>.
	ServiceResourceID string

	// Timeouts when the client sends no servertimeout; every timeout is
	// capped at MaxTimeout. Zero: ADX's 4 min (queries), 10 min (commands), 1 h.
	DefaultQueryTimeout time.Duration
	DefaultMgmtTimeout  time.Duration
	MaxTimeout          time.Duration

	// FragmentBytes is the size of row data after which a v2 TableFragment
	// is closed and the response flushed. Zero: 256 KiB.
	FragmentBytes int
	// Gzip compresses responses for clients that accept gzip. Off by
	// default: on loopback it costs more CPU than it saves.
	Gzip bool
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DefaultQueryTimeout <= 0 {
		o.DefaultQueryTimeout = 4 * time.Minute
	}
	if o.DefaultMgmtTimeout <= 0 {
		o.DefaultMgmtTimeout = 10 * time.Minute
	}
	if o.MaxTimeout <= 0 {
		o.MaxTimeout = time.Hour
	}
	if o.FragmentBytes <= 0 {
		o.FragmentBytes = 256 << 10
	}
}

type handler struct {
	opts Options
}

// NewHandler serves MetadataPath, MgmtPath, QueryV1Path and QueryV2Path.
// Every path but MetadataPath needs the caller authenticated by a wrapping
// middleware.
func NewHandler(opts Options) http.Handler {
	if opts.Executor == nil {
		// A wiring mistake, found at startup rather than on the first query.
		panic("kustoapi.NewHandler: Options.Executor is required")
	}
	opts.defaults()
	h := &handler{opts: opts}
	mux := http.NewServeMux()
	mux.Handle(MetadataPath, MetadataHandler(opts))
	mux.HandleFunc(MgmtPath, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, kindMgmt) })
	mux.HandleFunc(QueryV1Path, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, kindQueryV1) })
	mux.HandleFunc(QueryV2Path, func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, kindQueryV2) })
	return mux
}

// MetadataHandler answers GET /v1/rest/auth/metadata, which clients call
// without a token to learn where and for which resource to get one.
func MetadataHandler(opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host
		login, resource := opts.LoginEndpoint, opts.ServiceResourceID
		if login == "" {
			login = base
		}
		if resource == "" {
			resource = base
		}
		body := map[string]any{
			"AzureAD": map[string]any{
				"LoginEndpoint":          strings.TrimSuffix(login, "/"),
				"LoginMfaRequired":       false,
				"KustoClientAppId":       "db662dc1-0cfe-4e1c-a843-19a68e65be58",
				"KustoClientRedirectUri": "https://microsoft/kustoclient",
				"KustoServiceResourceId": strings.TrimSuffix(resource, "/"),
				"FirstPartyAuthorityUrl": strings.TrimSuffix(login, "/"),
			},
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(body)
	})
}

type requestKind uint8

const (
	kindMgmt requestKind = iota
	kindQueryV1
	kindQueryV2
)

// activityType names the request kind in error contexts; the real service
// reports its HTTP gateway activity for all of them.
func (k requestKind) activityType() string {
	return "GW.Http.CallContext"
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, kind requestKind) {
	begun := time.Now()
	log := h.opts.Logger
	// A panic in an executor or a result table must not take the process
	// down with it; the client sees the connection end.
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Error("kusto request panicked", "panic", p, "path", r.URL.Path, "stack", string(debug.Stack()))
			panic(http.ErrAbortHandler)
		}
	}()
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		act := newActivity(r.Header.Get("x-ms-client-request-id"), kind.activityType())
		writeError(w, kerr.New(kerr.BadRequest, kerr.CodeBadRequest, "method %s is not allowed: POST a JSON body {\"db\":...,\"csl\":...}", r.Method), nil, act)
		return
	}
	req, err := parseRequest(r)
	act := newActivity(req.ClientRequestID, kind.activityType())
	w.Header().Set("x-ms-activity-id", act.ID)
	w.Header().Set("x-ms-client-request-id", req.ClientRequestID)
	if err != nil {
		writeError(w, classify(err), req, act)
		return
	}

	timeout := h.opts.DefaultQueryTimeout
	if kind == kindMgmt {
		timeout = h.opts.DefaultMgmtTimeout
	}
	if d, ok, err := optionTimeout(req.Options); err != nil {
		writeError(w, classify(err), req, act)
		return
	} else if ok {
		timeout = d
	}
	if off, _ := optionBool(req.Options, OptNoRequestTimeout); off {
		timeout = h.opts.MaxTimeout
	}
	timeout = min(timeout, h.opts.MaxTimeout)
	lim := limits{}
	if kind != kindMgmt {
		if lim, err = resultLimits(req.Options); err != nil {
			writeError(w, classify(err), req, act)
			return
		}
	}

	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	var set *result.Set
	if kind == kindMgmt {
		set, err = h.opts.Executor.Mgmt(ctx, req)
	} else {
		set, err = h.opts.Executor.Query(ctx, req)
	}
	if err == nil && set == nil {
		set = &result.Set{}
	}
	if err == nil {
		defer set.Close()
		err = peekFirst(set)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = ctx.Err()
		}
		ke := classify(err)
		logFailure(log, ke, req, act)
		writeError(w, ke, req, act)
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	body := w
	if h.opts.Gzip && acceptsGzip(r) {
		hdr.Set("Content-Encoding", "gzip")
		hdr.Add("Vary", "Accept-Encoding")
		gz := newGzipWriter(w)
		defer gz.Close()
		body = gz
	}
	w.WriteHeader(http.StatusOK)
	sw := newStreamWriter(body)
	p := &pump{ctx: ctx, limits: lim}
	var failure *kerr.Error
	if kind == kindQueryV2 {
		fragmented, _ := optionBool(req.Options, OptFragmentPrimaryTables)
		enc := &v2Encoder{w: sw, pump: p, fragmented: fragmented, fragmentBytes: h.opts.FragmentBytes, req: req, act: act, begun: begun}
		failure, err = enc.encode(set)
	} else {
		p.dyn = dynamicAsString
		enc := &v1Encoder{w: sw, pump: p, flushBytes: h.opts.FragmentBytes, req: req, act: act, query: kind == kindQueryV1}
		failure, err = enc.encode(set)
	}
	if err != nil {
		log.Info("kusto response aborted: the client stopped reading", "clientRequestId", req.ClientRequestID, "activityId", act.ID, "err", err)
		return
	}
	if failure != nil {
		logFailure(log, failure, req, act)
	}
	log.Debug("kusto request served", "kind", kind.activityType(), "db", req.Database,
		"clientRequestId", req.ClientRequestID, "activityId", act.ID, "rows", p.records, "elapsed", time.Since(begun))
}

func logFailure(log *slog.Logger, ke *kerr.Error, req *Request, act activity) {
	level := slog.LevelInfo
	if ke.Category == kerr.Internal {
		level = slog.LevelError
	}
	log.Log(context.Background(), level, "kusto request failed", "code", ke.Code, "err", ke.Error(),
		"db", req.Database, "clientRequestId", req.ClientRequestID, "activityId", act.ID)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(name, "gzip") {
			return true
		}
	}
	return false
}

// gzipWriter compresses a response and keeps flushes working.
type gzipWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func newGzipWriter(w http.ResponseWriter) *gzipWriter {
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return &gzipWriter{ResponseWriter: w, gz: gz}
}

func (g *gzipWriter) Write(b []byte) (int, error) { return g.gz.Write(b) }

func (g *gzipWriter) Flush() {
	_ = g.gz.Flush()
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) Close() error { return g.gz.Close() }
