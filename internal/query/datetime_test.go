package query

import (
	"context"
	"testing"
	"time"

	"odx/internal/kql/schema"
	"odx/internal/kql/types"
	"odx/internal/storage"
)

// Datetimes keep Kusto's whole range (0001-01-01 .. 9999-12-31 23:59:59.9999999)
// from ingestion through arithmetic to the result, where clients see
// time.Time values; arithmetic that leaves the range yields null.
func TestDateTimeFullRangeEndToEnd(t *testing.T) {
	ctx := context.Background()
	st, err := storage.Open(ctx, "", storage.Options{RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.CreateDatabase(ctx, "DB", true, false, storage.Principal{})
	dtCols := []schema.Column{{Name: "n", Type: types.Long}, {Name: "When", Type: types.DateTime}}
	if err := st.CreateTables(ctx, "DB", []storage.TableSpec{{Name: "D", Columns: dtCols}}, storage.CreateOnly); err != nil {
		t.Fatal(err)
	}
	first := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
	mid := time.Date(1500, 6, 15, 13, 45, 30, 123456700, time.UTC) // before TIMESTAMP_NS's 1677
	if _, err := st.Ingest(ctx, storage.IngestBatch{Database: "DB", Table: "D", Rows: [][]any{
		{int64(1), first}, {int64(2), last}, {int64(3), mid}, {int64(4), nil},
	}}); err != nil {
		t.Fatal(err)
	}
	q := New(st, Options{})
	rows := func(text string) [][]any {
		t.Helper()
		set, err := q.Query(ctx, admin, "DB", text, nil)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		defer set.Close()
		var out [][]any
		for {
			row, ok, err := set.Tables[0].Next()
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			if !ok {
				return out
			}
			out = append(out, append([]any(nil), row...))
		}
	}
	same := func(what string, got any, want time.Time) {
		t.Helper()
		if g, ok := got.(time.Time); !ok || !g.Equal(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	r := rows(`D | order by n asc | project When, plus = When + 1tick, minus = When - 1tick, day = startofday(When), month = startofmonth(When), s = tostring(When)`)
	if len(r) != 4 {
		t.Fatalf("%d rows", len(r))
	}
	same("first", r[0][0], first)
	same("first + 1tick", r[0][1], first.Add(100))
	if r[0][2] != nil || r[1][1] != nil {
		t.Errorf("leaving the range must give null: first-1tick=%v last+1tick=%v", r[0][2], r[1][1])
	}
	same("last", r[1][0], last)
	same("last - 1tick", r[1][2], last.Add(-100))
	same("startofday(last)", r[1][3], time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))
	same("startofmonth(1500-06-15)", r[2][4], time.Date(1500, 6, 1, 0, 0, 0, 0, time.UTC))
	if r[1][5] != "9999-12-31T23:59:59.9999999Z" || r[2][5] != "1500-06-15T13:45:30.1234567Z" || r[3][5] != "" {
		t.Errorf("tostring: %q %q %q", r[1][5], r[2][5], r[3][5])
	}
	if r[3][0] != nil || r[3][1] != nil {
		t.Errorf("a null datetime stays null: %v %v", r[3][0], r[3][1])
	}

	// Comparisons, bins and differences are tick arithmetic over the whole range.
	r = rows(`D | where When between (datetime(1000-01-01) .. datetime(9999-12-31 23:59:59.9999999)) | summarize c = count(), lo = min(When), span = max(When) - min(When), b = min(bin(When, 7d))`)
	if r[0][0] != int64(2) {
		t.Fatalf("between matched %v rows, want 2", r[0][0])
	}
	same("min", r[0][1], mid)
	lastTicks, _ := types.TicksFromTime(last)
	midTicks, _ := types.TicksFromTime(mid)
	if r[0][2] != lastTicks-midTicks {
		t.Errorf("max - min = %v ticks, want %d", r[0][2], lastTicks-midTicks)
	}
	// 7-day bins count from 0001-01-01
	week := 7 * types.TicksPerDay
	wantBin, _ := types.TimeFromTicks(midTicks / week * week)
	same("bin(mid, 7d)", r[0][3], wantBin)

	r = rows(`print a = datetime_add('year', 1, datetime(9999-01-01)), b = endofyear(datetime(9999-06-15)), c = todatetime(0), d = unixtime_seconds_todatetime(-62135596800), e = format_datetime(datetime(0001-02-03 04:05:06.1234567), 'yyyy-MM-dd HH:mm:ss.fffffff')`)
	if r[0][0] != nil {
		t.Errorf("datetime_add past 9999: %v, want null", r[0][0])
	}
	same("endofyear(9999)", r[0][1], last)
	same("todatetime(0)", r[0][2], first)
	same("unixtime_seconds_todatetime(-62135596800)", r[0][3], first)
	if r[0][4] != "0001-02-03 04:05:06.1234567" {
		t.Errorf("format_datetime: %q", r[0][4])
	}
}
