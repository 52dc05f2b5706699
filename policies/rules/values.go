package rules

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Unverified is the advisory finding for a value a rule needs that is not
// known during preview.
func Unverified(field string) Finding {
	return Finding{Message: "cannot verify during preview: " + field + " unknown", Advisory: true}
}

// cannotVerify is the advisory finding for an opaque value at field.
func cannotVerify(field string, st inventory.State) Finding {
	if st == inventory.StateSecret {
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
	b, st := r.BoolAt(path)
	switch st {
	case inventory.StateUnknown:
		return []Finding{Unverified(path)}
	case inventory.StateSecret:
		return []Finding{secretUnverified(path)}
	case inventory.StateAbsent:
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
	switch _, st := r.StringAt(path); st {
	case inventory.StateUnknown:
		return []Finding{Unverified(path)}
	case inventory.StateAbsent:
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
