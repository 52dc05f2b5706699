package components

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// GitHub's OIDC issuer and the audience aws-actions/configure-aws-credentials
// asks for.
const (
	GitHubOIDCHost     = "token.actions.githubusercontent.com"
	GitHubOIDCURL      = "https://" + GitHubOIDCHost
	GitHubOIDCAudience = "sts.amazonaws.com"
)

// gitHubThumbprints are the certificate thumbprints GitHub publishes for its
// OIDC issuer. IAM validates this issuer against its own trusted CAs and does
// not use them; they are kept so the provider matches GitHub's documentation.
var gitHubThumbprints = []string{
	"6938fd4d98bab03faadb97b34396831e3780aea1",
	"1c58a3a8518e8759bf075b76b750d4f2df264fcd",
}

// DeployServices are the AWS services the deploy role may call: everything
// this program creates (network, EKS, RDS, ElastiCache, KMS, logs, IAM for
// the roles it owns, load balancer, ECR, Secrets Manager, SNS, Budgets,
// CloudWatch, EventBridge rules (IAM prefix events), Lambda for the dev
// breaker, Route 53 for the service's name, CodeBuild for the CI runner),
// nothing else.
var DeployServices = []string{
	"autoscaling", "budgets", "cloudwatch", "codebuild", "ec2", "ecr", "eks", "elasticache", "elasticloadbalancing",
	"events", "iam", "kms", "lambda", "logs", "rds", "route53", "secretsmanager", "sns",
}

// RunnerConnectionActions let the deploy role hand the account's GitHub
// connection to the CI runner's CodeBuild project (create, update, webhook),
// never create, change or delete a connection.
var RunnerConnectionActions = []string{
	"codeconnections:GetConnection", "codeconnections:PassConnection", "codeconnections:UseConnection",
	"codestar-connections:GetConnection", "codestar-connections:PassConnection", "codestar-connections:UseConnection",
}

// LongLivedCredentialActions create or change credentials that outlive a
// session. The deploy role may never call them: CI access stays OIDC-only.
var LongLivedCredentialActions = []string{
	"iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile",
	"iam:UpdateLoginProfile", "iam:CreateServiceSpecificCredential", "iam:ResetServiceSpecificCredential",
	"iam:UploadSSHPublicKey", "iam:UploadSigningCertificate", "iam:AttachUserPolicy", "iam:PutUserPolicy",
	"iam:AddUserToGroup",
}

// SelfProtectedActions are denied on the deploy and preview roles
// themselves: a pipeline cannot widen its own trust or permissions, nor
// detach the policy the 100 % cost breaker attaches to freeze it.
var SelfProtectedActions = []string{
	"iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy",
	"iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
	"iam:DeleteRole", "iam:UpdateRole",
}

// AdminPolicyARNs may not be attached to any role by the deploy role.
var AdminPolicyARNs = []string{
	"arn:aws:iam::aws:policy/AdministratorAccess",
	"arn:aws:iam::aws:policy/IAMFullAccess",
	"arn:aws:iam::aws:policy/PowerUserAccess",
}

// PreviewDataReadActions read data rather than configuration. AWS's
// ReadOnlyAccess grants some of them; the preview role (which code in any
// pull request can use) is denied all of them.
var PreviewDataReadActions = []string{
	"secretsmanager:GetSecretValue", "lambda:GetFunction", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
	"logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults",
	"rds:DownloadDBLogFilePortion", "rds:DownloadCompleteDBLogFile", "dynamodb:GetItem", "dynamodb:BatchGetItem",
	"dynamodb:Query", "dynamodb:Scan", "sqs:ReceiveMessage", "athena:GetQueryResults", "ec2:GetPasswordData",
	"ec2:GetConsoleOutput", "ec2:GetConsoleScreenshot",
}

// DeployAccessArgs configures DeployAccess.
type DeployAccessArgs struct {
	// Repository is the GitHub repository allowed to deploy, "owner/name".
	// Repositories on immutable subject claims (created or renamed after
	// GitHub's 2026 change, or opted in) give "owner@ID/name@ID": use that
	// form then, it is matched verbatim. Required.
	Repository string
	// Environments are the GitHub environments whose jobs may assume the
	// deploy role (the sub claim repo:<Repository>:environment:<env>); branch,
	// tag and pull request jobs never can. Required, e.g. ["prod"].
	Environments []string
	// ExistingOIDCProviderArn references the account's GitHub OIDC identity
	// provider (IAM allows one per URL and account). Empty creates it: do that
	// in exactly one stack per account and pass its oidcProviderArn output
	// (or the ARN) to the others.
	ExistingOIDCProviderArn string
	// RoleName of the deploy role; default <name>-deploy. A fixed name lets
	// the cost breaker, the self-protection deny and the runbooks address it.
	RoleName string
	// MaxSessionSeconds of the deploy role, 3600-43200; default 7200 (a first
	// `pulumi up` of EKS and Multi-AZ RDS can take longer than an hour).
	MaxSessionSeconds int
	// DisablePreviewRole skips the read-only role that pull request jobs
	// (sub repo:<Repository>:pull_request) assume for `pulumi preview`.
	DisablePreviewRole bool
	// PreviewRoleName; default <name>-preview.
	PreviewRoleName string
	// Region, when set, limits the deploy role to that region (and to
	// us-east-1, where IAM and Budgets requests are made).
	Region string
	// StateBucketArn and SecretsKeyArn are the S3 state backend and the KMS
	// secrets provider key (arn:aws:kms:…:key/…) when the stack does not use
	// Pulumi Cloud: both roles get what `pulumi up` / `preview` need on them
	// (the preview role may write only lock files), and the deploy role may
	// not delete or re-policy them.
	StateBucketArn string
	SecretsKeyArn  string
}

var (
	githubRepoRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*(@[0-9]+)?/[A-Za-z0-9._-]+(@[0-9]+)?$`)
	githubEnvRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
	githubOIDCArn  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
	iamRoleNameRe  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	awsRegionRe    = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	s3BucketArnRe  = regexp.MustCompile(`^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	kmsKeyArnRe    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$`)
	immutableSubRe = regexp.MustCompile(`^[^@/]+@[0-9]+/[^@/]+@[0-9]+$`)
)

// CheckGitHubRepository validates a repository as DeployAccess accepts it
// ("owner/name" or "owner@ID/name@ID"); stack config validation calls it too,
// so a value the config accepts never fails halfway through registration.
func CheckGitHubRepository(repo string) error {
	switch {
	case !githubRepoRe.MatchString(repo):
		return fmt.Errorf("%q is not a GitHub owner/name", repo)
	case strings.Contains(repo, "@") && !immutableSubRe.MatchString(repo):
		return fmt.Errorf("%q: give both immutable IDs (owner@ID/name@ID) or none", repo)
	}
	return nil
}

// CheckGitHubOIDCProviderArn validates an existing provider's ARN ("" means
// none: DeployAccess creates it).
func CheckGitHubOIDCProviderArn(arn string) error {
	if arn != "" && !githubOIDCArn.MatchString(arn) {
		return fmt.Errorf("%q is not the ARN of a GitHub OIDC provider (arn:aws:iam::ACCOUNT:oidc-provider/%s)", arn, GitHubOIDCHost)
	}
	return nil
}

func (a *DeployAccessArgs) withDefaults(name string) (DeployAccessArgs, error) {
	out := *a
	out.Environments = slices.Clone(a.Environments)
	if out.RoleName == "" {
		out.RoleName = name + "-deploy"
	}
	if out.PreviewRoleName == "" {
		out.PreviewRoleName = name + "-preview"
	}
	if out.MaxSessionSeconds == 0 {
		out.MaxSessionSeconds = 7200
	}
	repoErr := CheckGitHubRepository(out.Repository)
	oidcErr := CheckGitHubOIDCProviderArn(out.ExistingOIDCProviderArn)
	switch {
	case repoErr != nil:
		return out, fmt.Errorf("DeployAccessArgs.Repository: %w", repoErr)
	case len(out.Environments) == 0:
		return out, fmt.Errorf("DeployAccessArgs.Environments: list at least one GitHub environment (e.g. prod)")
	case oidcErr != nil:
		return out, fmt.Errorf("DeployAccessArgs.ExistingOIDCProviderArn: %w", oidcErr)
	case !iamRoleNameRe.MatchString(out.RoleName):
		return out, fmt.Errorf("DeployAccessArgs.RoleName: %q is not an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)", out.RoleName)
	case !iamRoleNameRe.MatchString(out.PreviewRoleName) || out.PreviewRoleName == out.RoleName:
		return out, fmt.Errorf("DeployAccessArgs.PreviewRoleName: %q is not an IAM role name distinct from RoleName", out.PreviewRoleName)
	case out.MaxSessionSeconds < 3600 || out.MaxSessionSeconds > 43200:
		return out, fmt.Errorf("DeployAccessArgs.MaxSessionSeconds: %d is out of range 3600-43200", out.MaxSessionSeconds)
	case out.Region != "" && !awsRegionRe.MatchString(out.Region):
		return out, fmt.Errorf("DeployAccessArgs.Region: %q is not an AWS region", out.Region)
	case out.StateBucketArn != "" && !s3BucketArnRe.MatchString(out.StateBucketArn):
		return out, fmt.Errorf("DeployAccessArgs.StateBucketArn: %q is not an S3 bucket ARN (arn:aws:s3:::bucket)", out.StateBucketArn)
	case out.SecretsKeyArn != "" && !kmsKeyArnRe.MatchString(out.SecretsKeyArn):
		return out, fmt.Errorf("DeployAccessArgs.SecretsKeyArn: %q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID; alias ARNs cannot grant key use)", out.SecretsKeyArn)
	}
	seen := map[string]bool{}
	for _, e := range out.Environments {
		switch {
		case !githubEnvRe.MatchString(e):
			return out, fmt.Errorf("DeployAccessArgs.Environments: %q is not a plain GitHub environment name (A-Z a-z 0-9 . _ -)", e)
		case seen[e]:
			return out, fmt.Errorf("DeployAccessArgs.Environments: %q listed twice", e)
		}
		seen[e] = true
	}
	return out, nil
}

// DeploySubjects are the OIDC sub claims the deploy role trusts.
func (a *DeployAccessArgs) DeploySubjects() []string {
	subs := make([]string, len(a.Environments))
	for i, e := range a.Environments {
		subs[i] = "repo:" + a.Repository + ":environment:" + e
	}
	return subs
}

// PreviewSubject is the OIDC sub claim of pull request jobs.
func (a *DeployAccessArgs) PreviewSubject() string {
	return "repo:" + a.Repository + ":pull_request"
}

// DeployAccess is how CI reaches AWS: the GitHub OIDC identity provider
// (created or referenced), a deploy role that only jobs of the repository's
// named GitHub environments can assume, and a read-only preview role for
// pull request jobs. No access keys exist anywhere.
//
// The deploy role runs `pulumi up` for this program. Least privilege is not
// achievable for a role that creates IAM roles, KMS keys and clusters; what
// it gets instead: the services in DeployServices only (optionally one
// region), no long-lived credentials (LongLivedCredentialActions), no admin
// managed policies on any role, and no changes to itself or to the GitHub
// OIDC provider, so a pipeline cannot widen its own access nor lift the cost
// breaker's freeze. Changing this component is therefore an administrator's
// `pulumi up` (docs/delivery.md). Residual risk: the role can still create a
// new role with broad inline permissions; see docs/security.md.
type DeployAccess struct {
	pulumi.ResourceState

	RoleArn         pulumi.StringOutput `pulumi:"roleArn"`
	RoleName        pulumi.StringOutput `pulumi:"roleName"`
	OIDCProviderArn pulumi.StringOutput `pulumi:"oidcProviderArn"`
	// PreviewRoleArn and PreviewRoleName are empty when DisablePreviewRole.
	PreviewRoleArn  pulumi.StringOutput `pulumi:"previewRoleArn"`
	PreviewRoleName pulumi.StringOutput `pulumi:"previewRoleName"`
}

// NewDeployAccess creates DeployAccess.
func NewDeployAccess(ctx *pulumi.Context, name string, args *DeployAccessArgs, opts ...pulumi.ResourceOption) (*DeployAccess, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	d := &DeployAccess{}
	if err := ctx.RegisterComponentResource("platform:components:DeployAccess", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	providerArn := pulumi.String(a.ExistingOIDCProviderArn).ToStringOutput()
	if a.ExistingOIDCProviderArn == "" {
		provider, err := iam.NewOpenIdConnectProvider(ctx, name+"-github", &iam.OpenIdConnectProviderArgs{
			Url:             pulumi.String(GitHubOIDCURL),
			ClientIdLists:   pulumi.StringArray{pulumi.String(GitHubOIDCAudience)},
			ThumbprintLists: pulumi.ToStringArray(gitHubThumbprints),
		}, parent)
		if err != nil {
			return nil, err
		}
		providerArn = provider.Arn
	}

	deployRole, err := iam.NewRole(ctx, name+"-deploy", &iam.RoleArgs{
		Name:               pulumi.String(a.RoleName),
		Description:        pulumi.String("pulumi up from GitHub Actions: " + a.Repository + " environments " + fmt.Sprint(a.Environments)),
		AssumeRolePolicy:   trustPolicy(providerArn, a.DeploySubjects()),
		MaxSessionDuration: pulumi.Int(a.MaxSessionSeconds),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Separate policy resources, never inline on the role: Pulumi must not
	// own the role's full policy list, or an update would detach the freeze
	// policy the cost breaker attaches.
	if _, err := iam.NewRolePolicy(ctx, name+"-deploy", &iam.RolePolicyArgs{
		Role:   deployRole.ID(),
		Policy: pulumi.String(mustJSON(deployPolicy(a))),
	}, parent); err != nil {
		return nil, err
	}

	d.PreviewRoleArn = pulumi.String("").ToStringOutput()
	d.PreviewRoleName = pulumi.String("").ToStringOutput()
	if !a.DisablePreviewRole {
		previewRole, err := iam.NewRole(ctx, name+"-preview", &iam.RoleArgs{
			Name:               pulumi.String(a.PreviewRoleName),
			Description:        pulumi.String("pulumi preview from pull requests of " + a.Repository + " (read only)"),
			AssumeRolePolicy:   trustPolicy(providerArn, []string{a.PreviewSubject()}),
			MaxSessionDuration: pulumi.Int(3600),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := iam.NewRolePolicyAttachment(ctx, name+"-preview-readonly", &iam.RolePolicyAttachmentArgs{
			Role:      previewRole.Name,
			PolicyArn: pulumi.String("arn:aws:iam::aws:policy/ReadOnlyAccess"),
		}, parent); err != nil {
			return nil, err
		}
		if _, err := iam.NewRolePolicy(ctx, name+"-preview", &iam.RolePolicyArgs{
			Role:   previewRole.ID(),
			Policy: pulumi.String(mustJSON(previewPolicy(a))),
		}, parent); err != nil {
			return nil, err
		}
		d.PreviewRoleArn = previewRole.Arn
		d.PreviewRoleName = previewRole.Name
	}

	d.RoleArn = deployRole.Arn
	d.RoleName = deployRole.Name
	d.OIDCProviderArn = providerArn
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"roleArn":         d.RoleArn,
		"roleName":        d.RoleName,
		"oidcProviderArn": d.OIDCProviderArn,
		"previewRoleArn":  d.PreviewRoleArn,
		"previewRoleName": d.PreviewRoleName,
	})
}

// trustPolicy lets GitHub's OIDC tokens with the audience of
// configure-aws-credentials and one of the exact subjects assume a role.
// StringEquals, not StringLike: no wildcard can widen it.
func trustPolicy(providerArn pulumi.StringOutput, subjects []string) pulumi.StringOutput {
	return providerArn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid":       "GitHubActionsOIDC",
				"Effect":    "Allow",
				"Action":    "sts:AssumeRoleWithWebIdentity",
				"Principal": map[string]any{"Federated": arn},
				"Condition": map[string]any{"StringEquals": map[string]any{
					GitHubOIDCHost + ":aud": GitHubOIDCAudience,
					GitHubOIDCHost + ":sub": subjects,
				}},
			}},
		})
		return string(b), err
	}).(pulumi.StringOutput)
}

func roleArnPattern(roleName string) string { return "arn:aws:iam::*:role/" + roleName }

func deployPolicy(a DeployAccessArgs) map[string]any {
	actions := make([]string, len(DeployServices))
	for i, s := range DeployServices {
		actions[i] = s + ":*"
	}
	allow := map[string]any{"Sid": "ProgramServices", "Effect": "Allow", "Action": actions, "Resource": "*"}
	if a.Region != "" {
		regions := []string{a.Region}
		if a.Region != "us-east-1" {
			regions = append(regions, "us-east-1") // IAM and Budgets are served from us-east-1
		}
		allow["Condition"] = map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": regions}}
	}
	stmts := []any{
		allow,
		map[string]any{"Sid": "Identity", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
		// The deploy job runs preflight before `pulumi up` (deploy-stack.yml):
		// ACM, Service Quotas and Cost Explorer are outside ProgramServices.
		preflightStatement(),
		map[string]any{"Sid": "RunnerConnection", "Effect": "Allow", "Action": RunnerConnectionActions, "Resource": "*"},
		map[string]any{"Sid": "PublicParameters", "Effect": "Allow",
			"Action":   []string{"ssm:GetParameter", "ssm:GetParameters"},
			"Resource": "arn:aws:ssm:*::parameter/aws/service/*"},
		map[string]any{"Sid": "NoLongLivedCredentials", "Effect": "Deny", "Action": LongLivedCredentialActions, "Resource": "*"},
		map[string]any{"Sid": "NoSelfChange", "Effect": "Deny", "Action": SelfProtectedActions,
			"Resource": []string{roleArnPattern(a.RoleName), roleArnPattern(a.PreviewRoleName)}},
		map[string]any{"Sid": "NoGitHubTrustChange", "Effect": "Deny",
			"Action": []string{"iam:DeleteOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
				"iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
				"iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider"},
			"Resource": "arn:aws:iam::*:oidc-provider/" + GitHubOIDCHost},
		map[string]any{"Sid": "NoAdminPolicies", "Effect": "Deny",
			"Action": []string{"iam:AttachRolePolicy", "iam:AttachGroupPolicy"}, "Resource": "*",
			"Condition": map[string]any{"ArnEquals": map[string]any{"iam:PolicyARN": AdminPolicyARNs}}},
	}
	if a.StateBucketArn != "" {
		stmts = append(stmts,
			map[string]any{"Sid": "StateBucket", "Effect": "Allow",
				"Action":   []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
				"Resource": []string{a.StateBucketArn, a.StateBucketArn + "/*"}},
			map[string]any{"Sid": "KeepStateBucket", "Effect": "Deny",
				"Action": []string{"s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning",
					"s3:PutLifecycleConfiguration", "s3:PutBucketObjectLockConfiguration"},
				"Resource": a.StateBucketArn})
	}
	if a.SecretsKeyArn != "" {
		stmts = append(stmts,
			map[string]any{"Sid": "SecretsProvider", "Effect": "Allow",
				"Action": []string{"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"}, "Resource": a.SecretsKeyArn},
			map[string]any{"Sid": "KeepSecretsKey", "Effect": "Deny",
				"Action":   []string{"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:CreateGrant"},
				"Resource": a.SecretsKeyArn})
	}
	return map[string]any{"Version": "2012-10-17", "Statement": stmts}
}

// PreviewInvokeActions are the read calls behind the data sources the
// program reads in every preview (eks:getCluster, eks:getNodeGroup,
// getAvailabilityZones, iam:getOpenIdConnectProvider by URL). ReadOnlyAccess
// grants them too; the role names them itself, so what a preview needs is
// written where it is granted, and a test checks every invoke the program
// makes against this policy.
var PreviewInvokeActions = []string{
	"eks:DescribeCluster", "eks:DescribeNodegroup", "ec2:DescribeAvailabilityZones",
	"iam:ListOpenIDConnectProviders", "iam:GetOpenIDConnectProvider",
}

// PreflightActions are exactly the calls `go run . preflight` makes
// (offline/preflight): reads of the account that tell, before the first
// `pulumi up`, whether it can go through. It is the one copy: the preview
// and deploy roles grant it, `preflight --policy` prints it for any other
// role, and a test records every call preflight makes against recorded AWS
// responses and requires this list, no more and no less.
var PreflightActions = []string{
	"acm:DescribeCertificate",
	"ce:GetCostAndUsage", "ce:ListCostAllocationTags",
	"codeconnections:GetConnection", "codestar-connections:GetConnection",
	"ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones", "ec2:DescribeInstanceTypeOfferings",
	"ec2:DescribeNatGateways", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
	"eks:DescribeCluster", "eks:ListClusters",
	"elasticache:DescribeCacheEngineVersions", "elasticache:DescribeReplicationGroups",
	"elasticache:DescribeReservedCacheNodesOfferings", "elasticache:ListTagsForResource",
	"elasticloadbalancing:DescribeLoadBalancers",
	"iam:GetOpenIDConnectProvider", "iam:GetRole", "iam:ListOpenIDConnectProviders",
	"logs:DescribeLogGroups", "logs:ListTagsForResource",
	"rds:DescribeDBEngineVersions", "rds:DescribeDBInstances", "rds:DescribeOrderableDBInstanceOptions",
	"secretsmanager:DescribeSecret",
	"servicequotas:GetAWSDefaultServiceQuota", "servicequotas:GetServiceQuota",
	"sts:GetCallerIdentity",
}

// preflightStatement grants PreflightActions (all reads; most take no
// resource-level permission, hence "*").
func preflightStatement() map[string]any {
	return map[string]any{"Sid": "Preflight", "Effect": "Allow", "Action": PreflightActions, "Resource": "*"}
}

func previewPolicy(a DeployAccessArgs) map[string]any {
	stmts := []any{
		map[string]any{"Sid": "ProgramReads", "Effect": "Allow", "Action": PreviewInvokeActions, "Resource": "*"},
		preflightStatement(),
		map[string]any{"Sid": "NoDataReads", "Effect": "Deny", "Action": PreviewDataReadActions, "Resource": "*"},
		map[string]any{"Sid": "OnlyPublicParameters", "Effect": "Deny",
			"Action":      []string{"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"},
			"NotResource": "arn:aws:ssm:*::parameter/aws/service/*"},
	}
	if a.StateBucketArn != "" {
		stmts = append(stmts,
			map[string]any{"Sid": "ReadState", "Effect": "Allow",
				"Action": []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}, "Resource": []string{a.StateBucketArn, a.StateBucketArn + "/*"}},
			map[string]any{"Sid": "StateLocks", "Effect": "Allow",
				"Action": []string{"s3:PutObject", "s3:DeleteObject"}, "Resource": a.StateBucketArn + "/.pulumi/locks/*"},
			map[string]any{"Sid": "NoOtherObjects", "Effect": "Deny", "Action": "s3:GetObject", "NotResource": a.StateBucketArn + "/*"})
	} else {
		stmts = append(stmts, map[string]any{"Sid": "NoObjects", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"})
	}
	if a.SecretsKeyArn != "" {
		stmts = append(stmts,
			map[string]any{"Sid": "DecryptStackSecrets", "Effect": "Allow", "Action": []string{"kms:Decrypt", "kms:DescribeKey"}, "Resource": a.SecretsKeyArn},
			map[string]any{"Sid": "NoOtherDecrypt", "Effect": "Deny", "Action": "kms:Decrypt", "NotResource": a.SecretsKeyArn})
	} else {
		stmts = append(stmts, map[string]any{"Sid": "NoDecrypt", "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"})
	}
	return map[string]any{"Version": "2012-10-17", "Statement": stmts}
}
