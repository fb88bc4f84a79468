package kustoapi

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"odx/internal/kql/types"
)

// The fast datetime and timespan writers must agree with the reference
// formatting of the types package on every value.
func TestFastTemporalFormatsMatchTypes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ticks := []int64{0, 1, -1, 9_999_999, 10_000_000, types.TicksPerDay, -types.TicksPerDay - 1, math.MaxInt64, math.MinInt64 + 1}
	for range 2000 {
		ticks = append(ticks, rng.Int64N(1<<50)-1<<49)
	}
	for _, tk := range ticks {
		want := `"` + types.FormatTimeSpan(tk) + `"`
		if got := string(appendTimeSpan(nil, tk)); got != want {
			t.Errorf("timespan %d: got %s, want %s", tk, got, want)
		}
	}
	times := []time.Time{time.Unix(0, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)}
	for range 2000 {
		times = append(times, time.Unix(rng.Int64N(1<<35)-1<<34, rng.Int64N(1e9)).In(time.FixedZone("x", 3600)))
	}
	for _, tm := range times {
		want := `"` + types.FormatDateTime(tm) + `"`
		if got := string(appendDateTime(nil, tm)); got != want {
			t.Errorf("datetime %v: got %s, want %s", tm, got, want)
		}
	}
}

func TestAppendStringEscapes(t *testing.T) {
	cases := map[string]string{
		"plain":           `"plain"`,
		"a\"b\\c":         `"a\"b\\c"`,
		"new\nline\r\t":   `"new\nline\r\t"`,
		"\x00\x1f":        `"\u0000\u001f"`,
		"é€😀":             `"é€😀"`,
		"bad\xffutf8":     `"bad\ufffdutf8"`,
		"sep\u2028\u2029": `"sep\u2028\u2029"`,
	}
	for in, want := range cases {
		if got := string(appendString(nil, in)); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestAppendValueRejectsWrongGoTypes(t *testing.T) {
	if _, err := appendValue(nil, types.Long, "12", dynamicEmbedded); err == nil {
		t.Error("a string in a long column must be an error, not a silently wrong number")
	}
	if _, err := appendValue(nil, types.DateTime, int64(5), dynamicEmbedded); err == nil {
		t.Error("an int64 in a datetime column must be an error")
	}
	if got, _ := appendValue(nil, types.Real, 1e21, dynamicEmbedded); string(got) != "1e+21" {
		t.Errorf("1e21 = %s", got)
	}
	if got, _ := appendValue(nil, types.Real, 0.1, dynamicEmbedded); string(got) != "0.1" {
		t.Errorf("0.1 = %s", got)
	}
}

func TestParseTimeSpan(t *testing.T) {
	cases := map[string]time.Duration{
		"00:01:59.99":      time.Minute + 59990*time.Millisecond, // Go client
		"00:00:30.000":     30 * time.Second,                     // Node client
		"1.02:03:04":       26*time.Hour + 3*time.Minute + 4*time.Second,
		"00:00:00.0000001": 100 * time.Nanosecond,
		"10:30":            10*time.Hour + 30*time.Minute,
		"-00:00:01":        -time.Second,
		"90s":              90 * time.Second,
		"5m":               5 * time.Minute,
		"1.5h":             90 * time.Minute,
		"250ms":            250 * time.Millisecond,
		" 2d ":             48 * time.Hour,
	}
	for in, want := range cases {
		got, err := parseTimeSpan(in)
		if err != nil || got != want {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "1:2:3:4", "aa:00:00", "10"} {
		if _, err := parseTimeSpan(bad); err == nil {
			t.Errorf("parseTimeSpan(%q) succeeded", bad)
		}
	}
}
