package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"odx/internal/storage"
)

// TestRealCompilerEndToEnd runs KQL through odx's compiler on stored data.
func TestRealCompilerEndToEnd(t *testing.T) {
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
	for i := 0; i < 3; i++ {
		if _, err := st.Ingest(ctx, storage.IngestBatch{Database: "DB", Table: "T", Rows: [][]any{
			{i%2 == 0, int32(i), int64(i * 10), float64(i) / 2, "1.5", when, int64(i), fmt.Sprint("s", i), nil, `{"n":1}`},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	q := New(st, Options{})
	set, err := q.Query(ctx, admin, "DB", "T | where l >= 10 | project s, l, d, dyn | order by l asc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	var got []string
	for {
		row, ok, err := set.Tables[0].Next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%v %v %v %s", row[0], row[1], row[2], row[3]))
	}
	if fmt.Sprint(got) != "[s1 10 1.5 {\"n\":1} s2 20 1.5 {\"n\":1}]" {
		t.Fatalf("rows %v", got)
	}
}
