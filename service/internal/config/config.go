// Package config reads tenantd's configuration from environment variables and
// validates all of it at once. Every variable is documented in
// service/README.md with its default.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// Config is tenantd's validated configuration.
type Config struct {
	DatabaseURL       string
	DBMaxConns        int32
	DBMaxConnLifetime time.Duration
	RedisAddr         string
	RedisPassword     string
	RedisTLS          bool
	RedisKeyPrefix    string
	AdminToken        string
	ListenAddr        string
	StripeSecret      string
	StripePriceTiers  map[string]tenant.Tier
	SNSTopicARNs      []string
	SNSBudgetName     string
	HeartbeatURL      string
	LogLevel          slog.Level
	TierLimits        map[tenant.Tier]tenant.Limits
	RetentionDir      string
	// PprofAddr is the loopback address of the opt-in pprof listener; empty: off.
	PprofAddr         string
	AuthFailureLimits tenant.AuthFailureLimits
	TrustedProxyHops  int
	// MaxInFlight bounds the API requests worked on at once (admission
	// control); 0 means derived from DBMaxConns (half of it).
	MaxInFlight int
	// AdmissionMaxWait is the longest an API request waits for a slot
	// before it is refused with 503 overloaded.
	AdmissionMaxWait time.Duration
	// MaxConnections bounds the client connections served at once; one
	// more is answered 503 overloaded and closed (memory per connection).
	MaxConnections int
}

var topicRE = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)

// Load reads the environment through getenv (os.Getenv in production) and
// returns every problem at once, each naming the variable and the fix.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DatabaseURL:    get("DATABASE_URL", ""),
		RedisAddr:      get("REDIS_ADDR", ""),
		RedisPassword:  getenv("REDIS_PASSWORD"),
		RedisKeyPrefix: get("REDIS_KEY_PREFIX", "tenantd:"),
		AdminToken:     getenv("ADMIN_TOKEN"),
		ListenAddr:     get("LISTEN_ADDR", ":8080"),
		StripeSecret:   get("STRIPE_WEBHOOK_SECRET", ""),
		HeartbeatURL:   get("HEARTBEAT_URL", ""),
		RetentionDir:   get("RETENTION_DIR", ""),
		PprofAddr:      get("PPROF_ADDR", ""),
	}

	if c.DatabaseURL == "" {
		bad("DATABASE_URL", "required; set it to postgres://tenantd@host:5432/dbname?sslmode=verify-full")
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("DATABASE_URL", "must be a postgres:// URL") // never echo it: it may hold a password
	}
	if n, err := strconv.Atoi(get("DB_MAX_CONNS", "16")); err != nil || n < 2 || n > 1000 {
		bad("DB_MAX_CONNS", "must be an integer from 2 to 1000 (default 16)")
	} else {
		c.DBMaxConns = int32(n)
	}
	if d, err := time.ParseDuration(get("DB_MAX_CONN_LIFETIME", "10m")); err != nil || d < time.Minute {
		bad("DB_MAX_CONN_LIFETIME", "must be a Go duration of at least 1m (default 10m)")
	} else {
		c.DBMaxConnLifetime = d
	}
	if v := get("MAX_IN_FLIGHT", ""); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 10000 {
			bad("MAX_IN_FLIGHT", "must be an integer from 1 to 10000, or unset for DB_MAX_CONNS/2")
		} else {
			c.MaxInFlight = n
		}
	}
	if n, err := strconv.Atoi(get("MAX_CONNECTIONS", "2048")); err != nil || n < 16 || n > 100000 {
		bad("MAX_CONNECTIONS", "must be an integer from 16 to 100000 (default 2048)")
	} else {
		c.MaxConnections = n
	}
	if d, err := time.ParseDuration(get("ADMISSION_MAX_WAIT", "100ms")); err != nil || d < 0 || d > 10*time.Second {
		bad("ADMISSION_MAX_WAIT", "must be a Go duration from 0s to 10s (default 100ms)")
	} else {
		c.AdmissionMaxWait = d
	}
	if c.RedisAddr == "" {
		bad("REDIS_ADDR", "required; set it to host:port, e.g. 127.0.0.1:6379")
	} else if _, port, ok := strings.Cut(c.RedisAddr, ":"); !ok || port == "" {
		bad("REDIS_ADDR", "must be host:port")
	}
	if v := get("REDIS_TLS", "false"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("REDIS_TLS", "must be true or false (default false)")
		}
		c.RedisTLS = b
	}
	if len(c.AdminToken) < 32 {
		bad("ADMIN_TOKEN", "required, at least 32 characters; generate one with: openssl rand -hex 32")
	}
	if _, port, ok := strings.Cut(c.ListenAddr, ":"); !ok || port == "" {
		bad("LISTEN_ADDR", "must be [host]:port, e.g. :8080")
	}
	if c.StripeSecret != "" && !strings.HasPrefix(c.StripeSecret, "whsec_") {
		bad("STRIPE_WEBHOOK_SECRET", "must be the endpoint's signing secret, starting with whsec_")
	}
	if v := get("STRIPE_PRICE_TIERS", ""); v != "" {
		c.StripePriceTiers = map[string]tenant.Tier{}
		for _, kv := range strings.Split(v, ",") {
			price, tier, ok := strings.Cut(strings.TrimSpace(kv), "=")
			t, err := tenant.ParseTier(tier)
			if !ok || price == "" || err != nil {
				bad("STRIPE_PRICE_TIERS", "entry %q: want price_id=tier with tier one of free, starter, pro, enterprise", kv)
				continue
			}
			c.StripePriceTiers[price] = t
		}
	} else if c.StripeSecret != "" {
		bad("STRIPE_PRICE_TIERS", "required when STRIPE_WEBHOOK_SECRET is set; e.g. price_123=starter,price_456=pro")
	}
	if v := get("SNS_TOPIC_ARN", ""); v != "" {
		for _, arn := range strings.Split(v, ",") {
			arn = strings.TrimSpace(arn)
			if !topicRE.MatchString(arn) {
				bad("SNS_TOPIC_ARN", "%q is not an SNS topic ARN (arn:aws:sns:region:account:name)", arn)
				continue
			}
			c.SNSTopicARNs = append(c.SNSTopicARNs, arn)
		}
	}
	if v := get("SNS_BUDGET_NAME", ""); v != "" {
		if len(v) > 100 || strings.ContainsAny(v, ":\\") || strings.Contains(v, "/action/") {
			bad("SNS_BUDGET_NAME", "%q is not an AWS budget name: 1-100 characters, no colon, no backslash, no /action/", v)
		} else {
			c.SNSBudgetName = v
		}
	}
	if c.HeartbeatURL != "" {
		if u, err := url.Parse(c.HeartbeatURL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("HEARTBEAT_URL", "must be an https:// URL (BetterStack heartbeat) or unset")
		}
	}
	switch strings.ToLower(get("LOG_LEVEL", "info")) {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error (default info)")
	}
	lim, err := tenant.ParseLimits(get("TIER_LIMITS", ""), tenant.DefaultLimits())
	if err != nil {
		bad("TIER_LIMITS", "%v; format tier=rate:N,burst:N,items:N,bytes:N;tier=...", err)
	}
	c.TierLimits = lim
	afl, err := tenant.ParseAuthFailureLimits(get("AUTH_FAILURE_LIMITS", ""), tenant.DefaultAuthFailureLimits())
	if err != nil {
		bad("AUTH_FAILURE_LIMITS", "%v; format address=rate:N,burst:N;global=rate:N,burst:N", err)
	}
	c.AuthFailureLimits = afl
	if n, err := strconv.Atoi(get("TRUSTED_PROXY_HOPS", "0")); err != nil || n < 0 || n > 5 {
		bad("TRUSTED_PROXY_HOPS", "must be an integer from 0 to 5: the proxies in front that append to X-Forwarded-For (1 behind the ALB)")
	} else {
		c.TrustedProxyHops = n
	}
	if c.RetentionDir != "" && !strings.HasPrefix(c.RetentionDir, "/") {
		bad("RETENTION_DIR", "must be an absolute path to a writable volume, or unset to skip retention dumps")
	}
	if c.PprofAddr != "" && !loopbackAddr(c.PprofAddr) {
		bad("PPROF_ADDR", "must be a loopback host:port such as 127.0.0.1:6060 (pprof is never exposed beyond this machine), or unset")
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration (%d problems):\n  %w", len(errs), joinIndented(errs))
	}
	return c, nil
}

// loopbackAddr reports whether addr is host:port with a loopback host
// (localhost or a loopback IP) and a port from 1 to 65535.
func loopbackAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func joinIndented(errs []error) error {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return errors.New(strings.Join(s, "\n  "))
}
