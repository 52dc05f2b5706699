package http_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenantco/platform/service/internal/sns"
	"github.com/tenantco/platform/service/internal/tenant"
)

const stripeSecret = "whsec_test_secret"

func stripeEvent(id, typ, tenantID, customer, status, price string) []byte {
	ev := map[string]any{
		"id": id, "object": "event", "type": typ, "api_version": "2020-08-27", "created": time.Now().Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": "sub_1", "object": "subscription", "status": status, "customer": customer,
			"metadata": map[string]string{"tenant_id": tenantID},
			"items":    map[string]any{"object": "list", "data": []any{map[string]any{"price": map[string]any{"id": price}}}},
		}},
	}
	b, _ := json.Marshal(ev)
	return b
}

func (e *env) postStripe(payload []byte, secret string) resp {
	e.t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
	return e.do("POST", "/v1/billing/stripe", "", sp.Payload, "Stripe-Signature", sp.Header, "Content-Type", "application/json")
}

func TestStripeWebhook(t *testing.T) {
	e := newEnv(t, envOpts{stripe: stripeSecret, priceTiers: map[string]tenant.Tier{"price_pro": "pro", "price_ent": "enterprise"}})
	a := e.onboard("paying", tenant.TierFree)
	limitOf := func() string { return e.do("GET", "/v1/items", a.APIKey, nil).Header.Get("X-RateLimit-Limit") }

	t.Run("bad_signature_refused", func(t *testing.T) {
		r := e.postStripe(stripeEvent("evt_bad", "customer.subscription.created", a.ID, "cus_1", "active", "price_pro"), "whsec_wrong")
		expect(t, r, 400, "invalid")
		r = e.do("POST", "/v1/billing/stripe", "", stripeEvent("evt_bad", "customer.subscription.created", a.ID, "cus_1", "active", "price_pro"))
		expect(t, r, 400, "invalid")
		if limitOf() != "5" {
			t.Fatal("unsigned event changed the tier")
		}
	})
	t.Run("created_maps_price_to_tier_on_next_request", func(t *testing.T) {
		r := e.postStripe(stripeEvent("evt_1", "customer.subscription.created", a.ID, "cus_1", "active", "price_pro"), stripeSecret)
		expect(t, r, 200, "")
		if !strings.Contains(string(r.Body), "applied") || limitOf() != "100" {
			t.Fatalf("%s limit %s", r.Body, limitOf())
		}
	})
	t.Run("duplicate_event_id_is_not_reapplied", func(t *testing.T) {
		expect(t, e.do("PATCH", "/v1/tenants/"+a.ID, adminToken, map[string]string{"tier": "starter"}), 200, "")
		r := e.postStripe(stripeEvent("evt_1", "customer.subscription.created", a.ID, "cus_1", "active", "price_pro"), stripeSecret)
		if r.Status != 200 || !strings.Contains(string(r.Body), "duplicate") || limitOf() != "20" {
			t.Fatalf("%d %s limit %s", r.Status, r.Body, limitOf())
		}
	})
	t.Run("updated_found_by_customer", func(t *testing.T) {
		r := e.postStripe(stripeEvent("evt_2", "customer.subscription.updated", "", "cus_1", "active", "price_ent"), stripeSecret)
		if r.Status != 200 || limitOf() != "1000" {
			t.Fatalf("%d %s limit %s", r.Status, r.Body, limitOf())
		}
	})
	t.Run("deleted_drops_to_free", func(t *testing.T) {
		r := e.postStripe(stripeEvent("evt_3", "customer.subscription.deleted", a.ID, "cus_1", "canceled", "price_ent"), stripeSecret)
		if r.Status != 200 || limitOf() != "5" {
			t.Fatalf("%d %s limit %s", r.Status, r.Body, limitOf())
		}
	})
	t.Run("unknown_price_and_other_events_ignored", func(t *testing.T) {
		r := e.postStripe(stripeEvent("evt_4", "customer.subscription.updated", a.ID, "cus_1", "active", "price_unknown"), stripeSecret)
		if r.Status != 200 || !strings.Contains(string(r.Body), "ignored") || limitOf() != "5" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		r = e.postStripe(stripeEvent("evt_5", "invoice.paid", a.ID, "cus_1", "active", "price_pro"), stripeSecret)
		if r.Status != 200 || limitOf() != "5" {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
	t.Run("event_cannot_reach_offboarded_tenant", func(t *testing.T) {
		b := e.onboard("leaving", tenant.TierFree)
		expect(t, e.do("DELETE", "/v1/tenants/"+b.ID, adminToken, nil), 204, "")
		r := e.postStripe(stripeEvent("evt_6", "customer.subscription.created", b.ID, "cus_2", "active", "price_pro"), stripeSecret)
		expect(t, r, 200, "")
		expect(t, e.do("GET", "/v1/tenants/"+b.ID, adminToken, nil), 404, "not_found")
	})
}

// snsSigner signs SNS messages with a throwaway key and serves its
// certificate through the injectable fetcher.
type snsSigner struct {
	key     *rsa.PrivateKey
	cert    *x509.Certificate
	fetched atomic.Int32
}

func newSNSSigner(t *testing.T) *snsSigner {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &snsSigner{key: key, cert: cert}
}

func (s *snsSigner) fetch(_ context.Context, url string) (*x509.Certificate, error) {
	s.fetched.Add(1)
	if _, ok := sns.ValidCertURL(url); !ok {
		return nil, fmt.Errorf("fetcher called with unvalidated URL %s", url)
	}
	return s.cert, nil
}

const topic = "arn:aws:sns:us-east-1:123456789012:budget-alerts"

func (s *snsSigner) message(t *testing.T, typ, text string, mut func(*sns.Message)) []byte {
	m := &sns.Message{Type: typ, MessageID: tenant.NewID(), TopicArn: topic, Subject: "AWS Budgets: monthly has exceeded your alert threshold",
		Message: text, Timestamp: time.Now().UTC().Format(time.RFC3339), SignatureVersion: "2",
		SigningCertURL: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"}
	if typ == "SubscriptionConfirmation" {
		m.Subject, m.Token, m.SubscribeURL = "", "tok", "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"
	}
	if mut != nil {
		mut(m)
	}
	sts, err := m.StringToSign()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(sts))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if m.Signature == "" {
		m.Signature = base64.StdEncoding.EncodeToString(sig)
	}
	b, _ := json.Marshal(m)
	return b
}

// budgetText is this stack's recorded 200 % ACTUAL alert
// (testdata/aws/budgets) with its threshold and type replaced: the text AWS
// Budgets sends for a $1,000 budget at pct percent.
func budgetText(t *testing.T, pct string, kind string) string {
	_, text := published(t, "budgets/platform-dev-200-actual.json")
	p, err := strconv.ParseFloat(pct, 64)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("Budgeted Amount: $600.00", "Budgeted Amount: $1,000.00",
		"> $1,200.00", fmt.Sprintf("> $%.2f", p*10), "greater than $1,200.00", fmt.Sprintf("greater than $%.2f", p*10),
		"ACTUAL", kind).Replace(text)
}

func TestSNSBudgetHook(t *testing.T) {
	signer := newSNSSigner(t)
	e := newEnv(t, envOpts{sns: &sns.Verifier{Topics: []string{topic}, Fetch: signer.fetch}})
	level := func() string {
		var b struct{ Level string }
		e.do("GET", "/v1/breaker", adminToken, nil).json(t, &b)
		return b.Level
	}
	post := func(b []byte) resp { return e.do("POST", "/v1/breaker/sns", "", b) }

	t.Run("90_percent_sets_warn", func(t *testing.T) {
		expect(t, post(signer.message(t, "Notification", budgetText(t, "90.00", "ACTUAL"), nil)), 200, "")
		if level() != "warn" {
			t.Fatal(level())
		}
	})
	t.Run("forecasted_200_percent_raises_to_warn_only", func(t *testing.T) {
		expect(t, post(signer.message(t, "Notification", budgetText(t, "200.00", "FORECASTED"), nil)), 200, "")
		if level() != "warn" {
			t.Fatal(level())
		}
	})
	t.Run("100_percent_sets_freeze", func(t *testing.T) {
		expect(t, post(signer.message(t, "Notification", budgetText(t, "100.00", "ACTUAL"), nil)), 200, "")
		if level() != "freeze" {
			t.Fatal(level())
		}
		expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "frozen-free", "tier": "free"}), 503, "onboarding_paused")
	})
	t.Run("200_percent_sets_emergency", func(t *testing.T) {
		expect(t, post(signer.message(t, "Notification", budgetText(t, "200.00", "ACTUAL"), nil)), 200, "")
		if level() != "emergency" {
			t.Fatal(level())
		}
	})
	t.Run("late_lower_alert_does_not_lower_the_level", func(t *testing.T) {
		expect(t, post(signer.message(t, "Notification", budgetText(t, "90.00", "ACTUAL"), nil)), 200, "")
		if level() != "emergency" {
			t.Fatal(level())
		}
		expect(t, e.do("POST", "/v1/breaker", adminToken, map[string]string{"level": "normal"}), 200, "")
	})
	before := signer.fetched.Load()
	for name, mut := range map[string]func(*sns.Message){
		"forged_signature":       func(m *sns.Message) { m.Signature = base64.StdEncoding.EncodeToString([]byte("nope")) },
		"tampered_after_signing": nil, // handled below
		"other_topic":            func(m *sns.Message) { m.TopicArn = "arn:aws:sns:us-east-1:123456789012:other" },
		"signature_version_1":    func(m *sns.Message) { m.SignatureVersion = "1" },
		"cert_url_http":          func(m *sns.Message) { m.SigningCertURL = "http://sns.us-east-1.amazonaws.com/c.pem" },
		"cert_url_foreign_host":  func(m *sns.Message) { m.SigningCertURL = "https://sns.us-east-1.amazonaws.com.evil.example/c.pem" },
		"cert_url_userinfo":      func(m *sns.Message) { m.SigningCertURL = "https://sns.us-east-1.amazonaws.com@evil.example/c.pem" },
		"cert_url_other_region":  func(m *sns.Message) { m.SigningCertURL = "https://sns.eu-west-1.amazonaws.com/c.pem" },
		"stale_timestamp":        func(m *sns.Message) { m.Timestamp = time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339) },
	} {
		t.Run("refused/"+name, func(t *testing.T) {
			b := signer.message(t, "Notification", budgetText(t, "200.00", "ACTUAL"), mut)
			if mut == nil {
				tampered := strings.Replace(string(b), "$2000.00", "$3000.00", 1)
				if tampered == string(b) {
					t.Fatal("nothing tampered")
				}
				b = []byte(tampered)
			}
			expect(t, post(b), 403, "forbidden")
			if level() != "normal" {
				t.Fatal("refused message changed the level")
			}
		})
	}
	// Only the two messages with a valid cert URL and topic but a bad
	// signature reached the fetcher; bad URLs never did.
	if n := signer.fetched.Load() - before; n != 2 {
		t.Fatalf("fetcher called %d times for refused messages", n)
	}
}
