package stacks

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/components"
)

// The lookups below read the account before anything is registered, so a
// stack that cannot work in it fails its first `pulumi preview` with a
// message naming the key to set, instead of halfway through `pulumi up`.
// Every data source read here is granted to the preview role
// (components.PreviewInvokeActions); a test keeps the two in step.

// The zone rule: which of a region's zones the program may choose when
// platform:availabilityZoneIds is empty. chooseZones passes it to the data
// source as filters; preflight judges EC2's own answer with Config.ZoneUsable.
// One set of values, so the two cannot drift apart.
const (
	zoneState = "available"
	zoneOptIn = "opt-in-not-required"
	zoneType  = "availability-zone"
)

// Zone is one availability zone as EC2 DescribeAvailabilityZones describes it.
type Zone struct {
	ID, Name, State, OptInStatus, Type string
}

// ZoneUsable reports why the program's lookup would pass over z, or "" when
// it may choose it.
func (c *Config) ZoneUsable(z Zone) string {
	switch {
	case z.State != zoneState:
		return fmt.Sprintf("state %s, not %s", z.State, zoneState)
	case z.Type != zoneType:
		return fmt.Sprintf("a %s, not an %s", z.Type, zoneType)
	case z.OptInStatus != zoneOptIn:
		return fmt.Sprintf("opt-in status %s (the lookup takes only %s)", z.OptInStatus, zoneOptIn)
	case slices.Contains(c.ExcludedZoneIDs, z.ID):
		return "excluded (platform:excludedZoneIds)"
	}
	return ""
}

// SelectZones is the program's zone choice over a region's described zones:
// the configured IDs as they are, or the first AZCount usable zones by ID.
func (c *Config) SelectZones(zones []Zone) ([]string, error) {
	if len(c.ZoneIDs) > 0 {
		return c.ZoneIDs, nil
	}
	var ids []string
	for _, z := range zones {
		if c.ZoneUsable(z) == "" {
			ids = append(ids, z.ID)
		}
	}
	return c.pickZones(ids)
}

// chooseZones returns the stack's availability zone IDs: the configured
// ones, or the first AZCount zones of the region by ID that are available,
// need no opt-in and are not excluded (EKS-unsupported by default). Zone IDs
// are stable and name the same physical zone in every account; AWS numbers
// new zones upward, so the choice does not move as the region grows.
func chooseZones(ctx *pulumi.Context, cfg *Config, provider *aws.Provider) ([]string, error) {
	if len(cfg.ZoneIDs) > 0 {
		return cfg.ZoneIDs, nil
	}
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State:          pulumi.StringRef(zoneState),
		ExcludeZoneIds: cfg.ExcludedZoneIDs,
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{zoneOptIn}},
			{Name: "zone-type", Values: []string{zoneType}},
		},
	}, pulumi.Provider(provider))
	if err != nil {
		return nil, fmt.Errorf("%s:availabilityZoneIds: looking up the zones of %s failed (%w); list them instead, e.g. pulumi config set --path '%s:availabilityZoneIds[0]' use1-az1",
			Namespace, cfg.Region, err, Namespace)
	}
	return cfg.pickZones(res.ZoneIds)
}

// pickZones takes the first AZCount of the usable zone IDs in ID order.
func (c *Config) pickZones(usable []string) ([]string, error) {
	ids := append([]string(nil), usable...)
	sort.Slice(ids, func(i, j int) bool { return zoneOrder(ids[i]) < zoneOrder(ids[j]) })
	if len(ids) < c.AZCount {
		return nil, fmt.Errorf("%s:availabilityZoneIds: %s has %d usable zones (%s) after excluding %v, but azCount is %d",
			Namespace, c.Region, len(ids), strings.Join(ids, ", "), c.ExcludedZoneIDs, c.AZCount)
	}
	return ids[:c.AZCount], nil
}

// zoneOrder sorts use1-az2 before use1-az10.
func zoneOrder(id string) string {
	i := strings.LastIndex(id, "az")
	if i < 0 {
		return id
	}
	return fmt.Sprintf("%s%04s", id[:i], id[i+2:])
}

// githubOIDCProvider decides who owns the account's GitHub OIDC provider.
// IAM allows one per URL per account, and most accounts already have one:
// creating a second fails the deploy with EntityAlreadyExists. It returns
// the ARN to use, or "" when this stack creates (or already owns) it.
func githubOIDCProvider(ctx *pulumi.Context, cfg *Config, provider *aws.Provider) (string, error) {
	if cfg.GithubOIDCProvider != "" {
		return cfg.GithubOIDCProvider, nil
	}
	found, err := iam.LookupOpenIdConnectProvider(ctx, &iam.LookupOpenIdConnectProviderArgs{
		Url: pulumi.StringRef(components.GitHubOIDCURL),
	}, pulumi.Provider(provider))
	switch {
	case err != nil && isNotFound(err):
		return cfg.GitHubOIDCProviderFor("", nil)
	case err != nil:
		return "", fmt.Errorf("%s:githubOidcProviderArn: looking up the account's GitHub OIDC provider failed: %w", Namespace, err)
	}
	return cfg.GitHubOIDCProviderFor(found.Arn, found.Tags)
}

// GitHubOIDCProviderFor is the program's decision once the account's GitHub
// OIDC provider is known (arn "" = the account has none; tags are the
// provider's): the ARN the stack uses, "" when the stack creates or already
// manages it, or an error naming the key to set. Preflight makes the same
// decision from its own IAM reads.
func (c *Config) GitHubOIDCProviderFor(arn string, tags map[string]string) (string, error) {
	switch {
	case c.GithubOIDCProvider != "":
		return c.GithubOIDCProvider, nil
	case arn == "":
		return "", nil // nobody has it: this stack creates it
	case tags["project"] == c.Project && tags["stack"] == c.Stack:
		return "", nil // created by this stack: keep managing it
	}
	owner := "outside this project"
	if s := tags["stack"]; s != "" {
		owner = "by stack " + tags["project"] + "/" + s
	}
	return "", fmt.Errorf("%s:githubOidcProviderArn: the account already has the GitHub OIDC provider %s (created %s), and IAM allows one per URL; "+
		"use it: pulumi config set %s:githubOidcProviderArn %s", Namespace, arn, owner, Namespace, arn)
}

// isNotFound recognises the data source's answer for "no such provider":
// terraform-provider-aws returns retry.NotFoundError ("couldn't find
// resource") from findOpenIDConnectProviderByURL
// (internal/service/iam/openid_connect_provider_data_source.go); IAM's own
// code for a missing ARN is NoSuchEntity.
func isNotFound(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "couldn't find resource") || strings.Contains(msg, "nosuchentity")
}
