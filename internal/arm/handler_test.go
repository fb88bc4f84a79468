package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"odx/internal/arm"
	"odx/internal/arm/armtest"
)

const (
	sub    = "/subscriptions/sub1"
	clPath = sub + "/resourceGroups/rg1/providers/Microsoft.Kusto/clusters/cluster1"
	dbPath = clPath + "/databases/db1"
	ehID   = "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.EventHub/namespaces/ns/eventhubs/hub"
)

type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	h    *arm.Handler
	docs *armtest.Documents
	dp   *armtest.DataPlane
	cons *armtest.Connections
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, docs: armtest.NewDocuments(), dp: armtest.NewDataPlane(), cons: armtest.NewConnections()}
	f.start(f.dp)
	return f
}

func (f *fixture) start(dp arm.DataPlane) {
	f.h = arm.NewHandler(arm.Options{Documents: f.docs, DataPlane: dp, Connections: f.cons, DataPlaneURL: "https://data.example"})
	f.srv = httptest.NewServer(f.h)
	f.t.Cleanup(func() { f.srv.Close(); f.h.Close() })
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) do(method, path string, body any) reply {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	if !strings.Contains(path, "api-version=") {
		if strings.Contains(path, "?") {
			path += "&api-version=2022-12-29"
		} else {
			path += "?api-version=2022-12-29"
		}
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// wait polls the Azure-AsyncOperation URL of r until the operation ends.
func (f *fixture) wait(r reply) map[string]any {
	f.t.Helper()
	aao := r.header.Get("Azure-AsyncOperation")
	if aao == "" {
		f.t.Fatalf("no Azure-AsyncOperation header on %d %s", r.status, r.raw)
	}
	for i := 0; i < 200; i++ {
		u, err := url.Parse(aao)
		if err != nil {
			f.t.Fatal(err)
		}
		st := f.do(http.MethodGet, u.RequestURI(), nil) // the host may be a previous run's

		if st.body["status"] != "Running" {
			return st.body
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatal("operation still running")
	return nil
}

func (f *fixture) mustPut(path string, body any) map[string]any {
	f.t.Helper()
	r := f.do(http.MethodPut, path, body)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		f.t.Fatalf("PUT %s: %d %s", path, r.status, r.raw)
	}
	if st := f.wait(r); st["status"] != "Succeeded" {
		f.t.Fatalf("PUT %s: operation %v", path, st)
	}
	return f.do(http.MethodGet, path, nil).body
}

func (f *fixture) cluster() {
	f.mustPut(clPath, map[string]any{"location": "West Europe", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}})
}

func (f *fixture) database() {
	f.cluster()
	f.mustPut(dbPath, map[string]any{"kind": "ReadWrite", "properties": map[string]any{"softDeletePeriod": "P7D"}})
}

func errorCode(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestAPIVersion(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodGet, clPath+"?api-version=2099-01-01", nil)
	if r.status != 400 || errorCode(r) != "NoRegisteredProviderFound" || !strings.Contains(r.raw, "2025-02-14") {
		t.Errorf("unknown api-version: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+clPath, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("missing api-version: %d", resp.StatusCode)
	}
	for _, v := range []string{"2019-01-21", "2022-11-11", "2022-12-29", "2023-08-15", "2024-04-13", "2025-02-14"} {
		if r := f.do(http.MethodGet, clPath+"?callerRole=Admin&api-version="+v, nil); r.status != 404 || errorCode(r) != "ResourceNotFound" {
			t.Errorf("api-version %s with callerRole: %d %s", v, r.status, r.raw)
		}
	}
}

func TestClusterLRO(t *testing.T) {
	f := newFixture(t)
	r := f.do(http.MethodPut, clPath, map[string]any{"location": "West Europe", "sku": map[string]any{"name": "Standard_E8ads_v5", "tier": "Standard"}})
	if r.status != http.StatusCreated {
		t.Fatalf("cluster PUT: %d %s (a cluster PUT must answer 201 or 200, never 202)", r.status, r.raw)
	}
	props := r.body["properties"].(map[string]any)
	if props["provisioningState"] != "Creating" || props["uri"] != "https://data.example" {
		t.Errorf("initial body: %v", props)
	}
	aao, loc := r.header.Get("Azure-AsyncOperation"), r.header.Get("Location")
	if !strings.Contains(aao, "/providers/Microsoft.Kusto/locations/westeurope/operationResults/") || r.header.Get("Retry-After") != "1" ||
		loc != aao+"&operationResultResponseType=Location" {
		t.Errorf("headers: AAO %q Location %q Retry-After %q", aao, loc, r.header.Get("Retry-After"))
	}
	st := f.wait(r)
	if st["status"] != "Succeeded" || st["percentComplete"] != 100.0 || st["endTime"] == nil || st["name"] == "" {
		t.Errorf("status document: %v", st)
	}
	// Extra query parameters on the poll are ignored (Node copies callerRole).
	if r2 := f.do(http.MethodGet, strings.TrimPrefix(aao, f.srv.URL)+"&callerRole=Admin", nil); r2.body["status"] != "Succeeded" {
		t.Errorf("poll with callerRole: %s", r2.raw)
	}
	final := f.do(http.MethodGet, strings.TrimPrefix(loc, f.srv.URL), nil)
	if final.status != 200 || final.body["properties"].(map[string]any)["state"] != "Running" {
		t.Errorf("Location view after success: %d %s", final.status, final.raw)
	}
	// Updating answers 200.
	if r := f.do(http.MethodPut, clPath, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "x", "tier": "Basic"}}); r.status != http.StatusOK {
		t.Errorf("second PUT: %d %s", r.status, r.raw)
	}
	f.h.Wait()
	if r := f.do(http.MethodPut, clPath, map[string]any{"location": "eastus", "sku": map[string]any{"name": "x", "tier": "Basic"}}); r.status != 400 {
		t.Errorf("moving a cluster: %d %s", r.status, r.raw)
	}
	if r := f.do(http.MethodPut, sub+"/resourceGroups/rg1/providers/Microsoft.Kusto/clusters/Bad_Name", map[string]any{"location": "x", "sku": map[string]any{"name": "x", "tier": "Basic"}}); r.status != 400 {
		t.Errorf("invalid cluster name: %d %s", r.status, r.raw)
	}
	// DELETE: 202 + headers, then 404; deleting again: 204.
	d := f.do(http.MethodDelete, clPath, nil)
	if d.status != http.StatusAccepted || d.header.Get("Location") == "" {
		t.Fatalf("DELETE: %d %v", d.status, d.header)
	}
	if st := f.wait(d); st["status"] != "Succeeded" {
		t.Errorf("delete operation: %v", st)
	}
	if r := f.do(http.MethodGet, strings.TrimPrefix(d.header.Get("Location"), f.srv.URL), nil); r.status != http.StatusNoContent {
		t.Errorf("Location view of a finished delete: %d", r.status)
	}
	if r := f.do(http.MethodGet, clPath, nil); r.status != 404 || errorCode(r) != "ResourceNotFound" {
		t.Errorf("GET after delete: %d %s", r.status, r.raw)
	}
	if r := f.do(http.MethodDelete, clPath, nil); r.status != http.StatusNoContent {
		t.Errorf("DELETE of a missing cluster: %d", r.status)
	}
}

func TestPathsAreCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	f.cluster()
	r := f.do(http.MethodGet, "/SUBSCRIPTIONS/sub1/resourcegroups/RG1/PROVIDERS/microsoft.kusto/Clusters/CLUSTER1", nil)
	if r.status != 200 || r.body["id"] != "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Kusto/Clusters/cluster1" {
		t.Errorf("GET in other case: %d %s", r.status, r.raw)
	}
	if r := f.do(http.MethodGet, sub+"/resourceGroups/rg1/providers/Microsoft.Kusto/clusters/cluster1/whatever", nil); r.status != 404 || errorCode(r) != "InvalidResourceType" {
		t.Errorf("unknown path: %d %s", r.status, r.raw)
	}
	if r := f.do(http.MethodPost, clPath, nil); r.status != 405 {
		t.Errorf("POST on a cluster: %d", r.status)
	}
}

func TestDatabasesFollowTheDataPlane(t *testing.T) {
	f := newFixture(t)
	f.database()
	spec, ok, _ := f.dp.GetDatabase(context.Background(), "db1")
	if !ok || spec.SoftDeletePeriod != 7*24*time.Hour {
		t.Fatalf("data plane: %+v %v", spec, ok)
	}
	// The data plane changes the retention: ARM shows it.
	f.dp.PutDatabase(context.Background(), arm.DatabaseSpec{Name: "db1", SoftDeletePeriod: 36 * time.Hour})
	if r := f.do(http.MethodGet, dbPath, nil); r.body["properties"].(map[string]any)["softDeletePeriod"] != "P1DT12H" {
		t.Errorf("softDeletePeriod after .alter: %s", r.raw)
	}
	// PATCH keeps what it does not name.
	r := f.do(http.MethodPatch, dbPath, map[string]any{"kind": "ReadWrite", "properties": map[string]any{"hotCachePeriod": "PT12H"}})
	if r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.raw)
	}
	f.wait(r)
	spec, _, _ = f.dp.GetDatabase(context.Background(), "db1")
	if spec.HotCachePeriod != 12*time.Hour || spec.SoftDeletePeriod != 36*time.Hour {
		t.Errorf("after PATCH: %+v", spec)
	}
	// Dropped through the data plane: gone from ARM.
	f.dp.DropDatabase(context.Background(), "db1")
	if r := f.do(http.MethodGet, dbPath, nil); r.status != 404 || errorCode(r) != "NotFound" {
		t.Errorf("GET after .drop database: %d %s", r.status, r.raw)
	}
	// ARM can make it again.
	f.mustPut(dbPath, map[string]any{"kind": "ReadWrite"})
	if _, ok, _ := f.dp.GetDatabase(context.Background(), "db1"); !ok {
		t.Error("re-creating a database dropped through the data plane")
	}
	// Bad bodies.
	for _, body := range []map[string]any{
		{"kind": "ReadOnlyFollowing"},
		{"properties": map[string]any{}},
		{"kind": "ReadWrite", "properties": map[string]any{"softDeletePeriod": "7 days"}},
		{"kind": "ReadWrite", "properties": map[string]any{"softDeletePeriod": "P1D", "hotCachePeriod": "P2D"}},
	} {
		if r := f.do(http.MethodPut, clPath+"/databases/db2", body); r.status != 400 || !strings.Contains(r.raw, "[BadRequest]") {
			t.Errorf("PUT %v: %d %s", body, r.status, r.raw)
		}
	}
	if r := f.do(http.MethodPut, sub+"/resourceGroups/rg1/providers/Microsoft.Kusto/clusters/nocluster/databases/x", map[string]any{"kind": "ReadWrite"}); r.status != 404 || errorCode(r) != "ParentResourceNotFound" {
		t.Errorf("database in a missing cluster: %d %s", r.status, r.raw)
	}
}

func TestDataConnectionRules(t *testing.T) {
	f := newFixture(t)
	f.database()
	f.dp.CreateTable("db1", "T")
	f.dp.CreateMapping("db1", "T", "M", "Json")
	dcPath := dbPath + "/dataConnections/dc1"
	eh := map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg", "tableName": "T", "mappingRuleName": "M", "dataFormat": "multijson"}}
	got := f.mustPut(dcPath, eh)
	p := got["properties"].(map[string]any)
	if got["location"] != "West Europe" || p["dataFormat"] != "MULTIJSON" || p["compression"] != "None" || p["databaseRouting"] != "Single" ||
		p["eventSystemProperties"] == nil || p["retrievalStartDate"] == nil || p["provisioningState"] != "Succeeded" {
		t.Errorf("stored connection: %v", got)
	}
	cases := []struct {
		name, want string
		body       map[string]any
	}{
		{"mapping kind", "Json mapping, which cannot read data format CSV", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg2", "tableName": "T", "mappingRuleName": "M", "dataFormat": "CSV"}}},
		{"missing mapping", "Mapping 'Nope' does not exist", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg2", "tableName": "T", "mappingRuleName": "Nope"}}},
		{"same hub and group", "already used by data connection 'dc1'", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": strings.ToUpper(ehID), "consumerGroup": "cg"}}},
		{"bad hub id", "is not a valid resource id", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": "hub", "consumerGroup": "cg2"}}},
		{"unknown kind", "Invalid data connection kind 'Kafka'", map[string]any{"kind": "Kafka", "properties": map[string]any{}}},
		{"MI without identity", "managedIdentityResourceId", map[string]any{"kind": "EventHubWithManagedIdentity", "properties": map[string]any{"eventHubResourceIdForManagedIdentity": ehID, "consumerGroup": "cg2"}}},
		{"IotHub without policy", "sharedAccessPolicyName", map[string]any{"kind": "IotHub", "properties": map[string]any{"iotHubResourceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Devices/IotHubs/h", "consumerGroup": "cg"}}},
		{"routing", "databaseRouting 'Many'", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg3", "databaseRouting": "Many"}}},
	}
	for _, c := range cases {
		r := f.do(http.MethodPut, dbPath+"/dataConnections/other", c.body)
		if r.status != 400 || !strings.Contains(r.raw, c.want) {
			t.Errorf("%s: %d %s (want 400 mentioning %q)", c.name, r.status, r.raw, c.want)
		}
	}
	if r := f.do(http.MethodPut, dbPath+"/dataConnections/"+strings.Repeat("x", 41), eh); r.status != 400 {
		t.Errorf("41-character name: %d", r.status)
	}
	// The kind of an existing connection cannot change.
	if r := f.do(http.MethodPut, dcPath, map[string]any{"kind": "IotHub", "properties": map[string]any{"iotHubResourceId": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Devices/IotHubs/h", "consumerGroup": "cg", "sharedAccessPolicyName": "p"}}); r.status != 400 || !strings.Contains(r.raw, "cannot change") {
		t.Errorf("kind change: %d %s", r.status, r.raw)
	}
	// A 2025-02-14 managed-identity kind.
	mi := f.mustPut(dbPath+"/dataConnections/mi1", map[string]any{"kind": "EventGridWithManagedIdentity", "properties": map[string]any{
		"storageAccountResourceIdForManagedIdentity": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a",
		"eventHubResourceIdForManagedIdentity":       "/subscriptions/s/resourceGroups/r/providers/Microsoft.EventHub/namespaces/n/eventhubs/blobs",
		"consumerGroup":                              "$Default",
		"managedIdentityResourceId":                  "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
	}})
	mp := mi["properties"].(map[string]any)
	if mi["kind"] != "EventGridWithManagedIdentity" || mp["managedIdentityObjectId"] == nil || mp["blobStorageEventType"] != "Microsoft.Storage.BlobCreated" || mp["ignoreFirstRecord"] != false {
		t.Errorf("managed-identity Event Grid connection: %v", mi)
	}
	// What the manager reports as invalid refuses the PUT too.
	f.cons.Problems = func(dc arm.DataConnectionResource) []string { return []string{"namespace 'ns' is not configured"} }
	if r := f.do(http.MethodPut, dbPath+"/dataConnections/dc2", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg9"}}); r.status != 400 || errorCode(r) != "EventHubValidationErorFound" || !strings.Contains(r.raw, "not configured") {
		t.Errorf("manager validation: %d %s", r.status, r.raw)
	}
}

func TestValidationLocationView(t *testing.T) {
	f := newFixture(t)
	f.database()
	r := f.do(http.MethodPost, dbPath+"/dataConnectionValidation", map[string]any{"dataConnectionName": "x",
		"properties": map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg", "tableName": "Missing"}}})
	if r.status != http.StatusAccepted || r.header.Get("Location") == "" || r.header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("validation POST: %d %v", r.status, r.header)
	}
	f.wait(r)
	final := f.do(http.MethodGet, strings.TrimPrefix(r.header.Get("Location"), f.srv.URL), nil)
	values, _ := final.body["value"].([]any)
	if final.status != 200 || len(values) != 1 || !strings.Contains(final.raw, "Table 'Missing' does not exist") {
		t.Errorf("validation result: %d %s", final.status, final.raw)
	}
}

func TestPrincipalAssignmentRoles(t *testing.T) {
	f := newFixture(t)
	f.database()
	pa := dbPath + "/principalAssignments/pa1"
	f.mustPut(pa, map[string]any{"properties": map[string]any{"principalId": "app1", "role": "Admin", "principalType": "App", "tenantId": "t1"}})
	f.mustPut(pa, map[string]any{"properties": map[string]any{"principalId": "app1", "role": "viewer", "principalType": "app", "tenantId": "t1"}})
	roles := f.dp.Principals("db1")
	if len(roles) != 1 || roles[0] != (arm.DatabasePrincipal{Role: "Viewer", FQN: "aadapp=app1;t1"}) {
		t.Errorf("roles after changing the assignment's role: %+v", roles)
	}
	if r := f.do(http.MethodPut, pa, map[string]any{"properties": map[string]any{"principalId": "app1", "role": "God", "principalType": "App"}}); r.status != 400 {
		t.Errorf("bad role: %d", r.status)
	}
	f.wait(f.do(http.MethodDelete, pa, nil))
	if roles := f.dp.Principals("db1"); len(roles) != 0 {
		t.Errorf("roles after delete: %+v", roles)
	}
}

// blockingDataPlane holds PutDatabase until its context ends, like an odx
// stopped in the middle of an operation.
type blockingDataPlane struct {
	*armtest.DataPlane
	entered atomic.Bool
}

func (b *blockingDataPlane) PutDatabase(ctx context.Context, db arm.DatabaseSpec) error {
	b.entered.Store(true)
	<-ctx.Done()
	return ctx.Err()
}

func TestOperationsResumeAfterRestart(t *testing.T) {
	f := newFixture(t)
	f.cluster()
	f.h.Close()
	f.srv.Close()

	blocking := &blockingDataPlane{DataPlane: f.dp}
	f.start(blocking)
	r := f.do(http.MethodPut, dbPath, map[string]any{"kind": "ReadWrite"})
	if r.status != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.status, r.raw)
	}
	for !blocking.entered.Load() {
		time.Sleep(5 * time.Millisecond)
	}
	aao, _ := url.Parse(r.header.Get("Azure-AsyncOperation"))
	running := f.do(http.MethodGet, aao.RequestURI(), nil)
	if running.body["status"] != "Running" || running.header.Get("Retry-After") != "1" {
		t.Errorf("status while running: %s, Retry-After %q", running.raw, running.header.Get("Retry-After"))
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	if lv := f.do(http.MethodGet, loc.RequestURI(), nil); lv.status != http.StatusAccepted || lv.header.Get("Location") == "" {
		t.Errorf("Location view while running: %d %v", lv.status, lv.header)
	}
	f.h.Close() // "crash" with the operation in flight
	f.srv.Close()

	f.start(f.dp) // restart: the operation resumes and finishes
	if st := f.wait(r); st["status"] != "Succeeded" {
		t.Fatalf("resumed operation: %v", st)
	}
	if _, ok, _ := f.dp.GetDatabase(context.Background(), "db1"); !ok {
		t.Error("the resumed operation did not create the database")
	}
	if got := f.do(http.MethodGet, dbPath, nil); got.body["properties"].(map[string]any)["provisioningState"] != "Succeeded" {
		t.Errorf("database after resume: %s", got.raw)
	}
}

func TestNameChecks(t *testing.T) {
	f := newFixture(t)
	f.database()
	r := f.do(http.MethodPost, sub+"/providers/Microsoft.Kusto/locations/westeurope/checkNameAvailability", map[string]any{"name": "cluster1", "type": "Microsoft.Kusto/clusters"})
	if r.body["nameAvailable"] != false || r.body["reason"] != "AlreadyExists" {
		t.Errorf("cluster name: %s", r.raw)
	}
	r = f.do(http.MethodPost, clPath+"/checkNameAvailability", map[string]any{"name": "db1", "type": "Microsoft.Kusto/clusters/databases"})
	if r.body["nameAvailable"] != false {
		t.Errorf("database name: %s", r.raw)
	}
	r = f.do(http.MethodPost, clPath+"/checkNameAvailability", map[string]any{"name": "db1", "type": "Microsoft.Kusto/clusters"})
	if r.status != 400 {
		t.Errorf("wrong type: %d %s", r.status, r.raw)
	}
	r = f.do(http.MethodGet, "/providers/Microsoft.Kusto/operations", nil)
	if r.status != 200 || !strings.Contains(r.raw, "Microsoft.Kusto/Clusters/Databases/DataConnections/write") {
		t.Errorf("operations list: %d %s", r.status, r.raw)
	}
}

func TestStartConnectionsAfterRestart(t *testing.T) {
	f := newFixture(t)
	f.database()
	f.mustPut(clPath, map[string]any{"location": "West Europe", "sku": map[string]any{"name": "x", "tier": "Basic"}, "properties": map[string]any{"enableStreamingIngest": true}})
	f.mustPut(dbPath+"/dataConnections/dc1", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg"}})
	f.h.Close()
	f.srv.Close()

	fresh := armtest.NewConnections()
	f.cons = fresh
	f.start(f.dp)
	if err := f.h.StartConnections(context.Background()); err != nil {
		t.Fatal(err)
	}
	running := fresh.Running()
	if len(running) != 1 {
		t.Fatalf("connections started after restart: %d, want 1", len(running))
	}
	for _, dc := range running {
		if dc.DatabaseName() != "db1" || dc.ConnectionName() != "dc1" || dc.EventHubID() != ehID {
			t.Errorf("started %+v", dc)
		}
		if on, err := f.h.StreamingIngestEnabled(context.Background(), dc); err != nil || !on {
			t.Errorf("StreamingIngestEnabled = %v, %v", on, err)
		}
	}
}

func TestDataPlaneOnlyDatabase(t *testing.T) {
	f := newFixture(t)
	f.cluster()
	f.dp.CreateDatabase("kqldb") // .create database kqldb
	kql := clPath + "/databases/kqldb"
	got := f.do(http.MethodGet, kql, nil)
	if got.status != 200 || got.body["name"] != "cluster1/kqldb" || got.body["kind"] != "ReadWrite" {
		t.Fatalf("GET of a data-plane database: %d %s", got.status, got.raw)
	}
	f.mustPut(kql+"/dataConnections/dc1", map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg"}})
	if len(f.cons.Running()) != 1 {
		t.Fatal("connection on a data-plane database did not start")
	}
	d := f.do(http.MethodDelete, clPath, nil)
	if st := f.wait(d); st["status"] != "Succeeded" {
		t.Fatalf("cluster delete: %v", st)
	}
	if len(f.cons.Running()) != 0 {
		t.Error("deleting the cluster left its connection running")
	}
	if _, ok, _ := f.dp.GetDatabase(context.Background(), "kqldb"); !ok {
		t.Error("deleting the cluster dropped a database ARM did not create")
	}
}

func TestStopStartAndMultiRouting(t *testing.T) {
	f := newFixture(t)
	f.database()
	st := f.do(http.MethodPost, clPath+"/stop", nil)
	if st.status != http.StatusAccepted {
		t.Fatalf("stop: %d %s", st.status, st.raw)
	}
	f.wait(st)
	if r := f.do(http.MethodGet, clPath, nil); r.body["properties"].(map[string]any)["state"] != "Stopped" {
		t.Errorf("after stop: %s", r.raw)
	}
	f.wait(f.do(http.MethodPost, clPath+"/start", nil))
	if r := f.do(http.MethodGet, clPath, nil); r.body["properties"].(map[string]any)["state"] != "Running" {
		t.Errorf("after start: %s", r.raw)
	}

	// Multi routing needs write access on the cluster, not just the database.
	f.h.Close()
	f.srv.Close()
	f.h = arm.NewHandler(arm.Options{Documents: f.docs, DataPlane: f.dp, Connections: f.cons,
		Authorize: func(r *http.Request, action, scope string) (bool, string) {
			return !strings.HasSuffix(scope, "/clusters/cluster1") || arm.IsReadAction(action), "The client 'dbonly'"
		}})
	f.srv = httptest.NewServer(f.h)
	body := map[string]any{"kind": "EventHub", "properties": map[string]any{"eventHubResourceId": ehID, "consumerGroup": "cg", "databaseRouting": "Multi"}}
	if r := f.do(http.MethodPut, dbPath+"/dataConnections/multi", body); r.status != 403 || errorCode(r) != "AuthorizationFailed" || !strings.Contains(r.raw, "Multi") {
		t.Errorf("Multi routing without cluster write: %d %s", r.status, r.raw)
	}
	body["properties"].(map[string]any)["databaseRouting"] = "Single"
	if r := f.do(http.MethodPut, dbPath+"/dataConnections/single", body); r.status != http.StatusCreated {
		t.Errorf("Single routing with database write: %d %s", r.status, r.raw)
	}
	if r := f.do(http.MethodPut, clPath, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "x", "tier": "Basic"}}); r.status != 403 || !strings.Contains(r.raw, "Microsoft.Kusto/clusters/write") {
		t.Errorf("cluster write without permission: %d %s", r.status, r.raw)
	}
}

func TestDatabaseListPages(t *testing.T) {
	f := newFixture(t)
	f.cluster()
	for i := 0; i < 12; i++ {
		f.dp.CreateDatabase(fmt.Sprintf("db%02d", i))
	}
	var names []string
	next := clPath + "/databases?$top=5"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		r := f.do(http.MethodGet, next, nil)
		for _, v := range r.body["value"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		next, _ = r.body["nextLink"].(string)
		if next != "" {
			u, _ := url.Parse(next)
			next = u.RequestURI()
		}
	}
	if len(names) != 12 || names[0] != "cluster1/db00" || names[11] != "cluster1/db11" {
		t.Errorf("paged names: %v", names)
	}
	if r := f.do(http.MethodGet, clPath+"/databases?$top=2", nil); r.status != 400 {
		t.Errorf("$top=2: %d", r.status)
	}
}
