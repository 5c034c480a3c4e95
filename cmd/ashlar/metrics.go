package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ashlarhq/ashlar/partner"
	"github.com/ashlarhq/ashlar/store"
	"github.com/ashlarhq/ashlar/webhook"
)

// newRegistry is the registry /metrics serves: Go runtime and process
// metrics, the queue depths, and whatever the features register
// (HTTP requests, database pools, webhooks).
func newRegistry(db *store.DB) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newQueueCollector(db))
	return reg
}

func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// queueDepths counts the work waiting in the job queue (docs/jobs.md),
// by kind, across every process. The count reads the partial index on
// pending jobs, so a scrape stays cheap however long the history. The
// kinds of webhook deliveries and partner calls are always reported.
func queueDepths(ctx context.Context, db *store.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT kind, COUNT(*) FROM jobs WHERE state = 'pending' GROUP BY kind`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{webhook.Kind: 0, partner.Kind: 0}
	for rows.Next() {
		var q string
		var n int64
		if err := rows.Scan(&q, &n); err != nil {
			return nil, err
		}
		out[q] = n
	}
	return out, rows.Err()
}

// queueCollector reports queueDepths at each scrape.
type queueCollector struct {
	db     *store.DB
	depth  *prometheus.Desc
	errors prometheus.Counter
}

func newQueueCollector(db *store.DB) *queueCollector {
	return &queueCollector{db: db,
		depth: prometheus.NewDesc("ashlar_queue_pending", "Jobs waiting in the job queue, by kind (webhook.delivery, partner.call, …): queued, in flight or waiting for a retry, across all processes.", []string{"queue"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ashlar_queue_scrape_errors_total",
			Help: "Failures reading the queue depths for metrics.",
		})}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	c.errors.Describe(ch)
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	defer c.errors.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	depths, err := queueDepths(ctx, c.db)
	if err != nil {
		c.errors.Inc()
		return
	}
	for q, n := range depths {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), q)
	}
}
