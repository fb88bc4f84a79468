package arm

import (
	"testing"
	"time"
)

func TestISODuration(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"P365D": 365 * day, "P31D": 31 * day, "PT12H": 12 * time.Hour, "P1DT12H": 36 * time.Hour,
		"P1W": 7 * day, "P1Y": 365 * day, "PT1H30M": 90 * time.Minute, "PT0.5S": 500 * time.Millisecond, "p2d": 2 * day,
	} {
		got, err := parseISODuration(in)
		if err != nil || got != want {
			t.Errorf("parseISODuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "P", "7 days", "PT", "P1H", "PT1D", "1D", "P1DT", "P-1D", "P1000Y"} {
		if _, err := parseISODuration(bad); err == nil {
			t.Errorf("parseISODuration(%q) accepted", bad)
		}
	}
	for d, want := range map[time.Duration]string{365 * day: "P365D", 36 * time.Hour: "P1DT12H", 90 * time.Minute: "PT1H30M", 0: "P0D"} {
		if got := formatISODuration(d); got != want {
			t.Errorf("formatISODuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := parseISODuration(formatISODuration(d)); err != nil || back != d {
			t.Errorf("round trip of %v: %v %v", d, back, err)
		}
	}
}
