// Package eventgrid_test drives Event Grid data connections end to end on
// the real `odx serve` binary: the connections are made with the Azure SDK
// as in the ADX article (Python azure-mgmt-kusto), blobs live in Azurite
// (bound to a storage account in odx's config file), the notifications
// Event Grid would deliver are produced to odx's embedded event hub, and
// rows are read back through the Kusto data plane.
package eventgrid_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/testutil/azurite"
	"odx/internal/testutil/odxproc"
)

// debianPython is Debian's interpreter, the one that sees python3-azure.
const debianPython = "/usr/bin/python3"

const (
	subscription = "00000000-0000-0000-0000-0000000000e6"
	database     = "landing" // made by testdata/create_connections.py
	account      = "landingacct"
)

var odxBinary string

func TestMain(m *testing.M) {
	code := odxproc.RunWithBinary(m, &odxBinary)
	azurite.StopShared()
	os.Exit(code)
}

// stack is one odx serve whose config binds account to Azurite.
type stack struct {
	t       *testing.T
	odx     *odxproc.Server
	blobEP  string // Azurite's development account endpoint
	blobURL func(container, name string) string
	prod    *kgo.Client // produces notifications to odx's embedded event hub
}

func startStack(t *testing.T) *stack {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import azure.mgmt.kusto, azure.identity, requests").Run(); err != nil {
		t.Fatal("Debian's python3-azure is required (apt-get install -y python3-azure; .ci/run installs it)")
	}
	ep := azurite.Shared(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "odx.yaml")
	yaml := fmt.Sprintf("storageAccounts:\n  %s:\n    blobEndpoint: %s\n    accountKey: %q\n", account, ep, azurite.Key)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := odxproc.New(t, odxBinary, filepath.Join(dir, "data"))
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.Config = cfg
	s.KafkaListen = odxproc.FreePort(t) // the producer keeps its broker across restarts
	s.Start()
	t.Cleanup(s.Stop)
	prod, err := kgo.NewClient(kgo.SeedBrokers(s.KafkaAddr()), kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.ProducerBatchMaxBytes(4<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &stack{t: t, odx: s, blobEP: ep, prod: prod,
		blobURL: func(container, name string) string { return ep + "/" + container + "/" + name }}
}

// createConnections runs testdata/create_connections.py: setup commands on
// the data plane, then the EventGridDataConnections through the SDK.
func (s *stack) createConnections(setup []string, env ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "testdata/create_connections.py")
	cmd.Env = append(os.Environ(),
		"ODX_URL="+s.odx.URL, "AZURE_TENANT_ID="+s.odx.Creds.TenantID, "AZURE_CLIENT_ID="+s.odx.Creds.ClientID,
		"AZURE_CLIENT_SECRET="+s.odx.Creds.ClientSecret, "ODX_DATA_ENDPOINT="+s.odx.Creds.DataEndpoint,
		"ODX_SUBSCRIPTION="+subscription, "ODX_STORAGE_ACCOUNT="+account,
		"ODX_SETUP_COMMANDS="+strings.Join(setup, "\n"), "REQUESTS_CA_BUNDLE="+s.odx.Creds.CAFile)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.odx.DumpLog()
		s.t.Fatalf("create_connections.py: %v\n%s", err, out)
	}
	return string(out)
}

// storageID is the ARM id of a storage account, as Event Grid's topic.
func storageID(acct string) string {
	return "/subscriptions/" + subscription + "/resourceGroups/testrg/providers/Microsoft.Storage/storageAccounts/" + acct
}

// blobEvent is the storage event Event Grid sends for a blob, in the Event
// Grid schema (cloud=false) or CloudEvents 1.0 (cloud=true); eventType is
// BlobCreated or BlobRenamed (whose data names the destination).
func blobEvent(cloud bool, eventType, acct, blobURL string, size int, api string) map[string]any {
	data := map[string]any{"api": api, "contentLength": size, "blobType": "BlockBlob", "contentType": "application/octet-stream",
		"eTag": "\"0x8D4BCC2E4835CD0\"", "sequencer": fmt.Sprintf("%032x", time.Now().UnixNano()),
		"requestId": "831e1650-001e-001b-66ab-eeb76e000000", "storageDiagnostics": map[string]any{"batchId": "b68529f3"}}
	if strings.HasSuffix(eventType, "BlobRenamed") {
		data["sourceUrl"], data["destinationUrl"] = blobURL+".tmp", blobURL
	} else {
		data["url"] = blobURL
	}
	rest := blobURL[strings.Index(blobURL, "/"+azurite.Account+"/")+len(azurite.Account)+2:]
	container, path, _ := strings.Cut(rest, "/")
	subject := "/blobServices/default/containers/" + container + "/blobs/" + path
	id := strconv.FormatInt(time.Now().UnixNano(), 16)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if cloud {
		return map[string]any{"source": storageID(acct), "subject": subject, "type": eventType, "time": now, "id": id,
			"data": data, "specversion": "1.0"}
	}
	return map[string]any{"topic": storageID(acct), "subject": subject, "eventType": eventType, "eventTime": now, "id": id,
		"data": data, "dataVersion": "", "metadataVersion": "1"}
}

// notify produces Event Grid notifications (an event, or an array of
// events, per message) to an event hub of odx's embedded namespace, with
// the headers Event Grid's event hub handler sets.
func (s *stack) notify(hub string, payloads ...any) {
	s.t.Helper()
	recs := make([]*kgo.Record, len(payloads))
	for i, p := range payloads {
		body, err := json.Marshal(p)
		if err != nil {
			s.t.Fatal(err)
		}
		recs[i] = &kgo.Record{Topic: hub, Value: body, Headers: []kgo.RecordHeader{
			{Key: "aeg-event-type", Value: []byte("Notification")}, {Key: "aeg-subscription-name", Value: []byte("ODXTEST")},
			{Key: "aeg-delivery-count", Value: []byte("0")}}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		s.t.Fatalf("producing notifications to %s: %v", hub, err)
	}
}

// v1 runs a query or command on the data plane and returns its first
// table's rows.
func (s *stack) v1(endpoint, csl string) [][]any {
	s.t.Helper()
	rows, _ := s.v1Table(endpoint, csl)
	return rows
}

// v1Table is v1 with the column positions by name.
func (s *stack) v1Table(endpoint, csl string) ([][]any, map[string]int) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"db": database, "csl": csl})
	req, _ := http.NewRequest(http.MethodPost, s.odx.URL+"/v1/rest/"+endpoint, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.odx.DataToken())
	resp, err := s.odx.Client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tables []struct {
			Columns []struct{ ColumnName string }
			Rows    [][]any
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Tables) == 0 {
		s.t.Fatalf("%s: HTTP %d, %v", csl, resp.StatusCode, err)
	}
	cols := map[string]int{}
	for i, c := range out.Tables[0].Columns {
		cols[c.ColumnName] = i
	}
	return out.Tables[0].Rows, cols
}

// query returns a query's rows as "v1|v2|..." lines, sorted.
func (s *stack) query(q string) []string {
	s.t.Helper()
	var lines []string
	for _, r := range s.v1("query", q) {
		parts := make([]string, len(r))
		for i, v := range r {
			parts[i] = fmt.Sprint(v)
		}
		lines = append(lines, strings.Join(parts, "|"))
	}
	sort.Strings(lines)
	return lines
}

// waitRows waits until a query returns exactly want (any order).
func (s *stack) waitRows(q string, want []string, timeout time.Duration) {
	s.t.Helper()
	sort.Strings(want)
	var got []string
	for deadline := time.Now().Add(timeout); ; time.Sleep(250 * time.Millisecond) {
		got = s.query(q)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return
		}
		if time.Now().After(deadline) {
			s.odx.DumpLog()
			s.t.Fatalf("%s after %v:\n%s\nwant:\n%s", q, timeout, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// count is the single number a `| count` query returns.
func (s *stack) count(q string) int64 {
	s.t.Helper()
	rows := s.v1("query", q)
	if len(rows) != 1 || len(rows[0]) != 1 {
		s.t.Fatalf("%s: %v", q, rows)
	}
	n, _ := rows[0][0].(float64)
	return int64(n)
}
