package stacks_test

// Checks of what a first real `pulumi up` meets that the mocks accept
// silently: each test reads what the program registers and asserts what
// AWS, EKS or Kubernetes would do with it, citing the source of the rule.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/internal/netpol"
	"github.com/tenantco/platform/stacks"
)

// evaluateWith runs a repository stack file with some keys replaced, on an
// engine the caller may have given invoke answers.
func evaluateWith(t *testing.T, e *mockengine.Engine, stack string, set map[string]string) error {
	t.Helper()
	sf, err := stacks.LoadStack("..", stack)
	require.NoError(t, err)
	cfg := map[string]string{}
	for k, v := range sf.Config {
		cfg[k] = v
	}
	for k, v := range set {
		if v == "" {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	if e.Project == "" {
		e.Project, e.Stack, e.Region = sf.Project, sf.Stack, "us-east-1"
	}
	return e.Evaluate(stacks.ReviewProgram, cfg, sf.SecretKeys)
}

// Item 1. Every workload of the tenant namespace gets exactly the network it
// needs under the default deny, computed from the NetworkPolicies the
// program registers with Kubernetes' semantics (internal/netpol; the vpc-cni
// add-on enforces them: enableNetworkPolicy). A pod no allow policy selects
// gets no DNS at all, which is how the migrations Job and the cost report
// failed before.
func TestWorkloadNetworkIsExactlyWhatEachNeeds(t *testing.T) {
	dns := []string{
		"TCP 53 pods k8s-app=kube-dns in namespaces kubernetes.io/metadata.name=kube-system",
		"UDP 53 pods k8s-app=kube-dns in namespaces kubernetes.io/metadata.name=kube-system",
	}
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			c := netpol.Load(e.Resources())
			require.Empty(t, c.Problems)
			sf, err := stacks.LoadStack("..", stack)
			require.NoError(t, err)
			cfg, err := stacks.Load(sf, sf.Project, sf.Stack)
			require.NoError(t, err)
			db := dbCIDRs(t, e)
			https := "TCP 443 ipBlock 0.0.0.0/0 except " + cfg.VPCCidr
			flows := func(ports ...string) []string {
				var out []string
				for _, p := range ports {
					for _, cidr := range db {
						out = append(out, "TCP "+p+" ipBlock "+cidr)
					}
				}
				return out
			}
			want := map[string][]string{
				"Deployment/tenantd":                         append(append(append([]string{}, dns...), flows("5432", "6379")...), https),
				"Job/" + cfg.Prefix() + "-tenantd-bootstrap": append(append(append([]string{}, dns...), flows("5432")...), https),
				"Job/" + cfg.Prefix() + "-tenantd-migrate":   append(append([]string{}, dns...), flows("5432")...),
				"CronJob/cost-report":                        append(append([]string{}, dns...), https),
			}
			// The tenant namespace's four, and the cluster's own two in
			// kube-system (metrics-server, the Cluster Autoscaler), which no
			// default deny covers: they talk to the API server, the kubelets
			// and AWS APIs, like EKS's own system pods there.
			require.Len(t, c.Workloads, len(want)+2, "every workload is judged")
			for _, name := range []string{"metrics-server", "cluster-autoscaler"} {
				w, ok := c.Workload("Deployment", name)
				require.True(t, ok, name)
				assert.Equal(t, "kube-system", w.Namespace)
				assert.False(t, c.Summary(w, netpol.Egress).Isolated, "%s: no default deny in kube-system", name)
			}
			for key, flows := range want {
				kind, name, _ := strings.Cut(key, "/")
				w, ok := c.Workload(kind, name)
				require.True(t, ok, "workload %s", key)
				sum := c.Summary(w, netpol.Egress)
				require.True(t, sum.Isolated, "%s is egress-isolated by the default deny", key)
				sort.Strings(flows)
				assert.Equal(t, flows, sum.Flows(), "%s: DNS plus exactly what it needs, nothing else", key)
				dnsOK := c.Egress(w, c.KubeDNS(), "UDP", 53)
				assert.Equal(t, netpol.Allowed, dnsOK.Verdict, "%s resolves names", key)
			}
			server, _ := c.Workload("Deployment", "tenantd")
			assert.Equal(t, []string{"TCP 8080 ipBlock " + cfg.VPCCidr}, c.Summary(server, netpol.Ingress).Flows(),
				"the load balancer reaches the server through node ports from inside the VPC")
			for _, key := range []string{"Job/" + cfg.Prefix() + "-tenantd-migrate", "CronJob/cost-report"} {
				kind, name, _ := strings.Cut(key, "/")
				w, _ := c.Workload(kind, name)
				assert.Empty(t, c.Summary(w, netpol.Ingress).Flows(), "%s takes no connections", key)
			}
		})
	}
}

func dbCIDRs(t *testing.T, e *mockengine.Engine) []string {
	t.Helper()
	var out []string
	for _, s := range e.Find("aws:ec2/subnet:Subnet") {
		if s.Tags()["tier"] == "database" {
			cidr, _ := s.String("cidrBlock")
			out = append(out, cidr)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// Item 2. EKS allows one access entry per principal (CreateAccessEntry
// answers 409 ResourceInUseException for a second), the program gives the
// deploy role its own, and pulumi-eks v2.8.1 gives the cluster creator one
// (bootstrapClusterCreatorAdminPermissions: true in nodejs/eks/cluster.ts,
// not overridable: pulumi/pulumi-eks#2373). The bootstrap config the docs
// used to show (the deploy role and an admin role listed) is refused before
// anything registers, naming the key.
func TestClusterAccessEntriesOnePerPrincipal(t *testing.T) {
	const admin = "arn:aws:iam::210987654321:role/platform-admins"
	deployRole := "arn:aws:iam::210987654321:role/platform-prod-deploy"
	e := &mockengine.Engine{}
	err := evaluateWith(t, e, "prod", map[string]string{"platform:clusterAdminArns": fmt.Sprintf(`[%q, %q]`, deployRole, admin)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "platform:clusterAdminArns")
	assert.Contains(t, err.Error(), "one access entry per principal")
	assert.Empty(t, e.Resources(), "refused before anything registers")

	e = &mockengine.Engine{}
	err = evaluateWith(t, e, "prod", map[string]string{"platform:clusterAdminArns": fmt.Sprintf(`[%q, %q]`, admin, admin)})
	require.ErrorContains(t, err, "listed twice", "a principal listed twice is refused")
	assert.Empty(t, e.Resources())

	e = &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e, "prod", map[string]string{"platform:clusterAdminArns": fmt.Sprintf(`[%q]`, admin)}))
	cluster := only(t, e, "eks:index:Cluster")
	entries, _ := cluster.Get("accessEntries")
	principals := map[string]string{}
	for key, v := range entries.(map[string]any) {
		arn := v.(map[string]any)["principalArn"].(string)
		policy := v.(map[string]any)["accessPolicies"].(map[string]any)["policy"].(map[string]any)["policyArn"].(string)
		require.NotContains(t, principals, arn, "%s and %s are the same principal", key, principals[arn])
		principals[arn] = key
		switch key {
		case "preview":
			assert.Equal(t, components.ClusterViewPolicyArn, policy, "previews read the cluster, never write")
		default:
			assert.Equal(t, components.ClusterAdminPolicyArn, policy, key)
		}
	}
	assert.Len(t, principals, 3, "the admin, the deploy role and the preview role: %v", principals)
	assert.Contains(t, principals, admin)
}

// Item 3. Every invoke the program makes runs in every PR preview under the
// read-only preview role: each must be allowed by that role's policy as the
// program registers it (deny wins; actions match with IAM's wildcards).
// Reading the RDS master secret (secretsmanager:GetSecretValue) was one, and
// the preview role denies it.
func TestPreviewRoleMayMakeEveryInvoke(t *testing.T) {
	// The IAM action behind each data source the program may read. A data
	// source missing here fails the test: add it with the calls it makes
	// (the provider's data source reads, terraform-provider-aws).
	actions := map[string][]string{
		"aws:index/getCallerIdentity:getCallerIdentity":             nil, // sts:GetCallerIdentity needs no permission (STS API reference)
		"aws:index/getAvailabilityZones:getAvailabilityZones":       {"ec2:DescribeAvailabilityZones"},
		"aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider": {"iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider"},
		"aws:eks/getCluster:getCluster":                             {"eks:DescribeCluster"},
		"aws:eks/getNodeGroup:getNodeGroup":                         {"eks:DescribeNodegroup"},
		"aws:secretsmanager/getSecretVersion:getSecretVersion":      {"secretsmanager:GetSecretValue", "kms:Decrypt"},
	}
	for _, stack := range []string{"dev", "prod"} {
		for _, preview := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/preview=%v", stack, preview), func(t *testing.T) {
				e := &mockengine.Engine{Preview: preview}
				require.NoError(t, evaluateWith(t, e, stack, nil))
				var policy iamPolicy
				doc, _ := named(t, e, "aws:iam/rolePolicy:RolePolicy", "-preview").String("policy")
				require.NoError(t, json.Unmarshal([]byte(doc), &policy))
				calls := e.Calls()
				require.NotEmpty(t, calls)
				for _, c := range calls {
					needed, known := actions[c.Token]
					if !assert.True(t, known, "the program reads %s: add the IAM actions it needs to this test", c.Token) {
						continue
					}
					for _, a := range needed {
						assert.True(t, policy.allows(a), "a preview calls %s (%s), which the preview role may not", a, c.Token)
					}
				}
			})
		}
	}
}

// iamPolicy evaluates an identity policy the way IAM does for one action on
// any resource: an explicit Deny wins, else some Allow must match; actions
// match case-insensitively with * and ? (IAM User Guide, "Policy evaluation
// logic" and "IAM JSON policy elements: Action").
type iamPolicy struct {
	Statement []struct {
		Effect    string
		Action    stringOrList
		NotAction stringOrList
		Condition map[string]any
	}
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

func (p iamPolicy) allows(action string) bool {
	allowed := false
	for _, st := range p.Statement {
		matches := slices.ContainsFunc(st.Action, func(pat string) bool { return actionMatch(pat, action) })
		if len(st.NotAction) > 0 {
			matches = !slices.ContainsFunc(st.NotAction, func(pat string) bool { return actionMatch(pat, action) })
		}
		switch {
		case !matches:
		case st.Effect == "Deny":
			return false // explicit deny wins, conditions or not: the safe reading
		case st.Effect == "Allow" && len(st.Condition) == 0:
			allowed = true
		}
	}
	return allowed
}

func actionMatch(pattern, action string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(strings.ToLower(pattern))) + "$"
	return regexp.MustCompile(re).MatchString(strings.ToLower(action))
}

func TestIAMPolicyEvaluation(t *testing.T) {
	p := iamPolicy{}
	require.NoError(t, json.Unmarshal([]byte(`{"Statement":[
		{"Effect":"Allow","Action":["eks:Describe*","ec2:DescribeAvailability?ones"]},
		{"Effect":"Deny","Action":"eks:DescribeCluster"},
		{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Condition":{"StringEquals":{"aws:ResourceTag/x":"y"}}}]}`), &p))
	assert.True(t, p.allows("EKS:describenodegroup"), "case-insensitive wildcard")
	assert.True(t, p.allows("ec2:DescribeAvailabilityZones"))
	assert.False(t, p.allows("eks:DescribeCluster"), "deny wins")
	assert.False(t, p.allows("secretsmanager:GetSecretValue"), "a conditional allow is not counted")
	assert.False(t, p.allows("iam:GetRole"), "nothing allows it")
}

// Item 4. Documentation placeholders never reach AWS: `pulumi preview` and
// `up` (stacks.Program) refuse them before anything registers, naming the
// key and the fix; the review (stacks.ReviewProgram) still runs on them.
func TestPlaceholdersRefusedBeforeAnythingRegisters(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		sf, err := stacks.LoadStack("..", stack)
		require.NoError(t, err)
		e, err := mockengine.Run(stacks.Program, sf.Project, sf.Stack, sf.Config, sf.SecretKeys, true)
		require.Error(t, err, stack)
		for _, want := range []string{
			"platform:certificateArn", "request and validate", "aws acm request-certificate",
			"platform:serviceHostname", "platform:alertEmails", "platform:clusterPublicAccessCidrs",
			"platform:runnerGithubCredentialArn", "aws codeconnections create-connection",
		} {
			assert.Contains(t, err.Error(), want, stack)
		}
		assert.Empty(t, e.Resources(), "%s: nothing registered", stack)

		real := map[string]string{}
		for k, v := range sf.Config {
			real[k] = v
		}
		real["platform:certificateArn"] = "arn:aws:acm:us-east-1:210987654321:certificate/5a3c1b2e-9d8f-4e7a-b6c5-0123456789ab"
		real["platform:serviceHostname"] = "api.tenantco.io"
		real["platform:alertEmails"] = `["platform-team@tenantco.io"]`
		real["platform:clusterPublicAccessCidrs"] = `["198.18.0.0/24"]`
		real["platform:runnerGithubCredentialArn"] = "arn:aws:codeconnections:us-east-1:210987654321:connection/7d3c2b1a-0e9f-4a8b-9c7d-6e5f4a3b2c1d"
		_, err = mockengine.Run(stacks.Program, sf.Project, sf.Stack, real, sf.SecretKeys, true)
		assert.NoError(t, err, "%s with real values deploys", stack)

		real["platform:accountId"] = "999988887777"
		_, err = mockengine.Run(stacks.Program, sf.Project, sf.Stack, real, sf.SecretKeys, true)
		assert.ErrorContains(t, err, "belongs to account 210987654321", "a certificate of another account")
	}
}

// Item 6. ignoreChanges on eks.ManagedNodeGroup would stay on the remote
// component and never reach the aws:eks/nodeGroup child its provider
// registers (pulumi/pulumi-eks#1293); the program passes a transform, which
// the engine applies to children. The mock monitor hands us the transforms:
// run them on the child pulumi-eks creates (nodejs/eks/nodegroup.ts,
// createManagedNodeGroupInternal: new aws.eks.NodeGroup(name, ...)).
func TestNodeGroupDesiredSizeIgnoredOnTheChild(t *testing.T) {
	e := evaluate(t, "prod", false)
	group := only(t, e, "eks:index:ManagedNodeGroup")
	_, ignoredOnComponent := group.Get("ignoreChanges")
	assert.False(t, ignoredOnComponent)
	transforms := e.Transforms(group.URN)
	require.NotEmpty(t, transforms, "the node group carries a transform for its children")
	child := &pulumi.ResourceTransformArgs{Custom: true, Type: components.NodeGroupChildType, Name: group.Name, Props: pulumi.Map{}}
	other := &pulumi.ResourceTransformArgs{Custom: true, Type: "aws:ec2/launchTemplate:LaunchTemplate", Name: group.Name, Props: pulumi.Map{}}
	var ignored []string
	for _, tr := range transforms {
		if r := tr(context.Background(), child); r != nil {
			child.Props, child.Opts = r.Props, r.Opts
		}
		assert.Nil(t, tr(context.Background(), other), "other children are left alone")
	}
	ignored = child.Opts.IgnoreChanges
	assert.Contains(t, ignored, "scalingConfig.desiredSize", "the autoscaler, an operator and the dev breaker own the desired size")
}

// Item 7. A replace-only change of the node group must not delete every node
// before the new group exists. With a fixed name the bridged provider has to
// delete first; the program names the group with a suffix keyed by every
// replace-only input (ForceNew in terraform-provider-aws
// internal/service/eks/node_group.go), so a replacement gets a new name and
// Pulumi's default create-before-delete applies.
func TestNodeGroupReplacementCreatesBeforeDeleting(t *testing.T) {
	e := evaluate(t, "prod", false)
	group := only(t, e, "eks:index:ManagedNodeGroup")
	id := only(t, e, "random:index/randomId:RandomId")
	keepers, _ := id.Get("keepers")
	k := keepers.(map[string]any)
	name, _ := group.String("nodeGroupName")
	assert.Regexp(t, `^platform-prod-nodes-[0-9a-f]{8}$`, name)
	assert.Contains(t, group.Dependencies, id.URN, "the name comes from the suffix")
	// The component's inputs as they reach the child aws:eks/nodeGroup.
	child := map[string]string{"cluster": "clusterName", "nodeRole": "nodeRoleArn"}
	for field := range group.Inputs {
		target := field
		if c, ok := child[field]; ok {
			target = c
		}
		for _, replaceOnly := range components.NodeGroupReplaceKeys {
			top, _, _ := strings.Cut(replaceOnly, ".")
			if top == target && target != "nodeGroupName" && target != "nodeGroupNamePrefix" {
				assert.Contains(t, k, top, "%s forces a replacement: it must key the name", target)
			}
		}
	}
	lt, _ := group.String("launchTemplate.name")
	assert.Equal(t, lt, k["launchTemplate"])
	types := group.Strings("instanceTypes")
	assert.Equal(t, strings.Join(types, ","), k["instanceTypes"])
}

// Item 8. RDS grows the disk under storage autoscaling, so a free-storage
// threshold computed at deploy time goes stale. RDS itself reports against
// the current size and the ceiling (RDS User Guide, USER_Events.Messages:
// RDS-EVENT-0225 at 80 % of the maximum, 0224 a step would reach it, 0223
// cannot scale, 0007 exhausted): an EventBridge rule for this instance's ARN
// forwards exactly those to the alerts topic, whose policy admits the rule.
func TestStorageAlertsFollowGrowth(t *testing.T) {
	e := evaluate(t, "prod", false)
	rule := only(t, e, "aws:cloudwatch/eventRule:EventRule")
	raw, _ := rule.String("eventPattern")
	var pattern struct {
		Source     []string `json:"source"`
		DetailType []string `json:"detail-type"`
		Detail     struct {
			SourceArn []string
			EventID   []string
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &pattern))
	db := only(t, e, "aws:rds/instance:Instance")
	ruleName, _ := rule.String("name")
	assert.Equal(t, []string{"aws.rds"}, pattern.Source)
	assert.Equal(t, []string{"RDS DB Instance Event"}, pattern.DetailType)
	require.Len(t, pattern.Detail.SourceArn, 1)
	assert.Contains(t, pattern.Detail.SourceArn[0], ":db:"+mustString(t, db, "identifier"))
	assert.ElementsMatch(t, []string{"RDS-EVENT-0225", "RDS-EVENT-0224", "RDS-EVENT-0223", "RDS-EVENT-0007"}, pattern.Detail.EventID)
	target := only(t, e, "aws:cloudwatch/eventTarget:EventTarget")
	arn, _ := target.String("arn")
	assert.Contains(t, arn, ":sns:")

	var topicPolicy struct{ Statement []map[string]any }
	doc, _ := only(t, e, "aws:sns/topicPolicy:TopicPolicy").String("policy")
	require.NoError(t, json.Unmarshal([]byte(doc), &topicPolicy))
	admitted := false
	for _, st := range topicPolicy.Statement {
		if p, _ := st["Principal"].(map[string]any); p["Service"] == "events.amazonaws.com" {
			like := st["Condition"].(map[string]any)["ArnLike"].(map[string]any)["aws:SourceArn"].(string)
			admitted = regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(like), `\*`, ".*") + "$").
				MatchString("arn:aws:events:us-east-1:123456789012:rule/" + ruleName)
		}
	}
	assert.True(t, admitted, "the topic policy lets the rule %s publish", ruleName)
}

func mustString(t *testing.T, r inventory.Resource, path string) string {
	t.Helper()
	s, ok := r.String(path)
	require.True(t, ok, "%s.%s", r.Name, path)
	return s
}

// Item 9. Zone names map to different physical zones in every account, and
// EKS refuses control-plane subnets in some (UnsupportedAvailabilityZone
// Exception; eksctl pkg/az/az.go zoneIDsToAvoid: us-east-1 use1-az3): the
// subnets are placed by zone ID, a lookup skips the excluded zones, and a
// listed excluded zone is refused naming the key.
func TestZonesByIDNeverEKSUnsupported(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		e := evaluate(t, stack, false)
		for _, s := range e.Find("aws:ec2/subnet:Subnet") {
			id, ok := s.String("availabilityZoneId")
			assert.True(t, ok, "%s is placed by zone ID", s.Name)
			assert.NotEqual(t, "use1-az3", id, "%s in a zone EKS rejects", s.Name)
			_, byName := s.String("availabilityZone")
			assert.False(t, byName, s.Name)
		}
	}
	e := &mockengine.Engine{}
	err := evaluateWith(t, e, "prod", map[string]string{"platform:availabilityZoneIds": `["use1-az1","use1-az2","use1-az3"]`})
	require.ErrorContains(t, err, "platform:availabilityZoneIds")
	assert.Contains(t, err.Error(), `"use1-az3" is excluded`)
	assert.Empty(t, e.Resources())

	e = &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e, "dev", nil))
	var zones []string
	for _, c := range e.Calls() {
		if c.Token == "aws:index/getAvailabilityZones:getAvailabilityZones" {
			assert.Equal(t, []any{"use1-az3"}, c.Args["excludeZoneIds"], "the lookup excludes what EKS rejects")
		}
	}
	for _, s := range e.Find("aws:ec2/subnet:Subnet") {
		if s.Tags()["tier"] == "private" {
			id, _ := s.String("availabilityZoneId")
			zones = append(zones, id)
		}
	}
	sort.Strings(zones)
	assert.Equal(t, []string{"use1-az1", "use1-az2"}, zones, "dev's two zones, the lowest IDs left")
}

// Item 10. IAM allows one OIDC provider per URL per account, and most
// accounts already have GitHub's: creating it again fails the deploy
// (EntityAlreadyExists). The program looks it up first (the data source's
// not-found is terraform-provider-aws's "couldn't find resource",
// internal/service/iam/openid_connect_provider_data_source.go) and refuses,
// naming the key to set, before anything registers.
func TestGitHubOIDCProviderAlreadyInTheAccount(t *testing.T) {
	const token = "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider"
	existing := "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com"
	found := func(tags map[string]any) func(map[string]any) (map[string]any, error) {
		return func(map[string]any) (map[string]any, error) {
			return map[string]any{"arn": existing, "id": existing, "url": "token.actions.githubusercontent.com", "tags": tags,
				"clientIdLists": []any{"sts.amazonaws.com"}, "thumbprintLists": []any{}}, nil
		}
	}
	e := &mockengine.Engine{Answers: map[string]func(map[string]any) (map[string]any, error){
		token: found(map[string]any{"project": "platform", "stack": "dev"}),
	}}
	err := evaluateWith(t, e, "prod", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "platform:githubOidcProviderArn")
	assert.Contains(t, err.Error(), "pulumi config set platform:githubOidcProviderArn "+existing)
	for _, r := range e.Resources() {
		assert.True(t, strings.HasPrefix(r.Type, "pulumi:providers:"), "only the provider registered, not %s", r.Type)
	}

	// Its own provider, from an earlier `up`: keep managing it.
	e = &mockengine.Engine{Answers: map[string]func(map[string]any) (map[string]any, error){
		token: found(map[string]any{"project": "platform", "stack": "prod"}),
	}}
	require.NoError(t, evaluateWith(t, e, "prod", nil))
	assert.Len(t, e.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider"), 2, "GitHub's and the cluster's IRSA provider")

	// Configured: no lookup, no provider created.
	e = &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e, "prod", map[string]string{"platform:githubOidcProviderArn": existing}))
	for _, c := range e.Calls() {
		assert.NotEqual(t, token, c.Token, "no lookup when the ARN is given")
	}
	assert.Len(t, e.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider"), 1, "only the cluster's IRSA provider")
}

// Item 11. Orderings and small permissions AWS enforces at create time.
func TestOrderingAndSmallPermissions(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			policy := named(t, e, "aws:sns/topicPolicy:TopicPolicy", "-cost-alerts")
			// Budgets checks it may publish to the topic when the budget and
			// each action are created (AWS Budgets User Guide, "Creating an
			// Amazon SNS topic for budget notifications"): every topic a
			// notification names (dev's 200 % topic too).
			budget := only(t, e, "aws:budgets/budget:Budget")
			policies := e.Find("aws:sns/topicPolicy:TopicPolicy")
			assert.Len(t, policies, map[string]int{"dev": 2, "prod": 1}[stack])
			for _, p := range policies {
				assert.Contains(t, budget.Dependencies, p.URN, "the budget waits for %s", p.Name)
			}
			for _, a := range e.Find("aws:budgets/budgetAction:BudgetAction") {
				assert.Contains(t, a.Dependencies, policy.URN, "%s waits for the topic policy", a.Name)
			}
			// No workload before there are nodes to run it and network
			// policies are enforced: the Kubernetes provider every workload
			// uses depends on the node group and the vpc-cni add-on.
			k8s := only(t, e, "pulumi:providers:kubernetes")
			assert.Contains(t, k8s.Dependencies, only(t, e, "eks:index:ManagedNodeGroup").URN)
			assert.Contains(t, k8s.Dependencies, only(t, e, "aws:eks/addon:Addon").URN)
			for _, typ := range []string{"kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob"} {
				for _, r := range e.Find(typ) {
					assert.Equal(t, k8s.URN, r.Provider, "%s deploys through the cluster's provider", r.Name)
				}
			}
			// The flow-logs service calls DescribeLogGroups on the role (VPC
			// User Guide, "IAM role for publishing flow logs to CloudWatch Logs").
			doc, _ := named(t, e, "aws:iam/rolePolicy:RolePolicy", "-flow-logs").String("policy")
			var p iamPolicy
			require.NoError(t, json.Unmarshal([]byte(doc), &p))
			for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:DescribeLogGroups"} {
				assert.True(t, p.allows(a), a)
			}
		})
	}
}

// The docs tell the operator what the bootstrap config is: they must not
// list the deploy role under clusterAdminArns (the program gives it its
// entry) and must say that the creator is admin already.
func TestDocsShowOneEntryPerPrincipal(t *testing.T) {
	for _, doc := range []string{"docs/delivery.md", "docs/laptop.md"} {
		raw, err := os.ReadFile(filepath.Join("..", doc))
		require.NoError(t, err)
		text := string(raw)
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, "clusterAdminArns") && strings.Contains(line, "config set") {
				assert.NotContains(t, line, "-deploy", "%s lists the deploy role as an admin: %s", doc, line)
			}
		}
		assert.Contains(t, text, "bootstrapClusterCreatorAdminPermissions", "%s says the creator already has access", doc)
	}
}
