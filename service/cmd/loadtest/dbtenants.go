package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/postgres"
	"github.com/tenantco/platform/service/internal/tenant"
)

// dbTenantBatch is how many tenants one transaction onboards. Each tenant is
// ~30 DDL statements; 25 per transaction keeps a transaction well under a
// second while saving most of the commit and round-trip overhead.
const dbTenantBatch = 25

// ensureDBTenants makes the database behind databaseURL hold want active
// tenants, onboarding the missing ones directly with the service's own
// onboarding code (postgres.TenantService.CreateMany: the same ledger row and
// provisioning SQL as POST /v1/tenants, several tenants per transaction,
// several transactions at once). It never deletes: a database that already
// holds more than want is an error. It returns the tenants it made (their API
// keys, for the state file) and the count it read back afterwards.
func ensureDBTenants(ctx context.Context, c config, want int) ([]tenantRec, int, error) {
	if err := loopbackDB(c.databaseURL); err != nil {
		return nil, 0, err
	}
	db, err := postgres.Open(ctx, c.databaseURL, postgres.Options{
		MaxConns: int32(max(2, c.onboardWorkers+1)), TenantShards: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	have, err := countTenants(ctx, db)
	if err != nil {
		return nil, 0, err
	}
	if have > want {
		return nil, have, fmt.Errorf("-db-tenants %d: the database already holds %d active tenants; use a fresh database (service/scripts/local-db.sh --reset) or a larger -db-tenants", want, have)
	}
	if have == want {
		return nil, have, nil
	}
	n := want - have
	fmt.Printf("onboarding %d tenants directly in the database (%d per transaction, %d workers)...\n", n, dbTenantBatch, c.onboardWorkers)
	ts := postgres.NewTenantService(db, c.admin)
	run := fmt.Sprintf("%x", rand.Uint32())
	start := time.Now()
	jobs := make(chan []tenant.CreateRequest)
	var mu sync.Mutex
	var made []tenantRec
	var firstErr error
	var wg sync.WaitGroup
	for range max(1, c.onboardWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for reqs := range jobs {
				cs, err := ts.CreateMany(ctx, reqs)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for _, t := range cs {
					made = append(made, tenantRec{ID: t.ID, Slug: t.Slug, Key: t.APIKey})
				}
				if len(made)%1000 < len(cs) && len(made) >= 1000 {
					fmt.Printf("  %d onboarded (%s)\n", len(made), time.Since(start).Round(time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i += dbTenantBatch {
		var reqs []tenant.CreateRequest
		for j := i; j < min(n, i+dbTenantBatch); j++ {
			reqs = append(reqs, tenant.CreateRequest{Slug: fmt.Sprintf("%s-d%s-%d", c.prefix, run, have+j), Tier: tenant.Tier(c.tier)})
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		jobs <- reqs
	}
	close(jobs)
	wg.Wait()
	got, err := countTenants(ctx, db)
	if err == nil {
		err = firstErr
	}
	el := time.Since(start)
	fmt.Printf("onboarded %d tenants directly in %s (%.0f tenants/s); the database holds %d active tenants\n",
		len(made), el.Round(time.Millisecond), float64(len(made))/el.Seconds(), got)
	return made, got, err
}

func countTenants(ctx context.Context, db *postgres.DB) (int, error) {
	var n int
	err := db.Pool.QueryRow(ctx, `SELECT count(*)::int FROM tenantd.tenants WHERE status = 'active'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count tenants: %w", err)
	}
	return n, nil
}

// loopbackDB refuses a database that is not on this machine: the tool writes
// tenants into it.
func loopbackDB(raw string) error {
	if raw == "" {
		return fmt.Errorf("-database-url or DATABASE_URL is required to count or create tenants in the database")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("-database-url must be a postgres:// URL")
	}
	host := u.Hostname()
	if host == "" || host[0] == '/' {
		return nil // Unix socket: local by construction
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("-database-url host %s is not a loopback address; loadtest only writes to a database on this machine", host)
		}
	}
	return nil
}

// countDBTenants reads the number of active tenants without changing anything.
func countDBTenants(ctx context.Context, databaseURL string) (int, error) {
	if err := loopbackDB(databaseURL); err != nil {
		return 0, err
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, fmt.Errorf("connect to -database-url: %w", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*)::int FROM tenantd.tenants WHERE status = 'active'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tenants: %w", err)
	}
	return n, nil
}
