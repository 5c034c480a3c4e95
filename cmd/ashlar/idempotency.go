package main

import (
	"context"
	"time"

	"github.com/ashlarhq/ashlar/jobqueue"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/server"
)

// idempotencyConfig configures the API's Idempotency-Key (docs/idempotency.md).
type idempotencyConfig struct {
	TTL time.Duration
}

func (c *idempotencyConfig) define(fs *flagSet) {
	fs.DurationVar(&c.TTL, "idempotency-ttl", rpc.DefaultIdempotencyTTL, "how long an Idempotency-Key sent with a write is kept: a retry within it gets the first response (docs/idempotency.md)")
}

func (c *idempotencyConfig) check() error {
	if c.TTL <= 0 {
		return usageError{"--idempotency-ttl: must be positive"}
	}
	return nil
}

// registerIdempotencySweep deletes expired keys, once an hour across all
// processes (a periodic job).
func registerIdempotencySweep(srv *server.Server) error {
	return srv.Jobs.Register(jobqueue.Kind{
		Name: "idempotency.sweep", Every: time.Hour, Timeout: 10 * time.Minute, MaxAttempts: 1,
		Handler: jobqueue.Handler{Work: func(ctx context.Context, j *jobqueue.Job) jobqueue.Result {
			n, err := srv.DB.SweepIdempotencyKeys(ctx)
			if err != nil {
				srv.Log.Error("sweep idempotency keys", "error", err)
				return jobqueue.Result{State: jobqueue.Failed, Outcome: "error", Err: err.Error()}
			}
			return jobqueue.Result{State: jobqueue.Succeeded, Outcome: "success", Detail: map[string]int64{"deleted": n}}
		}},
	})
}
