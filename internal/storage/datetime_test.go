package storage

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
)

func ticksOf(t *testing.T, tm time.Time) int64 {
	t.Helper()
	ticks, ok := types.TicksFromTime(tm)
	if !ok {
		t.Fatalf("%v is outside the datetime range", tm)
	}
	return ticks
}

// A data file written while datetimes were TIMESTAMP_NS opens with its
// datetime columns converted to ticks, values kept to the 100 ns, nulls kept.
func TestOpenMigratesTimestampColumnsToTicks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odx.duckdb")
	ctx := context.Background()
	s, err := Open(ctx, path, Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "n", Type: types.Long}, {Name: "When", Type: types.DateTime}})
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	// Lay the table out as older odx versions did, with three rows.
	for _, q := range []string{
		`ALTER TABLE ` + tbl.SQL() + ` ALTER COLUMN "When" SET DATA TYPE TIMESTAMP_NS USING NULL`,
		`INSERT INTO ` + tbl.SQL() + ` VALUES (1, TIMESTAMP_NS '2024-05-06 07:08:09.1234567', uuid()), (2, TIMESTAMP_NS '1969-12-31 23:59:59.9999999', uuid()), (3, NULL, uuid())`,
	} {
		if _, err := s.db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, path, nil)
	want := map[int64]any{
		1: ticksOf(t, time.Date(2024, 5, 6, 7, 8, 9, 123456700, time.UTC)),
		2: ticksOf(t, time.Date(1969, 12, 31, 23, 59, 59, 999999900, time.UTC)),
		3: nil,
	}
	got := map[int64]any{}
	err = queryAll(ctx, s.db, `SELECT n, "When", typeof("When") FROM `+tbl.SQL(), func(v []any) error {
		if v[2] != "BIGINT" {
			t.Errorf("column type after open: %v", v[2])
		}
		got[v[0].(int64)] = v[1]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("row %d: got %v, want %v", n, got[n], w)
		}
	}
	// The schema Kusto sees is unchanged, and new rows land next to the old ones.
	if tbl2, _ := s.Snapshot().databases["DB"].Tbl("T"); tbl2.CSLSchema() != "n:long,When:datetime" {
		t.Fatalf("schema after migration: %s", tbl2.CSLSchema())
	}
	if _, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: [][]any{{int64(4), time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)}}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()+` WHERE "When" = ?`, types.MaxDateTimeTicks); n != 1 {
		t.Fatalf("9999-12-31 23:59:59.9999999 stored %d times", n)
	}
}

// Ingested datetimes cover Kusto's whole range, far outside TIMESTAMP_NS's
// 1677..2262; .alter column converts between datetime and string text.
func TestDateTimeRangeAndColumnConversions(t *testing.T) {
	s := openTemp(t, "", nil)
	mustCreate(t, s, "DB", "T", []schema.Column{{Name: "n", Type: types.Long}, {Name: "When", Type: types.DateTime}, {Name: "Text", Type: types.String}})
	ctx := context.Background()
	first := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
	rows := [][]any{{int64(1), first, "0001-01-01T00:00:00Z"}, {int64(2), last, "2024-05-06 07:08:09"}}
	if _, err := s.Ingest(ctx, IngestBatch{Database: "DB", Table: "T", Rows: rows}); err != nil {
		t.Fatal(err)
	}
	tbl, _ := s.Snapshot().databases["DB"].Tbl("T")
	if n := count(t, s, `SELECT count(*) FROM `+tbl.SQL()+` WHERE "When" IN (?, ?)`, int64(0), types.MaxDateTimeTicks); n != 2 {
		t.Fatalf("range ends stored as ticks: %d of 2", n)
	}
	if err := s.AlterColumnType(ctx, "DB", "T", "When", schema.Column{Type: types.String}); err != nil {
		t.Fatal(err)
	}
	if err := s.AlterColumnType(ctx, "DB", "T", "Text", schema.Column{Type: types.DateTime}); err != nil {
		t.Fatal(err)
	}
	got := map[int64][2]any{}
	err := queryAll(ctx, s.db, `SELECT n, "When", "Text" FROM `+tbl.SQL(), func(v []any) error {
		got[v[0].(int64)] = [2]any{v[1], v[2]}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[1][0] != "0001-01-01T00:00:00.0000000Z" || got[2][0] != "9999-12-31T23:59:59.9999999Z" {
		t.Errorf("datetime as text: %v, %v", got[1][0], got[2][0])
	}
	if got[1][1] != int64(0) || got[2][1] != ticksOf(t, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("text as datetime ticks: %v, %v", got[1][1], got[2][1])
	}
}
