package iothub_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"odx/internal/gcpolicy"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/testutil/cputime"
	mqbroker "odx/internal/testutil/mosquitto"
	"odx/internal/testutil/profile"
)

// publishLoadFrom has devices publish perDevice messages each at QoS 1,
// one at a time per device (as device SDKs do by default), calling started
// once the devices are connected, just before the first publish. It
// returns the publish time of every message by "device,seq".
func publishLoadFrom(t *testing.T, connect func(dev string) (paho.Client, error), topic func(dev string) string, devices, perDevice int, started func()) (map[string]time.Time, time.Duration) {
	t.Helper()
	clients := make([]paho.Client, devices)
	for i := range clients {
		c, err := connect(fmt.Sprintf("bench-%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
		defer c.Disconnect(50)
	}
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	var wg sync.WaitGroup
	if started != nil {
		started()
	}
	start := time.Now()
	for i, c := range clients {
		dev := fmt.Sprintf("bench-%03d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range perDevice {
				id := dev + "," + strconv.Itoa(seq)
				at := time.Now()
				tk := c.Publish(topic(dev), 1, false, id+","+strings.Repeat("x", 200))
				if !tk.WaitTimeout(30*time.Second) || tk.Error() != nil {
					t.Errorf("publish %s: %v", id, tk.Error())
					return
				}
				mu.Lock()
				sentAt[id] = at
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return sentAt, time.Since(start)
}

// watcher polls a table every 20ms for its row count and for the sampled
// messages (Seq a multiple of 10), whose first sighting is when they
// became queryable. Sampling, and reading only the rows appended since the
// last poll (by rowid: the table's commits are serialised, so rowids grow
// with them), keep the watcher from loading the machine, whose CPU counts
// as odx's.
type watcher struct {
	seenAt  map[string]time.Time
	stop    chan struct{}
	watched chan struct{}
}

func (n *node) watchQueryable(db, table string, total int) *watcher {
	const sampleEvery = 10
	w := &watcher{seenAt: map[string]time.Time{}, stop: make(chan struct{}), watched: make(chan struct{})}
	go func() {
		defer close(w.watched)
		last := int64(-1) // rows up to this rowid are read
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			sql := n.tableSQL(db, table)
			head, err := n.query(fmt.Sprintf(`SELECT count(*), coalesce(max(rowid), -1) FROM %s`, sql))
			if err != nil || len(head) == 0 {
				continue
			}
			count, upTo := head[0][0].(int64), head[0][1].(int64)
			if upTo > last {
				rows, err := n.query(fmt.Sprintf(`SELECT "Device", "Seq" FROM %s WHERE rowid > %d AND rowid <= %d AND "Seq" %% %d = 0`, sql, last, upTo, sampleEvery))
				if err != nil {
					continue
				}
				now := time.Now()
				for _, r := range rows {
					id := fmt.Sprintf("%s,%d", r[0], r[1])
					if _, ok := w.seenAt[id]; !ok {
						w.seenAt[id] = now
					}
				}
				last = upTo
			}
			if count >= int64(total) {
				return
			}
		}
	}()
	return w
}

// wait returns when all rows are queryable, with the sampled messages' sighting times.
func (w *watcher) wait(t *testing.T, timeout time.Duration) map[string]time.Time {
	t.Helper()
	select {
	case <-w.watched:
		return w.seenAt
	case <-time.After(timeout):
		close(w.stop)
		<-w.watched
		t.Fatalf("not all rows queryable after %v", timeout)
		return nil
	}
}

// latencies are publish→queryable times of the sampled messages.
func latencies(sentAt, seenAt map[string]time.Time) []time.Duration {
	var lat []time.Duration
	for id, at := range sentAt {
		if seen, ok := seenAt[id]; ok {
			lat = append(lat, seen.Sub(at))
		}
	}
	return lat
}

// perMsg is CPU per message in µs.
func perMsg(cpu time.Duration, n int) float64 { return float64(cpu.Microseconds()) / float64(n) }

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

// TestBenchmarkPublishToQueryable: 100 devices at QoS 1 through the embedded
// IoT hub, the IotHub connection and the pipeline into DuckDB; messages/s
// from first publish (devices already connected) to all rows queryable,
// and each message's latency from publish to queryable (p50/p99, polled
// every 20ms), against the same devices publishing to mosquitto
// (acknowledged on receipt, nothing stored) in the same run. A second,
// named reference line sets odx's publish→acknowledged rate (stored in the
// event hub) against mosquitto's, and says how long the last rows took to
// become queryable after the last acknowledgement. Opt in: ODX_IOT_BENCH=1 (ODX_IOT_BENCH_MSGS per
// device, default 500). ODX_IOT_BENCH_CPUPROFILE=<file> profiles the odx
// publish→queryable part alone.
func TestBenchmarkPublishToQueryable(t *testing.T) {
	if os.Getenv("ODX_IOT_BENCH") == "" {
		t.Skip("set ODX_IOT_BENCH=1 to measure")
	}
	gcpolicy.Apply() // the collector as odx runs it (the devices and the mosquitto run share it)
	perDevice := benchMessagesPerDevice()
	const devices = 100
	total := devices * perDevice
	dir := t.TempDir()
	n := mustStartNode(t, dir)
	if err := n.table("Plant", "Bench", []schema.Column{{Name: "Device", Type: types.String}, {Name: "Seq", Type: types.Long}, {Name: "Pad", Type: types.String}}); err != nil {
		t.Fatal(err)
	}
	s := connSpec("bench", "bench-hub")
	s.Table, s.SystemProperties = "Bench", nil
	if err := n.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}

	w := n.watchQueryable("Plant", "Bench", total)
	// The clock starts at the first publish, once the devices are
	// connected, as for mosquitto below (100 TLS handshakes and SAS checks
	// are not message throughput).
	connecting := time.Now()
	var start time.Time
	var cpu0 time.Duration
	stopProfile := func() {}
	sentAt, pubTook := publishLoadFrom(t, func(dev string) (paho.Client, error) { return n.device(t, "bench-hub", dev, false) },
		func(dev string) string { return "devices/" + dev + "/messages/events/" }, devices, perDevice,
		func() {
			stopProfile = profile.Start(t, os.Getenv("ODX_IOT_BENCH_CPUPROFILE"))
			cpu0, start = cputime.Process(), time.Now()
		})
	seenAt := w.wait(t, 120*time.Second)
	allQueryable := time.Since(start)
	stopProfile()
	t.Logf("odx: %d devices connected in %v (not counted)", devices, start.Sub(connecting).Round(time.Millisecond))
	odxCPU := cputime.Process() - cpu0
	lat := latencies(sentAt, seenAt)
	odxRate := float64(total) / allQueryable.Seconds()
	t.Logf("odx: %d devices × %d msgs: published (all acknowledged) in %v; all queryable after %v = %.0f msg/s publish→queryable; latency (%d sampled messages) p50 %v p99 %v",
		devices, perDevice, pubTook.Round(time.Millisecond), allQueryable.Round(time.Millisecond), odxRate, len(lat),
		percentile(lat, 50).Round(time.Millisecond), percentile(lat, 99).Round(time.Millisecond))

	bin := mqbroker.Binary()
	if bin == "" {
		t.Log("mosquitto not installed (apt-get install -y mosquitto): no comparison")
		return
	}
	mq := mqbroker.Start(t, bin, fmt.Sprintf("allow_anonymous true\ncertfile %s\nkeyfile %s\n", n.tls.ServerCertFile, n.tls.ServerKeyFile))
	addr, cmd := mq.Addr, mq.Cmd
	cfg := n.tls.ClientTLS()
	var mqCPU0, mqProc0 time.Duration
	_, mqTook := publishLoadFrom(t, func(dev string) (paho.Client, error) { return mosquittoDevice(addr, cfg, dev) },
		func(dev string) string { return "devices/" + dev + "/messages/events/" }, devices, perDevice,
		func() { mqCPU0, mqProc0 = cputime.Process(), cputime.Of(cmd.Process.Pid) })
	mqClients, mqBroker := cputime.Process()-mqCPU0, cputime.Of(cmd.Process.Pid)-mqProc0
	mqRate := float64(total) / mqTook.Seconds()
	t.Logf("mosquitto: same devices, published (all acknowledged, nothing stored) in %v = %.0f msg/s", mqTook.Round(time.Millisecond), mqRate)
	t.Logf("ratio odx publish→queryable / mosquitto publish: %.2f (target ≥ 0.8)", odxRate/mqRate)
	// A second reference, for what the first mixes: mosquitto's figure ends
	// at the last PUBACK (nothing stored), odx's when the last row is
	// queryable, i.e. after the last batch waited out the batching
	// policy's delay (200ms here) and committed.
	t.Logf("reference: odx publish→acknowledged (stored in the event hub, while the connection ingests) %.0f msg/s, ratio to mosquitto %.2f; last acknowledgement → all queryable %v",
		float64(total)/pubTook.Seconds(), float64(total)/pubTook.Seconds()/mqRate, (allQueryable - pubTook).Round(time.Millisecond))

	// The device endpoint alone, in the same run: the same load to a hub
	// no connection reads (stored in the event hub, nothing ingested).
	var epCPU0 time.Duration
	_, epTook := publishLoadFrom(t, func(dev string) (paho.Client, error) { return n.device(t, "bench-idle-hub", dev, false) },
		func(dev string) string { return "devices/" + dev + "/messages/events/" }, devices, perDevice, func() { epCPU0 = cputime.Process() })
	epCPU := cputime.Process() - epCPU0
	epRate := float64(total) / epTook.Seconds()
	t.Logf("odx device endpoint alone (no connection reading): published in %v = %.0f msg/s; ratio to mosquitto %.2f; publish→queryable / endpoint alone %.2f",
		epTook.Round(time.Millisecond), epRate, epRate/mqRate, odxRate/epRate)
	// CPU per message does not depend on how busy the machine is: what each
	// part costs, the devices' own (paho, TLS) included everywhere.
	t.Logf("CPU per message: odx publish→queryable %.0fµs = device endpoint %.0fµs (alone) + connection, pipeline and DuckDB ≈%.0fµs; mosquitto %.0fµs (broker %.0fµs + devices %.0fµs)",
		perMsg(odxCPU, total), perMsg(epCPU, total), perMsg(odxCPU-epCPU, total),
		perMsg(mqClients+mqBroker, total), perMsg(mqBroker, total), perMsg(mqClients, total))
	// Both runs keep the two cores busy, so the ratio is CPU over CPU: at
	// the target, what odx may spend besides the devices (whose cost is
	// taken from the mosquitto run) against what its endpoint alone spends.
	devicesCPU := perMsg(mqClients, total)
	t.Logf("budget at 0.8: odx may spend ≈%.0fµs per message besides the devices (mosquitto's broker %.0fµs); its device endpoint alone spends ≈%.0fµs, the connection side ≈%.0fµs more",
		(devicesCPU+perMsg(mqBroker, total))/0.8-devicesCPU, perMsg(mqBroker, total), perMsg(epCPU, total)-devicesCPU, perMsg(odxCPU-epCPU, total))
}

func mosquittoDevice(addr string, cfg *tls.Config, dev string) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + addr).SetClientID(dev).SetTLSConfig(cfg).
		SetProtocolVersion(4).SetAutoReconnect(false))
	tk := c.Connect()
	if !tk.WaitTimeout(10 * time.Second) {
		return nil, context.DeadlineExceeded
	}
	return c, tk.Error()
}
