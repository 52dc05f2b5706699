package sns

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Confirmer confirms an HTTPS subscription of the service: SNS delivers
// nothing to an endpoint until it is confirmed (SNS Developer Guide,
// "HTTP/HTTPS subscription confirmation JSON format"). It GETs the
// SubscribeURL of a verified SubscriptionConfirmation, which is SNS's
// ConfirmSubscription action with the message's topic and token; nothing
// else is ever fetched (SubscribeURLFor).
type Confirmer struct {
	// Client makes the GET; nil: 10 s timeout, redirects not followed. Tests
	// give one that reaches a local HTTPS stand-in for SNS.
	Client *http.Client
}

// SNSHost is the SNS endpoint of a topic's region: sns.<region>.amazonaws.com
// (amazonaws.com.cn in the China partition).
func SNSHost(topicArn string) (string, error) {
	parts := strings.Split(topicArn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[3] == "" {
		return "", fmt.Errorf("%q is not an SNS topic ARN", topicArn)
	}
	switch parts[1] {
	case "aws", "aws-us-gov":
		return "sns." + parts[3] + ".amazonaws.com", nil
	case "aws-cn":
		return "sns." + parts[3] + ".amazonaws.com.cn", nil
	}
	return "", fmt.Errorf("topic %q: partition %q is not supported", topicArn, parts[1])
}

// SubscribeURLFor checks that a confirmation's SubscribeURL is exactly SNS's
// ConfirmSubscription action for the message's own topic and token, on the
// SNS host of that topic's region, over HTTPS: the URL comes from the
// message body, and the service must not be made to fetch anything else.
func SubscribeURLFor(m *Message) (*url.URL, error) {
	host, err := SNSHost(m.TopicArn)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(m.SubscribeURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("SubscribeURL does not parse: %w", err)
	case u.Scheme != "https" || u.User != nil || u.Port() != "" || u.Hostname() != host:
		return nil, fmt.Errorf("SubscribeURL is not https://%s/ (got scheme %q host %q)", host, u.Scheme, u.Host)
	case u.Path != "/" && u.Path != "":
		return nil, fmt.Errorf("SubscribeURL path %q is not /", u.Path)
	case u.Fragment != "":
		return nil, errors.New("SubscribeURL has a fragment")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("SubscribeURL query: %w", err)
	}
	for k, v := range q {
		if len(v) != 1 {
			return nil, fmt.Errorf("SubscribeURL repeats %q", k)
		}
	}
	switch {
	case len(q) != 3 || q.Get("Action") != "ConfirmSubscription":
		return nil, errors.New("SubscribeURL is not Action=ConfirmSubscription with TopicArn and Token only")
	case q.Get("TopicArn") != m.TopicArn:
		return nil, fmt.Errorf("SubscribeURL names topic %q, the message %q", q.Get("TopicArn"), m.TopicArn)
	case m.Token == "" || q.Get("Token") != m.Token:
		return nil, errors.New("SubscribeURL token is not the message's Token")
	}
	return u, nil
}

// confirmResponse is SNS's ConfirmSubscription answer (query protocol, XML).
type confirmResponse struct {
	XMLName         xml.Name `xml:"ConfirmSubscriptionResponse"`
	SubscriptionArn string   `xml:"ConfirmSubscriptionResult>SubscriptionArn"`
}

// Confirm confirms the subscription m asks for and returns the subscription
// ARN SNS answers with. m must be a verified SubscriptionConfirmation (its
// signature and topic checked by Verifier.Verify).
func (c *Confirmer) Confirm(ctx context.Context, m *Message) (string, error) {
	if m.Type != "SubscriptionConfirmation" {
		return "", fmt.Errorf("message type %q is not SubscriptionConfirmation", m.Type)
	}
	u, err := SubscribeURLFor(m)
	if err != nil {
		return "", err
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET ConfirmSubscription: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read ConfirmSubscription answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("ConfirmSubscription answered %s: %.200s", resp.Status, body)
	}
	var r confirmResponse
	if err := xml.Unmarshal(body, &r); err != nil || !strings.HasPrefix(r.SubscriptionArn, m.TopicArn+":") {
		return "", fmt.Errorf("ConfirmSubscription answer names no subscription of %s: %.200s", m.TopicArn, body)
	}
	return r.SubscriptionArn, nil
}
