package preflight

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/stacks"
)

// checkGitHubOIDC: the program's own decision about the account's GitHub
// OIDC provider (stacks.Config.GitHubOIDCProviderFor), from preflight's IAM
// reads, so a refusal the program would give in its first preview shows up
// here first, with the ARN to set.
func checkGitHubOIDC(e *env) []Finding {
	key := stacks.Namespace + ":githubOidcProviderArn"
	if arn := e.cfg.GithubOIDCProvider; arn != "" {
		fix := fmt.Sprintf("set the ARN of this account's provider (aws iam list-open-id-connect-providers), or remove %s so the stack creates it", key)
		if account := strings.Split(arn, ":")[4]; account != e.account {
			return []Finding{fail(fix, "%s (%s) is in account %s, not %s", arn, key, account, e.account)}
		}
		_, err := e.aws.iam.GetOpenIDConnectProvider(e.ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		switch {
		case errCode(err) == "NoSuchEntity":
			return []Finding{fail(fix, "%s (%s) does not exist: the deploy role's trust would name a provider that is not there", arn, key)}
		case err != nil:
			return []Finding{e.failed(arn, err)}
		}
		return []Finding{pass("uses the account's provider %s (%s)", arn, key)}
	}
	list, err := e.aws.iam.ListOpenIDConnectProviders(e.ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return []Finding{e.failed("OIDC providers", err)}
	}
	found := ""
	for _, p := range list.OpenIDConnectProviderList {
		if strings.HasSuffix(aws.ToString(p.Arn), ":oidc-provider/"+components.GitHubOIDCHost) {
			found = aws.ToString(p.Arn)
		}
	}
	var tags map[string]string
	if found != "" {
		out, err := e.aws.iam.GetOpenIDConnectProvider(e.ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(found)})
		if err != nil {
			return []Finding{e.failed(found, err)}
		}
		tags = tagMap(out.Tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
	}
	if _, err := e.cfg.GitHubOIDCProviderFor(found, tags); err != nil {
		return []Finding{fail(fmt.Sprintf("pulumi config set %s %s", key, found), "%v", err)}
	}
	if found == "" {
		return []Finding{pass("the account has no provider for %s: the stack creates it", components.GitHubOIDCHost)}
	}
	return []Finding{pass("%s exists and is this stack's (%s): the stack keeps managing it", found, ownerOf(tags))}
}
