package iothub_test

import (
	"crypto/tls"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"odx/internal/gcpolicy"
	"odx/internal/iothub"
	"odx/internal/testutil/cputime"
	"odx/internal/testutil/mosquitto"
)

// loadResult is one run of the device load.
type loadResult struct {
	messages int // acknowledged
	elapsed  time.Duration
	p50, p99 time.Duration
	cpu      time.Duration // this process's CPU while publishing (devices, and odx's endpoint if it is the target)
	allocs   uint64        // this process's heap allocations while publishing
}

func (r loadResult) rate() float64 { return float64(r.messages) / r.elapsed.Seconds() }

func (r loadResult) String() string {
	return fmt.Sprintf("%d msgs in %v = %.0f msg/s, publish→PUBACK p50 %v p99 %v, CPU in this process %.1fµs/msg, %.1f allocations/msg", r.messages, r.elapsed.Round(time.Millisecond),
		r.rate(), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), float64(r.cpu.Nanoseconds())/1e3/float64(max(r.messages, 1)),
		float64(r.allocs)/float64(max(r.messages, 1)))
}

// runDeviceLoad connects devices paho clients (MQTT 3.1.1, TLS) and has
// each publish perDevice 1 KB messages at QoS 1, up to window in flight.
func runDeviceLoad(t *testing.T, addr string, cfg *tls.Config, devices, perDevice, window int, creds func(device string) (user, pass string)) loadResult {
	t.Helper()
	clients := make([]paho.Client, devices)
	for i := range clients {
		dev := "bench-" + strconv.Itoa(i)
		user, pass := creds(dev)
		o := paho.NewClientOptions().AddBroker("ssl://" + addr).SetClientID(dev).SetUsername(user).SetPassword(pass).
			SetTLSConfig(cfg).SetProtocolVersion(4).SetAutoReconnect(false).SetWriteTimeout(30 * time.Second)
		c := paho.NewClient(o)
		if tk := c.Connect(); !tk.WaitTimeout(20*time.Second) || tk.Error() != nil {
			t.Fatalf("connect %s: %v", dev, tk.Error())
		}
		clients[i] = c
		defer c.Disconnect(100)
	}
	body := make([]byte, 1000)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	lat := make([][]time.Duration, devices)
	var wg sync.WaitGroup
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs0 := ms.Mallocs
	cpu0 := cputime.Process()
	start := time.Now()
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := "devices/bench-" + strconv.Itoa(i) + "/messages/events/Table=Bench"
			type sent struct {
				at  time.Time
				tok paho.Token
			}
			var inflight []sent
			wait := func(s sent) {
				if !s.tok.WaitTimeout(60*time.Second) || s.tok.Error() != nil {
					t.Errorf("publish: %v", s.tok.Error())
					return
				}
				lat[i] = append(lat[i], time.Since(s.at))
			}
			for range perDevice {
				if len(inflight) == window {
					wait(inflight[0])
					inflight = inflight[1:]
				}
				inflight = append(inflight, sent{time.Now(), c.Publish(topic, 1, false, body)})
			}
			for _, s := range inflight {
				wait(s)
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(lat...)
	r := loadResult{messages: len(all), elapsed: time.Since(start), cpu: cputime.Process() - cpu0}
	runtime.ReadMemStats(&ms)
	r.allocs = ms.Mallocs - mallocs0
	slices.Sort(all)
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// TestDeviceEndpointThroughput compares 100 devices publishing at QoS 1 to
// the embedded IoT hub (acknowledged once stored in the event hub) and to
// Debian's mosquitto (acknowledged on receipt, nothing stored), in the
// same run. Opt in: ODX_IOT_BENCH=1 (ODX_IOT_BENCH_MSGS per device, default
// 200; ODX_IOT_BENCH_WINDOW messages in flight per device, default 10).
func TestDeviceEndpointThroughput(t *testing.T) {
	if os.Getenv("ODX_IOT_BENCH") == "" {
		t.Skip("set ODX_IOT_BENCH=1 to measure")
	}
	gcpolicy.Apply() // the collector as odx runs it (the devices and the mosquitto run share it)
	perDevice := 200
	if n, err := strconv.Atoi(os.Getenv("ODX_IOT_BENCH_MSGS")); err == nil && n > 0 {
		perDevice = n
	}
	const devices = 100
	window := 10
	if n, err := strconv.Atoi(os.Getenv("ODX_IOT_BENCH_WINDOW")); err == nil && n > 0 {
		window = n
	}
	s := newStandWith(t, 30*time.Second) // a loaded machine must not fail stores
	hubRes := runDeviceLoad(t, s.server.Addr(), s.clientTLS, devices, perDevice, window, func(dev string) (string, string) {
		return username(dev), s.policyToken(t, dev, "device", time.Hour)
	})
	if got := sum(s.eventHub.HighWatermarks(iothub.BuiltInEventHub("myhub"))); got < int64(hubRes.messages) {
		t.Fatalf("the built-in endpoint holds %d of %d acknowledged messages", got, hubRes.messages)
	}
	t.Logf("odx embedded IoT hub: %v", hubRes)

	bin := mosquitto.Binary()
	if bin == "" {
		t.Log("mosquitto not installed (apt-get install -y mosquitto): no comparison")
		return
	}
	mq := mosquitto.Start(t, bin, fmt.Sprintf("allow_anonymous true\ncafile %s\ncertfile %s\nkeyfile %s\nmax_inflight_messages 0\nmax_queued_messages 0\n",
		s.tls.CAFile, s.tls.ServerCertFile, s.tls.ServerKeyFile))
	cmd, addr := mq.Cmd, mq.Addr
	mq0 := cputime.Of(cmd.Process.Pid)
	mqRes := runDeviceLoad(t, addr, s.clientTLS, devices, perDevice, window, func(dev string) (string, string) { return dev, "x" })
	mqBroker := cputime.Of(cmd.Process.Pid) - mq0
	t.Logf("mosquitto (no storage):  %v; broker %.1fµs/msg", mqRes, float64(mqBroker.Nanoseconds())/1e3/float64(max(mqRes.messages, 1)))
	t.Logf("odx endpoint CPU per message, the devices' own (as measured against mosquitto) taken out: %.1fµs",
		float64((hubRes.cpu-mqRes.cpu).Nanoseconds())/1e3/float64(max(hubRes.messages, 1)))
	t.Logf("ratio odx/mosquitto: %.2f", hubRes.rate()/mqRes.rate())
}
