package stacks

import (
	"fmt"
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
		State:          pulumi.StringRef("available"),
		ExcludeZoneIds: cfg.ExcludedZoneIDs,
		Filters: []aws.GetAvailabilityZonesFilter{
			{Name: "opt-in-status", Values: []string{"opt-in-not-required"}},
			{Name: "zone-type", Values: []string{"availability-zone"}},
		},
	}, pulumi.Provider(provider))
	if err != nil {
		return nil, fmt.Errorf("%s:availabilityZoneIds: looking up the zones of %s failed (%w); list them instead, e.g. pulumi config set --path '%s:availabilityZoneIds[0]' use1-az1",
			Namespace, cfg.Region, err, Namespace)
	}
	ids := append([]string(nil), res.ZoneIds...)
	sort.Slice(ids, func(i, j int) bool { return zoneOrder(ids[i]) < zoneOrder(ids[j]) })
	if len(ids) < cfg.AZCount {
		return nil, fmt.Errorf("%s:availabilityZoneIds: %s has %d usable zones (%s) after excluding %v, but azCount is %d",
			Namespace, cfg.Region, len(ids), strings.Join(ids, ", "), cfg.ExcludedZoneIDs, cfg.AZCount)
	}
	return ids[:cfg.AZCount], nil
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
		return "", nil // nobody has it: this stack creates it
	case err != nil:
		return "", fmt.Errorf("%s:githubOidcProviderArn: looking up the account's GitHub OIDC provider failed: %w", Namespace, err)
	case found.Tags["project"] == cfg.Project && found.Tags["stack"] == cfg.Stack:
		return "", nil // created by this stack: keep managing it
	}
	owner := "outside this project"
	if s := found.Tags["stack"]; s != "" {
		owner = "by stack " + found.Tags["project"] + "/" + s
	}
	return "", fmt.Errorf("%s:githubOidcProviderArn: the account already has the GitHub OIDC provider %s (created %s), and IAM allows one per URL; "+
		"use it: pulumi config set %s:githubOidcProviderArn %s", Namespace, found.Arn, owner, Namespace, found.Arn)
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
