// Package e2e drives a real `odx serve` process with the real clients: the Go
// Kusto client azkustodata, azidentity, Node's azure-kusto-data, plain HTTPS.
// Every test here talks to the built binary over loopback, as a user would.
package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// odxBinary is built once by TestMain.
var odxBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "odx-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	odxBinary = filepath.Join(dir, "odx")
	build := exec.Command("go", "build", "-o", odxBinary, "odx/cmd/odx")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "cannot build odx:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// credentials is DIR/credentials.json as DESIGN.md fixes it.
type credentials struct {
	TenantID     string `json:"tenantId"`
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	Authority    string `json:"authority"`
	ARMEndpoint  string `json:"armEndpoint"`
	DataEndpoint string `json:"dataEndpoint"`
	CAFile       string `json:"caFile"`
}

// server is one running `odx serve`.
type server struct {
	t       testing.TB
	dataDir string
	listen  string
	mqtt    string // --mqtt-listen, kept across restarts
	config  string // --config file, when set
	cmd     *exec.Cmd
	log     *os.File
	creds   credentials
	client  *http.Client // trusts odx's CA
	url     string
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

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

func (s *server) start() {
	t := s.t
	t.Helper()
	logPath := filepath.Join(s.dataDir, fmt.Sprintf("odx-%d.log", time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.log = logFile
	args := []string{"serve", "--data", s.dataDir, "--listen", s.listen, "--kafka-listen", freePort(t), "--mqtt-listen", s.mqtt}
	if s.config != "" {
		args = append(args, "--config", s.config)
	}
	s.cmd = exec.Command(odxBinary, args...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.url = "https://" + s.listen
	s.waitReady()
}

// waitReady waits for /healthz and reads credentials.json.
func (s *server) waitReady() {
	t := s.t
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.dumpLog()
			t.Fatalf("odx did not become healthy within 60s")
		}
		if s.cmd.ProcessState != nil {
			s.dumpLog()
			t.Fatalf("odx exited early")
		}
		if s.client == nil {
			if pem, err := os.ReadFile(filepath.Join(s.dataDir, "tls", "ca.pem")); err == nil {
				pool := x509.NewCertPool()
				if pool.AppendCertsFromPEM(pem) {
					s.client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				}
			}
			continue
		}
		if resp, err := s.client.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(s.dataDir, "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &s.creds); err != nil {
		t.Fatalf("credentials.json: %v", err)
	}
}

func (s *server) dumpLog() {
	if s.log == nil {
		return
	}
	raw, _ := os.ReadFile(s.log.Name())
	s.t.Logf("odx log:\n%s", raw)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.dumpLog()
			s.t.Errorf("odx did not shut down cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-done
		s.dumpLog()
		s.t.Errorf("odx did not stop within 30s of SIGTERM")
	}
	s.log.Close()
}

// kill sends SIGKILL, as a crash would.
func (s *server) kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.log.Close()
}

// token gets a client-credentials token from odx's AAD v2 endpoint for scope.
func (s *server) token(clientID, secret, scope string) string {
	s.t.Helper()
	form := fmt.Sprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s", clientID, secret, scope)
	resp, err := s.client.Post(s.url+"/"+s.creds.TenantID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		s.t.Fatalf("token request: %d %s", resp.StatusCode, tok.Error)
	}
	return tok.AccessToken
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
