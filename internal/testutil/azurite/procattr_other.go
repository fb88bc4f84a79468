//go:build !linux

package azurite

import "os/exec"

func dieWithParent(*exec.Cmd) {}
