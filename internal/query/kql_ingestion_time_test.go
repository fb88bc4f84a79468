package query

import (
	"context"
	"testing"
	"time"

	"odx/internal/storage"
)

// TestKQLIngestionTimeFromStorage checks the compiler's ingestion_time()
// against the extents table storage really writes (added by the KQL core).
func TestKQLIngestionTimeFromStorage(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.CreateDatabase(ctx, "DB", true, false, storage.Principal{})
	if err := st.CreateTables(ctx, "DB", []storage.TableSpec{{Name: "T", Columns: cols}}, storage.CreateOnly); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	before := time.Now().UTC().Add(-time.Minute)
	if _, err := st.Ingest(ctx, storage.IngestBatch{Database: "DB", Table: "T", Rows: [][]any{
		{true, int32(1), int64(10), 0.5, "1.5", when, int64(1), "s", nil, `{"n":1}`},
	}}); err != nil {
		t.Fatal(err)
	}
	q := New(st, Options{})
	set, err := q.Query(ctx, admin, "DB", "T | extend it = ingestion_time() | where isnotnull(it) | project it", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	row, ok, err := set.Tables[0].Next()
	if err != nil || !ok {
		t.Fatalf("no row: %v", err)
	}
	it, isTime := row[0].(time.Time)
	if !isTime || it.Before(before) {
		t.Fatalf("ingestion_time() = %#v, want the time of the ingestion", row[0])
	}
}
