package postgres

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

// One connection alternates between two tenants, so every tenant statement
// ends up prepared for both on the same backend. Each tenant must still see
// only its own rows, a foreign id must stay not found, and a revoked key must
// be refused even though its statements are prepared.
func TestTenantStatements_OneConnectionTwoTenants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ca, pa := f.onboard(t, "stmt-a", tenant.TierPro)
	cb, pb := f.onboard(t, "stmt-b", tenant.TierPro)
	db, err := Open(ctx, f.tdb.AppURL, Options{MaxConns: 1, TenantShards: 1,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	items := NewItemService(db)
	lim := tenant.DefaultLimits()[tenant.TierPro]
	own := map[string][]string{}
	for round := range 4 { // round 0 runs unnamed and prepares; later rounds use the prepared statements
		for _, p := range []*tenant.Principal{pa, pb} {
			prefix := p.Slug + ":"
			it, err := items.CreateItem(ctx, p, lim, tenant.ItemInput{Name: prefix + "x"})
			if err != nil {
				t.Fatalf("round %d create %s: %v", round, p.Slug, err)
			}
			own[p.TenantID] = append(own[p.TenantID], it.ID)
			list, err := items.ListItems(ctx, p, 50)
			if err != nil || len(list) != len(own[p.TenantID]) {
				t.Fatalf("round %d list %s: %d items, want %d (%v)", round, p.Slug, len(list), len(own[p.TenantID]), err)
			}
			for _, l := range list {
				if !strings.HasPrefix(l.Name, prefix) {
					t.Fatalf("round %d: %s listed %q", round, p.Slug, l.Name)
				}
			}
			got, err := items.GetItem(ctx, p, it.ID)
			if err != nil || got.Name != prefix+"x" {
				t.Fatalf("round %d get %s: %v %v", round, p.Slug, got, err)
			}
		}
		// Foreign ids: not found, and the owner's row is untouched.
		if _, err := items.GetItem(ctx, pb, own[pa.TenantID][0]); tenant.ErrorCode(err) != tenant.ENOTFOUND {
			t.Fatalf("round %d: b read a's item: %v", round, err)
		}
		if err := items.DeleteItem(ctx, pa, own[pb.TenantID][0]); tenant.ErrorCode(err) != tenant.ENOTFOUND {
			t.Fatalf("round %d: a deleted b's item: %v", round, err)
		}
		if err := items.DeleteItem(ctx, pb, own[pa.TenantID][0]); tenant.ErrorCode(err) != tenant.ENOTFOUND {
			t.Fatalf("round %d: b deleted a's item: %v", round, err)
		}
	}
	// The statements really are prepared, per tenant, on the one connection.
	conn, err := db.shards[0].Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT name FROM pg_prepared_statements ORDER BY name`)
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	conn.Release()
	for _, id := range []string{ca.ID, cb.ID} {
		for _, kind := range []string{"ins", "list", "get", "del"} {
			want := kind + "_" + strings.ReplaceAll(id, "-", "")
			found := false
			for _, n := range names {
				found = found || n == want
			}
			if !found {
				t.Fatalf("statement %s not prepared; have %v", want, names)
			}
		}
	}
	// Revoked in the ledger: the prepared path refuses too, and runs nothing.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE tenantd.tenants SET key_hash = NULL, status = 'offboarding' WHERE id = $1::uuid`, ca.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := items.CreateItem(ctx, pa, lim, tenant.ItemInput{Name: "stmt-a:late"}); tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
		t.Fatalf("revoked create: %v", err)
	}
	if _, err := items.ListItems(ctx, pa, 50); tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
		t.Fatalf("revoked list: %v", err)
	}
	if n := count(t, f.admin(t), `SELECT count(*) FROM `+ident(ca.Schema)+`.items`); n != len(own[ca.ID]) {
		t.Fatalf("a has %d items after refused create, want %d", n, len(own[ca.ID]))
	}
	// A schema change invalidates the plans instead of using stale ones.
	if _, err := f.admin(t).Exec(ctx, `ALTER TABLE `+ident(cb.Schema)+`.items ADD COLUMN extra int`); err != nil {
		t.Fatal(err)
	}
	if list, err := items.ListItems(ctx, pb, 50); err != nil || len(list) != len(own[cb.ID]) {
		t.Fatalf("list after ALTER: %d items, %v", len(list), err)
	}
}
