package tenant

import (
	"fmt"
	"strings"
)

// AuthFailureLimits bound the database lookups that API keys a replica has
// not seen valid may cause: GCRA in Redis like the tier limits, per client
// address and across all addresses. An unknown key cost a lookup each and
// nothing limited them: 2,000 req/s of random well-formed keys used 0.9 of
// the 2 cores. Keys seen valid recently are never limited by these, so a
// flood of bad keys does not lock out tenants, even behind the same address.
type AuthFailureLimits struct {
	PerAddress Limits // RatePerSecond and Burst are used
	Global     Limits
}

// DefaultAuthFailureLimits: 5/s (burst 20) per address, 100/s (burst 200)
// across the fleet.
func DefaultAuthFailureLimits() AuthFailureLimits {
	return AuthFailureLimits{
		PerAddress: Limits{RatePerSecond: 5, Burst: 20},
		Global:     Limits{RatePerSecond: 100, Burst: 200},
	}
}

// ParseAuthFailureLimits reads "address=rate:5,burst:20;global=rate:100,burst:200"
// laid over base; either part may be left out.
func ParseAuthFailureLimits(s string, base AuthFailureLimits) (AuthFailureLimits, error) {
	out := base
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, kvs, ok := strings.Cut(part, "=")
		var l *Limits
		switch strings.TrimSpace(name) {
		case "address":
			l = &out.PerAddress
		case "global":
			l = &out.Global
		}
		if !ok || l == nil {
			return base, fmt.Errorf("%q: want address=... or global=...", part)
		}
		for _, kv := range strings.Split(kvs, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
			var n int
			if _, err := fmt.Sscan(v, &n); !ok || err != nil || n <= 0 {
				return base, fmt.Errorf("%q: want rate:N or burst:N with N > 0", kv)
			}
			switch k {
			case "rate":
				l.RatePerSecond = n
			case "burst":
				l.Burst = n
			default:
				return base, fmt.Errorf("%q: key must be rate or burst", kv)
			}
		}
	}
	return out, nil
}
