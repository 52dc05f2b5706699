//go:build benchnoscope

package postgres

import (
	"context"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

// TestUnscopedPath_SameAnswers (only in -tags benchnoscope builds): the
// benchmark's unscoped path answers item calls like the scoped one, against
// the caller's own schema only; the session search_path holds no tenant
// schema, so a table left unqualified would fail the call.
//
//	go test -tags benchnoscope -run UnscopedPath ./service/internal/postgres/
func TestUnscopedPath_SameAnswers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, a := f.onboard(t, "noscope-a", tenant.TierPro)
	_, b := f.onboard(t, "noscope-b", tenant.TierPro)
	lim := tenant.DefaultLimits()[tenant.TierPro]
	it, err := f.items.CreateItem(ctx, a, lim, tenant.ItemInput{Name: "a:1", Data: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.items.GetItem(ctx, a, it.ID); err != nil || got.Name != "a:1" {
		t.Fatalf("get own: %+v %v", got, err)
	}
	if _, err := f.items.GetItem(ctx, b, it.ID); tenant.ErrorCode(err) != tenant.ENOTFOUND {
		t.Fatalf("get foreign: %v", err)
	}
	if l, err := f.items.ListItems(ctx, b, 50); err != nil || len(l) != 0 {
		t.Fatalf("list other: %+v %v", l, err)
	}
	if l, err := f.items.ListItems(ctx, a, 50); err != nil || len(l) != 1 {
		t.Fatalf("list own: %+v %v", l, err)
	}
	if err := f.items.DeleteItem(ctx, b, it.ID); tenant.ErrorCode(err) != tenant.ENOTFOUND {
		t.Fatalf("delete foreign: %v", err)
	}
	if err := f.items.DeleteItem(ctx, a, it.ID); err != nil {
		t.Fatal(err)
	}
	var items, bytes int64
	if err := f.admin(t).QueryRow(ctx, `SELECT items, bytes FROM `+ident(tenant.SchemaName(a.TenantID))+`.usage`).Scan(&items, &bytes); err != nil || items != 0 || bytes != 0 {
		t.Fatalf("usage after delete: %d items, %d bytes, %v", items, bytes, err)
	}
}
