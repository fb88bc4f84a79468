package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"odx/internal/app"
	"odx/internal/auth/authclient"
	"odx/internal/bulkingest"
	"odx/internal/config"
)

// TestIngestCommandAgainstARealOdx runs `odx ingest` against an odx
// serving HTTPS in process, with the credentials and CA of its data
// directory, as a user would after `odx serve`.
func TestIngestCommandAgainstARealOdx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole odx")
	}
	dataDir := t.TempDir()
	files := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Serve{DataDir: dataDir, Listen: "127.0.0.1:0", KafkaListen: "127.0.0.1:0", MQTTListen: "127.0.0.1:0",
		File: config.File{IngestAllowedDirs: []string{files}}}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		a.Close()
	}()

	// A database to ingest into, made through the data plane like a user would.
	creds, err := authclient.Load(dataDir, a.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	httpClient, _ := creds.HTTPClient()
	cred, _ := creds.Credential()
	k := &bulkingest.Kusto{Endpoint: a.BaseURL(), HTTP: httpClient, Cred: cred}
	if _, err := k.Mgmt(ctx, "NetDefaultDB", ".create database Telemetry"); err != nil {
		t.Fatal(err)
	}

	os.WriteFile(filepath.Join(files, "a.csv"), []byte("When,Device,Value\n2026-01-01T00:00:00Z,a,1.5\n2026-01-01T00:00:01Z,b,2\n"), 0o644)
	os.WriteFile(filepath.Join(files, "b.csv"), []byte("When,Device,Value\n2026-01-01T00:00:02Z,c,3\n"), 0o644)
	var stdout, stderr bytes.Buffer
	err = runIngest([]string{"--data", dataDir, "--endpoint", a.BaseURL(), "--db", "Telemetry", "--table", "Events",
		"--create-table", "--ignore-first-record", filepath.Join(files, "*.csv")}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("odx ingest: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if got := stdout.String(); !strings.Contains(got, "files: 2 (0 failed)  rows: 3  extents: 2  failures: 0") {
		t.Fatalf("report %q", got)
	}

	// A bad value: reported, and the exit status says so.
	os.WriteFile(filepath.Join(files, "bad.csv"), []byte("2026-01-01T00:00:03Z,d,oops\n"), 0o644)
	stdout.Reset()
	err = runIngest([]string{"--data", dataDir, "--endpoint", a.BaseURL(), "--db", "Telemetry", "--table", "Events",
		filepath.Join(files, "bad.csv")}, &stdout, &stderr)
	if err == nil || !strings.Contains(stdout.String(), "failures: 1") || !strings.Contains(stdout.String(), "column Value") {
		t.Fatalf("bad value: %v\n%s", err, stdout.String())
	}
	// No database: a usage error.
	if err := runIngest([]string{"--table", "T", "x.csv"}, &stdout, &stderr); err != errUsage {
		t.Fatalf("missing --db: %v", err)
	}
}
