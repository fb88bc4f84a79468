package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An IoT hub bound to an MQTT broker: the fields users write, the password
// from the environment, and the mistakes they are told about.
func TestIoTHubOnMQTTBroker(t *testing.T) {
	write := func(text string) string {
		p := filepath.Join(t.TempDir(), "odx.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("ODX_TEST_MQTT_PW", "s3cret")
	f, err := Load(write(`
iotHubs:
  plant-hub:
    mqtt:
      address: 127.0.0.1:1883
      username: odx
      password: ${ODX_TEST_MQTT_PW}
      clientIdPrefix: odx-node1-
      sessions: 4
      sessionExpiry: 2h
`))
	if err != nil {
		t.Fatal(err)
	}
	m := f.IoTHubs["plant-hub"].MQTT
	if m == nil || m.Address != "127.0.0.1:1883" || m.Password != "s3cret" || m.Sessions != 4 ||
		time.Duration(m.SessionExpiry) != 2*time.Hour || m.ClientIDPrefix != "odx-node1-" || m.TLS {
		t.Fatalf("mqtt binding read as %+v", m)
	}
	bad := func(text, want string) {
		t.Helper()
		_, err := Load(write(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("config %q: want error containing %q, got %v", text, want, err)
		}
	}
	bad("iotHubs: {h: {mqtt: {address: localhost}}}", "want host:port")
	bad("iotHubs: {h: {mqtt: {address: 'a:1', sessions: 100}}}", "use 1 to 64")
	bad("iotHubs: {h: {mqtt: {address: 'a:1', caFile: ca.pem}}}", "set tls: true")
	bad("iotHubs: {h: {mqtt: {address: 'a:1'}, eventHubEndpoint: {brokers: ['b:2']}}}", "not both")
}
