package postgres

import (
	"sync"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// DefaultAuthCacheTTL bounds how long a key → tenant lookup is reused.
//
// What the cache may serve stale, and for how long:
//   - Revocation: never. Every tenant query re-checks key hash and status in
//     its own batch (scopeSQL), so a revoked or offboarded key is refused on
//     the very next request whatever the cache holds.
//   - Tier: up to the TTL on other replicas. The replica that applies a tier
//     change (PATCH, Stripe) or an offboarding purges its own cache at once.
const DefaultAuthCacheTTL = time.Second

// authCacheMax bounds memory: at most this many keys are remembered (≈ 200 B
// each). When full, expired entries are swept; if none expired, all are dropped.
const authCacheMax = 100_000

type authEntry struct {
	tenantID, slug string
	tier           tenant.Tier
	expires        time.Time
}

// authCache maps a key hash to the tenant it authenticated, for a short TTL.
// Only successful lookups are cached.
type authCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.RWMutex
	m  map[string]authEntry
}

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, now: time.Now, m: map[string]authEntry{}}
}

func (c *authCache) get(keyHash []byte) (*tenant.Principal, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[string(keyHash)]
	c.mu.RUnlock()
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return &tenant.Principal{TenantID: e.tenantID, Slug: e.slug, Tier: e.tier, KeyHash: keyHash}, true
}

func (c *authCache) put(p *tenant.Principal) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= authCacheMax {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= authCacheMax {
			clear(c.m)
		}
	}
	c.m[string(p.KeyHash)] = authEntry{tenantID: p.TenantID, slug: p.Slug, tier: p.Tier, expires: now.Add(c.ttl)}
}

// purge forgets everything (after a tier change or an offboarding here).
func (c *authCache) purge() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// forget drops one key (its scope check failed: revoked).
func (c *authCache) forget(keyHash []byte) {
	c.mu.Lock()
	delete(c.m, string(keyHash))
	c.mu.Unlock()
}
