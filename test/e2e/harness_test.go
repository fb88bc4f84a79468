// Package e2e drives a real `odx serve` process with the real clients: the Go
// Kusto client azkustodata, azidentity, Node's azure-kusto-data, plain HTTPS.
// Every test here talks to the built binary over loopback, as a user would.
package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"odx/internal/testutil/odxproc"
)

// odxBinary is built once by TestMain.
var odxBinary string

func TestMain(m *testing.M) { os.Exit(odxproc.RunWithBinary(m, &odxBinary)) }

// credentials is DIR/credentials.json as DESIGN.md fixes it.
type credentials = odxproc.Credentials

// server is one running `odx serve`; odxproc starts and stops the process,
// the fields mirror its current run for the tests.
type server struct {
	t       testing.TB
	dataDir string
	listen  string
	mqtt    string // --mqtt-listen, kept across restarts
	config  string // --config file, when set
	proc    *odxproc.Server
	cmd     *exec.Cmd
	log     *os.File
	creds   credentials
	client  *http.Client // trusts odx's CA
	url     string
}

func freePort(t testing.TB) string { return odxproc.FreePort(t) }

// startServer runs odx on fresh loopback ports with dataDir ("" = a new temp dir)
// and waits until /healthz answers.
func startServer(t testing.TB, dataDir string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{t: t, dataDir: dataDir, listen: freePort(t), mqtt: freePort(t)}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start runs odx (again) on the server's ports and data directory and
// waits until it is ready.
func (s *server) start() {
	s.t.Helper()
	s.proc = &odxproc.Server{T: s.t, Binary: odxBinary, DataDir: s.dataDir, Listen: s.listen, MQTTListen: s.mqtt, Config: s.config}
	s.proc.Start()
	s.cmd, s.log, s.creds, s.client, s.url = s.proc.Cmd, s.proc.Log, s.proc.Creds, s.proc.Client, s.proc.URL
}

func (s *server) dumpLog() {
	if s.proc != nil {
		s.proc.DumpLog()
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.proc != nil {
		s.proc.Stop()
	}
}

// kill sends SIGKILL, as a crash would.
func (s *server) kill() { s.proc.Kill() }

// token gets a client-credentials token from odx's AAD v2 endpoint for scope.
func (s *server) token(clientID, secret, scope string) string {
	s.t.Helper()
	return s.proc.Token(clientID, secret, scope)
}

// dataToken is a token for odx's data plane as the bootstrap principal.
func (s *server) dataToken() string {
	return s.token(s.creds.ClientID, s.creds.ClientSecret, s.creds.DataEndpoint+"/.default")
}

// run runs an odx client subcommand against this server's data dir.
func (s *server) run(args ...string) (string, error) {
	cmd := exec.Command(odxBinary, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
