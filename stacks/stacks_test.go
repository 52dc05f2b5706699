package stacks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/stacks"
)

// mapGetter is stack config as a plain map (keys without namespace).
type mapGetter struct {
	values  map[string]string
	secrets map[string]bool
}

func (m mapGetter) Get(k string) (string, bool) { v, ok := m.values[k]; return v, ok }
func (m mapGetter) IsSecret(k string) bool      { return m.secrets[k] }

// required are the keys without defaults.
func required(env string) map[string]string {
	return map[string]string{
		"environment": env, "costCenter": "platform", "owner": "team@example.com",
		"certificateArn":   "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000",
		"alertEmails":      `["ceo@example.com"]`,
		"githubRepository": "tenantco/platform",
	}
}

func validProd() map[string]string { return required("prod") }

func TestDefaultsAppliedPerEnvironment(t *testing.T) {
	prod, err := stacks.Load(mapGetter{values: validProd()}, "platform", "prod")
	require.NoError(t, err)
	assert.Equal(t, stacks.NATPerAZ, prod.NAT)
	assert.Empty(t, prod.ZoneIDs, "zones are looked up unless listed")
	assert.Equal(t, []string{"use1-az3"}, prod.ExcludedZoneIDs, "EKS-unsupported zones are excluded by default")
	assert.Equal(t, "16", prod.DBEngineVersion, "a major version: AWS applies minors")
	assert.True(t, prod.DBAutoMinorUpgrade)
	assert.True(t, prod.DBDeletionProtection)
	assert.Equal(t, 14, prod.DBBackupRetentionDays)

	devValues := required("dev")
	devValues["azCount"] = "2"
	dev, err := stacks.Load(mapGetter{values: devValues}, "platform", "dev")
	require.NoError(t, err)
	assert.Equal(t, stacks.NATSingle, dev.NAT)
	assert.False(t, dev.DBDeletionProtection)
	assert.Equal(t, 7, dev.DBBackupRetentionDays)
	assert.Equal(t, 730.0, dev.Usage.HoursPerMonth, "usage defaults come from the cost model")
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	v := validProd()
	v["nat"] = "triple"
	v["azCount"] = "2"
	v["dbDeletionProtection"] = "false"
	v["nodeMax"] = "many"
	v["clusterPublicAccessCidrs"] = `["0.0.0.0/0"]`
	v["usage"] = `{"natGb": 5}`
	delete(v, "owner")
	_, err := stacks.Load(mapGetter{values: v}, "platform", "prod")
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`platform:nat: "triple" is not one of single, per-az`,
		`platform:azCount: 2 is not allowed for prod`,
		`platform:dbDeletionProtection: must be true in prod`,
		`platform:nodeMax: "many" is not a whole number`,
		`platform:clusterPublicAccessCidrs: "0.0.0.0/0" opens the Kubernetes API to the internet`,
		`platform:usage:`, `natGb`,
		`platform:owner: missing`,
	} {
		assert.Contains(t, msg, want)
	}
}

func TestSecretKeysMustBeSecret(t *testing.T) {
	v := validProd()
	v["cacheAuthToken"] = "a-token-long-enough-to-be-valid"
	_, err := stacks.Load(mapGetter{values: v}, "platform", "prod")
	require.ErrorContains(t, err, "platform:cacheAuthToken: must be a secret; set it with `pulumi config set --secret")
	assert.NotContains(t, err.Error(), "a-token-long-enough", "a secret value never appears in an error")

	_, err = stacks.Load(mapGetter{values: v, secrets: map[string]bool{"cacheAuthToken": true}}, "platform", "prod")
	require.NoError(t, err)
}

func TestUnknownKeysAreReported(t *testing.T) {
	p := stacks.UnknownKeys([]string{"platform:nat", "platform:natt", "aws:region"})
	require.Len(t, p, 1)
	assert.Contains(t, p[0], "platform:natt: unknown key")
}

func TestBadConfigRegistersNothing(t *testing.T) {
	cfg := map[string]string{"platform:environment": "prod", "platform:nat": "triple", "platform:costCenter": "c", "platform:owner": "o"}
	e, err := mockengine.Run(stacks.ReviewProgram, "platform", "prod", cfg, nil, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `platform:nat: "triple" is not one of single, per-az`)
	assert.Empty(t, e.Resources(), "a bad config must fail before any resource is registered")
}

func TestMalformedProdFileNamesTheKey(t *testing.T) {
	raw, err := os.ReadFile("../Pulumi.prod.yaml")
	require.NoError(t, err)
	bad := strings.Replace(string(raw), `platform:nodeMax: "6"`, `platform:nodeMax: "six"`, 1)
	require.NotEqual(t, string(raw), bad)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.prod.yaml"), []byte(bad), 0o644))
	sf, err := stacks.LoadStack(dir, "prod")
	require.NoError(t, err)
	e, err := mockengine.Run(stacks.ReviewProgram, sf.Project, sf.Stack, sf.Config, sf.SecretKeys, false)
	require.ErrorContains(t, err, `platform:nodeMax: "six" is not a whole number`)
	assert.Empty(t, e.Resources())
}

// evaluate runs the program for a stack file of the repository.
func evaluate(t *testing.T, stack string, preview bool) *mockengine.Engine {
	t.Helper()
	sf, err := stacks.LoadStack("..", stack)
	require.NoError(t, err)
	require.Empty(t, stacks.UnknownKeys(sf.Keys()), "stack file keys")
	e, err := mockengine.Run(stacks.ReviewProgram, sf.Project, sf.Stack, sf.Config, sf.SecretKeys, preview)
	require.NoError(t, err)
	return e
}

func count(e *mockengine.Engine) map[string]int {
	c := map[string]int{}
	for _, r := range e.Resources() {
		c[r.Type]++
	}
	return c
}

func TestStackInventories(t *testing.T) {
	// The platform's own resources per stack; other issues' components add to
	// this, so only the network-shaped counts are pinned exactly. Security
	// groups: load balancer, nodes, database, cache, CI runner.
	for stack, want := range map[string]map[string]int{
		"dev":  {"aws:ec2/subnet:Subnet": 6, "aws:ec2/natGateway:NatGateway": 1, "aws:ec2/eip:Eip": 1, "aws:rds/instance:Instance": 1, "aws:elasticache/replicationGroup:ReplicationGroup": 1, "eks:index:Cluster": 1, "eks:index:ManagedNodeGroup": 1, "aws:ec2/securityGroup:SecurityGroup": 5, "pulumi:providers:aws": 1},
		"prod": {"aws:ec2/subnet:Subnet": 9, "aws:ec2/natGateway:NatGateway": 3, "aws:ec2/eip:Eip": 3, "aws:rds/instance:Instance": 1, "aws:elasticache/replicationGroup:ReplicationGroup": 1, "eks:index:Cluster": 1, "eks:index:ManagedNodeGroup": 1, "aws:ec2/securityGroup:SecurityGroup": 5, "pulumi:providers:aws": 1},
	} {
		t.Run(stack, func(t *testing.T) {
			got := count(evaluate(t, stack, false))
			for typ, n := range want {
				assert.Equal(t, n, got[typ], typ)
			}
		})
	}
}

func TestStacksAreSecure(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)

			provider := e.Find("pulumi:providers:aws")[0]
			tags, _ := provider.Get("defaultTags.tags")
			tagMap, _ := tags.(map[string]any)
			for _, k := range []string{"project", "stack", "environment", "cost-center", "owner"} {
				assert.NotEmpty(t, tagMap[k], "default tag %s", k)
			}
			assert.Equal(t, stack, tagMap["environment"])
			for _, r := range e.Resources() {
				if strings.HasPrefix(r.Type, "aws:") {
					assert.Equal(t, provider.URN, r.Provider, "%s must use the tagged provider", r.URN)
				}
			}

			db := e.Find("aws:rds/instance:Instance")[0]
			multi, _ := db.Bool("multiAz")
			public, _ := db.Bool("publiclyAccessible")
			enc, _ := db.Bool("storageEncrypted")
			dp, _ := db.Bool("deletionProtection")
			assert.True(t, multi, "RDS Multi-AZ in every stack")
			assert.False(t, public)
			assert.True(t, enc)
			assert.Equal(t, stack == "prod", dp, "deletion protection in prod")

			rg := e.Find("aws:elasticache/replicationGroup:ReplicationGroup")[0]
			tok, _ := rg.String("authToken")
			assert.Equal(t, inventory.Secret, tok, "AUTH token is a secret")

			for _, r := range e.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
				if cidr, ok := r.String("cidrIpv4"); ok {
					port, _ := r.Number("fromPort")
					assert.True(t, cidr != "0.0.0.0/0" || port == 443, "%s: only 443 from the internet", r.Name)
				}
			}

			ng := e.Find("eks:index:ManagedNodeGroup")[0]
			assert.GreaterOrEqual(t, len(ng.Strings("subnetIds")), 2, "node group spans at least two zones")

			k8s := e.Find("pulumi:providers:kubernetes")[0]
			kc, _ := k8s.String("kubeconfig")
			assert.Equal(t, inventory.Secret, kc)
		})
	}
}

func TestStacksEvaluateUnderPreview(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		e := evaluate(t, stack, true)
		assert.NotEmpty(t, e.Find("aws:rds/instance:Instance"), stack)
	}
}

// TestReadmeConfigTableIsKeys: README's configuration table is the
// documentation of record of the stack config. It must be stacks.Keys() row
// by row, in order: key, secret marker, dev and prod defaults, meaning.
func TestReadmeConfigTableIsKeys(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	var got []string
	in := false
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case line == "| key | dev default | prod default | meaning |":
			in = true
		case !in || strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, "|"):
			got = append(got, line)
		default:
			in = false
		}
	}
	require.NotEmpty(t, got, "README has no configuration table (| key | dev default | prod default | meaning |)")
	var want []string
	for _, k := range stacks.Keys() {
		secret := ""
		if k.Secret {
			secret = " (secret)"
		}
		want = append(want, fmt.Sprintf("| `%s`%s | `%s` | `%s` | %s |", k.Key, secret, k.DevDefault, k.ProdDefault, k.Doc))
	}
	for i := 0; i < max(len(got), len(want)); i++ {
		switch {
		case i >= len(got):
			t.Errorf("README's configuration table lacks row %d:\n%s", i+1, want[i])
		case i >= len(want):
			t.Errorf("README's configuration table has a row for no key: %s", got[i])
		case got[i] != want[i]:
			t.Errorf("README's configuration table, row %d:\n got  %s\n want %s", i+1, got[i], want[i])
		}
	}
	if t.Failed() {
		t.Logf("the table as stacks.Keys() has it:\n%s", strings.Join(want, "\n"))
	}
}

// TestConfigRejectsWhatDeployAccessRejects: the stack config and the
// component share one check, so nothing the config accepts can fail after
// other resources are registered.
func TestConfigRejectsWhatDeployAccessRejects(t *testing.T) {
	v := validProd()
	v["githubRepository"] = "-tenantco/platform"
	v["githubOidcProviderArn"] = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"
	_, err := stacks.Load(mapGetter{values: v}, "platform", "prod")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `platform:githubRepository: "-tenantco/platform" is not a GitHub owner/name`)
	assert.Contains(t, err.Error(), "platform:githubOidcProviderArn:")
	assert.Contains(t, err.Error(), "is not the ARN of a GitHub OIDC provider")
}
