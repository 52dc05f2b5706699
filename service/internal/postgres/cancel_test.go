package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestCancelledQueryKeepsConnection: when a query's context is cancelled (the
// HTTP client went away) PostgreSQL is asked to cancel the query, and the
// pooled connection survives: same backend, usable at once. pgx's default
// closed the connection instead, and every new connection costs a backend
// start plus its catalog and role-membership caches (BENCHMARKS.md).
func TestCancelledQueryKeepsConnection(t *testing.T) {
	f := newFixture(t)
	admin := f.admin(t)
	for name, pool := range map[string]*pgxpool.Pool{"ledger pool": f.db.Pool, "tenant shard": f.db.shards[0]} {
		t.Run(name, func(t *testing.T) {
			c, err := pool.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Release()
			var pid int
			if err := c.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				// Cancel only once the query runs in that backend; the
				// guard stops a hang, the verdict never depends on it.
				deadline := time.Now().Add(time.Minute)
				for time.Now().Before(deadline) {
					var running bool
					if err := admin.QueryRow(context.Background(),
						`SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%')`, pid).Scan(&running); err == nil && running {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}()
			_, err = c.Exec(ctx, `SELECT pg_sleep(600)`)
			if err == nil {
				t.Fatal("the sleep was not cancelled")
			}
			if pgCode(err) != "57014" && !errors.Is(err, context.Canceled) {
				t.Fatalf("want the query cancelled (57014), got %v", err)
			}
			if c.Conn().IsClosed() {
				t.Fatalf("the connection was closed by the cancellation (%v)", err)
			}
			var after int
			if err := c.QueryRow(context.Background(), `SELECT pg_backend_pid()`).Scan(&after); err != nil {
				t.Fatalf("connection unusable after the cancellation: %v", err)
			}
			if after != pid {
				t.Fatalf("backend changed from %d to %d", pid, after)
			}
		})
	}
}
