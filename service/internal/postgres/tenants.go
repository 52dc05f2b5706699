package postgres

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

// TenantService implements tenant.Service.
type TenantService struct {
	db *DB
	// RetentionDir, when set, receives a CSV dump of every tenant table before
	// the schema is dropped at offboarding. Empty: no dump.
	RetentionDir string
	// idemKey encrypts stored idempotent responses (they hold the API key).
	idemAEAD cipher.AEAD
	// beforeCommit is a test hook run inside the onboarding transaction.
	beforeCommit func(ctx context.Context, tx pgx.Tx) error
}

var _ tenant.Service = (*TenantService)(nil)

// NewTenantService builds the service. secret keys the encryption of stored
// idempotent responses.
func NewTenantService(db *DB, secret string) *TenantService {
	k := sha256.Sum256([]byte("tenantd idempotency v1\x00" + secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &TenantService{db: db, idemAEAD: aead}
}

// SetBeforeCommitHook installs a function run inside the onboarding
// transaction just before COMMIT (tests use it to kill the connection).
func (s *TenantService) SetBeforeCommitHook(f func(ctx context.Context, tx pgx.Tx) error) {
	s.beforeCommit = f
}

const tenantCols = `id::text, slug, tier, schema_name, status, schema_version, created_at, updated_at`

func scanTenant(row pgx.Row) (*tenant.Tenant, error) {
	var t tenant.Tenant
	var tier, status string
	if err := row.Scan(&t.ID, &t.Slug, &tier, &t.Schema, &status, &t.SchemaVersion, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.Tier, t.Status = tenant.Tier(tier), tenant.Status(status)
	return &t, nil
}

// Create onboards a tenant in one transaction.
func (s *TenantService) Create(ctx context.Context, req tenant.CreateRequest, idemKey string) (_ *tenant.Created, _ bool, err error) {
	defer translate(&err)
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	if len(idemKey) > 255 {
		return nil, false, tenant.FieldError("Idempotency-Key", "Idempotency-Key is longer than 255 bytes")
	}
	reqHash := sha256.Sum256([]byte(req.Slug + "\x00" + string(req.Tier)))
	c := newCreated(req)

	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if idemKey != "" {
			sealed, err := s.seal(c)
			if err != nil {
				return err
			}
			// First statement: a concurrent request with the same key waits
			// here until ours commits or rolls back.
			if _, err := tx.Exec(ctx, `INSERT INTO tenantd.idempotency (key, request_hash, tenant_id, response) VALUES ($1::text, $2::bytea, $3::uuid, $4::bytea)`,
				idemKey, reqHash[:], c.ID, sealed); err != nil {
				return fmt.Errorf("record idempotency key: %w", err)
			}
		}
		if err := onboardTx(ctx, tx, c); err != nil {
			return err
		}
		if s.beforeCommit != nil {
			return s.beforeCommit(ctx, tx)
		}
		return nil
	})
	if err != nil {
		switch {
		case pgCode(err) == "23505" && pgConstraint(err) == "idempotency_pkey":
			return s.replay(ctx, idemKey, reqHash[:])
		case pgCode(err) == "23505" && pgConstraint(err) == "tenants_live_slug":
			return nil, false, &tenant.Error{Code: tenant.ECONFLICT, Message: "a tenant with this slug exists", Field: "slug"}
		}
		return nil, false, fmt.Errorf("onboard tenant: %w", err)
	}
	return c, false, nil
}

// CreateMany onboards several tenants in one transaction, each exactly as
// Create does (same ledger row, same provisioning SQL: onboardTx), without
// idempotency keys. It exists for load tests that need thousands of tenants
// in the database quickly (cmd/loadtest -db-tenants); nothing is half-created:
// any failure rolls back the whole batch.
func (s *TenantService) CreateMany(ctx context.Context, reqs []tenant.CreateRequest) ([]*tenant.Created, error) {
	out := make([]*tenant.Created, 0, len(reqs))
	for _, req := range reqs {
		if err := req.Validate(); err != nil {
			return nil, fmt.Errorf("slug %q: %w", req.Slug, err)
		}
		out = append(out, newCreated(req))
	}
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		for _, c := range out {
			if err := onboardTx(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("onboard %d tenants: %w", len(reqs), err)
	}
	return out, nil
}

// newCreated makes the ids, schema name and API key of a new tenant.
func newCreated(req tenant.CreateRequest) *tenant.Created {
	id := tenant.NewID()
	now := time.Now().UTC().Truncate(time.Microsecond)
	return &tenant.Created{
		Tenant: tenant.Tenant{ID: id, Slug: req.Slug, Tier: req.Tier, Schema: tenant.SchemaName(id),
			Status: tenant.StatusActive, SchemaVersion: LatestVersion(), CreatedAt: now, UpdatedAt: now},
		APIKey: tenant.NewAPIKey(),
	}
}

// onboardTx writes c's ledger row and provisions its role and schema inside
// tx: the one onboarding path (Create, CreateMany).
func onboardTx(ctx context.Context, tx pgx.Tx, c *tenant.Created) error {
	keyHash, err := tenant.ParseAPIKey(c.APIKey)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tenantd.tenants (id, slug, tier, schema_name, key_hash, status, schema_version, created_at, updated_at)
		VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::bytea, 'active', $6::int, $7::timestamptz, $7::timestamptz)`,
		c.ID, c.Slug, string(c.Tier), c.Schema, keyHash, c.SchemaVersion, c.CreatedAt); err != nil {
		return fmt.Errorf("insert ledger row: %w", err)
	}
	return provision(ctx, tx, c.Schema)
}

// provision creates role, schema, tables and grants inside tx, in one round trip.
func provision(ctx context.Context, tx pgx.Tx, schema string) error {
	q := ident(schema)
	sql := "CREATE ROLE " + q + " NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;\n" +
		"GRANT " + q + " TO CURRENT_USER;\n" +
		"CREATE SCHEMA " + q + ";\n" +
		"SELECT set_config('search_path', '" + schema + "', true);\n" +
		pendingSQL(0) +
		grantsSQL(schema)
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("provision schema %s: %w", schema, err)
	}
	return nil
}

func (s *TenantService) seal(c *tenant.Created) ([]byte, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.idemAEAD.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.idemAEAD.Seal(nonce, nonce, plain, nil), nil
}

// replay answers a retried onboarding with the first one's result, but only
// while that tenant is still active: a replay after its offboarding claimed a
// 201 with a revoked key, even after the slug was onboarded again. Such a
// replay is 410 gone (the key stays spent: onboarding again takes a new one).
func (s *TenantService) replay(ctx context.Context, idemKey string, reqHash []byte) (*tenant.Created, bool, error) {
	var stored, sealed []byte
	var status *string
	err := s.db.Pool.QueryRow(ctx, `SELECT i.request_hash, i.response, t.status FROM tenantd.idempotency i
		LEFT JOIN tenantd.tenants t ON t.id = i.tenant_id WHERE i.key = $1::text`, idemKey).Scan(&stored, &sealed, &status)
	if err != nil {
		return nil, false, fmt.Errorf("read idempotency record: %w", err)
	}
	if string(stored) != string(reqHash) {
		return nil, false, &tenant.Error{Code: tenant.EIDEMPOTENCY, Message: "Idempotency-Key was used with a different request body", Field: "Idempotency-Key"}
	}
	if status == nil || *status != string(tenant.StatusActive) {
		return nil, false, &tenant.Error{Code: tenant.EGONE, Field: "Idempotency-Key",
			Message: "the tenant this Idempotency-Key created has been offboarded; onboard again with a new Idempotency-Key"}
	}
	n := s.idemAEAD.NonceSize()
	if len(sealed) < n {
		return nil, false, errors.New("idempotency record is corrupt")
	}
	plain, err := s.idemAEAD.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, false, fmt.Errorf("decrypt idempotency record (was ADMIN_TOKEN rotated?): %w", err)
	}
	var c tenant.Created
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, false, err
	}
	return &c, true, nil
}

// Get returns a tenant that is not deleted.
func (s *TenantService) Get(ctx context.Context, id string) (_ *tenant.Tenant, err error) {
	defer translate(&err)
	if !tenant.ValidID(id) {
		return nil, tenant.Errorf(tenant.ENOTFOUND, "tenant not found")
	}
	t, err := scanTenant(s.db.Pool.QueryRow(ctx, `SELECT `+tenantCols+` FROM tenantd.tenants WHERE id = $1::uuid AND status = 'active'`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENOTFOUND, "tenant not found")
	}
	if err != nil {
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	return t, nil
}

// SetTier changes a tenant's tier. This replica's next request sees it (the
// authentication cache is purged); other replicas within DefaultAuthCacheTTL.
func (s *TenantService) SetTier(ctx context.Context, id string, tier tenant.Tier) (_ *tenant.Tenant, err error) {
	defer translate(&err)
	if _, err := tenant.ParseTier(string(tier)); err != nil {
		return nil, err
	}
	if !tenant.ValidID(id) {
		return nil, tenant.Errorf(tenant.ENOTFOUND, "tenant not found")
	}
	t, err := scanTenant(s.db.Pool.QueryRow(ctx, `UPDATE tenantd.tenants SET tier = $2::text, updated_at = now()
		WHERE id = $1::uuid AND status = 'active' RETURNING `+tenantCols, id, string(tier)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.ENOTFOUND, "tenant not found")
	}
	if err != nil {
		return nil, fmt.Errorf("set tier: %w", err)
	}
	s.db.auth.purge()
	return t, nil
}

// ApplyStripeTier applies a Stripe event once: the event id is recorded in
// the same transaction as the tier change. It reports whether the event was
// new. The tenant is found by id (subscription metadata tenant_id) or by the
// Stripe customer recorded earlier.
func (s *TenantService) ApplyStripeTier(ctx context.Context, eventID, eventType, tenantID, customer string, tier tenant.Tier) (_ bool, err error) {
	defer translate(&err)
	applied := false
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO tenantd.stripe_events (id, type) VALUES ($1::text, $2::text) ON CONFLICT (id) DO NOTHING`, eventID, eventType)
		if err != nil {
			return fmt.Errorf("record stripe event: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // seen before
		}
		applied = true
		var q string
		var args []any
		if tenant.ValidID(tenantID) {
			q = `UPDATE tenantd.tenants SET tier = $2::text, stripe_customer = coalesce(nullif($3::text, ''), stripe_customer), updated_at = now()
				WHERE id = $1::uuid AND status = 'active'`
			args = []any{tenantID, string(tier), customer}
		} else {
			q = `UPDATE tenantd.tenants SET tier = $2::text, updated_at = now() WHERE stripe_customer = $1::text AND status = 'active'`
			args = []any{customer, string(tier)}
		}
		tag, err = tx.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("apply stripe tier: %w", err)
		}
		if tag.RowsAffected() == 0 {
			// Keep the event recorded: Stripe retries would not find the tenant either.
			s.db.log.Warn("stripe event for unknown tenant", "event", eventID, "type", eventType)
		}
		return nil
	})
	if applied {
		s.db.auth.purge()
	}
	return applied, err
}

// Authenticate maps a key hash to its active tenant. Successful lookups are
// reused for DefaultAuthCacheTTL (authcache.go): safe for revocation because
// every tenant query re-checks the key in its own batch.
func (s *TenantService) Authenticate(ctx context.Context, keyHash []byte) (_ *tenant.Principal, err error) {
	defer translate(&err)
	if p, ok := s.db.auth.get(keyHash); ok {
		return p, nil
	}
	p := &tenant.Principal{KeyHash: keyHash}
	var tier string
	// Per request: prepared once per connection (the pool default is exec
	// mode for tenant batches). Safe: fully qualified, runs as the login role.
	err = s.db.Pool.QueryRow(ctx, `SELECT id::text, slug, tier FROM tenantd.tenants WHERE key_hash = $1::bytea AND status = 'active'`,
		pgx.QueryExecModeCacheStatement, keyHash).
		Scan(&p.TenantID, &p.Slug, &tier)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenant.Errorf(tenant.EUNAUTHORIZED, "invalid API key")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	p.Tier = tenant.Tier(tier)
	s.db.auth.put(p)
	return p, nil
}

// ActiveKeyHashes lists the key hash of every active tenant (32 bytes
// each: 10,000 tenants are 320 kB on the wire).
func (s *TenantService) ActiveKeyHashes(ctx context.Context) (_ [][]byte, err error) {
	defer translate(&err)
	rows, err := s.db.Pool.Query(ctx, `SELECT key_hash FROM tenantd.tenants WHERE status = 'active'`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}

// CountByTier counts active tenants per tier (for metrics).
func (s *TenantService) CountByTier(ctx context.Context) (_ map[tenant.Tier]int, err error) {
	defer translate(&err)
	rows, err := s.db.Pool.Query(ctx, `SELECT tier, count(*)::int FROM tenantd.tenants WHERE status = 'active' GROUP BY tier`)
	if err != nil {
		return nil, err
	}
	out := map[tenant.Tier]int{}
	for rows.Next() {
		var t string
		var n int
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[tenant.Tier(t)] = n
	}
	return out, rows.Err()
}

// Delete offboards a tenant: the key is revoked and the status changed first
// (committed, so the key stops working at once), then the optional retention
// dump, then schema and role are dropped. A crash in between leaves status
// 'offboarding', which Reconcile finishes.
func (s *TenantService) Delete(ctx context.Context, id string) (err error) {
	defer translate(&err)
	if !tenant.ValidID(id) {
		return tenant.Errorf(tenant.ENOTFOUND, "tenant not found")
	}
	var schema string
	err = s.db.Pool.QueryRow(ctx, `UPDATE tenantd.tenants SET status = 'offboarding', key_hash = NULL, updated_at = now()
		WHERE id = $1::uuid AND status IN ('active', 'offboarding') RETURNING schema_name`, id).Scan(&schema)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Errorf(tenant.ENOTFOUND, "tenant not found")
	}
	if err != nil {
		return fmt.Errorf("revoke tenant: %w", err)
	}
	s.db.auth.purge()
	return s.finishOffboarding(ctx, id, schema)
}

// finishOffboarding dumps (optionally) and drops the schema and role of a
// tenant whose key is already revoked. The ledger row is locked first, so
// parallel DELETEs of one tenant and the reconciler take turns: the first
// finishes, the others find the tenant deleted and have nothing to do (they
// raced into DROP SCHEMA and 32 of 40 answered 500 "schema does not exist").
// The dump runs on the same connection, inside the transaction: a second
// connection per offboarding could starve the pool while others wait on the
// lock.
func (s *TenantService) finishOffboarding(ctx context.Context, id, schema string) error {
	return pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM tenantd.tenants WHERE id = $1::uuid FOR UPDATE`, id).Scan(&status); err != nil {
			return fmt.Errorf("lock tenant %s: %w", id, err)
		}
		if status != string(tenant.StatusOffboarding) {
			return nil // finished by whoever held the lock before us
		}
		if s.RetentionDir != "" {
			if err := s.dump(ctx, tx.Conn(), id, schema); err != nil {
				return fmt.Errorf("retention dump of %s: %w", id, err)
			}
		}
		if err := dropSchemaAndRole(ctx, tx, schema); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE tenantd.tenants SET status = 'deleted', deleted_at = now(), updated_at = now() WHERE id = $1::uuid`, id)
		return err
	})
}

func dropSchemaAndRole(ctx context.Context, tx pgx.Tx, schema string) error {
	q := ident(schema)
	var hasSchema, hasRole bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text),
		EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1::text)`, schema).Scan(&hasSchema, &hasRole); err != nil {
		return err
	}
	sql := ""
	if hasSchema {
		sql += "DROP SCHEMA " + q + " CASCADE;\n"
	}
	if hasRole {
		sql += "DROP ROLE " + q + ";\n"
	}
	if sql == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("drop schema and role %s: %w", schema, err)
	}
	return nil
}

// dump writes each tenant table as CSV under RetentionDir/<id>-<unix>/,
// reading through conn.
func (s *TenantService) dump(ctx context.Context, conn *pgx.Conn, id, schema string) error {
	dir := filepath.Join(s.RetentionDir, fmt.Sprintf("%s-%d", id, time.Now().Unix()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1::text AND c.relkind = 'r' ORDER BY 1`, schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, tbl := range tables {
		f, err := os.OpenFile(filepath.Join(dir, tbl+".csv"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = conn.PgConn().CopyTo(ctx, f, "COPY "+ident(schema)+"."+pgx.Identifier{tbl}.Sanitize()+" TO STDOUT WITH (FORMAT csv, HEADER true)")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Reconcile runs at start. It finishes offboardings that crashed after the key
// was revoked, drops schemas and roles that no live ledger row owns (an
// onboarding that was interrupted outside its transaction, or a manual step),
// reports live tenants whose schema or role is missing, and expires
// idempotency records older than 24 h.
func (s *TenantService) Reconcile(ctx context.Context) (ReconcileReport, error) {
	var rep ReconcileReport
	rows, err := s.db.Pool.Query(ctx, `SELECT id::text, schema_name FROM tenantd.tenants WHERE status = 'offboarding'`)
	if err != nil {
		return rep, err
	}
	type pair struct{ id, schema string }
	pending, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		return p, r.Scan(&p.id, &p.schema)
	})
	if err != nil {
		return rep, err
	}
	for _, p := range pending {
		if err := s.finishOffboarding(ctx, p.id, p.schema); err != nil {
			return rep, fmt.Errorf("finish offboarding %s: %w", p.id, err)
		}
		rep.FinishedOffboardings++
	}

	// Orphans: tenant-shaped schemas in this database, and tenant-shaped
	// roles granted to us, that no active ledger row owns. Roles are
	// cluster-wide, so only roles we are a member of are considered.
	rows, err = s.db.Pool.Query(ctx, `
		SELECT name FROM (
			SELECT nspname AS name FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{32}$'
			UNION
			SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
			WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND r.rolname ~ '^t_[0-9a-f]{32}$'
		) n
		WHERE NOT EXISTS (SELECT 1 FROM tenantd.tenants t WHERE t.schema_name = n.name AND t.status = 'active')`)
	if err != nil {
		return rep, err
	}
	orphans, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return rep, err
	}
	for _, o := range orphans {
		if err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error { return dropSchemaAndRole(ctx, tx, o) }); err != nil {
			return rep, fmt.Errorf("drop orphan %s: %w", o, err)
		}
		s.db.log.Warn("reconciler dropped orphan tenant schema/role", "name", o)
		rep.DroppedOrphans++
	}

	rows, err = s.db.Pool.Query(ctx, `SELECT t.id::text FROM tenantd.tenants t WHERE t.status = 'active' AND (
		NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = t.schema_name) OR
		NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = t.schema_name))`)
	if err != nil {
		return rep, err
	}
	broken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return rep, err
	}
	for _, id := range broken {
		s.db.log.Error("active tenant is missing its schema or role", "tenant", id)
	}
	rep.Broken = broken

	if _, err := s.db.Pool.Exec(ctx, `DELETE FROM tenantd.idempotency WHERE created_at < now() - interval '24 hours'`); err != nil {
		return rep, err
	}
	return rep, nil
}

// ReconcileReport says what Reconcile did.
type ReconcileReport struct {
	FinishedOffboardings int
	DroppedOrphans       int
	Broken               []string
}

func (r ReconcileReport) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("finished_offboardings", r.FinishedOffboardings),
		slog.Int("dropped_orphans", r.DroppedOrphans), slog.Int("broken", len(r.Broken)))
}
