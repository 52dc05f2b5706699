package tenant

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestScanJSON(t *testing.T) {
	for _, c := range []struct {
		in              string
		surrogate, nul  bool
		surAt, nulAt    string
		maxExp, longest int
	}{
		{in: `{"name":"a","data":{"x":1}}`, longest: 1},
		{in: `"\ud800"`, surrogate: true},
		{in: `"\udc00"`, surrogate: true},
		{in: `"\udc00\ud800"`, surrogate: true},                                   // reversed pair
		{in: `"\ud800x"`, surrogate: true},                                        // high without low
		{in: `"\ud800\u0041"`, surrogate: true},                                   // high followed by a non-surrogate escape
		{in: `"\ud83d\ude00"`},                                                    // a valid pair
		{in: `"\uD83D\uDE00"`},                                                    // upper-case hex
		{in: `{"data":{"\ud800":1}}`, surrogate: true, surAt: "data", longest: 1}, // as a key, nested
		{in: `{"\udc00":1}`, surrogate: true, longest: 1},                         // as a top-level key: no field
		{in: `{"name":"\ud800","data":"\u0000"}`, surrogate: true, surAt: "name", nul: true, nulAt: "data"},
		{in: `"C:\\u0000dir"`},             // an escaped backslash, then text
		{in: `"C:\\\u0000dir"`, nul: true}, // an escaped backslash, then a real NUL
		{in: `"\\\\ud800"`},                // two escaped backslashes, then text
		{in: `"\"\ud800"`, surrogate: true},
		{in: `[1e300, -2.5E-10, 3e+4]`, maxExp: 300, longest: 8},
		{in: `1e99999999999999999999`, maxExp: maxTrackedExponent, longest: 22},
	} {
		f, err := ScanJSON([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if f.LoneSurrogate != c.surrogate || f.NULEscape != c.nul || f.LoneSurrogateAt != c.surAt || f.NULEscapeAt != c.nulAt ||
			f.MaxExponent != c.maxExp || f.LongestNumber != c.longest {
			t.Errorf("%s: got %+v", c.in, f)
		}
	}
}

// The bound covers jsonb's expansion; PostgreSQL itself checks it in
// postgres.FuzzStoredSizeBound. Here: the arithmetic on known cases.
func TestScanJSONStoredBound(t *testing.T) {
	for in, stored := range map[string]string{
		`1e300`:            "1" + strings.Repeat("0", 300),
		`0.00e-300`:        "0." + strings.Repeat("0", 302),
		`-1.5e2`:           "-150",
		`12.345e1`:         "123.45",
		`1.000e2`:          "100.0",
		`[1,2,3]`:          "[1, 2, 3]",
		`{"a":1, "b" : 2}`: `{"a": 1, "b": 2}`,
	} {
		f, err := ScanJSON([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if f.StoredBound < len(stored) {
			t.Errorf("%s: bound %d < stored %d (%s)", in, f.StoredBound, len(stored), stored)
		}
		if f.StoredBound > len(stored)+3 { // strings aside (escapes may shrink), the bound is tight
			t.Errorf("%s: bound %d is loose for stored %d (%s)", in, f.StoredBound, len(stored), stored)
		}
	}
	// The attack: 64 KiB of 1e300 is 3.3 MB as stored.
	big := "[" + strings.TrimSuffix(strings.Repeat("1e300,", 10900), ",") + "]"
	f, _ := ScanJSON([]byte(big))
	if f.StoredBound < 10900*301 {
		t.Fatalf("bound %d for %d numbers of 301 digits", f.StoredBound, 10900)
	}
}

func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{`{"a":"\ud800"}`, `"\\u0000"`, `[1e300]`, `"\ud83d\ude00"`, `{"a":[{"b":"\udc00"}]}`, `"\u"`, `[`, `"\ud800\u`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		facts, err := ScanJSON(b) // must never panic, valid or not
		if err != nil || !json.Valid(b) {
			return
		}
		// Whitespace dropped, nothing else: the bound is never below the
		// compacted text.
		if facts.StoredBound < compactLen(t, b) {
			t.Fatalf("bound %d below compact length of %q", facts.StoredBound, b)
		}
	})
}

func compactLen(t *testing.T, b []byte) int {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}
