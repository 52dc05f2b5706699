package components

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/codebuild"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RunnerWebhookEvent is the only GitHub event the runner's webhook builds
// on: a workflow job queued with a codebuild-<project>-… label (CodeBuild
// User Guide, "Tutorial: Configure a CodeBuild-hosted GitHub Actions
// runner": filter group EVENT = WORKFLOW_JOB_QUEUED).
const RunnerWebhookEvent = "WORKFLOW_JOB_QUEUED"

// RunnerLabel is the runs-on label a workflow job uses to run on the
// runner of project: CodeBuild starts one build, an ephemeral runner, per
// queued job whose label names its project (CodeBuild User Guide, "Label
// overrides supported with the CodeBuild-hosted GitHub Actions runner":
// codebuild-<project-name>-${{ github.run_id }}-${{ github.run_attempt }}).
func RunnerLabel(project string) string {
	return "codebuild-" + project + "-${{ github.run_id }}-${{ github.run_attempt }}"
}

// RunnerRoleActions are everything the runner's own service role may do:
// write its build logs, create and remove the build's network interface in
// the VPC (CodeBuild User Guide, "Allow CodeBuild access to AWS services
// required to create a VPC network interface"), and read the GitHub
// credential CodeBuild registers the runner with. Nothing that reaches the
// cluster or another role: the jobs get AWS access by assuming the deploy
// or preview role with GitHub's OIDC token, as on GitHub-hosted runners.
var RunnerRoleActions = []string{
	"logs:CreateLogStream", "logs:PutLogEvents",
	"ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
	"ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs",
	"ec2:CreateNetworkInterfacePermission",
	"codeconnections:GetConnectionToken", "codeconnections:GetConnection",
	"codestar-connections:GetConnectionToken", "codestar-connections:GetConnection",
	"secretsmanager:GetSecretValue",
}

// DeployRunnerArgs configures a DeployRunner.
type DeployRunnerArgs struct {
	// ProjectName is the CodeBuild project; jobs select it with
	// RunnerLabel(ProjectName). Required.
	ProjectName string
	// Repository is the GitHub "owner/name" whose workflow jobs it runs.
	// Required.
	Repository string
	// GitHubCredentialArn is what CodeBuild registers runners with: a
	// CodeConnections connection (arn:aws:codeconnections:…:connection/…,
	// created and authorized once per account in the console), or a
	// Secrets Manager secret holding a fine-grained GitHub token. Never the
	// token itself: the program and its state hold only the ARN. Required.
	GitHubCredentialArn string
	// VpcID and PrivateSubnetIDs place the builds (NAT egress, no public
	// address). Required.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	// ClusterSecurityGroupID is the EKS cluster security group (on the
	// control plane's endpoint interfaces): it gets 443 from the runner's
	// group only. Required.
	ClusterSecurityGroupID pulumi.StringInput
	// Region and AccountID scope the role's ARNs. Required.
	Region    string
	AccountID pulumi.StringInput
	// ComputeType, default BUILD_GENERAL1_MEDIUM (7 GB: a cold build of the
	// Pulumi program peaks near 3.4 GB); Image, default the CodeBuild
	// Ubuntu standard image 7.0 (AWS CLI, Docker, jq).
	ComputeType, Image string
	// Unprivileged turns off the Docker daemon. The deploy job builds the
	// service image with docker buildx, which needs it (privileged mode).
	Unprivileged bool
	// BuildTimeoutMinutes caps a job; default 150 (the deploy job's own
	// timeout). ConcurrentBuildLimit caps parallel jobs; default 3.
	BuildTimeoutMinutes, ConcurrentBuildLimit int
	// LogRetentionDays of the build logs; default 30.
	LogRetentionDays int
}

var (
	codebuildProjectRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$`)
	connectionArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]+$`)
	secretArnRe        = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$`)
)

// CheckRunnerCredentialArn validates GitHubCredentialArn as DeployRunner
// accepts it; stack config validation calls it too.
func CheckRunnerCredentialArn(arn string) error {
	if !connectionArnRe.MatchString(arn) && !secretArnRe.MatchString(arn) {
		return fmt.Errorf("%q is neither a CodeConnections connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID) "+
			"nor a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)", arn)
	}
	return nil
}

// runnerAuthType is CodeBuild's source auth type for the credential.
func runnerAuthType(arn string) string {
	if connectionArnRe.MatchString(arn) {
		return "CODECONNECTIONS"
	}
	return "SECRETS_MANAGER"
}

func (a *DeployRunnerArgs) withDefaults() (DeployRunnerArgs, error) {
	out := *a
	if out.ComputeType == "" {
		out.ComputeType = "BUILD_GENERAL1_MEDIUM"
	}
	if out.Image == "" {
		out.Image = "aws/codebuild/standard:7.0"
	}
	if out.BuildTimeoutMinutes == 0 {
		out.BuildTimeoutMinutes = 150
	}
	if out.ConcurrentBuildLimit == 0 {
		out.ConcurrentBuildLimit = 3
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	credErr := CheckRunnerCredentialArn(out.GitHubCredentialArn)
	switch {
	case !codebuildProjectRe.MatchString(out.ProjectName):
		return out, fmt.Errorf("DeployRunnerArgs.ProjectName: %q is not a CodeBuild project name (2-255 of A-Z a-z 0-9 - _)", out.ProjectName)
	case CheckGitHubRepository(out.Repository) != nil || strings.Contains(out.Repository, "@"):
		return out, fmt.Errorf("DeployRunnerArgs.Repository: %q is not a GitHub owner/name", out.Repository)
	case credErr != nil:
		return out, fmt.Errorf("DeployRunnerArgs.GitHubCredentialArn: %w", credErr)
	case out.VpcID == nil || out.PrivateSubnetIDs == nil || out.ClusterSecurityGroupID == nil || out.AccountID == nil:
		return out, fmt.Errorf("DeployRunnerArgs.VpcID, PrivateSubnetIDs, ClusterSecurityGroupID and AccountID: required")
	case !awsRegionRe.MatchString(out.Region):
		return out, fmt.Errorf("DeployRunnerArgs.Region: %q is not an AWS region", out.Region)
	case out.BuildTimeoutMinutes < 5 || out.BuildTimeoutMinutes > 2160:
		return out, fmt.Errorf("DeployRunnerArgs.BuildTimeoutMinutes: %d is out of CodeBuild's range 5-2160", out.BuildTimeoutMinutes)
	case out.ConcurrentBuildLimit < 1:
		return out, fmt.Errorf("DeployRunnerArgs.ConcurrentBuildLimit: %d must be at least 1", out.ConcurrentBuildLimit)
	}
	return out, nil
}

// DeployRunner is the deploy pipeline's way into a private cluster: a
// CodeBuild project in the private subnets that serves as a CodeBuild-hosted
// GitHub Actions runner. A workflow job labelled RunnerLabel(project) is
// queued on GitHub; the webhook (WORKFLOW_JOB_QUEUED) starts one build that
// registers a just-in-time runner, runs that one job and ends: nothing
// outlives the job. The build's own role only writes logs, manages its
// network interface and reads the GitHub credential; the job assumes the
// deploy or preview role through GitHub OIDC, so the GitHub environment
// gates (prod's required reviewers) still decide who deploys, and the
// cluster sees the same principals as before (no new access entry). Its
// security group has no ingress and is the only source the cluster's
// security group admits on 443.
type DeployRunner struct {
	pulumi.ResourceState

	ProjectName     pulumi.StringOutput `pulumi:"projectName"`
	ProjectArn      pulumi.StringOutput `pulumi:"projectArn"`
	RoleArn         pulumi.StringOutput `pulumi:"roleArn"`
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// Label is the runs-on label of the workflow jobs that run here.
	Label pulumi.StringOutput `pulumi:"label"`
}

// NewDeployRunner creates a DeployRunner.
func NewDeployRunner(ctx *pulumi.Context, name string, args *DeployRunnerArgs, opts ...pulumi.ResourceOption) (*DeployRunner, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &DeployRunner{}
	if err := ctx.RegisterComponentResource("platform:components:DeployRunner", name, r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)

	sg, err := r.network(ctx, name, a, parent)
	if err != nil {
		return nil, err
	}
	logGroupName := "/aws/codebuild/" + a.ProjectName
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-runner", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(logGroupName),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, err
	}
	role, policy, err := runnerRole(ctx, name, a, logGroupName, parent)
	if err != nil {
		return nil, err
	}
	project, err := codebuild.NewProject(ctx, name+"-runner", &codebuild.ProjectArgs{
		Name:                 pulumi.String(a.ProjectName),
		Description:          pulumi.String("CodeBuild-hosted GitHub Actions runner of " + a.Repository + " inside the VPC: jobs labelled " + RunnerLabel(a.ProjectName)),
		ServiceRole:          role.Arn,
		BuildTimeout:         pulumi.Int(a.BuildTimeoutMinutes),
		ConcurrentBuildLimit: pulumi.Int(a.ConcurrentBuildLimit),
		Source: &codebuild.ProjectSourceArgs{
			Type:     pulumi.String("GITHUB"),
			Location: pulumi.String("https://github.com/" + a.Repository + ".git"),
			Auth: &codebuild.ProjectSourceAuthArgs{
				Type:     pulumi.String(runnerAuthType(a.GitHubCredentialArn)),
				Resource: pulumi.String(a.GitHubCredentialArn),
			},
		},
		Artifacts: &codebuild.ProjectArtifactsArgs{Type: pulumi.String("NO_ARTIFACTS")},
		Environment: &codebuild.ProjectEnvironmentArgs{
			Type:                     pulumi.String("LINUX_CONTAINER"),
			ComputeType:              pulumi.String(a.ComputeType),
			Image:                    pulumi.String(a.Image),
			ImagePullCredentialsType: pulumi.String("CODEBUILD"),
			PrivilegedMode:           pulumi.Bool(!a.Unprivileged),
		},
		VpcConfig: &codebuild.ProjectVpcConfigArgs{
			VpcId:            a.VpcID,
			Subnets:          a.PrivateSubnetIDs,
			SecurityGroupIds: pulumi.StringArray{sg.ID().ToStringOutput()},
		},
		LogsConfig: &codebuild.ProjectLogsConfigArgs{
			CloudwatchLogs: &codebuild.ProjectLogsConfigCloudwatchLogsArgs{
				Status: pulumi.String("ENABLED"), GroupName: logGroup.Name,
			},
			S3Logs: &codebuild.ProjectLogsConfigS3LogsArgs{Status: pulumi.String("DISABLED")},
		},
	}, parent,
		// CodeBuild checks at creation that the role may create the
		// build's network interface in these subnets (aws/aws-cdk#2652,
		// fixed by making the project wait for the policy: #2662).
		pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return nil, err
	}
	if _, err := codebuild.NewWebhook(ctx, name+"-runner", &codebuild.WebhookArgs{
		ProjectName: project.Name,
		BuildType:   pulumi.String("BUILD"),
		FilterGroups: codebuild.WebhookFilterGroupArray{&codebuild.WebhookFilterGroupArgs{
			Filters: codebuild.WebhookFilterGroupFilterArray{&codebuild.WebhookFilterGroupFilterArgs{
				Type: pulumi.String("EVENT"), Pattern: pulumi.String(RunnerWebhookEvent),
			}},
		}},
	}, parent); err != nil {
		return nil, err
	}

	r.ProjectName = project.Name
	r.ProjectArn = project.Arn
	r.RoleArn = role.Arn
	r.SecurityGroupID = sg.ID().ToStringOutput()
	r.Label = pulumi.String(RunnerLabel(a.ProjectName)).ToStringOutput()
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{
		"projectName":     r.ProjectName,
		"projectArn":      r.ProjectArn,
		"roleArn":         r.RoleArn,
		"securityGroupId": r.SecurityGroupID,
		"label":           r.Label,
	})
}

// network creates the runner's security group: no ingress; HTTPS out to
// the cluster's endpoint and, through NAT, to GitHub, AWS APIs and image
// and module registries; and the one rule on the cluster security group
// that lets it reach the Kubernetes API.
func (r *DeployRunner) network(ctx *pulumi.Context, name string, a DeployRunnerArgs, parent pulumi.ResourceOption) (*ec2.SecurityGroup, error) {
	sg, err := ec2.NewSecurityGroup(ctx, name+"-runner", &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("CI runner (CodeBuild): no ingress; HTTPS to the EKS API and, through NAT, to GitHub and AWS"),
		Tags:        nameTag(name + "-runner"),
	}, parent)
	if err != nil {
		return nil, err
	}
	proto, from, to := pulumi.String("tcp"), pulumi.Int(443), pulumi.Int(443)
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-runner-to-cluster", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           sg.ID(),
		ReferencedSecurityGroupId: a.ClusterSecurityGroupID,
		IpProtocol:                proto, FromPort: from, ToPort: to,
		Description: pulumi.String("the EKS API (private endpoint)"),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-runner-https", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: sg.ID(),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		IpProtocol:      proto, FromPort: from, ToPort: to,
		Description: pulumi.String("GitHub, AWS APIs, Go modules and images, through NAT"),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-cluster-from-runner", &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId:           a.ClusterSecurityGroupID,
		ReferencedSecurityGroupId: sg.ID(),
		IpProtocol:                proto, FromPort: from, ToPort: to,
		Description: pulumi.String("Kubernetes API from the CI runner"),
	}, parent); err != nil {
		return nil, err
	}
	return sg, nil
}

// runnerRole is the CodeBuild service role: trusted by CodeBuild for this
// project only (aws:SourceArn, aws:SourceAccount: the IAM User Guide's
// cross-service confused deputy prevention), allowed RunnerRoleActions on
// this project's resources only.
func runnerRole(ctx *pulumi.Context, name string, a DeployRunnerArgs, logGroupName string, parent pulumi.ResourceOption) (*iam.Role, *iam.RolePolicy, error) {
	trust := a.AccountID.ToStringOutput().ApplyT(func(account string) (string, error) {
		return jsonString(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRole",
				"Principal": map[string]any{"Service": "codebuild.amazonaws.com"},
				"Condition": map[string]any{
					"StringEquals": map[string]any{"aws:SourceAccount": account},
					"ArnLike":      map[string]any{"aws:SourceArn": fmt.Sprintf("arn:aws:codebuild:%s:%s:project/%s", a.Region, account, a.ProjectName)},
				},
			}},
		})
	}).(pulumi.StringOutput)
	role, err := iam.NewRole(ctx, name+"-runner", &iam.RoleArgs{
		Description:      pulumi.String("CodeBuild runner " + a.ProjectName + ": logs, its network interface, the GitHub credential; no cluster or AWS rights (jobs use GitHub OIDC)"),
		AssumeRolePolicy: trust,
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	doc := pulumi.All(a.AccountID, a.PrivateSubnetIDs).ApplyT(func(v []any) (string, error) {
		return jsonString(RunnerPolicy(a.Region, v[0].(string), a.GitHubCredentialArn, logGroupName, v[1].([]string)))
	}).(pulumi.StringOutput)
	policy, err := iam.NewRolePolicy(ctx, name+"-runner", &iam.RolePolicyArgs{Role: role.ID(), Policy: doc}, parent)
	if err != nil {
		return nil, nil, err
	}
	return role, policy, nil
}

// RunnerPolicy is the runner role's policy document: RunnerRoleActions,
// each on this runner's resources only.
func RunnerPolicy(region, account, credentialArn, logGroupName string, subnetIDs []string) map[string]any {
	subnets := make([]string, len(subnetIDs))
	for i, id := range subnetIDs {
		subnets[i] = fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", region, account, id)
	}
	logGroup := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, logGroupName)
	credential := map[string]any{"Sid": "GitHubCredential", "Effect": "Allow", "Resource": credentialArn}
	switch {
	case strings.Contains(credentialArn, ":codestar-connections:"):
		credential["Action"] = []string{"codestar-connections:GetConnectionToken", "codestar-connections:GetConnection"}
	case strings.Contains(credentialArn, ":codeconnections:"):
		credential["Action"] = []string{"codeconnections:GetConnectionToken", "codeconnections:GetConnection"}
	default:
		credential["Action"] = "secretsmanager:GetSecretValue"
	}
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "BuildLogs", "Effect": "Allow",
				"Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"}, "Resource": []string{logGroup, logGroup + ":*"}},
			// These EC2 calls take no resource-level permissions the
			// CodeBuild VPC guide names: it grants them on "*".
			map[string]any{"Sid": "BuildNetworkInterface", "Effect": "Allow",
				"Action": []string{"ec2:CreateNetworkInterface", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
					"ec2:DeleteNetworkInterface", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcs"},
				"Resource": "*"},
			map[string]any{"Sid": "BuildNetworkInterfaceInPrivateSubnets", "Effect": "Allow",
				"Action":   "ec2:CreateNetworkInterfacePermission",
				"Resource": fmt.Sprintf("arn:aws:ec2:%s:%s:network-interface/*", region, account),
				"Condition": map[string]any{
					"StringEquals": map[string]any{"ec2:AuthorizedService": "codebuild.amazonaws.com"},
					"ArnEquals":    map[string]any{"ec2:Subnet": subnets},
				}},
			credential,
		},
	}
}
