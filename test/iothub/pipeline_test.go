// Package iothub_test runs IoT Hub data connections end to end inside one
// process (and, for the crash test, a child process that is killed): the
// embedded event hub, the embedded IoT hub's device endpoint, real MQTT
// devices (paho, mosquitto_pub), the IotHub connection and the real
// ingestion pipeline over a DuckDB store; rows are read back from DuckDB.
package iothub_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/twmb/franz-go/pkg/kgo"

	"odx/internal/connect"
	"odx/internal/connect/eventhub"
	iotconn "odx/internal/connect/iothub"
	"odx/internal/hub"
	"odx/internal/ingest/pipeline"
	"odx/internal/iothub"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/pki"
	"odx/internal/storage"
)

func quiet() *slog.Logger {
	if os.Getenv("ODX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// node is one odx: embedded event hub, embedded IoT hub, store, pipeline
// and connection manager, all under dir.
type node struct {
	t        testing.TB
	dir      string
	tls      *pki.Bundle
	eventHub *hub.Hub
	keys     *iothub.Keys
	devices  *iothub.Server
	store    *storage.Store
	svc      *pipeline.Service
	m        *connect.Manager
}

// startNode starts a node; kafkaAddr and mqttAddr may name fixed ports so a
// restarted node is found at the same place. bound are IoT hubs bound in
// the configuration (to an MQTT broker, say).
func startNode(t testing.TB, dir, kafkaAddr, mqttAddr string, bound map[string]iotconn.BoundHub) (*node, error) {
	ctx := context.Background()
	n := &node{t: t, dir: dir}
	var err error
	if n.tls, err = pki.Ensure(dir, nil); err != nil {
		return nil, err
	}
	if n.eventHub, err = hub.Start(hub.Options{Listen: kafkaAddr, DataDir: filepath.Join(dir, "eventhub"), Logger: quiet()}); err != nil {
		return nil, err
	}
	if n.keys, err = iothub.OpenKeys(dir, nil); err != nil {
		return nil, err
	}
	if n.devices, err = iothub.Start(iothub.Options{Listen: mqttAddr, TLS: n.tls.ServerTLS, Keys: n.keys, EventHub: n.eventHub, Logger: quiet()}); err != nil {
		return nil, err
	}
	if n.store, err = storage.Open(ctx, filepath.Join(dir, "odx.duckdb"), storage.Options{RetentionInterval: -1}); err != nil {
		return nil, err
	}
	batching := pipeline.BatchingPolicy{MaxDelay: 200 * time.Millisecond}
	if v, err := strconv.Atoi(os.Getenv("ODX_IOT_BENCH_MAXITEMS")); err == nil {
		batching.MaxItems = v // benchmark knob: events per commit (ADX's default is 500)
	}
	if n.svc, err = pipeline.New(ctx, n.store, pipeline.Options{Logger: quiet(), DefaultBatching: batching}); err != nil {
		return nil, err
	}
	reg := connect.NewRegistry()
	conn := iotconn.New(iotconn.Options{
		Keys:          n.keys,
		Hubs:          bound,
		Embedded:      &eventhub.Endpoint{Brokers: []string{n.eventHub.Addr()}, Partitions: hub.DefaultPartitions, StaticMembership: true},
		EmbeddedHub:   n.eventHub,
		NodeID:        "node-of-" + dir,
		ClientOptions: []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)},
	})
	if err := iotconn.Register(reg, conn); err != nil {
		return nil, err
	}
	sink := n.svc.Sink()
	n.m, err = connect.NewManager(connect.Options{Registry: reg, Sink: sink, Checkpoints: sink, Logger: quiet(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, EventItemBytes: connect.EventItemBytes}) // as odx serve
	return n, err
}

func mustStartNode(t *testing.T, dir string) *node {
	t.Helper()
	n, err := startNode(t, dir, "127.0.0.1:0", "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	if n.m == nil {
		return
	}
	n.m.Close()
	n.devices.Close()
	n.svc.Close()
	n.store.Close()
	n.eventHub.Close()
	n.m = nil
}

func (n *node) table(db, table string, cols []schema.Column) error {
	ctx := context.Background()
	if _, err := n.store.CreateDatabase(ctx, db, true, true, storage.Principal{}); err != nil {
		return err
	}
	if d, ok := n.store.Snapshot().DB(db); ok {
		if _, ok := d.Tbl(table); ok {
			return nil
		}
	}
	return n.store.CreateTables(ctx, db, []storage.TableSpec{{Name: table, Columns: cols}}, storage.CreateOnly)
}

func (n *node) rows(db, table, orderBy string) ([][]any, error) {
	d, ok := n.store.Snapshot().DB(db)
	if !ok {
		return nil, nil
	}
	tbl, ok := d.Tbl(table)
	if !ok {
		return nil, nil
	}
	var cols []string
	for _, c := range tbl.Columns() {
		cols = append(cols, `"`+c.Name+`"`)
	}
	rs, err := n.store.Engine().Query(context.Background(), "SELECT "+strings.Join(cols, ", ")+" FROM "+tbl.SQL()+" ORDER BY "+orderBy)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		v, err := rs.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, datetimesAsTimes(tbl.Columns(), slices.Clone(v)))
	}
	return out, nil
}

// datetimesAsTimes turns the stored ticks of datetime columns into times.
func datetimesAsTimes(cols []schema.Column, row []any) []any {
	for i, c := range cols {
		if ticks, ok := row[i].(int64); ok && c.Type == types.DateTime {
			row[i], _ = types.TimeFromTicks(ticks)
		}
	}
	return row
}

// tableSQL is a table's SQL name, for queries of the benchmark.
func (n *node) tableSQL(db, table string) string {
	d, ok := n.store.Snapshot().DB(db)
	if !ok {
		return ""
	}
	tbl, ok := d.Tbl(table)
	if !ok {
		return ""
	}
	return tbl.SQL()
}

// query runs SQL on the store.
func (n *node) query(sql string) ([][]any, error) {
	rs, err := n.store.Engine().Query(context.Background(), sql)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out [][]any
	for rs.Next() {
		v, err := rs.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, slices.Clone(v))
	}
	return out, nil
}

func (n *node) waitRows(t *testing.T, db, table, orderBy string, want int) [][]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, err := n.rows(db, table, orderBy)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= want {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s.%s has %d rows, want %d", db, table, len(rows), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const sub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers"

func connSpec(name, hubName string) connect.Spec {
	return connect.Spec{
		ID:       sub + "/Microsoft.Kusto/Clusters/odx/Databases/Plant/DataConnections/" + name,
		Database: "Plant", Name: name, Kind: "IotHub",
		Source:        sub + "/Microsoft.Devices/IotHubs/" + hubName,
		ConsumerGroup: "$Default", Table: "Telemetry", Format: "CSV",
		SystemProperties: []string{"iothub-connection-device-id", "iothub-enqueuedtime", "message-id"},
		RetrievalStart:   time.Now().Add(-time.Hour),
		Extra:            map[string]string{iotconn.PolicyProperty: "service"},
	}
}

var telemetry = []schema.Column{
	{Name: "DeviceId", Type: types.String},
	{Name: "EnqueuedTime", Type: types.DateTime},
	{Name: "MessageId", Type: types.String},
	{Name: "Sensor", Type: types.String},
	{Name: "Value", Type: types.Long},
}

// device connects a paho (MQTT 3.1.1) device with a token from `odx iot token`'s code path.
func (n *node) device(t testing.TB, hubName, id string, autoReconnect bool) (paho.Client, error) {
	return n.connectDevice(n.devices.Addr(), hubName, id, autoReconnect)
}

func pkiFor(dir string) (*pki.Bundle, error) { return pki.Ensure(dir, nil) }

func (n *node) connectDevice(addr, hubName, id string, autoReconnect bool) (paho.Client, error) {
	tok, err := n.keys.DeviceToken(hubName, id, "", "", time.Hour)
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().AddBroker("ssl://" + addr).SetClientID(id).
		SetUsername(iothub.HostName(hubName) + "/" + id + "/?api-version=2021-04-12").SetPassword(tok).
		SetTLSConfig(n.tls.ClientTLS()).SetProtocolVersion(4).SetCleanSession(true).
		SetAutoReconnect(autoReconnect).SetConnectRetry(autoReconnect).SetConnectRetryInterval(100 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	tk := c.Connect()
	if !tk.WaitTimeout(20 * time.Second) {
		return nil, context.DeadlineExceeded
	}
	return c, tk.Error()
}

// Devices publish CSV telemetry with IoT system properties prepended as
// the connection lists them, JSON routed to another table by its message
// properties, and a message naming an unknown format that becomes an
// ingestion failure; a device with a bad token is refused; mosquitto_pub
// publishes too.
func TestIoTHubIntoDuckDB(t *testing.T) {
	dir := t.TempDir()
	n := mustStartNode(t, dir)
	if err := n.table("Plant", "Telemetry", telemetry); err != nil {
		t.Fatal(err)
	}
	if err := n.table("Plant", "Alerts", []schema.Column{{Name: "Sensor", Type: types.String}, {Name: "Level", Type: types.Long}}); err != nil {
		t.Fatal(err)
	}
	s := connSpec("plant", "plant-hub")
	if p := n.m.Validate(t.Context(), s); len(p) > 0 {
		t.Fatal(p)
	}
	if err := n.m.Apply(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	d1, err := n.device(t, "plant-hub", "press-1", false)
	if err != nil {
		t.Fatal(err)
	}
	defer d1.Disconnect(100)
	pub := func(bag, body string) {
		t.Helper()
		tk := d1.Publish("devices/press-1/messages/events/"+bag, 1, false, body)
		if !tk.WaitTimeout(10*time.Second) || tk.Error() != nil {
			t.Fatalf("publish: %v", tk.Error())
		}
	}
	pub("%24.mid=m1", "rpm,1200")
	pub("%24.mid=m2", "temp,71")
	pub("Table=Alerts&Format=json&%24.mid=m3", `{"Sensor":"temp","Level":2}`)
	pub("Format=xml&%24.mid=m4", "<x/>")

	// A device whose token was signed for another device is refused.
	other, _ := n.keys.DeviceToken("plant-hub", "press-9", "", "", time.Hour)
	bad := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + n.devices.Addr()).SetClientID("press-2").
		SetUsername("plant-hub.azure-devices.net/press-2/?api-version=2021-04-12").SetPassword(other).
		SetTLSConfig(n.tls.ClientTLS()).SetAutoReconnect(false))
	if tk := bad.Connect(); tk.WaitTimeout(10*time.Second) && tk.Error() == nil {
		t.Fatal("a device with another device's token was accepted")
	}

	want := 2
	if bin, err := exec.LookPath("mosquitto_pub"); err == nil {
		host, port, _ := net.SplitHostPort(n.devices.Addr())
		tok, _ := n.keys.DeviceToken("plant-hub", "mq-1", "", "", time.Hour)
		out, err := exec.Command(bin, "-h", host, "-p", port, "--cafile", n.tls.CAFile, "-q", "1", "-i", "mq-1",
			"-u", "plant-hub.azure-devices.net/mq-1/?api-version=2021-04-12", "-P", tok,
			"-t", "devices/mq-1/messages/events/%24.mid=q1", "-m", "hum,40").CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
		want++
	}

	rows := n.waitRows(t, "Plant", "Telemetry", `"MessageId"`, want)
	if len(rows) != want {
		t.Fatalf("rows %v", rows)
	}
	wantRows := map[string][]any{"m1": {"press-1", "rpm", int64(1200)}, "m2": {"press-1", "temp", int64(71)}, "q1": {"mq-1", "hum", int64(40)}}
	for _, r := range rows {
		w := wantRows[r[2].(string)]
		if w == nil || r[0] != w[0] || r[3] != w[1] || r[4] != w[2] {
			t.Errorf("row %v, want device/sensor/value %v", r, w)
		}
		enq, ok := r[1].(time.Time)
		if !ok || enq.Before(before.Add(-time.Second)) || enq.After(time.Now()) {
			t.Errorf("row %v: EnqueuedTime %v is not the time IoT hub received it", r, r[1])
		}
	}
	alerts := n.waitRows(t, "Plant", "Alerts", `"Sensor"`, 1)
	if alerts[0][0] != "temp" || alerts[0][1] != int64(2) {
		t.Fatalf("alerts %v", alerts)
	}
	var fails []storage.IngestionFailure
	for deadline := time.Now().Add(10 * time.Second); len(fails) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		fails, _ = n.store.ListFailures(t.Context(), storage.FailureFilter{Databases: []string{"Plant"}})
	}
	if len(fails) != 1 || fails[0].ErrorCode != connect.CodeFormatNotSupported {
		t.Fatalf("failures %+v", fails)
	}
}
