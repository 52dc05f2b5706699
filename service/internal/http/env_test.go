package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	thttp "github.com/tenantco/platform/service/internal/http"
	"github.com/tenantco/platform/service/internal/postgres"
	tredis "github.com/tenantco/platform/service/internal/redis"
	"github.com/tenantco/platform/service/internal/sns"
	"github.com/tenantco/platform/service/internal/tenant"
	"github.com/tenantco/platform/service/internal/testenv"
)

const adminToken = "test-admin-token-0123456789abcdef0123456789"

type envOpts struct {
	limits     string // TIER_LIMITS syntax laid over the defaults
	redisAddr  string // default TEST_REDIS_ADDR
	maxConns   int32
	stripe     string
	priceTiers map[string]tenant.Tier
	sns        *sns.Verifier
	// snsConfirmer confirms subscriptions (the harness's reaches a local
	// HTTPS stand-in for SNS); budgetName is SNS_BUDGET_NAME.
	snsConfirmer *sns.Confirmer
	budgetName   string
	// wrapLimiter, when set, wraps the real Redis limiter (e.g. to record
	// each decision's time for the GCRA check).
	wrapLimiter func(tenant.RateLimiter) tenant.RateLimiter
	// authLimits (AUTH_FAILURE_LIMITS syntax) laid over the defaults.
	authLimits string
	// authCacheTTL is postgres.Options.AuthCacheTTL (negative: no cache).
	authCacheTTL time.Duration
	// wrapTenants, when set, wraps the tenant service (e.g. to count
	// authentications).
	wrapTenants func(tenant.Service) tenant.Service
	// retentionDir, when set, is the offboarding dump directory.
	retentionDir string
	// dbProxy, when set, carries the service's PostgreSQL connections (so a
	// test can take the database away and bring it back).
	dbProxy *tcpProxy
	// replicaOf, when set, makes this server another replica of that one:
	// the same database, Redis and key prefix, its own pools and caches.
	replicaOf *env
	// wrapItems, when set, wraps the real item store (e.g. to hold requests
	// in flight).
	wrapItems func(tenant.ItemService) tenant.ItemService
	// admission sizes the API gate; default: large enough that no test
	// meant for something else is ever shed.
	admission *thttp.Admission
	// logs, when set, receives the server's log (JSON, debug level).
	logs io.Writer
}

type env struct {
	t         testing.TB
	URL       string
	tdb       *testenv.DB
	db        *postgres.DB
	tenants   *postgres.TenantService
	rdb       *goredis.Client
	redisAddr string
	prefix    string
	breaker   *postgres.BreakerStore
	client    *http.Client
	srv       *thttp.Server
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	var tdb *testenv.DB
	var prefix string
	addr := o.redisAddr
	if r := o.replicaOf; r != nil {
		tdb, prefix, addr = r.tdb, r.prefix, r.redisAddr
	} else {
		tdb = testenv.NewDatabase(t)
		_, prefix = testenv.Redis(t) // fresh prefix, cleaned up
	}
	if addr == "" {
		addr = testenv.RedisAddr(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srvLog := log
	if o.logs != nil {
		srvLog = slog.New(slog.NewJSONHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	adm := thttp.Admission{MaxInFlight: 1024, MaxQueue: 1024, MaxWait: time.Minute}
	if o.admission != nil {
		adm = *o.admission
	}
	if o.maxConns == 0 {
		o.maxConns = 8
	}
	dbURL := tdb.AppURL
	if o.dbProxy != nil {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		o.dbProxy.start(t, u.Host)
		u.Host = o.dbProxy.addr
		dbURL = u.String()
	}
	db, err := postgres.Open(ctx, dbURL, postgres.Options{MaxConns: o.maxConns, Logger: log, AuthCacheTTL: o.authCacheTTL})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(db.Close)
	lim, err := tenant.ParseLimits(o.limits, tenant.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	rdb := tredis.Open(tredis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	e := &env{t: t, tdb: tdb, db: db, rdb: rdb, redisAddr: addr, prefix: prefix, tenants: postgres.NewTenantService(db, adminToken),
		breaker: postgres.NewBreakerStore(db)}
	e.tenants.RetentionDir = o.retentionDir
	e.breaker.TTL = 0 // tests change the level and expect the next request to see it
	var limiter tenant.RateLimiter = tredis.NewRateLimiter(rdb, prefix)
	if o.wrapLimiter != nil {
		limiter = o.wrapLimiter(limiter)
	}
	afl, err := tenant.ParseAuthFailureLimits(o.authLimits, tenant.DefaultAuthFailureLimits())
	if err != nil {
		t.Fatal(err)
	}
	var tenants tenant.Service = e.tenants
	if o.wrapTenants != nil {
		tenants = o.wrapTenants(tenants)
	}
	var items tenant.ItemService = postgres.NewItemService(db)
	if o.wrapItems != nil {
		items = o.wrapItems(items)
	}
	srv := &thttp.Server{
		Tenants: tenants, Items: items, AuthFailureLimits: afl, Admission: adm,
		Limiter: limiter, Breaker: e.breaker,
		Limits: lim, AdminToken: adminToken, StripeSecret: o.stripe, PriceTiers: o.priceTiers, SNS: o.sns,
		SNSConfirmer: o.snsConfirmer, BudgetName: o.budgetName,
		Logger: srvLog,
		Ready: func(ctx context.Context) map[string]error {
			return map[string]error{"postgres": db.Ping(ctx), "redis": rdb.Ping(ctx).Err()}
		},
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e.srv = srv
	e.URL = hs.URL
	e.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return e
}

type resp struct {
	Status int
	Body   []byte
	Header http.Header
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) code() string {
	var b struct {
		Error struct{ Code, Field string }
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// do sends a request; body is marshalled unless it is a string or []byte.
func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Body: b, Header: res.Header}
}

func (e *env) onboard(slug string, tier tenant.Tier) tenant.Created {
	e.t.Helper()
	r := e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": slug, "tier": string(tier)})
	if r.Status != 201 {
		e.t.Fatalf("onboard %s: %d %s", slug, r.Status, r.Body)
	}
	var c tenant.Created
	r.json(e.t, &c)
	return c
}

func (e *env) createItem(key, name string, data any) tenant.Item {
	e.t.Helper()
	r := e.do("POST", "/v1/items", key, map[string]any{"name": name, "data": data})
	if r.Status != 201 {
		e.t.Fatalf("create item %q: %d %s", name, r.Status, r.Body)
	}
	var it tenant.Item
	r.json(e.t, &it)
	return it
}

func expect(t testing.TB, r resp, status int, code string) {
	t.Helper()
	if r.Status != status || (code != "" && r.code() != code) {
		t.Fatalf("want %d %s, got %d %s", status, code, r.Status, r.Body)
	}
}

// privateRedis is a redis-server of the test's own, without persistence (as
// ElastiCache restarts), that the test may stop and start again on the same
// port.
type privateRedis struct {
	t    testing.TB
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t testing.TB) *privateRedis {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := &privateRedis{t: t, addr: l.Addr().String(), dir: t.TempDir()}
	l.Close()
	rs.start()
	t.Cleanup(rs.stop)
	return rs
}

// start runs redis-server on rs.addr and waits until it answers.
func (rs *privateRedis) start() {
	rs.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		rs.t.Fatal("redis-server not on PATH: run scripts/test.sh (it installs it)")
	}
	_, port, _ := net.SplitHostPort(rs.addr)
	rs.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", rs.dir)
	if err := rs.cmd.Start(); err != nil {
		rs.t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: rs.addr})
	defer c.Close()
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if i > 200 {
			rs.t.Fatalf("private redis on %s did not start: %v", rs.addr, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop kills redis-server: everything it held is gone.
func (rs *privateRedis) stop() {
	if rs.cmd == nil {
		return
	}
	_ = rs.cmd.Process.Kill()
	_ = rs.cmd.Wait()
	rs.cmd = nil
}

// tcpProxy forwards loopback connections to target. down closes every
// connection and refuses new ones, as a stopped server does; up listens again
// on the same address.
type tcpProxy struct {
	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]struct{}
}

func (p *tcpProxy) start(t testing.TB, target string) {
	p.t, p.target, p.conns = t, target, map[net.Conn]struct{}{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.serve(l)
	t.Cleanup(p.down)
}

func (p *tcpProxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.pipe(c)
		}
	}()
}

func (p *tcpProxy) pipe(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.l == nil { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
	<-done
	c.Close()
	s.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, s)
	p.mu.Unlock()
}

func (p *tcpProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *tcpProxy) up() {
	p.t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen again on %s: %v", p.addr, err)
	}
	p.serve(l)
}

// syncBuffer is a log sink the server and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
