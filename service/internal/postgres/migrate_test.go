package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

// TestMigrateAll: N workers, one failing tenant does not stop the others, a
// second run resumes with only the tenants still behind (one ledger query),
// new tables get the tenant grants, and a third run touches nothing.
func TestMigrateAll(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var made []*tenant.Created
	for i := range 12 {
		c, _ := f.onboard(t, fmt.Sprintf("mig-%02d", i), tenant.TierFree)
		made = append(made, c)
	}
	saved := Migrations
	t.Cleanup(func() { Migrations = saved })
	Migrations = append(append([]Migration{}, saved...), Migration{Version: 2, SQL: `
ALTER TABLE items ADD COLUMN note text;
CREATE TABLE labels (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL UNIQUE);`,
		Tables: []string{"labels"}})

	// Make one tenant fail: a conflicting table already exists in its schema.
	bad := made[5]
	if _, err := f.db.Pool.Exec(ctx, `CREATE TABLE `+bad.Schema+`.labels (x int)`); err != nil {
		t.Fatal(err)
	}
	rep, err := f.db.MigrateAll(ctx, 4)
	if err == nil || rep.Pending != 12 || rep.Migrated != 11 || rep.Failed != 1 {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	if _, err := f.db.Pool.Exec(ctx, `DROP TABLE `+bad.Schema+`.labels`); err != nil {
		t.Fatal(err)
	}
	rep, err = f.db.MigrateAll(ctx, 4)
	if err != nil || rep.Pending != 1 || rep.Migrated != 1 {
		t.Fatalf("resume: %+v %v", rep, err)
	}
	rep, err = f.db.MigrateAll(ctx, 4)
	if err != nil || rep.Pending != 0 || rep.Migrated != 0 {
		t.Fatalf("nothing pending: %+v %v", rep, err)
	}
	// The new table is usable by its tenant and not by another.
	conn := f.app(t)
	for i, c := range made {
		other := made[(i+1)%len(made)]
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Exec(ctx, `SELECT set_config('role', $1::text, true), set_config('search_path', $1::text, true)`, c.Schema)
		if err == nil {
			_, err = tx.Exec(ctx, `INSERT INTO labels (label) VALUES ('x'); UPDATE items SET note = 'n'`)
		}
		if err != nil {
			t.Fatalf("tenant %s cannot use migrated schema: %v", c.Slug, err)
		}
		if _, err := tx.Exec(ctx, `SELECT * FROM `+other.Schema+`.labels`); err == nil || pgCode(err) != "42501" {
			t.Fatalf("tenant %s reads %s.labels: %v", c.Slug, other.Slug, err)
		}
		_ = tx.Rollback(ctx)
	}
	// Onboarding after the new migration creates tenants at the latest version.
	c, _ := f.onboard(t, "mig-new", tenant.TierFree)
	got, err := f.tenants.Get(ctx, c.ID)
	if err != nil || got.SchemaVersion != 2 {
		t.Fatalf("new tenant version %+v %v", got, err)
	}
}
