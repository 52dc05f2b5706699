package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type item struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// loadMode seeds one item per tenant, runs -warmup (not counted), then the
// measured -duration, and prints one RESULT line.
func loadMode(c config, cl *client, tenants []tenantRec) error {
	kind := "closed loop"
	if c.rate > 0 {
		kind = fmt.Sprintf("open loop at %.0f req/s", c.rate)
	}
	fmt.Printf("load: %d users over %d tenants (%s in the database), %s, warm-up %s, measured %s, write ratio %.2f\n",
		c.users, len(tenants), dbCount(c.tenantsInDB), kind, c.warmup, c.duration, c.writeRatio)
	w := newWorkload(c, cl, tenants)
	w.seed()
	if c.warmup > 0 {
		w.drive(c.warmup)
	}
	groups, err := parseWatch(c.watch)
	if err != nil {
		return err
	}
	load0 := loadAvg()
	watch := startWatch(groups)
	st, elapsed := w.drive(c.duration)
	cpu := watch.finish(st.answered)
	fmt.Printf("RESULT load mode=%s rate=%.0f users=%d tenants=%d tenants_in_db=%s %s cross_tenant=%d foreign_id_not_404=%d load_avg=%s..%s %s\n",
		strings.ReplaceAll(kind, " ", "_"), c.rate, c.users, len(tenants), dbCount(c.tenantsInDB), st.line(elapsed), st.crossTen, st.foreignOK, load0, loadAvg(), cpu)
	var fails []string
	if st.crossTen > 0 || st.foreignOK > 0 {
		fails = append(fails, fmt.Sprintf("ISOLATION FAILURE: %d cross-tenant responses, %d foreign ids answered", st.crossTen, st.foreignOK))
	}
	if st.shedNoRetryAfter > 0 {
		fails = append(fails, fmt.Sprintf("%d shed responses without Retry-After", st.shedNoRetryAfter))
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "; "))
	}
	return nil
}

func dbCount(n int) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.Itoa(n)
}

// workload is the request mix over a set of tenants: ~14 % create, ~6 %
// delete (of items the run created), 5 % probes of another tenant's item id
// (must be 404), 20 % list, the rest get by id. Every answer is checked to
// belong to the caller: an item name carries its owner's slug.
type workload struct {
	c       config
	cl      *client
	tenants []tenantRec
	seeded  [][]string // one item per tenant, made by seed

	mu   sync.Mutex
	mine map[int][]string // items the run created, per tenant (deletes and gets use them)
}

func newWorkload(c config, cl *client, tenants []tenantRec) *workload {
	return &workload{c: c, cl: cl, tenants: tenants, seeded: make([][]string, len(tenants)), mine: map[int][]string{}}
}

// seed gives every tenant one item so reads have something to find; foreign
// probes use other tenants' seeded ids.
func (w *workload) seed() {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, t := range w.tenants {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, b, err := w.cl.do("POST", "/v1/items", t.Key, map[string]any{"name": t.Slug + ":seed", "data": map[string]int{"n": i}})
			var it item
			if err == nil && st == 201 && json.Unmarshal(b, &it) == nil {
				w.seeded[i] = []string{it.ID}
			}
		}()
	}
	wg.Wait()
}

// drive runs the load for d and returns the counts.
func (w *workload) drive(d time.Duration) (*stats, time.Duration) {
	if w.c.rate > 0 {
		return w.openLoop(d)
	}
	return w.closedLoop(d)
}

// closedLoop: each of -users sends its next request when the last one is
// answered; a shed response (503 overloaded) makes it wait Retry-After (plus
// jitter) first, as a well-behaved client does (-honor-retry-after).
func (w *workload) closedLoop(d time.Duration) (*stats, time.Duration) {
	deadline := time.Now().Add(d)
	var total atomic.Int64
	all := make([]*stats, w.c.users)
	var wg sync.WaitGroup
	start := time.Now()
	for u := range w.c.users {
		st := newStats()
		all[u] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(u), uint64(time.Now().UnixNano())))
			for time.Now().Before(deadline) && total.Add(1) <= w.c.maxRequests {
				sent := time.Now()
				r, ok := w.one(rng, st, u)
				if !ok {
					continue
				}
				if st.record(r.status, r.body, r.header, r.err, time.Since(sent)) == shed && w.c.honorRetryAfter {
					// Retry-After plus up to half again, as SDKs jitter:
					// users shed together must not come back together.
					ra := retryAfter(r.header)
					time.Sleep(min(ra+time.Duration(rng.Int64N(int64(ra)/2)), time.Until(deadline)))
				}
			}
		}()
	}
	wg.Wait()
	out := newStats()
	for _, s := range all {
		out.merge(s)
	}
	return out, time.Since(start)
}

// openLoop sends -rate requests per second on a fixed schedule whatever the
// answers, each on its own goroutine (a slow server does not slow the
// offered load down, as it would with a fixed set of users), up to
// -max-outstanding requests in progress; a request that finds that many
// already in progress is not sent and counted as client_limited. Latency is
// from the moment a request was sent; send_lag says how late the tool sent
// it against the schedule (its own CPU starvation).
func (w *workload) openLoop(d time.Duration) (*stats, time.Duration) {
	interval := time.Duration(float64(time.Second) / w.c.rate)
	out := newStats()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var outstanding atomic.Int64
	limited := 0
	start := time.Now()
	n := int(d / interval)
	for i := range n {
		sched := start.Add(time.Duration(i) * interval)
		if wait := time.Until(sched); wait > 0 {
			time.Sleep(wait)
		}
		if outstanding.Load() >= int64(w.c.maxOutstanding) {
			limited++
			continue
		}
		outstanding.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer outstanding.Add(-1)
			rng := rand.New(rand.NewPCG(uint64(i), uint64(sched.UnixNano())))
			st := newStats()
			sent := time.Now()
			r, ok := w.one(rng, st, i)
			if ok {
				st.record(r.status, r.body, r.header, r.err, time.Since(sent))
				st.lag = append(st.lag, sent.Sub(sched))
			}
			mu.Lock()
			out.merge(st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.clientLimited = limited
	return out, time.Since(start)
}

// one sends one request of the mix for a random tenant and checks its
// answer; ok is false when there was nothing to send (a probe with no
// foreign item yet).
func (w *workload) one(rng *rand.Rand, st *stats, u int) (reply, bool) {
	c, cl := w.c, w.cl
	ti := rng.IntN(len(w.tenants))
	t := w.tenants[ti]
	w.mu.Lock()
	ids := append(append([]string(nil), w.mine[ti]...), w.seeded[ti]...)
	w.mu.Unlock()
	op := rng.Float64()
	var r reply
	switch {
	case op < c.writeRatio*0.7:
		r = cl.call("POST", "/v1/items", t.Key, map[string]any{"name": fmt.Sprintf("%s:%d", t.Slug, rng.IntN(1e9)), "data": map[string]any{"u": u}})
		if r.status == 201 {
			var it item
			if json.Unmarshal(r.body, &it) == nil {
				if !strings.HasPrefix(it.Name, t.Slug+":") {
					st.crossTen++
				}
				w.mu.Lock()
				if len(w.mine[ti]) < 20 {
					w.mine[ti] = append(w.mine[ti], it.ID)
				}
				w.mu.Unlock()
			}
		}
	case op < c.writeRatio && len(ids) > len(w.seeded[ti]):
		w.mu.Lock()
		m := w.mine[ti]
		if len(m) == 0 {
			w.mu.Unlock()
			return reply{}, false
		}
		id := m[len(m)-1]
		w.mine[ti] = m[:len(m)-1]
		w.mu.Unlock()
		r = cl.call("DELETE", "/v1/items/"+id, t.Key, nil)
	case op < c.writeRatio+0.05 && len(w.tenants) > 1:
		// foreign probe: another tenant's id must be 404
		oi := (ti + 1 + rng.IntN(len(w.tenants)-1)) % len(w.tenants)
		if len(w.seeded[oi]) == 0 {
			return reply{}, false
		}
		r = cl.call("GET", "/v1/items/"+w.seeded[oi][0], t.Key, nil)
		if r.err == nil && r.status != 404 && r.status != 429 && r.status != 503 {
			st.foreignOK++
		}
	case op < 0.4 || len(ids) == 0:
		r = cl.call("GET", "/v1/items", t.Key, nil)
		if r.status == 200 {
			var l struct{ Items []item }
			if json.Unmarshal(r.body, &l) == nil {
				for _, it := range l.Items {
					if !strings.HasPrefix(it.Name, t.Slug+":") {
						st.crossTen++
					}
				}
			}
		}
	default:
		r = cl.call("GET", "/v1/items/"+ids[rng.IntN(len(ids))], t.Key, nil)
		if r.status == 200 {
			var it item
			if json.Unmarshal(r.body, &it) == nil && !strings.HasPrefix(it.Name, t.Slug+":") {
				st.crossTen++
			}
		}
	}
	return r, true
}
