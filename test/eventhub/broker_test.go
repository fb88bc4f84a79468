package eventhub_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"odx/internal/config"
	"odx/internal/connect"
	"odx/internal/connect/eventhub"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// brokerChild runs a standalone kfake broker (a separate process, as a
// Kafka or Event Hubs namespace would be) until it is killed.
func brokerChild(addr, dir string) {
	_, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(p), kfake.DataDir(dir), kfake.SeedTopics(4, "orders"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(2)
	}
	_ = c
	select {}
}

func startBrokerProcess(t *testing.T, addr, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ODX_BROKER_CHILD="+addr, "ODX_BROKER_DIR="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("broker process never listened on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A namespace bound in the configuration file to a separate Kafka broker
// process: kcat produces to it, rows arrive; the broker is killed and
// restarted, the connection shows Retrying with the error meanwhile, and
// ingestion resumes with nothing lost or doubled.
func TestConfigBoundBrokerProcess(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	dir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	broker := startBrokerProcess(t, addr, filepath.Join(dir, "broker"))
	defer func() { broker.Process.Kill(); broker.Wait() }()

	cfgPath := filepath.Join(dir, "odx.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("eventHubNamespaces:\n  kafka-prod:\n    kafka:\n      brokers: [%q]\n", addr)), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// What the composition root does with the file (internal/app/dataconnections.go).
	namespaces := map[string]eventhub.Endpoint{}
	for name, ns := range cfg.EventHubNamespaces {
		namespaces[name] = eventhub.Endpoint{Brokers: ns.Kafka.Brokers, TLS: ns.Kafka.TLS, CAFile: ns.Kafka.CAFile}
	}

	h := startTestHub(t)
	n := startNodeWith(t, filepath.Join(dir, "odx.duckdb"), eventhub.Options{Namespaces: namespaces,
		Embedded: &eventhub.Endpoint{Brokers: []string{h.Addr()}, CreateTopics: true}})
	n.table("Metrics", "Orders", []schema.Column{{Name: "Id", Type: types.String}, {Name: "Amount", Type: types.Long}})
	s := connSpec("orders", "orders")
	s.Source = sub + "/Microsoft.EventHub/namespaces/kafka-prod/eventhubs/orders"
	s.Table, s.SystemProperties = "Orders", nil
	if p := n.m.Validate(t.Context(), s); len(p) > 0 {
		t.Fatal(p)
	}
	unbound := s
	unbound.Source = sub + "/Microsoft.EventHub/namespaces/elsewhere/eventhubs/orders"
	if p := n.m.Validate(t.Context(), unbound); len(p) != 0 {
		t.Fatalf("an unbound namespace goes to the embedded hub: %v", p)
	}
	if err := n.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	kcatProduce := func(lines ...string) {
		t.Helper()
		cmd := exec.Command(kcat, "-b", addr, "-t", "orders", "-P")
		cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
	}
	kcatProduce("o1,10", "o2,20", "o3,30")
	n.waitRows("Metrics", "Orders", `"Id"`, 3)

	broker.Process.Signal(syscall.SIGKILL)
	broker.Wait()
	var st connect.Status
	deadline := time.Now().Add(30 * time.Second)
	for st.State != connect.Retrying && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		st, _ = n.m.Status(s.ID)
	}
	if st.State != connect.Retrying || !strings.Contains(st.LastError, "kafka-prod/orders") {
		t.Fatalf("during the outage: %+v", st)
	}
	broker = startBrokerProcess(t, addr, filepath.Join(dir, "broker"))
	kcatProduce("o4,40", "o5,50")
	n.waitRows("Metrics", "Orders", `"Id"`, 5)
	time.Sleep(500 * time.Millisecond)
	rows := n.rows("Metrics", "Orders", `"Id"`)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v=%v", r[0], r[1]))
	}
	if strings.Join(got, " ") != "o1=10 o2=20 o3=30 o4=40 o5=50" {
		t.Fatalf("rows after the outage: %v", got)
	}
	t.Logf("error shown during the outage: %s", st.LastError)
}
