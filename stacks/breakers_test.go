package stacks_test

// The cost breakers as both stacks wire them (issue 12). Each test reads what
// the program registers and asserts what AWS does with it, citing the
// source of the rule.

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/mockengine"
)

// SNS sends the subscription confirmation once, when the subscription is
// created, and delivers nothing until it is confirmed (SNS Developer Guide,
// "HTTP/HTTPS subscription confirmation JSON format"). So the HTTPS
// subscriptions come after the listener, the serving pods and the DNS name
// (when the program owns it), one per topic a budget alert can arrive on,
// and `pulumi up` waits until the service has confirmed each.
func TestBreakerHookSubscribesLast(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := &mockengine.Engine{}
			require.NoError(t, evaluateWith(t, e, stack, map[string]string{"platform:serviceHostedZoneId": "Z0123456789ABCDEFGHIJ"}))
			host := map[string]string{"dev": "dev-api.tenantco.example", "prod": "api.tenantco.example"}[stack]
			listener := only(t, e, "aws:lb/listener:Listener")
			deployment := named(t, e, "kubernetes:apps/v1:Deployment", "-tenantd")
			record := only(t, e, "aws:route53/record:Record")
			name, _ := record.String("name")
			assert.Equal(t, host, name)
			var https []string
			for _, s := range e.Find("aws:sns/topicSubscription:TopicSubscription") {
				if p, _ := s.String("protocol"); p != "https" {
					continue
				}
				endpoint, _ := s.String("endpoint")
				assert.Equal(t, "https://"+host+components.BreakerHookPath, endpoint)
				for _, dep := range []string{listener.URN, deployment.URN, record.URN} {
					assert.Contains(t, s.Dependencies, dep, "%s subscribes after %s", s.Name, dep)
				}
				confirms, _ := s.Bool("endpointAutoConfirms")
				assert.True(t, confirms, "pulumi up waits for the service's confirmation")
				topic, _ := s.String("topic")
				https = append(https, topic)
			}
			var topics []string
			for _, t := range e.Find("aws:sns/topic:Topic") {
				topics = append(topics, t.Name)
			}
			assert.Len(t, https, len(topics), "one subscription per topic a budget alert arrives on (%v)", topics)

			// The service accepts exactly those topics and this budget.
			env := containerEnv(t, e)
			accepted := strings.Split(env["SNS_TOPIC_ARN"], ",")
			assert.ElementsMatch(t, https, accepted)
			assert.Equal(t, "platform-"+stack, env["SNS_BUDGET_NAME"])
			budget, _ := only(t, e, "aws:budgets/budget:Budget").String("name")
			assert.Equal(t, budget, env["SNS_BUDGET_NAME"])
		})
	}
	// Without a zone, no record; the README says the name must resolve first.
	e := &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e, "dev", nil))
	assert.Empty(t, e.Find("aws:route53/record:Record"))
	assert.NotEmpty(t, e.Find("aws:sns/topicSubscription:TopicSubscription"))
	// Without a name, no hook at all.
	e = &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e, "dev", map[string]string{"platform:serviceHostname": ""}))
	for _, s := range e.Find("aws:sns/topicSubscription:TopicSubscription") {
		p, _ := s.String("protocol")
		assert.NotEqual(t, "https", p)
	}
	// A zone without a name, or not a zone ID: refused naming the key,
	// before anything registers.
	for set, want := range map[string]string{
		"Z0123456789ABCDEFGHIJ":          "is set but platform:serviceHostname is not",
		"/hostedzone/Z0123456789ABCDEFG": "is not a Route 53 hosted zone ID",
	} {
		e = &mockengine.Engine{}
		cfg := map[string]string{"platform:serviceHostedZoneId": set}
		if strings.HasPrefix(want, "is set") {
			cfg["platform:serviceHostname"] = ""
		}
		err := evaluateWith(t, e, "dev", cfg)
		require.ErrorContains(t, err, "platform:serviceHostedZoneId")
		assert.Contains(t, err.Error(), want)
		assert.Empty(t, e.Resources())
	}
}

// containerEnv is the serving container's plain environment.
func containerEnv(t *testing.T, e *mockengine.Engine) map[string]string {
	t.Helper()
	dep := named(t, e, "kubernetes:apps/v1:Deployment", "-tenantd")
	raw := e.RawInputs(dep.URN)
	out := map[string]string{}
	containers := raw["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["containers"].ArrayValue()
	for _, v := range containers[0].ObjectValue()["env"].ArrayValue() {
		o := v.ObjectValue()
		if val, ok := o["value"]; ok && val.IsString() {
			out[o["name"].StringValue()] = val.StringValue()
		}
	}
	return out
}

// Dev's nodes are t3.medium: they launch with standard credits, and the
// review prices no surplus for them; its db.t4g.medium runs unlimited
// always, and the ceiling prices that (internal/cost/credits.go).
func TestDevNodesStandardCredits(t *testing.T) {
	for stack, want := range map[string]any{"dev": "standard", "prod": nil} {
		e := evaluate(t, stack, false)
		got, _ := only(t, e, "aws:ec2/launchTemplate:LaunchTemplate").Get("creditSpecification.cpuCredits")
		assert.Equal(t, want, got, stack)
	}
}

// iamServiceOf is the IAM service prefix a resource type's API calls use;
// the deploy role must be allowed it. A type missing here fails the test:
// add it with the prefix of the API its provider calls.
var iamServiceOf = map[string]string{
	"autoscaling": "autoscaling", "budgets": "budgets", "codebuild": "codebuild", "ec2": "ec2", "ecr": "ecr", "eks": "eks", "elasticache": "elasticache",
	"lb": "elasticloadbalancing", "iam": "iam", "kms": "kms", "lambda": "lambda", "rds": "rds", "route53": "route53",
	"secretsmanager": "secretsmanager", "sns": "sns", "vpc": "ec2",
	// cloudwatch is three APIs in pulumi-aws: alarms and dashboards
	// (monitoring, IAM cloudwatch), log groups (logs), EventBridge rules and
	// targets (events).
	"cloudwatch/metricAlarm": "cloudwatch", "cloudwatch/dashboard": "cloudwatch", "cloudwatch/logGroup": "logs",
	"cloudwatch/eventRule": "events", "cloudwatch/eventTarget": "events",
}

// The deploy role may call the service of every AWS resource the program
// creates (DeployServices): EventBridge rules are events:PutRule, not
// cloudwatch:*, and the service's DNS record is Route 53 (Service
// Authorization Reference, the service prefixes).
func TestDeployRoleCoversEveryResourceType(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		e := &mockengine.Engine{}
		require.NoError(t, evaluateWith(t, e, stack, map[string]string{"platform:serviceHostedZoneId": "Z0123456789ABCDEFGHIJ"}))
		seen := map[string]bool{}
		for _, r := range e.Resources() {
			if !strings.HasPrefix(r.Type, "aws:") || seen[r.Type] || strings.Contains(r.URN, "eks:index:") {
				continue
			}
			seen[r.Type] = true
			module, kind, _ := strings.Cut(strings.Split(r.Type, ":")[1], "/")
			svc, ok := iamServiceOf[module+"/"+kind]
			if !ok {
				svc, ok = iamServiceOf[module]
			}
			if assert.True(t, ok, "%s: add its IAM service prefix to iamServiceOf", r.Type) {
				assert.True(t, slices.Contains(components.DeployServices, svc), "%s calls %s, which the deploy role may not", r.Type, svc)
			}
		}
	}
}
