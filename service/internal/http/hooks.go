package http

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/tenantco/platform/service/internal/sns"
	"github.com/tenantco/platform/service/internal/tenant"
)

// subscription is the part of a Stripe subscription object we read.
type subscription struct {
	ID       string            `json:"id"`
	Status   string            `json:"status"`
	Customer json.RawMessage   `json:"customer"` // id, or expanded object
	Metadata map[string]string `json:"metadata"`
	Items    struct {
		Data []struct {
			Price struct {
				ID string `json:"id"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

func (sub *subscription) customerID() string {
	var id string
	if json.Unmarshal(sub.Customer, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(sub.Customer, &obj)
	return obj.ID
}

var tierRank = map[tenant.Tier]int{tenant.TierFree: 0, tenant.TierStarter: 1, tenant.TierPro: 2, tenant.TierEnterprise: 3}

// stripeHook applies customer.subscription.{created,updated,deleted} events.
// The signature is verified; the event id makes delivery idempotent; the tier
// change is in the ledger, so the tenant's next request sees it.
func (s *Server) stripeHook(w http.ResponseWriter, r *http.Request) {
	if s.StripeSecret == "" {
		s.error(w, r, tenant.Errorf(tenant.EUNAVAILABLE, "Stripe webhook not configured (STRIPE_WEBHOOK_SECRET)"))
		return
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		s.error(w, r, tenant.Errorf(tenant.EINVALID, "body too large"))
		return
	}
	ev, err := webhook.ConstructEventWithOptions(payload, r.Header.Get("Stripe-Signature"), s.StripeSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		s.error(w, r, tenant.Errorf(tenant.EINVALID, "invalid Stripe signature"))
		return
	}
	typ := string(ev.Type)
	switch typ {
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	var sub subscription
	if ev.Data == nil || json.Unmarshal(ev.Data.Raw, &sub) != nil {
		s.error(w, r, tenant.Errorf(tenant.EINVALID, "event data is not a subscription"))
		return
	}
	var tier tenant.Tier
	switch {
	case typ == "customer.subscription.deleted", sub.Status == "canceled", sub.Status == "unpaid", sub.Status == "incomplete_expired":
		tier = tenant.TierFree
	case sub.Status == "active" || sub.Status == "trialing":
		for _, it := range sub.Items.Data {
			if t, ok := s.PriceTiers[it.Price.ID]; ok && (tier == "" || tierRank[t] > tierRank[tier]) {
				tier = t
			}
		}
		if tier == "" {
			s.Logger.Warn("stripe subscription has no price in STRIPE_PRICE_TIERS", "event", ev.ID, "subscription", sub.ID)
			writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
			return
		}
	default: // past_due, incomplete, paused: keep the current tier
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	applied, err := s.Tenants.ApplyStripeTier(r.Context(), ev.ID, typ, sub.Metadata["tenant_id"], sub.customerID(), tier)
	if err != nil {
		s.error(w, r, err)
		return
	}
	status := "duplicate"
	if applied {
		status = "applied"
		s.Logger.Info("stripe tier applied", "event", ev.ID, "type", typ, "tier", tier)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": status, "tier": string(tier)})
}

// snsHook receives the alerts topics through SNS. Only verified messages of
// SNS_TOPIC_ARN count. A SubscriptionConfirmation is confirmed by the
// service itself (SNS delivers nothing until it is); one for another topic
// is refused and logged. Of the notifications, only AWS Budgets cost
// notifications change anything; everything else on the topic (alarms, RDS
// events, the daily cost report, the dev breaker function's notices) is
// acknowledged and ignored, so SNS does not retry it. Alerts only raise the
// level (SNS does not order deliveries); forecasted alerts raise it to warn
// at most. Lowering is done with POST /v1/breaker.
func (s *Server) snsHook(w http.ResponseWriter, r *http.Request) {
	if s.SNS == nil || len(s.SNS.Topics) == 0 {
		s.error(w, r, tenant.Errorf(tenant.EUNAVAILABLE, "SNS hook not configured (SNS_TOPIC_ARN)"))
		return
	}
	var m sns.Message
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil || json.Unmarshal(body, &m) != nil {
		s.error(w, r, tenant.Errorf(tenant.EINVALID, "body is not an SNS message"))
		return
	}
	if err := s.SNS.Verify(r.Context(), &m); err != nil {
		if m.Type == "SubscriptionConfirmation" && errors.Is(err, sns.ErrTopicNotAccepted) {
			s.Logger.Warn("refused SNS subscription confirmation: topic is not one of SNS_TOPIC_ARN", "topic", m.TopicArn, "message_id", m.MessageID)
		} else {
			s.Logger.Warn("rejected SNS message", "type", m.Type, "topic", m.TopicArn, "err", err)
		}
		s.error(w, r, tenant.Errorf(tenant.EFORBIDDEN, "SNS message not verified"))
		return
	}
	switch m.Type {
	case "SubscriptionConfirmation":
		arn, err := s.SNSConfirmer.Confirm(r.Context(), &m)
		if err != nil {
			s.Logger.Warn("SNS subscription not confirmed", "topic", m.TopicArn, "message_id", m.MessageID, "err", err)
			s.error(w, r, tenant.Unavailable("subscription could not be confirmed; SNS retries", err))
			return
		}
		s.Logger.Info("SNS subscription confirmed", "topic", m.TopicArn, "subscription", arn)
		writeJSON(w, http.StatusOK, map[string]string{"status": "confirmed", "subscription": arn})
		return
	case "UnsubscribeConfirmation":
		// Re-subscribing is a deploy's job (pulumi up), not a message's.
		s.Logger.Warn("SNS unsubscribe confirmation received", "topic", m.TopicArn)
		writeJSON(w, http.StatusOK, map[string]string{"status": "logged"})
		return
	}
	alert, err := sns.ParseBudgetNotification(m.Message)
	if err != nil {
		s.Logger.Info("SNS notification is not a budget alert; ignored", "topic", m.TopicArn, "message_id", m.MessageID, "subject", m.Subject, "why", err)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	if s.BudgetName != "" && alert.BudgetName != s.BudgetName {
		s.Logger.Warn("budget alert for another budget; ignored", "topic", m.TopicArn, "budget", alert.BudgetName, "want", s.BudgetName)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored"})
		return
	}
	want := tenant.BreakerLevelForPercent(alert.Percent)
	if alert.Forecasted() && want > tenant.BreakerWarn {
		want = tenant.BreakerWarn
	}
	cur, err := s.Breaker.Level(r.Context())
	if err != nil {
		s.error(w, r, errors.Join(tenant.Errorf(tenant.EUNAVAILABLE, "cost breaker state unavailable"), err))
		return
	}
	if want > cur {
		if err := s.setLevel(r, want, "sns:"+m.MessageID); err != nil {
			s.error(w, r, err)
			return
		}
		cur = want
	}
	s.Logger.Info("budget alert", "budget", alert.BudgetName, "alert_type", alert.AlertType, "threshold_percent", alert.Percent, "level", cur.String())
	writeJSON(w, http.StatusOK, map[string]any{"level": cur.String(), "threshold_percent": alert.Percent, "alert_type": alert.AlertType})
}
