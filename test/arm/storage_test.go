package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	odxarm "odx/internal/arm"
	"odx/internal/arm/armtest"
	"odx/internal/storage"
)

// storeDocuments adapts odx's storage layer to the provider's Documents, the
// way the server wiring does.
func storeDocuments(st *storage.Store) odxarm.Documents {
	return odxarm.DocumentFuncs{
		Put:    st.PutDoc,
		Get:    st.GetDoc,
		Delete: st.DeleteDoc,
		List: func(ctx context.Context, kind, prefix string) ([]odxarm.Doc, error) {
			docs, err := st.ListDocs(ctx, kind, prefix)
			out := make([]odxarm.Doc, len(docs))
			for i, d := range docs {
				out[i] = odxarm.Doc{ID: d.ID, Body: d.Body}
			}
			return out, err
		},
	}
}

// TestResourcesSurviveRestartInDuckDB keeps the provider's documents in the
// real DuckDB-backed store, restarts both, and finds everything again.
func TestResourcesSurviveRestartInDuckDB(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "odx.duckdb")
	dataPlane, conns := armtest.NewDataPlane(), armtest.NewConnections()
	dataPlane.CreateTable("db1", "T")

	open := func() (*storage.Store, *odxarm.Handler, *httptest.Server) {
		st, err := storage.Open(ctx, path, storage.Options{RetentionInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		h := odxarm.NewHandler(odxarm.Options{Documents: storeDocuments(st), DataPlane: dataPlane, Connections: conns})
		return st, h, httptest.NewServer(h)
	}
	call := func(srv *httptest.Server, method, path string, body any) (int, http.Header, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.URL+path, rd)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, resp.Header, out
	}
	settle := func(srv *httptest.Server, h http.Header) {
		t.Helper()
		u, _ := url.Parse(h.Get("Azure-AsyncOperation"))
		for i := 0; i < 500; i++ {
			if _, _, st := call(srv, http.MethodGet, u.RequestURI(), nil); st["status"] != "Running" {
				if st["status"] != "Succeeded" {
					t.Fatalf("operation: %v", st)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("operation did not finish")
	}
	const cl = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Kusto/clusters/cluster1"
	const q = "?api-version=2023-08-15"
	dc := cl + "/databases/db1/dataConnections/dc1"

	st, h, srv := open()
	steps := []struct {
		path string
		body any
	}{
		{cl, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}}},
		{cl + "/databases/db1", map[string]any{"kind": "ReadWrite", "properties": map[string]any{"softDeletePeriod": "P30D"}}},
		{dc, map[string]any{"kind": "IotHub", "properties": map[string]any{"iotHubResourceId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Devices/IotHubs/h1",
			"consumerGroup": "$Default", "sharedAccessPolicyName": "iothubowner", "tableName": "T"}}},
	}
	for _, step := range steps {
		status, hdr, body := call(srv, http.MethodPut, step.path+q, step.body)
		if status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %v", step.path, status, body)
		}
		settle(srv, hdr)
	}
	_, _, before := call(srv, http.MethodGet, dc+q, nil)
	srv.Close()
	h.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, h, srv = open()
	defer func() { srv.Close(); h.Close(); st.Close() }()
	status, _, after := call(srv, http.MethodGet, dc+q, nil)
	if status != http.StatusOK {
		t.Fatalf("GET after restart: %d %v", status, after)
	}
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if !bytes.Equal(b1, b2) {
		t.Errorf("data connection changed across the restart:\n%s\n%s", b1, b2)
	}
	if _, _, list := call(srv, http.MethodGet, "/subscriptions/s1/providers/Microsoft.Kusto/clusters"+q, nil); len(list["value"].([]any)) != 1 {
		t.Errorf("clusters after restart: %v", list)
	}
}
