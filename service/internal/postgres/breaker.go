package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

// BreakerStore implements tenant.BreakerStore in the ledger database: the
// level is one row of tenantd.breaker, as durable as the tenants themselves
// and the same for every replica. No row means the level was never set:
// normal.
//
// It used to live only in Redis, where a restart without persistence read
// back "normal" after a freeze and reopened onboarding (budget alerts only
// raise the level, so nothing set it again). There is no second copy to
// disagree with this one: each replica caches what it read for TTL, so
// replicas agree within TTL and the hot path costs one query per TTL per
// replica. A read error is returned (callers fail closed) and not cached.
type BreakerStore struct {
	db  *DB
	TTL time.Duration // default 1 s; 0 reads the row every time

	fetch chan struct{} // one read at a time; waiters keep their context

	mu      sync.Mutex
	level   tenant.BreakerLevel
	fetched time.Time
}

var _ tenant.BreakerStore = (*BreakerStore)(nil)

// NewBreakerStore reads and writes the level in db.
func NewBreakerStore(db *DB) *BreakerStore {
	return &BreakerStore{db: db, TTL: time.Second, fetch: make(chan struct{}, 1)}
}

func (b *BreakerStore) cached() (tenant.BreakerLevel, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.level, !b.fetched.IsZero() && time.Since(b.fetched) < b.TTL
}

func (b *BreakerStore) remember(l tenant.BreakerLevel) {
	b.mu.Lock()
	b.level, b.fetched = l, time.Now()
	b.mu.Unlock()
}

// Level returns the current level.
func (b *BreakerStore) Level(ctx context.Context) (l tenant.BreakerLevel, err error) {
	defer translate(&err)
	if l, ok := b.cached(); ok {
		return l, nil
	}
	select {
	case b.fetch <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-b.fetch }()
	if l, ok := b.cached(); ok { // read by the request we waited for
		return l, nil
	}
	var n int
	err = b.db.Pool.QueryRow(ctx, `SELECT level FROM tenantd.breaker`).Scan(&n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		n = int(tenant.BreakerNormal)
	case err != nil:
		return 0, fmt.Errorf("read breaker level: %w", err)
	}
	l = tenant.BreakerLevel(n)
	b.remember(l)
	return l, nil
}

// SetLevel stores the level for every replica; this one sees it at once,
// the others within their TTL.
func (b *BreakerStore) SetLevel(ctx context.Context, l tenant.BreakerLevel) (err error) {
	defer translate(&err)
	if l < tenant.BreakerNormal || l > tenant.BreakerEmergency {
		return fmt.Errorf("breaker level %d out of range", l)
	}
	if _, err := b.db.Pool.Exec(ctx, `INSERT INTO tenantd.breaker (id, level, updated_at) VALUES (true, $1::int, now())
		ON CONFLICT (id) DO UPDATE SET level = EXCLUDED.level, updated_at = EXCLUDED.updated_at`, int(l)); err != nil {
		return fmt.Errorf("set breaker level: %w", err)
	}
	b.remember(l)
	return nil
}

// SeedLevel stores l only if no level was ever stored, and reports whether it
// did. tenantd uses it once at start to carry over the level older versions
// kept in Redis.
func (b *BreakerStore) SeedLevel(ctx context.Context, l tenant.BreakerLevel) (seeded bool, err error) {
	defer translate(&err)
	tag, err := b.db.Pool.Exec(ctx, `INSERT INTO tenantd.breaker (id, level, updated_at) VALUES (true, $1::int, now())
		ON CONFLICT (id) DO NOTHING`, int(l))
	if err != nil {
		return false, fmt.Errorf("seed breaker level: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}
