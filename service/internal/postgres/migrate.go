package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// MigrateReport says what MigrateAll did.
type MigrateReport struct {
	Pending  int // tenants behind LatestVersion when the run started (one ledger query)
	Migrated int
	Failed   int
	Elapsed  time.Duration
	Errors   []error
}

// MigrateAll brings every active tenant schema to LatestVersion with n
// workers. One ledger query finds the tenants that are behind; tenants
// already current are never touched. Each tenant migrates in its own
// transaction that also bumps its ledger version, so an interrupted run is
// resumed by running it again. A failed tenant does not stop the others.
func (db *DB) MigrateAll(ctx context.Context, workers int) (MigrateReport, error) {
	start := time.Now()
	latest := LatestVersion()
	if workers < 1 {
		workers = 1
	}
	rows, err := db.Pool.Query(ctx, `SELECT id::text FROM tenantd.tenants WHERE status = 'active' AND schema_version < $1::int ORDER BY id`, latest)
	if err != nil {
		return MigrateReport{}, fmt.Errorf("list tenants to migrate: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return MigrateReport{}, fmt.Errorf("list tenants to migrate: %w", err)
	}
	rep := MigrateReport{Pending: len(ids)}
	var migrated, failed atomic.Int64
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if err := db.migrateOne(ctx, id, latest); err != nil {
					failed.Add(1)
					mu.Lock()
					if len(rep.Errors) < 20 {
						rep.Errors = append(rep.Errors, fmt.Errorf("tenant %s: %w", id, err))
					}
					mu.Unlock()
					continue
				}
				migrated.Add(1)
			}
		}()
	}
feed:
	for _, id := range ids {
		select {
		case work <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	rep.Migrated, rep.Failed, rep.Elapsed = int(migrated.Load()), int(failed.Load()), time.Since(start)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("migration interrupted (run it again to resume): %w", ctx.Err())
	}
	if rep.Failed > 0 {
		return rep, fmt.Errorf("%d tenants failed to migrate: %w", rep.Failed, errors.Join(rep.Errors...))
	}
	return rep, nil
}

func (db *DB) migrateOne(ctx context.Context, id string, latest int) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var schema string
		var version int
		// The row lock serializes with another migrator or an offboarding.
		err := tx.QueryRow(ctx, `SELECT schema_name, schema_version FROM tenantd.tenants WHERE id = $1::uuid AND status = 'active' FOR UPDATE`, id).
			Scan(&schema, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // offboarded meanwhile
		}
		if err != nil {
			return err
		}
		if version >= latest {
			return nil // another migrator did it
		}
		sql := "SELECT set_config('search_path', '" + schema + "', true);\n" + pendingSQL(version) + grantsSQL(schema)
		_ = ident(schema) // panics unless a generated name
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("migrate %s from v%d: %w", schema, version, err)
		}
		_, err = tx.Exec(ctx, `UPDATE tenantd.tenants SET schema_version = $2::int, updated_at = now() WHERE id = $1::uuid`, id, latest)
		return err
	})
}
