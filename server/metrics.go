package server

import (
	"bufio"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ashlarhq/ashlar/rpc"
)

// httpMetrics count requests by endpoint and status and time them by
// endpoint. An endpoint is the route that served the request ("GET
// /jobs/{board}"), or the Ashby endpoint's name for the API
// ("candidate.list"), so the label's values stay few whatever paths
// clients send.
type httpMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashlar_http_requests_total",
			Help: "HTTP requests served, by endpoint (the route, or the API endpoint's name) and status code.",
		}, []string{"endpoint", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ashlar_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, from its headers being read to the handler returning, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.seconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe wraps the mux: it records each request's metrics and logs the
// public pages' requests (careers site, posting API, survey and take-home
// pages, files) at debug level; the API logs its own requests.
func (s *Server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		// ServeMux records the matched pattern in r itself.
		mux.ServeHTTP(sw, r)
		elapsed := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		endpoint, api := s.endpoint(r)
		if s.metrics != nil {
			s.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
			s.metrics.seconds.WithLabelValues(endpoint).Observe(elapsed.Seconds())
		}
		if !api && s.Log.Enabled(r.Context(), slog.LevelDebug) {
			attrs := []any{"method", r.Method, "route", endpoint, "status", status, "bytes", sw.bytes, "duration", elapsed}
			// Public pages' paths are public; other routes' (take-home,
			// survey and feed tokens, signed file links) are capabilities,
			// so only their route is logged.
			if strings.HasPrefix(r.URL.Path, "/jobs/") || strings.HasPrefix(r.URL.Path, "/posting-api/") {
				attrs = append(attrs, "path", r.URL.Path)
			}
			if id, ok := rpc.RequestIDFrom(r.Context()); ok {
				attrs = append(attrs, "request_id", id)
			}
			s.Log.Debug("http request", attrs...)
		}
	})
}

// endpoint names the request's route for metrics; api reports whether
// the RPC API served it.
func (s *Server) endpoint(r *http.Request) (name string, api bool) {
	if r.Pattern != "/" && r.Pattern != "" {
		return r.Pattern, false
	}
	if _, ok := s.API.Endpoint(strings.TrimPrefix(r.URL.Path, "/")); ok {
		return strings.TrimPrefix(r.URL.Path, "/"), true
	}
	return "unmatched", true
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (deadlines,
// flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming responses streaming.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack keeps connection upgrades possible.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijacking is not supported")
}

// poolCollector reports the database connection pools at each scrape.
type poolCollector struct {
	stats                                      func() map[string]sql.DBStats
	open, inUse, idle, waitCount, waitDuration *prometheus.Desc
	maxOpen                                    *prometheus.Desc
}

func newPoolCollector(stats func() map[string]sql.DBStats) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("ashlar_db_pool_"+name, help, []string{"pool"}, nil)
	}
	return &poolCollector{stats: stats,
		maxOpen:      d("max_open_connections", "Most connections the pool may open."),
		open:         d("open_connections", "Connections open, in use or idle."),
		inUse:        d("in_use_connections", "Connections in use."),
		idle:         d("idle_connections", "Idle connections."),
		waitCount:    d("wait_count_total", "Times a query waited for a connection because all were in use."),
		waitDuration: d("wait_duration_seconds_total", "Time queries spent waiting for a connection."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitDuration} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for pool, st := range c.stats() {
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, pool)
		}
		g(c.maxOpen, float64(st.MaxOpenConnections))
		g(c.open, float64(st.OpenConnections))
		g(c.inUse, float64(st.InUse))
		g(c.idle, float64(st.Idle))
		ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(st.WaitCount), pool)
		ch <- prometheus.MustNewConstMetric(c.waitDuration, prometheus.CounterValue, st.WaitDuration.Seconds(), pool)
	}
}
