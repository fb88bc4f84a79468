package arm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseISODuration reads an ISO 8601 duration such as P365D, PT12H or
// P1Y2M3DT4H5M6.5S. ARM databases use it for softDeletePeriod and
// hotCachePeriod. Years count 365 days and months 30, as a period of
// retention can only be counted in days.
func parseISODuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("'%s' is not an ISO 8601 duration such as P365D or PT12H", s)
	rest, ok := strings.CutPrefix(strings.ToUpper(strings.TrimSpace(s)), "P")
	if !ok || rest == "" {
		return 0, bad
	}
	var total float64
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, bad
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return 0, bad
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, bad
		}
		n, err := strconv.ParseFloat(strings.ReplaceAll(rest[:i], ",", "."), 64)
		if err != nil {
			return 0, bad
		}
		var unit time.Duration
		switch u := rest[i]; {
		case !inTime && u == 'Y':
			unit = 365 * 24 * time.Hour
		case !inTime && u == 'M':
			unit = 30 * 24 * time.Hour
		case !inTime && u == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && u == 'D':
			unit = 24 * time.Hour
		case inTime && u == 'H':
			unit = time.Hour
		case inTime && u == 'M':
			unit = time.Minute
		case inTime && u == 'S':
			unit = time.Second
		default:
			return 0, bad
		}
		total += n * float64(unit)
		rest = rest[i+1:]
	}
	if total > float64(100*365*24*time.Hour) {
		return 0, fmt.Errorf("'%s' is longer than 100 years", s)
	}
	return time.Duration(total), nil
}

// formatISODuration writes d the way the Kusto RP does: whole days as P{n}D,
// anything finer with a time part.
func formatISODuration(d time.Duration) string {
	days := d / (24 * time.Hour)
	rem := d - days*24*time.Hour
	var b strings.Builder
	b.WriteString("P")
	if days > 0 || rem == 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if rem > 0 {
		b.WriteString("T")
		if h := rem / time.Hour; h > 0 {
			fmt.Fprintf(&b, "%dH", h)
			rem -= h * time.Hour
		}
		if m := rem / time.Minute; m > 0 {
			fmt.Fprintf(&b, "%dM", m)
			rem -= m * time.Minute
		}
		if rem > 0 {
			b.WriteString(strconv.FormatFloat(rem.Seconds(), 'f', -1, 64) + "S")
		}
	}
	return b.String()
}
