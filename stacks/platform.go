package stacks

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/components"
)

// Program is the Pulumi program as `pulumi preview` and `pulumi up` run it
// (main.go): a stack whose config still holds documentation placeholders
// (Config.Placeholders) is refused before anything is registered.
func Program(ctx *pulumi.Context) error { return run(ctx, false) }

// ReviewProgram is the same program for the offline review and the tests
// under mocks: placeholders are findings the review prints, not a refusal,
// so the committed stack files can be reviewed before they are filled in.
func ReviewProgram(ctx *pulumi.Context) error { return run(ctx, true) }

func run(ctx *pulumi.Context, allowPlaceholders bool) error {
	cfg, err := Load(ctxGetter{ctx}, ctx.Project(), ctx.Stack())
	if err != nil {
		// Nothing has been registered yet: a bad config creates nothing.
		return err
	}
	if ps := cfg.Placeholders(); len(ps) > 0 && !allowPlaceholders {
		return &ConfigError{Problems: append([]string{"documentation placeholders cannot be deployed; `go run . review` shows them too:"}, ps...)}
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
	DeployAccess   *components.DeployAccess
	CostControls   *components.CostControls
	Service        *components.TenantService
	Monitoring     *components.Monitoring
	// BreakerHook is nil without platform:serviceHostname.
	BreakerHook *components.BreakerHook
	// MetricsServer and ClusterAutoscaler make the HPA and the node group
	// scale; Runner (nil without platform:runnerGithubCredentialArn) is the
	// deploy pipeline's way into the private cluster.
	MetricsServer     *components.MetricsServer
	ClusterAutoscaler *components.ClusterAutoscaler
	Runner            *components.DeployRunner

	accountID pulumi.StringOutput // the deploying account, read once (accountIDOf)
}

// accountIDOf is the account the AWS provider deploys into, from one
// sts:GetCallerIdentity the components that build ARNs share.
func (p *Platform) accountIDOf(ctx *pulumi.Context, provider *aws.Provider) pulumi.StringOutput {
	if p.accountID == (pulumi.StringOutput{}) {
		p.accountID = aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}, pulumi.Provider(provider)).AccountId()
	}
	return p.accountID
}

// NewPlatform composes the components from a validated config.
func NewPlatform(ctx *pulumi.Context, cfg *Config) (*Platform, error) {
	prefix := cfg.Prefix()
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

	// Account facts first: nothing but the provider is registered if the
	// account cannot take this stack.
	zones, err := chooseZones(ctx, cfg, provider)
	if err != nil {
		return nil, err
	}
	oidcProvider, err := githubOIDCProvider(ctx, cfg, provider)
	if err != nil {
		return nil, err
	}

	if p.Network, err = components.NewNetwork(ctx, prefix, &components.NetworkArgs{
		CidrBlock:            cfg.VPCCidr,
		ZoneIDs:              zones,
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
	// The deploy role comes first: the cluster grants it access, and the
	// cost breaker freezes it.
	if p.DeployAccess, err = components.NewDeployAccess(ctx, prefix, &components.DeployAccessArgs{
		Repository:              cfg.GithubRepository,
		Environments:            []string{cfg.Stack},
		ExistingOIDCProviderArn: oidcProvider,
		RoleName:                cfg.DeployRoleName(),
		PreviewRoleName:         cfg.PreviewRoleName(),
		Region:                  cfg.Region,
	}, opts...); err != nil {
		return nil, err
	}
	if p.Cluster, err = components.NewCluster(ctx, prefix, &components.ClusterArgs{
		DeployRoleArn:       p.DeployAccess.RoleArn,
		ViewerRoleArn:       p.DeployAccess.PreviewRoleArn,
		ClusterName:         cfg.ClusterName(),
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
	if err := p.addClusterScaling(ctx, prefix, provider); err != nil {
		return nil, err
	}
	if err := p.addRunner(ctx, prefix, provider, opts); err != nil {
		return nil, err
	}
	if p.Database, err = components.NewDatabase(ctx, prefix, &components.DatabaseArgs{
		Identifier:            cfg.DatabaseIdentifier(),
		InstanceClass:         cfg.DBInstanceClass,
		EngineVersion:         cfg.DBEngineVersion,
		PinMinorVersion:       !cfg.DBAutoMinorUpgrade,
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
		ReplicationGroupID:    cfg.CacheReplicationGroupID(),
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
	if err := p.addDelivery(ctx, prefix, provider, opts); err != nil {
		return nil, err
	}
	if err := p.addService(ctx, prefix, provider); err != nil {
		return nil, err
	}
	return p, nil
}

// addClusterScaling installs what makes the cluster scale: metrics-server
// (the HPA's resource metrics) and the Cluster Autoscaler for the node
// group, between platform:nodeMin and nodeMax. dev gives idle nodes back
// sooner.
func (p *Platform) addClusterScaling(ctx *pulumi.Context, prefix string, awsProvider *aws.Provider) error {
	cfg := p.Config
	k8s := pulumi.Providers(awsProvider, p.Cluster.Provider)
	var err error
	if p.MetricsServer, err = components.NewMetricsServer(ctx, prefix+"-metrics-server", &components.MetricsServerArgs{}, k8s); err != nil {
		return err
	}
	caArgs := &components.ClusterAutoscalerArgs{
		ClusterName:       cfg.ClusterName(),
		KubernetesVersion: cfg.ClusterVersion,
		Region:            cfg.Region,
		AccountID:         p.accountIDOf(ctx, awsProvider),
		OIDCProviderArn:   p.Cluster.OIDCProviderArn,
		OIDCIssuer:        p.Cluster.OIDCIssuer,
	}
	if cfg.Environment == EnvDev {
		caArgs.ScaleDownUnneededTime, caArgs.ScaleDownDelayAfterAdd = "5m", "5m"
	}
	p.ClusterAutoscaler, err = components.NewClusterAutoscaler(ctx, prefix+"-cluster-autoscaler", caArgs, k8s)
	return err
}

// addRunner creates the CodeBuild-hosted GitHub Actions runner in the
// private subnets when the stack names its GitHub credential.
func (p *Platform) addRunner(ctx *pulumi.Context, prefix string, awsProvider *aws.Provider, opts []pulumi.ResourceOption) error {
	cfg := p.Config
	if cfg.RunnerGithubCredentialArn == "" {
		return nil
	}
	var err error
	p.Runner, err = components.NewDeployRunner(ctx, prefix, &components.DeployRunnerArgs{
		ProjectName:            cfg.RunnerProjectName(),
		Repository:             cfg.GithubRepository,
		GitHubCredentialArn:    cfg.RunnerGithubCredentialArn,
		VpcID:                  p.Network.VpcID.ToStringOutput(),
		PrivateSubnetIDs:       p.Network.PrivateSubnetIDs,
		ClusterSecurityGroupID: p.Cluster.ClusterSecurityGroupID,
		Region:                 cfg.Region,
		AccountID:              p.accountIDOf(ctx, awsProvider),
		LogRetentionDays:       cfg.FlowLogRetentionDays,
	}, opts...)
	return err
}

// addDelivery creates the budget with its breakers (the 100 % freeze
// applies to the GitHub OIDC deploy role).
func (p *Platform) addDelivery(ctx *pulumi.Context, prefix string, provider *aws.Provider, opts []pulumi.ResourceOption) error {
	cfg := p.Config
	costArgs := &components.CostControlsArgs{
		BudgetName:       prefix,
		Stack:            cfg.Stack,
		MonthlyBudgetUSD: cfg.MonthlyBudgetUSD,
		AlertEmails:      cfg.AlertEmails,
		DeployRoleName:   p.DeployAccess.RoleName,
		// Survival first, but prod keeps serving: only dev stops at 200 %.
		StopServingAt200: cfg.Environment == EnvDev,
	}
	if costArgs.StopServingAt200 {
		costArgs.DatabaseInstanceID = p.Database.InstanceID
		costArgs.DatabaseInstanceArn = p.Database.InstanceArn
		costArgs.ClusterName = cfg.ClusterName()
		costArgs.NodeGroupName = p.Cluster.NodeGroupName
		costArgs.NodeGroupMaxSize = cfg.NodeMax
		costArgs.Region = cfg.Region
		costArgs.AccountID = p.accountIDOf(ctx, provider)
	}
	var err error
	p.CostControls, err = components.NewCostControls(ctx, prefix+"-cost", costArgs, opts...)
	return err
}

// addService deploys the tenant service onto the cluster and its
// monitoring.
func (p *Platform) addService(ctx *pulumi.Context, prefix string, awsProvider *aws.Provider) error {
	cfg := p.Config
	svcArgs := &components.TenantServiceArgs{
		ImageTag:                  cfg.ServiceImageTag,
		MinReplicas:               cfg.ServiceMinReplicas,
		MaxReplicas:               cfg.ServiceMaxReplicas,
		SpreadStrictly:            cfg.Environment == EnvProd,
		OIDCProviderArn:           p.Cluster.OIDCProviderArn,
		OIDCIssuer:                p.Cluster.OIDCIssuer,
		NodeASGName:               p.Cluster.NodeASGName,
		VpcID:                     p.Network.VpcID.ToStringOutput(),
		PublicSubnetIDs:           p.Network.PublicSubnetIDs,
		LoadBalancerSecurityGroup: p.SecurityGroups.LoadBalancerID.ToStringOutput(),
		NodePort:                  cfg.ServicePort,
		VpcCIDR:                   p.Network.CidrBlock,
		DatabaseCIDRs:             p.Network.DatabaseCIDRs,
		CertificateArn:            cfg.CertificateArn,
		DatabaseHost:              p.Database.Address,
		DatabaseName:              p.Database.DatabaseName,
		DatabaseSecretArn:         p.Database.SecretArn,
		DatabaseKmsKeyArn:         p.Database.KmsKeyArn,
		RedisHost:                 p.Cache.PrimaryEndpoint,
		RedisAuthToken:            p.Cache.AuthToken,
		AlertsTopicArn:            p.CostControls.TopicArn,
		BreakerTopicArns:          p.CostControls.BreakerTopicArns,
		BudgetName:                prefix,
		Stack:                     cfg.Stack,
		Environment:               cfg.Environment,
		BudgetUSD:                 cfg.MonthlyBudgetUSD,
		EstimateUSD:               cfg.ReviewEstimateUSD,
		CeilingUSD:                cfg.MonthlyCeilingUSD,
		ProtectLoadBalancer:       cfg.Environment == EnvProd,
		Region:                    cfg.Region,
	}
	if cfg.HeartbeatURL != "" {
		svcArgs.HeartbeatURL = pulumi.ToSecret(pulumi.String(cfg.HeartbeatURL)).(pulumi.StringOutput)
	}
	if cfg.StripeWebhookSecret != "" {
		svcArgs.StripeWebhookSecret = pulumi.ToSecret(pulumi.String(cfg.StripeWebhookSecret)).(pulumi.StringOutput)
		svcArgs.StripePriceTiers = cfg.StripePriceTiersEnv()
	}
	var err error
	if p.Service, err = components.NewTenantService(ctx, prefix+"-tenantd", svcArgs,
		pulumi.Providers(awsProvider, p.Cluster.Provider)); err != nil {
		return err
	}
	if cfg.ServiceHostname != "" {
		// After the service serves: SNS confirms a subscription once, at
		// once, and delivers nothing to an unconfirmed one.
		if p.BreakerHook, err = components.NewBreakerHook(ctx, prefix+"-breaker-hook", &components.BreakerHookArgs{
			Hostname:           cfg.ServiceHostname,
			HostedZoneID:       cfg.ServiceHostedZoneID,
			LoadBalancerDNS:    p.Service.LoadBalancerDNS,
			LoadBalancerZoneID: p.Service.LoadBalancerZoneID,
			TopicArns:          p.CostControls.BreakerTopicArns,
			TopicCount:         p.CostControls.BreakerTopicCount,
			Serving:            p.Service.Serving,
		}, pulumi.Providers(awsProvider)); err != nil {
			return err
		}
	}
	p.Monitoring, err = components.NewMonitoring(ctx, prefix, &components.MonitoringArgs{
		DashboardName:         prefix,
		Region:                cfg.Region,
		DatabaseInstanceID:    cfg.DatabaseIdentifier(),
		DatabaseInstanceArn:   p.Database.InstanceArn,
		CacheMemberIDs:        p.Cache.MemberIDs,
		LoadBalancerArnSuffix: p.Service.LoadBalancerArnSuffix,
		TargetGroupArnSuffix:  p.Service.TargetGroupArnSuffix,
		NodeASGName:           p.Cluster.NodeASGName,
		AlarmTopicArn:         p.CostControls.TopicArn,
	}, pulumi.Providers(awsProvider))
	return err
}

// Export publishes the stack outputs other tools and stacks consume.
func (p *Platform) Export(ctx *pulumi.Context) {
	ctx.Export("vpcId", p.Network.VpcID)
	ctx.Export("publicSubnetIds", p.Network.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", p.Network.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", p.Network.DatabaseSubnetIDs)
	ctx.Export("clusterName", p.Cluster.ClusterName)
	// Generated (a new name on every replacement): runbooks read it here.
	ctx.Export("nodeGroupName", p.Cluster.NodeGroupName)
	ctx.Export("kubeconfig", p.Cluster.Kubeconfig)
	ctx.Export("oidcProviderArn", p.Cluster.OIDCProviderArn)
	ctx.Export("dbEndpoint", p.Database.Address)
	ctx.Export("dbSecretArn", p.Database.SecretArn)
	ctx.Export("redisEndpoint", p.Cache.PrimaryEndpoint)
	ctx.Export("serviceRepositoryUrl", p.Service.RepositoryURL)
	ctx.Export("serviceUrl", pulumi.Sprintf("https://%s", p.Service.LoadBalancerDNS))
	ctx.Export("serviceAdminToken", p.Service.AdminToken)
	ctx.Export("deployRoleArn", p.DeployAccess.RoleArn)
	if p.Runner != nil {
		// The workflows run the cluster jobs on codebuild-<this>-….
		ctx.Export("runnerProject", p.Runner.ProjectName)
	}
	ctx.Export("previewRoleArn", p.DeployAccess.PreviewRoleArn)
	// A laptop `pulumi up` must deploy the image that runs now, not the
	// default: `-c platform:serviceImageTag=$(pulumi stack output serviceImageTag)`.
	ctx.Export("serviceImageTag", pulumi.String(p.Config.ServiceImageTag))
	ctx.Export("alertsTopicArn", p.CostControls.TopicArn)
	ctx.Export("budgetName", p.CostControls.BudgetName)
	ctx.Export("dashboardName", p.Monitoring.DashboardName)
	ctx.Export("monthlyBudgetUsd", pulumi.Float64(p.Config.MonthlyBudgetUSD))
	ctx.Export("monthlyCeilingUsd", pulumi.Float64(p.Config.MonthlyCeilingUSD))
}
