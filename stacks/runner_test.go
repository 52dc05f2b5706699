package stacks_test

// Issue 13, part 1: the deploy path inside the VPC. A CodeBuild-hosted
// GitHub Actions runner in the private subnets reaches the private EKS
// endpoint; these checks read what the program registers and assert what
// CodeBuild, IAM and EC2 would do with it, citing the rule each rests on.

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/internal/standin"
	"github.com/tenantco/platform/stacks"
)

// mockID is the id the recording mock engine gives a resource
// (internal/mockengine NewResource): what other resources see as its id.
func mockID(r inventory.Resource) string { return r.Name + "-" + standin.ShortHash(r.URN) }

// stackConfig loads a repository stack file's typed config.
func stackConfig(t *testing.T, stack string) *stacks.Config {
	t.Helper()
	sf, err := stacks.LoadStack("..", stack)
	require.NoError(t, err)
	cfg, err := stacks.Load(sf, sf.Project, sf.Stack)
	require.NoError(t, err)
	return cfg
}

func privateSubnetIDs(t *testing.T, e *mockengine.Engine) []string {
	t.Helper()
	var ids []string
	for _, s := range e.Find("aws:ec2/subnet:Subnet") {
		if s.Tags()["tier"] == "private" {
			ids = append(ids, mockID(s))
		}
	}
	require.NotEmpty(t, ids)
	sort.Strings(ids)
	return ids
}

// The runner's builds run in the private subnets: their network interface
// is created there (CodeBuild User Guide, "Use CodeBuild with Amazon VPC":
// choose private subnets with a NAT route; a build in a VPC gets no public
// address), next to the private endpoint's interfaces.
func TestRunnerBuildsInThePrivateSubnets(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			cfg := stackConfig(t, stack)
			project := only(t, e, "aws:codebuild/project:Project")
			assert.Equal(t, cfg.RunnerProjectName(), mustString(t, project, "name"))
			subnets := project.Strings("vpcConfig.subnets")
			sort.Strings(subnets)
			assert.Equal(t, privateSubnetIDs(t, e), subnets, "every private subnet, nothing else")
			assert.Equal(t, mockID(only(t, e, "aws:ec2/vpc:Vpc")), mustString(t, project, "vpcConfig.vpcId"))
			sg := named(t, e, "aws:ec2/securityGroup:SecurityGroup", "-runner")
			assert.Equal(t, []string{mockID(sg)}, project.Strings("vpcConfig.securityGroupIds"), "its own group only")

			// Ephemeral per job: one build per queued job, no fleet of
			// long-lived runners (a fleet is a reserved-capacity option).
			_, fleet := project.Get("environment.fleet")
			assert.False(t, fleet)
			assert.Equal(t, "LINUX_CONTAINER", mustString(t, project, "environment.type"))
			privileged, _ := project.Bool("environment.privilegedMode")
			assert.True(t, privileged, "the deploy job builds the service image with docker buildx")

			// Logs in a group of the stack, with the stack's retention.
			group := mustString(t, project, "logsConfig.cloudwatchLogs.groupName")
			assert.Equal(t, "/aws/codebuild/"+cfg.RunnerProjectName(), group)
			lg := named(t, e, "aws:cloudwatch/logGroup:LogGroup", "-runner")
			assert.Equal(t, group, mustString(t, lg, "name"))
			days, _ := lg.Number("retentionInDays")
			assert.Equal(t, float64(cfg.FlowLogRetentionDays), days)
			s3, _ := project.String("logsConfig.s3Logs.status")
			assert.Equal(t, "DISABLED", s3)
		})
	}
}

// CodeBuild starts a runner only for a workflow job that is queued with a
// codebuild-<project>-… label: the webhook's one filter group is EVENT =
// WORKFLOW_JOB_QUEUED (CodeBuild User Guide, "Tutorial: Configure a
// CodeBuild-hosted GitHub Actions runner", step "Filter GitHub webhook
// events": WORKFLOW_JOB_QUEUED). The GitHub credential is an ARN: no token
// passes through config or state.
func TestRunnerWebhookAndSource(t *testing.T) {
	e := evaluate(t, "dev", false)
	cfg := stackConfig(t, "dev")
	project := only(t, e, "aws:codebuild/project:Project")
	hook := only(t, e, "aws:codebuild/webhook:Webhook")
	assert.Equal(t, cfg.RunnerProjectName(), mustString(t, hook, "projectName"))
	assert.Equal(t, "BUILD", mustString(t, hook, "buildType"))
	groups, _ := hook.Get("filterGroups")
	assert.Equal(t, []any{map[string]any{"filters": []any{map[string]any{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}}}}, groups,
		"one filter group: queued workflow jobs, nothing else (no push or pull request builds)")
	assert.Equal(t, components.RunnerWebhookEvent, "WORKFLOW_JOB_QUEUED")

	assert.Equal(t, "GITHUB", mustString(t, project, "source.type"))
	assert.Equal(t, "https://github.com/"+cfg.GithubRepository+".git", mustString(t, project, "source.location"))
	assert.Equal(t, "CODECONNECTIONS", mustString(t, project, "source.auth.type"))
	assert.Equal(t, cfg.RunnerGithubCredentialArn, mustString(t, project, "source.auth.resource"))
	assert.Empty(t, e.Find("aws:codebuild/sourceCredential:SourceCredential"), "no GitHub token in the program or its state")

	// A Secrets Manager secret is the other credential CodeBuild takes.
	const secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:platform/github-runner-Ab12Cd"
	e2 := &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e2, "dev", map[string]string{"platform:runnerGithubCredentialArn": secret}))
	p2 := only(t, e2, "aws:codebuild/project:Project")
	assert.Equal(t, "SECRETS_MANAGER", mustString(t, p2, "source.auth.type"))
	var policy iamPolicy
	doc, _ := named(t, e2, "aws:iam/rolePolicy:RolePolicy", "-runner").String("policy")
	require.NoError(t, json.Unmarshal([]byte(doc), &policy))
	assert.True(t, policy.allows("secretsmanager:GetSecretValue"))
	assert.False(t, policy.allows("codeconnections:GetConnectionToken"), "only the credential it uses")

	// The runs-on label of the workflows is the project's.
	assert.Equal(t, "codebuild-platform-dev-runner-${{ github.run_id }}-${{ github.run_attempt }}", components.RunnerLabel(cfg.RunnerProjectName()))
}

// The runner's own role can write its logs, manage its build's network
// interface in these subnets and read the GitHub credential; nothing that
// reaches the cluster, another role or data. A job that needs AWS assumes
// the deploy or preview role with GitHub's OIDC token, so the environment
// gate (prod's reviewers) still decides who deploys, and the cluster keeps
// exactly its access entries: EKS allows one per principal (409
// ResourceInUseException), and the runner adds none.
func TestRunnerRoleTrustAndPermissions(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			cfg := stackConfig(t, stack)
			role := named(t, e, "aws:iam/role:Role", "-runner")
			st := onlyTrust(t, role)
			assert.Equal(t, "sts:AssumeRole", st.Action)
			assert.Equal(t, map[string]string{"Service": "codebuild.amazonaws.com"}, st.Principal)
			// IAM User Guide, "The confused deputy problem": a service
			// principal limited to one source resource and account.
			assert.Equal(t, standin.AccountID, st.Condition["StringEquals"]["aws:SourceAccount"])
			assert.Equal(t, fmt.Sprintf("arn:aws:codebuild:%s:%s:project/%s", cfg.Region, standin.AccountID, cfg.RunnerProjectName()),
				st.Condition["ArnLike"]["aws:SourceArn"])

			var policy iamPolicy
			doc := mustString(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "-runner"), "policy")
			require.NoError(t, json.Unmarshal([]byte(doc), &policy))
			for _, s := range policy.Statement {
				assert.Equal(t, "Allow", s.Effect)
				for _, a := range s.Action {
					assert.Contains(t, components.RunnerRoleActions, a, "the runner role's actions are RunnerRoleActions")
				}
			}
			for _, forbidden := range []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "eks:DescribeCluster",
				"eks:AccessKubernetesApi", "iam:PassRole", "ecr:PutImage", "s3:GetObject", "codebuild:StartBuild", "ssm:GetParameter"} {
				assert.False(t, policy.allows(forbidden), "the runner's own role may not %s", forbidden)
			}
			for _, needed := range []string{"logs:PutLogEvents", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
				"codeconnections:GetConnectionToken"} {
				assert.True(t, policy.allows(needed), needed)
			}
			// The interface permission: CodeBuild only, these subnets only
			// (CodeBuild User Guide, "Allow CodeBuild access to AWS services
			// required to create a VPC network interface").
			var raw2 struct{ Statement []map[string]any }
			require.NoError(t, json.Unmarshal([]byte(doc), &raw2))
			var subnetArns []string
			for _, s := range raw2.Statement {
				if s["Action"] == "ec2:CreateNetworkInterfacePermission" {
					cond := s["Condition"].(map[string]any)
					assert.Equal(t, "codebuild.amazonaws.com", cond["StringEquals"].(map[string]any)["ec2:AuthorizedService"])
					for _, a := range cond["ArnEquals"].(map[string]any)["ec2:Subnet"].([]any) {
						subnetArns = append(subnetArns, a.(string))
					}
				}
				if s["Sid"] == "GitHubCredential" {
					assert.Equal(t, cfg.RunnerGithubCredentialArn, s["Resource"], "the one connection")
				}
			}
			var want []string
			for _, id := range privateSubnetIDs(t, e) {
				want = append(want, fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", cfg.Region, standin.AccountID, id))
			}
			sort.Strings(subnetArns)
			assert.Equal(t, want, subnetArns)

			for _, att := range e.Find("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
				assert.NotContains(t, att.Dependencies, role.URN, "no managed policy on the runner's role: %s", att.Name)
			}
			// CodeBuild checks at creation that the role may create the
			// interface (aws/aws-cdk#2652): the project waits for the policy.
			assert.Contains(t, only(t, e, "aws:codebuild/project:Project").Dependencies,
				named(t, e, "aws:iam/rolePolicy:RolePolicy", "-runner").URN)

			// The cluster's principals stay the deploy and preview roles.
			cl := only(t, e, "eks:index:Cluster")
			entries, _ := cl.Get("accessEntries")
			var principals []string
			for _, v := range entries.(map[string]any) {
				principals = append(principals, v.(map[string]any)["principalArn"].(string))
			}
			sort.Strings(principals)
			assert.Len(t, principals, 2, "deploy and preview: %v", principals)
			for _, p := range principals {
				assert.NotContains(t, p, "runner", "the runner's role gets no access entry: its jobs use the deploy or preview role")
			}
		})
	}
}

// The runner's group has no ingress and sends HTTPS only; the cluster
// security group (on the private endpoint's interfaces: EKS User Guide,
// "Amazon EKS security group requirements") admits it on 443, and nothing
// else admits the runner: not the database, not the cache, not the nodes.
func TestRunnerReachesOnlyTheClusterEndpoint(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			cfg := stackConfig(t, stack)
			runnerSG := mockID(named(t, e, "aws:ec2/securityGroup:SecurityGroup", "-runner"))
			// The stand-in of eks:getCluster's vpcConfig.clusterSecurityGroupId.
			clusterSG := "sg-cluster-" + standin.ShortHash(cfg.ClusterName())

			var fromRunner []inventory.Resource
			for _, r := range e.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
				to, _ := r.String("securityGroupId")
				assert.NotEqual(t, runnerSG, to, "%s: nothing may connect to the runner", r.Name)
				if from, _ := r.String("referencedSecurityGroupId"); from == runnerSG {
					fromRunner = append(fromRunner, r)
				}
			}
			require.Len(t, fromRunner, 1, "one rule admits the runner anywhere")
			rule := fromRunner[0]
			assert.Equal(t, clusterSG, mustString(t, rule, "securityGroupId"), "the cluster security group")
			assert.Equal(t, "tcp", mustString(t, rule, "ipProtocol"))
			from, _ := rule.Number("fromPort")
			to, _ := rule.Number("toPort")
			assert.Equal(t, []float64{443, 443}, []float64{from, to}, "the Kubernetes API only")
			_, cidr := rule.Get("cidrIpv4")
			assert.False(t, cidr, "a group reference, never a CIDR")

			var egress []string
			for _, r := range e.Find("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
				if g, _ := r.String("securityGroupId"); g != runnerSG {
					continue
				}
				from, _ := r.Number("fromPort")
				to, _ := r.Number("toPort")
				dest, ok := r.String("referencedSecurityGroupId")
				if !ok {
					dest = mustString(t, r, "cidrIpv4")
				}
				egress = append(egress, fmt.Sprintf("%s %v-%v %s", mustString(t, r, "ipProtocol"), from, to, dest))
			}
			sort.Strings(egress)
			assert.Equal(t, []string{"tcp 443-443 0.0.0.0/0", "tcp 443-443 " + clusterSG}, egress,
				"HTTPS to the endpoint, and through NAT to GitHub and AWS")
		})
	}
}

// Without a credential there is no runner (a stack deployed from inside
// the VPC only); a malformed one is refused before anything registers,
// naming the key; the documentation placeholder is refused by preview/up.
func TestRunnerCredentialConfig(t *testing.T) {
	e := &mockengine.Engine{}
	require.NoError(t, evaluateWith(t, e, "dev", map[string]string{"platform:runnerGithubCredentialArn": ""}))
	for _, typ := range []string{"aws:codebuild/project:Project", "aws:codebuild/webhook:Webhook"} {
		assert.Empty(t, e.Find(typ), typ)
	}
	for _, sg := range e.Find("aws:ec2/securityGroup:SecurityGroup") {
		assert.False(t, strings.HasSuffix(sg.Name, "-runner"))
	}

	e = &mockengine.Engine{}
	err := evaluateWith(t, e, "dev", map[string]string{"platform:runnerGithubCredentialArn": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "platform:runnerGithubCredentialArn")
	assert.Contains(t, err.Error(), "neither a CodeConnections connection ARN")
	assert.Empty(t, e.Resources(), "refused before anything registers")

	cfg := stackConfig(t, "dev")
	assert.True(t, slices.ContainsFunc(cfg.Placeholders(), func(p string) bool {
		return strings.HasPrefix(p, "platform:runnerGithubCredentialArn:") && strings.Contains(p, "create the GitHub connection")
	}), "the stack file's placeholder is named with the fix")
}
