package stacks

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Prefix names the stack's resources: <project>-<stack>.
func (c *Config) Prefix() string { return c.Project + "-" + c.Stack }

// ClusterName is the EKS cluster's name.
func (c *Config) ClusterName() string { return c.Prefix() }

// DatabaseIdentifier is the RDS instance identifier (metrics, runbooks and
// the dev breaker address the instance by it).
func (c *Config) DatabaseIdentifier() string { return c.Prefix() + "-db" }

// CacheReplicationGroupID is the ElastiCache replication group id.
func (c *Config) CacheReplicationGroupID() string { return c.Prefix() + "-redis" }

// DeployRoleName is the IAM role the deploy pipeline assumes (DeployAccess
// creates it under this name; the cost breaker freezes it).
func (c *Config) DeployRoleName() string { return c.Prefix() + "-deploy" }

// PreviewRoleName is the read-only role pull-request previews assume.
func (c *Config) PreviewRoleName() string { return c.Prefix() + "-preview" }

// RunnerProjectName is the CodeBuild project of the CI runner: workflow jobs
// run on it with runs-on codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}.
func (c *Config) RunnerProjectName() string { return c.Prefix() + "-runner" }

// validateClusterAdmins refuses what EKS would refuse: it allows one access
// entry per principal (CreateAccessEntry answers 409 ResourceInUseException
// for a second one), and the program already gives the deploy and preview
// roles theirs. The identity that creates the cluster also has admin access
// already: pulumi-eks v2.8.1 sets bootstrapClusterCreatorAdminPermissions
// (nodejs/eks/cluster.ts, not overridable: pulumi/pulumi-eks#2373), so that
// entry exists without being listed here, and listing it breaks the deploy.
func (c *Config) validateClusterAdmins() []string {
	var p []string
	bad := func(format string, a ...any) {
		p = append(p, fmt.Sprintf("%s:clusterAdminArns: %s", Namespace, fmt.Sprintf(format, a...)))
	}
	own := map[string]string{
		c.DeployRoleName():  "the deploy role already gets cluster admin from the program",
		c.PreviewRoleName(): "the preview role gets its read-only entry from the program",
	}
	seen := map[string]bool{}
	for _, arn := range c.ClusterAdminARNs {
		m := iamPrincipalRe.FindStringSubmatch(arn)
		if m == nil {
			bad("%q is not an IAM role or user ARN (arn:aws:iam::ACCOUNT:role/NAME)", arn)
			continue
		}
		name := m[3][strings.LastIndex(m[3], "/")+1:] // a role's path is not part of the principal
		key := m[1] + ":" + m[2] + "/" + name
		if why, ok := own[name]; ok && m[2] == "role" {
			bad("%q is this stack's %s role: %s, and EKS allows one access entry per principal (a second answers 409 ResourceInUseException); remove it from the list", arn, strings.TrimPrefix(name, c.Prefix()+"-"), why)
			continue
		}
		if seen[key] {
			bad("%q is listed twice; EKS allows one access entry per principal", arn)
		}
		seen[key] = true
	}
	return p
}

var tierNames = []string{"free", "starter", "pro", "enterprise"}

// validateStripe keeps the stack from giving tenantd a webhook secret
// without the price map it needs (tenantd refuses to start with one and not
// the other, and the migrations Job would fail the deploy).
func (c *Config) validateStripe() []string {
	var p []string
	bad := func(format string, a ...any) {
		p = append(p, fmt.Sprintf("%s:stripePriceTiers: %s", Namespace, fmt.Sprintf(format, a...)))
	}
	if c.StripeWebhookSecret != "" && len(c.StripePriceTiers) == 0 {
		bad("required when stripeWebhookSecret is set: map each Stripe price ID to a tier, e.g. {\"price_123\": \"starter\"} (pulumi config set --path 'platform:stripePriceTiers.price_123' starter)")
	}
	prices := make([]string, 0, len(c.StripePriceTiers))
	for k := range c.StripePriceTiers {
		prices = append(prices, k)
	}
	sort.Strings(prices)
	for _, price := range prices {
		tier := c.StripePriceTiers[price]
		switch {
		case !stripePriceRe.MatchString(price):
			bad("%q is not a Stripe price ID (price_...)", price)
		case !slices.Contains(tierNames, tier):
			bad("%q maps to %q, which is not one of %s", price, tier, strings.Join(tierNames, ", "))
		}
	}
	return p
}

// StripePriceTiersEnv renders the map as tenantd's STRIPE_PRICE_TIERS
// (price=tier,price=tier, sorted).
func (c *Config) StripePriceTiersEnv() string {
	pairs := make([]string, 0, len(c.StripePriceTiers))
	for price, tier := range c.StripePriceTiers {
		pairs = append(pairs, price+"="+tier)
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}
