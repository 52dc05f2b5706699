package http_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/sns"
	"github.com/tenantco/platform/service/internal/tenant"
)

// The cost breaker harness: every level driven from the message AWS sends
// (testdata/aws, recorded AWS Budgets texts in real SNS envelopes, signed
// with a test key whose certificate the service fetches over HTTPS) to its
// effect, over HTTP, on two tenantd replicas sharing one PostgreSQL and one
// Redis. SNS itself is a local HTTPS server answering for
// sns.us-east-1.amazonaws.com (TLS with a test CA): it serves the signing
// certificate and SNS's ConfirmSubscription action.

const (
	alertsTopic    = "arn:aws:sns:us-east-1:123456789012:platform-dev-cost-alerts"
	emergencyTopic = "arn:aws:sns:us-east-1:123456789012:platform-dev-cost-emergency"
	snsHost        = "sns.us-east-1.amazonaws.com"
	signingCertURL = "https://" + snsHost + "/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem"
)

// snsStandIn answers for SNS: the signing certificate and ConfirmSubscription.
type snsStandIn struct {
	t       *testing.T
	srv     *httptest.Server
	client  *http.Client // reaches only the stand-in, trusts only its CA
	key     *rsa.PrivateKey
	certPEM []byte
	answer  string

	mu        sync.Mutex
	confirmed []url.Values
	certGets  int
}

func newSNSStandIn(t *testing.T) *snsStandIn {
	t.Helper()
	s := &snsStandIn{t: t, answer: string(awsTestdata(t, "sns/confirm-subscription-response.xml"))}
	// A CA, and the TLS certificate of the SNS host it issues.
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA standing in for Amazon's"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	tlsKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	leafTpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: snsHost}, DNSNames: []string{snsHost},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTpl, ca, &tlsKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	// The key SNS signs messages with, and its certificate at SigningCertURL.
	s.key, _ = rsa.GenerateKey(rand.Reader, 2048)
	sigTpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	sigDER, err := x509.CreateCertificate(rand.Reader, sigTpl, ca, &s.key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	s.certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sigDER})

	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: tlsKey}}}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	addr := s.srv.Listener.Addr().String()
	s.client = &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots},
			DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
				if a != snsHost+":443" {
					return nil, fmt.Errorf("the test reaches nothing but the SNS stand-in, not %s", a)
				}
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}}
	return s
}

func (s *snsStandIn) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, ".pem"):
		s.certGets++
		_, _ = w.Write(s.certPEM)
	case r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Get("Action") == "ConfirmSubscription":
		q := r.URL.Query()
		s.confirmed = append(s.confirmed, q)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(strings.Replace(s.answer, "arn:aws:sns:us-east-1:123456789012:platform-dev-cost-alerts", q.Get("TopicArn"), 1)))
	default:
		http.Error(w, "not SNS", http.StatusNotFound)
	}
}

func (s *snsStandIn) confirmations() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.confirmed...)
}

// verifier and confirmer are what tenantd is built with, their HTTP going to
// the stand-in: the certificate through the service's own fetcher.
func (s *snsStandIn) verifier() *sns.Verifier {
	return &sns.Verifier{Topics: []string{alertsTopic, emergencyTopic}, Fetch: sns.HTTPFetcher(s.client)}
}

func (s *snsStandIn) confirmer() *sns.Confirmer { return &sns.Confirmer{Client: s.client} }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// envelope is a message as SNS POSTs it to an HTTPS subscriber: the JSON
// body in SNS's field order and spacing (SNS Developer Guide, "HTTP/HTTPS
// notification JSON format"; testdata/aws/sns), SignatureVersion 2.
func (s *snsStandIn) envelope(typ, topic, subject, message string, mut func(*sns.Message)) (*sns.Message, []byte) {
	m := &sns.Message{Type: typ, MessageID: uuid(), TopicArn: topic, Subject: subject, Message: message,
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), SignatureVersion: "2", SigningCertURL: signingCertURL}
	switch typ {
	case "Notification":
		m.UnsubscribeURL = "https://" + snsHost + "/?Action=Unsubscribe&SubscriptionArn=" + topic + ":" + uuid()
	case "SubscriptionConfirmation":
		m.Subject, m.Token = "", randomHex(128)
		m.Message = "You have chosen to subscribe to the topic " + topic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."
		m.SubscribeURL = "https://" + snsHost + "/?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=" + m.Token
	}
	if mut != nil {
		mut(m)
	}
	text, err := m.StringToSign()
	if err != nil {
		s.t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(text))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		s.t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	type kv struct{ k, v string }
	fields := []kv{{"Type", m.Type}, {"MessageId", m.MessageID}}
	if m.Token != "" {
		fields = append(fields, kv{"Token", m.Token})
	}
	fields = append(fields, kv{"TopicArn", m.TopicArn})
	if m.Subject != "" {
		fields = append(fields, kv{"Subject", m.Subject})
	}
	fields = append(fields, kv{"Message", m.Message})
	if m.SubscribeURL != "" {
		fields = append(fields, kv{"SubscribeURL", m.SubscribeURL})
	}
	fields = append(fields, kv{"Timestamp", m.Timestamp}, kv{"SignatureVersion", m.SignatureVersion},
		kv{"Signature", m.Signature}, kv{"SigningCertURL", m.SigningCertURL})
	if m.UnsubscribeURL != "" {
		fields = append(fields, kv{"UnsubscribeURL", m.UnsubscribeURL})
	}
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, f := range fields {
		var v bytes.Buffer
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(f.v)
		fmt.Fprintf(&b, "  %q : %s", f.k, strings.TrimSuffix(v.String(), "\n"))
		if i < len(fields)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}")
	return m, b.Bytes()
}

// deliver POSTs an envelope to the service as SNS does, with SNS's headers.
func (s *snsStandIn) deliver(e *env, typ, topic, subject, message string, mut func(*sns.Message)) resp {
	m, body := s.envelope(typ, topic, subject, message, mut)
	hdr := []string{"x-amz-sns-message-type", m.Type, "x-amz-sns-message-id", m.MessageID, "x-amz-sns-topic-arn", m.TopicArn,
		"Content-Type", "text/plain; charset=UTF-8", "User-Agent", "Amazon Simple Notification Service Agent"}
	if typ == "Notification" {
		hdr = append(hdr, "x-amz-sns-subscription-arn", topic+":"+uuid())
	}
	return e.do("POST", "/v1/breaker/sns", "", body, hdr...)
}

// awsTestdata reads the repository's testdata/aws (sources in its README).
func awsTestdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "aws", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// published is a message as its publisher hands it to SNS.
func published(t testing.TB, rel string) (subject, message string) {
	t.Helper()
	var m struct{ Subject, Message string }
	if err := json.Unmarshal(awsTestdata(t, rel), &m); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return m.Subject, m.Message
}

func level(t *testing.T, e *env) string {
	t.Helper()
	var b struct{ Level string }
	r := e.do("GET", "/v1/breaker", adminToken, nil)
	expect(t, r, 200, "")
	r.json(t, &b)
	return b.Level
}

func TestBreakerSubscriptionConfirmation(t *testing.T) {
	standIn := newSNSStandIn(t)
	logs := &syncBuffer{}
	e := newEnv(t, envOpts{sns: standIn.verifier(), snsConfirmer: standIn.confirmer(), logs: logs, budgetName: "platform-dev"})

	// The service confirms its own subscriptions, one per topic it serves.
	for _, topic := range []string{alertsTopic, emergencyTopic} {
		m, body := standIn.envelope("SubscriptionConfirmation", topic, "", "", nil)
		r := e.do("POST", "/v1/breaker/sns", "", body, "x-amz-sns-message-type", "SubscriptionConfirmation", "Content-Type", "text/plain; charset=UTF-8")
		expect(t, r, 200, "")
		var got struct{ Status, Subscription string }
		r.json(t, &got)
		if got.Status != "confirmed" || !strings.HasPrefix(got.Subscription, topic+":") {
			t.Fatalf("%s: %s", topic, r.Body)
		}
		c := standIn.confirmations()
		last := c[len(c)-1]
		if len(c) == 0 || last.Get("TopicArn") != topic || last.Get("Token") != m.Token {
			t.Fatalf("SNS saw %v, want the token of %s", c, topic)
		}
	}
	if n := len(standIn.confirmations()); n != 2 {
		t.Fatalf("%d confirmations, want 2", n)
	}

	// Another topic's confirmation is refused and logged; SNS is never asked.
	other := "arn:aws:sns:us-east-1:123456789012:someone-elses-topic"
	expect(t, standIn.deliver(e, "SubscriptionConfirmation", other, "", "", nil), 403, "forbidden")
	if !strings.Contains(logs.String(), "refused SNS subscription confirmation") || !strings.Contains(logs.String(), other) {
		t.Errorf("refusal not logged:\n%s", logs)
	}
	// A signed confirmation whose SubscribeURL leads anywhere but SNS's
	// ConfirmSubscription for its own topic is not followed.
	for name, u := range map[string]string{
		"other host":  "https://evil.example/?Action=ConfirmSubscription&TopicArn=" + alertsTopic + "&Token=x",
		"other topic": "https://" + snsHost + "/?Action=ConfirmSubscription&TopicArn=" + other + "&Token=x",
	} {
		r := standIn.deliver(e, "SubscriptionConfirmation", alertsTopic, "", "", func(m *sns.Message) { m.SubscribeURL = u })
		if r.Status != 503 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if n := len(standIn.confirmations()); n != 2 {
		t.Errorf("%d confirmations after the refusals, want still 2", n)
	}
	if level(t, e) != "normal" {
		t.Error("confirmations changed the level")
	}
}

// TestBreakerEndToEnd drives every level from the recorded Budgets messages
// and checks every effect the README's cost-control table promises, on both
// replicas.
func TestBreakerEndToEnd(t *testing.T) {
	standIn := newSNSStandIn(t)
	// Room for the test's own requests: the free tier at 40/s, 20/s halved.
	opts := envOpts{sns: standIn.verifier(), snsConfirmer: standIn.confirmer(), budgetName: "platform-dev",
		limits: "free=rate:40,burst:80"}
	a := newEnv(t, opts)
	opts.replicaOf = a
	b := newEnv(t, opts)
	replicas := map[string]*env{"a": a, "b": b}
	atLevel := func(want string) {
		t.Helper()
		for name, e := range replicas {
			if got := level(t, e); got != want {
				t.Fatalf("replica %s at %q, want %q", name, got, want)
			}
		}
	}
	free := a.onboard("free-before", tenant.TierFree)
	pro := a.onboard("pro-before", tenant.TierPro)
	limitOf := func(e *env, key string) string {
		t.Helper()
		r := e.do("GET", "/v1/items", key, nil)
		expect(t, r, 200, "")
		return r.Header.Get("X-RateLimit-Limit")
	}
	budget := func(file, topic string) resp {
		t.Helper()
		subject, message := published(t, file)
		return standIn.deliver(a, "Notification", topic, subject, message, nil)
	}
	// everythingElse is what else reaches the topics: the daily cost report
	// at 215 %, a CloudWatch alarm, RDS events through EventBridge, the dev
	// breaker function's notices and another stack's 200 % alert.
	everythingElse := func() {
		t.Helper()
		files, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "aws", "other", "*.json"))
		if err != nil || len(files) < 5 {
			t.Fatalf("testdata/aws/other: %v %v", files, err)
		}
		sort.Strings(files)
		for _, f := range files {
			rel := filepath.Join("other", filepath.Base(f))
			var m struct{ Subject, Message string }
			if json.Unmarshal(awsTestdata(t, rel), &m) != nil || m.Message == "" {
				continue // an event as Lambda receives it, not an SNS message
			}
			before := level(t, a)
			r := standIn.deliver(b, "Notification", alertsTopic, m.Subject, m.Message, nil)
			expect(t, r, 200, "")
			if !strings.Contains(string(r.Body), "ignored") {
				t.Errorf("%s: %s", rel, r.Body)
			}
			if got := level(t, b); got != before {
				t.Fatalf("%s moved the level from %s to %s", rel, before, got)
			}
		}
	}

	atLevel("normal")
	everythingElse()
	atLevel("normal")
	if limitOf(b, free.APIKey) != "40" {
		t.Fatal("free tier limit at normal")
	}

	// warn: 90 % actual. Metric and log only.
	expect(t, budget("budgets/platform-dev-090-actual.json", alertsTopic), 200, "")
	atLevel("warn")
	a.onboard("free-at-warn", tenant.TierFree)
	if limitOf(b, free.APIKey) != "40" {
		t.Error("warn changed the free tier's limits")
	}
	if metrics := string(a.do("GET", "/metrics", "", nil).Body); !strings.Contains(metrics, "tenantd_cost_breaker_level 1") {
		t.Error("the metric does not show warn")
	}

	// 100 % forecasted: warn at most.
	expect(t, budget("budgets/platform-dev-100-forecasted.json", alertsTopic), 200, "")
	atLevel("warn")

	// freeze: 100 % actual. No new free tenants, free limits halved.
	expect(t, budget("budgets/platform-dev-100-actual.json", alertsTopic), 200, "")
	atLevel("freeze")
	for _, e := range replicas {
		expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "free-at-freeze-" + randomHex(3), "tier": "free"}), 503, "onboarding_paused")
	}
	b.onboard("starter-at-freeze", tenant.TierStarter)
	if got := limitOf(b, free.APIKey); got != "20" {
		t.Errorf("free tier rate at freeze: %s, want 20 (40 halved)", got)
	}
	if got := limitOf(a, pro.APIKey); got != "100" {
		t.Errorf("pro tier rate at freeze: %s, want 100", got)
	}
	expect(t, b.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "still-writable"}), 201, "")

	everythingElse()
	atLevel("freeze")

	// emergency: 200 % actual, on the dev stack's own topic. No onboarding at
	// all, the free tier read-only.
	expect(t, budget("budgets/platform-dev-200-actual.json", emergencyTopic), 200, "")
	atLevel("emergency")
	for _, e := range replicas {
		expect(t, e.do("POST", "/v1/tenants", adminToken, map[string]string{"slug": "pro-at-emergency-" + randomHex(3), "tier": "pro"}), 503, "onboarding_paused")
		expect(t, e.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "w"}), 503, "read_only")
		expect(t, e.do("GET", "/v1/items", free.APIKey, nil), 200, "")
		expect(t, e.do("POST", "/v1/items", pro.APIKey, map[string]any{"name": "paid-" + randomHex(3)}), 201, "")
	}

	// Late or repeated lower alerts never lower it (SNS does not order
	// deliveries).
	expect(t, budget("budgets/platform-dev-090-actual.json", alertsTopic), 200, "")
	expect(t, budget("budgets/platform-dev-100-actual.json", alertsTopic), 200, "")
	everythingElse()
	atLevel("emergency")

	// The reset is an admin's, on any replica; every replica follows.
	expect(t, b.do("POST", "/v1/breaker", adminToken, map[string]string{"level": "normal"}), 200, "")
	atLevel("normal")
	a.onboard("free-after-reset", tenant.TierFree)
	expect(t, a.do("POST", "/v1/items", free.APIKey, map[string]any{"name": "writable-again"}), 201, "")
	if limitOf(a, free.APIKey) != "40" {
		t.Error("free tier limits not restored after the reset")
	}
	if n := len(standIn.confirmations()); n != 0 {
		t.Errorf("notifications made %d ConfirmSubscription calls", n)
	}
}

// Without SNS_BUDGET_NAME every Budgets alert on the service's topics counts,
// but still only Budgets alerts.
func TestBreakerWithoutBudgetName(t *testing.T) {
	standIn := newSNSStandIn(t)
	e := newEnv(t, envOpts{sns: standIn.verifier(), snsConfirmer: standIn.confirmer()})
	subject, message := published(t, "other/costreport-emergency.json")
	expect(t, standIn.deliver(e, "Notification", alertsTopic, subject, message, nil), 200, "")
	if level(t, e) != "normal" {
		t.Fatal("the cost report moved the level")
	}
	subject, message = published(t, "other/platform-prod-200-actual.json")
	expect(t, standIn.deliver(e, "Notification", alertsTopic, subject, message, nil), 200, "")
	if level(t, e) != "emergency" {
		t.Fatal("a Budgets alert did not count")
	}
}
