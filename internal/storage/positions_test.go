package storage

import (
	"context"
	"maps"
	"path/filepath"
	"testing"

	"odx/internal/engine"
	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

// A data connection's commit stores the positions of all its partitions in
// one statement: they commit with the rows, merge duplicates by the larger
// offset, and never move backwards.
func TestPutPositionsTxCommitsWithRowsAndNeverMovesBack(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, filepath.Join(t.TempDir(), "p.duckdb"), nil)
	if err := s.EnsureIngestionTables(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "D", "T", []schema.Column{{Name: "A", Type: types.Long}})
	put := func(pos ...SourcePosition) error {
		_, err := s.Ingest(ctx, IngestBatch{Database: "D", Table: "T", Rows: [][]any{{int64(1)}},
			Extra: func(tx *engine.Tx) error { return PutPositionsTx(tx, "Conn-A", pos) }})
		return err
	}
	if err := put(SourcePosition{0, 10}, SourcePosition{1, 7}, SourcePosition{0, 12}, SourcePosition{2, 3}); err != nil {
		t.Fatal(err)
	}
	// Partition 1 goes back (a racing older commit): it keeps 7.
	if err := put(SourcePosition{1, 5}, SourcePosition{2, 9}, SourcePosition{3, 1}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Positions(ctx, "conn-a")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int32]int64{0: 12, 1: 7, 2: 9, 3: 1}; !maps.Equal(got, want) {
		t.Fatalf("positions %v, want %v", got, want)
	}
	if n := count(t, s, `SELECT count(*) FROM `+mustTable(t, s, "D", "T")); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	// A failing commit stores neither rows nor positions.
	_, err = s.Ingest(ctx, IngestBatch{Database: "D", Table: "T", Rows: [][]any{{int64(1)}},
		Extra: func(tx *engine.Tx) error {
			if err := PutPositionsTx(tx, "conn-a", []SourcePosition{{0, 99}}); err != nil {
				return err
			}
			_, err := tx.Exec(`SELECT * FROM no_such_table`)
			return err
		}})
	if err == nil {
		t.Fatal("commit with a failing extra step succeeded")
	}
	if got, _ := s.Positions(ctx, "conn-a"); got[0] != 12 {
		t.Fatalf("partition 0 at %d after a failed commit, want 12", got[0])
	}
}

func mustTable(t *testing.T, s *Store, db, table string) string {
	t.Helper()
	d, _ := s.Snapshot().DB(db)
	tb, ok := d.Tbl(table)
	if !ok {
		t.Fatalf("table %s.%s missing", db, table)
	}
	return tb.SQL()
}
