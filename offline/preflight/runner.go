package preflight

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codeconnections/types"
	"github.com/aws/aws-sdk-go-v2/service/codestarconnections"
	csctypes "github.com/aws/aws-sdk-go-v2/service/codestarconnections/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tenantco/platform/stacks"
)

// checkRunner: the CI runner's GitHub credential (platform:
// runnerGithubCredentialArn) is usable before `pulumi up` hands it to
// CodeBuild. A connection created with create-connection stays PENDING
// until someone completes the GitHub App handshake in the console
// (CodeConnections User Guide, "Update a pending connection"); CodeBuild's
// webhook for the runner cannot be created over it, so the first `up`
// stops at the runner. A secret is checked by its metadata only
// (DescribeSecret): preflight never reads the token.
func checkRunner(e *env) []Finding {
	key := stacks.Namespace + ":runnerGithubCredentialArn"
	arn := e.cfg.RunnerGithubCredentialArn
	if arn == "" {
		return []Finding{pass("no CI runner (%s unset): the program creates none, and the Kubernetes part deploys only from where the cluster endpoint is reachable (docs/delivery.md, first deploy)", key)}
	}
	if fs := placeholders(e.cfg, "runnerGithubCredentialArn"); len(fs) > 0 {
		return fs
	}
	parts := strings.Split(arn, ":")
	region, account := parts[3], parts[4]
	create := fmt.Sprintf("create one (aws codeconnections create-connection --provider-type GitHub --connection-name platform-github --region %s), "+
		"complete it in the console (Developer Tools > Settings > Connections > Update pending connection, installing the AWS Connector for GitHub app on this repository only), "+
		"then pulumi config set %s <its ARN>", e.cfg.Region, key)
	if account != e.account {
		return []Finding{fail(create, "%s belongs to account %s, not %s: the runner's CodeBuild project can only use a credential of its own account", arn, account, e.account)}
	}
	complete := fmt.Sprintf("complete the GitHub handshake in the console: Developer Tools > Settings > Connections > %s > Update pending connection (region %s)", arn, region)
	switch {
	case strings.Contains(arn, ":codeconnections:"):
		out, err := e.aws.cc.GetConnection(e.ctx, &codeconnections.GetConnectionInput{ConnectionArn: aws.String(arn)},
			func(o *codeconnections.Options) { o.Region = region })
		if errCode(err) == "ResourceNotFoundException" {
			return []Finding{fail(create, "%s does not exist", arn)}
		}
		if err != nil {
			return []Finding{e.failed("connection "+arn, err)}
		}
		return connectionFindings(arn, aws.ToString(out.Connection.ConnectionName), string(out.Connection.ProviderType),
			string(out.Connection.ConnectionStatus), string(cctypes.ConnectionStatusAvailable), string(cctypes.ConnectionStatusPending), create, complete)
	case strings.Contains(arn, ":codestar-connections:"):
		out, err := e.aws.csc.GetConnection(e.ctx, &codestarconnections.GetConnectionInput{ConnectionArn: aws.String(arn)},
			func(o *codestarconnections.Options) { o.Region = region })
		if errCode(err) == "ResourceNotFoundException" {
			return []Finding{fail(create, "%s does not exist", arn)}
		}
		if err != nil {
			return []Finding{e.failed("connection "+arn, err)}
		}
		return connectionFindings(arn, aws.ToString(out.Connection.ConnectionName), string(out.Connection.ProviderType),
			string(out.Connection.ConnectionStatus), string(csctypes.ConnectionStatusAvailable), string(csctypes.ConnectionStatusPending), create, complete)
	default: // a Secrets Manager secret holding a GitHub token
		out, err := e.aws.sm.DescribeSecret(e.ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)},
			func(o *secretsmanager.Options) { o.Region = region })
		if errCode(err) == "ResourceNotFoundException" {
			return []Finding{fail(create, "%s does not exist", arn)}
		}
		if err != nil {
			return []Finding{e.failed("secret "+arn, err)}
		}
		if out.DeletedDate != nil {
			return []Finding{fail(fmt.Sprintf("aws secretsmanager restore-secret --secret-id %s --region %s, or %s", arn, region, create),
				"%s is scheduled for deletion (since %s): CodeBuild cannot read the token", arn, out.DeletedDate.Format("2006-01-02"))}
		}
		return []Finding{pass("secret %s exists (metadata only: preflight never reads the token; CodeBuild reads it with the runner's role)", aws.ToString(out.Name))}
	}
}

// connectionFindings judges a connection's status (the two connection APIs
// answer the same shape under two packages).
func connectionFindings(arn, name, provider, status, available, pending, create, complete string) []Finding {
	switch {
	case provider != "GitHub":
		return []Finding{fail(create, "%s (%s) is a %s connection, not GitHub", arn, name, provider)}
	case status == available:
		return []Finding{pass("GitHub connection %s is %s", name, status)}
	case status == pending:
		return []Finding{fail(complete, "GitHub connection %s is %s: CodeBuild cannot create the runner's webhook over it until the handshake is completed", name, status)}
	}
	return []Finding{fail(create, "GitHub connection %s is %s, not %s", name, status, available)}
}
