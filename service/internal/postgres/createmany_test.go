package postgres

import (
	"context"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

// catalogShape describes what onboarding made for a schema, by name only:
// relations (with kind), the grants on them and on the schema, and the role.
func (f *fixture) catalogShape(t *testing.T, schema string) []string {
	t.Helper()
	c := f.admin(t)
	rows, err := c.Query(context.Background(), `
		SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(replace(c.relacl::text, $1, 'T'), '-')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1
		UNION ALL SELECT 'schema ' || replace(n.nspacl::text, $1, 'T') FROM pg_namespace n WHERE n.nspname = $1
		UNION ALL SELECT 'role ' || r.rolcanlogin::text || r.rolinherit::text || r.rolsuper::text || r.rolcreaterole::text FROM pg_roles r WHERE r.rolname = $1
		UNION ALL SELECT 'member ' || count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = $1
		ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestCreateMany_SameAsOnboarding: tenants made in bulk (the load tool's
// -db-tenants) are made exactly as POST /v1/tenants makes them: the same
// relations, grants, role and membership as a tenant from Create, a working
// key and isolated items; a batch with a bad request creates nothing.
func TestCreateMany_SameAsOnboarding(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	one, _, err := f.tenants.Create(ctx, tenant.CreateRequest{Slug: "single", Tier: tenant.TierPro}, "")
	if err != nil {
		t.Fatal(err)
	}
	many, err := f.tenants.CreateMany(ctx, []tenant.CreateRequest{{Slug: "bulk-a", Tier: tenant.TierPro}, {Slug: "bulk-b", Tier: tenant.TierFree}})
	if err != nil {
		t.Fatal(err)
	}
	want := f.catalogShape(t, one.Schema)
	if len(want) < 10 {
		t.Fatalf("onboarding made suspiciously little: %v", want)
	}
	for _, c := range many {
		got := f.catalogShape(t, c.Schema)
		if len(got) != len(want) {
			t.Fatalf("%s: %d catalog entries, Create made %d:\n%v\n%v", c.Slug, len(got), len(want), got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: %q, Create made %q", c.Slug, got[i], want[i])
			}
		}
		h, err := tenant.ParseAPIKey(c.APIKey)
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.tenants.Authenticate(ctx, h)
		if err != nil || p.TenantID != c.ID || p.Tier != c.Tier {
			t.Fatalf("%s: authenticate: %+v %v", c.Slug, p, err)
		}
		if _, err := f.items.CreateItem(ctx, p, tenant.DefaultLimits()[c.Tier], tenant.ItemInput{Name: c.Slug}); err != nil {
			t.Fatalf("%s: create item: %v", c.Slug, err)
		}
		items, err := f.items.ListItems(ctx, p, 50)
		if err != nil || len(items) != 1 || items[0].Name != c.Slug {
			t.Fatalf("%s: list: %+v %v", c.Slug, items, err)
		}
	}

	before, _, ledger, _ := f.leftovers(t)
	_, err = f.tenants.CreateMany(ctx, []tenant.CreateRequest{{Slug: "bulk-c", Tier: tenant.TierPro}, {Slug: "bulk-a", Tier: tenant.TierPro}})
	if err == nil {
		t.Fatal("a batch with a live duplicate slug succeeded")
	}
	if _, err := f.tenants.CreateMany(ctx, []tenant.CreateRequest{{Slug: "bulk-d", Tier: tenant.TierPro}, {Slug: "X", Tier: tenant.TierPro}}); tenant.ErrorCode(err) != tenant.EINVALID {
		t.Fatalf("a batch with an invalid slug: %v", err)
	}
	if after, _, ledger2, _ := f.leftovers(t); after != before || ledger2 != ledger {
		t.Fatalf("failed batches left schemas %d→%d, ledger rows %d→%d", before, after, ledger, ledger2)
	}
}
