package postgres

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// The authentication cache may hand out a principal whose key was revoked a
// moment ago (by another replica, or directly in the ledger). Every tenant
// query must still refuse it: the scope statement re-checks the key in the
// same batch.
func TestAuthCache_RevokedKeyRefusedOnNextQuery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, p := f.onboard(t, "cache-revoke", tenant.TierPro)
	it, err := f.items.CreateItem(ctx, p, tenant.DefaultLimits()[tenant.TierPro], tenant.ItemInput{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	// Revoke as another replica would: straight in the ledger, no local purge.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE tenantd.tenants SET status = 'offboarding', key_hash = NULL WHERE id = $1::uuid`, c.ID); err != nil {
		t.Fatal(err)
	}
	cached, err := f.tenants.Authenticate(ctx, p.KeyHash)
	if err != nil || cached.TenantID != c.ID {
		t.Fatalf("expected the cache to still hold the revoked key (this test must exercise a stale entry): %v %v", cached, err)
	}
	lim := tenant.DefaultLimits()[tenant.TierPro]
	checks := map[string]error{}
	_, checks["create"] = f.items.CreateItem(ctx, cached, lim, tenant.ItemInput{Name: "late"})
	_, checks["list"] = f.items.ListItems(ctx, cached, 50)
	_, checks["get"] = f.items.GetItem(ctx, cached, it.ID)
	checks["delete"] = f.items.DeleteItem(ctx, cached, it.ID)
	for op, err := range checks {
		if tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
			t.Errorf("%s with a revoked key: want unauthorized, got %v", op, err)
		}
	}
	// The refusal evicted the key: authentication now fails too.
	if _, err := f.tenants.Authenticate(ctx, p.KeyHash); tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
		t.Fatalf("authenticate after refusal: want unauthorized, got %v", err)
	}
	// Nothing ran: the item is still there, untouched.
	if n := count(t, f.admin(t), `SELECT count(*) FROM `+ident(c.Schema)+`.items`); n != 1 {
		t.Fatalf("items after refused calls: %d, want 1", n)
	}
}

// Offboarding on this replica purges the cache: the key fails at once, in
// authentication already.
func TestAuthCache_DeletePurgesLocally(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, p := f.onboard(t, "cache-delete", tenant.TierFree)
	if err := f.tenants.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tenants.Authenticate(ctx, p.KeyHash); tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
		t.Fatalf("want unauthorized after delete, got %v", err)
	}
}

// A tier change is seen at once by the replica that made it and within
// DefaultAuthCacheTTL by every other replica (own pool, own cache).
func TestAuthCache_TierChangeWithinTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, p := f.onboard(t, "cache-tier", tenant.TierFree)

	other, err := Open(ctx, f.tdb.AppURL, Options{MaxConns: 2, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	now := time.Now()
	other.auth.now = func() time.Time { return now }
	replica := NewTenantService(other, "secret")
	if got, err := replica.Authenticate(ctx, p.KeyHash); err != nil || got.Tier != tenant.TierFree {
		t.Fatalf("replica before: %v %v", got, err)
	}

	if _, err := f.tenants.SetTier(ctx, c.ID, tenant.TierPro); err != nil {
		t.Fatal(err)
	}
	if got, err := f.tenants.Authenticate(ctx, p.KeyHash); err != nil || got.Tier != tenant.TierPro {
		t.Fatalf("same replica right after SetTier: want pro, got %v %v", got, err)
	}
	now = now.Add(DefaultAuthCacheTTL / 2)
	if got, _ := replica.Authenticate(ctx, p.KeyHash); got == nil || got.Tier != tenant.TierFree {
		t.Fatalf("other replica within the TTL: expected the cached tier (free), got %v", got)
	}
	now = now.Add(DefaultAuthCacheTTL) // past the bound
	if got, err := replica.Authenticate(ctx, p.KeyHash); err != nil || got.Tier != tenant.TierPro {
		t.Fatalf("other replica after the TTL: want pro, got %v %v", got, err)
	}
}

func TestAuthCache_Bounded(t *testing.T) {
	c := newAuthCache(time.Minute)
	for i := range authCacheMax + 10 {
		h := []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}
		c.put(&tenant.Principal{TenantID: "t", KeyHash: h})
	}
	if n := len(c.m); n > authCacheMax {
		t.Fatalf("cache holds %d entries, bound %d", n, authCacheMax)
	}
	off := newAuthCache(-1)
	off.put(&tenant.Principal{KeyHash: []byte("k")})
	if _, ok := off.get([]byte("k")); ok {
		t.Fatal("disabled cache returned an entry")
	}
}

// Only a tenant batch that completed without error may skip the RESET
// backstop; a refused one leaves its connection to it.
func TestScopedBatch_ErrorKeepsBackstop(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, p := f.onboard(t, "backstop", tenant.TierFree)
	if _, err := f.db.Pool.Exec(ctx, `UPDATE tenantd.tenants SET key_hash = NULL, status = 'offboarding' WHERE id = $1::uuid`, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.items.ListItems(ctx, p, 10); tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
		t.Fatalf("want unauthorized, got %v", err)
	}
	n := 0
	f.db.clean.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("a failed batch marked its connection clean (%d marks)", n)
	}
}
