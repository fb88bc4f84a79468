package engine

import (
	"context"
	"strings"
	"testing"
)

// odx replaces DuckDB's 16MB checkpoint threshold (see
// DefaultCheckpointThreshold), a configured one replaces odx's, and a
// value DuckDB cannot read is an error naming the setting.
func TestCheckpointThreshold(t *testing.T) {
	ctx := context.Background()
	setting := func(opts Options) string {
		t.Helper()
		db, err := Open(t.TempDir()+"/t.duckdb", opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rs, err := db.Query(ctx, "SELECT current_setting('checkpoint_threshold')")
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		var v string
		for rs.Next() {
			vals, _ := rs.Values()
			v, _ = vals[0].(string)
		}
		return v
	}
	if got := setting(Options{}); got != "244.1 MiB" {
		t.Errorf("default checkpoint_threshold = %q, want 256MB (244.1 MiB)", got)
	}
	if got := setting(Options{CheckpointThreshold: "1GiB"}); got != "1.0 GiB" {
		t.Errorf("configured checkpoint_threshold = %q, want 1.0 GiB", got)
	}
	_, err := Open(t.TempDir()+"/t.duckdb", Options{CheckpointThreshold: "lots"})
	if err == nil || !strings.Contains(err.Error(), "checkpoint_threshold") {
		t.Errorf("threshold %q: want an error naming checkpoint_threshold, got %v", "lots", err)
	}
}
