package http_test

// The attack set of issue 15: what an outside attack against a running
// tenantd broke, each kept fixed by a test against real PostgreSQL and Redis
// through the HTTP API. `scripts/test.sh -run Attack ./service/...` runs them
// alone; docs/security.md lists each class with its control.

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tenantco/platform/service/internal/tenant"
	"github.com/tenantco/platform/service/internal/testenv"
)

// TestAttack_MetricCardinality: thousands of made-up methods and paths,
// without credentials, add no metric series (each was one: 20,000 of them
// made /metrics 31 MB and never shrank). Labels come from bounded sets.
func TestAttack_MetricCardinality(t *testing.T) {
	e := newEnv(t, envOpts{})
	series := func() int {
		t.Helper()
		n := 0
		for _, line := range strings.Split(string(e.do("GET", "/metrics", "", nil).Body), "\n") {
			if strings.HasPrefix(line, "tenantd_http_requests_total{") || strings.HasPrefix(line, "tenantd_http_request_duration_seconds_count{") {
				n++
			}
		}
		return n
	}
	flood := func(round string) {
		t.Helper()
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 250 {
					tag := fmt.Sprintf("%s%d%s", round, w, testenv.Rand(4))
					for _, req := range []struct{ method, path string }{
						{"X" + strings.ToUpper(tag), "/v1/items"},    // a route, a made-up method: 405
						{"Z" + strings.ToUpper(tag), "/" + tag},      // no route, a made-up method
						{"GET", "/v1/" + tag + "/" + tenant.NewID()}, // no route, a real method
						{"DELETE", "/v1/items/" + tag},               // a route with a made-up id
					} {
						r := e.do(req.method, req.path, "", nil)
						if r.Status < 400 || r.Status >= 500 {
							t.Errorf("%s %s: %d", req.method, req.path, r.Status)
						}
					}
					_ = i
				}
			}()
		}
		wg.Wait()
	}
	series() // the scrape counts itself from the next scrape on
	flood("a")
	first := series()
	flood("b")
	second := series()
	// routes × {GET, DELETE, other} × the statuses they answered, plus the
	// /metrics scrape itself: a handful, whatever the flood.
	if second != first || first > 12 {
		t.Fatalf("series after 8,000 made-up requests: %d, after 8,000 more: %d", first, second)
	}
	body := string(e.do("GET", "/metrics", "", nil).Body)
	if !strings.Contains(body, `method="other"`) || strings.Contains(body, `method="XA`) || strings.Contains(body, "/v1/a") {
		t.Fatalf("labels carry request text:\n%s", body)
	}
}
