package stacks

import (
	"fmt"
	"net/netip"
	"strings"
)

// Documentation values never reach AWS: a stack file copied from the repo
// keeps AWS's example account ids, RFC 2606 domains and RFC 5737 networks
// until someone fills in the real ones, and AWS would fail the deploy
// halfway (CreateListener with a certificate that does not exist), or worse,
// accept it (alerts mailed to a domain that cannot receive them).
var (
	// AWS's documentation account ids, and the all-zero one.
	placeholderAccounts = []string{"111122223333", "123456789012", "444455556666", "000000000000"}
	// RFC 2606 reserved names.
	placeholderDomains = []string{".example", ".test", ".invalid", ".localhost", "example.com", "example.net", "example.org"}
	// RFC 5737 documentation networks.
	placeholderNets = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24"),
	}
)

// Placeholders lists the config values that are documentation placeholders,
// each naming the key and the fix. `pulumi preview` and `pulumi up` refuse a
// stack with any (Program); the offline review shows them as findings and
// runs on.
func (c *Config) Placeholders() []string {
	var p []string
	found := func(key, format string, a ...any) {
		p = append(p, fmt.Sprintf("%s:%s: %s", Namespace, key, fmt.Sprintf(format, a...)))
	}
	if m := certArnRe.FindStringSubmatch(c.CertificateArn); m != nil {
		account, id := certAccount(c.CertificateArn), c.CertificateArn[strings.LastIndex(c.CertificateArn, "/")+1:]
		if isPlaceholderAccount(account) || strings.Trim(id, "0-") == "" {
			found("certificateArn", "%q is a documentation placeholder; request and validate the load balancer's certificate first "+
				"(aws acm request-certificate --domain-name <host> --validation-method DNS, then add the CNAME it asks for), "+
				"then pulumi config set %s:certificateArn <its ARN>", c.CertificateArn, Namespace)
		} else if c.AccountID != "" && account != c.AccountID {
			found("certificateArn", "%q belongs to account %s, but the stack deploys into %s (platform:accountId); "+
				"a load balancer can only use a certificate of its own account", c.CertificateArn, account, c.AccountID)
		}
	}
	if isPlaceholderAccount(c.AccountID) {
		found("accountId", "%q is a documentation account id; set the stack's real account (aws sts get-caller-identity)", c.AccountID)
	}
	if isPlaceholderHost(c.ServiceHostname) {
		found("serviceHostname", "%q is a reserved example name; set the service's real DNS name", c.ServiceHostname)
	}
	for _, e := range c.AlertEmails {
		if _, domain, _ := strings.Cut(e, "@"); isPlaceholderHost(domain) {
			found("alertEmails", "%q cannot receive mail (a reserved example domain): budget alerts and breakers would reach no one; list real addresses", e)
		}
	}
	for _, cidr := range c.ClusterPublicAccessCIDRs {
		if pfx, err := netip.ParsePrefix(cidr); err == nil {
			for _, doc := range placeholderNets {
				if doc.Overlaps(pfx) {
					found("clusterPublicAccessCidrs", "%q is a documentation network (RFC 5737); list your office/VPN egress CIDRs, or none for a private-only endpoint", cidr)
				}
			}
		}
	}
	for _, arn := range append(append([]string{}, c.ClusterAdminARNs...), c.GithubOIDCProvider) {
		if m := iamPrincipalRe.FindStringSubmatch(arn); m != nil && isPlaceholderAccount(m[1]) {
			found("clusterAdminArns", "%q is in a documentation account; list principals of the stack's account", arn)
		} else if strings.HasPrefix(arn, "arn:aws:iam::") && isPlaceholderAccount(strings.Split(arn, ":")[4]) {
			found("githubOidcProviderArn", "%q is in a documentation account; use the ARN of the account's own provider", arn)
		}
	}
	if arn := c.RunnerGithubCredentialArn; arn != "" {
		parts := strings.Split(arn, ":")
		if len(parts) > 5 && (isPlaceholderAccount(parts[4]) || strings.Trim(parts[len(parts)-1][strings.LastIndex(parts[len(parts)-1], "/")+1:], "0-") == "") {
			found("runnerGithubCredentialArn", "%q is a documentation placeholder; create the GitHub connection once per account "+
				"(aws codeconnections create-connection --provider-type GitHub --connection-name platform-github, then complete it in the console, "+
				"installing the AWS Connector for GitHub app on this repository only; docs/delivery.md), then pulumi config set %s:runnerGithubCredentialArn <its ARN>",
				arn, Namespace)
		} else if c.AccountID != "" && parts[4] != c.AccountID {
			found("runnerGithubCredentialArn", "%q belongs to account %s, but the stack deploys into %s (platform:accountId); "+
				"CodeBuild uses a connection or secret of its own account", arn, parts[4], c.AccountID)
		}
	}
	return p
}

func certAccount(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) > 4 {
		return parts[4]
	}
	return ""
}

func isPlaceholderAccount(account string) bool {
	for _, a := range placeholderAccounts {
		if account == a {
			return true
		}
	}
	return false
}

func isPlaceholderHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	for _, d := range placeholderDomains {
		if host == strings.TrimPrefix(d, ".") || strings.HasSuffix(host, d) || (!strings.HasPrefix(d, ".") && strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}
