package rules

import (
	"encoding/json"
	"testing"

	"github.com/tenantco/platform/internal/inventory"
)

// stackRun returns one rule's violations over a stack.
func stackRun(t *testing.T, ruleID string, rs []inventory.Resource, env string) []Violation {
	t.Helper()
	vs, err := Evaluate(rs, settings(env))
	if err != nil {
		t.Fatal(err)
	}
	var out []Violation
	for _, v := range vs {
		if v.RuleID == ruleID {
			out = append(out, v)
		}
	}
	return out
}

func doc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func dependsOn(r inventory.Resource, on ...inventory.Resource) inventory.Resource {
	for _, o := range on {
		r.Dependencies = append(r.Dependencies, o.URN)
	}
	return r
}

// The CI runner as components.NewDeployRunner registers it.
func runnerStack(policy map[string]any) []inventory.Resource {
	role := awsRes(typeIAMRole, "dev-runner", obj{"assumeRolePolicy": doc(obj{"Version": "2012-10-17", "Statement": list(obj{
		"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": obj{"Service": "codebuild.amazonaws.com"}})})})
	rolePolicy := dependsOn(awsRes(typeIAMRolePolicy, "dev-runner", obj{"role": "dev-runner-abc", "policy": doc(policy)}), role)
	logGroup := awsRes(typeLogGroup, "dev-runner", obj{"name": "/aws/codebuild/platform-dev-runner", "retentionInDays": 14.0})
	project := dependsOn(awsRes(typeCodeBuildProject, "dev-runner", obj{
		"serviceRole": "arn:aws:iam::123456789012:role/dev-runner-abc",
		"vpcConfig":   obj{"vpcId": "vpc-1", "subnets": list("subnet-a", "subnet-b"), "securityGroupIds": list("sg-runner")},
		"logsConfig":  obj{"cloudwatchLogs": obj{"status": "ENABLED", "groupName": "/aws/codebuild/platform-dev-runner"}},
		"environment": obj{"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_MEDIUM", "image": "aws/codebuild/standard:7.0"},
	}), role, rolePolicy, logGroup)
	return []inventory.Resource{role, rolePolicy, logGroup, project}
}

var runnerPolicy = obj{"Version": "2012-10-17", "Statement": list(
	obj{"Effect": "Allow", "Action": list("logs:CreateLogStream", "logs:PutLogEvents"), "Resource": "arn:aws:logs:us-east-1:1:log-group:/aws/codebuild/x"},
	obj{"Effect": "Allow", "Action": list("ec2:CreateNetworkInterface", "ec2:DescribeSubnets"), "Resource": "*"},
	obj{"Effect": "Allow", "Action": list("codeconnections:GetConnectionToken", "codeconnections:GetConnection"), "Resource": "arn:aws:codeconnections:us-east-1:1:connection/x"},
)}

func TestCIRunnerScoped(t *testing.T) {
	ok := runnerStack(runnerPolicy)
	assertViolations(t, stackRun(t, "ci-runner-scoped", ok, Prod), nil)

	find := func(rs []inventory.Resource, typ string) int {
		for i, r := range rs {
			if r.Type == typ {
				return i
			}
		}
		t.Fatalf("no %s", typ)
		return -1
	}
	set := func(typ, path string, v any) []inventory.Resource {
		rs := runnerStack(runnerPolicy)
		i := find(rs, typ)
		deps := rs[i].Dependencies
		rs[i] = with(rs[i], path, v)
		rs[i].Dependencies = deps
		return rs
	}

	// Outside the VPC: CodeBuild's shared network.
	assertViolations(t, stackRun(t, "ci-runner-scoped", set(typeCodeBuildProject, "vpcConfig", deleted), Dev), []want{
		mand("vpcConfig.securityGroupIds is not set"), mand("vpcConfig.subnets is not set"), mand("vpcConfig.vpcId is not set")})
	assertViolations(t, stackRun(t, "ci-runner-scoped", set(typeCodeBuildProject, "vpcConfig.subnets", list()), Dev), []want{
		mand("vpcConfig.subnets is not set: the runner's builds would run on CodeBuild's shared network")})

	// Logs off, or in a group the stack does not own.
	assertViolations(t, stackRun(t, "ci-runner-scoped", set(typeCodeBuildProject, "logsConfig.cloudwatchLogs.status", "DISABLED"), Dev), []want{
		mand("status is DISABLED")})
	assertViolations(t, stackRun(t, "ci-runner-scoped", set(typeCodeBuildProject, "logsConfig.cloudwatchLogs.groupName", "/elsewhere"), Dev), []want{
		mand(`"/elsewhere" is not a log group of the stack`)})
	assertViolations(t, stackRun(t, "ci-runner-scoped", set(typeCodeBuildProject, "logsConfig", deleted), Dev), []want{
		mand("groupName is not set: CodeBuild creates /aws/codebuild/<project> itself, with no retention")})

	// A role that could reach the cluster or the deploy role.
	wide := clone(runnerPolicy).(map[string]any)
	wide["Statement"] = append(wide["Statement"].([]any),
		obj{"Effect": "Allow", "Action": list("sts:AssumeRole", "eks:*"), "Resource": "*"})
	assertViolations(t, stackRun(t, "ci-runner-scoped", runnerStack(wide), Prod), []want{
		mand("the CI runner's role allows sts:AssumeRole, eks:*")})
	star := obj{"Statement": obj{"Effect": "Allow", "Action": "*", "Resource": "*"}} // a single statement object
	assertViolations(t, stackRun(t, "ci-runner-scoped", runnerStack(star), Prod), []want{mand("the CI runner's role allows *")})
	deny := obj{"Statement": list(obj{"Effect": "Deny", "Action": "*", "Resource": "*"})}
	assertViolations(t, stackRun(t, "ci-runner-scoped", runnerStack(deny), Prod), nil)

	// A managed policy attached to it.
	rs := runnerStack(runnerPolicy)
	rs = append(rs, dependsOn(awsRes(typeIAMRoleAttachment, "dev-runner-admin", obj{"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), rs[0]))
	assertViolations(t, stackRun(t, "ci-runner-scoped", rs, Dev), []want{mand("managed policy arn:aws:iam::aws:policy/AdministratorAccess is attached")})

	// A role the stack does not create cannot be reviewed.
	rs = runnerStack(runnerPolicy)
	rs[3].Dependencies = []string{rs[2].URN}
	assertViolations(t, stackRun(t, "ci-runner-scoped", rs, Dev), []want{mand("serviceRole is not a role of the stack")})

	// Preview: the policy depends on the account id and is unknown.
	assertViolations(t, stackRun(t, "ci-runner-scoped", set(typeIAMRolePolicy, "policy", unk), Dev), []want{
		adv("cannot verify during preview: the CI runner role's policy unknown")})
}

// The autoscaler's role as components.NewClusterAutoscaler registers it.
func autoscalerStack(condition map[string]any, trust map[string]any) []inventory.Resource {
	cluster := res(typeEKSComponent, "dev", obj{"name": "platform-dev"})
	role := awsRes(typeIAMRole, "dev-cluster-autoscaler", obj{"assumeRolePolicy": doc(trust)})
	stmt := obj{"Effect": "Allow", "Action": list("autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"), "Resource": "*"}
	if condition != nil {
		stmt["Condition"] = condition
	}
	policy := dependsOn(awsRes(typeIAMRolePolicy, "dev-cluster-autoscaler", obj{"role": "x", "policy": doc(obj{"Statement": list(
		stmt, obj{"Effect": "Allow", "Action": list("autoscaling:Describe*", "ec2:DescribeInstanceTypes"), "Resource": "*"})})}), role)
	return []inventory.Resource{cluster, role, policy}
}

var irsaTrust = obj{"Statement": list(obj{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
	"Principal": obj{"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
	"Condition": obj{"StringEquals": obj{"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:kube-system:cluster-autoscaler"}}})}

func TestAutoscalerIAMScoped(t *testing.T) {
	scoped := obj{"StringEquals": obj{
		"aws:ResourceTag/k8s.io/cluster-autoscaler/platform-dev": "owned",
		"aws:ResourceTag/k8s.io/cluster-autoscaler/enabled":      "true",
	}}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(scoped, irsaTrust), Prod), nil)

	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(nil, irsaTrust), Dev), []want{
		mand("may call autoscaling:SetDesiredCapacity, autoscaling:TerminateInstanceInAutoScalingGroup on any autoscaling group")})
	onlyEnabled := obj{"StringEquals": obj{"aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(onlyEnabled, irsaTrust), Dev), []want{
		mand("on any autoscaling group of the account")})
	other := obj{"StringEquals": obj{"aws:ResourceTag/k8s.io/cluster-autoscaler/platform-prod": "owned"}}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(other, irsaTrust), Dev), []want{
		mand(`cluster "platform-prod", which is not a cluster of this stack`)})
	like := obj{"StringLike": obj{"aws:ResourceTag/k8s.io/cluster-autoscaler/platform-dev": "*"}}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(like, irsaTrust), Dev), []want{
		mand("on any autoscaling group")})

	// A wildcard covers the scale actions too.
	rs := autoscalerStack(scoped, irsaTrust)
	rs = append(rs, dependsOn(awsRes(typeIAMRolePolicy, "dev-cluster-autoscaler-extra", obj{"role": "x", "policy": doc(obj{"Statement": list(
		obj{"Effect": "Allow", "Action": "autoscaling:*", "Resource": "*"})})}), rs[1]))
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", rs, Dev), []want{
		mand("may call autoscaling:SetDesiredCapacity, autoscaling:TerminateInstanceInAutoScalingGroup, autoscaling:UpdateAutoScalingGroup")})

	// Roles not assumed from Kubernetes (the deploy role, GitHub OIDC) are
	// not this rule's business, whatever the provider's ARN looks like: the
	// subject decides.
	github := obj{"Statement": list(obj{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": obj{"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
		"Condition": obj{"StringEquals": obj{"token.actions.githubusercontent.com:sub": list("repo:tenantco/platform:environment:dev")}}})}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(nil, github), Dev), nil)
	lookalike := obj{"Statement": list(obj{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": obj{"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
		"Condition": obj{"StringEquals": obj{"token.actions.githubusercontent.com:sub": "repo:tenantco/platform:pull_request"}}})}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(nil, lookalike), Dev), nil)
	// No subject condition at all: any identity of the cluster may assume it.
	anyone := obj{"Statement": list(obj{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
		"Principal": obj{"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"}})}
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", autoscalerStack(nil, anyone), Dev), []want{mand("on any autoscaling group")})

	// Preview: the trust depends on the cluster's issuer.
	rs = autoscalerStack(nil, irsaTrust)
	rs[1] = with(rs[1], "assumeRolePolicy", unk)
	assertViolations(t, stackRun(t, "autoscaler-iam-scoped", rs, Dev), []want{adv("cannot verify during preview (trust policy unknown)")})
}

func TestActionMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, action string
		want            bool
	}{
		{"autoscaling:*", "autoscaling:SetDesiredCapacity", true},
		{"*", "autoscaling:SetDesiredCapacity", true},
		{"AUTOSCALING:set*", "autoscaling:SetDesiredCapacity", true},
		{"autoscaling:Describe*", "autoscaling:SetDesiredCapacity", false},
		{"autoscaling:Set?esiredCapacity", "autoscaling:SetDesiredCapacity", true},
		{"ec2:*", "autoscaling:SetDesiredCapacity", false},
	} {
		if got := actionMatches(c.pattern, c.action); got != c.want {
			t.Errorf("actionMatches(%q, %q) = %v", c.pattern, c.action, got)
		}
	}
}
