package http_test

import (
	"context"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

// With the key → tenant lookup cached, a key revoked elsewhere (another
// replica's DELETE, straight in the ledger) is refused on the very next
// request, on every tenant route, and a tier change made here applies to the
// very next request.
func TestAuthCache_RevokedKeyRefusedOnVeryNextRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.onboard("cache-a", tenant.TierPro)
	b := e.onboard("cache-b", tenant.TierPro)
	it := e.createItem(a.APIKey, "a-1", nil)
	expect(t, e.do("GET", "/v1/items", a.APIKey, nil), 200, "") // cached now
	if _, err := e.db.Pool.Exec(context.Background(),
		`UPDATE tenantd.tenants SET status = 'offboarding', key_hash = NULL WHERE id = $1::uuid`, a.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, e.do("GET", "/v1/items/"+it.ID, a.APIKey, nil), 401, "unauthorized")
	expect(t, e.do("GET", "/v1/items", a.APIKey, nil), 401, "unauthorized")
	expect(t, e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "a-late"}), 401, "unauthorized")
	expect(t, e.do("DELETE", "/v1/items/"+it.ID, a.APIKey, nil), 401, "unauthorized")
	expect(t, e.do("GET", "/v1/items", b.APIKey, nil), 200, "")
}

func TestAuthCache_TierChangeAppliesToNextRequest(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.onboard("cache-tier", tenant.TierFree)
	r := e.do("GET", "/v1/items", a.APIKey, nil)
	expect(t, r, 200, "")
	if got := r.Header.Get("X-RateLimit-Limit"); got != "5" {
		t.Fatalf("free limit header %q", got)
	}
	expect(t, e.do("PATCH", "/v1/tenants/"+a.ID, adminToken, map[string]string{"tier": "pro"}), 200, "")
	r = e.do("GET", "/v1/items", a.APIKey, nil)
	expect(t, r, 200, "")
	if got := r.Header.Get("X-RateLimit-Limit"); got != "100" {
		t.Fatalf("after PATCH to pro the next request has limit %q, want 100", got)
	}
}
