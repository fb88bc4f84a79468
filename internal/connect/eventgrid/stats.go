package eventgrid

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BlobStatus is what a connection did with the blobs announced to it since
// odx started. connect.Status covers the notification hub (partitions,
// positions, Retrying while storage is down); this covers the blobs.
type BlobStatus struct {
	ID, Database, Name string
	Active             bool  // the connection is running in this odx
	Pending            int64 // announced by notifications read, not committed yet
	Ingested           int64 // committed with their rows
	Failed             int64 // recorded as ingestion failures (unreadable, unparsable, too large, gone)
	Duplicates         int64 // announced again after they were committed; not ingested again
	Skipped            int64 // events not for this connection: other accounts or event types, empty blobs, ADLS CreateFile
	Rows               int64 // rows ingested from the blobs
	Bytes              int64 // stored bytes of the ingested blobs
	LastFailure        string
	LastFailureAt      time.Time
	LastIngest         time.Time
}

type blobCounts struct {
	mu sync.Mutex
	st BlobStatus
}

func (b *blobCounts) update(fn func(st *BlobStatus)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fn(&b.st)
}

func (b *blobCounts) snapshot() BlobStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st
}

// countsFor returns the counters of a connection, creating them.
func (c *Connector) countsFor(id, database, name string) *blobCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := strings.ToLower(id)
	bc := c.counts[k]
	if bc == nil {
		bc = &blobCounts{}
		c.counts[k] = bc
	}
	bc.update(func(st *BlobStatus) { st.ID, st.Database, st.Name = k, database, name })
	return bc
}

// Blobs reports one connection's blobs (by ARM id, any case).
func (c *Connector) Blobs(id string) (BlobStatus, bool) {
	c.mu.Lock()
	bc := c.counts[strings.ToLower(id)]
	c.mu.Unlock()
	if bc == nil {
		return BlobStatus{}, false
	}
	return bc.snapshot(), true
}

// AllBlobs reports every connection this odx ran, ordered by database and name.
func (c *Connector) AllBlobs() []BlobStatus {
	c.mu.Lock()
	out := make([]BlobStatus, 0, len(c.counts))
	for _, bc := range c.counts {
		out = append(out, bc.snapshot())
	}
	c.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Database != out[j].Database {
			return out[i].Database < out[j].Database
		}
		return out[i].Name < out[j].Name
	})
	return out
}

var (
	blobLabels      = []string{"database", "connection"}
	descBlobPending = prometheus.NewDesc("odx_data_connection_blobs_pending",
		"Blobs announced to the Event Grid data connection and not committed yet.", blobLabels, nil)
	descBlobIngested = prometheus.NewDesc("odx_data_connection_blobs_ingested_total",
		"Blobs the Event Grid data connection committed with their rows.", blobLabels, nil)
	descBlobFailed = prometheus.NewDesc("odx_data_connection_blobs_failed_total",
		"Blobs the Event Grid data connection recorded as ingestion failures.", blobLabels, nil)
	descBlobDuplicates = prometheus.NewDesc("odx_data_connection_blobs_duplicate_total",
		"Blobs announced again after they were committed (not ingested again).", blobLabels, nil)
	descBlobSkipped = prometheus.NewDesc("odx_data_connection_blob_events_skipped_total",
		"Storage events the Event Grid data connection skipped (other accounts or event types, empty blobs).", blobLabels, nil)
	descBlobRows = prometheus.NewDesc("odx_data_connection_blob_rows_total",
		"Rows ingested from blobs by the Event Grid data connection.", blobLabels, nil)
)

// Collector exposes the blob counters of the running connections.
func (c *Connector) Collector() prometheus.Collector { return blobCollector{c} }

type blobCollector struct{ c *Connector }

func (b blobCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBlobPending, descBlobIngested, descBlobFailed, descBlobDuplicates, descBlobSkipped, descBlobRows} {
		ch <- d
	}
}

func (b blobCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range b.c.AllBlobs() {
		if !st.Active {
			continue // removed connections disappear instead of lingering as stale series
		}
		lv := []string{st.Database, st.Name}
		ch <- prometheus.MustNewConstMetric(descBlobPending, prometheus.GaugeValue, float64(st.Pending), lv...)
		ch <- prometheus.MustNewConstMetric(descBlobIngested, prometheus.CounterValue, float64(st.Ingested), lv...)
		ch <- prometheus.MustNewConstMetric(descBlobFailed, prometheus.CounterValue, float64(st.Failed), lv...)
		ch <- prometheus.MustNewConstMetric(descBlobDuplicates, prometheus.CounterValue, float64(st.Duplicates), lv...)
		ch <- prometheus.MustNewConstMetric(descBlobSkipped, prometheus.CounterValue, float64(st.Skipped), lv...)
		ch <- prometheus.MustNewConstMetric(descBlobRows, prometheus.CounterValue, float64(st.Rows), lv...)
	}
}
