// Package gcpolicy sets how Go's garbage collector trades memory for CPU
// in odx. Ingestion allocates at a high rate (decoded batches, column
// blocks, consumer fetches) while its live heap stays small, so with Go's
// default (collect when the heap has doubled) odx spends a sixth of its CPU
// collecting; letting the heap grow to five times its live size before a
// collection costs a few hundred MB and saves most of that. A soft limit
// keeps a large live heap from growing fivefold.
package gcpolicy

import (
	"os"
	"runtime/debug"
)

const (
	// Percent is odx's GOGC: collect when the heap has grown by 400% of
	// what the last collection left.
	Percent = 400
	// SoftLimit is odx's GOMEMLIMIT: near it the collector runs as often
	// as it must, whatever Percent says. DuckDB's memory is not counted
	// (see the memoryLimit setting).
	SoftLimit = 2 << 30
)

// Apply sets odx's policy for what the environment leaves unset: GOGC and
// GOMEMLIMIT, when set, are Go's own and win.
func Apply() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(SoftLimit)
	}
}
