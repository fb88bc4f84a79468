package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// A separate Kafka broker process for TestEventHubConfigBoundBroker: this
// test binary re-executed with ODX_E2E_BROKER set runs a kfake broker there
// (before TestMain, which would build odx again).
func init() {
	addr := os.Getenv("ODX_E2E_BROKER")
	if addr == "" {
		return
	}
	_, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	if _, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(p), kfake.DataDir(os.Getenv("ODX_E2E_BROKER_DIR")),
		kfake.SeedTopics(4, "orders")); err != nil {
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(2)
	}
	select {}
}

func startBroker(t *testing.T, addr, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ODX_E2E_BROKER="+addr, "ODX_E2E_BROKER_DIR="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("broker never listened on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startServerWithConfig is startServer with `--config FILE`.
func startServerWithConfig(t *testing.T, cfg string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), listen: freePort(t), mqtt: freePort(t), config: cfg}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// The CI case: kcat produces to a separate Kafka broker process that
// odx's configuration file binds to a namespace. When the broker is killed
// the connection shows Retrying with its error; when it is back, ingestion
// resumes with nothing lost or doubled.
func TestEventHubConfigBoundBroker(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	dir := t.TempDir()
	addr := freePort(t)
	broker := startBroker(t, addr, filepath.Join(dir, "broker"))
	defer func() { broker.Process.Kill(); broker.Wait() }()
	cfg := filepath.Join(dir, "odx.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("eventHubNamespaces:\n  kafka-prod:\n    kafka:\n      brokers: [%q]\n", addr)), 0o600)

	s := startServerWithConfig(t, cfg)
	cluster := ehSub + "/providers/Microsoft.Kusto/clusters/odxe2e"
	s.armPut(cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}})
	s.armPut(cluster+"/databases/Shop", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}})
	s.mgmt("Shop", ".create table Orders (Id: string, Amount: long)")
	s.armPut(cluster+"/databases/Shop/dataConnections/orders", map[string]any{"kind": "EventHub", "location": "westeurope",
		"properties": map[string]any{
			"eventHubResourceId": ehSub + "/providers/Microsoft.EventHub/namespaces/kafka-prod/eventhubs/orders",
			"consumerGroup":      "odx", "tableName": "Orders", "dataFormat": "CSV",
		}})
	kcatProduce := func(lines string) {
		t.Helper()
		cmd := exec.Command(kcat, "-b", addr, "-t", "orders", "-P")
		cmd.Stdin = strings.NewReader(lines)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
	}
	kcatProduce("o1,10\no2,20\n")
	s.waitCount("Shop", "Orders | count", 2, 30*time.Second)

	broker.Process.Kill()
	broker.Wait()
	deadline := time.Now().Add(30 * time.Second)
	var shown string
	for {
		shown = s.mgmt("Shop", ".show data connections")
		if strings.Contains(shown, `"Retrying"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Retrying state during the outage: %s", shown)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(shown, "connection refused") {
		t.Fatalf("the outage's error is not shown: %s", shown)
	}

	broker = startBroker(t, addr, filepath.Join(dir, "broker"))
	kcatProduce("o3,30\n")
	s.waitCount("Shop", "Orders | count", 3, 60*time.Second)
	time.Sleep(time.Second)
	if body := s.queryV1("Shop", "Orders | summarize n = count(), ids = dcount(Id), total = sum(Amount)"); !strings.Contains(body, "[3,3,60]") {
		t.Fatalf("after the outage: %s", body)
	}
}
