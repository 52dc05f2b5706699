package costdiff_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/internal/replaceonly"
	"github.com/tenantco/platform/internal/standin"
	"github.com/tenantco/platform/offline/costdiff"
)

// Real reviews (testdata/replace/README.md says how each was made):
// base-*: the program as it is; inplace-prod: a bigger database class and
// other node instance types; replace-*: the cluster and the cache renamed,
// the database's KMS key renamed.
func real(t *testing.T, name string) costdiff.Doc {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "replace", name+".json.gz"))
	require.NoError(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(t, err)
	d, err := costdiff.Decode(z)
	require.NoError(t, err)
	return d
}

// realFile writes a real review uncompressed, for the command.
func realFile(t *testing.T, name string) string {
	t.Helper()
	d := real(t, name)
	raw, err := json.Marshal(d)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), name+".json")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	return path
}

func find(t *testing.T, fs []costdiff.Finding, typ, name string) costdiff.Finding {
	t.Helper()
	for _, f := range fs {
		if f.Type == typ && f.Name == name {
			return f
		}
	}
	t.Fatalf("no finding for %s %s in %+v", typ, name, fs)
	return costdiff.Finding{}
}

func reasons(f costdiff.Finding) string { return strings.Join(append(f.Reasons, f.Notes...), "; ") }

func TestReplacementGolden(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base, head []string
		opts       costdiff.Options
		denied     []string
		replacing  []string
	}{
		{name: "replace-inplace.md", base: []string{"base-prod"}, head: []string{"inplace-prod"}},
		{
			name: "replace-blocked.md", base: []string{"base-prod", "base-dev"}, head: []string{"replace-prod", "replace-dev"},
			denied: []string{"prod"}, replacing: []string{"prod"},
		},
		{
			name: "replace-allowed.md", base: []string{"base-prod", "base-dev"}, head: []string{"replace-prod", "replace-dev"},
			opts: costdiff.Options{AllowReplace: true}, replacing: []string{"prod"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var base, head []costdiff.Doc
			for _, n := range tc.base {
				base = append(base, real(t, n))
			}
			for _, n := range tc.head {
				head = append(head, real(t, n))
			}
			var buf bytes.Buffer
			res, err := costdiff.RenderMarkdown(base, head, tc.opts, &buf)
			require.NoError(t, err)
			assert.Equal(t, tc.denied, res.Denied)
			assert.Equal(t, tc.replacing, res.Replacing)
			assert.Less(t, buf.Len(), 65536, "GitHub's comment size limit")
			golden(t, tc.name, buf.Bytes())
		})
	}
	var buf bytes.Buffer
	res, err := costdiff.RenderText([]costdiff.Doc{real(t, "base-prod"), real(t, "base-dev")},
		[]costdiff.Doc{real(t, "replace-prod"), real(t, "replace-dev")}, costdiff.Options{}, &buf)
	require.NoError(t, err)
	assert.Equal(t, []string{"prod"}, res.Denied)
	golden(t, "replace.txt", buf.Bytes())
}

// A bigger database class is an in-place change; other node instance types
// replace the node group, and because the program keys the group's name
// with every replace-only input, the new group comes up first.
func TestReplacementsInPlaceAndNewNodesFirst(t *testing.T) {
	base, head := real(t, "base-prod"), real(t, "inplace-prod")
	fs := costdiff.Replacements(&base, &head)
	require.Len(t, fs, 2, "%+v", fs)

	nodes := find(t, fs, "eks:index:ManagedNodeGroup", "platform-prod-nodes")
	assert.Equal(t, costdiff.Replace, nodes.Outcome)
	assert.True(t, nodes.NewFirst, "the name changes with the replacement")
	assert.Equal(t, "replaced, new nodes first", nodes.Effect())
	assert.Contains(t, reasons(nodes), `instanceTypes: ["m6i.large"] → ["m7i.large"]`)
	assert.Contains(t, reasons(nodes), "nodeGroupName follows random id platform-prod-nodes-name, which is replaced")
	assert.False(t, nodes.Blocks("prod"), "a node group replacement does not need the override")

	db := find(t, fs, "aws:rds/instance:Instance", "platform-prod")
	assert.Equal(t, costdiff.Update, db.Outcome)
	assert.Equal(t, []string{`instanceClass: "db.m6g.large" → "db.m6g.xlarge"`}, db.Notes)
	assert.False(t, db.Blocks("prod"))
	assert.Equal(t, fs[0].Type, "eks:index:ManagedNodeGroup", "replacements come before in-place changes")
}

func TestReplacementsOfTheDatabaseCacheAndCluster(t *testing.T) {
	base, head := real(t, "base-prod"), real(t, "replace-prod")
	d := costdiff.Compare(&base, &head)
	require.True(t, d.Checked)

	db := find(t, d.Replacements, "aws:rds/instance:Instance", "platform-prod")
	assert.Equal(t, costdiff.Replace, db.Outcome)
	assert.Equal(t, []string{"kmsKeyId: KMS key platform-prod-db → KMS key platform-prod-db-key"}, db.Reasons)
	assert.False(t, db.NewFirst, "the identifier stays: the old instance must go first")

	cache := find(t, d.Replacements, "aws:elasticache/replicationGroup:ReplicationGroup", "platform-prod-redis")
	assert.Equal(t, costdiff.Replace, cache.Outcome)
	assert.Equal(t, []string{`replicationGroupId: "platform-prod-redis" → "platform-prod-cache"`}, cache.Reasons)
	assert.True(t, cache.NewFirst)

	cluster := find(t, d.Replacements, "eks:index:Cluster", "platform-prod")
	assert.Equal(t, costdiff.Replace, cluster.Outcome)
	assert.Equal(t, []string{`name: "platform-prod" → "platform-prod-eks"`}, cluster.Reasons)

	nodes := find(t, d.Replacements, "eks:index:ManagedNodeGroup", "platform-prod-nodes")
	assert.Equal(t, costdiff.Replace, nodes.Outcome)
	assert.True(t, nodes.NewFirst)
	assert.Contains(t, reasons(nodes), "clusterName follows cluster platform-prod, which is replaced")

	key := find(t, d.Replacements, "aws:kms/key:Key", "platform-prod-db")
	assert.Equal(t, costdiff.Delete, key.Outcome)
	assert.Contains(t, reasons(key), "KMS waits 30 days")

	var blocking []string
	for _, f := range d.Blocking() {
		blocking = append(blocking, f.Kind)
	}
	assert.Equal(t, []string{"cache", "cluster", "database"}, blocking, "critical ones only, in order")

	// The same change in dev is shown, and does not need the override.
	base, head = real(t, "base-dev"), real(t, "replace-dev")
	dev := costdiff.Compare(&base, &head)
	assert.NotEmpty(t, dev.Replacements)
	assert.Empty(t, dev.Blocking())
}

func TestCommandExitCodeAndOverride(t *testing.T) {
	base, danger, inplace := realFile(t, "base-prod"), realFile(t, "replace-prod"), realFile(t, "inplace-prod")
	for name, tc := range map[string]struct {
		args   []string
		code   int
		stdout string
	}{
		"replacement without the label":  {args: []string{"--base", base, "--head", danger, "--markdown"}, code: 1, stdout: "### ⛔ `prod` replaces what holds its data"},
		"replacement with the label":     {args: []string{"--base", base, "--head", danger, "--markdown", "--allow-replace"}, code: 0, stdout: "allowed by the `allow-replace` label"},
		"text, without the label":        {args: []string{"--base", base, "--head", danger}, code: 1, stdout: "[fails the check without the allow-replace label]"},
		"in place and node group":        {args: []string{"--base", base, "--head", inplace, "--markdown"}, code: 0, stdout: "replaced, new nodes first"},
		"the label changes nothing else": {args: []string{"--base", base, "--head", inplace, "--allow-replace"}, code: 0, stdout: "prod: $1,213.63 -> $1,466.79"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errw bytes.Buffer
			code, err := costdiff.Command(tc.args, &out, &errw)
			require.NoError(t, err)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, out.String(), tc.stdout)
		})
	}
}

// The rest builds small documents by hand, one rule at a time.

type rsc struct {
	typ, name string
	in        map[string]any
}

func doc(stack string, rs ...rsc) costdiff.Doc {
	d := costdiff.Doc{Stack: stack, MonthlyUSD: 1, CeilingUSD: 10, Verdict: "OK", PolicyVerdict: "OK"}
	for _, r := range rs {
		d.Resources = append(d.Resources, costdiff.Resource{URN: urn(stack, r.typ, r.name), Type: r.typ, Name: r.name, Inputs: r.in})
	}
	return d
}

func urn(stack, typ, name string) string {
	return "urn:pulumi:" + stack + "::platform::" + typ + "::" + name
}

// id is the stand-in id the review gives a resource (what other resources'
// inputs carry).
func id(stack, typ, name string) string { return standin.ResourceID(name, urn(stack, typ, name)) }

func only(t *testing.T, base, head costdiff.Doc) costdiff.Finding {
	t.Helper()
	fs := costdiff.Replacements(&base, &head)
	require.Len(t, fs, 1, "%+v", fs)
	return fs[0]
}

const (
	rds    = "aws:rds/instance:Instance"
	cache  = "aws:elasticache/replicationGroup:ReplicationGroup"
	subnet = "aws:ec2/subnet:Subnet"
	nat    = "aws:ec2/natGateway:NatGateway"
	mng    = "eks:index:ManagedNodeGroup"
	randID = "random:index/randomId:RandomId"
)

func TestUnknownReplaceOnlyInputMayReplaceAndBlocksInProd(t *testing.T) {
	b := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "kmsKeyId": "arn:aws:kms:key/1"}})
	h := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "kmsKeyId": "[unknown]"}})
	f := only(t, b, h)
	assert.Equal(t, costdiff.MayReplace, f.Outcome)
	assert.Contains(t, reasons(f), "not known before apply")
	assert.True(t, f.Blocks("prod"))
	assert.False(t, f.Blocks("dev"))

	var buf bytes.Buffer
	res, err := costdiff.RenderMarkdown([]costdiff.Doc{b}, []costdiff.Doc{h}, costdiff.Options{}, &buf)
	require.NoError(t, err)
	assert.Equal(t, []string{"prod"}, res.Denied, "a possible replacement of the database needs the label too")
}

func TestSecretReplaceOnlyInputMayReplace(t *testing.T) {
	b := doc("dev", rsc{cache, "c", map[string]any{"replicationGroupId": "c", "kmsKeyId": "[secret]"}})
	h := doc("dev", rsc{cache, "c", map[string]any{"replicationGroupId": "c", "kmsKeyId": "[secret]"}})
	assert.Equal(t, costdiff.MayReplace, only(t, b, h).Outcome)
}

func TestOptionalComputedInputs(t *testing.T) {
	// Left out: the provider keeps what the instance has.
	b := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "dbName": "tenants", "x": 1}})
	h := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "x": 1}})
	assert.Empty(t, costdiff.Replacements(&b, &h)[0].Reasons)
	assert.Equal(t, costdiff.Update, costdiff.Replacements(&b, &h)[0].Outcome)

	// Newly set: replaced unless it is what the instance already has.
	b = doc("prod", rsc{rds, "db", map[string]any{"identifier": "db"}})
	h = doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "dbName": "tenants"}})
	f := only(t, b, h)
	assert.Equal(t, costdiff.MayReplace, f.Outcome)
	assert.Contains(t, reasons(f), "newly set")

	// Not computed: leaving it out is a change (storageEncrypted true -> unset).
	b = doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "storageEncrypted": true}})
	h = doc("prod", rsc{rds, "db", map[string]any{"identifier": "db"}})
	assert.Equal(t, costdiff.Replace, only(t, b, h).Outcome)
}

func TestDefaultsAndSets(t *testing.T) {
	// connectivityType defaults to public: writing the default is no change.
	b := doc("dev", rsc{nat, "n", map[string]any{"subnetId": "s", "allocationId": "e"}})
	h := doc("dev", rsc{nat, "n", map[string]any{"subnetId": "s", "allocationId": "e", "connectivityType": "public"}})
	assert.Equal(t, costdiff.Update, only(t, b, h).Outcome)
	h = doc("dev", rsc{nat, "n", map[string]any{"subnetId": "s", "allocationId": "e", "connectivityType": "private"}})
	assert.Equal(t, costdiff.Replace, only(t, b, h).Outcome)

	// subnet_ids is a set: another order is the same set.
	b = doc("dev", rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "subnetIds": []any{"a", "b"}}})
	h = doc("dev", rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "subnetIds": []any{"b", "a"}}})
	assert.Empty(t, costdiff.Replacements(&b, &h))
	// instance_types is a list: its order is a change.
	b = doc("dev", rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "instanceTypes": []any{"a", "b"}}})
	h = doc("dev", rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "instanceTypes": []any{"b", "a"}}})
	assert.Equal(t, costdiff.Replace, only(t, b, h).Outcome)
}

// With a fixed name, a replacement cannot bring the new group up first.
// This is what a replace-only input missing from the name's keepers does.
func TestNodeGroupWhoseNameStaysLosesItsNodesFirst(t *testing.T) {
	keepers := map[string]any{"instanceTypes": "m6i.large"}
	suffix := standin.RandomIDHex(id("prod", randID, "nodes-name"))
	group := func(disk float64) map[string]any {
		return map[string]any{"nodeGroupName": "nodes-" + suffix, "instanceTypes": []any{"m6i.large"}, "diskSize": disk}
	}
	b := doc("prod", rsc{randID, "nodes-name", map[string]any{"byteLength": 4, "keepers": keepers}}, rsc{mng, "nodes", group(20)})
	h := doc("prod", rsc{randID, "nodes-name", map[string]any{"byteLength": 4, "keepers": keepers}}, rsc{mng, "nodes", group(50)})
	f := only(t, b, h)
	assert.Equal(t, costdiff.Replace, f.Outcome)
	assert.False(t, f.NewFirst)
	assert.Equal(t, "replaced, old nodes deleted first (its name stays)", f.Effect())

	// Keyed by the same input, the suffix changes and the new group comes first.
	h = doc("prod", rsc{randID, "nodes-name", map[string]any{"byteLength": 4, "keepers": map[string]any{"instanceTypes": "m6i.large", "diskSize": "50"}}},
		rsc{mng, "nodes", group(50)})
	f = only(t, b, h)
	assert.True(t, f.NewFirst)
}

// A replaced subnet gets a new id: the NAT gateway in it is replaced too,
// and the node group over it.
func TestReplacementFollowsIDs(t *testing.T) {
	sub := id("prod", subnet, "public-a")
	b := doc("prod",
		rsc{subnet, "public-a", map[string]any{"vpcId": "vpc", "cidrBlock": "10.0.0.0/24"}},
		rsc{nat, "nat-a", map[string]any{"subnetId": sub, "allocationId": "eip"}},
		rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "subnetIds": []any{sub}}})
	h := doc("prod",
		rsc{subnet, "public-a", map[string]any{"vpcId": "vpc", "cidrBlock": "10.0.1.0/24"}},
		rsc{nat, "nat-a", map[string]any{"subnetId": sub, "allocationId": "eip"}},
		rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "subnetIds": []any{sub}}})
	fs := costdiff.Replacements(&b, &h)
	require.Len(t, fs, 3)
	for _, f := range fs {
		assert.Equal(t, costdiff.Replace, f.Outcome, f.Name)
	}
	assert.Contains(t, reasons(find(t, fs, nat, "nat-a")), "subnetId follows subnet public-a, which is replaced")
	assert.Contains(t, reasons(find(t, fs, mng, "nodes")), "subnetIds follows subnet public-a, which is replaced")
}

// The node group component's inputs reach its child as pulumi-eks v2.8.1
// maps them: cluster -> clusterName, and without subnetIds the cluster's.
func TestManagedNodeGroupMapsToItsChild(t *testing.T) {
	clusterURN := urn("prod", "eks:index:Cluster", "c")
	cl := func(name string, private []any) rsc {
		return rsc{"eks:index:Cluster", "c", map[string]any{"name": name, "privateSubnetIds": private}}
	}
	ng := rsc{mng, "nodes", map[string]any{"nodeGroupName": "n", "cluster": clusterURN}}
	b := doc("prod", cl("c", []any{"s1"}), ng)
	h := doc("prod", cl("c", []any{"s1", "s2"}), ng)
	fs := costdiff.Replacements(&b, &h)
	nodes := find(t, fs, mng, "nodes")
	assert.Equal(t, costdiff.Replace, nodes.Outcome, "the group lands in the cluster's subnets")
	assert.Contains(t, reasons(nodes), "subnetIds")
	assert.Equal(t, costdiff.Update, find(t, fs, "eks:index:Cluster", "c").Outcome, "subnets change in place on the cluster")

	h = doc("prod", cl("c2", []any{"s1"}), ng)
	fs = costdiff.Replacements(&b, &h)
	assert.Contains(t, reasons(find(t, fs, mng, "nodes")), `clusterName: "c" → "c2"`)
	assert.True(t, find(t, fs, "eks:index:Cluster", "c").Blocks("prod"))
}

func TestConditionalRules(t *testing.T) {
	rg := func(in map[string]any) costdiff.Doc {
		in["replicationGroupId"] = "r"
		return doc("dev", rsc{cache, "r", in})
	}
	for name, tc := range map[string]struct {
		base, head map[string]any
		want       costdiff.Outcome
	}{
		"engine upgrade":           {map[string]any{"engineVersion": "7.0"}, map[string]any{"engineVersion": "7.1"}, costdiff.Update},
		"engine downgrade":         {map[string]any{"engineVersion": "7.1"}, map[string]any{"engineVersion": "6.2"}, costdiff.Replace},
		"x version":                {map[string]any{"engineVersion": "7.x"}, map[string]any{"engineVersion": "7.1"}, costdiff.MayReplace},
		"redis to valkey":          {map[string]any{"engine": "redis"}, map[string]any{"engine": "valkey"}, costdiff.Update},
		"valkey to redis":          {map[string]any{"engine": "valkey"}, map[string]any{"engine": "redis"}, costdiff.Replace},
		"tls on a 7.1 cache":       {map[string]any{"engineVersion": "7.1", "transitEncryptionEnabled": false}, map[string]any{"engineVersion": "7.1", "transitEncryptionEnabled": true}, costdiff.Update},
		"tls on a 6.2 cache":       {map[string]any{"engineVersion": "6.2", "transitEncryptionEnabled": false}, map[string]any{"engineVersion": "6.2", "transitEncryptionEnabled": true}, costdiff.Replace},
		"tls on a 7.0 cache":       {map[string]any{"engineVersion": "7.0", "transitEncryptionEnabled": false}, map[string]any{"engineVersion": "7.0", "transitEncryptionEnabled": true}, costdiff.MayReplace},
		"node type, in place":      {map[string]any{"nodeType": "cache.t4g.small"}, map[string]any{"nodeType": "cache.m6g.large"}, costdiff.Update},
		"snapshot window in place": {map[string]any{"snapshotWindow": "01:00-02:00"}, map[string]any{"snapshotWindow": "02:00-03:00"}, costdiff.Update},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, only(t, rg(tc.base), rg(tc.head)).Outcome)
		})
	}

	// RDS: no CustomizeDiff forces engine_version or storage_type; the
	// comment says what RDS itself refuses.
	b := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "engineVersion": "16"}})
	h := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db", "engineVersion": "15"}})
	f := only(t, b, h)
	assert.Equal(t, costdiff.Update, f.Outcome)
	assert.Contains(t, reasons(f), "RDS refuses a downgrade")

	// EKS: removing envelope encryption replaces the cluster.
	cl := func(in map[string]any) costdiff.Doc {
		in["name"] = "c"
		return doc("prod", rsc{"eks:index:Cluster", "c", in})
	}
	f = only(t, cl(map[string]any{"encryptionConfigKeyArn": "arn:k"}), cl(map[string]any{}))
	assert.Equal(t, costdiff.Replace, f.Outcome)
	assert.Contains(t, reasons(f), "encryptionConfig")
	f = only(t, cl(map[string]any{"encryptionConfigKeyArn": "arn:k"}), cl(map[string]any{"encryptionConfigKeyArn": "arn:k2"}))
	assert.Equal(t, costdiff.Update, f.Outcome)
	assert.Contains(t, reasons(f), "EKS cannot change the key")
	f = only(t, cl(map[string]any{"kubernetesServiceIpAddressRange": "10.100.0.0/16"}), cl(map[string]any{"kubernetesServiceIpAddressRange": "172.20.0.0/16"}))
	assert.Equal(t, costdiff.Replace, f.Outcome, "serviceIpv4Cidr is replace-only")

	// Load balancers: an application LB changes subnets in place, a network LB
	// that loses one is replaced.
	lb := func(typ string, subnets ...any) costdiff.Doc {
		return doc("prod", rsc{"aws:lb/loadBalancer:LoadBalancer", "lb", map[string]any{"loadBalancerType": typ, "subnets": subnets}})
	}
	assert.Equal(t, costdiff.Update, only(t, lb("application", "a", "b"), lb("application", "a")).Outcome)
	assert.Equal(t, costdiff.Replace, only(t, lb("network", "a", "b"), lb("network", "a")).Outcome)
	assert.Equal(t, costdiff.Update, only(t, lb("network", "a"), lb("network", "a", "b")).Outcome)
}

// A database whose URN changes (a new parent, a renamed component) is
// deleted and created again unless an alias carries it: the check says so,
// and in prod it blocks.
func TestURNChangeIsADeletion(t *testing.T) {
	b := doc("prod", rsc{rds, "db", map[string]any{"identifier": "db"}})
	h := doc("prod")
	h.Resources = append(h.Resources, costdiff.Resource{
		URN: "urn:pulumi:prod::platform::platform:components:Data$aws:rds/instance:Instance::db", Type: rds, Name: "db",
		Inputs: map[string]any{"identifier": "db"},
	})
	f := only(t, b, h)
	assert.Equal(t, costdiff.Delete, f.Outcome)
	assert.Contains(t, reasons(f), "alias")
	assert.True(t, f.Blocks("prod"))
}

// Reviews without inputs (hand-written, or older than the inputs) cannot be
// checked, and the comment says so instead of claiming nothing is replaced.
func TestWithoutInputsNothingIsClaimed(t *testing.T) {
	b := doc("prod", rsc{rds, "db", nil})
	h := doc("prod", rsc{rds, "db", nil})
	d := costdiff.Compare(&b, &h)
	assert.False(t, d.Checked)
	var buf bytes.Buffer
	_, err := costdiff.RenderMarkdown([]costdiff.Doc{b}, []costdiff.Doc{h}, costdiff.Options{}, &buf)
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "**Replacements:** not checked")
}

// The table is data: each entry names its source; the node group's list is
// the one the program keys its name with, not a second copy.
func TestReplaceRulesTable(t *testing.T) {
	for typ, r := range costdiff.ReplaceRules {
		assert.NotEmpty(t, r.Source, typ)
		assert.NotEmpty(t, r.Kind, typ)
		if r.Child != "" {
			child, ok := costdiff.ReplaceRules[r.Child]
			assert.True(t, ok, "%s maps to %s, which has no rules", typ, r.Child)
			assert.NotEmpty(t, child.Inputs)
			continue
		}
		assert.NotEmpty(t, r.Inputs, typ)
		for _, c := range r.Conditional {
			assert.NotNil(t, c.Decide, "%s %s", typ, c.Path)
			assert.NotEmpty(t, c.When, "%s %s", typ, c.Path)
		}
	}
	var paths []string
	for _, in := range costdiff.ReplaceRules[replaceonly.NodeGroupType].Inputs {
		paths = append(paths, in.Path)
	}
	assert.Equal(t, replaceonly.NodeGroup, paths)
	for _, typ := range []string{"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "eks:index:Cluster", "aws:eks/cluster:Cluster"} {
		assert.True(t, costdiff.ReplaceRules[typ].Critical, typ)
	}
}
