package http_test

import (
	"encoding/json"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
)

// FuzzItemBody posts arbitrary bytes as an item body to the real service:
// never a 5xx; a 201 always reads back byte-identical name and JSON-equal data.
func FuzzItemBody(f *testing.F) {
	for _, s := range []string{`{"name":"a","data":{"x":1}}`, `{"name":"a"}`, `{"name":""}`, `{"name":"a","data":"\u0000"}`,
		`{"name":"a\u0000"}`, `{"name":"a","extra":1}`, `{"name":"a"} {}`, `[]`, `null`, `{"name":1}`, `{"name":"\ud800"}`,
		`{"name":"x'); DROP TABLE items; --","data":{"'":"\""}}`, `{"name":"a","data":1e999}`, `{"name":"a","data":"\\u0000"}`} {
		f.Add([]byte(s))
	}
	e := newEnv(f, envOpts{limits: "enterprise=rate:1000000,burst:1000000"})
	fuzzKey := e.onboard("fuzz", tenant.TierEnterprise).APIKey
	f.Fuzz(func(t *testing.T, body []byte) {
		e.t = t
		r := e.do("POST", "/v1/items", fuzzKey, body)
		switch r.Status {
		case 201:
			var it tenant.Item
			r.json(t, &it)
			g := e.do("GET", "/v1/items/"+it.ID, fuzzKey, nil)
			var got tenant.Item
			g.json(t, &got)
			var in struct {
				Name string          `json:"name"`
				Data json.RawMessage `json:"data"`
			}
			_ = json.Unmarshal(body, &in)
			if got.Name != in.Name || !jsonEqual(got.Data, in.Data) {
				t.Fatalf("round trip: sent %s, got %+v", body, got)
			}
			e.do("DELETE", "/v1/items/"+it.ID, fuzzKey, nil)
		case 400:
			if r.code() != "invalid" {
				t.Fatalf("400 with code %s", r.Body)
			}
		default:
			t.Fatalf("body %q: %d %s", body, r.Status, r.Body)
		}
	})
}

// FuzzTenantBody posts arbitrary bytes to POST /v1/tenants: 201, 400 or 409
// only, and a 201 always has a valid slug and a usable key.
func FuzzTenantBody(f *testing.F) {
	for _, s := range []string{`{"slug":"acme","tier":"free"}`, `{"slug":"ACME","tier":"free"}`, `{"slug":"acme","tier":"gold"}`,
		`{"slug":"a'b","tier":"pro"}`, `{"slug":"acme","tier":"pro","id":"x"}`, `{}`, `{"slug":null}`} {
		f.Add([]byte(s))
	}
	e := newEnv(f, envOpts{limits: "enterprise=rate:1000000,burst:1000000"})
	f.Fuzz(func(t *testing.T, body []byte) {
		e.t = t
		r := e.do("POST", "/v1/tenants", adminToken, body)
		switch r.Status {
		case 201:
			var c tenant.Created
			r.json(t, &c)
			if tenant.ValidateSlug(c.Slug) != nil || !tenant.ValidSchemaName(c.Schema) {
				t.Fatalf("created %+v", c)
			}
			expect(t, e.do("GET", "/v1/items", c.APIKey, nil), 200, "")
			expect(t, e.do("DELETE", "/v1/tenants/"+c.ID, adminToken, nil), 204, "")
		case 400, 409:
		default:
			t.Fatalf("body %q: %d %s", body, r.Status, r.Body)
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
