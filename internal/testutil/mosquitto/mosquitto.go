// Package mosquitto runs Debian's mosquitto broker for tests, on a free
// port of 127.0.0.1, stopped with the test.
package mosquitto

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"odx/internal/testutil/odxproc"
)

// Broker is a running mosquitto.
type Broker struct {
	Addr string // host:port
	Cmd  *exec.Cmd
}

// Binary is the mosquitto executable (on PATH, else Debian's /usr/sbin),
// or "" when it is not installed.
func Binary() string {
	if bin, err := exec.LookPath("mosquitto"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	return ""
}

// Start runs bin with one listener on a free port, the listener's extra
// config lines (e.g. "allow_anonymous true\n", TLS files), no persistence
// and errors-only logging, and waits until it accepts connections.
func Start(t testing.TB, bin, extra string) *Broker {
	t.Helper()
	addr := odxproc.FreePort(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("user root\nlistener %s 127.0.0.1\n%spersistence false\nlog_type error\n", port, extra)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mosquitto did not start")
		}
	}
	return &Broker{Addr: addr, Cmd: cmd}
}
