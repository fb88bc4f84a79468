package arm_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kusto/armkusto"
)

const (
	rg      = "testrg"
	cluster = "mykustocluster"
	db      = "mykustodatabase"
	ehID    = "/subscriptions/" + subscription + "/resourceGroups/" + rg + "/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/stormevents"
	egHubID = "/subscriptions/" + subscription + "/resourceGroups/" + rg + "/providers/Microsoft.EventHub/namespaces/ns1/eventhubs/blobevents"
	saID    = "/subscriptions/" + subscription + "/resourceGroups/" + rg + "/providers/Microsoft.Storage/storageAccounts/account1"
	iotID   = "/subscriptions/" + subscription + "/resourceGroups/" + rg + "/providers/Microsoft.Devices/IotHubs/hub1"
)

var poll = &runtime.PollUntilDoneOptions{Frequency: time.Second}

func responseError(t *testing.T, err error, status int) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want an azcore.ResponseError with status %d, got %v", status, err)
	}
	if re.StatusCode != status {
		t.Fatalf("status = %d, want %d (%s: %v)", re.StatusCode, status, re.ErrorCode, err)
	}
	return re
}

// TestGoSDKFlow follows data-connection-python.md with armkusto: cluster,
// database, table and mapping (through the data plane), one connection of
// each kind, get, list, update, validation, name checks, delete, 404.
func TestGoSDKFlow(t *testing.T) {
	s := startServer(t)
	f := s.goClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	clusters, databases, dcs := f.NewClustersClient(), f.NewDatabasesClient(), f.NewDataConnectionsClient()

	// Cluster: name check, create (201 + LRO), get, list.
	nameCheck, err := clusters.CheckNameAvailability(ctx, "westeurope", armkusto.ClusterCheckNameRequest{Name: to.Ptr(cluster), Type: to.Ptr("Microsoft.Kusto/clusters")}, nil)
	if err != nil || !*nameCheck.NameAvailable {
		t.Fatalf("cluster name check before create: %+v, %v", nameCheck, err)
	}
	cp, err := clusters.BeginCreateOrUpdate(ctx, rg, cluster, armkusto.Cluster{
		Location: to.Ptr("westeurope"),
		SKU:      &armkusto.AzureSKU{Name: to.Ptr(armkusto.AzureSKUNameDevNoSLAStandardE2AV4), Tier: to.Ptr(armkusto.AzureSKUTierBasic), Capacity: to.Ptr[int32](1)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := cp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if got := *created.Properties.ProvisioningState; got != armkusto.ProvisioningStateSucceeded {
		t.Errorf("cluster provisioningState after LRO = %s", got)
	}
	if got := *created.Properties.State; got != armkusto.StateRunning {
		t.Errorf("cluster state = %s, want Running", got)
	}
	if *created.Properties.URI != s.url || *created.Properties.DataIngestionURI != s.url {
		t.Errorf("uri/dataIngestionUri = %s / %s, want odx's data plane %s", *created.Properties.URI, *created.Properties.DataIngestionURI, s.url)
	}
	wantClusterID := "/subscriptions/" + subscription + "/resourceGroups/" + rg + "/providers/Microsoft.Kusto/Clusters/" + cluster
	if *created.ID != wantClusterID || *created.Type != "Microsoft.Kusto/Clusters" || *created.Name != cluster {
		t.Errorf("cluster id/type/name = %s %s %s", *created.ID, *created.Type, *created.Name)
	}
	up, err := clusters.BeginUpdate(ctx, rg, cluster, armkusto.ClusterUpdate{Properties: &armkusto.ClusterProperties{EnableStreamingIngest: to.Ptr(true)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := up.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if !*updated.Properties.EnableStreamingIngest || *updated.Location != "westeurope" {
		t.Errorf("PATCH enableStreamingIngest: got %v in %s", *updated.Properties.EnableStreamingIngest, *updated.Location)
	}
	countClusters := func(pager *runtime.Pager[armkusto.ClustersClientListByResourceGroupResponse]) int {
		n := 0
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Value)
		}
		return n
	}
	if n := countClusters(clusters.NewListByResourceGroupPager(rg, nil)); n != 1 {
		t.Errorf("clusters in %s: %d, want 1", rg, n)
	}
	if n := countClusters(clusters.NewListByResourceGroupPager("otherrg", nil)); n != 0 {
		t.Errorf("clusters in otherrg: %d, want 0", n)
	}
	subPager := clusters.NewListPager(nil)
	page, err := subPager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 {
		t.Fatalf("clusters of the subscription: %d, %v", len(page.Value), err)
	}
	nameCheck, err = clusters.CheckNameAvailability(ctx, "westeurope", armkusto.ClusterCheckNameRequest{Name: to.Ptr(cluster), Type: to.Ptr("Microsoft.Kusto/clusters")}, nil)
	if err != nil || *nameCheck.NameAvailable || *nameCheck.Reason != armkusto.ReasonAlreadyExists {
		t.Fatalf("cluster name check after create: %+v, %v", nameCheck, err)
	}

	// Database: create with retention and caching, which become data-plane policies.
	dp, err := databases.BeginCreateOrUpdate(ctx, rg, cluster, db, &armkusto.ReadWriteDatabase{
		Kind: to.Ptr(armkusto.KindReadWrite), Location: to.Ptr("westeurope"),
		Properties: &armkusto.ReadWriteDatabaseProperties{SoftDeletePeriod: to.Ptr("P365D"), HotCachePeriod: to.Ptr("P31D")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dbResp, err := dp.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	rw, ok := dbResp.DatabaseClassification.(*armkusto.ReadWriteDatabase)
	if !ok {
		t.Fatalf("database result is %T, want *ReadWriteDatabase", dbResp.DatabaseClassification)
	}
	if *rw.Name != cluster+"/"+db || *rw.Type != "Microsoft.Kusto/Clusters/Databases" || *rw.Properties.SoftDeletePeriod != "P365D" ||
		*rw.Properties.ProvisioningState != armkusto.ProvisioningStateSucceeded {
		t.Errorf("database: name %s type %s softDelete %s state %s", *rw.Name, *rw.Type, *rw.Properties.SoftDeletePeriod, *rw.Properties.ProvisioningState)
	}
	spec, ok, _ := s.dataPlane.GetDatabase(ctx, db)
	if !ok || spec.SoftDeletePeriod != 365*24*time.Hour || spec.HotCachePeriod != 31*24*time.Hour {
		t.Fatalf("data plane database after ARM create: %+v (exists %v)", spec, ok)
	}
	// A database made with .create database shows up in ARM.
	s.dataPlane.CreateDatabase("fromkql")
	var dbNames []string
	for pager := databases.NewListByClusterPager(rg, cluster, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			dbNames = append(dbNames, *d.GetDatabase().Name)
		}
	}
	if strings.Join(dbNames, ",") != cluster+"/fromkql,"+cluster+"/"+db {
		t.Errorf("databases listed: %v", dbNames)
	}
	dbCheck, err := databases.CheckNameAvailability(ctx, rg, cluster, armkusto.CheckNameRequest{Name: to.Ptr("fromkql"), Type: to.Ptr(armkusto.TypeMicrosoftKustoClustersDatabases)}, nil)
	if err != nil || *dbCheck.NameAvailable {
		t.Errorf("database name check of a data-plane database: %+v %v", dbCheck, err)
	}

	// Table and mapping, made through the data plane as the article's prerequisites.
	s.dataPlane.CreateTable(db, "StormEvents")
	s.dataPlane.CreateMapping(db, "StormEvents", "StormEvents_CSV_Mapping", "Csv")

	eh := &armkusto.EventHubDataConnection{
		Kind: to.Ptr(armkusto.DataConnectionKindEventHub), Location: to.Ptr("Central US"),
		Properties: &armkusto.EventHubConnectionProperties{
			EventHubResourceID: to.Ptr(ehID), ConsumerGroup: to.Ptr("$Default"), TableName: to.Ptr("StormEvents"),
			MappingRuleName: to.Ptr("StormEvents_CSV_Mapping"), DataFormat: to.Ptr(armkusto.EventHubDataFormatCSV),
		},
	}
	eg := &armkusto.EventGridDataConnection{
		Kind: to.Ptr(armkusto.DataConnectionKindEventGrid), Location: to.Ptr("Central US"),
		Properties: &armkusto.EventGridConnectionProperties{
			StorageAccountResourceID: to.Ptr(saID), EventHubResourceID: to.Ptr(egHubID), ConsumerGroup: to.Ptr("$Default"),
			TableName: to.Ptr("StormEvents"), MappingRuleName: to.Ptr("StormEvents_CSV_Mapping"), DataFormat: to.Ptr(armkusto.EventGridDataFormatCSV),
		},
	}
	iot := &armkusto.IotHubDataConnection{
		Kind: to.Ptr(armkusto.DataConnectionKindIotHub), Location: to.Ptr("Central US"),
		Properties: &armkusto.IotHubConnectionProperties{
			IotHubResourceID: to.Ptr(iotID), SharedAccessPolicyName: to.Ptr("iothubforread"), ConsumerGroup: to.Ptr("$Default"),
			TableName: to.Ptr("StormEvents"), MappingRuleName: to.Ptr("StormEvents_CSV_Mapping"), DataFormat: to.Ptr(armkusto.IotHubDataFormatCSV),
		},
	}
	create := func(name string, body armkusto.DataConnectionClassification) armkusto.DataConnectionClassification {
		t.Helper()
		p, err := dcs.BeginCreateOrUpdate(ctx, rg, cluster, db, name, body, nil)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		res, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return res.DataConnectionClassification
	}
	gotEH, ok := create("myeventhubconnect", eh).(*armkusto.EventHubDataConnection)
	if !ok {
		t.Fatal("EventHub create did not return *EventHubDataConnection")
	}
	p := gotEH.Properties
	if *p.ProvisioningState != armkusto.ProvisioningStateSucceeded || *p.Compression != armkusto.CompressionNone ||
		*p.DatabaseRouting != armkusto.DatabaseRoutingSingle || p.RetrievalStartDate == nil || p.EventSystemProperties == nil {
		t.Errorf("EventHub defaults: state %v compression %v routing %v retrievalStartDate %v eventSystemProperties %v",
			*p.ProvisioningState, p.Compression, p.DatabaseRouting, p.RetrievalStartDate, p.EventSystemProperties)
	}
	if *gotEH.Name != cluster+"/"+db+"/myeventhubconnect" || *gotEH.Type != "Microsoft.Kusto/Clusters/Databases/DataConnections" ||
		!strings.HasSuffix(*gotEH.ID, "/Clusters/"+cluster+"/Databases/"+db+"/DataConnections/myeventhubconnect") {
		t.Errorf("EventHub id/name/type: %s %s %s", *gotEH.ID, *gotEH.Name, *gotEH.Type)
	}
	if *gotEH.Location != "Central US" {
		t.Errorf("location = %q, want it echoed", *gotEH.Location)
	}
	if _, ok := create("myeventgridconnect", eg).(*armkusto.EventGridDataConnection); !ok {
		t.Fatal("EventGrid create did not return *EventGridDataConnection")
	}
	gotIot, ok := create("myiothubconnect", iot).(*armkusto.IotHubDataConnection)
	if !ok || *gotIot.Properties.SharedAccessPolicyName != "iothubforread" {
		t.Fatalf("IotHub create: %T", gotIot)
	}
	if n := len(s.conns.Running()); n != 3 {
		t.Errorf("connection manager runs %d connections, want 3", n)
	}

	// Get and list keep each kind.
	got, err := dcs.Get(ctx, rg, cluster, db, "myeventgridconnect", nil)
	if err != nil {
		t.Fatal(err)
	}
	if egGot, ok := got.DataConnectionClassification.(*armkusto.EventGridDataConnection); !ok || *egGot.Properties.StorageAccountResourceID != saID {
		t.Errorf("get EventGrid: %T", got.DataConnectionClassification)
	}
	kinds := map[string]bool{}
	for pager := dcs.NewListByDatabasePager(rg, cluster, db, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Value {
			kinds[string(*c.GetDataConnection().Kind)] = true
		}
	}
	if len(kinds) != 3 || !kinds["EventHub"] || !kinds["EventGrid"] || !kinds["IotHub"] {
		t.Errorf("listed kinds: %v", kinds)
	}

	// Update restarts the connection with the new definition.
	applied := s.conns.Applied()
	eh.Properties.ConsumerGroup = to.Ptr("cg2")
	upd, err := dcs.BeginUpdate(ctx, rg, cluster, db, "myeventhubconnect", eh, nil)
	if err != nil {
		t.Fatal(err)
	}
	updRes, err := upd.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if c := updRes.DataConnectionClassification.(*armkusto.EventHubDataConnection); *c.Properties.ConsumerGroup != "cg2" ||
		*c.Properties.RetrievalStartDate != *p.RetrievalStartDate {
		t.Errorf("after update: consumer group %s, retrievalStartDate %v (was %v)", *c.Properties.ConsumerGroup, *c.Properties.RetrievalStartDate, *p.RetrievalStartDate)
	}
	if s.conns.Applied() != applied+1 {
		t.Errorf("update did not restart the connection")
	}

	// Validation: a good definition has no messages, a bad one says what is wrong.
	validate := func(body armkusto.DataConnectionClassification) []string {
		t.Helper()
		vp, err := dcs.BeginDataConnectionValidation(ctx, rg, cluster, db, armkusto.DataConnectionValidation{DataConnectionName: to.Ptr("probe"), Properties: body}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := vp.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, v := range res.Value {
			msgs = append(msgs, *v.ErrorMessage)
		}
		return msgs
	}
	good := *eh
	good.Properties = &armkusto.EventHubConnectionProperties{EventHubResourceID: to.Ptr(ehID), ConsumerGroup: to.Ptr("probe-cg"),
		TableName: to.Ptr("StormEvents"), MappingRuleName: to.Ptr("StormEvents_CSV_Mapping"), DataFormat: to.Ptr(armkusto.EventHubDataFormatCSV)}
	if msgs := validate(&good); len(msgs) != 0 {
		t.Errorf("validation of a good definition: %v", msgs)
	}
	bad := good
	bad.Properties = &armkusto.EventHubConnectionProperties{EventHubResourceID: to.Ptr(ehID), ConsumerGroup: to.Ptr("cg2"),
		TableName: to.Ptr("NoSuchTable"), MappingRuleName: to.Ptr("StormEvents_CSV_Mapping"), DataFormat: to.Ptr(armkusto.EventHubDataFormatJSON)}
	msgs := validate(&bad)
	joined := strings.Join(msgs, "\n")
	if !strings.Contains(joined, "Table 'NoSuchTable' does not exist") || !strings.Contains(joined, "already used by data connection 'myeventhubconnect'") {
		t.Errorf("validation of a bad definition: %v", msgs)
	}

	// PUT refuses the same bad definitions in ARM's error envelope.
	_, err = dcs.BeginCreateOrUpdate(ctx, rg, cluster, db, "badconn", &bad, nil)
	re := responseError(t, err, http.StatusBadRequest)
	if re.ErrorCode != "EventHubValidationErorFound" || !strings.Contains(err.Error(), "NoSuchTable") {
		t.Errorf("PUT with a missing table: code %s, %v", re.ErrorCode, err)
	}
	missingHub := &armkusto.EventHubDataConnection{Kind: to.Ptr(armkusto.DataConnectionKindEventHub),
		Properties: &armkusto.EventHubConnectionProperties{ConsumerGroup: to.Ptr("$Default")}}
	_, err = dcs.BeginCreateOrUpdate(ctx, rg, cluster, db, "badconn", missingHub, nil)
	if responseError(t, err, http.StatusBadRequest); !strings.Contains(err.Error(), "properties.eventHubResourceId") {
		t.Errorf("PUT without eventHubResourceId: %v", err)
	}
	badFormat := &armkusto.EventHubDataConnection{Kind: to.Ptr(armkusto.DataConnectionKindEventHub),
		Properties: &armkusto.EventHubConnectionProperties{EventHubResourceID: to.Ptr(ehID), ConsumerGroup: to.Ptr("x"), DataFormat: to.Ptr(armkusto.EventHubDataFormat("XML"))}}
	_, err = dcs.BeginCreateOrUpdate(ctx, rg, cluster, db, "badconn", badFormat, nil)
	if responseError(t, err, http.StatusBadRequest); !strings.Contains(err.Error(), "dataFormat 'XML'") {
		t.Errorf("PUT with dataFormat XML: %v", err)
	}

	// Name check for data connections.
	dcCheck := func(name string) armkusto.DataConnectionsClientCheckNameAvailabilityResponse {
		res, err := dcs.CheckNameAvailability(ctx, rg, cluster, db, armkusto.DataConnectionCheckNameRequest{Name: to.Ptr(name), Type: to.Ptr("Microsoft.Kusto/clusters/databases/dataConnections")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if r := dcCheck("myeventhubconnect"); *r.NameAvailable || *r.Reason != armkusto.ReasonAlreadyExists {
		t.Errorf("name check of an existing connection: %+v", r)
	}
	if r := dcCheck("fresh-name"); !*r.NameAvailable {
		t.Errorf("name check of a free name: %+v", r)
	}
	if r := dcCheck("bad/name!"); *r.NameAvailable || *r.Reason != armkusto.ReasonInvalid {
		t.Errorf("name check of an invalid name: %+v", r)
	}

	// Principal assignment -> data-plane database role.
	pas := f.NewDatabasePrincipalAssignmentsClient()
	pap, err := pas.BeginCreateOrUpdate(ctx, rg, cluster, db, "viewer1", armkusto.DatabasePrincipalAssignment{Properties: &armkusto.DatabasePrincipalProperties{
		PrincipalID: to.Ptr("11111111-2222-3333-4444-555555555555"), Role: to.Ptr(armkusto.DatabasePrincipalRoleViewer),
		PrincipalType: to.Ptr(armkusto.PrincipalTypeApp), TenantID: to.Ptr(s.creds.TenantID)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pap.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	roles := s.dataPlane.Principals(db)
	if len(roles) != 1 || roles[0].Role != "Viewer" || roles[0].FQN != "aadapp=11111111-2222-3333-4444-555555555555;"+s.creds.TenantID {
		t.Errorf("data-plane roles after principal assignment: %+v", roles)
	}

	// Delete a connection: it stops, and GET answers 404.
	delp, err := dcs.BeginDelete(ctx, rg, cluster, db, "myiothubconnect", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := delp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	_, err = dcs.Get(ctx, rg, cluster, db, "myiothubconnect", nil)
	responseError(t, err, http.StatusNotFound)
	if n := len(s.conns.Running()); n != 2 {
		t.Errorf("connection manager runs %d connections after delete, want 2", n)
	}
	_, err = databases.Get(ctx, rg, cluster, "nosuchdb", nil)
	responseError(t, err, http.StatusNotFound)
	_, err = clusters.Get(ctx, rg, "nosuchcluster", nil)
	responseError(t, err, http.StatusNotFound)

	// Deleting the database drops it from the data plane and stops its connections.
	ddp, err := databases.BeginDelete(ctx, rg, cluster, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.dataPlane.GetDatabase(ctx, db); ok {
		t.Error("database still in the data plane after ARM delete")
	}
	if n := len(s.conns.Running()); n != 0 {
		t.Errorf("connections still running after the database was deleted: %d", n)
	}
	cdp, err := clusters.BeginDelete(ctx, rg, cluster, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cdp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	_, err = clusters.Get(ctx, rg, cluster, nil)
	responseError(t, err, http.StatusNotFound)
	if _, ok, _ := s.dataPlane.GetDatabase(ctx, "fromkql"); !ok {
		t.Error("deleting the cluster dropped a database ARM did not create")
	}
}
