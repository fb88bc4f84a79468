package types

import "time"

// Kusto's datetime is .NET's DateTime: a count of 100 ns ticks since
// 0001-01-01 00:00:00 UTC, up to 9999-12-31 23:59:59.9999999. odx stores it
// as that tick count (a BIGINT), so the whole range is representable and
// datetime ± timespan, bin() and comparisons are integer arithmetic.
const (
	// UnixEpochTicks is 1970-01-01 00:00:00 in datetime ticks.
	UnixEpochTicks int64 = 621355968000000000
	// MinDateTimeTicks is 0001-01-01 00:00:00.
	MinDateTimeTicks int64 = 0
	// MaxDateTimeTicks is 9999-12-31 23:59:59.9999999; a computation that
	// leaves [MinDateTimeTicks, MaxDateTimeTicks] yields null, as in Kusto.
	MaxDateTimeTicks int64 = 3155378975999999999
)

// TicksFromTime returns t (truncated to 100 ns) as datetime ticks; ok is
// false when t is outside Kusto's datetime range.
func TicksFromTime(t time.Time) (ticks int64, ok bool) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return 0, false
	}
	// Unix seconds of years 1..9999 times 10^7 stay well inside int64.
	return UnixEpochTicks + t.Unix()*TicksPerSecond + int64(t.Nanosecond())/100, true
}

// TimeFromTicks returns the UTC time of datetime ticks; ok is false when
// ticks is outside Kusto's datetime range.
func TimeFromTicks(ticks int64) (t time.Time, ok bool) {
	if ticks < MinDateTimeTicks || ticks > MaxDateTimeTicks {
		return time.Time{}, false
	}
	u := ticks - UnixEpochTicks
	sec, rem := u/TicksPerSecond, u%TicksPerSecond
	if rem < 0 {
		sec, rem = sec-1, rem+TicksPerSecond
	}
	return time.Unix(sec, rem*100).UTC(), true
}
