package tenant

import (
	"fmt"
	"strings"
)

// Tier is a pricing tier. Each has hard limits that are enforced with no
// exceptions.
type Tier string

const (
	TierFree       Tier = "free"
	TierStarter    Tier = "starter"
	TierPro        Tier = "pro"
	TierEnterprise Tier = "enterprise"
)

// Tiers lists every tier, cheapest first.
var Tiers = []Tier{TierFree, TierStarter, TierPro, TierEnterprise}

// ParseTier accepts exactly one of the tier names (case-sensitive).
func ParseTier(s string) (Tier, error) {
	for _, t := range Tiers {
		if s == string(t) {
			return t, nil
		}
	}
	return "", FieldError("tier", "tier must be one of free, starter, pro, enterprise")
}

// Limits are a tier's hard limits.
//
// Rate limiting is GCRA (redis_rate): RatePerSecond sustained with a burst of
// Burst. Guarantee: in any window of W seconds a tenant is admitted at most
// Burst + RatePerSecond*W requests.
type Limits struct {
	RatePerSecond   int   `json:"rate_per_second"`
	Burst           int   `json:"burst"`
	MaxItems        int64 `json:"max_items"`
	MaxStorageBytes int64 `json:"max_storage_bytes"`
	ReadOnly        bool  `json:"read_only"`
}

// MaxItemBytes bounds one item (name + data) for every tier; the HTTP layer
// refuses larger bodies before reading them.
const MaxItemBytes = 64 << 10

// DefaultLimits are the tier limits unless TIER_LIMITS overrides them.
func DefaultLimits() map[Tier]Limits {
	return map[Tier]Limits{
		TierFree:       {RatePerSecond: 5, Burst: 10, MaxItems: 100, MaxStorageBytes: 1 << 20},
		TierStarter:    {RatePerSecond: 20, Burst: 40, MaxItems: 10_000, MaxStorageBytes: 100 << 20},
		TierPro:        {RatePerSecond: 100, Burst: 200, MaxItems: 100_000, MaxStorageBytes: 1 << 30},
		TierEnterprise: {RatePerSecond: 1000, Burst: 2000, MaxItems: 1_000_000, MaxStorageBytes: 10 << 30},
	}
}

// Effective applies the cost breaker to a tier's limits: at freeze the free
// tier's limits are halved; at emergency the free tier is also read-only.
func (l Limits) Effective(t Tier, level BreakerLevel) Limits {
	if t != TierFree {
		return l
	}
	if level >= BreakerFreeze {
		l.RatePerSecond = max(1, l.RatePerSecond/2)
		l.Burst = max(1, l.Burst/2)
		l.MaxItems /= 2
		l.MaxStorageBytes /= 2
	}
	if level >= BreakerEmergency {
		l.ReadOnly = true
	}
	return l
}

// ParseLimits reads an override such as
// "free=rate:5,burst:10,items:100,bytes:1048576;enterprise=rate:100000" laid
// over base. Unknown tiers or keys are errors.
func ParseLimits(s string, base map[Tier]Limits) (map[Tier]Limits, error) {
	out := make(map[Tier]Limits, len(base))
	for k, v := range base {
		out[k] = v
	}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, kvs, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want tier=key:value,...", part)
		}
		t, err := ParseTier(strings.TrimSpace(name))
		if err != nil {
			return nil, fmt.Errorf("%q: unknown tier", name)
		}
		l := out[t]
		for _, kv := range strings.Split(kvs, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
			var n int64
			if _, err := fmt.Sscan(v, &n); !ok || err != nil || n <= 0 {
				return nil, fmt.Errorf("%q: want key:positive-integer", kv)
			}
			switch k {
			case "rate":
				l.RatePerSecond = int(n)
			case "burst":
				l.Burst = int(n)
			case "items":
				l.MaxItems = n
			case "bytes":
				l.MaxStorageBytes = n
			default:
				return nil, fmt.Errorf("%q: key must be rate, burst, items or bytes", kv)
			}
		}
		out[t] = l
	}
	return out, nil
}
