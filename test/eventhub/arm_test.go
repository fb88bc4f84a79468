package eventhub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/arm"
	"odx/internal/arm/armtest"
	"odx/internal/connect"
	"odx/internal/connect/armadapter"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

func storeDocuments(st *storage.Store) arm.Documents {
	return arm.DocumentFuncs{
		Put: st.PutDoc, Get: st.GetDoc, Delete: st.DeleteDoc,
		List: func(ctx context.Context, kind, prefix string) ([]arm.Doc, error) {
			docs, err := st.ListDocs(ctx, kind, prefix)
			out := make([]arm.Doc, len(docs))
			for i, d := range docs {
				out[i] = arm.Doc{ID: d.ID, Body: d.Body}
			}
			return out, err
		},
	}
}

type armClient struct {
	t   *testing.T
	srv *httptest.Server
}

func (c armClient) call(method, path string, body any) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

// settle waits for the long-running operation a PUT or DELETE started.
func (c armClient) settle(h http.Header) {
	c.t.Helper()
	u, _ := url.Parse(h.Get("Azure-AsyncOperation"))
	for range 1000 {
		if _, _, st := c.call(http.MethodGet, u.RequestURI(), nil); st["status"] != "Running" {
			if st["status"] != "Succeeded" {
				c.t.Fatalf("operation: %v", st)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("operation did not finish")
}

// The Azure flow: a data connection made through the Microsoft.Kusto ARM
// API runs in the manager, ingests what is produced to its event hub,
// resumes after an odx restart (StartConnections), refuses a bad event hub
// id with the manager's message, and stops when deleted.
func TestDataConnectionThroughARM(t *testing.T) {
	dir := t.TempDir()
	h := startTestHub(t)
	dbFile := filepath.Join(dir, "odx.duckdb")
	dataPlane := armtest.NewDataPlane()
	dataPlane.CreateTable("Metrics", "Weather")

	boot := func() (*node, *arm.Handler, armClient) {
		n := startNode(t, dbFile, h.Addr())
		n.table("Metrics", "Weather", []schema.Column{{Name: "Station", Type: types.String}, {Name: "Temp", Type: types.Long}})
		handler := arm.NewHandler(arm.Options{Documents: storeDocuments(n.store), DataPlane: dataPlane,
			Connections: armadapter.New(n.m), Logger: quiet()})
		srv := httptest.NewServer(handler)
		t.Cleanup(srv.Close)
		return n, handler, armClient{t: t, srv: srv}
	}
	n, handler, c := boot()

	const cluster = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Kusto/clusters/odxdev"
	const q = "?api-version=2024-04-13"
	dcPath := cluster + "/databases/Metrics/dataConnections/weather"
	hubID := "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/devns/eventhubs/armhub"
	for _, step := range []struct {
		path string
		body any
	}{
		{cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}}},
		{cluster + "/databases/Metrics", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}}},
		{dcPath, map[string]any{"kind": "EventHub", "location": "westeurope", "properties": map[string]any{
			"eventHubResourceId": hubID, "consumerGroup": "$Default", "tableName": "Weather", "dataFormat": "CSV"}}},
	} {
		status, hdr, body := c.call(http.MethodPut, step.path+q, step.body)
		if status != http.StatusCreated && status != http.StatusOK {
			t.Fatalf("PUT %s: %d %v", step.path, status, body)
		}
		c.settle(hdr)
	}
	_, _, dc := c.call(http.MethodGet, dcPath+q, nil)
	id := dc["id"].(string)
	st, ok := n.m.Status(id)
	if !ok || st.State != connect.Running || st.Source != hubID {
		t.Fatalf("manager status after the PUT: %+v (found %v)", st, ok)
	}

	p, err := kgo.NewClient(kgo.SeedBrokers(h.Addr()), kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(lines ...string) {
		for _, l := range lines {
			if err := p.ProduceSync(t.Context(), &kgo.Record{Topic: "armhub", Value: []byte(l)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	send("oslo,3", "bergen,7")
	n.waitRows("Metrics", "Weather", `"Station"`, 2)

	// A bad event hub id is refused with the connector's explanation.
	status, _, body := c.call(http.MethodPut, cluster+"/databases/Metrics/dataConnections/bad"+q, map[string]any{"kind": "EventHub", "location": "westeurope",
		"properties": map[string]any{"eventHubResourceId": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/devns", "consumerGroup": "$Default", "tableName": "Weather", "dataFormat": "CSV"}})
	if b, _ := json.Marshal(body); status != http.StatusBadRequest || !strings.Contains(string(b), "is not an event hub id") {
		t.Fatalf("bad id: %d %s", status, b)
	}

	// odx restarts: the wiring hands every stored connection to the new
	// manager, which resumes from the committed positions.
	handler.Close()
	n.stop()
	send("tromso,-4")
	n, handler, c = boot()
	if err := handler.StartConnections(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer handler.Close()
	n.waitRows("Metrics", "Weather", `"Station"`, 3)
	time.Sleep(300 * time.Millisecond)
	if rows := n.rows("Metrics", "Weather", `"Station"`); len(rows) != 3 {
		t.Fatalf("after the restart: %v", rows)
	}

	status, hdr, _ := c.call(http.MethodDelete, dcPath+q, nil)
	if status != http.StatusAccepted && status != http.StatusOK {
		t.Fatalf("DELETE: %d", status)
	}
	if status == http.StatusAccepted {
		c.settle(hdr)
	}
	if _, ok := n.m.Status(id); ok {
		t.Fatal("the deleted connection is still running")
	}
	if pos, _ := n.svc.Sink().Positions(t.Context(), strings.ToLower(id)); len(pos) != 0 {
		t.Fatalf("the deleted connection's positions remain: %v", pos)
	}
}
