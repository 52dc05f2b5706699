// Command loadtest drives a local tenantd: it onboards tenants through the
// admin API and runs concurrent users doing item reads and writes, checking
// that every response belongs to the caller. It only talks to loopback
// addresses and stops by itself (duration and request caps).
//
//	loadtest -url http://127.0.0.1:8080 -tenants 1000 -users 100 -duration 20s
//	loadtest -mode onboard -existing 10000 -samples 200
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type tenantRec struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Key  string `json:"api_key"`
}

type config struct {
	url, admin, tier, state, mode, prefix string
	tenants, users, existing, samples     int
	duration                              time.Duration
	maxRequests                           int64
	writeRatio                            float64
	rate                                  float64
	onboardWorkers                        int
	databaseURL                           string
	dbTenants                             int
	tenantsInDB                           int // read from the database at start (-1: not known)
	warmup                                time.Duration
	watch                                 string
	honorRetryAfter                       bool
	maxOutstanding                        int
	timeout                               time.Duration
	cpuProfile                            string
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "tenantd base URL (loopback only)")
	flag.StringVar(&c.admin, "admin-token", os.Getenv("ADMIN_TOKEN"), "admin token (default $ADMIN_TOKEN)")
	flag.StringVar(&c.mode, "mode", "load", "load: users over tenants; onboard: onboarding latency at a tenant count; rolecache: PostgreSQL's cost of a tenant switch (SET ROLE) at the database's tenant count")
	flag.StringVar(&c.tier, "tier", "enterprise", "tier of the tenants created")
	flag.StringVar(&c.state, "state", "", "file keeping created tenants (JSON lines) so later runs reuse them")
	flag.StringVar(&c.prefix, "prefix", "lt", "slug prefix of created tenants")
	flag.IntVar(&c.tenants, "tenants", 100, "tenants to drive (created when missing)")
	flag.IntVar(&c.users, "users", 10, "concurrent users of the closed loop (-rate ignores it)")
	flag.DurationVar(&c.duration, "duration", 15*time.Second, "load duration (max 10m)")
	flag.Int64Var(&c.maxRequests, "max-requests", 5_000_000, "stop after this many requests")
	flag.Float64Var(&c.writeRatio, "write-ratio", 0.2, "share of requests that create or delete items")
	flag.Float64Var(&c.rate, "rate", 0, "load mode: total requests/s spread over the users (open loop: requests leave on schedule whatever the answers; how late the tool itself sent them is reported as send_lag); 0: closed loop, each user sends as fast as it gets answers")
	flag.IntVar(&c.existing, "existing", 0, "onboard mode: grow to this many tenants before sampling")
	flag.IntVar(&c.samples, "samples", 100, "onboard mode: onboardings measured one at a time")
	flag.IntVar(&c.onboardWorkers, "onboard-workers", 4, "concurrent onboardings while growing")
	flag.StringVar(&c.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "tenantd's database (loopback only; default $DATABASE_URL): the tool reads the tenant count from it and, with -db-tenants, onboards tenants directly")
	flag.DurationVar(&c.warmup, "warmup", 0, "load mode: run the same load this long first, not counted (fills caches and prepared statements)")
	flag.StringVar(&c.watch, "watch", "", "load mode: name=pid[+],... processes whose CPU per request and peak RSS are reported ('+': with child processes, e.g. the PostgreSQL postmaster)")
	flag.IntVar(&c.maxOutstanding, "max-outstanding", 10000, "open loop: requests in progress at most; a request due beyond that is not sent (counted as client_limited)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "client timeout of one request (then counted as a net error)")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write the tool's own CPU profile to this file (the tool shares the cores it measures)")
	flag.BoolVar(&c.honorRetryAfter, "honor-retry-after", true, "closed loop: after a shed response (503 overloaded) a user waits its Retry-After before the next request")
	flag.IntVar(&c.dbTenants, "db-tenants", 0, "make the database hold this many active tenants before anything else, onboarding the missing ones directly with the service's own onboarding code (fast: 10,000 in well under a minute); 0: leave it")
	flag.Parse()
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadtest: -cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(c); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url %q is not an http URL", raw)
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("-url host %s is not a loopback address; loadtest only targets this machine", u.Hostname())
		}
	}
	return nil
}

func run(c config) error {
	if err := loopbackOnly(c.url); err != nil {
		return err
	}
	if c.duration > 10*time.Minute {
		c.duration = 10 * time.Minute
	}
	if c.admin == "" {
		return errors.New("-admin-token or ADMIN_TOKEN is required")
	}
	// Idle connections are kept up to the most that can be in use at once,
	// so the tool never closes one only to dial another (connection churn
	// costs the server more than the requests).
	idle := c.users + 64
	if c.rate > 0 {
		idle = c.maxOutstanding + 64
	}
	cl := &client{base: strings.TrimRight(c.url, "/"), admin: c.admin, http: &http.Client{
		Timeout:   c.timeout,
		Transport: &http.Transport{MaxIdleConns: idle, MaxIdleConnsPerHost: idle, IdleConnTimeout: time.Minute},
	}}
	tenants, err := loadState(c.state)
	if err != nil {
		return err
	}
	c.tenantsInDB = -1
	if c.dbTenants > 0 {
		made, n, err := ensureDBTenants(context.Background(), c, c.dbTenants)
		if err2 := saveState(c.state, made); err == nil {
			err = err2
		}
		if err != nil {
			return err
		}
		tenants = append(tenants, made...)
		c.tenantsInDB = n
	} else if c.databaseURL != "" {
		if c.tenantsInDB, err = countDBTenants(context.Background(), c.databaseURL); err != nil {
			return err
		}
	}
	switch c.mode {
	case "rolecache":
		return roleCacheMode(c)
	case "onboard":
		return onboardMode(c, cl, tenants)
	case "load":
		if len(tenants) < c.tenants {
			fmt.Printf("onboarding %d tenants...\n", c.tenants-len(tenants))
			more, _, err := grow(c, cl, c.tenants-len(tenants), len(tenants))
			tenants = append(tenants, more...)
			if err2 := saveState(c.state, more); err == nil {
				err = err2
			}
			if err != nil {
				return err
			}
		}
		return loadMode(c, cl, tenants[:c.tenants])
	}
	return fmt.Errorf("unknown -mode %q", c.mode)
}

// ---- HTTP ----

type client struct {
	base, admin string
	http        *http.Client
}

// reply is one HTTP exchange as the load loop sees it.
type reply struct {
	status int
	body   []byte
	header http.Header
	err    error
}

func (c *client) do(method, path, token string, body any) (int, []byte, error) {
	r := c.call(method, path, token, body)
	return r.status, r.body, r.err
}

func (c *client) call(method, path, token string, body any) reply {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, body: b, header: res.Header, err: err}
}

func (c *client) onboard(slug, tier string) (tenantRec, time.Duration, error) {
	start := time.Now()
	st, b, err := c.do("POST", "/v1/tenants", c.admin, map[string]string{"slug": slug, "tier": tier})
	d := time.Since(start)
	if err != nil {
		return tenantRec{}, d, err
	}
	if st != 201 {
		return tenantRec{}, d, fmt.Errorf("onboard %s: %d %s", slug, st, b)
	}
	var t tenantRec
	err = json.Unmarshal(b, &t)
	return t, d, err
}

// ---- state ----

func loadState(path string) ([]tenantRec, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []tenantRec
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var t tenantRec
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

func saveState(path string, ts []tenantRec) error {
	if path == "" || len(ts) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	for _, t := range ts {
		b, _ := json.Marshal(t)
		w.Write(append(b, '\n'))
	}
	return w.Flush()
}

// grow onboards n tenants with a few workers and returns their latencies.
func grow(c config, cl *client, n, offset int) ([]tenantRec, []time.Duration, error) {
	var mu sync.Mutex
	var out []tenantRec
	var lat []time.Duration
	var firstErr error
	next := atomic.Int64{}
	run := fmt.Sprintf("%x", rand.Uint32())
	var wg sync.WaitGroup
	for range max(1, c.onboardWorkers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t, d, err := cl.onboard(fmt.Sprintf("%s-%s-%d", c.prefix, run, offset+i), c.tier)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				out = append(out, t)
				lat = append(lat, d)
				if len(out)%1000 == 0 {
					fmt.Printf("  %d onboarded\n", len(out))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, lat, firstErr
}

func onboardMode(c config, cl *client, tenants []tenantRec) error {
	if c.existing > len(tenants) {
		fmt.Printf("growing from %d to %d tenants with %d workers...\n", len(tenants), c.existing, c.onboardWorkers)
		start := time.Now()
		more, lat, err := grow(c, cl, c.existing-len(tenants), len(tenants))
		if err2 := saveState(c.state, more); err == nil {
			err = err2
		}
		if err != nil {
			return err
		}
		tenants = append(tenants, more...)
		fmt.Printf("grew in %s (%s)\n", time.Since(start).Round(time.Millisecond), summary(lat))
	}
	fmt.Printf("measuring %d sequential onboardings with %d existing tenants...\n", c.samples, len(tenants))
	run := fmt.Sprintf("%x", rand.Uint32())
	var lat []time.Duration
	var made []tenantRec
	for i := range c.samples {
		t, d, err := cl.onboard(fmt.Sprintf("%s-s%s-%d", c.prefix, run, i), c.tier)
		if err != nil {
			return err
		}
		lat = append(lat, d)
		made = append(made, t)
	}
	fmt.Printf("RESULT onboarding existing=%d samples=%d %s\n", len(tenants), c.samples, summary(lat))
	return saveState(c.state, made)
}

func summary(lat []time.Duration) string {
	if len(lat) == 0 {
		return "n=0"
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("p50=%s p95=%s p99=%s max=%s", ms(p(.50)), ms(p(.95)), ms(p(.99)), ms(lat[len(lat)-1]))
}
