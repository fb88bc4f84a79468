package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestARMScopedRoles: ARM roles assigned at a resource group or subscription
// hold there and below, as Azure RBAC assigns them; elsewhere the caller gets
// ARM's 403 AuthorizationFailed.
func TestARMScopedRoles(t *testing.T) {
	const sub = "/subscriptions/00000000-0000-0000-0000-0000000000a1"
	s := startServer(t, "")
	out, err := s.run("principals", "add", "--data", s.dataDir, "--name", "team-a", "--role", "Contributor",
		"--scope", sub+"/resourceGroups/team-a")
	if err != nil {
		t.Fatalf("odx principals add --scope: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`client id:\s*(\S+)`).FindStringSubmatch(out)[1]
	secret := regexp.MustCompile(`client secret:\s*(\S+)`).FindStringSubmatch(out)[1]
	if out, err := s.run("principals", "assign", "--data", s.dataDir, "--client-id", id, "--role", "Reader", "--scope", sub); err != nil {
		t.Fatalf("odx principals assign: %v\n%s", err, out)
	}
	tok := s.token(id, secret, "https://management.azure.com/.default")
	cluster := `{"location":"westeurope","sku":{"name":"Dev(No SLA)_Standard_E2a_v4","tier":"Basic"}}`
	put := func(rg string) (*http.Response, string) {
		return s.do("PUT", sub+"/resourceGroups/"+rg+"/providers/Microsoft.Kusto/clusters/cluster-"+rg+"?api-version=2023-08-15", cluster, tok)
	}
	if resp, body := put("team-a"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("Contributor at its resource group must create a cluster there: %d %s", resp.StatusCode, body)
	}
	resp, body := put("team-b")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "AuthorizationFailed") {
		t.Fatalf("outside its resource group: %d %s, want 403 AuthorizationFailed", resp.StatusCode, body)
	}
	if resp, body := s.do("GET", sub+"/providers/Microsoft.Kusto/clusters?api-version=2023-08-15", "", tok); resp.StatusCode != 200 {
		t.Fatalf("Reader at the subscription lists its clusters: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.do("GET", "/subscriptions/99999999-9999-9999-9999-999999999999/providers/Microsoft.Kusto/clusters?api-version=2023-08-15", "", tok); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another subscription: %d, want 403", resp.StatusCode)
	}
}
