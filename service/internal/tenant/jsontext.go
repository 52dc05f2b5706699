package tenant

import (
	"encoding/json"
	"errors"
)

// JSONFacts is what ScanJSON learnt about one JSON text: what PostgreSQL's
// jsonb cannot store, and an upper bound of what it will store.
//
// encoding/json cannot tell these apart: it decodes a lone surrogate escape
// to U+FFFD without an error, and a json.RawMessage keeps the escape as text
// for jsonb to refuse (a 500, found by an outside attack).
type JSONFacts struct {
	// StoredBound is an upper bound of octet_length(value::jsonb::text), the
	// size quotas count: jsonb prints ", " and ": " (one byte more per comma
	// and colon), drops whitespace, prints strings with escapes no longer than
	// any valid input spelling, and prints numbers expanded (1e300 is 301
	// digits, 0.0e-300 is 303 characters).
	StoredBound int
	// LoneSurrogate: a \uD800-\uDFFF escape that is not a high surrogate
	// directly followed by a low one (jsonb refuses it). LoneSurrogateAt is
	// the top-level object key whose value held the first one ("" when the
	// text is not an object or the escape was in a top-level key itself).
	LoneSurrogate   bool
	LoneSurrogateAt string
	// NULEscape: a \u0000 escape, i.e. a real NUL (jsonb cannot store
	// U+0000). An escaped backslash followed by "u0000" is six characters of
	// text and does not count. NULEscapeAt as LoneSurrogateAt.
	NULEscape   bool
	NULEscapeAt string
	// MaxExponent is the largest absolute exponent of any number (saturating
	// at 1<<30); LongestNumber the length of the longest number literal.
	MaxExponent, LongestNumber int
}

const maxTrackedExponent = 1 << 30

var errNotJSON = errors.New("not a valid JSON text")

// ScanJSON walks b in one pass. b must be a valid JSON text (json.Valid);
// anything else returns an error, never a panic.
func ScanJSON(b []byte) (JSONFacts, error) {
	var f JSONFacts
	var stack []byte // '{' or '[' per open container
	expectKey := false
	topKey := ""
	extra := 0 // stored bytes beyond the input's non-whitespace bytes
	ws := 0
	note := func(seen *bool, at *string, inTopKey bool) {
		if !*seen && !inTopKey {
			*at = topKey
		}
		*seen = true
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			ws++
			i++
		case c == '{' || c == '[':
			stack = append(stack, c)
			expectKey = c == '{'
			i++
		case c == '}' || c == ']':
			if len(stack) == 0 {
				return f, errNotJSON
			}
			stack = stack[:len(stack)-1]
			expectKey = false
			i++
		case c == ',':
			extra++
			expectKey = len(stack) > 0 && stack[len(stack)-1] == '{'
			i++
		case c == ':':
			extra++
			expectKey = false
			i++
		case c == '"':
			isTopKey := expectKey && len(stack) == 1
			start := i
			i++
			for {
				if i >= len(b) {
					return f, errNotJSON
				}
				c := b[i]
				if c == '"' {
					i++
					break
				}
				if c != '\\' {
					i++
					continue
				}
				if i+1 >= len(b) {
					return f, errNotJSON
				}
				if b[i+1] != 'u' {
					i += 2 // \" \\ \/ \b \f \n \r \t: the escaped character is taken as is
					continue
				}
				u, ok := hex4(b, i+2)
				if !ok {
					return f, errNotJSON
				}
				switch {
				case u == 0:
					note(&f.NULEscape, &f.NULEscapeAt, isTopKey)
				case u >= 0xD800 && u <= 0xDBFF:
					if lo, ok := hex4(b, i+8); ok && b[i+6] == '\\' && b[i+7] == 'u' && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 12
						continue
					}
					note(&f.LoneSurrogate, &f.LoneSurrogateAt, isTopKey)
				case u >= 0xDC00 && u <= 0xDFFF:
					note(&f.LoneSurrogate, &f.LoneSurrogateAt, isTopKey)
				}
				i += 6
			}
			if isTopKey {
				var k string
				if json.Unmarshal(b[start:i], &k) != nil {
					return f, errNotJSON
				}
				topKey = k
			}
			expectKey = false
		case c == '-' || (c >= '0' && c <= '9'):
			start := i
			for i < len(b) && isNumberByte(b[i]) {
				i++
			}
			n := b[start:i]
			f.LongestNumber = max(f.LongestNumber, len(n))
			bound, exp := numberBound(n)
			f.MaxExponent = max(f.MaxExponent, exp)
			if bound > len(n) {
				extra += bound - len(n)
			}
		default: // true, false, null
			i++
		}
	}
	if len(stack) != 0 {
		return f, errNotJSON
	}
	f.StoredBound = len(b) - ws + extra
	return f, nil
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// numberBound returns an upper bound of the length PostgreSQL's numeric
// prints for the JSON number n, and |exponent| (saturating). numeric keeps
// the mantissa's digits and display scale max(0, fraction digits - exponent):
// "1e300" prints 301 digits, "0.00e-300" prints "0." and 302 zeros.
func numberBound(n []byte) (bound, absExp int) {
	i := 0
	sign := 0
	if i < len(n) && n[i] == '-' {
		sign = 1
		i++
	}
	intDigits := 0
	for i < len(n) && n[i] >= '0' && n[i] <= '9' {
		intDigits++
		i++
	}
	frac := 0
	if i < len(n) && n[i] == '.' {
		i++
		for i < len(n) && n[i] >= '0' && n[i] <= '9' {
			frac++
			i++
		}
	}
	exp := 0
	if i < len(n) && (n[i] == 'e' || n[i] == 'E') {
		i++
		neg := false
		if i < len(n) && (n[i] == '+' || n[i] == '-') {
			neg = n[i] == '-'
			i++
		}
		for ; i < len(n); i++ {
			if exp < maxTrackedExponent {
				exp = exp*10 + int(n[i]-'0')
			}
		}
		exp = min(exp, maxTrackedExponent)
		if neg {
			exp = -exp
		}
	}
	absExp = exp
	if absExp < 0 {
		absExp = -absExp
	}
	scale := max(0, frac-exp)
	bound = sign + max(1, intDigits+exp)
	if scale > 0 {
		bound += 1 + scale
	}
	return bound, absExp
}
