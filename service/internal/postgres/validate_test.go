package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
	"github.com/tenantco/platform/service/internal/testenv"
)

// FuzzStoredSizeBound holds ValidateItem and tenant.ScanJSON to PostgreSQL
// itself: whatever PostgreSQL stores as jsonb takes at most ScanJSON's bound
// as text (the size quotas count), whatever ValidateItem accepts PostgreSQL
// stores, and what PostgreSQL refuses ValidateItem refuses first (a refusal
// by PostgreSQL was a 500).
func FuzzStoredSizeBound(f *testing.F) {
	for _, s := range []string{
		`{"x":1}`, `[1e300, 1E-300, -0.00e-300, 12.5e+3, 0]`, `{"a" : [1 , 2 , {"b" : "\u00e9\n\/"}]}`,
		`"C:\\u0000dir"`, `"\u0000"`, `"\ud800"`, `{"k":"\udc00\ud800"}`, `{"\ud83d\ude00":"\ud83d\ude00"}`,
		`1e301`, `[true,false,null,"",{},[]]`, `{"a":1,"a":2}`, "\t[ 1 ,\n2 ]\r\n",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	tdb := testenv.NewDatabase(f)
	conn, err := pgx.Connect(ctx, tdb.AppURL)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close(ctx) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		verr := ValidateItem(tenant.ItemInput{Name: "n", Data: data})
		facts, serr := tenant.ScanJSON(data)
		if serr != nil {
			t.Fatalf("ScanJSON refused valid JSON %q: %v", data, serr)
		}
		var stored int
		err := conn.QueryRow(ctx, `SELECT octet_length($1::text::jsonb::text)`, string(data)).Scan(&stored)
		if err != nil {
			if code := pgCode(err); code == "" {
				t.Fatalf("query: %v", err) // the connection, not the input
			}
			if verr == nil {
				t.Fatalf("ValidateItem accepted %q, PostgreSQL refused it: %v", data, err)
			}
			return
		}
		if stored > facts.StoredBound {
			t.Fatalf("%q is %d bytes as stored, over ScanJSON's bound %d", data, stored, facts.StoredBound)
		}
		if verr == nil && len("n")+stored > tenant.MaxItemBytes {
			t.Fatalf("ValidateItem accepted %q: %d bytes as stored", data, stored)
		}
	})
}

// TestValidateItem_AmplificationRefused: the attack's 64 KiB bodies that
// jsonb expands fifty-fold are refused naming data; the same count of plain
// digits is fine; "C:\\u0000dir" is text, a real NUL escape is not.
func TestValidateItem_AmplificationRefused(t *testing.T) {
	amplify := "[" + strings.TrimSuffix(strings.Repeat("1e300,", 10900), ",") + "]"
	for _, data := range []string{amplify, "[" + strings.TrimSuffix(strings.Repeat("1e-300,", 9300), ",") + "]",
		"[" + strings.TrimSuffix(strings.Repeat("0,", 30000), ",") + "]"} {
		err := ValidateItem(tenant.ItemInput{Name: "a", Data: json.RawMessage(data)})
		if tenant.ErrorField(err) != "data" || !strings.Contains(tenant.ErrorMessage(err), "as stored") {
			t.Errorf("%.20s... (%d bytes): %v", data, len(data), err)
		}
	}
	for _, data := range []string{`[1e300]`, `"C:\\u0000dir"`, `{"path":"C:\\u0000dir"}`, `"\ud83d\ude00"`} {
		if err := ValidateItem(tenant.ItemInput{Name: "a", Data: json.RawMessage(data)}); err != nil {
			t.Errorf("%s refused: %v", data, err)
		}
	}
	for _, data := range []string{`"\u0000"`, `"C:\\\u0000dir"`, `"\ud800"`, `{"\udc00":1}`, `"\udc00\ud800"`} {
		if err := ValidateItem(tenant.ItemInput{Name: "a", Data: json.RawMessage(data)}); tenant.ErrorField(err) != "data" {
			t.Errorf("%s: %v", data, err)
		}
	}
}
