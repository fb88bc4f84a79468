package gcpolicy

import (
	"runtime/debug"
	"testing"
)

// Apply sets odx's values unless the environment sets Go's own.
func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	Apply()
	if got := debug.SetGCPercent(-1); got != Percent {
		t.Errorf("GOGC %d, want %d", got, Percent)
	}
	if got := debug.SetMemoryLimit(-1); got != SoftLimit {
		t.Errorf("memory limit %d, want %d", got, SoftLimit)
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(1 << 40)
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	Apply()
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GOGC set in the environment: Apply changed it to %d", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("GOMEMLIMIT set in the environment: Apply changed the limit to %d", got)
	}
}
