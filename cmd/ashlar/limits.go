package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/ashlarhq/ashlar/ratelimit"
)

// limitsConfig says where rate limits are counted.
type limitsConfig struct {
	RedisURL string
}

func (c *limitsConfig) define(fs *flagSet) {
	fs.StringVar(&c.RedisURL, "redis-url", "", "count rate limits (API keys, public forms, uploads, sign-in) in this Redis (redis://[:PASSWORD@]HOST:PORT[/DB] or rediss://…), shared by every process using it; if Redis cannot be reached, each process counts on its own and logs a warning (default: each process counts on its own)")
}

func (c *limitsConfig) check() error {
	if c.RedisURL == "" {
		return nil
	}
	if !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		return usageError{"--redis-url: give a redis://, rediss:// or unix:// URL"}
	}
	if _, err := ratelimit.NewRedis(c.RedisURL, nil); err != nil {
		return usageError{"--redis-url: " + err.Error()}
	}
	return nil
}

// open returns the rate limits' backend: Redis when configured (checked
// once at start, with a warning if it does not answer yet), else nil, for
// each limiter's own memory. close releases it.
func (c *limitsConfig) open(ctx context.Context, log *slog.Logger) (b ratelimit.Backend, close func(context.Context) error, err error) {
	if c.RedisURL == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	r, err := ratelimit.NewRedis(c.RedisURL, log)
	if err != nil {
		return nil, nil, err
	}
	if err := r.Ping(ctx); err != nil {
		log.Warn("rate limits: Redis does not answer yet; each process counts on its own until it does", "error", err)
	} else {
		log.Info("rate limits shared through Redis")
	}
	return r, func(context.Context) error { return r.Close() }, nil
}
