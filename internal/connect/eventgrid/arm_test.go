package eventgrid_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"odx/internal/arm"
	"odx/internal/arm/armtest"
	"odx/internal/connect"
	"odx/internal/connect/armadapter"
	"odx/internal/connect/eventgrid"
)

// armCall sends what the Microsoft.Kusto SDKs send and decodes the answer.
func armCall(t *testing.T, srv *httptest.Server, method, path string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// armSettle waits for the long-running operation a PUT or DELETE started.
func armSettle(t *testing.T, srv *httptest.Server, h http.Header) {
	t.Helper()
	if h.Get("Azure-AsyncOperation") == "" {
		return
	}
	u, _ := url.Parse(h.Get("Azure-AsyncOperation"))
	for range 1000 {
		if _, _, st := armCall(t, srv, http.MethodGet, u.RequestURI(), nil); st["status"] != "Running" {
			if st["status"] != "Succeeded" {
				t.Fatalf("operation: %v", st)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("operation did not finish")
}

// An Event Grid data connection made through the Microsoft.Kusto ARM API
// (the body of the ADX article's example) runs in the manager and ingests
// the blobs announced to its event hub; a bad storage account id is
// refused with the connector's message; DELETE stops it.
func TestEventGridConnectionThroughARM(t *testing.T) {
	ep := startAzurite(t)
	e := newEnv(t, envOptions{endpoint: ep})
	e.table("db", "T", colsT)
	dataPlane := armtest.NewDataPlane()
	dataPlane.CreateTable("db", "T")
	handler := arm.NewHandler(arm.Options{Documents: armtest.NewDocuments(), DataPlane: dataPlane,
		Connections: armadapter.New(e.mgr), Logger: quietLogger()})
	defer handler.Close()
	srv := httptest.NewServer(handler)
	defer srv.Close()

	const cluster = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Kusto/clusters/odxdev"
	const q = "?api-version=2024-04-13"
	dcPath := cluster + "/databases/db/dataConnections/blobs"
	props := map[string]any{
		"storageAccountResourceId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + e.account,
		"eventGridResourceId":      "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + e.account + "/providers/Microsoft.EventGrid/eventSubscriptions/sub1",
		"eventHubResourceId":       "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/devns/eventhubs/blobevents",
		"consumerGroup":            "$Default", "tableName": "T", "dataFormat": "CSV", "ignoreFirstRecord": true,
		"blobStorageEventType": eventgrid.BlobCreated, "databaseRouting": "Single",
	}
	for _, step := range []struct {
		path string
		body any
	}{
		{cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}}},
		{cluster + "/databases/db", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}}},
		{dcPath, map[string]any{"kind": "EventGrid", "location": "westeurope", "properties": props}},
	} {
		status, hdr, body := armCall(t, srv, http.MethodPut, step.path+q, step.body)
		if status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("PUT %s: %d %v", step.path, status, body)
		}
		armSettle(t, srv, hdr)
	}
	_, _, dc := armCall(t, srv, http.MethodGet, dcPath+q, nil)
	id, _ := dc["id"].(string)
	st, ok := e.mgr.Status(id)
	if !ok || st.State != connect.Running || !strings.EqualFold(st.Kind, eventgrid.KindEventGrid) {
		t.Fatalf("manager status after the PUT: %+v (found %v)", st, ok)
	}

	upload(t, blobClient(t, ep), "armblobs", "in/data.csv", []byte("Device,Value\ndev-arm,42\n"), nil)
	e.notify("blobevents", []any{event(false, eventgrid.BlobCreated, e.account, ep+"/armblobs/in/data.csv", 24, "PutBlob")})
	e.waitRows("db", "T", []string{"dev-arm|42"})

	bad := map[string]any{}
	for k, v := range props {
		bad[k] = v
	}
	bad["storageAccountResourceId"] = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/accounts/x"
	status, _, body := armCall(t, srv, http.MethodPut, cluster+"/databases/db/dataConnections/bad"+q, map[string]any{"kind": "EventGrid", "location": "westeurope", "properties": bad})
	if b, _ := json.Marshal(body); status != http.StatusBadRequest || !strings.Contains(strings.ToLower(string(b)), "storage account") {
		t.Fatalf("bad storage account id: %d %s", status, b)
	}

	status, hdr, _ := armCall(t, srv, http.MethodDelete, dcPath+q, nil)
	if status != http.StatusAccepted && status != http.StatusOK {
		t.Fatalf("DELETE: %d", status)
	}
	armSettle(t, srv, hdr)
	if _, ok := e.mgr.Status(id); ok {
		t.Fatal("the deleted connection is still running")
	}
}
