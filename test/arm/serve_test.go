package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/kusto/armkusto"

	"odx/internal/auth"
	"odx/internal/testutil/odxproc"
)

var (
	binDir   string
	buildOne sync.Once
	binPath  string
	buildErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// odxBinary builds cmd/odx once per test run.
func odxBinary(t *testing.T) string {
	t.Helper()
	buildOne.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "odx-arm-bin"); buildErr == nil {
			binPath, buildErr = odxproc.Build(binDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// odxServe is one running `odx serve`, with the SDK plumbing of these tests.
type odxServe struct{ *odxproc.Server }

func startServe(t *testing.T, dir string) *odxServe {
	t.Helper()
	s := odxproc.New(t, odxBinary(t), dir)
	s.Start()
	t.Cleanup(s.Stop)
	return &odxServe{s}
}

func (s *odxServe) env() []string {
	return append(os.Environ(),
		"ODX_URL="+s.URL, "ODX_TENANT="+s.Creds.TenantID, "ODX_CLIENT_ID="+s.Creds.ClientID,
		"ODX_CLIENT_SECRET="+s.Creds.ClientSecret, "ODX_SUBSCRIPTION="+subscription,
		"REQUESTS_CA_BUNDLE="+s.Creds.CAFile, "NODE_EXTRA_CA_CERTS="+s.Creds.CAFile, "ODX_DATA_PLANE_SETUP=1")
}

func (s *odxServe) credential() (azcore.TokenCredential, cloud.Configuration) {
	cfg := cloud.Configuration{
		ActiveDirectoryAuthorityHost: s.URL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: s.URL, Audience: "https://management.azure.com"},
		},
	}
	cred, err := azidentity.NewClientSecretCredential(s.Creds.TenantID, s.Creds.ClientID, s.Creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: s.Client}, DisableInstanceDiscovery: true})
	if err != nil {
		s.T.Fatal(err)
	}
	return cred, cfg
}

// mgmt runs a Kusto management command on odx's data plane.
func (s *odxServe) mgmt(ctx context.Context, cred azcore.TokenCredential, db, csl string) {
	s.T.Helper()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.Creds.DataEndpoint + "/.default"}})
	if err != nil {
		s.T.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"db": db, "csl": csl})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.Creds.DataEndpoint+"/v1/rest/mgmt", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e bytes.Buffer
		e.ReadFrom(resp.Body)
		s.T.Fatalf("%s: %d %s", csl, resp.StatusCode, e.String())
	}
}

// TestAgainstOdxServe runs the three SDK flows against a real `odx serve`
// (DuckDB storage, odx's data plane, odx's token endpoint), makes the tables
// and mappings through the data plane, and checks that the resources survive
// a restart of the process.
func TestAgainstOdxServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs odx serve")
	}
	s := startServe(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The article's prerequisite: an IoT hub with the shared access policy
	// its IotHub connection names ("iothubforread"), allowed to read.
	if out, err := exec.Command(odxBinary(t), "iot", "policy", "add", "--data", s.DataDir, "--hub", "hub1",
		"--name", "iothubforread", "--rights", "ServiceConnect").CombinedOutput(); err != nil {
		t.Fatalf("odx iot policy add: %v\n%s", err, out)
	}
	// A Reader for the flows' 403 step.
	readerID, readerSecret, err := auth.AddPrincipal(s.DataDir, "flow-reader", []string{auth.RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	readerEnv := []string{"ODX_READER_ID=" + readerID, "ODX_READER_SECRET=" + readerSecret}

	t.Run("python", func(t *testing.T) {
		if err := exec.Command(debianPython, "-c", "import azure.mgmt.kusto, azure.identity, adal").Run(); err != nil {
			t.Skip("Debian's python3-azure is not installed")
		}
		cmd := exec.CommandContext(ctx, debianPython, "testdata/seed_flow.py")
		cmd.Env = append(s.env(), readerEnv...)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
			t.Fatalf("seed_flow.py: %v\n%s", err, out)
		}
	})
	t.Run("node", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join("node", "node_modules", "@azure", "arm-kusto")); err != nil {
			t.Skip("test/arm/node has no node_modules (TestNodeFlow installs them)")
		}
		cmd := exec.CommandContext(ctx, "node", "flow.mjs")
		cmd.Dir, cmd.Env = "node", append(s.env(), readerEnv...)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
			t.Fatalf("flow.mjs: %v\n%s", err, out)
		}
	})

	// Go: cluster, database, table and mapping, a connection; then a restart.
	cred, cfg := s.credential()
	f, err := armkusto.NewClientFactory(subscription, cred, &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: s.Client}})
	if err != nil {
		t.Fatal(err)
	}
	const goCluster, goDB = "gocluster", "godb"
	cp, err := f.NewClustersClient().BeginCreateOrUpdate(ctx, rg, goCluster, armkusto.Cluster{Location: to.Ptr("westeurope"),
		SKU: &armkusto.AzureSKU{Name: to.Ptr(armkusto.AzureSKUNameDevNoSLAStandardE2AV4), Tier: to.Ptr(armkusto.AzureSKUTierBasic)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	dp, err := f.NewDatabasesClient().BeginCreateOrUpdate(ctx, rg, goCluster, goDB, &armkusto.ReadWriteDatabase{Kind: to.Ptr(armkusto.KindReadWrite),
		Properties: &armkusto.ReadWriteDatabaseProperties{SoftDeletePeriod: to.Ptr("P30D"), HotCachePeriod: to.Ptr("P7D")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	// The ARM database is the data plane's: KQL commands run in it.
	s.mgmt(ctx, cred, goDB, ".create table Events (Timestamp: datetime, Message: string)")
	s.mgmt(ctx, cred, goDB, `.create table Events ingestion json mapping 'EventsMapping' '[{"column":"Timestamp","path":"$.ts"},{"column":"Message","path":"$.msg"}]'`)
	// A database made with .create database shows up in ARM.
	s.mgmt(ctx, cred, "NetDefaultDB", ".create database kqlmade")
	if _, err := f.NewDatabasesClient().Get(ctx, rg, goCluster, "kqlmade", nil); err != nil {
		t.Errorf(".create database kqlmade is not visible through ARM: %v", err)
	}

	dcs := f.NewDataConnectionsClient()
	eh := &armkusto.EventHubDataConnection{Kind: to.Ptr(armkusto.DataConnectionKindEventHub), Location: to.Ptr("westeurope"),
		Properties: &armkusto.EventHubConnectionProperties{EventHubResourceID: to.Ptr(ehID), ConsumerGroup: to.Ptr("$Default"),
			TableName: to.Ptr("Events"), MappingRuleName: to.Ptr("EventsMapping"), DataFormat: to.Ptr(armkusto.EventHubDataFormatJSON)}}
	p, err := dcs.BeginCreateOrUpdate(ctx, rg, goCluster, goDB, "eh1", eh, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := p.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	// The mapping is JSON: a CSV connection on it is refused, naming the problem.
	eh.Properties.DataFormat = to.Ptr(armkusto.EventHubDataFormatCSV)
	eh.Properties.ConsumerGroup = to.Ptr("other")
	if _, err := dcs.BeginCreateOrUpdate(ctx, rg, goCluster, goDB, "eh2", eh, nil); err == nil || !strings.Contains(err.Error(), "cannot read data format CSV") {
		t.Errorf("CSV connection over a JSON mapping: %v", err)
	}

	// Restart odx: everything is still there.
	s.Stop()
	s.Start()
	cred, cfg = s.credential()
	f, err = armkusto.NewClientFactory(subscription, cred, &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg, Transport: s.Client}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.NewDataConnectionsClient().Get(ctx, rg, goCluster, goDB, "eh1", nil)
	if err != nil {
		t.Fatalf("data connection after restart: %v", err)
	}
	before, _ := json.Marshal(created.DataConnectionClassification)
	after, _ := json.Marshal(got.DataConnectionClassification)
	if !bytes.Equal(before, after) {
		t.Errorf("data connection changed across the restart:\n%s\n%s", before, after)
	}
	dbAfter, err := f.NewDatabasesClient().Get(ctx, rg, goCluster, goDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rw := dbAfter.DatabaseClassification.(*armkusto.ReadWriteDatabase); *rw.Properties.SoftDeletePeriod != "P30D" || *rw.Properties.HotCachePeriod != "P7D" {
		t.Errorf("database policies after restart: %s / %s", *rw.Properties.SoftDeletePeriod, *rw.Properties.HotCachePeriod)
	}
}
