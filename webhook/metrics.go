package webhook

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ashlarhq/ashlar/store"
)

// Metrics are the dispatcher's Prometheus metrics. Counters and
// histograms are per process; the queue gauges (QueueCollector) read the
// database and so report the whole queue from any process.
type Metrics struct {
	attempts        *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	attemptSeconds  prometheus.Histogram
	deliverySeconds prometheus.Histogram
	inflight        prometheus.Gauge
	fannedOut       prometheus.Counter
}

// NewMetrics returns unregistered metrics; Register exports them.
func NewMetrics() *Metrics {
	return &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashlar_webhook_attempts_total",
			Help: "Webhook delivery attempts made by this process, by outcome (success, http_error, rejected, timeout, network_error, blocked, unsigned, abandoned).",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ashlar_webhook_deliveries_total",
			Help: "Webhook deliveries finished by this process, by final state (succeeded, failed, cancelled).",
		}, []string{"state"}),
		attemptSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ashlar_webhook_attempt_duration_seconds",
			Help:    "Duration of one webhook attempt: connecting, sending and reading the response.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		deliverySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ashlar_webhook_delivery_latency_seconds",
			Help:    "Time from an event being recorded to its successful delivery (a 2xx), retries included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 10800},
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ashlar_webhook_attempts_in_flight",
			Help: "Webhook attempts this process is making now.",
		}),
		fannedOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashlar_webhook_events_fanned_out_total",
			Help: "Events this process turned into deliveries (one per subscribed setting).",
		}),
	}
}

// Register exports the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.attempts, m.deliveries, m.attemptSeconds, m.deliverySeconds, m.inflight, m.fannedOut} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// QueueCollector reports the delivery queue, read from the database at
// each scrape: pending deliveries (queue depth), events not yet fanned
// out, and the age of the oldest event not yet delivered.
type QueueCollector struct {
	db                      *store.DB
	depth, unfanned, oldest *prometheus.Desc
	scrapeErrors            prometheus.Counter
}

// NewQueueCollector returns a collector of db's queue.
func NewQueueCollector(db *store.DB) *QueueCollector {
	return &QueueCollector{
		db:       db,
		depth:    prometheus.NewDesc("ashlar_webhook_queue_depth", "Webhook deliveries pending (waiting, in flight or waiting for a retry), across all processes.", nil, nil),
		unfanned: prometheus.NewDesc("ashlar_webhook_events_pending_fanout", "Events recorded but not yet turned into deliveries.", nil, nil),
		oldest:   prometheus.NewDesc("ashlar_webhook_oldest_pending_event_age_seconds", "Age of the oldest event not yet delivered (pending delivery or not yet fanned out); 0 when none.", nil, nil),
		scrapeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashlar_webhook_queue_scrape_errors_total",
			Help: "Failures reading the webhook queue for metrics.",
		}),
	}
}

func (c *QueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.unfanned
	ch <- c.oldest
	c.scrapeErrors.Describe(ch)
}

func (c *QueueCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.scrapeErrors.Collect(ch)
	st, err := ReadQueue(context.Background(), c.db)
	if err != nil {
		c.scrapeErrors.Inc()
		return
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(c.unfanned, prometheus.GaugeValue, float64(st.Unfanned))
	age := 0.0
	if !st.Oldest.IsZero() {
		age = max(0, c.db.Now().Sub(st.Oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}

// QueueState is the delivery queue at one moment.
type QueueState struct {
	Pending  int       // pending deliveries
	Unfanned int       // events after the fan-out cursor
	Oldest   time.Time // the oldest event pending either way; zero if none
}

// ReadQueue reads the queue state of every organization.
func ReadQueue(ctx context.Context, db *store.DB) (QueueState, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var st QueueState
	var oldestDelivery, oldestEvent sql.NullInt64
	// A delivery's event time is in its job's arguments.
	eventAt := `CAST(json_extract(args, '$.eventAt') AS INTEGER)`
	if db.Engine() == store.Postgres {
		eventAt = `CAST(CAST(args AS jsonb)->>'eventAt' AS BIGINT)`
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(`+eventAt+`) FROM jobs WHERE kind = $1 AND state = 'pending'`, Kind).Scan(&st.Pending, &oldestDelivery); err != nil {
		return st, err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(e.created_at) FROM events e, webhook_cursor c
		WHERE c.name = 'fanout' AND (e.xid, e.seq) > (c.xid, c.seq)`).Scan(&st.Unfanned, &oldestEvent); err != nil {
		return st, err
	}
	for _, v := range []sql.NullInt64{oldestDelivery, oldestEvent} {
		if v.Valid && (st.Oldest.IsZero() || time.UnixMilli(v.Int64).Before(st.Oldest)) {
			st.Oldest = time.UnixMilli(v.Int64)
		}
	}
	return st, nil
}
