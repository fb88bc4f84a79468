package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"odx/internal/access"
	"odx/internal/auth"
	"odx/internal/ingest/format"
	"odx/internal/ingest/props"
	"odx/internal/kerr"
	"odx/internal/kustoapi"
)

// StreamingPathPrefix is where NewStreamingHandler serves:
// POST /v1/rest/ingest/{database}/{table}?streamFormat=...&mappingName=...
const StreamingPathPrefix = "/v1/rest/ingest/"

// MaxStreamingBytes is ADX's limit on one streaming ingestion request,
// measured on the uncompressed data.
const MaxStreamingBytes = 4 << 20

// CodeStreamTooLarge is ADX's code for data over a size limit.
const CodeStreamTooLarge = "Stream_InputStreamTooLarge"

// CallerFunc turns a request's authenticated principal into a Kusto caller.
type CallerFunc func(ctx context.Context) (access.Caller, error)

// StreamingOptions tunes NewStreamingHandler.
type StreamingOptions struct {
	// Caller resolves the caller; nil reads auth.PrincipalFrom (the token
	// middleware must run first) and maps AllDatabasesAdmin/Viewer tokens to
	// Kusto's cluster roles, as the query endpoints do.
	Caller CallerFunc
	// MaxBytes overrides MaxStreamingBytes (tests).
	MaxBytes int64
}

// NewStreamingHandler serves ADX's streaming ingestion endpoint. Mount it
// behind the token middleware, at "POST /v1/rest/ingest/" (it reads the
// database and table from the path). The caller needs the ingestor or admin
// role on the database (or AllDatabasesAdmin). Bodies may be gzip-encoded
// (Content-Encoding: gzip). The request returns after its rows are
// committed, with a v1 result; errors use Kusto's error envelope.
func NewStreamingHandler(svc *Service, opts StreamingOptions) http.Handler {
	if opts.Caller == nil {
		opts.Caller = CallerFromToken
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = MaxStreamingBytes
	}
	return &streamingHandler{svc: svc, opts: opts}
}

// CallerFromToken is the default CallerFunc: the token principal the auth
// middleware stored in ctx, with its cluster roles.
func CallerFromToken(ctx context.Context) (access.Caller, error) {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return access.Caller{}, kerr.New(kerr.Unauthorized, kerr.CodeUnauthorized, "the request carries no authenticated principal; send a bearer token issued by odx")
	}
	c := access.Caller{Name: p.KustoName(), DisplayName: p.DisplayName}
	if p.HasRole(auth.RoleAllDatabasesAdmin) {
		c.ClusterRoles = append(c.ClusterRoles, access.ClusterAdmin)
	}
	if p.HasRole(auth.RoleAllDatabasesViewer) {
		c.ClusterRoles = append(c.ClusterRoles, access.ClusterViewer)
	}
	return c, nil
}

type streamingHandler struct {
	svc  *Service
	opts StreamingOptions
}

const streamingActivity = "DN.RestApi.StreamingIngest"

func (h *streamingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := h.serve(r)
	if err != nil {
		kustoapi.WriteError(w, r, err, streamingActivity)
		return
	}
	writeStreamingResult(w, res)
}

func (h *streamingHandler) serve(r *http.Request) (Result, error) {
	if r.Method != http.MethodPost {
		return Result{}, kerr.BadRequestf("streaming ingestion takes POST %s{database}/{table}?streamFormat=...", StreamingPathPrefix)
	}
	db, table, err := streamingTarget(r.URL)
	if err != nil {
		return Result{}, err
	}
	caller, err := h.opts.Caller(r.Context())
	if err != nil {
		return Result{}, err
	}
	snap := h.svc.store.Snapshot()
	if _, ok := snap.DB(db); !ok {
		return Result{}, kerr.New(kerr.BadRequest, kerr.CodeDatabaseMissing, "Database '%s' was not found", db)
	}
	if !caller.Can(access.OpIngest, snap.RolesOf(db, caller)) {
		return Result{}, access.Forbidden(caller, access.OpIngest, db)
	}
	q := r.URL.Query()
	var pairs [][2]string
	if f := queryValue(q, "streamFormat"); f != "" {
		pairs = append(pairs, [2]string{"format", f})
	}
	if m := queryValue(q, "mappingName"); m != "" {
		pairs = append(pairs, [2]string{"ingestionMappingReference", m})
	}
	p, err := props.Parse(pairs)
	if err != nil {
		return Result{}, err
	}
	if p.Format == "" {
		return Result{}, kerr.New(kerr.BadRequest, format.CodeMalformedProperty,
			"the streamFormat query parameter is required, e.g. ?streamFormat=Csv (or Json, MultiJson, Avro, Tsv, Psv, SCsv, SOHsv)")
	}
	body, err := readStreamingBody(r, h.opts.MaxBytes)
	if err != nil {
		return Result{}, err
	}
	return h.svc.IngestQueued(r.Context(), Request{Database: db, Table: table, Props: p, Source: "streaming:" + db + "/" + table,
		OperationKind: KindStreaming, Principal: caller.Name, OperationID: r.Header.Get("x-ms-client-request-id"), RawSize: int64(len(body))},
		bytes.NewReader(body))
}

// queryValue reads a query parameter case-insensitively (clients spell
// streamFormat and mappingName in different cases).
func queryValue(q url.Values, name string) string {
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func streamingTarget(u *url.URL) (db, table string, err error) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), StreamingPathPrefix)
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if !ok || len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", kerr.BadRequestf("the streaming ingestion path is %s{database}/{table}, got %s", StreamingPathPrefix, u.Path)
	}
	if db, err = url.PathUnescape(parts[0]); err == nil {
		table, err = url.PathUnescape(parts[1])
	}
	if err != nil {
		return "", "", kerr.BadRequestf("the streaming ingestion path %s is not well escaped: %v", u.Path, err)
	}
	return db, table, nil
}

// readStreamingBody reads the request body, gunzipping it when the client
// says so, and refuses data over max bytes (uncompressed) with ADX's error.
func readStreamingBody(r *http.Request, max int64) ([]byte, error) {
	var body io.Reader = r.Body
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, kerr.New(kerr.BadRequest, format.CodeInvalidArchive, "the body says Content-Encoding: gzip but is not gzip data: %v", err)
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, kerr.New(kerr.BadRequest, format.CodeInvalidArchive, "the gzip body is corrupt: %v", err)
		}
		return nil, kerr.New(kerr.BadRequest, kerr.CodeBadRequest, "reading the request body failed: %v", err)
	}
	if int64(len(data)) > max {
		return nil, kerr.New(kerr.TooLarge, CodeStreamTooLarge,
			"the streaming ingestion request is over the %d MB limit (uncompressed); send smaller requests or use queued ingestion (.ingest into, odx ingest)", max>>20)
	}
	return data, nil
}

// writeStreamingResult answers a v1 data set with one table, as the
// service does for a streaming ingestion.
func writeStreamingResult(w http.ResponseWriter, res Result) {
	type column struct {
		ColumnName string `json:"ColumnName"`
		DataType   string `json:"DataType"`
		ColumnType string `json:"ColumnType"`
	}
	status := "Succeeded"
	if len(res.Failures) > 0 {
		status = "PartiallySucceeded"
	}
	extent := ""
	if len(res.Extents) > 0 {
		extent = res.Extents[0].ID
	}
	body := map[string]any{"Tables": []any{map[string]any{
		"TableName": "Table_0",
		"Columns": []column{{"ConsumedRecordsCount", "Int64", "long"}, {"UpdatePolicyStatus", "String", "string"},
			{"UpdatePolicyFailureCode", "String", "string"}, {"UpdatePolicyFailureReason", "String", "string"},
			{"IngestionStatus", "String", "string"}, {"OperationId", "String", "string"}, {"ExtentId", "String", "string"}},
		"Rows": [][]any{{res.Rows, "Succeeded", "", "", status, res.OperationID, extent}},
	}}}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
