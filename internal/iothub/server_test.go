package iothub_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/hub"
	"odx/internal/iothub"
	"odx/internal/pki"
)

func quietLogger() *slog.Logger {
	if os.Getenv("ODX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// stand is an embedded event hub plus an embedded IoT hub serving "myhub".
type stand struct {
	dir       string
	tls       *pki.Bundle
	eventHub  *hub.Hub
	keys      *iothub.Keys
	server    *iothub.Server
	hub       iothub.Hub
	clientTLS *tls.Config
}

func newStand(t *testing.T) *stand {
	t.Helper()
	return newStandWith(t, 2*time.Second)
}

// newStandWith is newStand with a store timeout (short ones make the
// failure tests fast).
func newStandWith(t *testing.T, storeTimeout time.Duration) *stand {
	t.Helper()
	dir := t.TempDir()
	b, err := pki.Ensure(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	eh, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "hub"), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eh.Close() })
	keys, err := iothub.OpenKeys(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := keys.EnsureHub("myhub")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := iothub.Start(iothub.Options{Listen: "127.0.0.1:0", TLS: b.ServerTLS, Keys: keys, EventHub: eh,
		StoreTimeout: storeTimeout, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &stand{dir: dir, tls: b, eventHub: eh, keys: keys, server: srv, hub: h, clientTLS: b.ClientTLS()}
}

// policyToken signs a device token with one of the hub's policies.
func (s *stand) policyToken(t *testing.T, device, policy string, ttl time.Duration) string {
	t.Helper()
	p, ok := s.hub.Policy(policy)
	if !ok {
		t.Fatalf("no policy %s", policy)
	}
	tok, err := iothub.SignToken(iothub.DeviceResource("myhub", device, ""), p.Name, p.PrimaryKey, time.Now().Add(ttl))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func username(device string) string {
	return "myhub.azure-devices.net/" + device + "/?api-version=2021-04-12"
}

// connect opens a paho (MQTT 3.1.1) device connection; it returns the
// connect error instead of failing.
func (s *stand) connect(t *testing.T, clientID, user, password string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("ssl://" + s.server.Addr()).SetClientID(clientID).
		SetUsername(user).SetPassword(password).SetTLSConfig(s.clientTLS).SetProtocolVersion(4).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect timed out")
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func (s *stand) mustConnect(t *testing.T, device, password string) paho.Client {
	t.Helper()
	c, err := s.connect(t, device, username(device), password)
	if err != nil {
		t.Fatalf("device %s refused: %v", device, err)
	}
	return c
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, body string) error {
	t.Helper()
	tok := c.Publish(topic, qos, false, body)
	if !tok.WaitTimeout(10 * time.Second) {
		return context.DeadlineExceeded
	}
	return tok.Error()
}

// readBuiltIn reads n records from the hub's built-in endpoint.
func readBuiltIn(t *testing.T, addr, hubName string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(iothub.BuiltInEventHub(hubName)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records from %s", len(out), n, iothub.BuiltInEventHub(hubName))
		}
		out = append(out, f.Records()...)
	}
	return out
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

func TestDeviceMessageLandsOnBuiltInEndpointWithSystemProperties(t *testing.T) {
	s := newStand(t)
	c := s.mustConnect(t, "thermo-1", s.policyToken(t, "thermo-1", "device", time.Hour))
	topic := "devices/thermo-1/messages/events/" +
		"Table=Telemetry&Format=json&site=north%20wing&%24.mid=m-42&%24.cid=c-7&%24.ct=application%2Fjson&%24.ce=utf-8&%24.uid=ops" +
		"&iothub-creation-time-utc=2026-11-28T10%3A00%3A00Z"
	before := time.Now().UTC()
	if err := publish(t, c, topic, 1, `{"temp":21.5}`); err != nil {
		t.Fatalf("QoS 1 publish: %v", err)
	}
	if err := publish(t, c, "devices/thermo-1/messages/events/", 0, `{"temp":22}`); err != nil {
		t.Fatalf("QoS 0 publish: %v", err)
	}
	recs := readBuiltIn(t, s.eventHub.Addr(), "myhub", 2)
	r := recs[0]
	if string(r.Value) != `{"temp":21.5}` || string(r.Key) != "thermo-1" {
		t.Fatalf("record body %q key %q", r.Value, r.Key)
	}
	h := headers(r)
	want := map[string]string{
		"Table": "Telemetry", "Format": "json", "site": "north wing",
		"message-id": "m-42", "correlation-id": "c-7", "content-type": "application/json", "content-encoding": "utf-8",
		"user-id": "ops", "iothub-creation-time-utc": "2026-11-28T10:00:00Z",
		"iothub-connection-device-id": "thermo-1", "iothub-message-source": "Telemetry",
		"iothub-connection-auth-method":        `{"scope":"hub","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`,
		"iothub-connection-auth-generation-id": iothub.GenerationID("myhub", "thermo-1"),
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	for _, absent := range []string{"$.mid", "iothub-connection-module-id", "dt-dataschema"} {
		if _, ok := h[absent]; ok {
			t.Errorf("header %s should not be set", absent)
		}
	}
	enq, err := time.Parse(time.RFC3339Nano, h["iothub-enqueuedtime"])
	if err != nil || enq.Before(before.Add(-time.Second)) || enq.After(time.Now().Add(time.Second)) {
		t.Errorf("iothub-enqueuedtime %q (err %v) is not the time of publishing", h["iothub-enqueuedtime"], err)
	}
	if !r.Timestamp.Equal(enq.Truncate(time.Millisecond)) {
		t.Errorf("record timestamp %v differs from iothub-enqueuedtime %v", r.Timestamp, enq)
	}
	h2 := headers(recs[1])
	if string(recs[1].Value) != `{"temp":22}` || h2["iothub-connection-device-id"] != "thermo-1" || h2["Table"] != "" {
		t.Errorf("second record %q headers %v", recs[1].Value, h2)
	}
}

func TestDeviceKeyTokenModuleAndModelID(t *testing.T) {
	s := newStand(t)
	key, err := iothub.DeviceKey(s.hub, "gw", "sensor")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iothub.SignToken(iothub.DeviceResource("myhub", "gw", "sensor"), "", key, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.connect(t, "gw/sensor", "myhub.azure-devices.net/gw/sensor/?api-version=2021-04-12&model-id=dtmi%3Acom%3Aexample%3AThermostat%3B1", tok)
	if err != nil {
		t.Fatalf("module with device-key token refused: %v", err)
	}
	if err := publish(t, c, "devices/gw/modules/sensor/messages/events/%24.sub=thermostat1", 1, "21"); err != nil {
		t.Fatal(err)
	}
	h := headers(readBuiltIn(t, s.eventHub.Addr(), "myhub", 1)[0])
	for k, v := range map[string]string{
		"iothub-connection-device-id": "gw", "iothub-connection-module-id": "sensor",
		"dt-dataschema": "dtmi:com:example:Thermostat;1", "dt-subject": "thermostat1",
		"iothub-connection-auth-method": `{"scope":"device","type":"sas","issuer":"iothub","acceptingIpFilterRule":null}`,
	} {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
}

func TestBadTokensAreRefused(t *testing.T) {
	s := newStand(t)
	good := s.policyToken(t, "dev1", "device", time.Hour)
	other, err := s.keys.EnsureHub("otherhub")
	if err != nil {
		t.Fatal(err)
	}
	op, _ := other.Policy("device")
	foreignHub, _ := iothub.SignToken(iothub.DeviceResource("otherhub", "dev1", ""), "device", op.PrimaryKey, time.Now().Add(time.Hour))
	wrongKey, _ := iothub.SignToken(iothub.DeviceResource("myhub", "dev1", ""), "device", op.PrimaryKey, time.Now().Add(time.Hour))
	svc, _ := s.hub.Policy("service")
	noDeviceConnect, _ := iothub.SignToken(iothub.DeviceResource("myhub", "dev1", ""), "service", svc.PrimaryKey, time.Now().Add(time.Hour))
	devKey, _ := iothub.DeviceKey(s.hub, "dev2", "")
	otherDeviceKey, _ := iothub.SignToken(iothub.DeviceResource("myhub", "dev1", ""), "", devKey, time.Now().Add(time.Hour))
	tampered := strings.Replace(good, "se=", "se=9", 1)

	cases := []struct {
		name, client, user, password string
	}{
		{"expired", "dev1", username("dev1"), s.policyToken(t, "dev1", "device", -time.Minute)},
		{"token for another device", "dev1", username("dev1"), s.policyToken(t, "dev2", "device", time.Hour)},
		{"token for another hub", "dev1", username("dev1"), foreignHub},
		{"signed with another hub's key", "dev1", username("dev1"), wrongKey},
		{"policy without DeviceConnect", "dev1", username("dev1"), noDeviceConnect},
		{"another device's key", "dev1", username("dev1"), otherDeviceKey},
		{"tampered expiry", "dev1", username("dev1"), tampered},
		{"not a SAS token", "dev1", username("dev1"), "secret"},
		{"client id differs from username", "dev2", username("dev1"), good},
		{"unknown hub", "dev1", "nohub.azure-devices.net/dev1/?api-version=2021-04-12", good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.connect(t, tc.client, tc.user, tc.password); err == nil {
				t.Fatal("connection accepted")
			}
		})
	}
	// The good token works, with the full username or the bare hub name.
	s.mustConnect(t, "dev1", good)
	if _, err := s.connect(t, "dev1", "myhub", good); err != nil {
		t.Fatalf("bare hub name as username refused: %v", err)
	}
}

func TestDeviceMayPublishOnlyItsOwnTelemetry(t *testing.T) {
	s := newStand(t)
	c := s.mustConnect(t, "dev1", s.policyToken(t, "dev1", "device", time.Hour))
	// MQTT 3.1.1 has no negative PUBACK: the broker closes the connection.
	err := publish(t, c, "devices/dev2/messages/events/", 1, "spoofed")
	if err == nil && c.IsConnected() {
		time.Sleep(200 * time.Millisecond)
	}
	if c.IsConnected() {
		t.Fatal("a device publishing as another device stayed connected")
	}
	if hw := s.eventHub.HighWatermarks(iothub.BuiltInEventHub("myhub")); sum(hw) != 0 {
		t.Fatalf("spoofed message stored: %v", hw)
	}
}

func sum(m map[int32]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func TestQoS1AcknowledgedOnlyOnceStored(t *testing.T) {
	s := newStand(t)
	c := s.mustConnect(t, "dev1", s.policyToken(t, "dev1", "device", time.Hour))
	for i := range 20 {
		if err := publish(t, c, "devices/dev1/messages/events/", 1, "m"); err != nil {
			t.Fatal(err)
		}
		// When the PUBACK arrives the record must already be in the hub.
		if got := sum(s.eventHub.HighWatermarks(iothub.BuiltInEventHub("myhub"))); got != int64(i+1) {
			t.Fatalf("after %d acknowledged messages the built-in endpoint holds %d", i+1, got)
		}
	}
	// With the event hub gone nothing can be stored: the message is not
	// acknowledged. MQTT 3.1.1 has no negative PUBACK, so the device is
	// disconnected (within the store timeout) and resends later.
	s.eventHub.Close()
	start := time.Now()
	err := publish(t, c, "devices/dev1/messages/events/", 1, "lost?")
	if err == nil {
		t.Fatal("a message was acknowledged while the event hub was down")
	}
	if c.IsConnected() || time.Since(start) > 5*time.Second {
		t.Fatalf("MQTT 3.1.1 device still connected %v after %v (error %v)", c.IsConnected(), time.Since(start), err)
	}
	// MQTT 5 devices get a failure PUBACK instead.
	if _, err := exec.LookPath("mosquitto_pub"); err == nil {
		out, err := s.mosquittoPub(t, "-V", "mqttv5", "-q", "1", "-i", "dev1", "-u", username("dev1"),
			"-P", s.policyToken(t, "dev1", "device", time.Hour), "-t", "devices/dev1/messages/events/", "-m", "lost?")
		if err == nil && !strings.Contains(out, "could not be stored") {
			t.Fatalf("MQTT 5 publish while the event hub is down: no failure reported (%q)", out)
		}
		t.Logf("mosquitto_pub (MQTT 5) while the event hub is down: %v: %s", err, strings.TrimSpace(out))
	}
}

// mosquittoPub runs Debian's mosquitto_pub against the device endpoint.
func (s *stand) mosquittoPub(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub not installed (apt-get install -y mosquitto-clients)")
	}
	host, port, _ := net.SplitHostPort(s.server.Addr())
	base := []string{"-h", host, "-p", port, "--cafile", s.tls.CAFile}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).CombinedOutput()
	return string(out), err
}

func TestMosquittoPubMQTT311AndMQTT5(t *testing.T) {
	s := newStand(t)
	tok := s.policyToken(t, "mq1", "device", time.Hour)
	out, err := s.mosquittoPub(t, "-V", "mqttv311", "-q", "1", "-i", "mq1", "-u", username("mq1"), "-P", tok,
		"-t", "devices/mq1/messages/events/Table=Raw&%24.mid=v311", "-m", "a,1")
	if err != nil {
		t.Fatalf("mosquitto_pub MQTT 3.1.1: %v\n%s", err, out)
	}
	out, err = s.mosquittoPub(t, "-V", "mqttv5", "-q", "1", "-i", "mq1", "-u", username("mq1"), "-P", tok,
		"-D", "publish", "user-property", "Table", "Events", "-D", "publish", "content-type", "application/json",
		"-t", "devices/mq1/messages/events/%24.mid=v5", "-m", `{"a":1}`)
	if err != nil {
		t.Fatalf("mosquitto_pub MQTT 5: %v\n%s", err, out)
	}
	recs := readBuiltIn(t, s.eventHub.Addr(), "myhub", 2)
	byMID := map[string]map[string]string{}
	for _, r := range recs {
		h := headers(r)
		byMID[h["message-id"]] = h
	}
	if h := byMID["v311"]; h["Table"] != "Raw" || h["iothub-connection-device-id"] != "mq1" {
		t.Errorf("MQTT 3.1.1 message headers %v", h)
	}
	if h := byMID["v5"]; h["Table"] != "Events" || h["content-type"] != "application/json" || h["iothub-connection-device-id"] != "mq1" {
		t.Errorf("MQTT 5 message headers %v (user properties are application properties; the content type is content-type)", h)
	}

	// Refused: a token for another device, and an expired one, on both versions.
	for _, v := range []string{"mqttv311", "mqttv5"} {
		for name, bad := range map[string]string{"foreign": s.policyToken(t, "mq2", "device", time.Hour), "expired": s.policyToken(t, "mq1", "device", -time.Second)} {
			out, err := s.mosquittoPub(t, "-V", v, "-q", "1", "-i", "mq1", "-u", username("mq1"), "-P", bad,
				"-t", "devices/mq1/messages/events/", "-m", "x")
			if err == nil {
				t.Errorf("%s %s token accepted: %s", v, name, out)
			}
		}
	}
	if n := sum(s.eventHub.HighWatermarks(iothub.BuiltInEventHub("myhub"))); n != 2 {
		t.Errorf("the built-in endpoint holds %d messages, want 2", n)
	}
}

func TestAcknowledgedMessagesSurviveARestart(t *testing.T) {
	s := newStand(t)
	c := s.mustConnect(t, "dev1", s.policyToken(t, "dev1", "device", time.Hour))
	for range 50 {
		if err := publish(t, c, "devices/dev1/messages/events/k=v", 1, "payload"); err != nil {
			t.Fatal(err)
		}
	}
	c.Disconnect(100)
	s.server.Close()
	s.eventHub.Close()
	again, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", DataDir: filepath.Join(s.dir, "hub"), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	recs := readBuiltIn(t, again.Addr(), "myhub", 50)
	if len(recs) != 50 || headers(recs[49])["k"] != "v" {
		t.Fatalf("%d records after restart", len(recs))
	}
}

func TestSecondConnectionOfADeviceReplacesTheFirst(t *testing.T) {
	s := newStand(t)
	tok := s.policyToken(t, "dev1", "device", time.Hour)
	first := s.mustConnect(t, "dev1", tok)
	second := s.mustConnect(t, "dev1", tok)
	deadline := time.Now().Add(5 * time.Second)
	for first.IsConnected() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if first.IsConnected() || !second.IsConnected() {
		t.Fatalf("first connected %v, second connected %v; IoT Hub keeps one connection per device", first.IsConnected(), second.IsConnected())
	}
	if err := publish(t, second, "devices/dev1/messages/events/", 1, "x"); err != nil {
		t.Fatal(err)
	}
}

func TestMessagesOfADeviceKeepTheirOrder(t *testing.T) {
	s := newStand(t)
	c := s.mustConnect(t, "dev1", s.policyToken(t, "dev1", "device", time.Hour))
	const n = 300
	toks := make([]paho.Token, n)
	for i := range n { // all in flight at once
		toks[i] = c.Publish("devices/dev1/messages/events/", 1, false, strconv.Itoa(i))
	}
	for i, tk := range toks {
		if !tk.WaitTimeout(20*time.Second) || tk.Error() != nil {
			t.Fatalf("message %d: %v", i, tk.Error())
		}
	}
	recs := readBuiltIn(t, s.eventHub.Addr(), "myhub", n)
	for i, r := range recs {
		if string(r.Value) != strconv.Itoa(i) || r.Partition != recs[0].Partition {
			t.Fatalf("record %d is %q on partition %d (first on %d): one device's messages must stay in order on one partition", i, r.Value, r.Partition, recs[0].Partition)
		}
	}
}

// metricValue reads one series of the endpoint's metrics (summed over labels).
func metricValue(t *testing.T, srv *iothub.Server, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(srv.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return v
}

func TestEndpointMetrics(t *testing.T) {
	s := newStand(t)
	c := s.mustConnect(t, "dev1", s.policyToken(t, "dev1", "device", time.Hour))
	if _, err := s.connect(t, "dev2", username("dev2"), s.policyToken(t, "dev2", "device", -time.Hour)); err == nil {
		t.Fatal("expired token accepted")
	}
	for range 3 {
		if err := publish(t, c, "devices/dev1/messages/events/", 1, "12345"); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]float64{"odx_iothub_connected_devices": 1, "odx_iothub_connections_refused_total": 1,
		"odx_iothub_messages_stored_total": 3, "odx_iothub_message_bytes_total": 15, "odx_iothub_messages_failed_total": 0} {
		if got := metricValue(t, s.server, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	c.Disconnect(100)
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, s.server, "odx_iothub_connected_devices") != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := metricValue(t, s.server, "odx_iothub_connected_devices"); got != 0 {
		t.Errorf("connected devices after disconnect = %v", got)
	}
}
