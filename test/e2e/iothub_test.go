package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestIotHubConnection: a device publishes over MQTT/TLS to odx's embedded IoT
// hub with a SAS token from `odx iot token`, and an IotHub data connection
// made through ARM ingests its messages with the IoT system properties.
func TestIotHubConnection(t *testing.T) {
	s := startServer(t, "")
	cluster := ehSub + "/providers/Microsoft.Kusto/clusters/odxiot"
	s.armPut(cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}})
	s.armPut(cluster+"/databases/Devices", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}})
	s.mgmt("Devices", ".create table Telemetry (DeviceId: string, Temp: real, Room: string)")
	s.mgmt("Devices", `.create table Telemetry ingestion json mapping "TelemetryMapping" '[{"column":"DeviceId","Properties":{"Path":"$[\'iothub-connection-device-id\']"}},{"column":"Temp","Properties":{"Path":"$.temp"}},{"column":"Room","Properties":{"Path":"$.room"}}]'`)
	s.armPut(cluster+"/databases/Devices/dataConnections/sensors", map[string]any{"kind": "IotHub", "location": "westeurope",
		"properties": map[string]any{
			"iotHubResourceId":       ehSub + "/providers/Microsoft.Devices/IotHubs/building",
			"sharedAccessPolicyName": "iothubowner",
			"consumerGroup":          "$Default",
			"tableName":              "Telemetry",
			"mappingRuleName":        "TelemetryMapping",
			"dataFormat":             "JSON",
			"eventSystemProperties":  []string{"iothub-connection-device-id"},
		}})

	dev := newDevice(t, s, "building", "sensor-7")
	for _, m := range []string{`{"temp": 21.5, "room": "lab"}`, `{"temp": 19.0, "room": "hall"}`} {
		if out, err := dev.publish(dev.token, m); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	// A wrong token is refused at connect: nothing from it may arrive.
	if out, err := dev.publish(strings.Replace(dev.token, "sig=", "sig=AAAA", 1), `{"temp": 99, "room": "forged"}`); err == nil {
		t.Fatalf("a tampered SAS token must be refused:\n%s", out)
	}

	s.waitCount("Devices", "Telemetry | count", 2, 30*time.Second)
	body := s.queryV1("Devices", "Telemetry | summarize n=count(), total=sum(Temp), devices=dcount(DeviceId), forged=countif(Room == 'forged') | project n, total, devices, forged")
	if !strings.Contains(body, "[2,40.5,1,0]") {
		t.Fatalf("rows from the device: %s", body)
	}
	if body := s.queryV1("Devices", "Telemetry | distinct DeviceId"); !strings.Contains(body, `"sensor-7"`) {
		t.Fatalf("the device id system property must be ingested: %s", body)
	}
}

// TestIotHubPythonArticleFlow: the article's flow for IoT Hub on the binary.
// Debian's python3-azure SDK creates the IotHubDataConnection; a device sends
// CSV messages with mosquitto_pub; the rows are queried back with their values.
func TestIotHubPythonArticleFlow(t *testing.T) {
	s := startServer(t, "")
	runArticleFlow(t, s, "IotHub")
	dev := newDevice(t, s, "building", "storm-sensor")
	for _, m := range []string{"2007-01-01T00:00:00Z,2007-01-01T05:00:00Z,FLORIDA,Heavy Rain",
		"2007-01-02T00:00:00Z,2007-01-02T01:30:00Z,GEORGIA,Thunderstorm Wind"} {
		if out, err := dev.publish(dev.token, m); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	s.waitCount("mykustodatabase", "StormEvents | count", 2, 30*time.Second)
	body := s.queryV1("mykustodatabase", "StormEvents | where State == 'GEORGIA' | project EventType, hours = (EndTime - StartTime) / 1h")
	if !strings.Contains(body, `["Thunderstorm Wind",1.5]`) {
		t.Fatalf("rows: %s", body)
	}
}

// device is an IoT device that publishes with Debian's mosquitto_pub to odx's
// embedded IoT hub, the way a real device talks to IoT Hub: client id = device
// id, the hub's username convention, a SAS token from `odx iot token`.
type device struct {
	s                   *server
	pub, hub, id, token string
}

func newDevice(t *testing.T, s *server, hub, id string) *device {
	t.Helper()
	pub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Fatal("mosquitto_pub is required (apt-get install -y mosquitto-clients; .ci/run installs it)")
	}
	token, err := s.run("iot", "token", "--data", s.dataDir, "--hub", hub, "--device", id)
	if err != nil {
		t.Fatalf("odx iot token: %v\n%s", err, token)
	}
	return &device{s: s, pub: pub, hub: hub, id: id, token: strings.TrimSpace(token)}
}

// publish sends one message at QoS 1 with the given SAS token as password.
func (d *device) publish(password, msg string) ([]byte, error) {
	host, port, _ := strings.Cut(d.s.mqtt, ":")
	cmd := exec.Command(d.pub, "-h", host, "-p", port, "--cafile", d.s.creds.CAFile, "-V", "mqttv311", "-q", "1",
		"-i", d.id, "-u", d.hub+".azure-devices.net/"+d.id+"/?api-version=2021-04-12", "-P", password,
		"-t", "devices/"+d.id+"/messages/events/", "-m", msg)
	return cmd.CombinedOutput()
}
