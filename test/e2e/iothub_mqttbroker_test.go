package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqbroker "odx/internal/testutil/mosquitto"
)

// TestIotHubOnMosquitto: `odx serve --config` binds an IoT hub to a Debian
// mosquitto broker (iotHubs.<hub>.mqtt); an IotHub data connection made
// through ARM reads it with a shared subscription, and messages that
// mosquitto_pub sends in IoT Hub's topic layout arrive with the device id
// from the topic and routing by the property bag.
func TestIotHubOnMosquitto(t *testing.T) {
	bin := mqbroker.Binary()
	pub, perr := exec.LookPath("mosquitto_pub")
	if bin == "" || perr != nil {
		t.Fatal("mosquitto and mosquitto_pub are required (apt-get install -y mosquitto mosquitto-clients; .ci/run installs them)")
	}
	dir := t.TempDir()
	addr := mqbroker.Start(t, bin, "allow_anonymous true\n").Addr
	host, port, _ := net.SplitHostPort(addr)
	cfg := filepath.Join(dir, "odx.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("iotHubs:\n  yard:\n    mqtt:\n      address: %q\n      clientIdPrefix: odx-e2e-\n", addr)), 0o600)
	s := startServerWithConfig(t, cfg)

	cluster := ehSub + "/providers/Microsoft.Kusto/clusters/odxyard"
	s.armPut(cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}})
	s.armPut(cluster+"/databases/Yard", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}})
	s.mgmt("Yard", ".create table Telemetry (DeviceId: string, Temp: real)")
	s.mgmt("Yard", ".create table Alerts (DeviceId: string, Level: long)")
	s.mgmt("Yard", `.create table Telemetry ingestion json mapping "M" '[{"column":"DeviceId","Properties":{"Path":"$[\'iothub-connection-device-id\']"}},{"column":"Temp","Properties":{"Path":"$.temp"}}]'`)
	s.mgmt("Yard", `.create table Alerts ingestion json mapping "A" '[{"column":"DeviceId","Properties":{"Path":"$[\'iothub-connection-device-id\']"}},{"column":"Level","Properties":{"Path":"$.level"}}]'`)
	s.armPut(cluster+"/databases/Yard/dataConnections/cranes", map[string]any{"kind": "IotHub", "location": "westeurope",
		"properties": map[string]any{
			"iotHubResourceId":       ehSub + "/providers/Microsoft.Devices/IotHubs/yard",
			"sharedAccessPolicyName": "iothubowner",
			"consumerGroup":          "$Default",
			"tableName":              "Telemetry",
			"mappingRuleName":        "M",
			"dataFormat":             "JSON",
			"eventSystemProperties":  []string{"iothub-connection-device-id"},
		}})

	send := func(device, bag, msg string) {
		t.Helper()
		out, err := exec.Command(pub, "-h", host, "-p", port, "-V", "mqttv5", "-q", "1", "-i", device,
			"-t", "devices/"+device+"/messages/events/"+bag, "-m", msg).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub: %v\n%s", err, out)
		}
	}
	// mosquitto drops what nobody subscribed to: send until the
	// connection's shared subscription is in place.
	for i, deadline := 0, time.Now().Add(30*time.Second); s.count("Yard", "Telemetry | where DeviceId == 'probe' | count") == 0; i++ {
		if time.Now().After(deadline) {
			s.dumpLog()
			t.Fatal("the IotHub connection did not read mosquitto within 30s")
		}
		send("probe", fmt.Sprintf("%%24.mid=p%d", i), `{"temp": 0}`)
		time.Sleep(300 * time.Millisecond)
	}
	send("crane-1", "%24.mid=c1", `{"temp": 21.5}`)
	send("crane-2", "%24.mid=c2", `{"temp": 19}`)
	send("crane-2", "Table=Alerts&IngestionMappingReference=A&%24.mid=c3", `{"level": 3}`)
	s.waitCount("Yard", "Telemetry | where DeviceId startswith 'crane' | count", 2, 30*time.Second)
	s.waitCount("Yard", "Alerts | count", 1, 30*time.Second)
	if body := s.queryV1("Yard", "Telemetry | where DeviceId startswith 'crane' | summarize total=sum(Temp), devices=dcount(DeviceId) | project total, devices"); !strings.Contains(body, "[40.5,2]") {
		t.Fatalf("rows from the cranes: %s", body)
	}
	if body := s.queryV1("Yard", "Alerts | project DeviceId, Level"); !strings.Contains(body, `["crane-2",3]`) {
		t.Fatalf("routed row: %s", body)
	}
}
