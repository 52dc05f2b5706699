package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
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
	// wrapLimiter, when set, wraps the real Redis limiter (e.g. to record
	// each decision's time for the GCRA check).
	wrapLimiter func(tenant.RateLimiter) tenant.RateLimiter
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
	t       testing.TB
	URL     string
	tdb     *testenv.DB
	db      *postgres.DB
	tenants *postgres.TenantService
	rdb     *goredis.Client
	breaker *tredis.Breaker
	client  *http.Client
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	tdb := testenv.NewDatabase(t)
	_, prefix := testenv.Redis(t) // fresh prefix, cleaned up
	addr := o.redisAddr
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
	db, err := postgres.Open(ctx, tdb.AppURL, postgres.Options{MaxConns: o.maxConns, Logger: log})
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
	e := &env{t: t, tdb: tdb, db: db, rdb: rdb, tenants: postgres.NewTenantService(db, adminToken),
		breaker: tredis.NewBreaker(rdb, prefix)}
	e.breaker.TTL = 0 // tests change the level and expect the next request to see it
	var limiter tenant.RateLimiter = tredis.NewRateLimiter(rdb, prefix)
	if o.wrapLimiter != nil {
		limiter = o.wrapLimiter(limiter)
	}
	var items tenant.ItemService = postgres.NewItemService(db)
	if o.wrapItems != nil {
		items = o.wrapItems(items)
	}
	srv := &thttp.Server{
		Tenants: e.tenants, Items: items, Admission: adm,
		Limiter: limiter, Breaker: e.breaker,
		Limits: lim, AdminToken: adminToken, StripeSecret: o.stripe, PriceTiers: o.priceTiers, SNS: o.sns,
		Logger: srvLog,
		Ready: func(ctx context.Context) map[string]error {
			return map[string]error{"postgres": db.Ping(ctx), "redis": rdb.Ping(ctx).Err()}
		},
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
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
