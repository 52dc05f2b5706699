// Package redis implements the rate limiter (GCRA via redis_rate) on Redis.
// It fails closed: an error from Redis is returned to the caller, which must
// refuse the request. (The cost breaker level moved to PostgreSQL; see
// LegacyBreakerLevel.)
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tenantco/platform/service/internal/tenant"
)

// Options for Open.
type Options struct {
	Addr     string
	Password string
	TLS      bool
	PoolSize int
}

// Open returns a client; it does not require Redis to be up.
func Open(o Options) *goredis.Client {
	opt := &goredis.Options{
		Addr:         o.Addr,
		Password:     o.Password,
		PoolSize:     o.PoolSize,
		DialTimeout:  500 * time.Millisecond,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
		MaxRetries:   1,
	}
	if o.TLS {
		opt.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return goredis.NewClient(opt)
}

// RateLimiter implements tenant.RateLimiter with GCRA.
type RateLimiter struct {
	l      *redis_rate.Limiter
	prefix string
}

var _ tenant.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter keys every tenant under prefix.
func NewRateLimiter(rdb *goredis.Client, prefix string) *RateLimiter {
	return &RateLimiter{l: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// Allow decides one request. Errors mean "unknown": the caller refuses.
func (r *RateLimiter) Allow(ctx context.Context, tenantID string, lim tenant.Limits) (tenant.RateDecision, error) {
	if lim.RatePerSecond <= 0 || lim.Burst <= 0 {
		return tenant.RateDecision{}, errors.New("rate limit not configured")
	}
	res, err := r.l.Allow(ctx, r.prefix+"rl:"+tenantID, redis_rate.Limit{Rate: lim.RatePerSecond, Burst: lim.Burst, Period: time.Second})
	if err != nil {
		return tenant.RateDecision{}, fmt.Errorf("rate limiter: %w", err)
	}
	return tenant.RateDecision{Allowed: res.Allowed > 0, Remaining: res.Remaining, RetryAfter: res.RetryAfter}, nil
}

// LegacyBreakerLevel reads the cost breaker level that tenantd versions
// before the PostgreSQL store (postgres.BreakerStore) kept at
// prefix+"breaker"; ok is false when there is none. tenantd carries it over
// once at start.
func LegacyBreakerLevel(ctx context.Context, rdb *goredis.Client, prefix string) (l tenant.BreakerLevel, ok bool, err error) {
	v, err := rdb.Get(ctx, prefix+"breaker").Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("read legacy breaker level: %w", err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < int(tenant.BreakerNormal) || n > int(tenant.BreakerEmergency) {
		return 0, false, fmt.Errorf("legacy breaker level in redis is %q", v)
	}
	return tenant.BreakerLevel(n), true, nil
}
