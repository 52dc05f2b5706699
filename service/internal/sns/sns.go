// Package sns verifies Amazon SNS HTTP(S) messages (SignatureVersion 2,
// SHA256withRSA), confirms the service's subscriptions (confirm.go) and reads
// AWS Budgets notifications strictly (budget.go).
package sns

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Message is an SNS HTTP notification body.
type Message struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`
}

// StringToSign builds the canonical text SNS signs for the message's type.
func (m *Message) StringToSign() (string, error) {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	switch m.Type {
	case "Notification":
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		if m.Subject != "" {
			add("Subject", m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return "", fmt.Errorf("unknown SNS message type %q", m.Type)
	}
	return b.String(), nil
}

// CertFetcher returns the signing certificate at a URL that has already been
// checked by ValidCertURL.
type CertFetcher func(ctx context.Context, certURL string) (*x509.Certificate, error)

var certHostRE = regexp.MustCompile(`^sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// ValidCertURL accepts only https://sns.<region>.amazonaws.com/....pem.
func ValidCertURL(raw string) (region string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || !strings.HasSuffix(u.Path, ".pem") {
		return "", false
	}
	m := certHostRE.FindStringSubmatch(u.Hostname())
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ErrTopicNotAccepted is returned by Verify for a message of a topic the
// service was not configured with.
var ErrTopicNotAccepted = errors.New("topic is not accepted")

// Verifier checks SNS messages.
type Verifier struct {
	Topics []string    // accepted TopicArn values; empty accepts none
	Fetch  CertFetcher // nil: HTTPFetcher
	MaxAge time.Duration
	Now    func() time.Time
}

// Verify checks topic, age, certificate URL and the SignatureVersion 2 signature.
func (v *Verifier) Verify(ctx context.Context, m *Message) error {
	allowed := false
	for _, t := range v.Topics {
		if m.TopicArn == t {
			allowed = true
		}
	}
	if !allowed {
		return fmt.Errorf("%w: %q (SNS_TOPIC_ARN)", ErrTopicNotAccepted, m.TopicArn)
	}
	if m.SignatureVersion != "2" {
		// Topics sign with SHA1 (version 1) unless their SignatureVersion
		// attribute is 2; the program sets it on the topics it subscribes
		// the service to.
		return fmt.Errorf("SignatureVersion %q: only 2 (SHA256) is accepted; set the topic's SignatureVersion attribute to 2", m.SignatureVersion)
	}
	region, ok := ValidCertURL(m.SigningCertURL)
	if !ok {
		return errors.New("SigningCertURL is not https://sns.<region>.amazonaws.com/...pem")
	}
	if parts := strings.Split(m.TopicArn, ":"); len(parts) < 6 || parts[3] != region {
		return errors.New("SigningCertURL region does not match the topic's region")
	}
	ts, err := time.Parse(time.RFC3339, m.Timestamp)
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	now, maxAge := time.Now, v.MaxAge
	if v.Now != nil {
		now = v.Now
	}
	if maxAge == 0 {
		maxAge = time.Hour
	}
	if d := now().Sub(ts); d > maxAge || d < -5*time.Minute {
		return fmt.Errorf("message timestamp %s is outside the accepted window", m.Timestamp)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return errors.New("signature is not base64")
	}
	text, err := m.StringToSign()
	if err != nil {
		return err
	}
	fetch := v.Fetch
	if fetch == nil {
		fetch = HTTPFetcher(nil)
	}
	cert, err := fetch(ctx, m.SigningCertURL)
	if err != nil {
		return fmt.Errorf("signing certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("signing certificate has no RSA key")
	}
	sum := sha256.Sum256([]byte(text))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("signature does not verify")
	}
	return nil
}

// HTTPFetcher fetches and caches certificates over HTTPS (the URL has been
// validated by Verify). client nil uses a 5 s timeout client.
func HTTPFetcher(client *http.Client) CertFetcher {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	var mu sync.Mutex
	cache := map[string]*x509.Certificate{}
	return func(ctx context.Context, certURL string) (*x509.Certificate, error) {
		if _, ok := ValidCertURL(certURL); !ok {
			return nil, errors.New("refusing certificate URL")
		}
		mu.Lock()
		c := cache[certURL]
		mu.Unlock()
		if c != nil && time.Now().Before(c.NotAfter) {
			return c, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET certificate: %s", resp.Status)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode(body)
		if block == nil {
			return nil, errors.New("certificate is not PEM")
		}
		c, err = x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		cache[certURL] = c
		mu.Unlock()
		return c, nil
	}
}
