package connect

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes every connection's state and per-partition counters to
// Prometheus. It reads the manager at scrape time, so removed connections
// disappear from /metrics instead of lingering as stale series.
func (m *Manager) Collector() prometheus.Collector { return &collector{m: m} }

// Collectors is Collector as a list, for registries that take several.
func (m *Manager) Collectors() []prometheus.Collector { return []prometheus.Collector{m.Collector()} }

var (
	connLabels = []string{"database", "connection", "kind"}
	partLabels = []string{"database", "connection", "partition"}

	descState = prometheus.NewDesc("odx_data_connection_state",
		"1 for the data connection's current state (Running, Retrying, Stopped), 0 for the others.",
		append(connLabels, "state"), nil)
	descRestarts = prometheus.NewDesc("odx_data_connection_restarts_total",
		"Times the data connection failed and was scheduled to run again.", connLabels, nil)
	descLag = prometheus.NewDesc("odx_data_connection_partition_lag",
		"Events on the partition not yet committed (high watermark minus committed position).", partLabels, nil)
	descEvents = prometheus.NewDesc("odx_data_connection_partition_events_total",
		"Events of the partition committed through the sink.", partLabels, nil)
	descBytes = prometheus.NewDesc("odx_data_connection_partition_bytes_total",
		"Body bytes of the events of the partition committed through the sink.", partLabels, nil)
	descFailures = prometheus.NewDesc("odx_data_connection_partition_failures_total",
		"Events of the partition that became ingestion failures.", partLabels, nil)
	descPosition = prometheus.NewDesc("odx_data_connection_partition_committed_offset",
		"Next offset to read on the partition, as committed with the rows.", partLabels, nil)
)

type collector struct{ m *Manager }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descRestarts, descLag, descEvents, descBytes, descFailures, descPosition} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.m.List("") {
		for _, s := range []State{Running, Retrying, Stopped} {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, st.Database, st.Name, st.Kind, string(s))
		}
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(st.Restarts), st.Database, st.Name, st.Kind)
		for _, p := range st.Partitions {
			lv := []string{st.Database, st.Name, strconv.Itoa(int(p.Partition))}
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(p.Lag), lv...)
			ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(p.Events), lv...)
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(p.Bytes), lv...)
			ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(p.Failures), lv...)
			if p.Committed >= 0 {
				ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, float64(p.Committed), lv...)
			}
		}
	}
}
