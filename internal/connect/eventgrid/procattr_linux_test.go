package eventgrid_test

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes a helper process die with the test binary, so that a
// killed or timed-out test leaves no Azurite behind.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
