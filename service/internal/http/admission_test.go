package http_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	thttp "github.com/tenantco/platform/service/internal/http"
	"github.com/tenantco/platform/service/internal/tenant"
)

// holdItems wraps the real item store: every ListPage call (GET /v1/items)
// reports that it is in progress (it holds an admission slot by then) and
// waits until the test releases it, so the number of requests in flight is set by the test,
// never by timing. A call whose request context ends first returns that
// context's error, as a cancelled database query does.
type holdItems struct {
	tenant.ItemService
	entered chan struct{}
	release chan struct{}
}

func newHoldItems() *holdItems {
	return &holdItems{entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (h *holdItems) ListPage(ctx context.Context, p *tenant.Principal, q tenant.PageQuery) (*tenant.ItemPage, error) {
	h.entered <- struct{}{}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, fmt.Errorf("list items: %w", ctx.Err())
	}
	return h.ItemService.ListPage(ctx, p, q)
}

// wait blocks until one held call has entered. The guard only turns a hang
// (a request that never reaches the store) into a failure that says so.
func (h *holdItems) wait(t testing.TB) {
	t.Helper()
	select {
	case <-h.entered:
	case <-time.After(time.Minute):
		t.Fatal("no request reached the item store's ListPage: is GET /v1/items still served by it?")
	}
}

// countingLimiter counts the rate-limit decisions asked of Redis.
type countingLimiter struct {
	tenant.RateLimiter
	n atomic.Int64
}

func (c *countingLimiter) Allow(ctx context.Context, id string, lim tenant.Limits) (tenant.RateDecision, error) {
	c.n.Add(1)
	return c.RateLimiter.Allow(ctx, id, lim)
}

// metric returns the value of the sample whose line starts with series
// (name{labels} as Prometheus prints them), or -1 when absent.
func (e *env) metric(series string) float64 {
	e.t.Helper()
	for _, line := range strings.Split(string(e.do("GET", "/metrics", "", nil).Body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// waitMetric polls until series has value want. The guard only stops a hang:
// the verdict is the value, never the time it took.
func (e *env) waitMetric(series string, want float64) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for e.metric(series) != want {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never reached %v (now %v)", series, want, e.metric(series))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAdmission_OverloadShedsExcessBeforeAnyWork: with two requests held in
// flight and one waiting in the queue, the API is full. The excess is refused
// at once with 503 overloaded and Retry-After, before authentication (a bad
// key also gets 503, not 401) and before Redis (no rate-limit decision);
// health, metrics and the admin API still answer from their own reserved
// gates; once released, every admitted request (the queued one included)
// succeeds.
func TestAdmission_OverloadShedsExcessBeforeAnyWork(t *testing.T) {
	hold := newHoldItems()
	lim := &countingLimiter{}
	e := newEnv(t, envOpts{
		admission:   &thttp.Admission{MaxInFlight: 2, MaxQueue: 1, MaxWait: 10 * time.Minute},
		wrapItems:   func(s tenant.ItemService) tenant.ItemService { hold.ItemService = s; return hold },
		wrapLimiter: func(l tenant.RateLimiter) tenant.RateLimiter { lim.RateLimiter = l; return lim },
	})
	a := e.onboard("busy", tenant.TierPro)
	e.createItem(a.APIKey, "busy:1", nil)

	results := make(chan resp, 3)
	for range 2 {
		go func() { results <- e.do("GET", "/v1/items", a.APIKey, nil) }()
	}
	hold.wait(t)
	hold.wait(t)
	go func() { results <- e.do("GET", "/v1/items", a.APIKey, nil) }()
	e.waitMetric(`tenantd_admission_queued{class="api"}`, 1)
	decided := lim.n.Load() // the create and the two held requests

	for _, key := range []string{a.APIKey, "tk_not-a-key"} {
		r := e.do("GET", "/v1/items", key, nil)
		expect(t, r, http.StatusServiceUnavailable, "overloaded")
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("overloaded without a Retry-After in seconds: %q", r.Header.Get("Retry-After"))
		}
	}
	r := e.do("POST", "/v1/items", a.APIKey, map[string]any{"name": "busy:2"})
	expect(t, r, http.StatusServiceUnavailable, "overloaded")
	if got := lim.n.Load(); got != decided {
		t.Errorf("shed requests reached the rate limiter: %d decisions, want %d", got, decided)
	}

	// The reserved share: probes, metrics and the admin API still answer.
	expect(t, e.do("GET", "/healthz", "", nil), 200, "")
	expect(t, e.do("GET", "/readyz", "", nil), 200, "")
	expect(t, e.do("GET", "/v1/tenants/"+a.ID, adminToken, nil), 200, "")
	if v := e.metric(`tenantd_admission_shed_total{class="api"}`); v != 3 {
		t.Errorf("shed counter %v, want 3", v)
	}

	close(hold.release)
	for range 3 {
		r := <-results
		expect(t, r, 200, "")
		var l struct{ Items []tenant.Item }
		r.json(t, &l)
		if len(l.Items) != 1 || l.Items[0].Name != "busy:1" {
			t.Errorf("admitted request answered %s", r.Body)
		}
	}
	e.waitMetric(`tenantd_admission_in_flight{class="api"}`, 0)
	if v := e.metric(`tenantd_http_requests_total{method="GET",route="/v1/items",status="200"}`); v != 3 {
		t.Errorf("admitted GETs recorded as 200: %v, want 3", v)
	}
	if v := e.metric(`tenantd_http_requests_total{method="GET",route="/v1/items",status="503"}`); v != 2 {
		t.Errorf("shed GETs recorded as 503 on their route: %v, want 2", v)
	}
}

// TestAdmission_QueueDeadline: a request that waits in the queue longer than
// MaxWait is refused with 503 overloaded; the held one still succeeds. The
// slot is never freed while the second request waits, so its refusal does
// not depend on the machine's speed.
func TestAdmission_QueueDeadline(t *testing.T) {
	hold := newHoldItems()
	e := newEnv(t, envOpts{
		admission: &thttp.Admission{MaxInFlight: 1, MaxQueue: 4, MaxWait: 20 * time.Millisecond},
		wrapItems: func(s tenant.ItemService) tenant.ItemService { hold.ItemService = s; return hold },
	})
	a := e.onboard("waiter", tenant.TierPro)
	first := make(chan resp, 1)
	go func() { first <- e.do("GET", "/v1/items", a.APIKey, nil) }()
	hold.wait(t)
	r := e.do("GET", "/v1/items/"+tenant.NewID(), a.APIKey, nil)
	expect(t, r, http.StatusServiceUnavailable, "overloaded")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	close(hold.release)
	expect(t, <-first, 200, "")
}

// TestAdmission_ClientGoneIsNotAServerError: a client that leaves while its
// request is in progress (the store sees its context cancelled) is recorded
// as 499, never as a 500, and nothing is logged as an error. The same holds
// for a client that leaves while queued.
func TestAdmission_ClientGoneIsNotAServerError(t *testing.T) {
	hold := newHoldItems()
	var logs syncBuffer
	e := newEnv(t, envOpts{
		admission: &thttp.Admission{MaxInFlight: 1, MaxQueue: 4, MaxWait: 10 * time.Minute},
		wrapItems: func(s tenant.ItemService) tenant.ItemService { hold.ItemService = s; return hold },
		logs:      &logs,
	})
	a := e.onboard("leaver", tenant.TierPro)

	send := func(ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", e.URL+"/v1/items", nil)
			req.Header.Set("Authorization", "Bearer "+a.APIKey)
			res, err := e.client.Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		return done
	}
	inCtx, leaveInFlight := context.WithCancel(context.Background())
	inFlight := send(inCtx)
	hold.wait(t)
	qCtx, leaveQueue := context.WithCancel(context.Background())
	queued := send(qCtx)
	e.waitMetric(`tenantd_admission_queued{class="api"}`, 1)

	leaveQueue()
	if err := <-queued; err == nil {
		t.Fatal("the queued client's request did not end with its context")
	}
	e.waitMetric(`tenantd_admission_queued{class="api"}`, 0)
	leaveInFlight()
	if err := <-inFlight; err == nil {
		t.Fatal("the in-flight client's request did not end with its context")
	}
	e.waitMetric(`tenantd_http_requests_total{method="GET",route="/v1/items",status="499"}`, 2)
	for _, status := range []string{"500", "503"} {
		if v := e.metric(`tenantd_http_requests_total{method="GET",route="/v1/items",status="` + status + `"}`); v != -1 {
			t.Errorf("a client that left was recorded as %s (%v times)", status, v)
		}
	}
	if v := e.metric(`tenantd_admission_shed_total{class="api"}`); v > 0 {
		t.Errorf("a client that left the queue was counted as shed (%v)", v)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
			t.Errorf("logged at warn/error for a client that left: %s", line)
		}
	}
	if !strings.Contains(logs.String(), "client went away") {
		t.Error("the departure is not in the debug log")
	}
	// The slot was given back: the next request is admitted and succeeds.
	close(hold.release)
	expect(t, e.do("GET", "/v1/items", a.APIKey, nil), 200, "")
}
