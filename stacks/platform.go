package stacks

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/components"
)

// Program is the Pulumi program: the same function runs under the Pulumi
// CLI (main.go), under the SDK's mocks in tests and in the offline review.
func Program(ctx *pulumi.Context) error {
	cfg, err := Load(ctxGetter{ctx}, ctx.Project(), ctx.Stack())
	if err != nil {
		// Nothing has been registered yet: a bad config creates nothing.
		return err
	}
	p, err := NewPlatform(ctx, cfg)
	if err != nil {
		return err
	}
	p.Export(ctx)
	return nil
}

// ctxGetter reads the platform namespace of the engine's stack config.
type ctxGetter struct{ ctx *pulumi.Context }

func (g ctxGetter) Get(key string) (string, bool) { return g.ctx.GetConfig(Namespace + ":" + key) }
func (g ctxGetter) IsSecret(key string) bool      { return g.ctx.IsConfigSecret(Namespace + ":" + key) }

// Platform is every component of one stack.
type Platform struct {
	Config         *Config
	Network        *components.Network
	SecurityGroups *components.SecurityGroups
	Cluster        *components.Cluster
	Database       *components.Database
	Cache          *components.Cache
}

// NewPlatform composes the components from a validated config.
func NewPlatform(ctx *pulumi.Context, cfg *Config) (*Platform, error) {
	prefix := cfg.Project + "-" + cfg.Stack
	tags := pulumi.ToStringMap(cfg.ResourceTags())
	// Default tags on the provider reach every AWS resource of the program,
	// including those inside the EKS component.
	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: tags},
	})
	if err != nil {
		return nil, err
	}
	opts := []pulumi.ResourceOption{pulumi.Providers(provider)}
	p := &Platform{Config: cfg}

	if p.Network, err = components.NewNetwork(ctx, prefix, &components.NetworkArgs{
		CidrBlock:            cfg.VPCCidr,
		Zones:                cfg.Zones,
		SingleNATGateway:     cfg.NAT == NATSingle,
		FlowLogRetentionDays: cfg.FlowLogRetentionDays,
		Region:               cfg.Region,
	}, opts...); err != nil {
		return nil, err
	}
	if p.SecurityGroups, err = components.NewSecurityGroups(ctx, prefix, &components.SecurityGroupsArgs{
		VpcID:       p.Network.VpcID.ToStringOutput(),
		ServicePort: cfg.ServicePort,
	}, opts...); err != nil {
		return nil, err
	}
	if p.Cluster, err = components.NewCluster(ctx, prefix, &components.ClusterArgs{
		ClusterName:         prefix,
		Version:             cfg.ClusterVersion,
		VpcID:               p.Network.VpcID.ToStringOutput(),
		PrivateSubnetIDs:    p.Network.PrivateSubnetIDs,
		PublicSubnetIDs:     p.Network.PublicSubnetIDs,
		PublicAccessCIDRs:   cfg.ClusterPublicAccessCIDRs,
		AdminPrincipalARNs:  cfg.ClusterAdminARNs,
		NodeSecurityGroupID: p.SecurityGroups.NodesID.ToStringOutput(),
		InstanceTypes:       cfg.NodeInstanceTypes,
		MinSize:             cfg.NodeMin,
		DesiredSize:         cfg.NodeDesired,
		MaxSize:             cfg.NodeMax,
		NodeDiskGB:          cfg.NodeDiskGB,
		Arm:                 IsArm(cfg.NodeInstanceTypes[0]),
		LogRetentionDays:    cfg.FlowLogRetentionDays,
		InstanceTags:        cfg.ResourceTags(),
	}, opts...); err != nil {
		return nil, err
	}
	if p.Database, err = components.NewDatabase(ctx, prefix, &components.DatabaseArgs{
		Identifier:            prefix + "-db",
		InstanceClass:         cfg.DBInstanceClass,
		EngineVersion:         cfg.DBEngineVersion,
		AllocatedStorageGB:    cfg.DBAllocatedStorageGB,
		MaxAllocatedStorageGB: cfg.DBMaxAllocatedStorageGB,
		BackupRetentionDays:   cfg.DBBackupRetentionDays,
		AllowDeletion:         !cfg.DBDeletionProtection,
		SubnetGroupName:       p.Network.DBSubnetGroupName,
		SecurityGroupIDs:      pulumi.StringArray{p.SecurityGroups.DatabaseID.ToStringOutput()},
		LogRetentionDays:      cfg.FlowLogRetentionDays,
	}, opts...); err != nil {
		return nil, err
	}
	cacheArgs := &components.CacheArgs{
		NodeType:              cfg.CacheNodeType,
		NodeCount:             cfg.CacheNodeCount,
		EngineVersion:         cfg.CacheEngineVersion,
		SnapshotRetentionDays: cfg.CacheSnapshotRetentionDays,
		SubnetGroupName:       p.Network.CacheSubnetGroupName,
		SecurityGroupIDs:      pulumi.StringArray{p.SecurityGroups.CacheID.ToStringOutput()},
		LogRetentionDays:      cfg.FlowLogRetentionDays,
	}
	if cfg.CacheAuthToken != "" {
		cacheArgs.AuthToken = pulumi.ToSecret(pulumi.String(cfg.CacheAuthToken)).(pulumi.StringOutput)
	}
	if p.Cache, err = components.NewCache(ctx, prefix+"-redis", cacheArgs, opts...); err != nil {
		return nil, err
	}
	return p, nil
}

// Export publishes the stack outputs other tools and stacks consume.
func (p *Platform) Export(ctx *pulumi.Context) {
	ctx.Export("vpcId", p.Network.VpcID)
	ctx.Export("publicSubnetIds", p.Network.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", p.Network.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", p.Network.DatabaseSubnetIDs)
	ctx.Export("clusterName", p.Cluster.ClusterName)
	ctx.Export("kubeconfig", p.Cluster.Kubeconfig)
	ctx.Export("oidcProviderArn", p.Cluster.OIDCProviderArn)
	ctx.Export("dbEndpoint", p.Database.Address)
	ctx.Export("dbSecretArn", p.Database.SecretArn)
	ctx.Export("redisEndpoint", p.Cache.PrimaryEndpoint)
	ctx.Export("monthlyBudgetUsd", pulumi.Float64(p.Config.MonthlyBudgetUSD))
	ctx.Export("monthlyCeilingUsd", pulumi.Float64(p.Config.MonthlyCeilingUSD))
}
