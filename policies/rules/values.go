package rules

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// state says what is at an input path.
type state int

const (
	absent  state = iota // not set (or null)
	known                // a plain value
	unknown              // not known during preview (here or on the way)
	secret               // set, but a secret: the rule sees only that it is set
)

// lookup returns the value at a dotted path of r's inputs. Unlike
// inventory.Resource.Get it tells an unknown value anywhere on the path from
// an absent one, and it descends through a one-element list where an object
// is expected (some providers model a single nested block as a list).
func lookup(r inventory.Resource, path string) (any, state) {
	return walk(r.Inputs, path)
}

func walk(root any, path string) (any, state) {
	cur := root
	for _, part := range strings.Split(path, ".") {
		i, err := strconv.Atoi(part)
		if l, ok := cur.([]any); ok && len(l) == 1 && err != nil {
			cur = l[0] // a single nested block modelled as a list
		}
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			if err != nil || i < 0 || i >= len(c) {
				return nil, absent
			}
			cur = c[i]
		default:
			// Below an unknown or secret value everything is unknown or
			// secret too.
			if _, st := classify(c); opaque(st) {
				return nil, st
			}
			return nil, absent
		}
	}
	return classify(cur)
}

func classify(v any) (any, state) {
	switch v := v.(type) {
	case nil:
		return nil, absent
	case inventory.Unknown:
		return nil, unknown
	case string:
		if v == inventory.Secret {
			return v, secret
		}
	}
	return v, known
}

// boolAt reads a boolean; "true"/"false" strings count (EBS "encrypted" in
// launch templates is a string). A non-boolean value counts as absent.
func boolAt(r inventory.Resource, path string) (bool, state) {
	v, st := lookup(r, path)
	if st != known {
		return false, st
	}
	switch b := v.(type) {
	case bool:
		return b, known
	case string:
		if p, err := strconv.ParseBool(b); err == nil {
			return p, known
		}
	}
	return false, absent
}

// numAt reads a number; numeric strings count.
func numAt(r inventory.Resource, path string) (float64, state) {
	v, st := lookup(r, path)
	if st != known {
		return 0, st
	}
	switch n := v.(type) {
	case float64:
		return n, known
	case int:
		return float64(n), known
	case string:
		if f, err := strconv.ParseFloat(n, 64); err == nil {
			return f, known
		}
	}
	return 0, absent
}

// strAt reads a string; an empty string counts as absent.
func strAt(r inventory.Resource, path string) (string, state) {
	v, st := lookup(r, path)
	switch st {
	case known:
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		if s == "" {
			return "", absent
		}
		return s, known
	case secret:
		return inventory.Secret, secret
	}
	return "", st
}

// listAt reads a list; a single value counts as a one-element list.
func listAt(r inventory.Resource, path string) ([]any, state) {
	v, st := lookup(r, path)
	if st != known {
		return nil, st
	}
	if l, ok := v.([]any); ok {
		return l, known
	}
	return []any{v}, known
}

// stringsAt reads a list of strings. st is unknown if the list or any element
// is unknown, else secret if any is a secret; the plain elements are
// returned either way.
func stringsAt(r inventory.Resource, path string) ([]string, state) {
	l, st := listAt(r, path)
	if st != known {
		return nil, st
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		v, est := classify(e)
		switch {
		case est == unknown:
			st = unknown
		case est == secret && st != unknown:
			st = secret
		case est == known:
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out, st
}

// Unverified is the advisory finding for a value a rule needs that is not
// known during preview.
func Unverified(field string) Finding {
	return Finding{Message: "cannot verify during preview: " + field + " unknown", Advisory: true}
}

// opaque reports whether a rule cannot see the value: unknown during
// preview, or a secret.
func opaque(st state) bool { return st == unknown || st == secret }

// cannotVerify is the advisory finding for an opaque value at field.
func cannotVerify(field string, st state) Finding {
	if st == secret {
		return secretUnverified(field)
	}
	return Unverified(field)
}

// secretUnverified is the advisory finding for a value hidden as a secret
// that a rule would have to read.
func secretUnverified(field string) Finding {
	return Finding{Message: "cannot verify: " + field + " is a secret", Advisory: true}
}

func fail(format string, args ...any) Finding {
	return Finding{Message: fmt.Sprintf(format, args...)}
}

// requireBool checks that the boolean at path is want; def is the value an
// absent input takes (the provider's or AWS's default). why says what a
// wrong value means.
func requireBool(r inventory.Resource, path string, want, def bool, why string) []Finding {
	b, st := boolAt(r, path)
	switch st {
	case unknown:
		return []Finding{Unverified(path)}
	case secret:
		return []Finding{secretUnverified(path)}
	case absent:
		if def == want {
			return nil
		}
		return []Finding{fail("%s is not set (default %t): %s", path, def, why)}
	}
	if b != want {
		return []Finding{fail("%s is %t: %s", path, b, why)}
	}
	return nil
}

// requireSet checks that a string input is set (a secret counts as set).
func requireSet(r inventory.Resource, path, why string) []Finding {
	switch _, st := strAt(r, path); st {
	case unknown:
		return []Finding{Unverified(path)}
	case absent:
		return []Finding{fail("%s is not set: %s", path, why)}
	}
	return nil
}

// isWorld reports whether cidr covers every address (0.0.0.0/0, ::/0).
func isWorld(cidr string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && p.Bits() == 0
}

// decodeJSONString returns v decoded if it is a JSON object or list encoded
// as a string (how the engine may hand over a provider's nested config),
// else v itself.
func decodeJSONString(v any) any {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(strings.TrimSpace(s), "{") && !strings.HasPrefix(strings.TrimSpace(s), "[") {
		return v
	}
	var out any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return v
	}
	return out
}
