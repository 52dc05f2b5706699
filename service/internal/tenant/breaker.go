package tenant

// BreakerLevel is the cost circuit-breaker level set from budget alerts.
type BreakerLevel int

const (
	BreakerNormal    BreakerLevel = iota // under 90 % of budget
	BreakerWarn                          // >= 90 %: metric and log only
	BreakerFreeze                        // >= 100 %: no new free tenants, free limits halved
	BreakerEmergency                     // >= 200 %: no onboarding at all, free tier read-only
)

var breakerNames = []string{"normal", "warn", "freeze", "emergency"}

func (l BreakerLevel) String() string {
	if l < 0 || int(l) >= len(breakerNames) {
		return "unknown"
	}
	return breakerNames[l]
}

// ParseBreakerLevel accepts normal, warn, freeze or emergency.
func ParseBreakerLevel(s string) (BreakerLevel, error) {
	for i, n := range breakerNames {
		if s == n {
			return BreakerLevel(i), nil
		}
	}
	return 0, FieldError("level", "level must be one of normal, warn, freeze, emergency")
}

// BreakerLevelForPercent maps a budget alert threshold (percent of budget) to
// a level.
func BreakerLevelForPercent(p float64) BreakerLevel {
	switch {
	case p >= 200:
		return BreakerEmergency
	case p >= 100:
		return BreakerFreeze
	case p >= 90:
		return BreakerWarn
	}
	return BreakerNormal
}

// OnboardingAllowed says whether a tenant of tier t may be created at level l.
func (l BreakerLevel) OnboardingAllowed(t Tier) bool {
	switch {
	case l >= BreakerEmergency:
		return false
	case l >= BreakerFreeze:
		return t != TierFree
	}
	return true
}
