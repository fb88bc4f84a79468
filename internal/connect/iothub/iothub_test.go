package iothub_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/connecttest"
	"odx/internal/connect/eventhub"
	iotconn "odx/internal/connect/iothub"
	"odx/internal/hub"
	"odx/internal/iothub"
	"odx/internal/pki"
)

var testPolicy = connect.BatchingPolicy{MaxDelay: 150 * time.Millisecond, MaxItems: 1000, MaxBytes: 1 << 20}

func quietLogger() *slog.Logger {
	if os.Getenv("ODX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

const testSub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg"

type stand struct {
	eventHub *hub.Hub
	keys     *iothub.Keys
	server   *iothub.Server
	tls      *pki.Bundle
	conn     *iotconn.Connector
}

// newStand runs an embedded event hub, an embedded IoT hub and the IotHub connector.
func newStand(t *testing.T) *stand {
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
	srv, err := iothub.Start(iothub.Options{Listen: "127.0.0.1:0", TLS: b.ServerTLS, Keys: keys, EventHub: eh, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := iotconn.New(iotconn.Options{
		Keys:          keys,
		Embedded:      &eventhub.Endpoint{Brokers: []string{eh.Addr()}, Partitions: hub.DefaultPartitions},
		ClientOptions: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(100 * time.Millisecond)},
	})
	return &stand{eventHub: eh, keys: keys, server: srv, tls: b, conn: c}
}

func (s *stand) manager(t *testing.T, sink *connecttest.Sink) *connect.Manager {
	t.Helper()
	return s.managerInto(t, sink, sink)
}

// managerInto is manager with the commits going to into, which keeps its
// positions in sink (a wrapper of sink, such as connecttest.Preparing).
func (s *stand) managerInto(t *testing.T, into connect.Sink, sink *connecttest.Sink) *connect.Manager {
	t.Helper()
	reg := connect.NewRegistry()
	if err := iotconn.Register(reg, s.conn); err != nil {
		t.Fatal(err)
	}
	m, err := connect.NewManager(connect.Options{Registry: reg, Sink: into, Checkpoints: sink, Logger: quietLogger(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// device connects a paho device to hub with a token signed by the device policy.
func (s *stand) device(t *testing.T, hubName, device string) paho.Client {
	t.Helper()
	h, err := s.keys.EnsureHub(hubName)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := h.Policy("device")
	tok, err := iothub.SignToken(iothub.DeviceResource(hubName, device, ""), p.Name, p.PrimaryKey, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	o := paho.NewClientOptions().AddBroker("ssl://" + s.server.Addr()).SetClientID(device).
		SetUsername(iothub.HostName(hubName) + "/" + device + "/?api-version=2021-04-12").SetPassword(tok).
		SetTLSConfig(s.tls.ClientTLS()).SetProtocolVersion(4).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tk := c.Connect(); !tk.WaitTimeout(10*time.Second) || tk.Error() != nil {
		t.Fatalf("device %s did not connect: %v", device, tk.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func send(t *testing.T, c paho.Client, device, bag, body string) {
	t.Helper()
	tk := c.Publish("devices/"+device+"/messages/events/"+bag, 1, false, body)
	if !tk.WaitTimeout(10*time.Second) || tk.Error() != nil {
		t.Fatalf("publish: %v", tk.Error())
	}
}

func spec(name, hubName string) connect.Spec {
	return connect.Spec{
		ID:       testSub + "/providers/Microsoft.Kusto/Clusters/c1/Databases/db/DataConnections/" + name,
		Database: "db", Name: name, Kind: "IotHub",
		Source: testSub + "/providers/Microsoft.Devices/IotHubs/" + hubName, ConsumerGroup: "$Default",
		Table: "Telemetry", Format: "JSON",
		SystemProperties: []string{"iothub-connection-device-id", "iothub-enqueuedtime", "message-id", "iothub-creation-time-utc", "dt-subject"},
		RetrievalStart:   time.Now().Add(-time.Minute),
		Extra:            map[string]string{iotconn.PolicyProperty: "service"},
	}
}

func TestIotHubConnectionDeliversDeviceMessagesWithSystemProperties(t *testing.T) {
	s := newStand(t)
	sink := connecttest.NewSink(testPolicy)
	m := s.manager(t, sink)
	sp := spec("iot1", "plant")
	if p := m.Validate(context.Background(), sp); len(p) > 0 {
		t.Fatalf("valid connection refused: %v", p)
	}
	if err := m.Apply(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
	d1, d2 := s.device(t, "plant", "press-1"), s.device(t, "plant", "press-2")
	send(t, d1, "press-1", "%24.mid=a1&iothub-creation-time-utc=2026-11-28T09%3A00%3A00Z", `{"rpm":1200}`)
	send(t, d2, "press-2", "Table=Alerts&Format=csv&%24.mid=b1&%24.sub=motor", "overheat,97")
	send(t, d1, "press-1", "%24.mid=a2&Table=", `{"rpm":1250}`)
	// IoT Hub routes by Table, Format, IngestionMappingReference, Encoding
	// and Database only: a device's Compression or Tags property is data.
	send(t, d1, "press-1", "%24.mid=a3&Compression=GZip&Tags=%5B%22x%22%5D", `{"rpm":1300}`)

	items := sink.WaitItems(t, 4, 20*time.Second)
	if v := sink.Violations(); len(v) > 0 {
		t.Fatalf("exactly-once violations: %v", v)
	}
	byID := map[string]connect.Item{}
	for _, it := range items {
		byID[it.Event.Properties["message-id"]] = it
	}
	a1, b1, a2, a3 := byID["a1"], byID["b1"], byID["a2"], byID["a3"]
	if a3.Route.Compression != "" && a3.Route.Compression != "none" || len(a3.Route.Tags) != 0 || string(a3.Event.Body) != `{"rpm":1300}` {
		t.Errorf("Compression and Tags must not route a device message: %+v body %q", a3.Route, a3.Event.Body)
	}
	if a1.Route.Table != "Telemetry" || a1.Route.Format != "json" || a2.Route.Table != "Telemetry" {
		t.Errorf("default routing: a1 %+v a2 %+v", a1.Route, a2.Route)
	}
	if b1.Route.Table != "Alerts" || b1.Route.Format != "csv" || string(b1.Event.Body) != "overheat,97" {
		t.Errorf("per-message routing: %+v body %q", b1.Route, b1.Event.Body)
	}
	check := func(it connect.Item, want map[string]string) {
		t.Helper()
		if len(it.SystemProperties) != len(sp.SystemProperties) {
			t.Fatalf("%s: system properties %v", it.Source, it.SystemProperties)
		}
		for i, p := range it.SystemProperties {
			if p.Name != sp.SystemProperties[i] {
				t.Errorf("%s: system property %d is %s, want %s (the connection's order)", it.Source, i, p.Name, sp.SystemProperties[i])
			}
			if w, ok := want[p.Name]; ok && p.Value != w {
				t.Errorf("%s: %s = %v, want %q", it.Source, p.Name, p.Value, w)
			}
		}
		enq, err := time.Parse(time.RFC3339Nano, it.SystemProperties[1].Value.(string))
		if err != nil || time.Since(enq) > time.Minute || !it.Event.EnqueuedTime.Equal(enq.Truncate(time.Millisecond)) {
			t.Errorf("%s: iothub-enqueuedtime %v (err %v) vs record time %v", it.Source, it.SystemProperties[1].Value, err, it.Event.EnqueuedTime)
		}
	}
	check(a1, map[string]string{"iothub-connection-device-id": "press-1", "message-id": "a1", "iothub-creation-time-utc": "2026-11-28T09:00:00Z", "dt-subject": ""})
	check(b1, map[string]string{"iothub-connection-device-id": "press-2", "message-id": "b1", "dt-subject": "motor"})
	if !strings.HasPrefix(a1.Source, "plant/") {
		t.Errorf("failure source %q should name the IoT hub", a1.Source)
	}
	st, ok := m.Status(sp.ID)
	if !ok || st.State != connect.Running || st.Events < 4 {
		t.Errorf("status %+v", st)
	}
}

func TestIotHubConnectionRoutingFailuresAndMultiDatabase(t *testing.T) {
	s := newStand(t)
	sink := connecttest.NewSink(testPolicy)
	m := s.manager(t, sink)
	sp := spec("iot2", "plant")
	if err := m.Apply(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
	d := s.device(t, "plant", "dev")
	send(t, d, "dev", "Database=other&%24.mid=x", `{}`) // single-database connection: refused
	send(t, d, "dev", "Format=raw&%24.mid=y", `{}`)     // RAW is not for IoT Hub connections
	send(t, d, "dev", "%24.mid=ok", `{"v":1}`)          // ingested
	// IoT Hub connections have no Tags: ADX ignores the property.
	send(t, d, "dev", "Tags=%5B%27t1%27%5D&%24.mid=plain", `{"v":2}`)
	items := sink.WaitItems(t, 2, 20*time.Second)
	connecttest.Eventually(t, 10*time.Second, func() bool { return len(sink.Failures()) >= 2 }, func() string {
		var ids []string
		for _, it := range sink.Items() {
			ids = append(ids, it.Event.Properties["message-id"]+" "+fmt.Sprint(it.Route))
		}
		return fmt.Sprintf("want 2 recorded failures; failures %+v; items %v", sink.Failures(), ids)
	})
	if len(items) != 2 || items[0].Event.Properties["message-id"] != "ok" || items[1].Event.Properties["message-id"] != "plain" {
		t.Fatalf("items %+v", items)
	}
	if r := items[1].Route; r.Compression != "" || len(r.Tags) != 0 {
		t.Errorf("the Tags message property was applied to an IoT Hub connection: %+v", r)
	}
	codes := map[string]bool{}
	for _, f := range sink.Failures() {
		codes[f.Code] = true
	}
	if !codes[connect.CodeNonMultiDatabase] || !codes[connect.CodeFormatNotSupported] {
		t.Errorf("failure codes %v", codes)
	}

	multi := spec("iot3", "plant")
	multi.MultiDatabase = true
	multi.ConsumerGroup = "multi"
	multi.RetrievalStart = time.Now().Add(-time.Hour)
	if err := m.Apply(context.Background(), multi); err != nil {
		t.Fatal(err)
	}
	connecttest.Eventually(t, 20*time.Second, func() bool {
		for _, it := range sink.Items() {
			if it.Route.Database == "other" {
				return true
			}
		}
		return false
	}, func() string { return "the multi-database connection did not route to database other" })
}

func TestIotHubConnectionValidation(t *testing.T) {
	s := newStand(t)
	good := spec("v", "plant")
	if p := s.conn.Validate(context.Background(), good); len(p) != 0 {
		t.Fatalf("valid spec refused: %v", p)
	}
	cases := map[string]func(*connect.Spec){
		"not an IoT hub id":           func(sp *connect.Spec) { sp.Source = testSub + "/providers/Microsoft.EventHub/namespaces/x/eventhubs/y" },
		"policy lacks ServiceConnect": func(sp *connect.Spec) { sp.Extra = map[string]string{iotconn.PolicyProperty: "device"} },
		"unknown policy":              func(sp *connect.Spec) { sp.Extra = map[string]string{iotconn.PolicyProperty: "nope"} },
		"no policy":                   func(sp *connect.Spec) { sp.Extra = nil },
		"RAW format":                  func(sp *connect.Spec) { sp.Format = "RAW" },
		"unknown system property":     func(sp *connect.Spec) { sp.SystemProperties = []string{"x-opt-offset"} },
		"no consumer group":           func(sp *connect.Spec) { sp.ConsumerGroup = "" },
		"compression":                 func(sp *connect.Spec) { sp.Compression = "GZip" },
	}
	for name, change := range cases {
		sp := good
		change(&sp)
		if p := s.conn.Validate(context.Background(), sp); len(p) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
	// A policy added with a command reads the hub when it has ServiceConnect.
	if _, err := s.keys.SetPolicy("plant", "adx", []string{"ServiceConnect"}); err != nil {
		t.Fatal(err)
	}
	sp := good
	sp.Extra = map[string]string{iotconn.PolicyProperty: "adx"}
	if p := s.conn.Validate(context.Background(), sp); len(p) != 0 {
		t.Errorf("custom ServiceConnect policy refused: %v", p)
	}
	// Embedded hubs off: only configured hubs are served.
	off := iotconn.New(iotconn.Options{})
	if p := off.Validate(context.Background(), good); len(p) == 0 {
		t.Error("an unbound hub was accepted with the embedded IoT hub off")
	}
}

func TestConfigBoundIotHubReadsItsEventHubCompatibleEndpoint(t *testing.T) {
	// A second Kafka-protocol hub stands in for a real IoT hub's built-in endpoint.
	real, err := hub.Start(hub.Options{Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	const ehName = "iothub-ehub-factory-1234567-abcdef0123"
	if err := real.CreateTopic(ehName); err != nil {
		t.Fatal(err)
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(real.Addr()), kgo.DefaultProduceTopic(ehName))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	rec := &kgo.Record{Key: []byte("dev9"), Value: []byte(`{"v":9}`), Headers: []kgo.RecordHeader{
		{Key: "iothub-connection-device-id", Value: []byte("dev9")}, {Key: "message-id", Value: []byte("m9")}, {Key: "Table", Value: []byte("Bound")}}}
	if err := pr.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
		t.Fatal(err)
	}

	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	keys, err := iothub.OpenKeys(t.TempDir(), map[string]map[string]string{"factory": {"reader": key}})
	if err != nil {
		t.Fatal(err)
	}
	c := iotconn.New(iotconn.Options{
		Keys:          keys,
		Hubs:          map[string]iotconn.BoundHub{"Factory": {Endpoint: eventhub.Endpoint{Brokers: []string{real.Addr()}}, EventHubName: ehName}},
		ClientOptions: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond), kgo.FetchMaxWait(100 * time.Millisecond)},
	})
	sp := spec("bound", "factory")
	sp.Extra = map[string]string{iotconn.PolicyProperty: "iothubowner"}
	if p := c.Validate(context.Background(), sp); len(p) == 0 {
		t.Error("a policy the configuration does not list was accepted for a bound hub")
	}
	sp.Extra = map[string]string{iotconn.PolicyProperty: "reader"}
	sp.RetrievalStart = time.Now().Add(-time.Hour)
	if p := c.Validate(context.Background(), sp); len(p) > 0 {
		t.Fatalf("bound hub refused: %v", p)
	}
	if _, ok, _ := keys.Lookup("factory"); ok {
		t.Error("a bound hub was created in the embedded IoT hub's keys")
	}
	sink := connecttest.NewSink(testPolicy)
	s := &stand{conn: c}
	m := s.manager(t, sink)
	if err := m.Apply(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
	items := sink.WaitItems(t, 1, 20*time.Second)
	if it := items[0]; it.Route.Table != "Bound" || string(it.Event.Body) != `{"v":9}` ||
		it.SystemProperties[0].Value != "dev9" || it.SystemProperties[2].Value != "m9" {
		t.Fatalf("item %+v", it)
	}
}
