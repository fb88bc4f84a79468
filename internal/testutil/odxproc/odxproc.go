// Package odxproc runs the real `odx serve` binary for end-to-end tests:
// it builds cmd/odx once, starts it on fresh loopback ports, waits until
// /healthz answers and credentials.json is written, and stops it by its
// pid (SIGTERM, or SIGKILL for crash tests). Test packages that drive the
// binary share it instead of keeping their own copy of the start loop.
package odxproc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build compiles odx/cmd/odx into dir and returns the binary's path.
// Call it from TestMain (go must be on PATH, as for `go test`).
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "odx")
	cmd := exec.Command("go", "build", "-o", bin, "odx/cmd/odx")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cannot build odx: %w", err)
	}
	return bin, nil
}

// RunWithBinary is a test package's TestMain: it builds odx into a
// temporary directory, sets *binary to it, runs the tests and removes the
// directory. It returns the exit code for os.Exit.
func RunWithBinary(m *testing.M, binary *string) int {
	dir, err := os.MkdirTemp("", "odx-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *binary, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Credentials is DIR/credentials.json as DESIGN.md fixes it.
type Credentials struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Authority    string `json:"authority"`
	ARMEndpoint  string `json:"armEndpoint"`
	DataEndpoint string `json:"dataEndpoint"`
	CAFile       string `json:"caFile"`
}

// Server is one `odx serve` process. Set the exported fields before Start;
// Listen, MQTTListen and DataDir are kept across restarts, the Kafka port
// is fresh on each start unless KafkaListen is set.
type Server struct {
	T           testing.TB
	Binary      string
	DataDir     string
	Listen      string // --listen (https)
	KafkaListen string // --kafka-listen; "" picks a free port on every start
	MQTTListen  string // --mqtt-listen
	Config      string // --config file, when set

	Cmd    *exec.Cmd
	Log    *os.File     // the current run's stdout and stderr
	Creds  Credentials  // read by WaitReady
	Client *http.Client // trusts odx's CA
	URL    string       // https://<Listen>

	exited  chan struct{} // closed when the current run's process has exited
	waitErr error         // its exit status, once exited is closed
}

// FreePort is a loopback address nobody listens on right now.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// New prepares a server of binary on fresh loopback ports with dataDir
// ("" = a new temporary directory). It does not start it.
func New(t testing.TB, binary, dataDir string) *Server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	return &Server{T: t, Binary: binary, DataDir: dataDir, Listen: FreePort(t), MQTTListen: FreePort(t)}
}

// Start runs odx and waits until it is ready (see WaitReady).
func (s *Server) Start() {
	t := s.T
	t.Helper()
	logFile, err := os.Create(filepath.Join(s.DataDir, fmt.Sprintf("odx-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	s.Log = logFile
	kafka := s.KafkaListen
	if kafka == "" {
		kafka = FreePort(t)
	}
	args := []string{"serve", "--data", s.DataDir, "--listen", s.Listen, "--kafka-listen", kafka}
	if s.MQTTListen != "" {
		args = append(args, "--mqtt-listen", s.MQTTListen)
	}
	if s.Config != "" {
		args = append(args, "--config", s.Config)
	}
	s.Cmd = exec.Command(s.Binary, args...)
	s.Cmd.Stdout, s.Cmd.Stderr = logFile, logFile
	if err := s.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) {
		s.waitErr = cmd.Wait()
		close(exited)
	}(s.Cmd)
	s.URL = "https://" + s.Listen
	s.WaitReady()
}

// WaitReady waits (60s at most) for /healthz over TLS with odx's CA, then
// reads credentials.json.
func (s *Server) WaitReady() {
	t := s.T
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.DumpLog()
			t.Fatalf("odx did not become healthy within 60s")
		}
		if s.Exited() {
			s.DumpLog()
			t.Fatalf("odx exited early: %v", s.waitErr)
		}
		if s.Client == nil {
			if pem, err := os.ReadFile(filepath.Join(s.DataDir, "tls", "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(pem) {
					s.Client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				}
			}
			continue
		}
		if resp, err := s.Client.Get(s.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(s.DataDir, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &s.Creds); err != nil {
		t.Fatalf("credentials.json: %v", err)
	}
}

// DumpLog writes the current run's log into the test's output.
func (s *Server) DumpLog() {
	if s.Log == nil {
		return
	}
	raw, _ := os.ReadFile(s.Log.Name())
	s.T.Logf("odx log:\n%s", raw)
}

// Exited reports whether the current run's process has exited.
func (s *Server) Exited() bool {
	if s.exited == nil {
		return true
	}
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits (30s at most) for a clean exit; an unclean
// or late exit fails the test. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.Exited() {
		return
	}
	s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.waitErr != nil {
			s.DumpLog()
			s.T.Errorf("odx did not shut down cleanly on SIGTERM: %v", s.waitErr)
		}
	case <-time.After(30 * time.Second):
		s.Cmd.Process.Kill()
		<-s.exited
		s.DumpLog()
		s.T.Errorf("odx did not stop within 30s of SIGTERM")
	}
	s.Log.Close()
}

// Kill sends SIGKILL, as a crash would, and waits for the process to go.
func (s *Server) Kill() {
	if s.Exited() {
		return
	}
	s.Cmd.Process.Kill()
	<-s.exited
	s.Log.Close()
}

// Token gets a client-credentials token from odx's AAD v2 endpoint.
func (s *Server) Token(clientID, secret, scope string) string {
	s.T.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
	resp, err := s.Client.Post(s.URL+"/"+s.Creds.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		s.T.Fatalf("token request: %d %s", resp.StatusCode, tok.Error)
	}
	return tok.AccessToken
}

// DataToken is a token for odx's data plane as the bootstrap principal.
func (s *Server) DataToken() string {
	return s.Token(s.Creds.ClientID, s.Creds.ClientSecret, s.Creds.DataEndpoint+"/.default")
}

// KafkaAddr is the embedded event hub's address, from odx's log.
func (s *Server) KafkaAddr() string {
	s.T.Helper()
	re := regexp.MustCompile(`embedded event hub ready.* kafka=(\S+)`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		raw, _ := os.ReadFile(s.Log.Name())
		if m := re.FindSubmatch(raw); m != nil {
			return string(m[1])
		}
	}
	s.DumpLog()
	s.T.Fatal("odx did not log the embedded event hub's address")
	return ""
}

// Run runs an odx client subcommand (odx ingest, odx env, ...) and returns
// its combined output.
func (s *Server) Run(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, s.Binary, args...).CombinedOutput()
	return string(out), err
}
