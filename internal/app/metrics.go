package app

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is odx's Prometheus registry. Components register their own
// collectors on it; the HTTP layer counts requests per endpoint family.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "odx_http_requests_total",
		Help: "HTTP requests by endpoint family and status code.",
	}, []string{"family", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "odx_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests (to the last byte), by endpoint family.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"family"})
	m.registry.MustRegister(m.requests, m.duration)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// family names the endpoint family of a path, keeping label cardinality fixed.
func family(path string) string {
	switch {
	case path == "/healthz":
		return "health"
	case strings.HasPrefix(path, "/v1/rest/ingest/"):
		return "kusto_ingest"
	case strings.HasPrefix(path, "/v1/rest/mgmt"):
		return "kusto_mgmt"
	case strings.HasPrefix(path, "/v1/rest/query"), strings.HasPrefix(path, "/v2/rest/query"):
		return "kusto_query"
	case strings.HasPrefix(path, "/v1/rest/"):
		return "kusto_other"
	case strings.HasPrefix(path, "/subscriptions/"), strings.HasPrefix(path, "/providers/"):
		return "arm"
	case path == "/metrics":
		return "metrics"
	}
	return "aad"
}

// statusRecorder remembers the status code while passing Flush through, so
// streamed Kusto responses keep streaming.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		fam := family(r.URL.Path)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		m.requests.WithLabelValues(fam, strconv.Itoa(rec.code)).Inc()
		m.duration.WithLabelValues(fam).Observe(time.Since(start).Seconds())
	})
}
