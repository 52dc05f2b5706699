package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

// leftovers counts tenant schemas, tenant roles granted to the service, ledger
// rows and idempotency rows.
func (f *fixture) leftovers(t *testing.T) (schemas, roles, ledger, idem int) {
	t.Helper()
	c := f.admin(t)
	schemas = count(t, c, `SELECT count(*) FROM pg_namespace WHERE nspname ~ '^t_[0-9a-f]{32}$'`)
	roles = count(t, c, `SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
		JOIN pg_roles a ON a.oid = m.member WHERE a.rolname = $1 AND r.rolname ~ '^t_[0-9a-f]{32}$'`, f.tdb.AppRole)
	ledger = count(t, c, `SELECT count(*) FROM tenantd.tenants`)
	idem = count(t, c, `SELECT count(*) FROM tenantd.idempotency`)
	return
}

func (f *fixture) assertNothingLeft(t *testing.T) {
	t.Helper()
	if s, r, l, i := f.leftovers(t); s+r+l+i != 0 {
		t.Fatalf("failed onboarding left schemas=%d roles=%d ledger=%d idempotency=%d", s, r, l, i)
	}
}

func TestOnboarding_ConnectionKilledMidwayLeavesNothing(t *testing.T) {
	f := newFixture(t)
	admin := f.admin(t)
	f.tenants.SetBeforeCommitHook(func(ctx context.Context, tx pgx.Tx) error {
		var pid int
		if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		// Kill our own backend from outside, after all DDL ran, before COMMIT.
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			return err
		}
		return nil
	})
	_, _, err := f.tenants.Create(context.Background(), tenant.CreateRequest{Slug: "killed", Tier: tenant.TierPro}, "idem-1")
	if err == nil {
		t.Fatal("onboarding on a killed connection succeeded")
	}
	f.assertNothingLeft(t)
	// The service recovers: the next onboarding works on a fresh connection.
	f.tenants.SetBeforeCommitHook(nil)
	if _, _, err := f.tenants.Create(context.Background(), tenant.CreateRequest{Slug: "killed", Tier: tenant.TierPro}, "idem-1"); err != nil {
		t.Fatalf("retry after kill: %v", err)
	}
}

func TestOnboarding_FailureMidwayLeavesNothing(t *testing.T) {
	f := newFixture(t)
	f.tenants.SetBeforeCommitHook(func(context.Context, pgx.Tx) error { return errors.New("injected failure after DDL") })
	if _, _, err := f.tenants.Create(context.Background(), tenant.CreateRequest{Slug: "fails", Tier: tenant.TierFree}, "k"); err == nil {
		t.Fatal("want error")
	}
	f.assertNothingLeft(t)
}

func TestOnboarding_InvalidInputLeavesNothing(t *testing.T) {
	f := newFixture(t)
	for _, req := range []tenant.CreateRequest{{Slug: "okay", Tier: "gold"}, {Slug: "okay", Tier: ""}, {Slug: "No", Tier: "free"}} {
		_, _, err := f.tenants.Create(context.Background(), req, "")
		if tenant.ErrorCode(err) != tenant.EINVALID {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	f.assertNothingLeft(t)
}

func TestOnboarding_IdempotencyKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := tenant.CreateRequest{Slug: "idem", Tier: tenant.TierStarter}
	var wg sync.WaitGroup
	results := make([]*tenant.Created, 6)
	errs := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _, errs[i] = f.tenants.Create(ctx, req, "same-key")
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("concurrent retry %d: %v", i, errs[i])
		}
		if results[i].ID != results[0].ID || results[i].APIKey != results[0].APIKey {
			t.Fatalf("retries returned different tenants")
		}
	}
	if _, _, l, _ := f.leftovers(t); l != 1 {
		t.Fatalf("%d ledger rows", l)
	}
	_, _, err := f.tenants.Create(ctx, tenant.CreateRequest{Slug: "other", Tier: tenant.TierStarter}, "same-key")
	if tenant.ErrorCode(err) != tenant.EIDEMPOTENCY {
		t.Fatalf("reused key with another body: %v", err)
	}
	// Replays keep working even with another ADMIN_TOKEN? No: the stored key is sealed with it.
	other := NewTenantService(f.db, "rotated")
	if _, _, err := other.Create(ctx, req, "same-key"); err == nil {
		t.Fatal("replay decrypted with the wrong secret")
	}
}

func TestOnboarding_DuplicateSlugConcurrently(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflict := 0, 0
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.tenants.Create(context.Background(), tenant.CreateRequest{Slug: "dup", Tier: tenant.TierFree}, "")
			mu.Lock()
			defer mu.Unlock()
			switch tenant.ErrorCode(err) {
			case "":
				ok++
			case tenant.ECONFLICT:
				conflict++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || conflict != 5 {
		t.Fatalf("ok=%d conflict=%d", ok, conflict)
	}
	if s, r, l, _ := f.leftovers(t); s != 1 || r != 1 || l != 1 {
		t.Fatalf("schemas=%d roles=%d ledger=%d", s, r, l)
	}
}

func TestReconciler_FinishesOrRollsBackCrashedWork(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	keep, _ := f.onboard(t, "keeper", tenant.TierFree)
	gone, _ := f.onboard(t, "leaver", tenant.TierFree)
	// 1. An offboarding that crashed after revoking the key.
	if _, err := f.db.Pool.Exec(ctx, `UPDATE tenantd.tenants SET status = 'offboarding', key_hash = NULL WHERE id = $1::uuid`, gone.ID); err != nil {
		t.Fatal(err)
	}
	// 2. Schema and role created outside a ledger transaction (a crashed
	//    manual or older, non-atomic onboarding).
	orphan := tenant.SchemaName(tenant.NewID())
	if _, err := f.db.Pool.Exec(ctx, fmt.Sprintf(`CREATE ROLE %[1]s NOLOGIN; GRANT %[1]s TO CURRENT_USER; CREATE SCHEMA %[1]s; CREATE TABLE %[1]s.items (x int)`, orphan)); err != nil {
		t.Fatal(err)
	}
	rep, err := f.tenants.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FinishedOffboardings != 1 || rep.DroppedOrphans != 1 || len(rep.Broken) != 0 {
		t.Fatalf("%+v", rep)
	}
	c := f.admin(t)
	for _, name := range []string{orphan, gone.Schema} {
		if n := count(t, c, `SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1) + (SELECT count(*) FROM pg_roles WHERE rolname = $1)`, name); n != 0 {
			t.Fatalf("%s still has schema/role", name)
		}
	}
	if n := count(t, c, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, keep.Schema); n != 1 {
		t.Fatal("reconciler touched a live tenant")
	}
	if n := count(t, c, `SELECT count(*) FROM tenantd.tenants WHERE id = $1 AND status = 'deleted'`, gone.ID); n != 1 {
		t.Fatal("offboarding not recorded as finished")
	}
	// 3. A live tenant whose schema vanished is reported, not silently "fixed".
	if _, err := c.Exec(ctx, `DROP SCHEMA `+keep.Schema+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	rep, err = f.tenants.Reconcile(ctx)
	if err != nil || len(rep.Broken) != 1 || rep.Broken[0] != keep.ID {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestOffboarding_RetentionDump(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	f.tenants.RetentionDir = dir
	c, p := f.onboard(t, "dumped", tenant.TierFree)
	if _, err := f.items.CreateItem(ctx, p, tenant.DefaultLimits()[tenant.TierFree], tenant.ItemInput{Name: "keep-me"}); err != nil {
		t.Fatal(err)
	}
	if err := f.tenants.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepathGlob(dir + "/" + c.ID + "-*/items.csv")
	if len(matches) != 1 {
		t.Fatalf("dump files: %v", matches)
	}
	b, _ := readFile(matches[0])
	if !contains(string(b), "keep-me") {
		t.Fatalf("dump lacks the item: %s", b)
	}
	if _, err := f.items.ListItems(ctx, p, 10); tenant.ErrorCode(err) != tenant.EUNAUTHORIZED {
		t.Fatalf("offboarded key: %v", err)
	}
}
