package hub_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/hub"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, listen, dir string) *hub.Hub {
	t.Helper()
	h, err := hub.Start(hub.Options{Listen: listen, DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func produce(t *testing.T, addr, topic string, values ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation(), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll reads a topic's values from the beginning until n records arrived.
func readAll(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	var out []string
	for _, r := range consumeAll(t, addr, topic, n) {
		out = append(out, string(r.Value))
	}
	return out
}

// consumeAll reads n records of a topic from the beginning with a Kafka client.
func consumeAll(t *testing.T, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			var values []string
			for _, r := range out {
				values = append(values, string(r.Value))
			}
			t.Fatalf("read %d of %d records: %v", len(out), n, values)
		}
		out = append(out, f.Records()...)
	}
	return out
}

// A producer creates an event hub on first use, with four partitions, and
// the hub listens on the configured address.
func TestAutoCreateOnProduce(t *testing.T) {
	h := start(t, "127.0.0.1:0", "")
	defer h.Close()
	if !strings.HasPrefix(h.Addr(), "127.0.0.1:") {
		t.Fatalf("addr %s", h.Addr())
	}
	if h.HighWatermarks("fresh") != nil {
		t.Fatal("hub exists before first use")
	}
	produce(t, h.Addr(), "fresh", "a", "b", "c", "d", "e")
	hw := h.HighWatermarks("fresh")
	var total int64
	for _, n := range hw {
		total += n
	}
	if len(hw) != hub.DefaultPartitions || total != 5 {
		t.Fatalf("watermarks %v, want 4 partitions holding 5 events", hw)
	}
	if err := h.CreateTopic("fresh"); err != nil {
		t.Fatalf("creating an existing hub must be a no-op: %v", err)
	}
	if err := h.CreateTopic("made"); err != nil || len(h.HighWatermarks("made")) != 4 {
		t.Fatalf("CreateTopic: %v %v", err, h.HighWatermarks("made"))
	}
}

// kcat (librdkafka) producing to a hub that does not exist yet creates it.
func TestKcatCreatesHub(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	h := start(t, "127.0.0.1:0", t.TempDir())
	defer h.Close()
	cmd := exec.Command(kcat, "-b", h.Addr(), "-t", "bykcat", "-P")
	cmd.Stdin = strings.NewReader("l1\nl2\nl3\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	hw := h.HighWatermarks("bykcat")
	var total int64
	for _, n := range hw {
		total += n
	}
	if len(hw) != 4 || total != 3 {
		t.Fatalf("watermarks %v, want 4 partitions holding 3 events", hw)
	}
}

// Events older than the retention are dropped; newer ones stay.
func TestRetention(t *testing.T) {
	h, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", Retention: 200 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	produce(t, h.Addr(), "short", "a")
	time.Sleep(500 * time.Millisecond)
	produce(t, h.Addr(), "short", "b")
	got := readAll(t, h.Addr(), "short", 1)
	if len(got) != 1 || got[0] != "b" {
		t.Fatalf("after retention: %v", got)
	}
}

// Clients are told the advertised address, and reach the hub through it.
func TestAdvertise(t *testing.T) {
	port := freePort(t)
	h, err := hub.Start(hub.Options{Listen: fmt.Sprintf("127.0.0.1:%d", port), Advertise: fmt.Sprintf("localhost:%d", port), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Addr() != fmt.Sprintf("localhost:%d", port) {
		t.Fatalf("addr %s", h.Addr())
	}
	produce(t, h.Addr(), "adv", "x")
	if got := readAll(t, fmt.Sprintf("127.0.0.1:%d", port), "adv", 1); got[0] != "x" {
		t.Fatal(got)
	}
}

// A busy --kafka-listen address is reported with what to do.
func TestListenClash(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = hub.Start(hub.Options{Listen: l.Addr().String(), Logger: quiet()})
	if err == nil || !strings.Contains(err.Error(), "--kafka-listen") {
		t.Fatalf("want a clash naming --kafka-listen, got %v", err)
	}
}

// Events survive a clean restart of the hub on its data directory.
func TestPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	h := start(t, "127.0.0.1:0", dir)
	addr := h.Addr()
	produce(t, addr, "kept", "one", "two", "three")
	h.Close()

	h = start(t, addr, dir)
	defer h.Close()
	produce(t, addr, "kept", "four")
	got := readAll(t, addr, "kept", 4)
	if len(got) != 4 {
		t.Fatalf("after restart: %v", got)
	}
}

// Events survive kill -9 of the process running the hub (writes reach the
// OS before the produce is acknowledged).
func TestPersistsAcrossKill(t *testing.T) {
	if os.Getenv("ODX_HUB_CHILD") != "" {
		return // the child's side is TestMain's
	}
	dir := t.TempDir()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ODX_HUB_CHILD="+addr, "ODX_HUB_DIR="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, addr)
	values := make([]string, 50)
	for i := range values {
		values[i] = fmt.Sprintf("event-%d", i)
	}
	produce(t, addr, "crash", values...)
	cmd.Process.Kill() // SIGKILL: no shutdown hook runs
	cmd.Wait()

	h := start(t, addr, dir)
	defer h.Close()
	got := readAll(t, addr, "crash", len(values))
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, v := range values {
		if !seen[v] {
			t.Fatalf("%s lost after kill -9 (have %d of %d)", v, len(got), len(values))
		}
	}
}

func TestMain(m *testing.M) {
	if addr := os.Getenv("ODX_HUB_CHILD"); addr != "" {
		h, err := hub.Start(hub.Options{Listen: addr, DataDir: os.Getenv("ODX_HUB_DIR"), Logger: quiet()})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_ = h
		select {} // until killed
	}
	os.Exit(m.Run())
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("child hub never listened on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
