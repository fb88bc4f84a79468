package iothub_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	iotconn "odx/internal/connect/iothub"
	"odx/internal/iothub"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
	"odx/internal/testutil/cputime"
	mqbroker "odx/internal/testutil/mosquitto"
	"odx/internal/testutil/odxproc"
)

// brokerHub is the IoT hub the broker tests bind to mosquitto.
const brokerHub = "broker-hub"

// mosquitto is a Debian mosquitto broker run by a test on 127.0.0.1.
type mosquitto struct{ *mqbroker.Broker }

// startMosquitto runs mosquitto on a free port with a generated config:
// anonymous clients, no persistence, unlimited queues for absent sessions
// (mosquitto's default of 1000 queued messages per session would drop
// messages while odx is down). It skips the test when mosquitto is not
// installed outside CI.
func startMosquitto(t *testing.T) *mosquitto { return startMosquittoWith(t, "allow_anonymous true\n") }

// startMosquittoWith runs mosquitto with extra config lines for its listener.
func startMosquittoWith(t *testing.T, extra string) *mosquitto {
	t.Helper()
	bin := mqbroker.Binary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto is not installed (.ci/run installs the Debian package)")
		}
		t.Skip("mosquitto is not installed (apt-get install -y mosquitto)")
	}
	return &mosquitto{mqbroker.Start(t, bin, extra+"max_queued_messages 0\n")}
}

// publisher connects a paho MQTT 3.1.1 client (as device SDKs speak) to the broker.
func (m *mosquitto) publisher(t *testing.T, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + m.Addr).SetClientID(id).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tk := c.Connect(); !tk.WaitTimeout(10*time.Second) || tk.Error() != nil {
		t.Fatalf("connecting to mosquitto: %v", tk.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func publish(t *testing.T, c paho.Client, topic, body string) {
	t.Helper()
	if tk := c.Publish(topic, 1, false, body); !tk.WaitTimeout(10*time.Second) || tk.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tk.Error())
	}
}

// waitReading publishes probe messages (routed to the table Probe) until
// one is ingested by each of groups connections: their shared
// subscriptions are then in place (the broker drops messages no
// subscriber takes).
func (n *node) waitReading(t *testing.T, c paho.Client, dev string, groups int) {
	t.Helper()
	if err := n.table("Plant", "Probe", telemetry); err != nil { // the connection prepends the system properties
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		publish(t, c, "devices/"+dev+"/messages/events/Table=Probe&%24.mid=probe-"+strconv.Itoa(i), "probe,"+strconv.Itoa(i))
		for until := time.Now().Add(300 * time.Millisecond); time.Now().Before(until); time.Sleep(30 * time.Millisecond) {
			rows, _ := n.rows("Plant", "Probe", `"MessageId"`)
			perProbe := map[any]int{}
			for _, r := range rows {
				if perProbe[r[2]]++; perProbe[r[2]] == groups {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the IotHub connections did not read the MQTT broker within 30s")
		}
	}
}

// A hub bound to mosquitto: a paho client and Debian's mosquitto_pub
// publish in IoT Hub's topic layout; rows arrive with the IoT system
// properties (device id from the topic, enqueued time = receive time,
// message id from the property bag), routing by application properties
// applies, and a second consumer group reads every message too.
func TestMQTTBrokerHubIntoDuckDB(t *testing.T) {
	mq := startMosquitto(t)
	dir := t.TempDir()
	n, err := startNode(t, dir, "127.0.0.1:0", "127.0.0.1:0",
		map[string]iotconn.BoundHub{brokerHub: {Broker: &iothub.Broker{Address: mq.Addr}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	for _, tbl := range []string{"Telemetry", "Audit"} {
		if err := n.table("Plant", tbl, telemetry); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.table("Plant", "Alerts", []schema.Column{{Name: "Sensor", Type: types.String}, {Name: "Level", Type: types.Long}}); err != nil {
		t.Fatal(err)
	}
	s := connSpec("plant", brokerHub)
	if p := n.m.Validate(t.Context(), s); len(p) > 0 {
		t.Fatal(p)
	}
	if err := n.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	// Another consumer group, its own shared subscription: all messages again.
	audit := connSpec("audit", brokerHub)
	audit.ConsumerGroup, audit.Table = "audit", "Audit"
	if err := n.m.Apply(t.Context(), audit); err != nil {
		t.Fatal(err)
	}
	dev := mq.publisher(t, "press-1")
	n.waitReading(t, dev, "press-1", 2)

	before := time.Now()
	publish(t, dev, "devices/press-1/messages/events/%24.mid=m1", "rpm,1200")
	publish(t, dev, "devices/press-1/messages/events/%24.mid=m2&%24.ct=text%2Fcsv", "temp,71")
	publish(t, dev, "devices/press-1/messages/events/Table=Alerts&Format=json&%24.mid=m3", `{"Sensor":"temp","Level":2}`)
	want := 2
	if bin, err := exec.LookPath("mosquitto_pub"); err == nil {
		host, port, _ := net.SplitHostPort(mq.Addr)
		out, err := exec.Command(bin, "-h", host, "-p", port, "-V", "mqttv5", "-q", "1", "-i", "mq-1",
			"-t", "devices/mq-1/messages/events/%24.mid=q1", "-m", "hum,40").CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
		want++
	} else if os.Getenv("CI") != "" {
		t.Fatal("mosquitto_pub is not installed")
	}

	wantRows := map[string][]any{"m1": {"press-1", "rpm", int64(1200)}, "m2": {"press-1", "temp", int64(71)}, "q1": {"mq-1", "hum", int64(40)}}
	for _, tbl := range []string{"Telemetry", "Audit"} {
		rows := n.waitRows(t, "Plant", tbl, `"MessageId"`, want)
		if len(rows) != want {
			t.Fatalf("%s: rows %v", tbl, rows)
		}
		for _, r := range rows {
			w := wantRows[r[2].(string)]
			if w == nil || r[0] != w[0] || r[3] != w[1] || r[4] != w[2] {
				t.Errorf("%s: row %v, want device/sensor/value %v", tbl, r, w)
			}
			enq, ok := r[1].(time.Time)
			if !ok || enq.Before(before.Add(-time.Second)) || enq.After(time.Now()) {
				t.Errorf("%s: row %v: EnqueuedTime %v is not the time odx received it", tbl, r, r[1])
			}
		}
	}
	// Table=Alerts routes for both groups.
	alerts := n.waitRows(t, "Plant", "Alerts", `"Sensor"`, 2)
	for _, a := range alerts {
		if a[0] != "temp" || a[1] != int64(2) {
			t.Fatalf("alerts %v", alerts)
		}
	}
	var fails []storage.IngestionFailure
	fails, _ = n.store.ListFailures(t.Context(), storage.FailureFilter{Databases: []string{"Plant"}})
	if len(fails) != 0 {
		t.Fatalf("failures %+v", fails)
	}
}

// A hub on mosquitto while odx is killed with -9 twice: publishers keep
// publishing to the broker (which queues for odx's persistent sessions
// while it is down); every message the broker acknowledged ends up in the
// table, and, since each carries a message id, exactly once.
func TestMQTTBrokerCrashNoLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	mq := startMosquitto(t)
	dir := t.TempDir()
	kafkaAddr, mqttAddr := odxproc.FreePort(t), odxproc.FreePort(t)
	progress := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "progress"))
		n, _ := strconv.Atoi(string(b))
		return n
	}
	start := func() *exec.Cmd {
		os.Remove(filepath.Join(dir, "progress"))
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ODX_IOT_CRASH_DIR="+dir, "ODX_IOT_CRASH_KAFKA="+kafkaAddr,
			"ODX_IOT_CRASH_MQTT="+mqttAddr, "ODX_IOT_CRASH_BROKER="+mq.Addr)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(dir, "progress")); err == nil {
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

	// The first run creates the persistent sessions and their shared
	// subscriptions; from then on the broker queues for them.
	probe, probes := mq.publisher(t, "probe"), 0
	for deadline := time.Now().Add(30 * time.Second); progress() == 0; time.Sleep(100 * time.Millisecond) {
		publish(t, probe, fmt.Sprintf("devices/probe/messages/events/%%24.mid=p%d", probes), fmt.Sprintf("probe,%d", probes))
		probes++
		if time.Now().After(deadline) {
			t.Fatal("odx did not read the broker")
		}
	}

	const publishers = 10
	var (
		acked atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for i := range publishers {
		dev := fmt.Sprintf("dev-%02d", i)
		c := mq.publisher(t, dev)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; !stop.Load(); seq++ {
				tk := c.Publish(fmt.Sprintf("devices/%s/messages/events/%%24.mid=%s-%d", dev, dev, seq), 1, false, fmt.Sprintf("%s,%d", dev, seq))
				if !tk.WaitTimeout(10*time.Second) || tk.Error() != nil {
					t.Errorf("mosquitto did not acknowledge %s,%d: %v", dev, seq, tk.Error())
					return
				}
				acked.Add(1)
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	var atKill []int
	for range 2 {
		time.Sleep(2500 * time.Millisecond)
		atKill = append(atKill, progress())
		child.Process.Kill() // kill -9
		child.Wait()
		time.Sleep(500 * time.Millisecond) // the broker queues meanwhile
		child = start()
	}
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	total := int(acked.Load()) + probes
	t.Logf("%d publishers: %d messages acknowledged by mosquitto; rows before each kill -9: %v", publishers, total-1, atKill)

	rows := settleAndRead(t, child, dir, progress, total, 90*time.Second)
	seen := map[string]int{}
	var dup []string
	for _, r := range rows {
		id := fmt.Sprintf("%s,%d", r[0], r[1])
		if seen[id]++; seen[id] == 2 {
			dup = append(dup, id)
		}
	}
	var missing []string
	for i := range publishers {
		dev := fmt.Sprintf("dev-%02d", i)
		for seq := 0; ; seq++ {
			if seen[fmt.Sprintf("%s,%d", dev, seq)] == 0 {
				// The publisher's last message may not have been acknowledged;
				// any later one missing is a loss.
				if seen[fmt.Sprintf("%s,%d", dev, seq+1)] != 0 {
					missing = append(missing, fmt.Sprintf("%s,%d", dev, seq))
					continue
				}
				break
			}
		}
	}
	if len(rows) < total || len(missing) > 0 || len(dup) > 0 {
		t.Fatalf("%d rows for %d acknowledged messages: %d missing (e.g. %v), %d stored more than once (e.g. %v)",
			len(rows), total, len(missing), head(missing), len(dup), head(dup))
	}
	t.Logf("after 2 kill -9: %d rows, each of the %d messages mosquitto acknowledged exactly once", len(rows), total)
}

// A hub on a broker that wants TLS and a password: odx connects with the
// configured CA, username and password; with a wrong password the
// connection does not run, and says why.
func TestMQTTBrokerTLSAndPassword(t *testing.T) {
	dir := t.TempDir()
	b, err := pkiFor(dir) // the node reuses it; mosquitto serves its certificate
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", pwFile, "odx", "s3cret").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("mosquitto_passwd: %v %s", err, out)
		}
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	mq := startMosquittoWith(t, fmt.Sprintf("allow_anonymous false\npassword_file %s\ncertfile %s\nkeyfile %s\n", pwFile, b.ServerCertFile, b.ServerKeyFile))
	broker := func(pw string) *iothub.Broker {
		return &iothub.Broker{Address: mq.Addr, TLS: true, CAFile: b.CAFile, Username: "odx", Password: pw}
	}
	n, err := startNode(t, dir, "127.0.0.1:0", "127.0.0.1:0", map[string]iotconn.BoundHub{
		brokerHub: {Broker: broker("s3cret")}, "wrong-pw-hub": {Broker: broker("nope")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	if err := n.table("Plant", "Telemetry", telemetry); err != nil {
		t.Fatal(err)
	}
	if err := n.m.Apply(t.Context(), connSpec("plant", brokerHub)); err != nil {
		t.Fatal(err)
	}
	bad := connSpec("bad", "wrong-pw-hub")
	if err := n.m.Apply(t.Context(), bad); err != nil {
		t.Fatal(err)
	}

	host, port, _ := net.SplitHostPort(mq.Addr)
	pub := func(i int) error {
		out, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "--cafile", b.CAFile, "-u", "odx", "-P", "s3cret",
			"-q", "1", "-i", "tls-dev", "-t", fmt.Sprintf("devices/tls-dev/messages/events/%%24.mid=t%d", i), "-m", fmt.Sprintf("volt,%d", i)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mosquitto_pub: %v %s", err, out)
		}
		return nil
	}
	// Publish until the connection's subscription takes them (the broker
	// drops messages nobody subscribed to).
	for i, deadline := 0, time.Now().Add(30*time.Second); ; i++ {
		if err := pub(i); err != nil {
			t.Fatal(err)
		}
		if rows, _ := n.rows("Plant", "Telemetry", `"MessageId"`); len(rows) > 0 {
			if rows[0][0] != "tls-dev" || rows[0][3] != "volt" {
				t.Fatalf("row %v", rows[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message arrived over TLS with a password")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, _ := n.m.Status(bad.ID)
		if st.LastError != "" {
			if !strings.Contains(st.LastError, "wrong-pw-hub") || !strings.Contains(st.LastError, "password") {
				t.Fatalf("the connection with a wrong broker password says %q", st.LastError)
			}
			t.Logf("wrong password: %s", st.LastError)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the connection with a wrong broker password shows no error: %+v", st)
		}
	}
}

// TestBenchmarkBrokerHub: 100 devices publish at QoS 1 to mosquitto, first
// with nothing subscribed (mosquitto's own rate), then with odx reading the
// hub through its shared subscription into DuckDB: messages/s from first
// publish to all rows queryable and the p50/p99 publish→queryable latency,
// in the same run. Opt in: ODX_IOT_BENCH=1 (ODX_IOT_BENCH_MSGS per device,
// default 500).
func TestBenchmarkBrokerHub(t *testing.T) {
	if os.Getenv("ODX_IOT_BENCH") == "" {
		t.Skip("set ODX_IOT_BENCH=1 to measure")
	}
	perDevice := benchMessagesPerDevice()
	const devices = 100
	total := devices * perDevice
	mq := startMosquitto(t)
	connectDev := func(dev string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mq.Addr).SetClientID(dev).
			SetProtocolVersion(4).SetAutoReconnect(false))
		tk := c.Connect()
		if !tk.WaitTimeout(10 * time.Second) {
			return nil, context.DeadlineExceeded
		}
		return c, tk.Error()
	}
	topic := func(dev string) string { return "devices/" + dev + "/messages/events/" }
	var c0, b0 time.Duration
	pid := mq.Cmd.Process.Pid
	_, mqTook := publishLoadFrom(t, connectDev, topic, devices, perDevice, func() { c0, b0 = cputime.Process(), cputime.Of(pid) })
	mqClients, mqBroker := cputime.Process()-c0, cputime.Of(pid)-b0
	mqRate := float64(total) / mqTook.Seconds()
	t.Logf("mosquitto alone (nothing subscribed): %d devices × %d msgs published in %v = %.0f msg/s; CPU per message: broker %.0fµs, devices %.0fµs",
		devices, perDevice, mqTook.Round(time.Millisecond), mqRate, perMsg(mqBroker, total), perMsg(mqClients, total))

	n, err := startNode(t, t.TempDir(), "127.0.0.1:0", "127.0.0.1:0",
		map[string]iotconn.BoundHub{brokerHub: {Broker: &iothub.Broker{Address: mq.Addr}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	cols := append(slices.Clone(telemetry[:3]), schema.Column{Name: "Device", Type: types.String}, schema.Column{Name: "Seq", Type: types.Long}, schema.Column{Name: "Pad", Type: types.String})
	if err := n.table("Plant", "Bench", cols); err != nil {
		t.Fatal(err)
	}
	s := connSpec("bench", brokerHub)
	s.Table = "Bench"
	if err := n.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	n.waitReading(t, mq.publisher(t, "probe"), "probe", 1)

	w := n.watchQueryable("Plant", "Bench", total)
	start := time.Now()
	sentAt, pubTook := publishLoadFrom(t, connectDev, topic, devices, perDevice, func() { c0, b0 = cputime.Process(), cputime.Of(pid) })
	seenAt := w.wait(t, 120*time.Second)
	all := time.Since(start)
	odxCPU, broker := cputime.Process()-c0, cputime.Of(pid)-b0
	lat := latencies(sentAt, seenAt)
	rate := float64(total) / all.Seconds()
	t.Logf("mosquitto → odx: published in %v; all queryable after %v = %.0f msg/s publish→queryable; latency (%d sampled) p50 %v p99 %v",
		pubTook.Round(time.Millisecond), all.Round(time.Millisecond), rate, len(lat),
		percentile(lat, 50).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond))
	t.Logf("ratio publish→queryable through odx / mosquitto alone: %.2f; CPU per message: broker %.0fµs, odx (bridge, connection, pipeline, DuckDB) + devices %.0fµs, of which devices ≈%.0fµs",
		rate/mqRate, perMsg(broker, total), perMsg(odxCPU, total), perMsg(mqClients, total))
}
