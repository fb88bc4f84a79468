package types

import (
	"testing"
	"time"
)

// FormatDateTime writes what Go's layout for Kusto's datetime text writes,
// for times in any zone and with any fraction.
func TestFormatDateTime(t *testing.T) {
	east := time.FixedZone("east", 5*3600+30*60)
	for _, at := range []time.Time{
		time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 99, time.UTC),
		time.Date(2027, 1, 1, 2, 0, 0, 100, east), // the day before in UTC
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := FormatDateTime(at), at.UTC().Format("2006-01-02T15:04:05.0000000Z"); got != want {
			t.Errorf("FormatDateTime(%v) = %s, want %s", at, got, want)
		}
	}
}
