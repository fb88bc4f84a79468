package pipeline

import (
	"encoding/json"
	"time"

	"odx/internal/storage"
)

// BatchingPolicy is a table's effective ingestionbatching policy: a batch
// of queued items is sealed and committed as one extent at the first of
// MaxDelay after its first item, MaxItems items or MaxBytes raw bytes.
type BatchingPolicy struct {
	MaxDelay time.Duration // MaximumBatchingTimeSpan
	MaxItems int           // MaximumNumberOfItems
	MaxBytes int64         // MaximumRawDataSizeMB in bytes
}

// DefaultBatching is odx's default when neither table nor database sets an
// ingestionbatching policy. ADX waits up to 5 minutes; odx seals a batch
// after 1 second so that a new user sees data within seconds, and keeps
// ADX's item and size bounds (500 items, 1024 MB).
var DefaultBatching = BatchingPolicy{MaxDelay: time.Second, MaxItems: 500, MaxBytes: 1024 << 20}

func (p BatchingPolicy) withDefaults(d BatchingPolicy) BatchingPolicy {
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxItems <= 0 {
		p.MaxItems = d.MaxItems
	}
	if p.MaxBytes <= 0 {
		p.MaxBytes = d.MaxBytes
	}
	return p
}

// batchingJSON is the stored policy, as `.alter ... policy ingestionbatching` writes it.
type batchingJSON struct {
	MaximumBatchingTimeSpan string  `json:"MaximumBatchingTimeSpan"`
	MaximumNumberOfItems    float64 `json:"MaximumNumberOfItems"`
	MaximumRawDataSizeMB    float64 `json:"MaximumRawDataSizeMB"`
}

func parseBatching(text string) (BatchingPolicy, bool) {
	if text == "" || text == "null" {
		return BatchingPolicy{}, false
	}
	var j batchingJSON
	if json.Unmarshal([]byte(text), &j) != nil {
		return BatchingPolicy{}, false
	}
	var p BatchingPolicy
	if j.MaximumBatchingTimeSpan != "" {
		if ticks, err := storage.ParseTimeSpan(j.MaximumBatchingTimeSpan); err == nil && ticks > 0 {
			p.MaxDelay = time.Duration(ticks * 100)
		}
	}
	p.MaxItems = int(j.MaximumNumberOfItems)
	p.MaxBytes = int64(j.MaximumRawDataSizeMB * (1 << 20))
	return p, true
}

// Batching returns the effective ingestionbatching policy of a table: its
// own, else its database's, else odx's default; fields a policy leaves out
// take odx's default values.
func (s *Service) Batching(db, table string) BatchingPolicy {
	def := s.opts.DefaultBatching
	d, ok := s.store.Snapshot().DB(db)
	if !ok {
		return def
	}
	if t, ok := d.Tbl(table); ok {
		if p, ok := parseBatching(t.Policies[storage.PolicyIngestionBatching]); ok {
			return p.withDefaults(def)
		}
	}
	if p, ok := parseBatching(d.Policies[storage.PolicyIngestionBatching]); ok {
		return p.withDefaults(def)
	}
	return def
}

// Streaming reports whether the table's effective streamingingestion
// policy (table over database) is enabled: then streaming requests commit
// at once instead of joining a batch.
func (s *Service) Streaming(db, table string) bool {
	d, ok := s.store.Snapshot().DB(db)
	if !ok {
		return false
	}
	texts := []string{}
	if t, ok := d.Tbl(table); ok {
		texts = append(texts, t.Policies[storage.PolicyStreamingIngestion])
	}
	texts = append(texts, d.Policies[storage.PolicyStreamingIngestion])
	for _, text := range texts {
		if text == "" || text == "null" {
			continue
		}
		var j struct {
			IsEnabled *bool `json:"IsEnabled"`
		}
		if json.Unmarshal([]byte(text), &j) == nil && j.IsEnabled != nil {
			return *j.IsEnabled
		}
	}
	return false
}
