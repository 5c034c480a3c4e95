package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the Generic Cell Rate Algorithm, the token bucket kept as one
// number per key: the theoretical arrival time (TAT) of the next request
// if requests came at exactly the rate. A request is allowed when it
// arrives no earlier than TAT − burst × interval, and then moves TAT one
// interval on. The script runs atomically in Redis, on Redis's clock
// (TIME), so every process sees one bucket and no server's clock matters;
// the key expires once the bucket is full again. Times are microseconds,
// exact in Lua's doubles; '%.0f' keeps them out of scientific notation.
//
//	KEYS[1] the bucket   ARGV[1] interval (µs per token)   ARGV[2] burst
//	returns {allowed (0|1), wait (µs)}
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local newtat = tat + interval
local allowat = newtat - burst * interval
if now < allowat then
  return {0, math.ceil(allowat - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', newtat), 'PX', math.max(1, math.ceil((newtat - now) / 1000)))
return {1, 0}
`)

// redisRetry is how long the Redis backend counts locally after Redis
// failed, before it tries Redis again: a Redis that is down then costs
// one failed call per interval, not one per request.
const redisRetry = 5 * time.Second

// redisTimeout bounds one call to Redis: the limit is checked on every
// request, and a slow Redis must not become a slow API.
const redisTimeout = 500 * time.Millisecond

// Redis keeps the buckets in Redis, shared by every process using it.
// When Redis cannot be reached it fails open to a Local of this process
// (the limit is then per process again, as without --redis-url), logs a
// warning, and tries Redis again after a few seconds.
type Redis struct {
	c        *redis.Client
	prefix   string
	log      *slog.Logger
	fallback *Local

	mu      sync.Mutex
	downTil time.Time // while set and in the future, count locally
}

// NewRedis connects to the Redis a URL names (redis:// or rediss://,
// with optional password and database number). It does not wait for
// Redis: a Redis that is down at start is handled as one that fails
// later.
func NewRedis(url string, log *slog.Logger) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opt.DialTimeout = time.Second
	opt.ReadTimeout = redisTimeout
	opt.WriteTimeout = redisTimeout
	opt.MaxRetries = 0 // the fallback is the retry
	if log == nil {
		log = slog.Default()
	}
	return &Redis{c: redis.NewClient(opt), prefix: "ashlar:ratelimit:", log: log, fallback: NewLocal()}, nil
}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }

// Close closes the connections.
func (r *Redis) Close() error { return r.c.Close() }

// Take implements Backend.
func (r *Redis) Take(ctx context.Context, key string, rate Rate) (bool, time.Duration, error) {
	now := time.Now()
	r.mu.Lock()
	down := now.Before(r.downTil)
	r.mu.Unlock()
	if down {
		return r.fallback.Take(ctx, key, rate)
	}
	cctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	interval := int64(float64(time.Second/time.Microsecond) / rate.PerSecond)
	res, err := gcra.Run(cctx, r.c, []string{r.prefix + key}, max(1, interval), rate.burst()).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The request went away; that says nothing about Redis.
			return true, 0, nil
		}
		r.mu.Lock()
		first := r.downTil.IsZero()
		r.downTil = now.Add(redisRetry)
		r.mu.Unlock()
		if first {
			r.log.Warn("rate limits: Redis is unreachable; counting in this process until it answers again", "retry_every", redisRetry, "error", err)
		}
		return r.fallback.Take(ctx, key, rate)
	}
	r.mu.Lock()
	if !r.downTil.IsZero() {
		r.downTil = time.Time{}
		r.log.Info("rate limits: Redis answers again; limits are shared again")
	}
	r.mu.Unlock()
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
