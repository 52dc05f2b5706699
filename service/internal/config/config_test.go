package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"REDIS_TLS": "maybe", "LOG_LEVEL": "loud", "STRIPE_WEBHOOK_SECRET": "nope",
		"SNS_TOPIC_ARN": "topic", "HEARTBEAT_URL": "http://x", "TIER_LIMITS": "gold=rate:1",
		"DATABASE_URL": "postgres://u:hunter2@h/db?x", "ADMIN_TOKEN": "short",
	}))
	if err == nil {
		t.Fatal("want error")
	}
	msg := err.Error()
	for _, name := range []string{"REDIS_ADDR", "ADMIN_TOKEN", "REDIS_TLS", "LOG_LEVEL", "STRIPE_WEBHOOK_SECRET",
		"STRIPE_PRICE_TIERS", "SNS_TOPIC_ARN", "HEARTBEAT_URL", "TIER_LIMITS"} {
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
		"TIER_LIMITS": "enterprise=rate:100000,burst:100000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8080" || c.RedisKeyPrefix != "tenantd:" || c.DBMaxConns != 16 || c.StripePriceTiers["price_a"] != "pro" ||
		len(c.SNSTopicARNs) != 1 || c.TierLimits["enterprise"].RatePerSecond != 100000 || c.TierLimits["free"].RatePerSecond != 5 {
		t.Fatalf("%+v", c)
	}
}
