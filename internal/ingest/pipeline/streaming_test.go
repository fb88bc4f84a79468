package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"odx/internal/access"
	"odx/internal/auth"
	"odx/internal/storage"
)

// withPrincipal stands in for the token middleware.
func withPrincipal(p auth.Principal, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

type kustoError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func post(t *testing.T, h http.Handler, path string, body []byte, gzipped bool) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, out
}

func TestStreamingEndpoint(t *testing.T) {
	e := newEnv(t, Options{DefaultBatching: BatchingPolicy{MaxDelay: 50 * time.Millisecond}})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	if err := e.store.PutMapping(ctx, storage.Mapping{Database: "DB", Table: "T", Kind: "json", Name: "jm",
		Text: `[{"column":"Device","Properties":{"Path":"$.dev"}},{"column":"Count","Properties":{"Path":"$.n"}}]`}, storage.MappingCreate); err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{ClientID: "boot", TenantID: "tn", Roles: []string{auth.RoleAllDatabasesAdmin}}
	h := withPrincipal(admin, NewStreamingHandler(e.svc, StreamingOptions{}))

	// A gzip CSV body.
	code, body := post(t, h, "/v1/rest/ingest/DB/T?streamFormat=Csv", gz(t, telemetryCSV(3, t0)), true)
	if code != 200 {
		t.Fatalf("gzip csv: %d %s", code, body)
	}
	var v1 struct {
		Tables []struct {
			Rows [][]any `json:"Rows"`
		} `json:"Tables"`
	}
	if err := json.Unmarshal(body, &v1); err != nil || len(v1.Tables) != 1 || v1.Tables[0].Rows[0][0] != float64(3) {
		t.Fatalf("v1 answer %s (%v)", body, err)
	}
	if e.count("DB", "T") != 3 {
		t.Fatal("acknowledged rows are not in the table")
	}

	// JSON with a mapping name.
	code, body = post(t, h, "/v1/rest/ingest/DB/T?streamFormat=json&mappingName=jm", []byte(`{"dev":"x","n":100}`), false)
	if code != 200 {
		t.Fatalf("json: %d %s", code, body)
	}
	if rows := e.rows("DB", "T", `"Count" DESC`); rows[0][1] != "x" || rows[0][3] != int64(100) {
		t.Fatalf("mapped row %v", rows[0])
	}

	// Over 4 MB uncompressed: ADX's error, even when the gzip body is small.
	big := bytes.Repeat([]byte("2026-01-01T00:00:00Z,dev,1,1\n"), (MaxStreamingBytes/29)+10)
	code, body = post(t, h, "/v1/rest/ingest/DB/T?streamFormat=csv", gz(t, big), true)
	var ke kustoError
	json.Unmarshal(body, &ke)
	if code != http.StatusRequestEntityTooLarge || ke.Error.Code != CodeStreamTooLarge || !strings.Contains(ke.Error.Message, "4 MB") {
		t.Fatalf("over the limit: %d %s", code, body)
	}

	// Missing streamFormat, unknown table, corrupt gzip.
	for _, c := range []struct {
		path   string
		body   []byte
		gz     bool
		status int
		code   string
	}{
		{"/v1/rest/ingest/DB/T", []byte("a"), false, 400, "BadRequest_MalformedIngestionProperty"},
		{"/v1/rest/ingest/DB/Nope?streamFormat=csv", []byte("a"), false, 400, "BadRequest_TableNotExist"},
		{"/v1/rest/ingest/DB/T?streamFormat=csv", []byte("not gzip"), true, 400, "BadRequest_InvalidArchive"},
		{"/v1/rest/ingest/DB/T?streamFormat=json&mappingName=none", []byte("{}"), false, 400, CodeMappingNotFound},
	} {
		code, body := post(t, h, c.path, c.body, c.gz)
		var ke kustoError
		json.Unmarshal(body, &ke)
		if code != c.status || ke.Error.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.path, code, body, c.status, c.code)
		}
	}
	if n := e.count("DB", "T"); n != 4 {
		t.Fatalf("failed requests changed the table: %d rows", n)
	}
}

func TestStreamingEndpointNeedsIngestorRole(t *testing.T) {
	e := newEnv(t, Options{DefaultBatching: BatchingPolicy{MaxDelay: 20 * time.Millisecond}})
	e.table("DB", "T", telemetry)
	ctx := context.Background()
	app := auth.Principal{ClientID: "app1", TenantID: "tn"}
	h := withPrincipal(app, NewStreamingHandler(e.svc, StreamingOptions{}))
	code, body := post(t, h, "/v1/rest/ingest/DB/T?streamFormat=csv", telemetryCSV(1, t0), false)
	var ke kustoError
	json.Unmarshal(body, &ke)
	if code != http.StatusForbidden || ke.Error.Code != "Forbidden" || !strings.Contains(ke.Error.Message, "aadapp=app1;tn") {
		t.Fatalf("no role: %d %s", code, body)
	}
	// A viewer may not ingest either.
	if err := e.store.ChangePrincipals(ctx, "DB", access.RoleViewer, storage.PrincipalsAdd, []storage.Principal{{FQN: "aadapp=app1;tn"}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, h, "/v1/rest/ingest/DB/T?streamFormat=csv", telemetryCSV(1, t0), false); code != http.StatusForbidden {
		t.Fatalf("viewer: %d", code)
	}
	if err := e.store.ChangePrincipals(ctx, "DB", access.RoleIngestor, storage.PrincipalsAdd, []storage.Principal{{FQN: "aadapp=app1;tn"}}); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, h, "/v1/rest/ingest/DB/T?streamFormat=csv", telemetryCSV(1, t0), false); code != 200 {
		t.Fatalf("ingestor: %d %s", code, body)
	}
	// Without the token middleware there is no principal: 401, never a pass.
	if code, _ := post(t, NewStreamingHandler(e.svc, StreamingOptions{}), "/v1/rest/ingest/DB/T?streamFormat=csv", telemetryCSV(1, t0), false); code != http.StatusUnauthorized {
		t.Fatalf("no principal: %d", code)
	}
	if e.count("DB", "T") != 1 {
		t.Fatal("only the ingestor's request may land")
	}
}
