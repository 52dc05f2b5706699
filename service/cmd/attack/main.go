// Command attack replays the memory and CPU attacks of issue 15 against a
// local tenantd and reports what they cost the process: resident memory
// (VmRSS, and VmHWM, the peak) and CPU time, read from /proc/<pid>, plus the
// latency of valid traffic during a bad-key flood. It only targets loopback
// URLs and stops by itself. service/scripts/attack-rss.sh runs it against a
// build from before the fixes and one from this checkout, side by side.
//
//	attack -url http://127.0.0.1:18080 -pid $(pgrep -f 'tenantd serve') -phases methods,amplify,badkeys
//
// Phases:
//   - methods: requests with made-up methods and random paths, no
//     credentials (each made-up method was a new metric series).
//   - amplify: one pro tenant stores plain maximal items, then bodies of
//     64 KiB of 1e300 (jsonb stores them ~50x larger); then parallel clients
//     list its items, following next_cursor when the server gives one.
//   - badkeys: valid traffic alone (open loop, fixed rate), then with a
//     flood of random well-formed keys from many loopback source addresses,
//     then the flood alone; p50/p99 of the valid requests and the CPU of
//     tenantd and PostgreSQL in each part.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantco/platform/service/internal/procfs"
)

type config struct {
	url, admin, phases                   string
	pid, pgPID                           int
	methods, concurrency                 int
	plain, amplified, listers, listRound int
	floodRate, floodAddrs, validRate     int
	phaseDur                             time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "tenantd base URL (loopback only)")
	flag.StringVar(&c.admin, "admin-token", os.Getenv("ADMIN_TOKEN"), "admin token (default $ADMIN_TOKEN)")
	flag.IntVar(&c.pid, "pid", 0, "tenantd's process id (memory and CPU are read from /proc/<pid>)")
	flag.IntVar(&c.pgPID, "pg-pid", 0, "optional: PostgreSQL postmaster pid; the CPU of its children is reported too")
	flag.StringVar(&c.phases, "phases", "methods,amplify,badkeys", "phases to run, in order")
	flag.IntVar(&c.methods, "methods", 20000, "methods: requests with made-up methods")
	flag.IntVar(&c.concurrency, "concurrency", 8, "methods: concurrent clients")
	flag.IntVar(&c.plain, "plain", 40, "amplify: plain items of 64 KiB stored first")
	flag.IntVar(&c.amplified, "amplified", 50, "amplify: 64 KiB bodies of 1e300 sent")
	flag.IntVar(&c.listers, "listers", 4, "amplify: parallel list clients")
	flag.IntVar(&c.listRound, "list-rounds", 1, "amplify: full listings per client")
	flag.IntVar(&c.floodRate, "flood-rate", 2000, "badkeys: random keys per second")
	flag.IntVar(&c.floodAddrs, "flood-addrs", 200, "badkeys: loopback source addresses the flood comes from (127.0.2.x...)")
	flag.IntVar(&c.validRate, "valid-rate", 300, "badkeys: valid requests per second (open loop)")
	flag.DurationVar(&c.phaseDur, "phase", 15*time.Second, "badkeys: length of each part (max 2m)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	u, err := url.Parse(c.url)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("-url %q: want http://loopback:port", c.url)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-url host %s is not a loopback IP; attack only targets this machine", u.Hostname())
	}
	if c.pid <= 0 || c.admin == "" {
		return errors.New("-pid and -admin-token (or ADMIN_TOKEN) are required")
	}
	c.phaseDur = min(c.phaseDur, 2*time.Minute)
	a := &attacker{c: c, base: strings.TrimRight(c.url, "/"), http: client("")}
	a.report("start")
	for _, ph := range strings.Split(c.phases, ",") {
		var err error
		switch strings.TrimSpace(ph) {
		case "methods":
			err = a.methods()
		case "amplify":
			err = a.amplify()
		case "badkeys":
			err = a.badkeys()
		default:
			err = fmt.Errorf("unknown phase %q", ph)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type attacker struct {
	c    config
	base string
	http *http.Client
}

// client returns an HTTP client whose connections leave from local address
// src ("" for any).
func client(src string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
}

func (a *attacker) do(cl *http.Client, method, path, token string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := cl.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (a *attacker) report(phase string, extra ...any) {
	rss, hwm, err := procfs.Memory(a.c.pid)
	if err != nil {
		rss, hwm = -1, -1 // tenantd is gone: the report says so rather than 0
	}
	fmt.Printf("RESULT phase=%s rss_mib=%.1f hwm_mib=%.1f", phase, float64(rss)/1024, float64(hwm)/1024)
	for i := 0; i+1 < len(extra); i += 2 {
		fmt.Printf(" %v=%v", extra[i], extra[i+1])
	}
	fmt.Println()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- phases ----

func (a *attacker) methods() error {
	var next atomic.Int64
	var wg sync.WaitGroup
	codes := newCodes()
	start := time.Now()
	for range a.c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(a.c.methods) {
				tag := strings.ToUpper(randHex(5))
				st, _, err := a.do(a.http, "X"+tag, "/v1/items/"+strings.ToLower(tag), "", nil)
				codes.add(st, err)
			}
		}()
	}
	wg.Wait()
	st, body, err := a.do(a.http, "GET", "/metrics", "", nil)
	if err != nil || st != 200 {
		return fmt.Errorf("scrape /metrics: %d %v", st, err)
	}
	a.report("methods", "requests", a.c.methods, "elapsed", time.Since(start).Round(time.Millisecond),
		"metrics_kib", len(body)>>10, "codes", codes)
	return nil
}

func (a *attacker) onboard(slug string) (string, error) {
	st, b, err := a.do(a.http, "POST", "/v1/tenants", a.c.admin, []byte(fmt.Sprintf(`{"slug":%q,"tier":"pro"}`, slug)))
	if err != nil || st != 201 {
		return "", fmt.Errorf("onboard %s: %d %s %v", slug, st, b, err)
	}
	var c struct {
		Key string `json:"api_key"`
	}
	return c.Key, json.Unmarshal(b, &c)
}

func (a *attacker) amplify() error {
	key, err := a.onboard("amp-" + randHex(4))
	if err != nil {
		return err
	}
	plain := []byte(`{"name":"plain","data":"` + strings.Repeat("x", 64<<10-200) + `"}`)
	amp := []byte(`{"name":"amp","data":[` + strings.TrimSuffix(strings.Repeat("1e300,", 10600), ",") + `]}`)
	stored := newCodes()
	for i := range a.c.plain + a.c.amplified {
		body := plain
		if i >= a.c.plain {
			body = amp
		}
		st, _, err := a.do(a.http, "POST", "/v1/items", key, body)
		stored.add(st, err)
	}
	a.report("amplify-store", "plain", a.c.plain, "amplified_sent", a.c.amplified, "codes", stored)
	var wg sync.WaitGroup
	var maxBody, pages atomic.Int64
	lists := newCodes()
	start := time.Now()
	for range a.c.listers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := client("")
			for range a.c.listRound {
				cursor := ""
				for p := 0; p < 1000; p++ {
					st, b, err := a.do(cl, "GET", "/v1/items?limit=200&cursor="+url.QueryEscape(cursor), key, nil)
					lists.add(st, err)
					pages.Add(1)
					for n := int64(len(b)); ; {
						m := maxBody.Load()
						if n <= m || maxBody.CompareAndSwap(m, n) {
							break
						}
					}
					var page struct {
						Next string `json:"next_cursor"`
					}
					if st != 200 || json.Unmarshal(b, &page) != nil || page.Next == "" {
						break
					}
					cursor = page.Next
				}
			}
		}()
	}
	wg.Wait()
	a.report("amplify-list", "listers", a.c.listers, "pages", pages.Load(), "largest_response_kib", maxBody.Load()>>10,
		"elapsed", time.Since(start).Round(time.Millisecond), "codes", lists)
	return nil
}

func (a *attacker) badkeys() error {
	var keys, paths []string
	for range 20 {
		k, err := a.onboard("valid-" + randHex(4))
		if err != nil {
			return err
		}
		st, b, err := a.do(a.http, "POST", "/v1/items", k, []byte(`{"name":"seed","data":{"n":1}}`))
		var it struct{ ID string }
		if err != nil || st != 201 || json.Unmarshal(b, &it) != nil {
			return fmt.Errorf("seed item: %d %s %v", st, b, err)
		}
		keys, paths = append(keys, k), append(paths, "/v1/items/"+it.ID)
	}
	part := func(name string, valid, flood bool) {
		ctx, cancel := context.WithTimeout(context.Background(), a.c.phaseDur)
		defer cancel()
		hist0 := a.serverHist()
		cpu0, pg0, t0 := procfs.CPUTicks(a.c.pid, false), int64(0), time.Now()
		if a.c.pgPID > 0 {
			pg0 = procfs.CPUTicks(a.c.pgPID, true)
		}
		var wg sync.WaitGroup
		floodCodes, validCodes := newCodes(), newCodes()
		var lat []time.Duration
		if flood {
			wg.Add(1)
			go func() { defer wg.Done(); a.flood(ctx, floodCodes) }()
		}
		if valid {
			wg.Add(1)
			go func() { defer wg.Done(); lat = a.valid(ctx, keys, paths, validCodes) }()
		}
		wg.Wait()
		el := time.Since(t0).Seconds()
		extra := []any{"tenantd_cpu", fmt.Sprintf("%.2f", float64(procfs.CPUTicks(a.c.pid, false)-cpu0)/procfs.ClockTicks/el)}
		if a.c.pgPID > 0 {
			extra = append(extra, "postgres_cpu", fmt.Sprintf("%.2f", float64(procfs.CPUTicks(a.c.pgPID, true)-pg0)/procfs.ClockTicks/el))
		}
		if valid {
			extra = append(extra, "valid_rate", a.c.validRate, "valid_client", summary(lat),
				"valid_server", histSummary(hist0, a.serverHist()), "valid_codes", validCodes)
		}
		if flood {
			extra = append(extra, "flood_rate", a.c.floodRate, "flood_codes", floodCodes)
		}
		a.report(name, extra...)
	}
	part("badkeys-valid-only", true, false)
	part("badkeys-valid-and-flood", true, true)
	part("badkeys-flood-only", false, true)
	return nil
}

// valid sends validRate requests/s, each a tenant reading its own item
// (open loop: latency counts from each request's scheduled time, so queueing
// on either side shows) until ctx ends, and returns the latencies. The route
// is not the flood's, so tenantd's own histogram for it (valid_server)
// separates the server's time from this client's.
func (a *attacker) valid(ctx context.Context, keys, paths []string, codes *codes) []time.Duration {
	cl := client("")
	var mu sync.Mutex
	var lat []time.Duration
	a.paced(ctx, a.c.validRate, func(i int, sched time.Time) {
		st, _, err := a.do(cl, "GET", paths[i%len(paths)], keys[i%len(keys)], nil)
		if ctx.Err() != nil {
			return
		}
		d := time.Since(sched)
		codes.add(st, err)
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	})
	return lat
}

// paced calls f rate times a second, each in its own goroutine (at most 512
// at once), until ctx ends.
func (a *attacker) paced(ctx context.Context, rate int, f func(i int, sched time.Time)) {
	interval := time.Second / time.Duration(max(1, rate))
	sem := make(chan struct{}, 512)
	var wg sync.WaitGroup
	next := time.Now()
	for i := 0; ; i++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		sched := next
		next = next.Add(interval)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i, sched)
		}()
	}
	wg.Wait()
}

// flood sends random well-formed keys at floodRate/s, round-robin over
// floodAddrs loopback source addresses, until ctx ends.
func (a *attacker) flood(ctx context.Context, codes *codes) {
	clients := make([]*http.Client, a.c.floodAddrs)
	for i := range clients {
		clients[i] = client(fmt.Sprintf("127.0.%d.%d", 2+i/254, 1+i%254))
	}
	a.paced(ctx, a.c.floodRate, func(i int, _ time.Time) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		key := "tk_" + base64.RawURLEncoding.EncodeToString(b) // well-formed, unknown
		st, _, err := a.do(clients[i%len(clients)], "GET", "/v1/items", key, nil)
		if ctx.Err() == nil {
			codes.add(st, err)
		}
	})
}

// serverHist reads tenantd's latency histogram for GET /v1/items/{id}:
// upper bound (seconds) → cumulative count.
func (a *attacker) serverHist() map[float64]float64 {
	out := map[float64]float64{}
	_, b, err := a.do(a.http, "GET", "/metrics", "", nil)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `route="/v1/items/{id}"`) || !strings.Contains(line, `method="GET"`) {
			continue
		}
		i := strings.Index(line, `le="`)
		if !strings.HasPrefix(line, "tenantd_http_request_duration_seconds_bucket{") || i < 0 {
			continue
		}
		le, rest, _ := strings.Cut(line[i+4:], `"`)
		f := strings.Fields(rest)
		n, _ := strconv.ParseFloat(f[len(f)-1], 64)
		bound, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			bound, err = 1e9, nil
		}
		if err == nil {
			out[bound] = n
		}
	}
	return out
}

// histSummary estimates p50 and p99 from the difference of two cumulative
// histograms (linear within a bucket, as Prometheus' histogram_quantile).
func histSummary(before, after map[float64]float64) string {
	var bounds []float64
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return "n=0"
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	q := func(p float64) string {
		rank := p * total
		lo, prev := 0.0, 0.0
		for _, b := range bounds {
			c := after[b] - before[b]
			if c >= rank {
				if b >= 1e9 {
					return fmt.Sprintf(">%.0fms", lo*1000)
				}
				frac := 0.0
				if c > prev {
					frac = (rank - prev) / (c - prev)
				}
				return fmt.Sprintf("%.2fms", (lo+(b-lo)*frac)*1000)
			}
			lo, prev = b, c
		}
		return "?"
	}
	return fmt.Sprintf("n=%.0f,p50=%s,p99=%s", total, q(.5), q(.99))
}

// ---- bookkeeping ----

type codes struct {
	mu sync.Mutex
	m  map[string]int
}

func newCodes() *codes { return &codes{m: map[string]int{}} }

func (c *codes) add(status int, err error) {
	k := strconv.Itoa(status)
	if err != nil {
		k = "net_error"
	}
	c.mu.Lock()
	c.m[k]++
	c.mu.Unlock()
}

func (c *codes) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ks []string
	for k := range c.m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s:%d", k, c.m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func summary(lat []time.Duration) string {
	if len(lat) == 0 {
		return "n=0"
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) string {
		return fmt.Sprintf("%.2fms", float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds())/1000)
	}
	return "p50=" + p(.5) + ",p99=" + p(.99)
}
