// Package profile profiles the measured phase of a benchmark alone (not
// its setup or its reference runs), for the *_CPUPROFILE variables the
// benchmarks read.
package profile

import (
	"os"
	"runtime/pprof"
	"testing"
)

// Start writes a CPU profile of what runs until the returned func is
// called to path, and the allocation profile at start and at stop to
// path.allocs0 and path.allocs (`pprof -base path.allocs0 path.allocs`
// shows what the phase allocated: garbage costs CPU in the collector,
// charged to whoever allocates next). An empty path profiles nothing.
func Start(tb testing.TB, path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		tb.Fatalf("cannot profile (is -test.cpuprofile set too?): %v", err)
	}
	writeAllocs(path + ".allocs0")
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		writeAllocs(path + ".allocs")
	}
}

func writeAllocs(path string) {
	if f, err := os.Create(path); err == nil {
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
}
