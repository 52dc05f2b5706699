package http_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// decisionLog wraps the real Redis limiter and records, per tenant, the
// interval [before, after] around each decision. The GCRA script decides at
// Redis's TIME, which lies inside that interval (same machine, same wall
// clock), so a check over the intervals is exact whatever the load: it never
// blames the limiter for scheduling delay, and the interval is one Redis round
// trip wide, not an HTTP exchange.
type decisionLog struct {
	inner tenant.RateLimiter
	mu    sync.Mutex
	byID  map[string][]decision
}

type decision struct {
	before, after time.Time // wall clock, as Redis's TIME reads it
	allowed       bool
}

func (l *decisionLog) Allow(ctx context.Context, id string, lim tenant.Limits) (tenant.RateDecision, error) {
	before := time.Now().Round(0)
	d, err := l.inner.Allow(ctx, id, lim)
	after := time.Now().Round(0)
	if err == nil {
		l.mu.Lock()
		l.byID[id] = append(l.byID[id], decision{before, after, d.Allowed})
		l.mu.Unlock()
	}
	return d, err
}

func (l *decisionLog) of(id string) []decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]decision(nil), l.byID[id]...)
}

// gcraViolation checks the guarantee of redis_rate's GCRA (burst b, rate r
// per second): any set of allowed decisions that all happened within a
// closed span of length L holds at most b + floor(r*L) of them. A set is
// certainly within [a, e] when every interval is, so for every start a (some
// decision's before) and end e (some decision's after) the allowed decisions
// with before >= a and after <= e are counted. Returns "" when it holds.
func gcraViolation(ds []decision, burst int, rate float64) string {
	var allowed []decision
	for _, d := range ds {
		if d.allowed {
			allowed = append(allowed, d)
		}
	}
	for _, first := range allowed {
		for _, last := range allowed {
			a, e := first.before, last.after
			if e.Before(a) {
				continue
			}
			n := 0
			for _, d := range allowed {
				if !d.before.Before(a) && !d.after.After(e) {
					n++
				}
			}
			// 1 µs absorbs the Lua script's float arithmetic (emission
			// interval 1/r summed n times); every interval is wider.
			bound := burst + int(math.Floor(rate*(e.Sub(a)+time.Microsecond).Seconds()))
			if n > bound {
				return fmt.Sprintf("%d decisions allowed within %s (from %s to %s), GCRA bound %d",
					n, e.Sub(a), a.Format("15:04:05.000000"), e.Format("15:04:05.000000"), bound)
			}
		}
	}
	return ""
}

// TestGCRAViolation: the check itself catches a limiter that admits too
// much, and accepts the exact GCRA schedule (burst at once, then one every
// 1/r).
func TestGCRAViolation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms float64) decision {
		d := t0.Add(time.Duration(ms * float64(time.Millisecond)))
		return decision{before: d.Add(-100 * time.Microsecond), after: d.Add(100 * time.Microsecond), allowed: true}
	}
	var exact []decision
	for range 5 {
		exact = append(exact, at(0))
	}
	for k := 1; k <= 40; k++ {
		exact = append(exact, at(float64(k)*50))
	}
	exact = append(exact, decision{before: t0, after: t0.Add(time.Second)}) // a refusal counts for nothing
	if v := gcraViolation(exact, 5, 20); v != "" {
		t.Fatalf("exact GCRA schedule flagged: %s", v)
	}
	if v := gcraViolation(append(exact, at(1000)), 5, 20); v == "" {
		t.Fatal("an extra admission 1 s in (a second one in the same slot) was not flagged")
	}
	if v := gcraViolation(append(exact[:5:5], at(10)), 5, 20); v == "" {
		t.Fatal("a sixth admission 10 ms after a burst of 5 was not flagged")
	}
}

// TestRateLimit_TierRateEnforced: a tenant hammering over its tier rate gets
// 429 with Retry-After, and its admitted decisions obey the GCRA guarantee
// documented on Limits (judged on the limiter's own decision times, see
// decisionLog); another tenant of the same tier is unaffected. The run ends by
// what the limiter did (enough admissions and refusals), not after a time.
func TestRateLimit_TierRateEnforced(t *testing.T) {
	const rate, burst = 20, 5
	rec := &decisionLog{byID: map[string][]decision{}}
	e := newEnv(t, envOpts{
		limits:      fmt.Sprintf("starter=rate:%d,burst:%d", rate, burst),
		wrapLimiter: func(l tenant.RateLimiter) tenant.RateLimiter { rec.inner = l; return rec },
	})
	noisy := e.onboard("noisy", tenant.TierStarter)
	quiet := e.onboard("quiet", tenant.TierStarter)

	// Enough admissions to span two seconds of the limiter's schedule.
	const wantAdmitted = burst + 2*rate
	var mu sync.Mutex
	admitted, limited, other := 0, 0, 0
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return admitted >= wantAdmitted && limited > 0
	}
	// Only a guard against a hang; the verdict never depends on it.
	deadline := time.Now().Add(2 * time.Minute)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done() && time.Now().Before(deadline) {
				r := e.do("GET", "/v1/items", noisy.APIKey, nil)
				mu.Lock()
				switch r.Status {
				case 200:
					admitted++
				case 429:
					limited++
					if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Errorf("429 without Retry-After: %q", r.Header.Get("Retry-After"))
					}
				default:
					other++
				}
				mu.Unlock()
			}
		}()
	}
	// The quiet tenant waits 250 ms between requests: at most 4 req/s against
	// a 20/s limit with burst 5, so the limiter must never refuse it however
	// slowly the machine runs.
	quietLimited, quietSent := 0, 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done() && time.Now().Before(deadline) {
			quietSent++
			if r := e.do("GET", "/v1/items", quiet.APIKey, nil); r.Status != 200 {
				quietLimited++
			}
			time.Sleep(250 * time.Millisecond)
		}
	}()
	wg.Wait()
	if !done() {
		t.Fatalf("no verdict within the guard: admitted=%d limited=%d other=%d", admitted, limited, other)
	}
	if other != 0 || quietLimited != 0 || quietSent == 0 {
		t.Fatalf("admitted=%d limited=%d other=%d quiet: %d of %d limited", admitted, limited, other, quietLimited, quietSent)
	}
	decisions := rec.of(noisy.ID)
	allowedN := 0
	for _, d := range decisions {
		if d.allowed {
			allowedN++
		}
	}
	if allowedN != admitted || len(decisions) != admitted+limited {
		t.Fatalf("limiter decided %d (%d allowed), HTTP saw %d admitted + %d limited", len(decisions), allowedN, admitted, limited)
	}
	if v := gcraViolation(decisions, burst, rate); v != "" {
		t.Fatal(v)
	}
	for _, d := range rec.of(quiet.ID) {
		if !d.allowed {
			t.Fatal("the quiet tenant was refused by the limiter")
		}
	}
	t.Logf("admitted %d, limited %d at rate %d/s burst %d", admitted, limited, rate, burst)
}

// TestRateLimit_RedisDownFailsClosed runs its own redis-server, kills it and
// checks that tenant requests are refused, never unlimited, and that
// onboarding still obeys the cost breaker (its level lives in PostgreSQL).
func TestRateLimit_RedisDownFailsClosed(t *testing.T) {
	rs := startRedis(t)
	e := newEnv(t, envOpts{redisAddr: rs.addr})
	a := e.onboard("before-outage", tenant.TierPro)
	expect(t, e.do("GET", "/v1/items", a.APIKey, nil), 200, "")

	rs.stop()
	for i := range 10 {
		r := e.do("GET", "/v1/items", a.APIKey, nil)
		if r.Status != 503 && r.Status != 429 {
			t.Fatalf("request %d with Redis down: %d %s", i, r.Status, r.Body)
		}
		if r.Status == 503 && r.Header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After: %s", r.Body)
		}
		r = e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "x"})
		if r.Status != 503 && r.Status != 429 {
			t.Fatalf("write %d with Redis down: %d %s", i, r.Status, r.Body)
		}
	}
	expect(t, e.do("POST", "/v1/breaker", adminToken, map[string]string{"level": "freeze"}), 200, "")
	expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "during-outage", "tier": "free"}), 503, "onboarding_paused")
	e.onboard("during-outage", tenant.TierPro)
	r := e.do("GET", "/readyz", "", nil)
	if r.Status != 503 || !strings.Contains(string(r.Body), `"redis":"unreachable"`) {
		t.Fatalf("readyz with Redis down: %d %s", r.Status, r.Body)
	}
	expect(t, e.do("GET", "/healthz", "", nil), 200, "")
}

// TestQuota_HardLimits: item count and storage quotas are never exceeded,
// even by concurrent writers; deleting frees quota.
func TestQuota_HardLimits(t *testing.T) {
	e := newEnv(t, envOpts{limits: "free=rate:10000,burst:10000,items:5,bytes:400"})
	a := e.onboard("quota", tenant.TierFree)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var ids []string
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": fmt.Sprintf("n%02d", i)})
			mu.Lock()
			defer mu.Unlock()
			codes[r.Status]++
			if r.Status == 201 {
				var it tenant.Item
				r.json(t, &it)
				ids = append(ids, it.ID)
			} else if r.code() != "quota_exceeded" {
				t.Errorf("%d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	if codes[201] != 5 || codes[403] != 15 {
		t.Fatalf("concurrent creates at items quota 5: %v", codes)
	}
	expect(t, e.do("DELETE", "/v1/items/"+ids[0], a.APIKey, nil), 204, "")
	expect(t, e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "again"}), 201, "")
	// storage: 400 bytes total; 5 small items used ~20; a 390-byte item does not fit
	expect(t, e.do("DELETE", "/v1/items/"+ids[1], a.APIKey, nil), 204, "")
	r := e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "big", "data": strings.Repeat("x", 390)})
	expect(t, r, 403, "quota_exceeded")
	expect(t, e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "small", "data": "x"}), 201, "")
	// item too large for any tier
	r = e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "huge", "data": strings.Repeat("x", tenant.MaxItemBytes+10)})
	expect(t, r, 400, "invalid")
}

// TestBreaker_Levels: warn changes nothing for tenants; freeze refuses new
// free tenants and halves free limits; emergency refuses all onboarding and
// makes the free tier read-only; normal restores everything.
func TestBreaker_Levels(t *testing.T) {
	e := newEnv(t, envOpts{limits: "free=rate:100,burst:100,items:4"})
	free := e.onboard("free-one", tenant.TierFree)
	pro := e.onboard("pro-one", tenant.TierPro)
	set := func(level string) {
		t.Helper()
		expect(t, e.do("POST", "/v1/breaker", adminToken, map[string]string{"level": level}), 200, "")
	}
	expect(t, e.do("POST", "/v1/breaker", adminToken, map[string]string{"level": "panic"}), 400, "invalid")
	expect(t, e.do("POST", "/v1/breaker", "", map[string]string{"level": "normal"}), 401, "unauthorized")

	set("warn")
	e.onboard("free-warn", tenant.TierFree)

	set("freeze")
	expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "free-frozen", "tier": "free"}), 503, "onboarding_paused")
	e.onboard("pro-frozen", tenant.TierStarter)
	r := e.do("GET", "/v1/items", free.APIKey, nil)
	if r.Header.Get("X-RateLimit-Limit") != "50" {
		t.Fatalf("free rate at freeze: %s", r.Header.Get("X-RateLimit-Limit"))
	}
	expect(t, e.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "1"}), 201, "")
	expect(t, e.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "2"}), 201, "")
	expect(t, e.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "3"}), 403, "quota_exceeded") // items 4 halved to 2
	if r := e.do("GET", "/v1/items", pro.APIKey, nil); r.Header.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("pro limits changed at freeze: %s", r.Header.Get("X-RateLimit-Limit"))
	}

	set("emergency")
	expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "pro-emerg", "tier": "enterprise"}), 503, "onboarding_paused")
	expect(t, e.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "w"}), 503, "read_only")
	expect(t, e.do("GET", "/v1/items", free.APIKey, nil), 200, "")
	expect(t, e.do("POST", "/v1/items", pro.APIKey, map[string]any{"name": "w"}), 201, "")
	r = e.do("GET", "/v1/breaker", adminToken, nil)
	if !strings.Contains(string(r.Body), "emergency") {
		t.Fatalf("breaker: %s", r.Body)
	}
	m := e.do("GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Body), "tenantd_cost_breaker_level 3") {
		t.Fatal("breaker metric not 3 at emergency")
	}

	set("normal")
	e.onboard("free-after", tenant.TierFree)
	expect(t, e.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "3"}), 201, "")
}

func TestMetricsAndHealth(t *testing.T) {
	e := newEnv(t, envOpts{})
	a := e.onboard("metrics", tenant.TierPro)
	e.do("GET", "/v1/items", a.APIKey, nil)
	e.do("GET", "/v1/items/"+tenant.NewID(), a.APIKey, nil)
	expect(t, e.do("GET", "/healthz", "", nil), 200, "")
	expect(t, e.do("GET", "/readyz", "", nil), 200, "")
	body := string(e.do("GET", "/metrics", "", nil).Body)
	for _, want := range []string{
		`tenantd_http_requests_total{method="GET",route="/v1/items",status="200"} 1`,
		`tenantd_http_requests_total{method="GET",route="/v1/items/{id}",status="404"} 1`,
		`tenantd_http_request_duration_seconds_bucket{method="POST",route="/v1/tenants"`,
		`tenantd_onboarding_duration_seconds_count 1`,
		`tenantd_ratelimit_decisions_total{decision="allowed",tier="pro"} 2`,
		`tenantd_tenants{tier="pro"} 1`,
		`tenantd_tenants{tier="free"} 0`,
		`tenantd_cost_breaker_level 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, a.ID) {
		t.Error("metrics expose ids")
	}
}
