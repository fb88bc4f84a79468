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
	pub, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Fatal("mosquitto_pub is required (apt-get install -y mosquitto-clients; .ci/run installs it)")
	}
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

	token, err := s.run("iot", "token", "--data", s.dataDir, "--hub", "building", "--device", "sensor-7")
	if err != nil {
		t.Fatalf("odx iot token: %v\n%s", err, token)
	}
	token = strings.TrimSpace(token)
	host, port, _ := strings.Cut(s.mqtt, ":")
	publish := func(password, msg string) ([]byte, error) {
		cmd := exec.Command(pub, "-h", host, "-p", port, "--cafile", s.creds.CAFile, "-V", "mqttv311", "-q", "1",
			"-i", "sensor-7", "-u", "building.azure-devices.net/sensor-7/?api-version=2021-04-12", "-P", password,
			"-t", "devices/sensor-7/messages/events/", "-m", msg)
		return cmd.CombinedOutput()
	}
	for _, m := range []string{`{"temp": 21.5, "room": "lab"}`, `{"temp": 19.0, "room": "hall"}`} {
		if out, err := publish(token, m); err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	// A wrong token is refused at connect: nothing from it may arrive.
	if out, err := publish(strings.Replace(token, "sig=", "sig=AAAA", 1), `{"temp": 99, "room": "forged"}`); err == nil {
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
