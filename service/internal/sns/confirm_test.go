package sns

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const testTopic = "arn:aws:sns:us-east-1:123456789012:platform-dev-cost-alerts"

func confirmation(subscribeURL string) *Message {
	return &Message{Type: "SubscriptionConfirmation", TopicArn: testTopic, Token: "2336412f37fb687f5d51e6e2425c464de",
		SubscribeURL: subscribeURL}
}

const goodURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + testTopic + "&Token=2336412f37fb687f5d51e6e2425c464de"

func TestSubscribeURLOnlySNSConfirmSubscription(t *testing.T) {
	if _, err := SubscribeURLFor(confirmation(goodURL)); err != nil {
		t.Fatalf("SNS's own URL refused: %v", err)
	}
	// The documented shape (SNS Developer Guide example, testdata/aws/sns):
	// TopicArn with literal colons, in another region.
	doc := &Message{TopicArn: "arn:aws:sns:us-west-2:123456789012:MyTopic", Token: "2336412f37...",
		SubscribeURL: "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37..."}
	if _, err := SubscribeURLFor(doc); err != nil {
		t.Errorf("documented SubscribeURL refused: %v", err)
	}
	for name, u := range map[string]string{
		"http":               strings.Replace(goodURL, "https://", "http://", 1),
		"other region":       strings.Replace(goodURL, "sns.us-east-1", "sns.eu-west-1", 1),
		"look-alike host":    strings.Replace(goodURL, "amazonaws.com/", "amazonaws.com.evil.example/", 1),
		"userinfo":           strings.Replace(goodURL, "https://", "https://sns.us-east-1.amazonaws.com@", 1),
		"port":               strings.Replace(goodURL, "amazonaws.com/", "amazonaws.com:8443/", 1),
		"path":               strings.Replace(goodURL, "amazonaws.com/", "amazonaws.com/redirect/", 1),
		"other action":       strings.Replace(goodURL, "ConfirmSubscription", "Unsubscribe", 1),
		"other topic":        strings.Replace(goodURL, "cost-alerts&", "other&", 1),
		"other token":        strings.Replace(goodURL, "Token=2336", "Token=9999", 1),
		"extra parameter":    goodURL + "&Endpoint=https://evil.example/",
		"repeated parameter": goodURL + "&Token=2336412f37fb687f5d51e6e2425c464de",
		"fragment":           goodURL + "#x",
		"not a URL":          "::",
	} {
		if _, err := SubscribeURLFor(confirmation(u)); err == nil {
			t.Errorf("%s: %s accepted", name, u)
		}
	}
}

func TestConfirmReadsTheSubscriptionArn(t *testing.T) {
	var calls atomic.Int32
	answer := string(awsTestdata(t, "sns/confirm-subscription-response.xml"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(answer))
	}))
	defer srv.Close()
	// The client reaches the test server whatever the URL's host; the URL
	// itself is still checked first.
	client := srv.Client()
	client.Transport = rewrite{srv.URL}
	c := &Confirmer{Client: client}
	arn, err := c.Confirm(context.Background(), confirmation(goodURL))
	if err != nil || arn != testTopic+":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55" {
		t.Fatalf("arn %q err %v", arn, err)
	}
	if _, err := c.Confirm(context.Background(), confirmation(strings.Replace(goodURL, "us-east-1.", "eu-west-1.", 1))); err == nil {
		t.Error("a URL of another region was fetched")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	m := confirmation(goodURL)
	m.TopicArn = "arn:aws:sns:us-east-1:123456789012:other"
	m.SubscribeURL = strings.Replace(goodURL, "platform-dev-cost-alerts", "other", 1)
	if _, err := c.Confirm(context.Background(), m); err == nil || !strings.Contains(err.Error(), "no subscription of") {
		t.Errorf("an answer for another topic's subscription accepted: %v", err)
	}
}

type rewrite struct{ base string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = "http", strings.TrimPrefix(r.base, "http://")
	out.URL = &u
	return http.DefaultTransport.RoundTrip(out)
}
