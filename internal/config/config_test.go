package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	write := func(t *testing.T, text string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "odx.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("ODX_TEST_EH_CS", "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=s")

	f, err := Load(write(t, `
eventHubNamespaces:
  prod-ns:
    kafka:
      brokers: ["prod-ns.servicebus.windows.net:9093"]
      tls: true
      sasl: {mechanism: PLAIN, username: "$ConnectionString", password: "${ODX_TEST_EH_CS}"}
`))
	if err != nil {
		t.Fatal(err)
	}
	ns := f.EventHubNamespaces["prod-ns"]
	if got := ns.Kafka.SASL.Password; !strings.HasPrefix(got, "Endpoint=sb://x/") {
		t.Fatalf("password not expanded from the environment: %q", got)
	}
	if ns.Kafka.SASL.Username != "$ConnectionString" {
		t.Fatalf("a literal $ must survive: %q", ns.Kafka.SASL.Username)
	}

	if _, err := Load(write(t, "")); err != nil {
		t.Fatalf("an empty file is a valid config: %v", err)
	}

	bad := func(text, want string) {
		t.Helper()
		_, err := Load(write(t, text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("config %q: want error containing %q, got %v", text, want, err)
		}
	}
	bad("publicURL: http://x", "must be an https URL")
	bad("eventHubNamespaces: {ns: {kafka: {brokers: [nohost]}}}", `broker "nohost": want host:port`)
	bad("eventHubNamespaces: {ns: {kafka: {brokers: ['a:1'], sasl: {mechanism: GSSAPI}}}}", "use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	bad("storageAccounts: {acct: {blobEndpoint: 'http://127.0.0.1:10000/a'}}", "set accountKey or sasToken")
	bad("unknownField: 1", "field unknownField not found")
	bad("retentionInterval: soon", "is not a duration")
	bad("eventHubNamespaces: {ns: {kafka: {brokers: ['${ODX_TEST_UNSET_VAR}']}}}", "ODX_TEST_UNSET_VAR")
}
