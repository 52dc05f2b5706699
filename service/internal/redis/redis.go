// Package redis implements the rate limiter (GCRA via redis_rate) and the
// cost-breaker level store on Redis. Both fail closed: an error from Redis is
// returned to the caller, which must refuse the request.
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"sync"
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

// Breaker implements tenant.BreakerStore. Reads are cached for TTL so the
// hot path does not pay a Redis round trip per request; every replica
// converges within TTL. A read error is returned (callers fail closed) and is
// not cached.
type Breaker struct {
	rdb *goredis.Client
	key string
	TTL time.Duration

	mu      sync.Mutex
	level   tenant.BreakerLevel
	fetched time.Time
}

var _ tenant.BreakerStore = (*Breaker)(nil)

// NewBreaker stores the level at prefix+"breaker".
func NewBreaker(rdb *goredis.Client, prefix string) *Breaker {
	return &Breaker{rdb: rdb, key: prefix + "breaker", TTL: time.Second}
}

// Level returns the current level (normal when never set).
func (b *Breaker) Level(ctx context.Context) (tenant.BreakerLevel, error) {
	b.mu.Lock()
	if !b.fetched.IsZero() && time.Since(b.fetched) < b.TTL {
		l := b.level
		b.mu.Unlock()
		return l, nil
	}
	b.mu.Unlock()
	v, err := b.rdb.Get(ctx, b.key).Result()
	var l tenant.BreakerLevel
	switch {
	case errors.Is(err, goredis.Nil):
		l = tenant.BreakerNormal
	case err != nil:
		return 0, fmt.Errorf("read breaker level: %w", err)
	default:
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 0 || n > int(tenant.BreakerEmergency) {
			return 0, fmt.Errorf("breaker level in redis is %q", v)
		}
		l = tenant.BreakerLevel(n)
	}
	b.mu.Lock()
	b.level, b.fetched = l, time.Now()
	b.mu.Unlock()
	return l, nil
}

// SetLevel stores the level for every replica.
func (b *Breaker) SetLevel(ctx context.Context, l tenant.BreakerLevel) error {
	if err := b.rdb.Set(ctx, b.key, strconv.Itoa(int(l)), 0).Err(); err != nil {
		return fmt.Errorf("set breaker level: %w", err)
	}
	b.mu.Lock()
	b.level, b.fetched = l, time.Now()
	b.mu.Unlock()
	return nil
}
