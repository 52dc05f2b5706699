package components_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
)

const existingGitHubProvider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"

func newDeployAccess(args components.DeployAccessArgs, out **components.DeployAccess) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		d, err := components.NewDeployAccess(ctx, "platform-test", &args)
		if out != nil {
			*out = d
		}
		return err
	}
}

func named(t *testing.T, e *mockengine.Engine, typ, name string) inventory.Resource {
	t.Helper()
	for _, r := range e.Find(typ) {
		if r.Name == name {
			return r
		}
	}
	require.Failf(t, "missing resource", "%s %s", typ, name)
	return inventory.Resource{}
}

// policyDoc decodes a JSON policy input (trust or permissions).
func policyDoc(t *testing.T, r inventory.Resource, input string) map[string]any {
	t.Helper()
	raw, ok := r.String(input)
	require.True(t, ok, "%s.%s is set and known", r.Name, input)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &doc), raw)
	return doc
}

// trust is the expected trust policy: only GitHub's tokens, only the
// audience of configure-aws-credentials, only the exact subjects.
func trust(providerArn string, subjects ...string) map[string]any {
	subs := make([]any, len(subjects))
	for i, s := range subjects {
		subs[i] = s
	}
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "GitHubActionsOIDC",
			"Effect":    "Allow",
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Principal": map[string]any{"Federated": providerArn},
			"Condition": map[string]any{"StringEquals": map[string]any{
				"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
				"token.actions.githubusercontent.com:sub": subs,
			}},
		}},
	}
}

func statements(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, s := range doc["Statement"].([]any) {
		st := s.(map[string]any)
		sid, _ := st["Sid"].(string)
		require.NotEmpty(t, sid, "every statement has a Sid")
		require.NotContains(t, out, sid)
		out[sid] = st
	}
	return out
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i], _ = e.(string)
		}
		return out
	}
	return nil
}

func TestDeployAccessCreatesProviderAndEnvironmentOnlyTrust(t *testing.T) {
	var d *components.DeployAccess
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"prod"},
	}, &d))
	require.NoError(t, err)

	p := one(t, e, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
	url, _ := p.String("url")
	assert.Equal(t, "https://token.actions.githubusercontent.com", url)
	assert.Equal(t, []string{"sts.amazonaws.com"}, p.Strings("clientIdLists"))
	assert.Len(t, p.Strings("thumbprintLists"), 2)

	require.NotNil(t, d)
	providerArn, _ := awaitSecret(t, d.OIDCProviderArn)
	require.NotEmpty(t, providerArn)

	role := named(t, e, "aws:iam/role:Role", "platform-test-deploy")
	name, _ := role.String("name")
	assert.Equal(t, "platform-test-deploy", name, "a fixed name: the cost breaker and the self-protection deny address it")
	maxSession, _ := role.Number("maxSessionDuration")
	assert.Equal(t, 7200.0, maxSession)
	assert.Equal(t, trust(providerArn.(string), "repo:tenantco/platform:environment:prod"), policyDoc(t, role, "assumeRolePolicy"),
		"only jobs of the prod environment of this repository, no branch, tag or pull request")
	_, inline := role.Get("inlinePolicies")
	_, managed := role.Get("managedPolicyArns")
	assert.False(t, inline || managed, "the role must not own its policy list (the freeze attachment would be removed)")

	roleName, _ := awaitSecret(t, d.RoleName)
	assert.Equal(t, "platform-test-deploy", roleName)
	roleArn, _ := awaitSecret(t, d.RoleArn)
	assert.Contains(t, roleArn, ":role/")

	assert.Empty(t, e.Find("aws:iam/accessKey:AccessKey"), "no long-lived keys")
	assert.Empty(t, e.Find("aws:iam/user:User"))
}

func TestDeployAccessReferencesExistingProvider(t *testing.T) {
	var d *components.DeployAccess
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"dev", "prod"},
		ExistingOIDCProviderArn: existingGitHubProvider,
	}, &d))
	require.NoError(t, err)
	assert.Empty(t, e.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider"), "one provider per account: referenced, not created")
	role := named(t, e, "aws:iam/role:Role", "platform-test-deploy")
	assert.Equal(t, trust(existingGitHubProvider,
		"repo:tenantco/platform:environment:dev", "repo:tenantco/platform:environment:prod"), policyDoc(t, role, "assumeRolePolicy"))
	arn, _ := awaitSecret(t, d.OIDCProviderArn)
	assert.Equal(t, existingGitHubProvider, arn)
}

func TestDeployAccessImmutableSubjectClaims(t *testing.T) {
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco@1234/platform@5678", Environments: []string{"prod"}, ExistingOIDCProviderArn: existingGitHubProvider,
	}, nil))
	require.NoError(t, err)
	role := named(t, e, "aws:iam/role:Role", "platform-test-deploy")
	assert.Equal(t, trust(existingGitHubProvider, "repo:tenantco@1234/platform@5678:environment:prod"), policyDoc(t, role, "assumeRolePolicy"))
	preview := named(t, e, "aws:iam/role:Role", "platform-test-preview")
	assert.Equal(t, trust(existingGitHubProvider, "repo:tenantco@1234/platform@5678:pull_request"), policyDoc(t, preview, "assumeRolePolicy"))
}

func TestDeployAccessPreviewRoleIsReadOnly(t *testing.T) {
	var d *components.DeployAccess
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"prod"}, ExistingOIDCProviderArn: existingGitHubProvider,
	}, &d))
	require.NoError(t, err)
	preview := named(t, e, "aws:iam/role:Role", "platform-test-preview")
	assert.Equal(t, trust(existingGitHubProvider, "repo:tenantco/platform:pull_request"), policyDoc(t, preview, "assumeRolePolicy"),
		"pull request jobs only")
	maxSession, _ := preview.Number("maxSessionDuration")
	assert.Equal(t, 3600.0, maxSession)

	att := one(t, e, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
	arn, _ := att.String("policyArn")
	assert.Equal(t, "arn:aws:iam::aws:policy/ReadOnlyAccess", arn)

	st := statements(t, policyDoc(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "platform-test-preview"), "policy"))
	for sid, s := range st {
		want, allows := map[string][]string{
			// The read calls behind the program's data sources, and those of
			// `go run . preflight`: nothing that writes.
			"ProgramReads": components.PreviewInvokeActions,
			"Preflight":    components.PreflightActions,
		}[sid]
		if allows {
			assert.Equal(t, "Allow", s["Effect"], sid)
			assert.Equal(t, want, strs(s["Action"]), sid)
			for _, a := range strs(s["Action"]) {
				_, verb, _ := strings.Cut(a, ":")
				assert.Regexp(t, `^(Describe|Get|List)`, verb, "%s is a read", a)
			}
			continue
		}
		assert.Equal(t, "Deny", s["Effect"], "%s: without a state bucket or key the preview role's own policy only allows the program's and preflight's reads", sid)
	}
	assert.Subset(t, strs(st["NoDataReads"]["Action"]), []string{"secretsmanager:GetSecretValue", "lambda:GetFunction", "ecr:BatchGetImage"})
	assert.Equal(t, "*", st["NoDecrypt"]["Resource"])
	assert.Equal(t, "*", st["NoObjects"]["Resource"])
	assert.Equal(t, "arn:aws:ssm:*::parameter/aws/service/*", st["OnlyPublicParameters"]["NotResource"])

	name, _ := awaitSecret(t, d.PreviewRoleName)
	assert.Equal(t, "platform-test-preview", name)
}

func TestDeployAccessPermissions(t *testing.T) {
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"prod"}, ExistingOIDCProviderArn: existingGitHubProvider,
		Region: "eu-west-1",
	}, nil))
	require.NoError(t, err)
	st := statements(t, policyDoc(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "platform-test-deploy"), "policy"))

	allow := st["ProgramServices"]
	assert.Equal(t, "Allow", allow["Effect"])
	var want []string
	for _, s := range components.DeployServices {
		want = append(want, s+":*")
	}
	assert.Equal(t, want, strs(allow["Action"]), "the program's services and nothing else (no s3, organizations, account...)")
	assert.Equal(t, map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": []any{"eu-west-1", "us-east-1"}}},
		allow["Condition"], "its region, plus us-east-1 where IAM and Budgets live")

	creds := st["NoLongLivedCredentials"]
	assert.Equal(t, "Deny", creds["Effect"])
	assert.Equal(t, "*", creds["Resource"])
	assert.Subset(t, strs(creds["Action"]), []string{"iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile"})

	self := st["NoSelfChange"]
	assert.Equal(t, "Deny", self["Effect"])
	assert.Equal(t, []string{"arn:aws:iam::*:role/platform-test-deploy", "arn:aws:iam::*:role/platform-test-preview"}, strs(self["Resource"]))
	assert.Subset(t, strs(self["Action"]), []string{"iam:DetachRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"},
		"the pipeline cannot lift the cost freeze or widen its own trust")

	oidc := st["NoGitHubTrustChange"]
	assert.Equal(t, "arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com", oidc["Resource"])

	preflight := st["Preflight"]
	assert.Equal(t, "Allow", preflight["Effect"])
	assert.Equal(t, components.PreflightActions, strs(preflight["Action"]),
		"the deploy job runs preflight before `pulumi up` (deploy-stack.yml), with this role")

	admin := st["NoAdminPolicies"]
	assert.Equal(t, "Deny", admin["Effect"])
	assert.Contains(t, strs(admin["Condition"].(map[string]any)["ArnEquals"].(map[string]any)["iam:PolicyARN"]),
		"arn:aws:iam::aws:policy/AdministratorAccess")

	for sid, s := range st {
		if s["Effect"] == "Allow" {
			for _, a := range strs(s["Action"]) {
				assert.NotEqual(t, "*", a, "%s: no Action *", sid)
			}
		}
	}
	assert.NotContains(t, st, "StateBucket", "no S3 access without a state bucket")
}

func TestDeployAccessS3BackendAndKMSSecrets(t *testing.T) {
	const bucket = "arn:aws:s3:::tenantco-pulumi-state"
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"dev"}, ExistingOIDCProviderArn: existingGitHubProvider,
		StateBucketArn: bucket, SecretsKeyArn: key,
	}, nil))
	require.NoError(t, err)
	deploy := statements(t, policyDoc(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "platform-test-deploy"), "policy"))
	assert.Equal(t, []string{bucket, bucket + "/*"}, strs(deploy["StateBucket"]["Resource"]))
	assert.Contains(t, strs(deploy["KeepStateBucket"]["Action"]), "s3:DeleteBucket")
	assert.Equal(t, key, deploy["SecretsProvider"]["Resource"])
	assert.Contains(t, strs(deploy["KeepSecretsKey"]["Action"]), "kms:ScheduleKeyDeletion")
	_, regional := deploy["ProgramServices"]["Condition"]
	assert.False(t, regional, "no Region given: no region condition")

	preview := statements(t, policyDoc(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "platform-test-preview"), "policy"))
	assert.Equal(t, []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}, strs(preview["ReadState"]["Action"]))
	assert.Equal(t, bucket+"/.pulumi/locks/*", preview["StateLocks"]["Resource"], "preview writes lock files only")
	assert.Equal(t, bucket+"/*", preview["NoOtherObjects"]["NotResource"])
	assert.Equal(t, key, preview["DecryptStackSecrets"]["Resource"])
	assert.Equal(t, key, preview["NoOtherDecrypt"]["NotResource"])
}

func TestDeployAccessWithoutPreviewRole(t *testing.T) {
	var d *components.DeployAccess
	e, err := run(t, false, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"prod"}, ExistingOIDCProviderArn: existingGitHubProvider,
		DisablePreviewRole: true, RoleName: "ci-deploy",
	}, &d))
	require.NoError(t, err)
	role := one(t, e, "aws:iam/role:Role")
	name, _ := role.String("name")
	assert.Equal(t, "ci-deploy", name)
	assert.Empty(t, e.Find("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
	arn, _ := awaitSecret(t, d.PreviewRoleArn)
	assert.Equal(t, "", arn)
}

func TestDeployAccessPreviewHasUnknowns(t *testing.T) {
	// In a first preview the created provider's ARN is unknown; the roles
	// must still register (their trust policy is unknown until then).
	e, err := run(t, true, newDeployAccess(components.DeployAccessArgs{
		Repository: "tenantco/platform", Environments: []string{"prod"},
	}, nil))
	require.NoError(t, err)
	assert.Len(t, e.Find("aws:iam/role:Role"), 2)
	assert.Len(t, e.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider"), 1)
}

func TestDeployAccessRejectsBadArgs(t *testing.T) {
	ok := components.DeployAccessArgs{Repository: "tenantco/platform", Environments: []string{"prod"}}
	for name, tc := range map[string]struct {
		mutate func(a *components.DeployAccessArgs)
		field  string
	}{
		"no repository":          {func(a *components.DeployAccessArgs) { a.Repository = "" }, "Repository"},
		"owner only":             {func(a *components.DeployAccessArgs) { a.Repository = "tenantco" }, "Repository"},
		"wildcard repository":    {func(a *components.DeployAccessArgs) { a.Repository = "tenantco/*" }, "Repository"},
		"claim injection":        {func(a *components.DeployAccessArgs) { a.Repository = "tenantco/platform:ref:refs/heads/main" }, "Repository"},
		"half an immutable id":   {func(a *components.DeployAccessArgs) { a.Repository = "tenantco@12/platform" }, "Repository"},
		"no environments":        {func(a *components.DeployAccessArgs) { a.Environments = nil }, "Environments"},
		"wildcard environment":   {func(a *components.DeployAccessArgs) { a.Environments = []string{"*"} }, "Environments"},
		"environment with colon": {func(a *components.DeployAccessArgs) { a.Environments = []string{"prod:x"} }, "Environments"},
		"duplicate environment":  {func(a *components.DeployAccessArgs) { a.Environments = []string{"prod", "prod"} }, "Environments"},
		"EKS provider ARN": {func(a *components.DeployAccessArgs) {
			a.ExistingOIDCProviderArn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
		}, "ExistingOIDCProviderArn"},
		"role name too long": {func(a *components.DeployAccessArgs) { a.RoleName = string(make([]byte, 65)) }, "RoleName"},
		"same preview name":  {func(a *components.DeployAccessArgs) { a.RoleName, a.PreviewRoleName = "ci", "ci" }, "PreviewRoleName"},
		"short session":      {func(a *components.DeployAccessArgs) { a.MaxSessionSeconds = 900 }, "MaxSessionSeconds"},
		"bad region":         {func(a *components.DeployAccessArgs) { a.Region = "europe" }, "Region"},
		"bucket name":        {func(a *components.DeployAccessArgs) { a.StateBucketArn = "tenantco-state" }, "StateBucketArn"},
		"alias as secret key": {func(a *components.DeployAccessArgs) {
			a.SecretsKeyArn = "arn:aws:kms:us-east-1:123456789012:alias/pulumi"
		}, "SecretsKeyArn"},
	} {
		t.Run(name, func(t *testing.T) {
			args := ok
			args.Environments = append([]string(nil), ok.Environments...)
			tc.mutate(&args)
			e, err := run(t, false, newDeployAccess(args, nil))
			require.ErrorContains(t, err, "DeployAccessArgs."+tc.field)
			assert.Empty(t, e.Resources(), "nothing may be registered")
		})
	}
}
