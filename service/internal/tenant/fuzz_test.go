package tenant

import (
	"regexp"
	"strings"
	"testing"
)

var slugSpec = regexp.MustCompile(`^[a-z][a-z0-9-]{2,39}$`)

func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"acme", "a-b", "ab", "ACME", "acme ", "tenаnt", "a\x00bc", "a'; drop", strings.Repeat("a", 40), strings.Repeat("a", 41), "t_0123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateSlug(s)
		if (err == nil) != slugSpec.MatchString(s) {
			t.Fatalf("ValidateSlug(%q) = %v, spec says %v", s, err, slugSpec.MatchString(s))
		}
		if err == nil && (strings.ContainsAny(s, "'\";\\ \x00_.$") || len(s) > 40) {
			t.Fatalf("accepted dangerous slug %q", s)
		}
		if err != nil && ErrorField(err) != "slug" {
			t.Fatalf("error without field: %v", err)
		}
	})
}

func FuzzParseAPIKey(f *testing.F) {
	f.Add(NewAPIKey())
	f.Add("tk_")
	f.Add("tk_" + strings.Repeat("A", 43))
	f.Add("tk_" + strings.Repeat("_", 43))
	f.Add("TK_abc")
	f.Add("tk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, key string) {
		h, err := ParseAPIKey(key)
		if err != nil {
			if ErrorCode(err) != EUNAUTHORIZED || h != nil {
				t.Fatalf("bad rejection: %v", err)
			}
			return
		}
		if len(h) != 32 || !strings.HasPrefix(key, APIKeyPrefix) || len(key) != apiKeyLen {
			t.Fatalf("accepted %q", key)
		}
		// Accepted keys are canonical: exactly one spelling per secret.
		if strings.ContainsAny(key[3:], "=+/ \t") {
			t.Fatalf("accepted non-canonical %q", key)
		}
	})
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer x", "bearer x", "Bearer", "Bearer  x", "Basic x", "Bearer x y", "Bearer \tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := ParseBearer(h)
		if ok && (tok == "" || strings.ContainsAny(tok, " \t\r\n") || !strings.HasSuffix(h, tok)) {
			t.Fatalf("ParseBearer(%q) = %q", h, tok)
		}
	})
}

func FuzzParseLimits(f *testing.F) {
	f.Add("free=rate:5,burst:10;enterprise=items:1")
	f.Add("gold=rate:1")
	f.Add("free=rate:-1")
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseLimits(s, DefaultLimits())
		if err != nil {
			return
		}
		for _, tier := range Tiers {
			l := out[tier]
			if l.RatePerSecond <= 0 || l.Burst <= 0 || l.MaxItems <= 0 || l.MaxStorageBytes <= 0 {
				t.Fatalf("%q produced non-positive limits %+v", s, l)
			}
		}
	})
}

func TestNewIDAndSchemaName(t *testing.T) {
	for range 100 {
		id := NewID()
		if !ValidID(id) || !ValidSchemaName(SchemaName(id)) {
			t.Fatal(id)
		}
		if _, err := ParseAPIKey(NewAPIKey()); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SchemaName accepted a non-id")
		}
	}()
	SchemaName("x'; DROP")
}

func TestParseAuthFailureLimits(t *testing.T) {
	l, err := ParseAuthFailureLimits("address=rate:2,burst:3", DefaultAuthFailureLimits())
	if err != nil || l.PerAddress.RatePerSecond != 2 || l.PerAddress.Burst != 3 || l.Global != DefaultAuthFailureLimits().Global {
		t.Fatalf("%+v %v", l, err)
	}
	for _, bad := range []string{"addr=rate:1", "address=rate:0", "global=rate:x", "global=items:3", "global"} {
		if _, err := ParseAuthFailureLimits(bad, DefaultAuthFailureLimits()); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
