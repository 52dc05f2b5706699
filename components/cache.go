package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CacheArgs configures a Cache.
type CacheArgs struct {
	// ReplicationGroupID names the group (and, suffixed -001…, its nodes, as
	// the dashboards and alarms address them). Required, at most 40 chars.
	ReplicationGroupID string
	// NodeType, e.g. cache.m6g.large. Required.
	NodeType string
	// NodeCount is primary + replicas, spread over the subnet group's zones;
	// 2-6, default 2.
	NodeCount int
	// EngineVersion of Redis; default "7.1".
	EngineVersion string
	// SnapshotRetentionDays; default 1.
	SnapshotRetentionDays int
	// AuthToken is the Redis AUTH token. Nil generates one (kept in state as
	// a secret). Either way the component's AuthToken output is secret.
	AuthToken pulumi.StringInput
	// SubnetGroupName and SecurityGroupIDs place and guard the nodes. Required.
	SubnetGroupName  pulumi.StringInput
	SecurityGroupIDs pulumi.StringArrayInput
	// LogRetentionDays for the slow log; default 30.
	LogRetentionDays int
}

func (a *CacheArgs) withDefaults() (CacheArgs, error) {
	out := *a
	if out.NodeCount == 0 {
		out.NodeCount = 2
	}
	if out.EngineVersion == "" {
		out.EngineVersion = "7.1"
	}
	if out.SnapshotRetentionDays == 0 {
		out.SnapshotRetentionDays = 1
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	switch {
	case out.ReplicationGroupID == "" || len(out.ReplicationGroupID) > 40:
		return out, fmt.Errorf("CacheArgs.ReplicationGroupID: %q must be 1-40 characters", out.ReplicationGroupID)
	case !strings.HasPrefix(out.NodeType, "cache."):
		return out, fmt.Errorf("CacheArgs.NodeType: %q is not an ElastiCache node type (cache.*)", out.NodeType)
	case out.NodeCount < 2 || out.NodeCount > 6:
		return out, fmt.Errorf("CacheArgs.NodeCount: %d is out of range 2-6 (failover needs a replica)", out.NodeCount)
	case out.SubnetGroupName == nil || out.SecurityGroupIDs == nil:
		return out, fmt.Errorf("CacheArgs.SubnetGroupName and SecurityGroupIDs: required")
	}
	return out, nil
}

// Cache is a Redis replication group with automatic failover across zones,
// TLS in transit, AUTH, and encryption at rest with its own KMS key.
type Cache struct {
	pulumi.ResourceState

	PrimaryEndpoint pulumi.StringOutput `pulumi:"primaryEndpoint"`
	ReaderEndpoint  pulumi.StringOutput `pulumi:"readerEndpoint"`
	Port            pulumi.IntOutput    `pulumi:"port"`
	AuthToken       pulumi.StringOutput `pulumi:"authToken"`
	// MemberIDs are the node ids (<group>-001, …) CloudWatch reports by.
	MemberIDs []string `pulumi:"-"`
}

// NewCache creates a Cache.
func NewCache(ctx *pulumi.Context, name string, args *CacheArgs, opts ...pulumi.ResourceOption) (*Cache, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{}
	if err := ctx.RegisterComponentResource("platform:components:Cache", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	token := a.AuthToken
	if token == nil {
		pw, err := random.NewRandomPassword(ctx, name+"-auth", &random.RandomPasswordArgs{
			Length:  pulumi.Int(64),
			Special: pulumi.Bool(false), // AUTH forbids @, " and /
		}, parent)
		if err != nil {
			return nil, err
		}
		token = pw.Result
	}
	secretToken := pulumi.ToSecret(token).(pulumi.StringOutput)

	key, err := newKey(ctx, name+"-cache", "ElastiCache at-rest encryption of "+name, parent)
	if err != nil {
		return nil, err
	}
	slowLog, err := cloudwatch.NewLogGroup(ctx, name+"-slow-log", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, err
	}
	rg, err := elasticache.NewReplicationGroup(ctx, name, &elasticache.ReplicationGroupArgs{
		ReplicationGroupId:       pulumi.String(a.ReplicationGroupID),
		Description:              pulumi.String("tenant service rate limits, sessions and breaker state"),
		Engine:                   pulumi.String("redis"),
		EngineVersion:            pulumi.String(a.EngineVersion),
		NodeType:                 pulumi.String(a.NodeType),
		NumCacheClusters:         pulumi.Int(a.NodeCount),
		AutomaticFailoverEnabled: pulumi.Bool(true),
		MultiAzEnabled:           pulumi.Bool(true),
		SubnetGroupName:          a.SubnetGroupName,
		SecurityGroupIds:         a.SecurityGroupIDs,
		Port:                     pulumi.Int(6379),
		TransitEncryptionEnabled: pulumi.Bool(true),
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		KmsKeyId:                 key.Arn,
		AuthToken:                secretToken,
		// ROTATE keeps the old token valid while clients move to the new
		// one (see docs/runbooks/rotate-secrets.md).
		AuthTokenUpdateStrategy: pulumi.String("ROTATE"),
		SnapshotRetentionLimit:  pulumi.Int(a.SnapshotRetentionDays),
		SnapshotWindow:          pulumi.String("02:00-03:00"),
		MaintenanceWindow:       pulumi.String("sun:05:30-sun:06:30"),
		AutoMinorVersionUpgrade: pulumi.Bool(true),
		LogDeliveryConfigurations: elasticache.ReplicationGroupLogDeliveryConfigurationArray{
			&elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
				Destination:     slowLog.Name,
				DestinationType: pulumi.String("cloudwatch-logs"),
				LogFormat:       pulumi.String("json"),
				LogType:         pulumi.String("slow-log"),
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	c.PrimaryEndpoint = rg.PrimaryEndpointAddress
	c.ReaderEndpoint = rg.ReaderEndpointAddress
	c.Port = rg.Port.ApplyT(func(p *int) int {
		if p == nil {
			return 6379
		}
		return *p
	}).(pulumi.IntOutput)
	c.AuthToken = secretToken
	for i := 1; i <= a.NodeCount; i++ {
		c.MemberIDs = append(c.MemberIDs, fmt.Sprintf("%s-%03d", a.ReplicationGroupID, i))
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"primaryEndpoint": c.PrimaryEndpoint,
		"readerEndpoint":  c.ReaderEndpoint,
		"port":            c.Port,
		"authToken":       c.AuthToken,
	})
}
