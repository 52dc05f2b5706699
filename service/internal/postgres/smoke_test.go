package postgres

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

func TestItemsRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, pa := f.onboard(t, "acme", tenant.TierFree)
	it, err := f.items.CreateItem(ctx, pa, tenant.DefaultLimits()[tenant.TierFree], tenant.ItemInput{Name: "x", Data: json.RawMessage(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.items.GetItem(ctx, pa, it.ID)
	if err != nil || got.Name != "x" {
		t.Fatal(got, err)
	}
	list, err := f.items.ListItems(ctx, pa, 10)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if err := f.items.DeleteItem(ctx, pa, it.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.items.DeleteItem(ctx, pa, it.ID); tenant.ErrorCode(err) != tenant.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
}
