package http

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// authGuard keeps well-formed API keys that are not valid from costing a
// database lookup each (issue 15: 2,000 req/s of random keys used 0.9 of
// the 2 cores, and nothing limited them), without slowing valid tenants.
//
//   - A key this replica saw valid in the last keyMemory, or a key of the
//     active tenants' snapshot (every tenant's key hash, read at start and
//     every knownRefresh: RefreshKnownKeys, KeepKnownKeys), is looked up as
//     before, never limited: a flood cannot lock tenants out, even from
//     their own address, and a fresh replica (a deploy, a scale-up) does
//     not make every tenant's first request spend the failure budget. Without
//     the snapshot, 1,000 tenants behind one address were admitted at 5 a
//     second after a start: the load test saw 92,000 429s in 10 s and half
//     the goodput.
//   - A key a lookup found unknown is answered 401 from memory for
//     keyMemory, no lookup: keys are 256-bit random and never reissued, so
//     an unknown or revoked key cannot become valid.
//   - Any other key (one onboarded on another replica since the last
//     snapshot, or not a tenant's at all) costs one token from its client address's budget and one
//     from the global budget (GCRA in Redis, like tier limits) before its
//     lookup; without a token it is refused with 429 and Retry-After. A
//     refusal is remembered for its Retry-After, at least refusalHold, so a
//     flood from one address, or one that has emptied the global budget,
//     costs no Redis round trip either (GCRA's Retry-After is the time to the
//     next single token, 10 ms at 100/s: remembered only that long, a flood
//     paid about two Redis round trips per request, as much as the lookup it
//     replaced). Redis unreachable: such keys are refused (503).
//
// The sets are bounded (keyMemoryMax entries each, ~100 B per entry).
type authGuard struct {
	limiter tenant.RateLimiter
	limits  tenant.AuthFailureLimits
	good    *keySet
	bad     *keySet
	// known is the active tenants' key hashes (a set, replaced whole).
	known atomic.Pointer[map[string]struct{}]

	mu          sync.Mutex
	addrUntil   map[string]time.Time // address → refused until (local memo)
	globalUntil time.Time
}

const (
	// knownRefresh: how often a replica rereads the active keys. A tenant
	// onboarded on another replica since spends the failure budget on its
	// first request here until then (within the budget's burst, normally).
	knownRefresh = 30 * time.Second
	refusalHold  = time.Second
	keyMemory    = 10 * time.Minute
	keyMemoryMax = 50_000
	addrMemoMax  = 10_000
)

func newAuthGuard(limiter tenant.RateLimiter, limits tenant.AuthFailureLimits) *authGuard {
	return &authGuard{limiter: limiter, limits: limits, good: newKeySet(), bad: newKeySet(), addrUntil: map[string]time.Time{}}
}

// isKnown reports whether h is in the active tenants' snapshot.
func (g *authGuard) isKnown(h []byte) bool {
	m := g.known.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[string(h)]
	return ok
}

// RefreshKnownKeys rereads the active tenants' key hashes into the auth
// guard's snapshot. Call it after Handler and before serving (tenantd does,
// then KeepKnownKeys): without it every tenant's first request on this
// replica spends the unknown-key budget.
func (s *Server) RefreshKnownKeys(ctx context.Context) error {
	hashes, err := s.Tenants.ActiveKeyHashes(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]struct{}, len(hashes))
	for _, h := range hashes {
		m[string(h)] = struct{}{}
	}
	s.guard.known.Store(&m)
	s.metrics.knownKeys.Set(float64(len(m)))
	return nil
}

// KeepKnownKeys refreshes the snapshot every knownRefresh until ctx ends. A
// failed refresh keeps the previous snapshot (revoked keys in it are still
// looked up, and refused, on every request) and is logged.
func (s *Server) KeepKnownKeys(ctx context.Context) {
	t := time.NewTicker(knownRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.RefreshKnownKeys(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Warn("active API keys not refreshed; keeping the previous snapshot", "err", err)
			}
		}
	}
}

// refusal is why admit said no.
type refusal struct {
	scope      string // "address" or "global"
	retryAfter time.Duration
}

// admit takes a token for one lookup from addr's budget and the global one.
// nil, nil: go ahead.
func (g *authGuard) admit(ctx context.Context, addr string) (*refusal, error) {
	now := time.Now()
	g.mu.Lock()
	if until, ok := g.addrUntil[addr]; ok && now.Before(until) {
		g.mu.Unlock()
		return &refusal{"address", until.Sub(now)}, nil
	}
	if now.Before(g.globalUntil) {
		until := g.globalUntil
		g.mu.Unlock()
		return &refusal{"global", until.Sub(now)}, nil
	}
	g.mu.Unlock()
	d, err := g.limiter.Allow(ctx, "authfail:addr:"+addr, g.limits.PerAddress)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		d.RetryAfter = max(d.RetryAfter, refusalHold)
		g.remember(func() {
			if len(g.addrUntil) >= addrMemoMax {
				for a, u := range g.addrUntil {
					if !now.Before(u) {
						delete(g.addrUntil, a)
					}
				}
				if len(g.addrUntil) >= addrMemoMax {
					clear(g.addrUntil)
				}
			}
			g.addrUntil[addr] = now.Add(d.RetryAfter)
		})
		return &refusal{"address", d.RetryAfter}, nil
	}
	d, err = g.limiter.Allow(ctx, "authfail:global", g.limits.Global)
	if err != nil {
		return nil, err
	}
	if !d.Allowed {
		d.RetryAfter = max(d.RetryAfter, refusalHold)
		g.remember(func() { g.globalUntil = now.Add(d.RetryAfter) })
		return &refusal{"global", d.RetryAfter}, nil
	}
	return nil, nil
}

func (g *authGuard) remember(f func()) {
	g.mu.Lock()
	f()
	g.mu.Unlock()
}

// keySet remembers key hashes for keyMemory, at most keyMemoryMax of them.
type keySet struct {
	mu sync.RWMutex
	m  map[string]time.Time
}

func newKeySet() *keySet { return &keySet{m: map[string]time.Time{}} }

func (s *keySet) has(h []byte) bool {
	s.mu.RLock()
	exp, ok := s.m[string(h)]
	s.mu.RUnlock()
	return ok && time.Now().Before(exp)
}

// put remembers h for keyMemory. A key already remembered for more than
// half of that is left alone: valid keys are put on every request, and the
// write lock would serialise them.
func (s *keySet) put(h []byte) {
	now := time.Now()
	s.mu.RLock()
	exp, ok := s.m[string(h)]
	s.mu.RUnlock()
	if ok && exp.Sub(now) > keyMemory/2 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= keyMemoryMax {
		for k, exp := range s.m {
			if !now.Before(exp) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= keyMemoryMax {
			clear(s.m)
		}
	}
	s.m[string(h)] = now.Add(keyMemory)
}

func (s *keySet) del(h []byte) {
	s.mu.Lock()
	delete(s.m, string(h))
	s.mu.Unlock()
}

// clientAddr is the address the failure budget is kept for: the connection's
// peer, or with hops trusted proxies in front (TRUSTED_PROXY_HOPS; the ALB is
// one) the X-Forwarded-For entry that many from the right, the one the
// outermost trusted proxy saw. Entries further left are whatever the client
// sent. IPv6 addresses count per /64, what one host can hold.
func clientAddr(r *http.Request, hops int) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if hops > 0 {
		var entries []string
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, e := range strings.Split(h, ",") {
				entries = append(entries, strings.TrimSpace(e))
			}
		}
		if len(entries) >= hops {
			host = entries[len(entries)-hops]
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return "unparsed"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// checkUnknownKey runs the guard for a key not seen valid here. It answers
// the request and returns false when the key must not be looked up. A key
// found unknown or revoked is answered from memory first, even while the
// active keys' snapshot still lists it; a snapshot key is then looked up
// without spending the budget.
func (s *Server) checkUnknownKey(w http.ResponseWriter, r *http.Request, hash []byte) bool {
	if s.guard.bad.has(hash) {
		s.metrics.authFailures.WithLabelValues("known_bad").Inc()
		s.error(w, r, tenant.Errorf(tenant.EUNAUTHORIZED, "invalid API key"))
		return false
	}
	if s.guard.isKnown(hash) {
		return true
	}
	ref, err := s.guard.admit(r.Context(), clientAddr(r, s.TrustedProxyHops))
	if err != nil {
		w.Header().Set("Retry-After", "1")
		s.error(w, r, tenant.Unavailable("API keys cannot be checked right now; retry later", err))
		return false
	}
	if ref != nil {
		s.metrics.authFailures.WithLabelValues("limited_" + ref.scope).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(ref.retryAfter.Seconds())))))
		msg := "too many unknown API keys from this address; retry later"
		if ref.scope == "global" {
			msg = "too many unknown API keys are being tried; retry later"
		}
		s.error(w, r, tenant.Errorf(tenant.ERATELIMITED, "%s", msg))
		return false
	}
	return true
}
