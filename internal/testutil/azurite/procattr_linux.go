package azurite

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes Azurite die with the test binary, so that a killed
// or timed-out test leaves no Azurite behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
