// Package azurite runs Azurite's blob service (npm azurite@3.35.0) for
// tests: on a free loopback port, in memory, stopped by its pid. The binary
// is $AZURITE_BLOB (.ci/run exports it) or the copy npm installs in
// internal/connect/eventgrid/testdata/azurite; tests skip when neither
// exists.
package azurite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// Azurite's well-known development account.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// installDir is where `npm ci` puts Azurite, relative to the module root.
const installDir = "internal/connect/eventgrid/testdata/azurite"

// Bin finds azurite-blob.
func Bin() (string, error) {
	if b := os.Getenv("AZURITE_BLOB"); b != "" {
		if _, err := os.Stat(b); err == nil {
			return b, nil
		}
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		b := filepath.Join(root, installDir, "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(b); err == nil {
			return b, nil
		}
	}
	return "", errors.New("Azurite is not installed: run `npm ci` in " + installDir + " (or set AZURITE_BLOB)")
}

// Server is one running Azurite blob service.
type Server struct {
	// Endpoint is the development account's blob endpoint,
	// http://127.0.0.1:<port>/devstoreaccount1.
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Start runs Azurite on a free loopback port and waits (30s at most) until
// it answers.
func Start() (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "azurite")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--inMemoryPersistence",
		"--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent")
	cmd.Dir = dir // Azurite writes its debug and lock files here
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s := &Server{Endpoint: fmt.Sprintf("http://127.0.0.1:%d/%s", port, Account), cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		os.RemoveAll(dir)
		close(s.done)
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("Azurite exited at start: %s", stderr.String())
		default:
		}
		if resp, err := http.Get(base); err == nil {
			resp.Body.Close()
			return s, nil
		}
	}
	s.Stop()
	return nil, fmt.Errorf("Azurite did not answer on %s within 30s", base)
}

// Stop kills Azurite (its data is in memory) and waits for it.
func (s *Server) Stop() {
	s.cmd.Process.Kill()
	<-s.done
}

// shared is one Azurite per test binary.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the endpoint of the test binary's Azurite, starting it on
// first use; the test skips when Azurite is not installed. Call StopShared
// from TestMain after m.Run.
func Shared(t testing.TB) string {
	t.Helper()
	if _, err := Bin(); err != nil {
		t.Skip(err.Error())
	}
	shared.once.Do(func() { shared.srv, shared.err = Start() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv.Endpoint
}

// StopShared stops the Azurite Shared started, if any.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
	}
}

// Client is an azblob client of the development account at endpoint, as a
// user's program would make it.
func Client(t testing.TB, endpoint string) *azblob.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(Account, Key)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := azblob.NewClientWithSharedKeyCredential(strings.TrimRight(endpoint, "/")+"/", cred, &azblob.ClientOptions{
		ClientOptions: policy.ClientOptions{InsecureAllowCredentialWithHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// Upload creates the container when needed and uploads one block blob
// with metadata.
func Upload(t testing.TB, cl *azblob.Client, container, name string, body []byte, metadata map[string]string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cl.CreateContainer(ctx, container, nil); err != nil && !strings.Contains(err.Error(), "ContainerAlreadyExists") {
		t.Fatal(err)
	}
	md := map[string]*string{}
	for k, v := range metadata {
		md[k] = &v
	}
	if _, err := cl.UploadBuffer(ctx, container, name, body, &blockblob.UploadBufferOptions{Metadata: md}); err != nil {
		t.Fatal(err)
	}
}
