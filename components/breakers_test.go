package components_test

// The cost breakers under the mocks, and beyond them: each test reads what
// the component registers and checks it against the AWS behaviour it relies
// on, cited where it is stated.

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/internal/standin"
)

const (
	dbArn = "arn:aws:rds:us-east-1:123456789012:db:platform-test-db"
)

func costControls(dev bool, emails ...string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if len(emails) == 0 {
			emails = []string{"ceo@tenantco.example"}
		}
		args := &components.CostControlsArgs{
			BudgetName: "platform-test", Stack: "test", MonthlyBudgetUSD: 600, AlertEmails: emails,
			DeployRoleName: pulumi.String("platform-test-deploy"), StopServingAt200: dev,
		}
		if dev {
			args.DatabaseInstanceID = pulumi.String("platform-test-db")
			args.DatabaseInstanceArn = pulumi.String(dbArn)
			args.ClusterName = "platform-test"
			args.NodeGroupName = pulumi.String("platform-test-nodes-1a2b3c4d")
			args.NodeGroupMaxSize = 3
			args.Region = "us-east-1"
			args.AccountID = pulumi.String("123456789012")
		}
		_, err := components.NewCostControls(ctx, "platform-test-cost", args)
		return err
	}
}

func topicsByName(t *testing.T, e *mockengine.Engine) map[string]inventory.Resource {
	t.Helper()
	out := map[string]inventory.Resource{}
	for _, r := range e.Find("aws:sns/topic:Topic") {
		out[r.Name] = r
	}
	return out
}

// arnOf is the ARN the mock engine gave a resource (internal/standin: the
// physical name is the logical one plus a hash of the URN).
func arnOf(t *testing.T, r inventory.Resource) string {
	t.Helper()
	id := standin.ResourceID(r.Name, r.URN)
	switch r.Type {
	case "aws:sns/topic:Topic":
		return "arn:aws:sns:us-east-1:123456789012:" + id
	case "aws:lambda/function:Function":
		return "arn:aws:lambda:us-east-1:123456789012:function:" + id
	}
	t.Fatalf("no ARN rule for %s", r.Type)
	return ""
}

// SNS topics sign with SHA1 (SignatureVersion 1) unless their
// SignatureVersion attribute is 2 ("By default, Amazon SNS topics use
// SignatureVersion 1", SNS Developer Guide, sns-verify-signature-of-message;
// the recorded deliveries in testdata/aws/budgets/recorded are version 1),
// and the tenant service accepts version 2 only: without the attribute every
// delivery would be refused.
func TestBreakerTopicsSignWithSHA256(t *testing.T) {
	for _, dev := range []bool{true, false} {
		e, err := run(t, false, costControls(dev))
		require.NoError(t, err)
		topics := topicsByName(t, e)
		assert.Len(t, topics, map[bool]int{true: 2, false: 1}[dev])
		for name, topic := range topics {
			v, _ := topic.Number("signatureVersion")
			assert.Equal(t, 2.0, v, "%s signs with SHA256", name)
		}
	}
}

// A Budgets notification has one SNS subscriber (Budgets API Reference,
// Notification: "one SNS subscriber and up to 10 email subscribers"): in
// dev the 200 % ACTUAL alert goes to a topic of its own, which only Budgets
// of this account may publish to, and mails the recipients directly; every
// other alert goes to the alerts topic. Prod has one topic.
func TestEmergencyAlertHasItsOwnTopic(t *testing.T) {
	e, err := run(t, false, costControls(true, "a@tenantco.example", "b@tenantco.example"))
	require.NoError(t, err)
	topics := topicsByName(t, e)
	alerts, emergency := arnOf(t, topics["platform-test-cost-alerts"]), arnOf(t, topics["platform-test-cost-emergency"])
	budget := one(t, e, "aws:budgets/budget:Budget")
	for i := 0; i < 4; i++ {
		p := "notifications." + itoa(i)
		pct, _ := budget.Number(p + ".threshold")
		kind, _ := budget.String(p + ".notificationType")
		topics := budget.Strings(p + ".subscriberSnsTopicArns")
		require.Len(t, topics, 1, "one SNS subscriber per notification")
		if pct == components.EmergencyPercent && kind == "ACTUAL" {
			assert.Equal(t, emergency, topics[0])
			assert.Equal(t, []string{"a@tenantco.example", "b@tenantco.example"}, budget.Strings(p+".subscriberEmailAddresses"))
		} else {
			assert.Equal(t, alerts, topics[0], "%v %s", pct, kind)
			assert.Empty(t, budget.Strings(p+".subscriberEmailAddresses"))
		}
	}
	var policy inventory.Resource
	for _, p := range e.Find("aws:sns/topicPolicy:TopicPolicy") {
		if arn, _ := p.String("arn"); arn == emergency {
			policy = p
		}
	}
	doc := policyDoc(t, policy, "policy")
	st := statements(t, doc)
	require.Len(t, st, 1, "only one publisher")
	assert.Equal(t, map[string]any{"Service": "budgets.amazonaws.com"}, st["OnlyBudgetsPublish"]["Principal"])
	assert.Equal(t, map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "123456789012"}}, st["OnlyBudgetsPublish"]["Condition"])
	assert.Contains(t, budget.Dependencies, policy.URN, "Budgets checks it may publish when the budget is created")

	e, err = run(t, false, costControls(false))
	require.NoError(t, err)
	assert.Len(t, topicsByName(t, e), 1)
	assert.Empty(t, e.Find("aws:lambda/function:Function"))
	assert.Empty(t, e.Find("aws:cloudwatch/eventRule:EventRule"))

	// 11 recipients cannot all be mailed by the 200 % notification.
	var eleven []string
	for i := 0; i < 11; i++ {
		eleven = append(eleven, "r"+strings.Repeat("x", i)+"@tenantco.example")
	}
	e, err = run(t, false, costControls(true, eleven...))
	require.ErrorContains(t, err, "CostControlsArgs.AlertEmails")
	assert.Empty(t, e.Resources())
}

// breakerEnvRe finds the variables breaker.py's config() reads.
var breakerEnvRe = regexp.MustCompile(`e\["([A-Z_]+)"\]`)

// The function is the tested file (components/lambda/breaker.py, run by
// scripts/test-lambda.sh), embedded unchanged, with exactly the environment
// it reads; SNS invokes it only from the 200 % topic.
func TestBreakerFunctionIsTheTestedFile(t *testing.T) {
	e, err := run(t, false, costControls(true))
	require.NoError(t, err)
	fn := one(t, e, "aws:lambda/function:Function")
	handler, _ := fn.String("handler")
	assert.Equal(t, "breaker.handler", handler)
	src, err := os.ReadFile("lambda/breaker.py")
	require.NoError(t, err)
	code := e.RawInputs(fn.URN)["code"]
	require.True(t, code.IsArchive(), "code is an archive")
	assets := code.ArchiveValue().Assets
	require.Len(t, assets, 1)
	a, ok := assets["breaker.py"].(*resource.Asset)
	require.True(t, ok, "breaker.py is a file asset: %T", assets["breaker.py"])
	text := a.Text
	assert.Equal(t, string(src), text, "the deployed code is the tested file")

	var read []string
	for _, m := range breakerEnvRe.FindAllStringSubmatch(string(src), -1) {
		read = append(read, m[1])
	}
	set := []string{}
	vars, _ := fn.Get("environment.variables")
	for k := range vars.(map[string]any) {
		set = append(set, k)
	}
	sort.Strings(read)
	sort.Strings(set)
	want := append([]string(nil), components.BreakerFunctionEnv...)
	sort.Strings(want)
	assert.Equal(t, want, read, "breaker.py reads BreakerFunctionEnv")
	assert.Equal(t, want, set, "the component sets BreakerFunctionEnv")
	for k, v := range vars.(map[string]any) {
		assert.NotEmpty(t, v, k)
	}

	topics := topicsByName(t, e)
	emergency := arnOf(t, topics["platform-test-cost-emergency"])
	subs := e.Find("aws:sns/topicSubscription:TopicSubscription")
	var fnSubs []inventory.Resource
	for _, s := range subs {
		if p, _ := s.String("protocol"); p == "lambda" {
			fnSubs = append(fnSubs, s)
		}
	}
	require.Len(t, fnSubs, 1, "the function hears one topic")
	topic, _ := fnSubs[0].String("topic")
	assert.Equal(t, emergency, topic, "only the 200 % topic, never the alerts topic the cost report publishes to")
	perms := map[string]string{}
	for _, p := range e.Find("aws:lambda/permission:Permission") {
		principal, _ := p.String("principal")
		src, _ := p.String("sourceArn")
		perms[src] = principal
	}
	assert.Equal(t, "sns.amazonaws.com", perms[emergency])
}

// RDS starts a stopped instance after 7 days (StopDBInstance, RDS API
// Reference: "The instance restarts automatically after 7 days") and says so
// with RDS-EVENT-0154, then RDS-EVENT-0088 once it is up (RDS User Guide,
// USER_Events.Messages, DB instance events). RDS sends them to EventBridge
// as source aws.rds, detail-type "RDS DB Instance Event", the event's fields
// under detail (EventBridge Events Reference, events-ref-rds; EventBridge
// matches every listed field, an array being "any of"). The rules take
// exactly this instance's two events to the function, the auto-start one
// also to the alerts topic, whose policy admits rules named <budget>-*.
func TestDatabaseAutoStartRules(t *testing.T) {
	e, err := run(t, false, costControls(true))
	require.NoError(t, err)
	rules := map[string]inventory.Resource{}
	for _, r := range e.Find("aws:cloudwatch/eventRule:EventRule") {
		n, _ := r.String("name")
		rules[n] = r
	}
	require.Len(t, rules, 2)
	fnArn := arnOf(t, one(t, e, "aws:lambda/function:Function"))
	alerts := arnOf(t, topicsByName(t, e)["platform-test-cost-alerts"])
	targets := map[string][]string{}
	for _, tg := range e.Find("aws:cloudwatch/eventTarget:EventTarget") {
		rule, _ := tg.String("rule")
		arn, _ := tg.String("arn")
		targets[rule] = append(targets[rule], arn)
	}
	perms := map[string]string{}
	for _, p := range e.Find("aws:lambda/permission:Permission") {
		principal, _ := p.String("principal")
		src, _ := p.String("sourceArn")
		perms[src] = principal
	}
	var topicPolicy map[string]any
	for _, p := range e.Find("aws:sns/topicPolicy:TopicPolicy") {
		if arn, _ := p.String("arn"); arn == alerts {
			topicPolicy = policyDoc(t, p, "policy")
		}
	}
	like := statements(t, topicPolicy)["StackEventRulesPublish"]["Condition"].(map[string]any)["ArnLike"].(map[string]any)["aws:SourceArn"].(string)
	admitted := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(like), `\*`, ".*") + "$")

	for name, want := range map[string]struct {
		event   string
		targets []string
	}{
		"platform-test" + components.AutoStartRuleSuffix: {components.RDSAutoStartEvent, []string{alerts, fnArn}},
		"platform-test" + components.StartedRuleSuffix:   {components.RDSStartedEvent, []string{fnArn}},
	} {
		r, ok := rules[name]
		require.True(t, ok, name)
		raw, _ := r.String("eventPattern")
		var pattern map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &pattern))
		assert.Equal(t, map[string]any{
			"source": []any{"aws.rds"}, "detail-type": []any{"RDS DB Instance Event"},
			"detail": map[string]any{"SourceArn": []any{dbArn}, "EventID": []any{want.event}},
		}, pattern, name)
		assert.ElementsMatch(t, want.targets, targets[name], name)
		ruleArn := "arn:aws:events:us-east-1:123456789012:rule/" + name
		assert.Equal(t, "events.amazonaws.com", perms[ruleArn], "%s may invoke the function", name)
		assert.True(t, admitted.MatchString(ruleArn), "the alerts topic admits %s", name)
	}
	// The recorded auto-start event (testdata/aws) matches the pattern.
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Detail     struct{ SourceArn, EventID string }
	}
	raw, err := os.ReadFile("../testdata/aws/other/rds-auto-start-event.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &ev))
	assert.Equal(t, []string{"aws.rds", "RDS DB Instance Event", components.RDSAutoStartEvent},
		[]string{ev.Source, ev.DetailType, ev.Detail.EventID})
}

// What the function may do, and nothing more: scale its node group, stop
// its database, read the 200 % action's status, tell the alerts topic.
func TestBreakerFunctionPermissions(t *testing.T) {
	e, err := run(t, false, costControls(true))
	require.NoError(t, err)
	var doc map[string]any
	for _, p := range e.Find("aws:iam/rolePolicy:RolePolicy") {
		if strings.HasSuffix(p.Name, "-emergency-stop") {
			doc = policyDoc(t, p, "policy")
		}
	}
	require.NotNil(t, doc)
	st := statements(t, doc)
	var stopID string
	for _, a := range e.Find("aws:budgets/budgetAction:BudgetAction") {
		if typ, _ := a.String("actionType"); typ == "RUN_SSM_DOCUMENTS" {
			stopID = a.Name
		}
	}
	require.NotEmpty(t, stopID)
	want := map[string][2]any{
		// DescribeNodegroup finds the group's autoscaling group, whose
		// Cluster Autoscaler tag it flips first.
		"ScaleNodeGroup":      {[]any{"eks:UpdateNodegroupConfig", "eks:DescribeNodegroup"}, "arn:aws:eks:us-east-1:123456789012:nodegroup/platform-test/platform-test-nodes-1a2b3c4d/*"},
		"KeepDatabaseStopped": {"rds:StopDBInstance", dbArn},
		"Tell":                {"sns:Publish", arnOf(t, topicsByName(t, e)["platform-test-cost-alerts"])},
	}
	for sid, w := range want {
		assert.Equal(t, w[0], st[sid]["Action"], sid)
		assert.Equal(t, w[1], st[sid]["Resource"], sid)
	}
	assert.Equal(t, "budgets:DescribeBudgetAction", st["ReadEmergencyState"]["Action"])
	assert.Regexp(t, `^arn:aws:budgets::123456789012:budget/platform-test/action/[0-9a-f-]{36}$`, st["ReadEmergencyState"]["Resource"])
	// CreateOrUpdateTags takes no group ARN the policy could know (the ASG
	// is EKS's, named at creation): "*" is scoped by conditions instead, to
	// this cluster's groups (aws:ResourceTag) and to the one tag
	// (aws:TagKeys) — Service Authorization Reference, Amazon EC2 Auto
	// Scaling, CreateOrUpdateTags: resource autoScalingGroup, condition keys
	// aws:ResourceTag/${TagKey}, aws:TagKeys.
	assert.Equal(t, "autoscaling:CreateOrUpdateTags", st["StopTheAutoscaler"]["Action"])
	assert.Equal(t, map[string]any{
		"StringEquals":              map[string]any{"aws:ResourceTag/" + components.AutoscalerClusterTag("platform-test"): "owned"},
		"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{components.AutoscalerEnabledTag}},
	}, st["StopTheAutoscaler"]["Condition"])
	for sid, s := range st {
		if sid != "StopTheAutoscaler" {
			assert.NotEqual(t, "*", s["Resource"], "%s is scoped", sid)
		}
	}
	// Only Lambda may assume the function's role.
	for _, r := range e.Find("aws:iam/role:Role") {
		if strings.HasSuffix(r.Name, "-emergency-stop") {
			trust := statements(t, map[string]any{"Statement": addSids(policyDoc(t, r, "assumeRolePolicy")["Statement"].([]any))})
			require.Len(t, trust, 1)
			assert.Equal(t, map[string]any{"Service": "lambda.amazonaws.com"}, trust["0"]["Principal"])
			assert.Equal(t, "sts:AssumeRole", trust["0"]["Action"])
		}
	}
}

// addSids names unnamed statements by their position.
func addSids(sts []any) []any {
	out := make([]any, len(sts))
	for i, s := range sts {
		m := map[string]any{}
		for k, v := range s.(map[string]any) {
			m[k] = v
		}
		if _, ok := m["Sid"]; !ok {
			m["Sid"] = itoa(i)
		}
		out[i] = m
	}
	return out
}

// BreakerHook: the name and the listener and pods first, then one HTTPS
// subscription per topic that `pulumi up` waits on until the service has
// confirmed it (endpointAutoConfirms; terraform-provider-aws
// internal/service/sns/topic_subscription.go waits for PendingConfirmation
// false for confirmation_timeout_in_minutes on http/https). Raw delivery
// stays off: it would strip the signed envelope the service verifies.
func TestBreakerHookSubscribesAfterTheServiceServes(t *testing.T) {
	hook := func(zone string) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			// Stand-ins for the listener and the Deployment.
			listener, err := sns.NewTopic(ctx, "listener", nil)
			if err != nil {
				return err
			}
			pods, err := sns.NewTopic(ctx, "deployment", nil)
			if err != nil {
				return err
			}
			_, err = components.NewBreakerHook(ctx, "platform-test-breaker-hook", &components.BreakerHookArgs{
				Hostname: "dev-api.tenantco.example", HostedZoneID: zone,
				LoadBalancerDNS: pulumi.String("alb.us-east-1.elb.amazonaws.com"), LoadBalancerZoneID: pulumi.String("Z35SXDOTRQ7X7K"),
				TopicArns:  pulumi.StringArray{pulumi.String("arn:aws:sns:us-east-1:123456789012:alerts"), pulumi.String("arn:aws:sns:us-east-1:123456789012:emergency")},
				TopicCount: 2, Serving: []pulumi.Resource{listener, pods},
			})
			return err
		}
	}
	e, err := run(t, false, hook("Z0123456789ABCDEFGHIJ"))
	require.NoError(t, err)
	var serving []string
	for _, r := range e.Find("aws:sns/topic:Topic") {
		serving = append(serving, r.URN)
	}
	record := one(t, e, "aws:route53/record:Record")
	for path, want := range map[string]any{"zoneId": "Z0123456789ABCDEFGHIJ", "name": "dev-api.tenantco.example", "type": "A",
		"aliases.0.name": "alb.us-east-1.elb.amazonaws.com", "aliases.0.zoneId": "Z35SXDOTRQ7X7K", "aliases.0.evaluateTargetHealth": true} {
		got, _ := record.Get(path)
		assert.Equal(t, want, got, path)
	}
	subs := e.Find("aws:sns/topicSubscription:TopicSubscription")
	require.Len(t, subs, 2)
	var topics []string
	for _, s := range subs {
		for path, want := range map[string]any{"protocol": "https", "endpoint": "https://dev-api.tenantco.example/v1/breaker/sns",
			"endpointAutoConfirms": true, "confirmationTimeoutInMinutes": 10.0, "rawMessageDelivery": false} {
			got, _ := s.Get(path)
			assert.Equal(t, want, got, "%s %s", s.Name, path)
		}
		topic, _ := s.String("topic")
		topics = append(topics, topic)
		for _, dep := range append(serving, record.URN) {
			assert.Contains(t, s.Dependencies, dep, "%s waits for %s", s.Name, dep)
		}
	}
	assert.ElementsMatch(t, []string{"arn:aws:sns:us-east-1:123456789012:alerts", "arn:aws:sns:us-east-1:123456789012:emergency"}, topics)

	// Without a zone the name must already resolve: no record.
	e, err = run(t, false, hook(""))
	require.NoError(t, err)
	assert.Empty(t, e.Find("aws:route53/record:Record"))
	assert.Len(t, e.Find("aws:sns/topicSubscription:TopicSubscription"), 2)

	e, err = run(t, false, hook("/hostedzone/Z0123"))
	require.ErrorContains(t, err, "BreakerHookArgs.HostedZoneID")
	assert.Empty(t, e.Find("aws:sns/topicSubscription:TopicSubscription"))
}

// T3/T3a/T4g launch unlimited by default ("T3 instances are launched as
// unlimited by default", pulumi-aws ec2.LaunchTemplateCreditSpecification;
// EC2 User Guide, burstable performance instances, unlimited mode): the
// node template sets standard credits for burstable nodes, none for others
// (a credit option applies to T instances only), and refuses a mix, since
// the one template serves every instance type of the group.
func TestBurstableNodesLaunchWithStandardCredits(t *testing.T) {
	cluster := func(types ...string) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			_, err := components.NewCluster(ctx, "eks", &components.ClusterArgs{
				ClusterName: "platform-test", Version: "1.35", VpcID: pulumi.String("vpc-1"),
				PrivateSubnetIDs:    pulumi.ToStringArray([]string{"subnet-private-a", "subnet-private-b"}),
				PublicSubnetIDs:     pulumi.ToStringArray([]string{"subnet-public-a", "subnet-public-b"}),
				NodeSecurityGroupID: pulumi.String("sg-nodes"), InstanceTypes: types, MinSize: 1, DesiredSize: 1, MaxSize: 3,
			})
			return err
		}
	}
	for types, want := range map[string]any{"t3.medium": "standard", "t3.medium,t3a.medium": "standard", "t4g.medium": "standard", "m6i.large": nil} {
		e, err := run(t, false, cluster(strings.Split(types, ",")...))
		require.NoError(t, err, types)
		got, _ := one(t, e, "aws:ec2/launchTemplate:LaunchTemplate").Get("creditSpecification.cpuCredits")
		assert.Equal(t, want, got, types)
	}
	e, err := run(t, false, cluster("t3.large", "m6i.large"))
	require.ErrorContains(t, err, "ClusterArgs.InstanceTypes")
	assert.Empty(t, e.Resources())
}
