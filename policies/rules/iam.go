package rules

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Rules that judge IAM roles together with the resources they serve: the
// CI runner's CodeBuild role and the node autoscaler's IRSA role. A role is
// linked to its inline policies and attachments through the dependencies
// the engine records (a policy's role input is the role's id).

const (
	typeIAMRole           = "aws:iam/role:Role"
	typeIAMRolePolicy     = "aws:iam/rolePolicy:RolePolicy"
	typeIAMRoleAttachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeCodeBuildProject  = "aws:codebuild/project:Project"
)

// RunnerActions are all a CI runner's own role may be allowed: write its
// build logs, manage its build's network interface in the VPC, read the
// GitHub credential it registers with. A runner job that needs AWS assumes
// the deploy or preview role through GitHub OIDC instead, so the GitHub
// environment's protection rules keep deciding who deploys. The list is the
// rule's own, equal today to components.RunnerRoleActions on purpose: a
// guardrail that read the component's list would approve whatever the
// component grants, so widening the runner's role takes a change here too,
// reviewed as a change of policy.
var RunnerActions = []string{
	"logs:CreateLogStream", "logs:PutLogEvents",
	"ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
	"ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
	"ec2:CreateNetworkInterfacePermission",
	"codeconnections:GetConnectionToken", "codeconnections:GetConnection",
	"codestar-connections:GetConnectionToken", "codestar-connections:GetConnection",
	"secretsmanager:GetSecretValue",
}

// AutoscalingGroupWriteActions resize or reshape autoscaling groups.
var AutoscalingGroupWriteActions = []string{
	"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup",
}

// autoscalerClusterTag is the tag key prefix EKS puts on a managed node
// group's autoscaling group, naming its cluster (value "owned").
const autoscalerClusterTag = "k8s.io/cluster-autoscaler/"

var ciRunnerScoped = Rule{
	ID: "ci-runner-scoped",
	Description: "Every aws:codebuild/project (the CI runner) builds inside the VPC (vpcConfig with vpcId, subnets and " +
		"securityGroupIds), logs to CloudWatch in a log group of the stack (logsConfig.cloudwatchLogs.groupName; the group's " +
		"retention is log-group-retention's), and its service role is a role of the stack that trusts codebuild.amazonaws.com, " +
		"whose inline policies allow only the runner's own actions (" + strings.Join(RunnerActions, ", ") + ") and that has no " +
		"managed policy: the runner holds no AWS or cluster rights, its jobs assume the deploy or preview role through GitHub OIDC.",
	Dev: Mandatory, Prod: Mandatory,
	CheckStack: func(rs []inventory.Resource, _ Settings) ([]Finding, error) {
		g := newResourceGraph(rs)
		var out []Finding
		for _, p := range g.ofType(typeCodeBuildProject) {
			out = append(out, runnerNetwork(p)...)
			out = append(out, runnerLogs(g, p)...)
			out = append(out, runnerRole(g, p)...)
		}
		return out, nil
	},
}

func runnerNetwork(p inventory.Resource) []Finding {
	var out []Finding
	for _, field := range []string{"vpcConfig.vpcId", "vpcConfig.subnets", "vpcConfig.securityGroupIds"} {
		v, st := p.Lookup(field)
		switch {
		case st.Opaque():
			out = append(out, Finding{URN: p.URN, Message: "cannot verify during preview: " + field + " unknown", Advisory: true})
		case st == inventory.StateAbsent || v == "" || isEmptyList(v):
			out = append(out, Finding{URN: p.URN, Message: fmt.Sprintf("%s is not set: the runner's builds would run on CodeBuild's "+
				"shared network, outside the VPC, where the private cluster endpoint is unreachable and no security group limits them", field)})
		}
	}
	return out
}

func runnerLogs(g *resourceGraph, p inventory.Resource) []Finding {
	status, _ := p.StringAt("logsConfig.cloudwatchLogs.status")
	if status == "DISABLED" {
		return []Finding{{URN: p.URN, Message: "logsConfig.cloudwatchLogs.status is DISABLED: deploy jobs would leave no logs in the account"}}
	}
	group, st := p.StringAt("logsConfig.cloudwatchLogs.groupName")
	switch st {
	case inventory.StateUnknown, inventory.StateSecret:
		return []Finding{{URN: p.URN, Message: "cannot verify during preview: logsConfig.cloudwatchLogs.groupName unknown", Advisory: true}}
	case inventory.StateAbsent:
		return []Finding{{URN: p.URN, Message: "logsConfig.cloudwatchLogs.groupName is not set: CodeBuild creates /aws/codebuild/<project> " +
			"itself, with no retention; name a log group of the stack"}}
	}
	for _, lg := range g.ofType(typeLogGroup) {
		if n, _ := lg.StringAt("name"); n == group {
			return nil
		}
	}
	return []Finding{{URN: p.URN, Message: fmt.Sprintf("logsConfig.cloudwatchLogs.groupName %q is not a log group of the stack: "+
		"its retention is nobody's; create it in the stack", group)}}
}

func runnerRole(g *resourceGraph, p inventory.Resource) []Finding {
	var roles []inventory.Resource
	for _, r := range g.dependencies(p, typeIAMRole) {
		if trusts, _ := trustsService(r, "codebuild.amazonaws.com"); trusts {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		if _, st := p.StringAt("serviceRole"); st.Opaque() && len(g.dependencies(p, typeIAMRole)) > 0 {
			return []Finding{{URN: p.URN, Message: "cannot verify during preview: which role trusts CodeBuild (assumeRolePolicy unknown)", Advisory: true}}
		}
		return []Finding{{URN: p.URN, Message: "serviceRole is not a role of the stack that trusts codebuild.amazonaws.com: its permissions " +
			"cannot be checked; create the runner's role in the stack"}}
	}
	var out []Finding
	for _, role := range roles {
		if arns, st := role.StringsAt("managedPolicyArns"); st == inventory.StateKnown && len(arns) > 0 {
			out = append(out, Finding{URN: role.URN, Message: fmt.Sprintf("the CI runner's role has managed policies %s: it may hold only %s",
				strings.Join(arns, ", "), "the runner's own actions")})
		}
		for _, att := range g.dependents(role, typeIAMRoleAttachment) {
			arn, _ := att.StringAt("policyArn")
			out = append(out, Finding{URN: att.URN, Message: fmt.Sprintf("managed policy %s is attached to the CI runner's role: "+
				"it may hold only the runner's own actions (logs, its network interface, the GitHub credential)", arn)})
		}
		docs := g.inlinePolicies(role)
		for _, d := range docs {
			if d.state.Opaque() {
				out = append(out, Finding{URN: d.urn, Message: "cannot verify during preview: the CI runner role's policy unknown", Advisory: true})
				continue
			}
			for _, st := range d.doc.Statement {
				if st.Effect != "Allow" {
					continue
				}
				if len(st.NotAction) > 0 {
					out = append(out, Finding{URN: d.urn, Message: "an Allow with NotAction on the CI runner's role allows everything else"})
				}
				var extra []string
				for _, a := range st.Action {
					if !slices.ContainsFunc(RunnerActions, func(ok string) bool { return strings.EqualFold(ok, a) }) {
						extra = append(extra, a)
					}
				}
				if len(extra) > 0 {
					out = append(out, Finding{URN: d.urn, Message: fmt.Sprintf("the CI runner's role allows %s: it may hold only the runner's own "+
						"actions; a job that needs AWS assumes the deploy or preview role through GitHub OIDC (the environment's rules gate it)",
						strings.Join(extra, ", "))})
				}
			}
		}
	}
	return out
}

var autoscalerIAMScoped = Rule{
	ID: "autoscaler-iam-scoped",
	Description: "A role a Kubernetes service account assumes (IRSA: sts:AssumeRoleWithWebIdentity from an EKS OIDC provider) that may " +
		"resize autoscaling groups (" + strings.Join(AutoscalingGroupWriteActions, ", ") + ", or a wildcard covering one) does so only under " +
		"a StringEquals condition aws:ResourceTag/k8s.io/cluster-autoscaler/<cluster> = owned naming an EKS cluster of the stack: " +
		"the node autoscaler can resize this cluster's node groups and no other autoscaling group of the account.",
	Dev: Mandatory, Prod: Mandatory,
	CheckStack: func(rs []inventory.Resource, _ Settings) ([]Finding, error) {
		g := newResourceGraph(rs)
		var clusters []string
		for _, typ := range []string{typeEKSComponent, typeEKSCluster} {
			for _, c := range g.ofType(typ) {
				if n, st := c.StringAt("name"); st == inventory.StateKnown {
					clusters = append(clusters, n)
				}
			}
		}
		var out []Finding
		for _, role := range g.ofType(typeIAMRole) {
			irsa, st := trustsEKSServiceAccount(role)
			if !irsa && st == inventory.StateKnown {
				continue
			}
			for _, d := range g.inlinePolicies(role) {
				if d.state.Opaque() {
					if st != inventory.StateKnown {
						continue // nothing known about this role yet
					}
					out = append(out, Finding{URN: d.urn, Message: "cannot verify during preview: the policy of an IRSA role unknown", Advisory: true})
					continue
				}
				for _, stmt := range d.doc.Statement {
					if stmt.Effect != "Allow" || !stmt.grantsAny(AutoscalingGroupWriteActions) {
						continue
					}
					if cluster, ok := stmt.scopedToCluster(clusters); !ok {
						msg := fmt.Sprintf("a role assumed from Kubernetes may call %s on any autoscaling group of the account: add the condition "+
							"StringEquals aws:ResourceTag/%s<cluster> = owned for a cluster of this stack (%s)",
							strings.Join(stmt.matching(AutoscalingGroupWriteActions), ", "), autoscalerClusterTag, strings.Join(clusters, ", "))
						if cluster != "" {
							msg = fmt.Sprintf("a role assumed from Kubernetes may resize the autoscaling groups of cluster %q, which is not "+
								"a cluster of this stack (%s)", cluster, strings.Join(clusters, ", "))
						}
						if st != inventory.StateKnown {
							out = append(out, Finding{URN: d.urn, Advisory: true, Message: "cannot verify during preview (trust policy unknown): " + msg})
							continue
						}
						out = append(out, Finding{URN: d.urn, Message: msg})
					}
				}
			}
		}
		return out, nil
	},
}

// ---- IAM documents ----

type iamDoc struct {
	Statement []iamStatement
}

type iamStatement struct {
	Effect    string
	Action    stringList
	NotAction stringList
	Principal map[string]any
	Condition map[string]map[string]any
}

type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

func (d *iamDoc) UnmarshalJSON(b []byte) error {
	// A single statement may be an object rather than a list.
	var raw struct{ Statement json.RawMessage }
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var one iamStatement
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return err
		}
		d.Statement = []iamStatement{one}
		return nil
	}
	return json.Unmarshal(raw.Statement, &d.Statement)
}

// actionMatches matches an IAM action pattern (case-insensitive, * and ?)
// against an action (IAM User Guide, "IAM JSON policy elements: Action").
func actionMatches(pattern, action string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(strings.ToLower(pattern))) + "$"
	return regexp.MustCompile(re).MatchString(strings.ToLower(action))
}

func (s iamStatement) matching(actions []string) []string {
	var out []string
	for _, a := range actions {
		if slices.ContainsFunc(s.Action, func(p string) bool { return actionMatches(p, a) }) ||
			len(s.NotAction) > 0 && !slices.ContainsFunc(s.NotAction, func(p string) bool { return actionMatches(p, a) }) {
			out = append(out, a)
		}
	}
	return out
}

func (s iamStatement) grantsAny(actions []string) bool { return len(s.matching(actions)) > 0 }

// scopedToCluster reports whether the statement requires the cluster tag
// of one of clusters (StringEquals, value owned); cluster is the cluster
// the condition names, if any.
func (s iamStatement) scopedToCluster(clusters []string) (cluster string, ok bool) {
	for key, v := range s.Condition["StringEquals"] {
		for _, prefix := range []string{"aws:ResourceTag/" + autoscalerClusterTag, "autoscaling:ResourceTag/" + autoscalerClusterTag} {
			name, found := strings.CutPrefix(key, prefix)
			if !found || name == "enabled" || strings.ContainsAny(name, "*?") {
				continue
			}
			if val, _ := v.(string); val != "owned" {
				continue
			}
			cluster = name
			if slices.Contains(clusters, name) {
				return name, true
			}
		}
	}
	return cluster, false
}

// trustsService reports whether a role's trust policy lets an AWS service
// assume it.
func trustsService(role inventory.Resource, service string) (bool, inventory.State) {
	doc, st := parsePolicy(role, "assumeRolePolicy")
	if st != inventory.StateKnown {
		return false, st
	}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" {
			continue
		}
		for _, v := range principalValues(s.Principal, "Service") {
			if v == service {
				return true, st
			}
		}
	}
	return false, st
}

// trustsEKSServiceAccount reports whether a role is an IRSA role: web
// identity whose subject is a Kubernetes service account
// (system:serviceaccount:<namespace>:<name>), or, with no subject
// condition at all, any identity of an EKS cluster's OIDC provider.
// GitHub's OIDC subjects (repo:…) are not.
func trustsEKSServiceAccount(role inventory.Resource) (bool, inventory.State) {
	doc, st := parsePolicy(role, "assumeRolePolicy")
	if st != inventory.StateKnown {
		return false, st
	}
	for _, s := range doc.Statement {
		if s.Effect != "Allow" || !slices.ContainsFunc(s.Action, func(p string) bool { return actionMatches(p, "sts:AssumeRoleWithWebIdentity") }) {
			continue
		}
		var subs []string
		for _, keys := range s.Condition {
			for k, v := range keys {
				if strings.HasSuffix(k, ":sub") {
					subs = append(subs, conditionValues(v)...)
				}
			}
		}
		if slices.ContainsFunc(subs, func(v string) bool { return strings.HasPrefix(v, "system:serviceaccount:") }) {
			return true, st
		}
		if len(subs) == 0 && slices.ContainsFunc(principalValues(s.Principal, "Federated"), func(v string) bool {
			return strings.Contains(v, ":oidc-provider/oidc.eks.")
		}) {
			return true, st
		}
	}
	return false, st
}

func conditionValues(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func principalValues(p map[string]any, kind string) []string {
	switch v := p[kind].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// parsePolicy reads a JSON policy document input.
func parsePolicy(r inventory.Resource, field string) (iamDoc, inventory.State) {
	var doc iamDoc
	s, st := r.StringAt(field)
	if st != inventory.StateKnown {
		return doc, st
	}
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return doc, inventory.StateAbsent
	}
	return doc, st
}

// ---- the stack as a graph ----

type resourceGraph struct {
	all   []inventory.Resource
	byURN map[string]inventory.Resource
}

func newResourceGraph(rs []inventory.Resource) *resourceGraph {
	g := &resourceGraph{all: rs, byURN: map[string]inventory.Resource{}}
	for _, r := range rs {
		g.byURN[r.URN] = r
	}
	return g
}

func (g *resourceGraph) ofType(typ string) []inventory.Resource {
	var out []inventory.Resource
	for _, r := range g.all {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// dependencies are the resources of typ r depends on.
func (g *resourceGraph) dependencies(r inventory.Resource, typ string) []inventory.Resource {
	var out []inventory.Resource
	seen := map[string]bool{}
	for _, urn := range r.Dependencies {
		if d, ok := g.byURN[urn]; ok && d.Type == typ && !seen[urn] {
			seen[urn] = true
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// dependents are the resources of typ that depend on r.
func (g *resourceGraph) dependents(r inventory.Resource, typ string) []inventory.Resource {
	var out []inventory.Resource
	for _, d := range g.all {
		if d.Type == typ && slices.Contains(d.Dependencies, r.URN) {
			out = append(out, d)
		}
	}
	return out
}

type policyDoc struct {
	urn   string
	doc   iamDoc
	state inventory.State
}

// inlinePolicies are a role's inline policies: aws:iam/rolePolicy
// resources that depend on it, and its own inlinePolicies input.
func (g *resourceGraph) inlinePolicies(role inventory.Resource) []policyDoc {
	var out []policyDoc
	for _, p := range g.dependents(role, typeIAMRolePolicy) {
		doc, st := parsePolicy(p, "policy")
		out = append(out, policyDoc{urn: p.URN, doc: doc, state: st})
	}
	if list, st := role.ListAt("inlinePolicies"); st == inventory.StateKnown {
		for i := range list {
			doc, st := parsePolicy(role, fmt.Sprintf("inlinePolicies.%d.policy", i))
			out = append(out, policyDoc{urn: role.URN, doc: doc, state: st})
		}
	}
	return out
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}
