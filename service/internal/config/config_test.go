package config

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"REDIS_TLS": "maybe", "LOG_LEVEL": "loud", "STRIPE_WEBHOOK_SECRET": "nope",
		"SNS_TOPIC_ARN": "topic", "HEARTBEAT_URL": "http://x", "TIER_LIMITS": "gold=rate:1",
		"DATABASE_URL": "postgres://u:hunter2@h/db?x", "ADMIN_TOKEN": "short", "PPROF_ADDR": "0.0.0.0:6060",
		"AUTH_FAILURE_LIMITS": "address=rate:0", "TRUSTED_PROXY_HOPS": "-1", "SNS_BUDGET_NAME": "platform:dev",
		"MAX_IN_FLIGHT": "0", "ADMISSION_MAX_WAIT": "forever", "MAX_CONNECTIONS": "3",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, name := range []string{"REDIS_ADDR", "ADMIN_TOKEN", "REDIS_TLS", "LOG_LEVEL", "STRIPE_WEBHOOK_SECRET",
		"STRIPE_PRICE_TIERS", "SNS_TOPIC_ARN", "SNS_BUDGET_NAME", "HEARTBEAT_URL", "TIER_LIMITS", "PPROF_ADDR", "AUTH_FAILURE_LIMITS", "TRUSTED_PROXY_HOPS",
		"MAX_IN_FLIGHT", "ADMISSION_MAX_WAIT", "MAX_CONNECTIONS"} {
		if !strings.Contains(msg, name+":") {
			t.Errorf("error does not name %s:\n%s", name, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Error("error leaks the database password")
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL": "postgres://tenantd@db/app", "REDIS_ADDR": "r:6379",
		"ADMIN_TOKEN": strings.Repeat("a", 32), "STRIPE_WEBHOOK_SECRET": "whsec_x",
		"STRIPE_PRICE_TIERS": "price_a=pro, price_b=starter", "SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:budget-alerts",
		"TIER_LIMITS": "enterprise=rate:100000,burst:100000", "SNS_BUDGET_NAME": "platform-dev",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8080" || c.RedisKeyPrefix != "tenantd:" || c.DBMaxConns != 16 || c.StripePriceTiers["price_a"] != "pro" ||
		len(c.SNSTopicARNs) != 1 || c.TierLimits["enterprise"].RatePerSecond != 100000 || c.TierLimits["free"].RatePerSecond != 5 ||
		c.AuthFailureLimits != tenant.DefaultAuthFailureLimits() || c.TrustedProxyHops != 0 || c.SNSBudgetName != "platform-dev" ||
		c.MaxInFlight != 0 || c.AdmissionMaxWait != 100*time.Millisecond || c.MaxConnections != 2048 {
		t.Fatalf("%+v", c)
	}
}

func TestLoadPprofAddr(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://tenantd@db/app", "REDIS_ADDR": "r:6379", "ADMIN_TOKEN": strings.Repeat("a", 32)}
	for addr, ok := range map[string]bool{
		"": true, "127.0.0.1:6060": true, "localhost:6060": true, "[::1]:6060": true, "127.0.0.2:6060": true,
		"0.0.0.0:6060": false, ":6060": false, "10.0.0.1:6060": false, "127.0.0.1": false, "127.0.0.1:0": false,
		"127.0.0.1:http": false, "localhost.example.com:6060": false,
	} {
		m := map[string]string{"PPROF_ADDR": addr}
		for k, v := range base {
			m[k] = v
		}
		c, err := Load(env(m))
		if ok && (err != nil || c.PprofAddr != addr) {
			t.Errorf("PPROF_ADDR=%q refused: %v", addr, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "PPROF_ADDR:")) {
			t.Errorf("PPROF_ADDR=%q accepted (err %v)", addr, err)
		}
	}
}

func TestLoadAdmission(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://tenantd@db/app", "REDIS_ADDR": "r:6379", "ADMIN_TOKEN": strings.Repeat("a", 32)}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	c, err := Load(env(with("MAX_IN_FLIGHT", "64")))
	if err != nil || c.MaxInFlight != 64 {
		t.Fatalf("MAX_IN_FLIGHT=64: %+v %v", c.MaxInFlight, err)
	}
	c, err = Load(env(with("ADMISSION_MAX_WAIT", "0s")))
	if err != nil || c.AdmissionMaxWait != 0 {
		t.Fatalf("ADMISSION_MAX_WAIT=0s: %v %v", c.AdmissionMaxWait, err)
	}
	for _, bad := range []struct{ k, v string }{{"MAX_IN_FLIGHT", "-1"}, {"MAX_IN_FLIGHT", "10001"}, {"MAX_IN_FLIGHT", "many"}, {"ADMISSION_MAX_WAIT", "11s"}, {"ADMISSION_MAX_WAIT", "-1ms"}, {"MAX_CONNECTIONS", "15"}, {"MAX_CONNECTIONS", "lots"}} {
		if _, err := Load(env(with(bad.k, bad.v))); err == nil || !strings.Contains(err.Error(), bad.k+":") {
			t.Errorf("%s=%s: want an error naming %s, got %v", bad.k, bad.v, bad.k, err)
		}
	}
}
