package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantco/platform/service/internal/tenant"
)

// ItemService implements tenant.ItemService. Every method sends one batch:
// the scope statement, then the query, in one round trip and one implicit
// transaction, so role and search_path are transaction-local.
type ItemService struct{ db *DB }

var _ tenant.ItemService = (*ItemService)(nil)

// NewItemService builds the item store.
func NewItemService(db *DB) *ItemService { return &ItemService{db: db} }

// scopeSQL re-checks the caller's key against the ledger and switches to the
// tenant's role and schema. When the key is no longer valid the role becomes
// a name that cannot exist, which raises an error and aborts the batch before
// the tenant query runs: a revoked key never executes anything.
const scopeSQL = `SELECT set_config('role', s.name, true), set_config('search_path', s.name, true)
FROM (SELECT coalesce((SELECT schema_name FROM tenantd.tenants
	WHERE id = $1::uuid AND key_hash = $2::bytea AND status = 'active'), 'tenantd: key revoked') AS name) s`

// scopeStmt names scopeSQL, prepared on each connection at its first tenant
// batch (sendTenant; later calls are a map lookup in pgx). Queued by this
// name, pgx sends it as a Bind of the prepared statement in the same batch
// (one round trip). It is fully qualified and always runs first, as the login
// role with the session search_path, so its cached plan is valid for every
// tenant. The tenant statement after it is parsed under the tenant's
// search_path (tenantstmt.go).
const scopeStmt = "tenantd_scope"

// scopeErr maps the scope statement's failure. A refused key is also dropped
// from the authentication cache.
func (s *ItemService) scopeErr(p *tenant.Principal, err error) error {
	// 22023 invalid_parameter_value: role "tenantd: key revoked" does not exist.
	if pgCode(err) == "22023" || pgCode(err) == "42704" {
		s.db.auth.forget(p.KeyHash)
		return tenant.Errorf(tenant.EUNAUTHORIZED, "invalid API key")
	}
	return fmt.Errorf("enter tenant scope: %w", err)
}

// ValidateItem checks an item body. What one item may occupy is bounded as
// stored, not as sent: jsonb prints numbers expanded (a 64 KiB body of 1e300
// was a 3.3 MB item) and adds a space after each comma and colon, so the
// bound from tenant.ScanJSON, not the body's length, must fit MaxItemBytes.
func ValidateItem(in tenant.ItemInput) error {
	if in.Name == "" || len(in.Name) > 200 {
		return tenant.FieldError("name", "name must be 1 to 200 bytes")
	}
	if !utf8.ValidString(in.Name) || strings.IndexByte(in.Name, 0) >= 0 {
		return tenant.FieldError("name", "name must be UTF-8 text without NUL")
	}
	stored := len(in.Name) + len("null")
	if len(in.Data) > 0 {
		if !json.Valid(in.Data) || !utf8.Valid(in.Data) {
			return tenant.FieldError("data", "data must be UTF-8 JSON")
		}
		f, err := tenant.ScanJSON(in.Data)
		if err != nil {
			return tenant.FieldError("data", "data must be UTF-8 JSON")
		}
		switch {
		case f.LoneSurrogate:
			return tenant.FieldError("data", "data must be valid Unicode: a \\ud800-\\udfff escape must be a high surrogate directly followed by a low one")
		case f.NULEscape: // PostgreSQL jsonb cannot store U+0000; "\\u0000" (an escaped backslash) is fine
			return tenant.FieldError("data", "data must not contain \\u0000 (NUL)")
		case f.MaxExponent > 300:
			return tenant.FieldError("data", "numbers in data must have exponents within ±300")
		case f.LongestNumber >= 1000:
			return tenant.FieldError("data", "numbers in data must be shorter than 1000 characters")
		}
		stored = len(in.Name) + f.StoredBound
	}
	if stored > tenant.MaxItemBytes {
		return tenant.FieldError("data", "item would take up to %d bytes as stored, over the limit of %d "+
			"(stored JSON has numbers written out in full, 1e300 as 301 digits, and a space after each comma and colon)",
			stored, tenant.MaxItemBytes)
	}
	return nil
}

// insertItemSQL counts the item's size as stored (jsonb normalizes numbers:
// 1e300 is kept as 301 digits), so quotas bound what is really stored.
const insertItemSQL = `WITH v AS (
	SELECT $1::text AS name, $2::jsonb AS data
), s AS (
	SELECT name, data, octet_length(name) + octet_length(data::text) AS size FROM v
), u AS (
	UPDATE usage SET items = items + 1, bytes = bytes + (SELECT size FROM s)
	WHERE items + 1 <= $3::bigint AND bytes + (SELECT size FROM s) <= $4::bigint
	RETURNING 1
), i AS (
	INSERT INTO items (name, data, size) SELECT s.name, s.data, s.size FROM s, u
	RETURNING id, name, data, created_at
), e AS (
	INSERT INTO item_events (item_id, action) SELECT id, 'create' FROM i
)
SELECT id::text, name, data::text, created_at FROM i`

// CreateItem inserts an item unless it would take the tenant over its item
// count or storage quota. The usage row is updated in the same statement, so
// concurrent inserts serialize on it and the quota is never exceeded.
func (s *ItemService) CreateItem(ctx context.Context, p *tenant.Principal, lim tenant.Limits, in tenant.ItemInput) (_ *tenant.Item, err error) {
	defer translate(&err)
	if err := ValidateItem(in); err != nil {
		return nil, err
	}
	data := in.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	br := s.db.sendTenant(ctx, p, "ins", insertItemSQL, in.Name, string(data), lim.MaxItems, lim.MaxStorageBytes)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, s.scopeErr(p, err)
	}
	it, err := scanItem(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &tenant.Error{Code: tenant.EQUOTA, Message: fmt.Sprintf(
			"the %s tier allows %d items and %d bytes of storage", p.Tier, lim.MaxItems, lim.MaxStorageBytes)}
	}
	if err != nil {
		return nil, fmt.Errorf("insert item: %w", err)
	}
	return it, br.Close()
}

func scanItem(row pgx.Row) (*tenant.Item, error) {
	var it tenant.Item
	var data string
	var created time.Time
	if err := row.Scan(&it.ID, &it.Name, &data, &created); err != nil {
		return nil, err
	}
	it.Data = json.RawMessage(data)
	it.CreatedAt = created.UTC()
	return &it, nil
}

// ListItems returns the first page's items, newest first.
func (s *ItemService) ListItems(ctx context.Context, p *tenant.Principal, limit int) ([]tenant.Item, error) {
	if limit <= 0 || limit > tenant.MaxPageItems {
		limit = tenant.DefaultPageItems
	}
	page, err := s.ListPage(ctx, p, tenant.PageQuery{Limit: limit})
	if err != nil {
		return nil, err
	}
	return page.Items, nil
}

// listSQL and listAfterSQL return up to $1+1 rows of a page in the order of
// the items_created_at index, with the stored size of the items before each
// row (a running sum that streams: the index scan stops at the limit). A row
// whose predecessors already hold MaxPageBytes ($4) comes back without its
// data, so no more than one page of item data is ever read or sent; its
// presence, like the row past the limit, only says that another page exists.
// listAfterSQL starts after the cursor ($2, $3): created_at <= $2 is the
// index range, the rest breaks ties on id.
const (
	listSQL = `WITH p AS (
	SELECT id, name, data, created_at, sum(size) OVER (ORDER BY created_at DESC, id ROWS UNBOUNDED PRECEDING) - size AS before
	FROM items ORDER BY created_at DESC, id LIMIT $1::int + 1
)
SELECT id::text, name, CASE WHEN before < $2::bigint THEN data::text END, created_at FROM p ORDER BY p.created_at DESC, p.id`
	listAfterSQL = `WITH p AS (
	SELECT id, name, data, created_at, sum(size) OVER (ORDER BY created_at DESC, id ROWS UNBOUNDED PRECEDING) - size AS before
	FROM items WHERE created_at <= $2::timestamptz AND (created_at < $2::timestamptz OR id > $3::uuid)
	ORDER BY created_at DESC, id LIMIT $1::int + 1
)
SELECT id::text, name, CASE WHEN before < $4::bigint THEN data::text END, created_at FROM p ORDER BY p.created_at DESC, p.id`
)

// ListPage returns one page of the caller's items, newest first: at most
// q.Limit items and tenant.MaxPageBytes of them as stored (at least one).
func (s *ItemService) ListPage(ctx context.Context, p *tenant.Principal, q tenant.PageQuery) (_ *tenant.ItemPage, err error) {
	defer translate(&err)
	if q.Limit < 1 || q.Limit > tenant.MaxPageItems {
		return nil, tenant.FieldError("limit", "limit must be an integer from 1 to %d", tenant.MaxPageItems)
	}
	var br pgx.BatchResults
	if q.After == nil {
		br = s.db.sendTenant(ctx, p, "list", listSQL, q.Limit, int64(tenant.MaxPageBytes))
	} else {
		br = s.db.sendTenant(ctx, p, "listafter", listAfterSQL, q.Limit, q.After.CreatedAt, q.After.ID, int64(tenant.MaxPageBytes))
	}
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, s.scopeErr(p, err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	page := &tenant.ItemPage{Items: []tenant.Item{}}
	more := false
	for rows.Next() {
		var it tenant.Item
		var data *string
		if err := rows.Scan(&it.ID, &it.Name, &data, &it.CreatedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list items: %w", err)
		}
		if len(page.Items) == q.Limit || data == nil {
			more = true
			break // the rest are without data: Close drains them
		}
		it.Data = json.RawMessage(*data)
		it.CreatedAt = it.CreatedAt.UTC()
		page.Items = append(page.Items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list items: %w", err)
	}
	if more {
		last := page.Items[len(page.Items)-1]
		page.NextCursor = tenant.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.String()
	}
	return page, br.Close()
}

var errItemNotFound = tenant.Errorf(tenant.ENOTFOUND, "item not found")

// GetItem returns one item of the caller's; any other id is not found.
func (s *ItemService) GetItem(ctx context.Context, p *tenant.Principal, id string) (_ *tenant.Item, err error) {
	defer translate(&err)
	if !tenant.ValidID(id) {
		return nil, errItemNotFound
	}
	br := s.db.sendTenant(ctx, p, "get", `SELECT id::text, name, data::text, created_at FROM items WHERE id = $1::uuid`, id)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, s.scopeErr(p, err)
	}
	it, err := scanItem(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errItemNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get item: %w", err)
	}
	return it, br.Close()
}

const deleteItemSQL = `WITH d AS (
	DELETE FROM items WHERE id = $1::uuid RETURNING id, size
), u AS (
	UPDATE usage SET items = usage.items - 1, bytes = usage.bytes - d.size FROM d RETURNING 1
), e AS (
	INSERT INTO item_events (item_id, action) SELECT id, 'delete' FROM d
)
SELECT count(*) FROM d`

// DeleteItem deletes one item of the caller's and returns its quota.
func (s *ItemService) DeleteItem(ctx context.Context, p *tenant.Principal, id string) (err error) {
	defer translate(&err)
	if !tenant.ValidID(id) {
		return errItemNotFound
	}
	br := s.db.sendTenant(ctx, p, "del", deleteItemSQL, id)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return s.scopeErr(p, err)
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		return fmt.Errorf("delete item: %w", err)
	}
	if n == 0 {
		return errItemNotFound
	}
	return br.Close()
}

// scopedResults releases its connection at Close. When the batch completed
// without error the connection is released as clean (see DB.clean): the
// batch's fixed SQL only sets transaction-local state, gone at its implicit
// commit, so the RESET backstop round trip is skipped. Any error leaves the
// connection to the backstop.
type scopedResults struct {
	pgx.BatchResults
	db   *DB
	conn *pgxpool.Conn
	err  error
	prep *pendingPrep // statement to prepare on this connection afterwards
	used *usedStmt    // prepared statement the batch ran
}

func (r *scopedResults) Close() error {
	if r.conn == nil {
		return r.err
	}
	c := r.conn
	r.conn = nil
	r.err = r.BatchResults.Close()
	pc := c.Conn().PgConn()
	if r.err != nil || pc.IsClosed() || pc.TxStatus() != 'I' {
		if r.err != nil && r.used != nil && !pc.IsClosed() && pc.TxStatus() == 'I' {
			r.used.dropIfStale(c.Conn(), r.err)
		}
		c.Release() // the backstop runs (or pgxpool destroys it)
		return r.err
	}
	if r.prep == nil {
		r.db.clean.Store(c.Conn(), struct{}{})
		c.Release()
		return nil
	}
	// The caller has its results; prepare while still holding the connection.
	go func(pp *pendingPrep) {
		if err := pp.run(c.Conn()); err == nil {
			r.db.clean.Store(c.Conn(), struct{}{})
		} else {
			r.db.log.Debug("prepare tenant statement", "err", err)
		}
		c.Release()
	}(r.prep)
	return nil
}

// failedBatch is the result of a batch that could not get a connection.
type failedBatch struct{ err error }

func (f failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f failedBatch) Query() (pgx.Rows, error)         { return nil, f.err }
func (f failedBatch) QueryRow() pgx.Row                { return failedRow(f) }
func (f failedBatch) Close() error                     { return f.err }
func (f failedBatch) Tx() pgx.Tx                       { return nil }

type failedRow struct{ err error }

func (f failedRow) Scan(...any) error { return f.err }
