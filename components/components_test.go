package components_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
)

// run evaluates fn under the recording mock engine (the SDK's mocks).
func run(t *testing.T, preview bool, fn pulumi.RunFunc) (*mockengine.Engine, error) {
	t.Helper()
	return mockengine.Run(fn, "platform", "test", nil, nil, preview)
}

func one(t *testing.T, e *mockengine.Engine, typ string) inventory.Resource {
	t.Helper()
	rs := e.Find(typ)
	require.Len(t, rs, 1, "want exactly one %s", typ)
	return rs[0]
}

func awaitSecret(t *testing.T, o pulumi.Output) (any, bool) {
	t.Helper()
	r, err := internals.UnsafeAwaitOutput(t.Context(), o)
	require.NoError(t, err)
	return r.Value, r.Secret
}

var zones3 = []string{"use1-az1", "use1-az2", "use1-az4"}

func newNetwork(single bool, zones []string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		_, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{
			CidrBlock: "10.0.0.0/16", ZoneIDs: zones, SingleNATGateway: single, Region: "us-east-1",
		})
		return err
	}
}

func TestNetworkPerAZ(t *testing.T) {
	e, err := run(t, false, newNetwork(false, zones3))
	require.NoError(t, err)

	subnets := e.Find("aws:ec2/subnet:Subnet")
	require.Len(t, subnets, 9, "public, private and database subnet in each of 3 zones")
	perZone := map[string]map[string]string{}
	seen := map[string]bool{}
	for _, s := range subnets {
		// Placed by zone ID: names map to other physical zones per account
		// (EC2 User Guide, "AZ IDs").
		zone, _ := s.String("availabilityZoneId")
		_, byName := s.String("availabilityZone")
		assert.False(t, byName, "%s is placed by zone name", s.Name)
		tier := s.Tags()["tier"]
		cidr, _ := s.String("cidrBlock")
		if perZone[zone] == nil {
			perZone[zone] = map[string]string{}
		}
		perZone[zone][tier] = cidr
		assert.False(t, seen[cidr], "subnet CIDR %s used twice", cidr)
		seen[cidr] = true
		public, _ := s.Bool("mapPublicIpOnLaunch")
		assert.False(t, public, "%s must not hand out public IPs", s.Name)
	}
	for _, z := range zones3 {
		assert.Len(t, perZone[z], 3, "zone %s: %v", z, perZone[z])
		assert.Contains(t, perZone[z], "database")
	}
	assert.Equal(t, "10.0.16.0/20", perZone["use1-az1"]["private"])
	assert.Equal(t, "10.0.10.0/24", perZone["use1-az1"]["database"])

	assert.Len(t, e.Find("aws:ec2/natGateway:NatGateway"), 3, "one NAT per zone")
	assert.Len(t, e.Find("aws:ec2/eip:Eip"), 3)

	// Each private route table sends 0.0.0.0/0 to a NAT; the database route
	// table has no route at all (isolated).
	routes := e.Find("aws:ec2/route:Route")
	var natRoutes, igwRoutes int
	for _, r := range routes {
		if _, ok := r.String("natGatewayId"); ok {
			natRoutes++
		}
		if _, ok := r.String("gatewayId"); ok {
			igwRoutes++
		}
	}
	assert.Equal(t, 3, natRoutes)
	assert.Equal(t, 1, igwRoutes)
	for _, r := range routes {
		assert.NotContains(t, r.Name, "database", "database subnets must have no route out")
	}

	sg := one(t, e, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
	_, hasIngress := sg.Get("ingress")
	_, hasEgress := sg.Get("egress")
	assert.False(t, hasIngress || hasEgress, "default security group must be stripped of rules")

	flow := one(t, e, "aws:ec2/flowLog:FlowLog")
	tt, _ := flow.String("trafficType")
	assert.Equal(t, "ALL", tt)
	lg := one(t, e, "aws:cloudwatch/logGroup:LogGroup")
	days, _ := lg.Number("retentionInDays")
	assert.Equal(t, 90.0, days, "default flow log retention")

	ep := one(t, e, "aws:ec2/vpcEndpoint:VpcEndpoint")
	typ, _ := ep.String("vpcEndpointType")
	svc, _ := ep.String("serviceName")
	assert.Equal(t, "Gateway", typ)
	assert.Equal(t, "com.amazonaws.us-east-1.s3", svc)
	assert.Len(t, ep.Strings("routeTableIds"), 3)

	dbsg := one(t, e, "aws:rds/subnetGroup:SubnetGroup")
	assert.Len(t, dbsg.Strings("subnetIds"), 3)
	for _, id := range dbsg.Strings("subnetIds") {
		assert.Contains(t, id, "database", "DB subnet group uses the isolated subnets")
	}
	assert.Len(t, e.Find("aws:elasticache/subnetGroup:SubnetGroup"), 1)
}

func TestNetworkSingleNAT(t *testing.T) {
	e, err := run(t, false, newNetwork(true, zones3[:2]))
	require.NoError(t, err)
	assert.Len(t, e.Find("aws:ec2/subnet:Subnet"), 6)
	assert.Len(t, e.Find("aws:ec2/natGateway:NatGateway"), 1)
	assert.Len(t, e.Find("aws:ec2/eip:Eip"), 1)
	// Both private route tables still get a default route (to the one NAT).
	var natRoutes int
	for _, r := range e.Find("aws:ec2/route:Route") {
		if _, ok := r.String("natGatewayId"); ok {
			natRoutes++
		}
	}
	assert.Equal(t, 2, natRoutes)
}

func TestNetworkRejectsBadArgsBeforeRegistering(t *testing.T) {
	for name, fn := range map[string]pulumi.RunFunc{
		"one zone": newNetwork(false, zones3[:1]),
		"bad cidr": func(ctx *pulumi.Context) error {
			_, err := components.NewNetwork(ctx, "net", &components.NetworkArgs{CidrBlock: "10.0.0.0/24", ZoneIDs: zones3, Region: "us-east-1"})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := run(t, false, fn)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "NetworkArgs.")
			assert.Empty(t, e.Resources(), "nothing may be registered")
		})
	}
}

func newSecurityGroups(ctx *pulumi.Context) error {
	_, err := components.NewSecurityGroups(ctx, "sg", &components.SecurityGroupsArgs{
		VpcID: pulumi.String("vpc-1"), ServicePort: 30080,
	})
	return err
}

func TestSecurityGroupsChain(t *testing.T) {
	e, err := run(t, false, newSecurityGroups)
	require.NoError(t, err)
	groups := map[string]string{} // group id (mock) -> role
	for _, g := range e.Find("aws:ec2/securityGroup:SecurityGroup") {
		_, hasIngress := g.Get("ingress")
		_, hasEgress := g.Get("egress")
		assert.False(t, hasIngress || hasEgress, "%s: rules must be separate resources", g.Name)
		groups[g.Name] = g.Name
	}
	require.Len(t, groups, 4)

	type rule struct {
		to, from, cidr string
		port           float64
	}
	var ingress []rule
	for _, r := range e.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		to, _ := r.String("securityGroupId")
		from, _ := r.String("referencedSecurityGroupId")
		cidr, _ := r.String("cidrIpv4")
		port, _ := r.Number("fromPort")
		toPort, _ := r.Number("toPort")
		assert.Equal(t, port, toPort, "%s: single-port rules only", r.Name)
		ingress = append(ingress, rule{to: groupRole(to), from: groupRole(from), cidr: cidr, port: port})
		if cidr != "" {
			assert.Equal(t, "0.0.0.0/0", cidr)
			assert.Equal(t, 443.0, port, "only HTTPS may come from the internet")
			assert.Equal(t, components.PublicLoadBalancerRole, r.Tags()[components.NetworkRoleTag])
		} else {
			assert.NotEmpty(t, from, "%s: group-to-group rules name their source group", r.Name)
		}
	}
	assert.ElementsMatch(t, []rule{
		{to: "lb", cidr: "0.0.0.0/0", port: 443, from: ""},
		{to: "nodes", from: "lb", port: 30080},
		{to: "db", from: "nodes", port: 5432},
		{to: "cache", from: "nodes", port: 6379},
	}, ingress)

	// Databases and caches have no egress rule at all.
	for _, r := range e.Find("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		from, _ := r.String("securityGroupId")
		assert.NotContains(t, from, "sg-db", r.Name)
		assert.NotContains(t, from, "sg-cache", r.Name)
	}
}

func newDatabase(allowDeletion bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		_, err := components.NewDatabase(ctx, "db", &components.DatabaseArgs{
			Identifier: "platform-test-db", InstanceClass: "db.m6g.large", EngineVersion: "16",
			AllocatedStorageGB: 100, BackupRetentionDays: 14, AllowDeletion: allowDeletion,
			SubnetGroupName: pulumi.String("dbsubnets"), SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-db")},
		})
		return err
	}
}

func TestDatabaseSecureDefaults(t *testing.T) {
	e, err := run(t, false, newDatabase(false))
	require.NoError(t, err)
	db := one(t, e, "aws:rds/instance:Instance")
	for path, want := range map[string]any{
		"multiAz": true, "storageEncrypted": true, "publiclyAccessible": false,
		"manageMasterUserPassword": true, "deletionProtection": true, "skipFinalSnapshot": false,
		"performanceInsightsEnabled": true, "storageType": "gp3", "engine": "postgres",
		"backupRetentionPeriod": 14.0, "finalSnapshotIdentifier": "platform-test-db-final",
	} {
		got, _ := db.Get(path)
		assert.Equal(t, want, got, path)
	}
	kms, _ := db.String("kmsKeyId")
	assert.Contains(t, kms, "arn:aws:kms:", "storage encrypted with the component's own key")
	// A major version with AWS's minor upgrades: pulumi-aws documents the
	// prefix form for exactly this (rds.Instance engineVersion: "If
	// autoMinorVersionUpgrade is enabled, you can provide a prefix of the
	// version such as 8.0"); a full 16.9 would be behind the instance after
	// its first upgrade, and the next update a downgrade RDS refuses.
	version, _ := db.String("engineVersion")
	auto, _ := db.Bool("autoMinorVersionUpgrade")
	assert.Equal(t, "16", version)
	assert.True(t, auto)
	_, hasPassword := db.Get("password")
	assert.False(t, hasPassword, "no password passes through Pulumi")

	pg := one(t, e, "aws:rds/parameterGroup:ParameterGroup")
	family, _ := pg.String("family")
	assert.Equal(t, "postgres16", family)
	params := map[string]string{}
	for i := range 10 {
		n, ok := pg.String("parameters." + itoa(i) + ".name")
		if !ok {
			break
		}
		v, _ := pg.String("parameters." + itoa(i) + ".value")
		params[n] = v
	}
	assert.Equal(t, "1", params["rds.force_ssl"])
	assert.Equal(t, "500", params["log_min_duration_statement"])
	pgName, _ := db.String("parameterGroupName")
	assert.NotEmpty(t, pgName)

	for _, lg := range e.Find("aws:cloudwatch/logGroup:LogGroup") {
		days, ok := lg.Number("retentionInDays")
		assert.True(t, ok && days > 0, "%s has a retention", lg.Name)
	}
	key := one(t, e, "aws:kms/key:Key")
	rot, _ := key.Bool("enableKeyRotation")
	assert.True(t, rot)
}

func TestDatabaseDevAllowsDeletion(t *testing.T) {
	e, err := run(t, false, newDatabase(true))
	require.NoError(t, err)
	db := one(t, e, "aws:rds/instance:Instance")
	dp, _ := db.Bool("deletionProtection")
	skip, _ := db.Bool("skipFinalSnapshot")
	multi, _ := db.Bool("multiAz")
	assert.False(t, dp)
	assert.True(t, skip)
	assert.True(t, multi, "dev is Multi-AZ too")
}

// TestDatabaseMinorPinNeedsUpgradesOff: a major.minor version with AWS's
// minor upgrades on is refused before anything registers (the first upgrade
// would turn the next `pulumi up` into "Cannot upgrade postgres from 16.x to
// 16.9"); with PinMinorVersion the instance keeps its minor.
func TestDatabaseMinorPinNeedsUpgradesOff(t *testing.T) {
	args := func(pin bool) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			_, err := components.NewDatabase(ctx, "db", &components.DatabaseArgs{
				Identifier: "platform-test-db", InstanceClass: "db.m6g.large", EngineVersion: "16.9", PinMinorVersion: pin,
				SubnetGroupName: pulumi.String("dbsubnets"), SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-db")},
			})
			return err
		}
	}
	e, err := run(t, false, args(false))
	require.ErrorContains(t, err, "DatabaseArgs.EngineVersion")
	assert.Empty(t, e.Resources(), "nothing registered")

	e, err = run(t, false, args(true))
	require.NoError(t, err)
	db := one(t, e, "aws:rds/instance:Instance")
	auto, _ := db.Bool("autoMinorVersionUpgrade")
	version, _ := db.String("engineVersion")
	assert.False(t, auto, "a pinned minor turns AWS's upgrades off")
	assert.Equal(t, "16.9", version)
}

func TestDatabaseRejectsShortBackups(t *testing.T) {
	e, err := run(t, false, func(ctx *pulumi.Context) error {
		_, err := components.NewDatabase(ctx, "db", &components.DatabaseArgs{
			Identifier: "x", InstanceClass: "db.t4g.medium", EngineVersion: "16", BackupRetentionDays: 3,
			SubnetGroupName: pulumi.String("s"), SecurityGroupIDs: pulumi.StringArray{},
		})
		return err
	})
	require.ErrorContains(t, err, "DatabaseArgs.BackupRetentionDays")
	assert.Empty(t, e.Resources())
}

func newCache(token pulumi.StringInput) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		c, err := components.NewCache(ctx, "redis", &components.CacheArgs{
			ReplicationGroupID: "platform-test-redis", NodeType: "cache.m6g.large", AuthToken: token,
			SubnetGroupName: pulumi.String("cachesubnets"), SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-cache")},
		})
		if err != nil {
			return err
		}
		ctx.Export("token", c.AuthToken)
		return nil
	}
}

func TestCacheFailoverEncryptionAuth(t *testing.T) {
	e, err := run(t, false, newCache(nil))
	require.NoError(t, err)
	rg := one(t, e, "aws:elasticache/replicationGroup:ReplicationGroup")
	for path, want := range map[string]any{
		"automaticFailoverEnabled": true, "multiAzEnabled": true, "transitEncryptionEnabled": true,
		"atRestEncryptionEnabled": true, "numCacheClusters": 2.0, "authToken": inventory.Secret,
		"snapshotRetentionLimit": 1.0,
	} {
		got, _ := rg.Get(path)
		assert.Equal(t, want, got, path)
	}
	assert.Len(t, e.Find("random:index/randomPassword:RandomPassword"), 1, "a token is generated when none is given")
	slow, _ := rg.String("logDeliveryConfigurations.0.logType")
	assert.Equal(t, "slow-log", slow)
}

func TestCacheUsesGivenTokenAsSecret(t *testing.T) {
	var out pulumi.StringOutput
	e, err := run(t, false, func(ctx *pulumi.Context) error {
		c, err := components.NewCache(ctx, "redis", &components.CacheArgs{
			ReplicationGroupID: "platform-test-redis", NodeType: "cache.t4g.small", AuthToken: pulumi.String("a-given-token-of-32-characters!!"),
			SubnetGroupName: pulumi.String("s"), SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg")},
		})
		if err == nil {
			out = c.AuthToken
		}
		return err
	})
	require.NoError(t, err)
	assert.Empty(t, e.Find("random:index/randomPassword:RandomPassword"))
	rg := one(t, e, "aws:elasticache/replicationGroup:ReplicationGroup")
	tok, _ := rg.String("authToken")
	assert.Equal(t, inventory.Secret, tok, "the token reaches the provider as a secret")
	v, secret := awaitSecret(t, out)
	assert.True(t, secret)
	assert.Equal(t, "a-given-token-of-32-characters!!", v)
}

func TestCacheRejectsSingleNode(t *testing.T) {
	e, err := run(t, false, func(ctx *pulumi.Context) error {
		_, err := components.NewCache(ctx, "redis", &components.CacheArgs{
			ReplicationGroupID: "platform-test-redis", NodeType: "cache.t4g.small", NodeCount: 1,
			SubnetGroupName: pulumi.String("s"), SecurityGroupIDs: pulumi.StringArray{},
		})
		return err
	})
	require.ErrorContains(t, err, "CacheArgs.NodeCount")
	assert.Empty(t, e.Resources())
}

func newCluster(cidrs []string, out **components.Cluster) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		c, err := components.NewCluster(ctx, "eks", &components.ClusterArgs{
			ClusterName: "platform-test", Version: "1.35",
			VpcID:             pulumi.String("vpc-1"),
			PrivateSubnetIDs:  pulumi.ToStringArray([]string{"subnet-private-a", "subnet-private-b", "subnet-private-c"}),
			PublicSubnetIDs:   pulumi.ToStringArray([]string{"subnet-public-a", "subnet-public-b", "subnet-public-c"}),
			PublicAccessCIDRs: cidrs, AdminPrincipalARNs: []string{"arn:aws:iam::123456789012:role/admin"},
			NodeSecurityGroupID: pulumi.String("sg-nodes"), InstanceTypes: []string{"m6i.large"},
			MinSize: 3, DesiredSize: 3, MaxSize: 6, NodeDiskGB: 50,
		})
		if out != nil {
			*out = c
		}
		return err
	}
}

func TestClusterSecureAndSpread(t *testing.T) {
	var c *components.Cluster
	e, err := run(t, false, newCluster([]string{"203.0.113.0/24"}, &c))
	require.NoError(t, err)

	cl := one(t, e, "eks:index:Cluster")
	for path, want := range map[string]any{
		"skipDefaultNodeGroup": true, "authenticationMode": "API", "endpointPrivateAccess": true,
		"endpointPublicAccess": true, "version": "1.35", "createOidcProvider": false,
	} {
		got, _ := cl.Get(path)
		assert.Equal(t, want, got, path)
	}
	assert.Equal(t, []string{"203.0.113.0/24"}, cl.Strings("publicAccessCidrs"))
	assert.ElementsMatch(t, components.ControlPlaneLogTypes, cl.Strings("enabledClusterLogTypes"))
	keyArn, _ := cl.String("encryptionConfigKeyArn")
	assert.Contains(t, keyArn, "arn:aws:kms:", "secrets encrypted with a KMS key")

	ng := one(t, e, "eks:index:ManagedNodeGroup")
	assert.Len(t, ng.Strings("subnetIds"), 3, "nodes spread over every private subnet")
	for _, s := range ng.Strings("subnetIds") {
		assert.Contains(t, s, "private")
	}
	for path, want := range map[string]float64{"scalingConfig.minSize": 3, "scalingConfig.desiredSize": 3, "scalingConfig.maxSize": 6} {
		got, _ := ng.Number(path)
		assert.Equal(t, want, got, path)
	}
	ltName, _ := ng.String("launchTemplate.name")
	assert.Equal(t, "platform-test-nodes", ltName)
	ltVersion, _ := ng.String("launchTemplate.version")
	assert.Equal(t, "1", ltVersion)

	lt := one(t, e, "aws:ec2/launchTemplate:LaunchTemplate")
	tokens, _ := lt.String("metadataOptions.httpTokens")
	assert.Equal(t, "required", tokens, "IMDSv2 only")
	enc, _ := lt.String("blockDeviceMappings.0.ebs.encrypted")
	assert.Equal(t, "true", enc)
	assert.Len(t, lt.Strings("vpcSecurityGroupIds"), 2, "node group + EKS cluster group")

	oidc := one(t, e, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
	url, _ := oidc.String("url")
	assert.True(t, strings.HasPrefix(url, "https://oidc.eks.us-east-1.amazonaws.com/id/"), url)

	k8s := one(t, e, "pulumi:providers:kubernetes")
	kc, _ := k8s.String("kubeconfig")
	assert.Equal(t, inventory.Secret, kc, "the provider's kubeconfig is a secret")
	require.NotNil(t, c)
	_, secret := awaitSecret(t, c.Kubeconfig)
	assert.True(t, secret, "kubeconfig output is secret")
	issuer, _ := awaitSecret(t, c.OIDCIssuer)
	assert.NotContains(t, issuer, "https://")
}

func TestClusterPrivateOnlyWithoutCIDRs(t *testing.T) {
	e, err := run(t, false, newCluster(nil, nil))
	require.NoError(t, err)
	cl := one(t, e, "eks:index:Cluster")
	pub, _ := cl.Bool("endpointPublicAccess")
	assert.False(t, pub)
	_, has := cl.Get("publicAccessCidrs")
	assert.False(t, has)
}

func TestClusterRefusesWorldEndpoint(t *testing.T) {
	e, err := run(t, false, newCluster([]string{"0.0.0.0/0"}, nil))
	require.ErrorContains(t, err, "ClusterArgs.PublicAccessCIDRs")
	assert.Empty(t, e.Resources())
}

func TestClusterPreviewHasUnknowns(t *testing.T) {
	// Under preview, provider-computed outputs are unknown (the launch
	// template's version here); the program must still register the node
	// group and OIDC provider without panicking.
	e, err := run(t, true, newCluster(nil, nil))
	require.NoError(t, err)
	ng := one(t, e, "eks:index:ManagedNodeGroup")
	// The mock monitor drops unknown inputs; after an apply it is "1".
	_, known := ng.Get("launchTemplate.version")
	assert.False(t, known, "launch template version is unknown before it exists")
	assert.Len(t, e.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider"), 1)
}

// groupRole reads the role back from a mock group id ("sg-nodes-1a2b3c4").
func groupRole(id string) string {
	if id == "" {
		return ""
	}
	return strings.SplitN(id, "-", 3)[1]
}

func itoa(i int) string { return string(rune('0' + i)) }
