package kql

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzCompile checks that parsing, checking and compiling never panic
// (it calls the stages directly, without Compile's recover).
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("testdata/queries/*.kql")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	f.Add(`print x = dynamic([1, {"a": 2}])[1].a, y = bin(datetime(2020-01-01), 1h) | mv-expand x | parse y with * "a" z:long`)
	opts := testOptions()
	f.Fuzz(func(t *testing.T, q string) {
		compileAll(q, opts)
	})
}
