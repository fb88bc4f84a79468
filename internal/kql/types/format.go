package types

import (
	"fmt"
	"strings"
	"time"
)

// FormatDateTime prints t the way Kusto serialises datetime values:
// ISO 8601 UTC with exactly seven fraction digits (`2017-01-01T00:00:00.0000000Z`).
func FormatDateTime(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%07dZ", t.Nanosecond()/100)
}

// FormatTimeSpan prints a tick count as Kusto prints timespans:
// `[-][d.]hh:mm:ss[.fffffff]`, with the fraction only when it is not zero.
func FormatTimeSpan(ticks int64) string {
	var b strings.Builder
	neg := ticks < 0
	u := uint64(ticks)
	if neg {
		b.WriteByte('-')
		u = uint64(-ticks)
	}
	days := u / uint64(TicksPerDay)
	rem := u % uint64(TicksPerDay)
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	h := rem / uint64(TicksPerHour)
	rem %= uint64(TicksPerHour)
	m := rem / uint64(TicksPerMinute)
	rem %= uint64(TicksPerMinute)
	s := rem / uint64(TicksPerSecond)
	frac := rem % uint64(TicksPerSecond)
	fmt.Fprintf(&b, "%02d:%02d:%02d", h, m, s)
	if frac != 0 {
		fmt.Fprintf(&b, ".%07d", frac)
	}
	return b.String()
}
