package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

// Tenant statements prepared per connection.
//
// Parsing and planning the tenant query was about half of PostgreSQL's CPU per
// request. A plan cannot be shared between tenants (each has its own tables),
// so it is kept per (connection, tenant, statement): the statement named
// <kind>_<tenant id> is prepared on a connection the first time that tenant
// uses it there, inside a transaction that first ran the scope statement, so
// it is analysed against that tenant's search_path. Later batches send it by
// name after the scope statement, one round trip as before.
//
// Why it cannot cross tenants: the name is derived from the principal whose
// key the scope statement re-checks in the same batch; PostgreSQL re-analyses
// a prepared statement whenever search_path differs from the one it was
// prepared under; and privileges are checked at every execution against the
// role the scope statement set.
//
// Tenant batches are spread over DB.shards by tenant id, so a connection only
// ever sees ~1/len(shards) of the tenants: fewer statements and catalog
// entries per backend, and a high hit rate. At most maxTenantStmtsPerConn
// statements are kept per connection (then DEALLOCATE ALL and start over).
const maxTenantStmtsPerConn = 2048

func (db *DB) shardFor(tenantID string) int {
	h := fnv.New32a()
	h.Write([]byte(tenantID))
	return int(h.Sum32() % uint32(len(db.shards)))
}

// sendTenant runs scope + the tenant statement sql (named kind) in one batch
// for p, on p's shard.
func (db *DB) sendTenant(ctx context.Context, p *tenant.Principal, kind, sql string, args ...any) pgx.BatchResults {
	if BenchNoScope { // a constant: false outside -tags benchnoscope builds
		return db.sendUnscoped(ctx, p, kind, sql, args...)
	}
	if !tenant.ValidID(p.TenantID) {
		return failedBatch{fmt.Errorf("principal has an invalid tenant id")}
	}
	c, err := db.shards[db.shardFor(p.TenantID)].Acquire(ctx)
	if err != nil {
		return failedBatch{err}
	}
	conn := c.Conn()
	fail := func(err error) pgx.BatchResults {
		c.Release() // not marked clean: the backstop runs
		return failedBatch{err}
	}
	if _, err := conn.Prepare(ctx, scopeStmt, scopeSQL); err != nil {
		return fail(fmt.Errorf("prepare scope statement: %w", err))
	}
	v, _ := db.stmts.LoadOrStore(conn, map[string]struct{}{})
	have := v.(map[string]struct{}) // only touched while this connection is held
	name := kind + "_" + strings.ReplaceAll(p.TenantID, "-", "")
	b := &pgx.Batch{}
	b.Queue(scopeStmt, p.TenantID, p.KeyHash)
	if _, ok := have[name]; ok {
		b.Queue(name, args...)
		return &scopedResults{BatchResults: c.SendBatch(ctx, b), db: db, conn: c,
			used: &usedStmt{name: name, have: have}}
	}
	// First use here: run it unnamed (parsed after the scope ran), and
	// prepare it after the response, off the request's critical path.
	b.Queue(sql, args...)
	return &scopedResults{BatchResults: c.SendBatch(ctx, b), db: db, conn: c,
		prep: &pendingPrep{p: p, name: name, sql: sql, have: have}}
}

// usedStmt is a prepared tenant statement a batch ran. If PostgreSQL refuses
// it because a migration changed its result type ("cached plan must not
// change result type"), it is dropped so the next call prepares it again.
type usedStmt struct {
	name string
	have map[string]struct{}
}

func (u *usedStmt) dropIfStale(conn *pgx.Conn, err error) {
	if pgCode(err) != "0A000" {
		return
	}
	delete(u.have, u.name)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.Deallocate(ctx, u.name)
}

type pendingPrep struct {
	p         *tenant.Principal
	name, sql string
	have      map[string]struct{}
}

// run prepares the statement on conn (held by the caller) and records it.
func (pp *pendingPrep) run(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if len(pp.have) >= maxTenantStmtsPerConn {
		clear(pp.have)
		if err := conn.DeallocateAll(ctx); err != nil {
			return err
		}
		if _, err := conn.Prepare(ctx, scopeStmt, scopeSQL); err != nil {
			return err
		}
	}
	if err := prepareInScope(ctx, conn, pp.p, pp.name, pp.sql); err != nil {
		return err
	}
	pp.have[pp.name] = struct{}{}
	return nil
}

// prepareInScope prepares sql as name while the tenant's scope is set, so it
// resolves against the tenant's schema. A refused key fails here with the
// scope statement's error and prepares nothing.
func prepareInScope(ctx context.Context, conn *pgx.Conn, p *tenant.Principal, name, sql string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, scopeStmt, p.TenantID, p.KeyHash); err != nil {
		return err
	}
	if _, err := conn.Prepare(ctx, name, sql); err != nil {
		return fmt.Errorf("prepare %s: %w", name, err)
	}
	return tx.Commit(ctx)
}
