package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"odx/internal/kql/types"
)

// Policy kinds, as named in `.alter table T policy <kind>`.
const (
	PolicyRetention          = "retention"
	PolicyCaching            = "caching"
	PolicyIngestionBatching  = "ingestionbatching"
	PolicyStreamingIngestion = "streamingingestion"
	PolicyMerge              = "merge"
)

// RetentionPolicy is Kusto's retention policy JSON.
type RetentionPolicy struct {
	SoftDeletePeriod string `json:"SoftDeletePeriod"`
	Recoverability   string `json:"Recoverability"`
}

// EffectiveRetention is the soft-delete period that applies to a table: its
// own retention policy, else its database's; ok is false when neither sets one.
func (s *Snapshot) EffectiveRetention(db, table string) (time.Duration, bool) {
	d, found := s.databases[db]
	if !found {
		return 0, false
	}
	texts := []string{}
	if t, ok := d.tables[table]; ok {
		texts = append(texts, t.Policies[PolicyRetention])
	}
	texts = append(texts, d.Policies[PolicyRetention])
	for _, text := range texts {
		if text == "" {
			continue
		}
		var p RetentionPolicy
		if json.Unmarshal([]byte(text), &p) != nil || p.SoftDeletePeriod == "" {
			continue
		}
		ticks, err := ParseTimeSpan(p.SoftDeletePeriod)
		if err != nil {
			continue
		}
		if ticks > int64(maxDuration/100) {
			return maxDuration, true
		}
		return time.Duration(ticks * 100), true
	}
	return 0, false
}

// ParseTimeSpan parses Kusto's timespan text `[-][d.]hh:mm[:ss[.fffffff]]`
// (as in policies) or a KQL literal such as `10d`, `1h`, `30m`, `15s`,
// `100ms`, into 100 ns ticks.
func ParseTimeSpan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("'%s' is not a timespan (expected d.hh:mm:ss or a literal such as 10d)", s)
	if s == "" {
		return 0, bad
	}
	if !strings.Contains(s, ":") {
		units := []struct {
			suffix string
			ticks  int64
		}{{"ms", types.TicksPerMillisecond}, {"microseconds", types.TicksPerMicrosecond}, {"tick", 1},
			{"d", types.TicksPerDay}, {"h", types.TicksPerHour}, {"m", types.TicksPerMinute}, {"s", types.TicksPerSecond}}
		for _, u := range units {
			if num, ok := strings.CutSuffix(s, u.suffix); ok {
				f, err := strconv.ParseFloat(num, 64)
				if err != nil {
					return 0, bad
				}
				return int64(f * float64(u.ticks)), nil
			}
		}
		return 0, bad
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days int64
	if dot := strings.IndexByte(s, '.'); dot >= 0 && dot < strings.IndexByte(s, ':') {
		d, err := strconv.ParseInt(s[:dot], 10, 64)
		if err != nil {
			return 0, bad
		}
		days, s = d, s[dot+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, bad
	}
	ticks := days*types.TicksPerDay + h*types.TicksPerHour + m*types.TicksPerMinute
	if len(parts) == 3 {
		sec, frac, _ := strings.Cut(parts[2], ".")
		sv, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return 0, bad
		}
		ticks += sv * types.TicksPerSecond
		if frac != "" {
			frac = (frac + "0000000")[:7]
			fv, err := strconv.ParseInt(frac, 10, 64)
			if err != nil {
				return 0, bad
			}
			ticks += fv
		}
	}
	if neg {
		ticks = -ticks
	}
	return ticks, nil
}

// EnforceRetention drops every extent whose creation time is older than its
// table's effective soft-delete period. It returns how many extents it dropped.
func (s *Store) EnforceRetention(ctx context.Context) (int, error) {
	snap := s.Snapshot()
	now := s.now()
	dropped := 0
	for _, d := range snap.DBs() {
		for _, t := range d.Tbls() {
			period, ok := snap.EffectiveRetention(d.name, t.name)
			if !ok || period == maxDuration {
				continue
			}
			gone, err := s.DropExtents(ctx, ExtentFilter{Database: d.name, Table: t.name, CreatedBefore: now.Add(-period)})
			if err != nil {
				// The table may have been dropped meanwhile; the next run will see.
				s.log.Warn("retention: cannot drop expired extents", "database", d.name, "table", t.name, "err", err)
				continue
			}
			if len(gone) > 0 {
				s.log.Info("retention: dropped expired extents", "database", d.name, "table", t.name, "extents", len(gone))
			}
			dropped += len(gone)
		}
	}
	return dropped, nil
}

func (s *Store) retentionLoop(every time.Duration) {
	defer s.wg.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), every*10)
			s.EnforceRetention(ctx)
			cancel()
		}
	}
}

// SoftDeletePeriod reads the SoftDeletePeriod of a retention policy text.
func SoftDeletePeriod(policy string) (time.Duration, bool) {
	var p RetentionPolicy
	if json.Unmarshal([]byte(policy), &p) != nil || p.SoftDeletePeriod == "" {
		return 0, false
	}
	ticks, err := ParseTimeSpan(p.SoftDeletePeriod)
	if err != nil {
		return 0, false
	}
	return time.Duration(ticks * 100), true
}

// HotCachePeriod reads DataHotSpan from a caching policy text, in ADX's
// shape {"DataHotSpan":{"Value":"1.00:00:00"}} or the flat {"DataHotSpan":"1.00:00:00"}.
func HotCachePeriod(policy string) (time.Duration, bool) {
	var p struct {
		DataHotSpan json.RawMessage `json:"DataHotSpan"`
	}
	if json.Unmarshal([]byte(policy), &p) != nil || len(p.DataHotSpan) == 0 {
		return 0, false
	}
	var text string
	if json.Unmarshal(p.DataHotSpan, &text) != nil {
		var wrapped struct{ Value string }
		if json.Unmarshal(p.DataHotSpan, &wrapped) != nil {
			return 0, false
		}
		text = wrapped.Value
	}
	ticks, err := ParseTimeSpan(text)
	if err != nil {
		return 0, false
	}
	return time.Duration(ticks * 100), true
}
