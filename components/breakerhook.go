package components

import (
	"fmt"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// BreakerHookArgs configures BreakerHook.
type BreakerHookArgs struct {
	// Hostname is the service's public name; the hook is
	// https://<Hostname>/v1/breaker/sns. Required.
	Hostname string
	// HostedZoneID, when set, is the Route 53 public hosted zone the
	// component creates Hostname in (an alias to the load balancer).
	// Without it, Hostname must already resolve to the load balancer.
	HostedZoneID string
	// LoadBalancerDNS and LoadBalancerZoneID are the alias target. Required
	// with HostedZoneID.
	LoadBalancerDNS    pulumi.StringInput
	LoadBalancerZoneID pulumi.StringInput
	// TopicArns are the topics the service's breaker listens to (the alerts
	// topic; in dev also the 200 % topic). Required.
	TopicArns pulumi.StringArrayInput
	// TopicCount is len(TopicArns): one subscription each. Required (>= 1).
	TopicCount int
	// Serving are the resources that must be ready before SNS can reach the
	// hook: the HTTPS listener and the Deployment whose pods answer it
	// (TenantService.Serving). Required.
	Serving []pulumi.Resource
	// ConfirmationMinutes bounds how long `pulumi up` waits for the service
	// to confirm each subscription; default 10.
	ConfirmationMinutes int
}

var hostedZoneIDRe = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)

// CheckHostedZoneID validates a Route 53 hosted zone ID (Z followed by
// upper-case letters and digits, e.g. Z0123456789ABCDEFGHIJ).
func CheckHostedZoneID(id string) error {
	if !hostedZoneIDRe.MatchString(id) {
		return fmt.Errorf("%q is not a Route 53 hosted zone ID (Z followed by letters and digits; `aws route53 list-hosted-zones-by-name` shows it without the /hostedzone/ prefix)", id)
	}
	return nil
}

func (a *BreakerHookArgs) withDefaults() (BreakerHookArgs, error) {
	out := *a
	if out.ConfirmationMinutes == 0 {
		out.ConfirmationMinutes = 10
	}
	switch {
	case out.Hostname == "":
		return out, fmt.Errorf("BreakerHookArgs.Hostname: required")
	case out.TopicArns == nil || out.TopicCount < 1:
		return out, fmt.Errorf("BreakerHookArgs.TopicArns and TopicCount: at least one topic")
	case len(out.Serving) == 0:
		return out, fmt.Errorf("BreakerHookArgs.Serving: the listener and Deployment the subscriptions wait for are required")
	case out.HostedZoneID != "" && (out.LoadBalancerDNS == nil || out.LoadBalancerZoneID == nil):
		return out, fmt.Errorf("BreakerHookArgs.LoadBalancerDNS and LoadBalancerZoneID: required with HostedZoneID")
	}
	if out.HostedZoneID != "" {
		if err := CheckHostedZoneID(out.HostedZoneID); err != nil {
			return out, fmt.Errorf("BreakerHookArgs.HostedZoneID: %w", err)
		}
	}
	return out, nil
}

// BreakerHook subscribes the tenant service's breaker hook to the budget
// alert topics, in the order SNS needs: the load balancer's listener, the
// serving pods and (with a hosted zone) the DNS name first, then one HTTPS
// subscription per topic. SNS sends the subscription confirmation at once
// and delivers nothing until it is confirmed; the service confirms it
// itself, and `pulumi up` waits for that (endpointAutoConfirms: the
// provider polls PendingConfirmation until false, terraform-provider-aws
// internal/service/sns/topic_subscription.go), so a deploy whose hook does
// not work fails instead of leaving the breaker deaf.
type BreakerHook struct {
	pulumi.ResourceState

	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
}

// BreakerHookPath is where the service takes SNS deliveries.
const BreakerHookPath = "/v1/breaker/sns"

// NewBreakerHook creates BreakerHook.
func NewBreakerHook(ctx *pulumi.Context, name string, args *BreakerHookArgs, opts ...pulumi.ResourceOption) (*BreakerHook, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &BreakerHook{}
	if err := ctx.RegisterComponentResource("platform:components:BreakerHook", name, h, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(h)
	after := append([]pulumi.Resource(nil), a.Serving...)
	if a.HostedZoneID != "" {
		record, err := route53.NewRecord(ctx, name+"-dns", &route53.RecordArgs{
			ZoneId: pulumi.String(a.HostedZoneID),
			Name:   pulumi.String(a.Hostname),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name: a.LoadBalancerDNS, ZoneId: a.LoadBalancerZoneID, EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, parent, pulumi.DependsOn(a.Serving))
		if err != nil {
			return nil, err
		}
		after = append(after, record)
	}
	endpoint := "https://" + a.Hostname + BreakerHookPath
	topics := a.TopicArns.ToStringArrayOutput()
	for i := 0; i < a.TopicCount; i++ {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-%d", name, i), &sns.TopicSubscriptionArgs{
			Topic:    topics.Index(pulumi.Int(i)),
			Protocol: pulumi.String("https"),
			Endpoint: pulumi.String(endpoint),
			// The service verifies the SNS envelope's signature: raw
			// delivery would strip it.
			RawMessageDelivery:           pulumi.Bool(false),
			EndpointAutoConfirms:         pulumi.Bool(true),
			ConfirmationTimeoutInMinutes: pulumi.Int(a.ConfirmationMinutes),
		}, parent, pulumi.DependsOn(after)); err != nil {
			return nil, err
		}
	}
	h.Endpoint = pulumi.String(endpoint).ToStringOutput()
	return h, ctx.RegisterResourceOutputs(h, pulumi.Map{"endpoint": h.Endpoint})
}
