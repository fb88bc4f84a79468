package types

import (
	"fmt"
	"strings"
	"time"
)

// dateTimeLayout is Kusto's datetime text as a Go layout.
const dateTimeLayout = "2006-01-02T15:04:05.0000000Z"

// FormatDateTime prints t the way Kusto serialises datetime values:
// ISO 8601 UTC with exactly seven fraction digits (`2017-01-01T00:00:00.0000000Z`).
// It runs for every datetime of a query result and every device message
// (IoT Hub writes its times the same way), so years of four digits are
// written digit by digit: Format reads its layout anew each time, about a
// microsecond a call.
func FormatDateTime(t time.Time) string {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(dateTimeLayout)
	}
	hour, minute, sec := t.Clock()
	var b [len(dateTimeLayout)]byte
	put := func(at, digits, v int) {
		for i := at + digits - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, year)
	b[4] = '-'
	put(5, 2, int(month))
	b[7] = '-'
	put(8, 2, day)
	b[10] = 'T'
	put(11, 2, hour)
	b[13] = ':'
	put(14, 2, minute)
	b[16] = ':'
	put(17, 2, sec)
	b[19] = '.'
	put(20, 7, t.Nanosecond()/100)
	b[27] = 'Z'
	return string(b[:])
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
