package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

// sqlPayloads are SQL metacharacter inputs tried in every field that reaches
// the database. None may change which tenant's data a request touches.
var sqlPayloads = []string{
	`'`, `"`, `\`, `;`, `--`, `/*`, `$1`, `%`, `_`, `''; --`,
	`x'); SET ROLE %s; --`,
	`x'; RESET ROLE; SELECT * FROM %s.items; --`,
	`"; DROP TABLE items; --`,
	`1 OR 1=1`,
	`') UNION SELECT id::text, name, data::text, created_at FROM %s.items --`,
	`$$; SELECT set_config('role', '%s', false); $$`,
	"\u00a0'\u02bc\uff07", // look-alike quotes
}

// TestIsolation: every way tenant A could reach tenant B's data fails. Each
// subtest names one vector.
func TestIsolation(t *testing.T) {
	e := newEnv(t, envOpts{limits: "free=rate:100000,burst:100000,items:100000;pro=rate:100000,burst:100000"})
	a := e.onboard("tenant-a", tenant.TierFree)
	b := e.onboard("tenant-b", tenant.TierPro)
	c := e.onboard("tenant-c", tenant.TierFree)
	aItem := e.createItem(a.APIKey, "a-secret", map[string]string{"owner": "a"})
	bItem := e.createItem(b.APIKey, "b-secret", map[string]string{"owner": "b"})
	_ = e.createItem(c.APIKey, "c-secret", nil)

	missing := tenant.NewID()
	assertOnlyOwn := func(t *testing.T, key, prefix string) {
		t.Helper()
		r := e.do("GET", "/v1/items", key, nil)
		expect(t, r, 200, "")
		var l struct{ Items []tenant.Item }
		r.json(t, &l)
		for _, it := range l.Items {
			if !strings.HasPrefix(it.Name, prefix) {
				t.Fatalf("caller %s sees foreign item %q", prefix, it.Name)
			}
		}
	}

	t.Run("api_id/get_other_tenants_item_is_404_like_missing", func(t *testing.T) {
		other := e.do("GET", "/v1/items/"+bItem.ID, a.APIKey, nil)
		none := e.do("GET", "/v1/items/"+missing, a.APIKey, nil)
		expect(t, other, 404, "not_found")
		if string(other.Body) != string(none.Body) {
			t.Fatalf("foreign id distinguishable from missing: %s vs %s", other.Body, none.Body)
		}
	})
	t.Run("api_id/delete_other_tenants_item_is_404_and_item_survives", func(t *testing.T) {
		expect(t, e.do("DELETE", "/v1/items/"+bItem.ID, a.APIKey, nil), 404, "not_found")
		expect(t, e.do("GET", "/v1/items/"+bItem.ID, b.APIKey, nil), 200, "")
	})
	t.Run("api_id/list_returns_only_own_items", func(t *testing.T) {
		assertOnlyOwn(t, a.APIKey, "a-")
		assertOnlyOwn(t, b.APIKey, "b-")
	})
	t.Run("api_id/malformed_and_encoded_ids", func(t *testing.T) {
		for _, id := range []string{strings.ToUpper(bItem.ID), "{" + bItem.ID + "}", bItem.ID + "%00", bItem.ID + "%20",
			url.PathEscape(bItem.ID + "' OR '1'='1"), "..%2F" + bItem.ID, "1", "-1", "null", "%2A"} {
			r := e.do("GET", "/v1/items/"+id, a.APIKey, nil)
			if r.Status != 404 {
				t.Fatalf("id %q: %d %s", id, r.Status, r.Body)
			}
		}
	})
	t.Run("api_id/tenant_hints_in_headers_and_query_are_ignored", func(t *testing.T) {
		r := e.do("GET", "/v1/items/"+bItem.ID+"?tenant="+b.ID+"&tenant_id="+b.ID+"&schema="+b.Schema, a.APIKey, nil,
			"X-Tenant-ID", b.ID, "X-Tenant", b.Slug, "X-Forwarded-User", b.ID)
		expect(t, r, 404, "not_found")
	})

	t.Run("key/random_well_formed_key", func(t *testing.T) {
		expect(t, e.do("GET", "/v1/items", tenant.NewAPIKey(), nil), 401, "unauthorized")
	})
	t.Run("key/forged_variants_of_a_valid_key", func(t *testing.T) {
		k := a.APIKey
		flip := func(i int) string {
			bs := []byte(k)
			if bs[i] == 'A' {
				bs[i] = 'B'
			} else {
				bs[i] = 'A'
			}
			return string(bs)
		}
		for _, f := range []string{flip(len(k) - 1), flip(3), flip(10), k[:len(k)-1], k + "A", strings.ToUpper(k), "tk_" + b.ID,
			"tk_" + strings.Repeat("A", 43), " " + k, k + "\t" + k, k[3:], strings.Replace(k, "tk_", "TK_", 1)} {
			r := e.do("GET", "/v1/items", "", nil, "Authorization", "Bearer "+f)
			if r.Status != 401 {
				t.Fatalf("forged key %q: %d", f, r.Status)
			}
		}
	})
	t.Run("key/missing_or_wrong_scheme", func(t *testing.T) {
		for _, h := range []string{"", a.APIKey, "Basic " + a.APIKey, "Bearer", "Bearer ", "Token " + a.APIKey, "Bearer " + a.APIKey + " " + b.APIKey} {
			expect(t, e.do("GET", "/v1/items", "", nil, "Authorization", h), 401, "unauthorized")
		}
		expect(t, e.do("GET", "/v1/items?api_key="+url.QueryEscape(a.APIKey), "", nil), 401, "unauthorized")
	})
	t.Run("key/admin_token_is_not_a_tenant_key", func(t *testing.T) {
		expect(t, e.do("GET", "/v1/items", adminToken, nil), 401, "unauthorized")
	})
	t.Run("key/tenant_key_is_not_an_admin_token", func(t *testing.T) {
		expect(t, e.do("GET", "/v1/tenants/"+a.ID, a.APIKey, nil), 401, "unauthorized")
		expect(t, e.do("DELETE", "/v1/tenants/"+b.ID, a.APIKey, nil), 401, "unauthorized")
		expect(t, e.do("PATCH", "/v1/tenants/"+a.ID, a.APIKey, map[string]string{"tier": "enterprise"}), 401, "unauthorized")
		expect(t, e.do("POST", "/v1/breaker", a.APIKey, map[string]string{"level": "normal"}), 401, "unauthorized")
	})

	t.Run("slug/invalid_slugs_refused_with_field", func(t *testing.T) {
		for _, s := range []string{"TENANT-B", "tenant-b ", " tenant-b", "tenant_b", "tenant-b\x00", "tenаnt-b" /* Cyrillic а */, "tenant-b;",
			"../tenant-b", "t", "ab", "1abc", "-abc", strings.Repeat("a", 41), "tenant-b'--", "public", "pg_catalog"[:0] + "pg-x'", "t_" + strings.Repeat("0", 32)} {
			r := e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": s, "tier": "free"})
			if s == "public" {
				// a valid slug: slugs never become identifiers, so "public" is harmless
				expect(t, r, 201, "")
				continue
			}
			if r.Status != 400 || r.code() != "invalid" || !strings.Contains(string(r.Body), `"field":"slug"`) {
				t.Fatalf("slug %q: %d %s", s, r.Status, r.Body)
			}
		}
	})
	t.Run("slug/duplicate_is_409", func(t *testing.T) {
		expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "tenant-b", "tier": "free"}), 409, "conflict")
	})
	t.Run("slug/schema_is_not_derived_from_slug", func(t *testing.T) {
		if strings.Contains(a.Schema, "tenant") || !strings.HasPrefix(a.Schema, "t_") {
			t.Fatalf("schema %q", a.Schema)
		}
	})

	t.Run("sql_metacharacters/item_name_and_data_round_trip_verbatim", func(t *testing.T) {
		for _, p := range sqlPayloads {
			p = strings.ReplaceAll(p, "%s", b.Schema)
			name := "a-" + p
			it := e.createItem(a.APIKey, name, map[string]string{"v": p, p: p})
			got := e.do("GET", "/v1/items/"+it.ID, a.APIKey, nil)
			var g tenant.Item
			got.json(t, &g)
			var d map[string]string
			if err := json.Unmarshal(g.Data, &d); err != nil || g.Name != name || d["v"] != p || d[p] != p {
				t.Fatalf("payload %q did not round-trip: %+v", p, g)
			}
		}
		assertOnlyOwn(t, a.APIKey, "a-")
		assertOnlyOwn(t, b.APIKey, "b-")
		expect(t, e.do("GET", "/v1/items/"+bItem.ID, b.APIKey, nil), 200, "")
	})
	t.Run("sql_metacharacters/in_path_ids_headers_and_admin_bodies", func(t *testing.T) {
		for _, p := range sqlPayloads {
			p = strings.ReplaceAll(p, "%s", b.Schema)
			if r := e.do("GET", "/v1/items/"+url.PathEscape(p), a.APIKey, nil); r.Status != 404 {
				t.Fatalf("id %q: %d", p, r.Status)
			}
			if r := e.do("GET", "/v1/tenants/"+url.PathEscape(p), adminToken, nil); r.Status != 404 {
				t.Fatalf("tenant id %q: %d", p, r.Status)
			}
			if r := e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "x" + p, "tier": "free"}); r.Status != 400 && tenant.ValidateSlug("x"+p) != nil {
				t.Fatalf("slug %q: %d", p, r.Status)
			}
			if r := e.do("PATCH", "/v1/tenants/"+a.ID, adminToken, map[string]string{"tier": "pro" + p}); r.Status != 400 {
				t.Fatalf("tier %q: %d", p, r.Status)
			}
			r := e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "idem-" + testenvRand(), "tier": "free"}, "Idempotency-Key", p)
			if r.Status != 201 {
				t.Fatalf("idempotency key %q: %d %s", p, r.Status, r.Body)
			}
			var cr tenant.Created
			r.json(t, &cr)
			expect(t, e.do("DELETE", "/v1/tenants/"+cr.ID, adminToken, nil), 204, "")
		}
		assertOnlyOwn(t, b.APIKey, "b-")
	})

	t.Run("tier_change/keeps_isolation_and_applies_on_next_request", func(t *testing.T) {
		r := e.do("PATCH", "/v1/tenants/"+a.ID, adminToken, map[string]string{"tier": "pro"})
		expect(t, r, 200, "")
		r = e.do("GET", "/v1/items", a.APIKey, nil)
		if r.Header.Get("X-RateLimit-Limit") != "100000" {
			t.Fatalf("tier change not applied on next request: limit %s", r.Header.Get("X-RateLimit-Limit"))
		}
		assertOnlyOwn(t, a.APIKey, "a-")
		expect(t, e.do("GET", "/v1/items/"+bItem.ID, a.APIKey, nil), 404, "not_found")
		expect(t, e.do("GET", "/v1/items/"+aItem.ID, a.APIKey, nil), 200, "")
	})

	t.Run("concurrency/pool_reuse_between_tenants", func(t *testing.T) {
		keys := map[string]string{"a-": a.APIKey, "b-": b.APIKey, "c-": c.APIKey}
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for prefix, key := range keys {
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 25 {
						it := e.createItem(key, fmt.Sprintf("%sw%d-%d", prefix, w, i), i)
						g := e.do("GET", "/v1/items/"+it.ID, key, nil)
						var got tenant.Item
						_ = json.Unmarshal(g.Body, &got)
						if g.Status != 200 || got.Name != it.Name {
							errs <- fmt.Errorf("%s read back %d %s", prefix, g.Status, g.Body)
							return
						}
						l := e.do("GET", "/v1/items", key, nil)
						var list struct{ Items []tenant.Item }
						_ = json.Unmarshal(l.Body, &list)
						for _, x := range list.Items {
							if !strings.HasPrefix(x.Name, prefix) {
								errs <- fmt.Errorf("%s saw %q", prefix, x.Name)
								return
							}
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
	t.Run("concurrency/session_state_left_on_a_pooled_conn_is_reset", func(t *testing.T) {
		// Simulate a bug that sets session-level state on a pooled connection.
		ctx := context.Background()
		for range 8 {
			conn, err := e.db.Pool.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "SET ROLE "+b.Schema+"; SET search_path = "+b.Schema); err != nil {
				t.Fatal(err)
			}
			conn.Release()
		}
		for range 20 {
			assertOnlyOwn(t, a.APIKey, "a-")
		}
		conn, err := e.db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		var role, path string
		if err := conn.QueryRow(ctx, "SELECT current_user::text, current_setting('search_path')").Scan(&role, &path); err != nil {
			t.Fatal(err)
		}
		if role == b.Schema || strings.Contains(path, b.Schema) {
			t.Fatalf("pooled connection kept session state: role %s search_path %s", role, path)
		}
	})

	t.Run("offboarding/key_stops_at_once_schema_and_role_dropped", func(t *testing.T) {
		expect(t, e.do("DELETE", "/v1/tenants/"+b.ID, adminToken, nil), 204, "")
		expect(t, e.do("GET", "/v1/items", b.APIKey, nil), 401, "unauthorized")
		expect(t, e.do("POST", "/v1/items", b.APIKey, map[string]any{"name": "b-late"}), 401, "unauthorized")
		expect(t, e.do("GET", "/v1/tenants/"+b.ID, adminToken, nil), 404, "not_found")
		var n int
		if err := e.db.Pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1::text) +
			(SELECT count(*) FROM pg_roles WHERE rolname = $1::text)`, b.Schema).Scan(&n); err != nil || n != 0 {
			t.Fatalf("schema/role of offboarded tenant remain: %d %v", n, err)
		}
		assertOnlyOwn(t, a.APIKey, "a-")
		expect(t, e.do("GET", "/v1/items/"+bItem.ID, a.APIKey, nil), 404, "not_found")
	})
	t.Run("offboarding/slug_reuse_gets_a_fresh_tenant", func(t *testing.T) {
		nb := e.onboard("tenant-b", tenant.TierFree)
		if nb.ID == b.ID || nb.Schema == b.Schema {
			t.Fatal("reused identity")
		}
		expect(t, e.do("GET", "/v1/items", b.APIKey, nil), 401, "unauthorized")
		r := e.do("GET", "/v1/items", nb.APIKey, nil)
		var l struct{ Items []tenant.Item }
		r.json(t, &l)
		if len(l.Items) != 0 {
			t.Fatalf("new tenant with reused slug sees %d old items", len(l.Items))
		}
		expect(t, e.do("GET", "/v1/items/"+bItem.ID, nb.APIKey, nil), 404, "not_found")
	})
}

func testenvRand() string { return tenant.NewID()[:8] }
