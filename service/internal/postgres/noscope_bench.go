//go:build benchnoscope

package postgres

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantco/platform/service/internal/tenant"
)

// BenchNoScope: this binary was built with -tags benchnoscope, for one
// benchmark only (BENCHMARKS.md, "Isolation overhead"). Its tenant batches
// run the same tenant statements without the scope statement, i.e. without
// re-checking the key in the ledger and without switching role and
// search_path: the statements name the tenant's tables by schema and run as
// the service role, which owns them. That measures what the isolation costs.
// It removes tenant isolation: tenantd refuses to serve anything but a
// loopback address in this build, and no production build contains this file.
const BenchNoScope = true

// tenantTable matches the tenant tables the item statements name unqualified.
var tenantTable = regexp.MustCompile(`\b(FROM|INTO|UPDATE) (items|usage|item_events|item_tags|settings)\b`)

// qualify names the tenant's tables by schema in sql.
func qualify(sql, schema string) string {
	return tenantTable.ReplaceAllString(sql, "$1 "+ident(schema)+".$2")
}

// sendUnscoped runs the tenant statement alone, schema-qualified, prepared
// per (connection, tenant) like the scoped path, on the tenant's shard.
func (db *DB) sendUnscoped(ctx context.Context, p *tenant.Principal, kind, sql string, args ...any) pgx.BatchResults {
	if !tenant.ValidID(p.TenantID) {
		return failedBatch{fmt.Errorf("principal has an invalid tenant id")}
	}
	c, err := db.shards[db.shardFor(p.TenantID)].Acquire(ctx)
	if err != nil {
		return failedBatch{err}
	}
	name := "noscope_" + kind + "_" + strings.ReplaceAll(p.TenantID, "-", "")
	if _, err := c.Conn().Prepare(ctx, name, qualify(sql, tenant.SchemaName(p.TenantID))); err != nil {
		c.Release()
		return failedBatch{err}
	}
	b := &pgx.Batch{}
	b.Queue(name, args...)
	return &unscopedResults{scopedResults: scopedResults{BatchResults: c.SendBatch(ctx, b), db: db, conn: c}}
}

// unscopedResults answers the callers' first Exec (the scope statement's
// result on the scoped path) with success without reading anything.
type unscopedResults struct {
	scopedResults
	skipped bool
}

func (u *unscopedResults) Exec() (pgconn.CommandTag, error) {
	if !u.skipped {
		u.skipped = true
		return pgconn.CommandTag{}, nil
	}
	return u.scopedResults.Exec()
}
