package iothub_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	iotconn "odx/internal/connect/iothub"
	"odx/internal/iothub"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
	"odx/internal/testutil/odxproc"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("ODX_IOT_CRASH_DIR"); dir != "" {
		crashChild(dir)
	}
	os.Exit(m.Run())
}

const crashHub = "crash-hub"

var crashTable = []schema.Column{{Name: "Device", Type: types.String}, {Name: "Seq", Type: types.Long}}

// crashChild is one odx node (event hub, IoT hub, pipeline, connection)
// serving until it is killed, or stopped with SIGTERM in the final run.
// It writes the table's row count to DIR/progress.
func crashChild(dir string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	hubName, bound := crashHub, map[string]iotconn.BoundHub(nil)
	if addr := os.Getenv("ODX_IOT_CRASH_BROKER"); addr != "" {
		// The hub's devices publish to an external MQTT broker.
		hubName, bound = brokerHub, map[string]iotconn.BoundHub{brokerHub: {Broker: &iothub.Broker{Address: addr}}}
	}
	n, err := startNode(&testing.T{}, dir, os.Getenv("ODX_IOT_CRASH_KAFKA"), os.Getenv("ODX_IOT_CRASH_MQTT"), bound)
	if err != nil {
		fail(err)
	}
	if err := n.table("Plant", "Events", crashTable); err != nil {
		fail(err)
	}
	s := connSpec("crash", hubName)
	s.Table, s.SystemProperties = "Events", nil
	if err := n.m.Apply(context.Background(), s); err != nil {
		fail(err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	for {
		select {
		case <-term:
			n.stop()
			os.Exit(0)
		case <-time.After(100 * time.Millisecond):
		}
		rows, err := n.rows("Plant", "Events", `"Seq"`)
		if err != nil {
			fail(err)
		}
		os.WriteFile(filepath.Join(dir, "progress"), []byte(strconv.Itoa(len(rows))), 0o600)
	}
}

// 100 devices publish at QoS 1 while the odx node is killed with -9 twice;
// every acknowledged message is in the table exactly once, and no message
// is there twice.
func TestCrashAcknowledgedMessagesExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	const devices = 100
	dir := t.TempDir()
	kafkaAddr, mqttAddr := odxproc.FreePort(t), odxproc.FreePort(t)
	keys, err := iothub.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.EnsureHub(crashHub); err != nil {
		t.Fatal(err)
	}
	progress := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "progress"))
		n, _ := strconv.Atoi(string(b))
		return n
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ODX_IOT_CRASH_DIR="+dir, "ODX_IOT_CRASH_KAFKA="+kafkaAddr, "ODX_IOT_CRASH_MQTT="+mqttAddr)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if c, err := net.Dial("tcp", mqttAddr); err == nil {
				c.Close()
				return cmd
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("the odx node did not start")
			}
		}
	}
	child := start()
	defer func() { child.Process.Kill(); child.Wait() }()

	// The node serves the devices (the test's node value only lends its
	// TLS and keys to the device helper).
	b, err := pkiFor(dir)
	if err != nil {
		t.Fatal(err)
	}
	clientNode := &node{tls: b, keys: keys, devices: nil}
	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		sent     atomic.Int64
		failures atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	// Each device publishes one message at a time and waits for its PUBACK.
	// After a lost connection it connects anew (clean session) and goes on
	// with new messages: nothing is resent, so a message twice in the table
	// could only come from odx.
	for i := range devices {
		dev := fmt.Sprintf("dev-%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c paho.Client
			defer func() {
				if c != nil {
					c.Disconnect(50)
				}
			}()
			for seq := 0; !stop.Load(); {
				if c == nil {
					var err error
					if c, err = clientNode.connectDevice(mqttAddr, crashHub, dev, false); err != nil {
						c = nil
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				id := fmt.Sprintf("%s,%d", dev, seq)
				seq++
				sent.Add(1)
				tk := c.Publish("devices/"+dev+"/messages/events/", 1, false, id)
				if tk.WaitTimeout(5*time.Second) && tk.Error() == nil {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				} else {
					failures.Add(1)
					c.Disconnect(0)
					c = nil
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	var atKill []int
	for range 2 {
		time.Sleep(2500 * time.Millisecond)
		atKill = append(atKill, progress())
		child.Process.Kill() // kill -9
		child.Wait()
		time.Sleep(300 * time.Millisecond)
		child = start()
	}
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	t.Logf("%d devices: %d messages sent, %d acknowledged, %d not acknowledged; rows seen before each kill -9: %v",
		devices, sent.Load(), nAcked, failures.Load(), atKill)

	rows := settleAndRead(t, child, dir, progress, nAcked, 60*time.Second)
	seen := map[string]int{}
	for _, r := range rows {
		seen[fmt.Sprintf("%s,%d", r[0], r[1])]++
	}
	var missing, dup []string
	for id := range acked {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, c := range seen {
		if c > 1 {
			dup = append(dup, id)
		}
	}
	if len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("%d acknowledged messages missing (e.g. %v), %d stored more than once (e.g. %v)", len(missing), head(missing), len(dup), head(dup))
	}
	t.Logf("after 2 kill -9: %d rows, every one of the %d acknowledged messages exactly once (%d unacknowledged messages were stored anyway)",
		len(rows), nAcked, len(rows)-nAcked)
}

func head(s []string) string {
	if len(s) > 3 {
		s = s[:3]
	}
	return strings.Join(s, " ")
}

// settleAndRead waits until progress() reports at least want rows and stays
// there for a second (timeout at most), stops the child node with SIGTERM,
// and reads Plant.Events' (Device, Seq) rows from its data directory: the
// end of every crash test, after the kills.
func settleAndRead(t *testing.T, child *exec.Cmd, dir string, progress func() int, want int, timeout time.Duration) [][]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for last, stable := -1, 0; stable < 10; time.Sleep(100 * time.Millisecond) {
		p := progress()
		if p >= want && p == last {
			stable++
		} else {
			stable = 0
		}
		last = p
		if time.Now().After(deadline) {
			t.Fatalf("the node holds %d rows, %d messages were acknowledged", p, want)
		}
	}
	child.Process.Signal(syscall.SIGTERM)
	child.Wait()
	st, err := storage.Open(context.Background(), filepath.Join(dir, "odx.duckdb"), storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := (&node{store: st}).rows("Plant", "Events", `"Device", "Seq"`)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// benchMessagesPerDevice is ODX_IOT_BENCH_MSGS (default 500). At 100
// per device the 10,000 messages took under half a second, of which the
// last batch's batching delay (200ms) was a third: a figure of the delay,
// not of throughput. 500 makes it a two-second run.
func benchMessagesPerDevice() int {
	if n, err := strconv.Atoi(os.Getenv("ODX_IOT_BENCH_MSGS")); err == nil && n > 0 {
		return n
	}
	return 500
}
