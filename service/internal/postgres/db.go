// Package postgres implements the tenant ledger, schema-per-tenant
// provisioning and the tenant-scoped item store on PostgreSQL (pgx).
//
// Isolation model: one NOLOGIN role per tenant with DML-only grants on its own
// schema; the service logs in as a NOINHERIT role that is a member of every
// tenant role; each tenant query is sent in one batch (one round trip, one
// implicit transaction) whose first statement re-checks the caller's key in
// the ledger and sets role and search_path with set_config(..., true). Nothing
// is ever SET at session level; AfterRelease resets role and settings anyway.
// No SQL text is built from input: identifiers come only from server-made ids.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantco/platform/service/internal/tenant"
)

// Options tune the pool.
type Options struct {
	MaxConns        int32         // default 16
	MaxConnLifetime time.Duration // default 10m; +25 % jitter. Bounds per-backend catalog cache growth.
	Logger          *slog.Logger
	// AuthCacheTTL: how long a key → tenant lookup is reused (0: default
	// DefaultAuthCacheTTL; negative: no cache). See authcache.go.
	AuthCacheTTL time.Duration
	// TenantShards splits tenant batches over this many small pools, chosen
	// by tenant id, so each connection serves a fixed ~1/TenantShards of the
	// tenants and keeps their statements prepared (tenantstmt.go). 0: one
	// shard per 3 of MaxConns; 1: a single tenant pool. Each shard gets
	// MaxConns/TenantShards connections (at least 1); ledger and admin work
	// uses Pool (MaxConns).
	TenantShards int
}

// DB wraps the pool.
type DB struct {
	Pool *pgxpool.Pool
	log  *slog.Logger
	auth *authCache
	// clean holds connections released by scopedResults after a batch that
	// completed without error: such a batch can only have set transaction-
	// local state, already gone at its implicit commit, so AfterRelease skips
	// the RESET round trip for them. Every other release (errors, Acquire,
	// ledger and admin queries) still runs the backstop.
	clean sync.Map // *pgx.Conn → struct{}
	// shards carry tenant batches (tenantstmt.go); stmts remembers, per
	// connection, the tenant statements prepared on it.
	shards []*pgxpool.Pool
	stmts  sync.Map // *pgx.Conn → map[string]struct{}
}

// Open connects, checks the login role is safe to use, and creates the
// control schema. It refuses a superuser or an INHERIT role.
func Open(ctx context.Context, url string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if o.MaxConns == 0 {
		o.MaxConns = 16
	}
	if o.MaxConnLifetime == 0 {
		o.MaxConnLifetime = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg.MaxConns = o.MaxConns
	cfg.MaxConnLifetime = o.MaxConnLifetime
	cfg.MaxConnLifetimeJitter = o.MaxConnLifetime / 4
	cfg.MaxConnIdleTime = time.Minute
	// Exec mode: one round trip per batch without prepared statements. The
	// statement cache would prepare tenant queries before the batch's
	// set_config ran, against the wrong search_path.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.ConnConfig.RuntimeParams["application_name"] = "tenantd"
	// A cancelled context (the HTTP client went away) cancels the query and
	// keeps the connection. pgx's default instead sets a past deadline on the
	// socket, which closes the connection; at 10,000 tenants every new
	// connection costs PostgreSQL ~0.35 s of CPU before its first SET ROLE
	// (BENCHMARKS.md, "Where the cost grows with the tenant count"), so
	// closing connections on client timeouts turned an overload into a
	// collapse.
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc,
			CancelRequestDelay: cancelRequestDelay, DeadlineDelay: cancelDeadlineDelay}
	}
	// Backstop: nothing sets session state, but if anything ever did, it must
	// not reach the next borrower. RESET ALL does not reset role. Skipped only
	// for connections marked clean by sendTenant (a fixed-SQL tenant batch
	// that completed without error); every other release pays the round trip.
	db := &DB{log: o.Logger}
	cfg.AfterRelease = func(c *pgx.Conn) bool {
		if _, ok := db.clean.LoadAndDelete(c); ok && c.PgConn().TxStatus() == 'I' {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := c.Exec(ctx, "RESET ROLE; RESET ALL")
		return err == nil
	}
	// A clean mark left on a connection destroyed without AfterRelease (lifetime
	// expiry at release) must not pin it in the map.
	cfg.BeforeClose = func(c *pgx.Conn) { db.clean.Delete(c); db.stmts.Delete(c) }
	nShards := o.TenantShards
	if nShards <= 0 {
		nShards = max(1, int(o.MaxConns)/3)
	}
	for range nShards {
		sc := cfg.Copy()
		sc.MaxConns = max(1, o.MaxConns/int32(nShards))
		// Tenant connections are opened at start (in the background) and
		// never closed for being idle, only at MaxConnLifetime: each new
		// backend rebuilds its role-membership cache, O(tenants²) in
		// PostgreSQL (~0.35 s at 10,000 tenants), and re-prepares its
		// tenant statements. AfterConnect pays the first part before the
		// connection serves a request.
		sc.MinConns = sc.MaxConns
		sc.MaxConnIdleTime = o.MaxConnLifetime
		sc.AfterConnect = warmRoleMembership
		// Each (connection, tenant, statement) runs only a few times per
		// minute, so PostgreSQL's default (custom plans for the first five
		// executions) would still plan almost every call. The tenant
		// statements are key lookups and small scans: generic plans are
		// right for them. A startup parameter, so RESET ALL keeps it.
		sc.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		sp, err := pgxpool.NewWithConfig(ctx, sc)
		if err != nil {
			db.closeShards()
			return nil, fmt.Errorf("connect to postgres at %s: %w", cfg.ConnConfig.Host, err)
		}
		db.shards = append(db.shards, sp)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		db.closeShards()
		return nil, fmt.Errorf("connect to postgres at %s: %w", cfg.ConnConfig.Host, err)
	}
	db.Pool = pool
	ttl := o.AuthCacheTTL
	if ttl == 0 {
		ttl = DefaultAuthCacheTTL
	}
	db.auth = newAuthCache(ttl)
	if err := db.checkRole(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.bootstrap(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// How a cancelled context stops a query (see BuildContextWatcherHandler in
// Open). A query that ends within cancelRequestDelay of the cancellation
// (nearly all of ours take about a millisecond) finishes normally and no
// cancel request is sent: a cancel request costs PostgreSQL a process fork.
// A longer one is cancelled (SQLSTATE 57014) and the connection stays
// usable; only a server that does not answer within cancelDeadlineDelay
// loses the connection.
const (
	cancelRequestDelay  = 100 * time.Millisecond
	cancelDeadlineDelay = 5 * time.Second
)

// warmRolesSQL makes a new backend build its role-membership cache: the
// first SET ROLE of a session computes every role the login role is a member
// of, which with one role per tenant is quadratic in the number of tenants.
// 'none' (no tenant yet) is RESET ROLE and checks nothing.
const warmRolesSQL = `SELECT set_config('role', coalesce((SELECT schema_name FROM tenantd.tenants WHERE status = 'active' LIMIT 1), 'none'), true)`

// warmRoleMembership runs warmRolesSQL in a transaction it rolls back. The
// statement is best effort: its failure (no control schema yet, a tenant
// dropped meanwhile) only means the first tenant batch pays the cost
// instead. A connection that cannot begin or roll back is refused.
func warmRoleMembership(ctx context.Context, c *pgx.Conn) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	_, _ = tx.Exec(ctx, warmRolesSQL)
	return tx.Rollback(ctx)
}

// Close closes the pool.
func (db *DB) Close() {
	db.closeShards()
	db.Pool.Close()
}

func (db *DB) closeShards() {
	for _, p := range db.shards {
		p.Close()
	}
}

// Ping checks PostgreSQL is reachable.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

func (db *DB) checkRole(ctx context.Context) error {
	var super, inherit, createrole bool
	err := db.Pool.QueryRow(ctx,
		`SELECT rolsuper, rolinherit, rolcreaterole FROM pg_roles WHERE rolname = current_user`).
		Scan(&super, &inherit, &createrole)
	if err != nil {
		return fmt.Errorf("read login role: %w", err)
	}
	var problems []error
	if super {
		problems = append(problems, errors.New("the DATABASE_URL role is a superuser; use a NOSUPERUSER role (see service/README.md)"))
	}
	if inherit {
		problems = append(problems, errors.New("the DATABASE_URL role has INHERIT; ALTER ROLE ... NOINHERIT so it holds no tenant privilege outside a tenant transaction"))
	}
	if !createrole {
		problems = append(problems, errors.New("the DATABASE_URL role lacks CREATEROLE, needed to create tenant roles"))
	}
	return errors.Join(problems...)
}

const controlSchema = `
CREATE SCHEMA IF NOT EXISTS tenantd;
REVOKE ALL ON SCHEMA tenantd FROM PUBLIC;
CREATE TABLE IF NOT EXISTS tenantd.tenants (
	id uuid PRIMARY KEY,
	slug text NOT NULL,
	tier text NOT NULL CHECK (tier IN ('free','starter','pro','enterprise')),
	schema_name text NOT NULL UNIQUE CHECK (schema_name ~ '^t_[0-9a-f]{32}$'),
	key_hash bytea UNIQUE,
	status text NOT NULL CHECK (status IN ('active','offboarding','deleted')),
	schema_version int NOT NULL,
	stripe_customer text,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	deleted_at timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS tenants_live_slug ON tenantd.tenants (slug) WHERE status <> 'deleted';
CREATE INDEX IF NOT EXISTS tenants_pending_migration ON tenantd.tenants (schema_version) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS tenants_stripe_customer ON tenantd.tenants (stripe_customer) WHERE stripe_customer IS NOT NULL;
CREATE TABLE IF NOT EXISTS tenantd.idempotency (
	key text PRIMARY KEY,
	request_hash bytea NOT NULL,
	tenant_id uuid NOT NULL,
	response bytea NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS tenantd.breaker (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	level int NOT NULL CHECK (level BETWEEN 0 AND 3),
	updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS tenantd.stripe_events (
	id text PRIMARY KEY,
	type text NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now()
);
`

func (db *DB) bootstrap(ctx context.Context) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		// Replicas starting together take turns.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7346110001)`); err != nil {
			return fmt.Errorf("bootstrap lock: %w", err)
		}
		if _, err := tx.Exec(ctx, controlSchema); err != nil {
			return fmt.Errorf("create control schema: %w", err)
		}
		return nil
	})
}

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func pgConstraint(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}

// ident quotes a server-generated schema/role name. It panics on anything else:
// reaching it with other text is a programming error, never input.
func ident(schema string) string {
	if !tenant.ValidSchemaName(schema) {
		panic("postgres: identifier is not a generated tenant schema name")
	}
	return pgx.Identifier{schema}.Sanitize()
}
