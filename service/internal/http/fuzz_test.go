package http_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/tenantco/platform/service/internal/tenant"
)

// FuzzItemBody posts arbitrary bytes as an item body to the real service:
// never a 5xx; a 201 always reads back byte-identical name and JSON-equal data.
func FuzzItemBody(f *testing.F) {
	for _, s := range []string{`{"name":"a","data":{"x":1}}`, `{"name":"a"}`, `{"name":""}`, `{"name":"a","data":"\u0000"}`,
		`{"name":"a\u0000"}`, `{"name":"a","extra":1}`, `{"name":"a"} {}`, `[]`, `null`, `{"name":1}`, `{"name":"\ud800"}`,
		`{"name":"x'); DROP TABLE items; --","data":{"'":"\""}}`, `{"name":"a","data":1e999}`, `{"name":"a","data":"\\u0000"}`,
		// escapes in data and in its keys, so mutating hex digits reaches
		// lone surrogates and NUL (the seeds above only had them in name)
		`{"name":"a","data":"\u00e9"}`, `{"name":"a","data":{"\u0041":"\u0042"}}`, `{"name":"a","data":["\ud83d\ude00"]}`,
		`{"name":"a","data":"\ud800"}`, `{"name":"a","data":{"\udc00":1}}`, `{"name":"a","data":"\udc00\ud800"}`,
		`{"name":"a","data":"C:\\u0000dir"}`, `{"name":"a","data":[1e300,1e300]}`} {
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

// FuzzItemUTF16 spells arbitrary UTF-16 code units as \uXXXX escapes and
// sends them as a data string, a data key and the name. Lone surrogates, a
// reversed pair or NUL must be refused with 400 naming the field, valid text
// must be stored and read back as sent, and nothing may answer 5xx. (Byte
// fuzzing of whole bodies missed lone surrogates in data: four exact hex
// digits after a backslash-u are rarely mutated into being; here one random
// code unit in 32 is a surrogate.)
func FuzzItemUTF16(f *testing.F) {
	f.Add([]byte{0x00, 0x41}, uint8(0))             // "A"
	f.Add([]byte{0xd8, 0x3d, 0xde, 0x00}, uint8(1)) // a valid pair as a key
	f.Add([]byte{0xd8, 0x00}, uint8(0))             // lone high
	f.Add([]byte{0xdc, 0x00}, uint8(1))             // lone low, as a key
	f.Add([]byte{0xdc, 0x00, 0xd8, 0x00}, uint8(0)) // reversed pair
	f.Add([]byte{0xd8, 0x00}, uint8(2))             // in the name
	f.Add([]byte{0x00, 0x00}, uint8(0))             // NUL
	e := newEnv(f, envOpts{limits: "enterprise=rate:1000000,burst:1000000"})
	key := e.onboard("fuzz-utf16", tenant.TierEnterprise).APIKey
	f.Fuzz(func(t *testing.T, raw []byte, where uint8) {
		e.t = t
		units := make([]uint16, 0, len(raw)/2)
		var esc strings.Builder
		for i := 0; i+1 < len(raw); i += 2 {
			u := uint16(raw[i])<<8 | uint16(raw[i+1])
			units = append(units, u)
			fmt.Fprintf(&esc, "\\u%04x", u)
		}
		if len(units) == 0 || len(units) > 40 {
			return
		}
		valid := true
		for i := 0; i < len(units); i++ {
			switch u := units[i]; {
			case u == 0:
				valid = false
			case u >= 0xd800 && u <= 0xdbff && i+1 < len(units) && units[i+1] >= 0xdc00 && units[i+1] <= 0xdfff:
				i++
			case u >= 0xd800 && u <= 0xdfff:
				valid = false
			}
		}
		text := string(utf16.Decode(units))
		var body, field string
		switch where % 3 {
		case 0:
			body, field = `{"name":"u","data":"`+esc.String()+`"}`, "data"
		case 1:
			body, field = `{"name":"u","data":{"`+esc.String()+`":1}}`, "data"
		default:
			body, field = `{"name":"`+esc.String()+`"}`, "name"
		}
		r := e.do("POST", "/v1/items", key, body)
		switch {
		case r.Status == 201 && valid:
			var it tenant.Item
			r.json(t, &it)
			var got tenant.Item
			e.do("GET", "/v1/items/"+it.ID, key, nil).json(t, &got)
			var want any = text
			switch where % 3 {
			case 1:
				want = map[string]any{text: 1.0}
			case 2:
				want = nil
			}
			var data any
			_ = json.Unmarshal(got.Data, &data)
			if (where%3 == 2 && got.Name != text) || (where%3 != 2 && !reflect.DeepEqual(data, want)) {
				t.Fatalf("%s: read back %+v", body, got)
			}
			e.do("DELETE", "/v1/items/"+it.ID, key, nil)
		case r.Status == 400 && !valid:
			var b struct{ Error struct{ Code, Field string } }
			r.json(t, &b)
			if b.Error.Code != "invalid" || b.Error.Field != field {
				t.Fatalf("%s: %s (want field %s)", body, r.Body, field)
			}
		default:
			t.Fatalf("%s (valid Unicode: %v): %d %s", body, valid, r.Status, r.Body)
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
