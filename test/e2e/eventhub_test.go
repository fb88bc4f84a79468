package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaAddr is the embedded event hub's address, from odx's log.
func (s *server) kafkaAddr() string {
	s.t.Helper()
	re := regexp.MustCompile(`embedded event hub ready.* kafka=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		raw, _ := os.ReadFile(s.log.Name())
		if m := re.FindSubmatch(raw); m != nil {
			return string(m[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.dumpLog()
	s.t.Fatal("odx did not log the embedded event hub's address")
	return ""
}

// armPut PUTs an ARM resource and waits for its long-running operation.
func (s *server) armPut(path string, body any) {
	s.t.Helper()
	tok := s.token(s.creds.ClientID, s.creds.ClientSecret, "https://management.azure.com/.default")
	b, _ := json.Marshal(body)
	resp, out := s.do("PUT", path+"?api-version=2024-04-13", string(b), tok)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, out)
	}
	op := resp.Header.Get("Azure-AsyncOperation")
	if op == "" {
		return
	}
	u, _ := url.Parse(op)
	for range 600 {
		_, st := s.do("GET", u.RequestURI(), "", tok)
		if !strings.Contains(st, `"Running"`) {
			if !strings.Contains(st, `"Succeeded"`) {
				s.t.Fatalf("PUT %s: operation %s", path, st)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("PUT %s: operation did not finish", path)
}

// count runs `T | count` and returns the number.
func (s *server) count(db, q string) int {
	s.t.Helper()
	body := s.queryV1(db, q)
	m := regexp.MustCompile(`"Rows":\[\[(\d+)`).FindStringSubmatch(body)
	if m == nil {
		s.t.Fatalf("%s: no count in %s", q, body)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func (s *server) waitCount(db, q string, want int, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := s.count(db, q)
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			s.dumpLog()
			s.t.Fatalf("%s: %d, want %d after %v", q, n, want, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

const ehSub = "/subscriptions/00000000-0000-0000-0000-0000000000e1/resourceGroups/rg"

// createWeatherConnection makes cluster, database, table and an Event Hub
// data connection (CSV, system properties) through ARM and the data plane.
func createWeatherConnection(s *server) {
	cluster := ehSub + "/providers/Microsoft.Kusto/clusters/odxe2e"
	s.armPut(cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}})
	s.armPut(cluster+"/databases/Metrics", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}})
	s.mgmt("Metrics", ".create table Weather (Enqueued: datetime, Station: string, Id: long, Temp: long)")
	s.armPut(cluster+"/databases/Metrics/dataConnections/weather", map[string]any{"kind": "EventHub", "location": "westeurope",
		"properties": map[string]any{
			"eventHubResourceId":    ehSub + "/providers/Microsoft.EventHub/namespaces/devns/eventhubs/weather",
			"consumerGroup":         "$Default",
			"tableName":             "Weather",
			"dataFormat":            "CSV",
			"eventSystemProperties": []string{"x-opt-enqueued-time"},
		}})
}

// The binary: a connection made through ARM ingests what kcat produces to
// the embedded hub; `.show data connections` and /metrics show it.
func TestEventHubConnection(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	s := startServer(t, "")
	createWeatherConnection(s)
	cmd := exec.Command(kcat, "-b", s.kafkaAddr(), "-t", "weather", "-P")
	cmd.Stdin = strings.NewReader("oslo,1,3\nbergen,2,7\ntromso,3,-4\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	s.waitCount("Metrics", "Weather | count", 3, 30*time.Second)
	if body := s.queryV1("Metrics", "Weather | where Station == 'tromso' | project Temp, ok = Enqueued > ago(1h)"); !strings.Contains(body, "[-4,true]") {
		t.Fatalf("row values: %s", body)
	}
	if body := s.mgmt("Metrics", ".show data connections"); !strings.Contains(body, `"Running"`) || !strings.Contains(body, `"weather"`) {
		t.Fatalf(".show data connections: %s", body)
	}
	resp, metrics := s.do("GET", "/metrics", "", s.dataToken())
	if resp.StatusCode != 200 || !strings.Contains(metrics, `odx_data_connection_state{connection="weather",database="Metrics",kind="EventHub",state="Running"} 1`) {
		t.Fatalf("/metrics (%d) lacks the connection's state:\n%s", resp.StatusCode, grepLines(metrics, "odx_data_connection"))
	}
}

// The crash test: N events with unique ids, odx killed with -9
// several times while it ingests, restarted: exactly N rows, N distinct ids.
func TestEventHubCrashExactlyOnce(t *testing.T) {
	const n = 20000
	s := startServer(t, "")
	createWeatherConnection(s)
	p, err := kgo.NewClient(kgo.SeedBrokers(s.kafkaAddr()), kgo.AllowAutoTopicCreation(), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		p.Produce(ctx, &kgo.Record{Topic: "weather", Value: fmt.Appendf(nil, "st%d,%d,%d", i%50, i, i%40)}, nil)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p.Close()

	var during []int
	for range 3 {
		time.Sleep(1200 * time.Millisecond)
		during = append(during, s.count("Metrics", "Weather | count"))
		s.kill()
		s.start()
	}
	s.waitCount("Metrics", "Weather | count", n, 120*time.Second)
	time.Sleep(time.Second)
	body := s.queryV1("Metrics", "Weather | summarize rows = count(), ids = dcount(Id, 4)")
	if !strings.Contains(body, fmt.Sprintf("[%d,%d]", n, n)) {
		t.Fatalf("after 3 kill -9 (rows seen before each kill: %v): %s", during, body)
	}
	t.Logf("%d events; rows seen just before each kill -9: %v; after restarts: %d rows, %d distinct ids", n, during, n, n)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The article's flow on the binary: Debian's python3-azure SDK creates the
// cluster, database and Event Hub data connection; kcat produces CSV events
// to the embedded hub; the rows are queried back with their values.
func TestEventHubPythonArticleFlow(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	s := startServer(t, "")
	runArticleFlow(t, s, "EventHub")
	produce := exec.Command(kcat, "-b", s.kafkaAddr(), "-t", "stormevents", "-P")
	produce.Stdin = strings.NewReader("2007-01-01T00:00:00Z,2007-01-01T05:00:00Z,FLORIDA,Heavy Rain\n" +
		"2007-01-02T00:00:00Z,2007-01-02T01:30:00Z,GEORGIA,Thunderstorm Wind\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	s.waitCount("mykustodatabase", "StormEvents | count", 2, 30*time.Second)
	body := s.queryV1("mykustodatabase", "StormEvents | where State == 'GEORGIA' | project EventType, hours = (EndTime - StartTime) / 1h")
	if !strings.Contains(body, `["Thunderstorm Wind",1.5]`) {
		t.Fatalf("rows: %s", body)
	}
}

// runArticleFlow runs testdata/article_flow.py: Debian's python3-azure SDK
// makes the cluster, the database, the StormEvents table with its CSV mapping,
// and a data connection of the given kind (EventHub or IotHub), as
// data-connection-python.md does.
func runArticleFlow(t *testing.T, s *server, kind string) {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import azure.mgmt.kusto, azure.identity").Run(); err != nil {
		t.Skip("Debian's python3-azure is not installed: apt-get install -y python3-azure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "testdata/article_flow.py")
	cmd.Env = append(os.Environ(), "ODX_URL="+s.url, "ODX_TENANT="+s.creds.TenantID, "ODX_CLIENT_ID="+s.creds.ClientID,
		"ODX_CLIENT_SECRET="+s.creds.ClientSecret, "ODX_SUBSCRIPTION=00000000-0000-0000-0000-0000000000e2",
		"REQUESTS_CA_BUNDLE="+s.creds.CAFile, "ODX_CONNECTION_KIND="+kind)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "OK") {
		s.dumpLog()
		t.Fatalf("article_flow.py (%s): %v\n%s", kind, err, out)
	}
}
