package iothub

import "github.com/prometheus/client_golang/prometheus"

// metrics are one device endpoint's Prometheus series.
type metrics struct {
	connected *prometheus.GaugeVec
	refused   prometheus.Counter
	stored    *prometheus.CounterVec
	bytes     *prometheus.CounterVec
	failed    *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "odx_iothub_connected_devices",
			Help: "Devices and modules connected to the embedded IoT hub."}, []string{"hub"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "odx_iothub_connections_refused_total",
			Help: "Device connections refused (bad client id, username or SAS token)."}),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "odx_iothub_messages_stored_total",
			Help: "Device-to-cloud messages stored on the hub's built-in endpoint."}, []string{"hub"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "odx_iothub_message_bytes_total",
			Help: "Body bytes of the stored device-to-cloud messages."}, []string{"hub"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "odx_iothub_messages_failed_total",
			Help: "Device-to-cloud messages refused or not stored (never acknowledged)."}, []string{"hub"}),
	}
}

// Collectors are the endpoint's metrics, for odx's /metrics registry.
func (s *Server) Collectors() []prometheus.Collector {
	m := s.metrics
	return []prometheus.Collector{m.connected, m.refused, m.stored, m.bytes, m.failed}
}
