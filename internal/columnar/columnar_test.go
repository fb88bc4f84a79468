package columnar

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"odx/internal/kql/types"
)

var kinds = []Kind{Bool, Int32, Int64, Float64, String, DateTime, Any, Const}

// Rows go into a block and come back as they went in: typed values,
// nulls, a datetime as ticks inside and a UTC time outside, a constant on
// every row.
func TestRowsRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 28, 21, 0, 0, 123456700, time.UTC)
	guid := [16]byte{1, 2, 3}
	rows := [][]any{
		{true, int32(-7), int64(1) << 40, 2.5, "x", when, guid, nil},
		{nil, nil, nil, nil, nil, nil, nil, nil},
		{false, int32(0), int64(0), 0.0, "", when.Add(time.Hour), "1.5", nil},
	}
	b, err := FromRows(kinds, rows)
	if err != nil {
		t.Fatal(err)
	}
	b.Cols[7] = ConstColumn("extent")
	if ticks, _ := types.TicksFromTime(when); b.Cols[5].Int64s[0] != ticks {
		t.Fatalf("datetime stored as %d, want ticks %d", b.Cols[5].Int64s[0], ticks)
	}
	got := b.Rows()
	for r := range rows {
		want := append([]any(nil), rows[r]...)
		want[7] = "extent"
		if !reflect.DeepEqual(got[r], want) {
			t.Fatalf("row %d: got %v, want %v", r, got[r], want)
		}
	}

	s := b.Slice(1, 3)
	if s.Len != 2 || !reflect.DeepEqual(s.Rows(), got[1:]) {
		t.Fatalf("slice: got %v, want %v", s.Rows(), got[1:])
	}
	b.CopyCell(4, 0, 1) // a value over a null
	b.CopyCell(0, 1, 2) // a null over a value
	if b.Value(4, 1) != "x" || b.Value(0, 2) != nil {
		t.Fatalf("CopyCell: got %v and %v, want x and nil", b.Value(4, 1), b.Value(0, 2))
	}
	if n := RowCount([]*Block{b, s}); n != 5 {
		t.Fatalf("RowCount = %d, want 5", n)
	}
}

// A value a column's kind cannot hold, or a row of the wrong width, is an
// error naming the row and column; a datetime outside Kusto's range is
// null.
func TestFromRowsErrors(t *testing.T) {
	if _, err := FromRows([]Kind{Int64, String}, [][]any{{int64(1), "a"}, {int64(2), 3}}); err == nil || !strings.Contains(err.Error(), "row 2, column 2") {
		t.Fatalf("err = %v, want one naming row 2, column 2", err)
	}
	if _, err := FromRows([]Kind{Int64}, [][]any{{int64(1), "extra"}}); err == nil || !strings.Contains(err.Error(), "row 1") {
		t.Fatalf("err = %v, want one naming row 1", err)
	}
	b, err := FromRows([]Kind{DateTime}, [][]any{{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil || b.Value(0, 0) != nil {
		t.Fatalf("year 10000: %v, %v; want null", b.Value(0, 0), err)
	}
}

func TestKindOf(t *testing.T) {
	want := map[types.Type]Kind{types.Bool: Bool, types.Int: Int32, types.Long: Int64, types.TimeSpan: Int64, types.Real: Float64,
		types.String: String, types.Dynamic: String, types.DateTime: DateTime, types.Decimal: Any, types.Guid: Any}
	for typ, k := range want {
		if got := KindOf(typ); got != k {
			t.Errorf("KindOf(%s) = %s, want %s", typ, got, k)
		}
	}
}
