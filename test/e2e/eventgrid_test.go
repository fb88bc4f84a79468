package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEventGridFolderDrop: with no storage account in the config, a new user
// drops files into DIR/storage/<account>/<container>/ and an EventGrid data
// connection made through ARM ingests each one once, across a restart.
func TestEventGridFolderDrop(t *testing.T) {
	s := startServer(t, "")
	cluster := ehSub + "/providers/Microsoft.Kusto/clusters/odxgrid"
	s.armPut(cluster, map[string]any{"location": "westeurope", "sku": map[string]any{"name": "Dev(No SLA)_Standard_E2a_v4", "tier": "Basic"}})
	s.armPut(cluster+"/databases/Landing", map[string]any{"kind": "ReadWrite", "location": "westeurope", "properties": map[string]any{}})
	s.mgmt("Landing", ".create table Sales (Day: datetime, Store: string, Amount: real)")
	s.armPut(cluster+"/databases/Landing/dataConnections/drops", map[string]any{"kind": "EventGrid", "location": "westeurope",
		"properties": map[string]any{
			"storageAccountResourceId": ehSub + "/providers/Microsoft.Storage/storageAccounts/shop",
			"eventHubResourceId":       ehSub + "/providers/Microsoft.EventHub/namespaces/devns/eventhubs/shopnotes",
			"consumerGroup":            "$Default",
			"tableName":                "Sales",
			"dataFormat":               "csv",
		}})

	drop := func(name, content string) {
		t.Helper()
		dir := filepath.Join(s.dataDir, "storage", "shop", "daily")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Write then rename, as a careful producer does, so the file appears whole.
		tmp := filepath.Join(s.dataDir, name+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	drop("2024-05-01.csv", "2024-05-01,north,10.5\n2024-05-01,south,4.5\n")
	s.waitCount("Landing", "Sales | count", 2, 60*time.Second)

	s.stop()
	s.start()
	drop("2024-05-02.csv", "2024-05-02,north,1\n")
	s.waitCount("Landing", "Sales | count", 3, 60*time.Second)
	time.Sleep(2 * time.Second) // a duplicate would arrive within the batching second
	if body := s.queryV1("Landing", "Sales | summarize n=count(), total=sum(Amount)"); !strings.Contains(body, "[3,16]") {
		t.Fatalf("each dropped file must be ingested exactly once: %s", body)
	}
}
