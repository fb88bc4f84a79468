package types

import (
	"testing"
	"time"
)

func TestTicksRoundTripOverKustoRange(t *testing.T) {
	for _, tc := range []struct {
		tm    time.Time
		ticks int64
	}{
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), MinDateTimeTicks},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), UnixEpochTicks},
		{time.Date(1969, 12, 31, 23, 59, 59, 999999900, time.UTC), UnixEpochTicks - 1},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC), MaxDateTimeTicks},
		// .NET's DateTime(2024, 1, 1).Ticks
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 638396640000000000},
	} {
		got, ok := TicksFromTime(tc.tm)
		if !ok || got != tc.ticks {
			t.Errorf("TicksFromTime(%v) = %d, %v; want %d", tc.tm, got, ok, tc.ticks)
		}
		back, ok := TimeFromTicks(tc.ticks)
		if !ok || !back.Equal(tc.tm) || back.Location() != time.UTC {
			t.Errorf("TimeFromTicks(%d) = %v, %v; want %v", tc.ticks, back, ok, tc.tm)
		}
	}
	// sub-tick nanoseconds are cut, as Kusto keeps 100 ns
	if got, _ := TicksFromTime(time.Date(2024, 1, 1, 0, 0, 0, 199, time.UTC)); got != 638396640000000001 {
		t.Errorf("199 ns = %d ticks past midnight, want 1", got-638396640000000000)
	}
	if _, ok := TicksFromTime(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("year 10000 must be outside the range")
	}
	if _, ok := TicksFromTime(time.Date(0, 12, 31, 23, 59, 59, 0, time.UTC)); ok {
		t.Error("year 0 must be outside the range")
	}
	if _, ok := TimeFromTicks(-1); ok {
		t.Error("tick -1 must be outside the range")
	}
	if _, ok := TimeFromTicks(MaxDateTimeTicks + 1); ok {
		t.Error("one tick past 9999-12-31 23:59:59.9999999 must be outside the range")
	}
}
