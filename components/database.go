package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DatabaseArgs configures a Database. Defaults are stricter than
// terraform-aws-rds: Multi-AZ always, deletion protection on, 7+ days of
// backups, final snapshot kept.
type DatabaseArgs struct {
	// Identifier is the RDS instance identifier, also used to pre-create its
	// log groups with retention. Required.
	Identifier string
	// InstanceClass, e.g. db.m6g.large. Required.
	InstanceClass string
	// EngineVersion is the PostgreSQL major ("16") or a major.minor pin
	// ("16.9"). Required. A pin needs PinMinorVersion: with AWS's minor
	// upgrades on, a pinned version is behind the instance after the first
	// upgrade, and the next update asks RDS for a downgrade it refuses.
	EngineVersion string
	// PinMinorVersion turns AWS's automatic minor upgrades off, so an
	// EngineVersion like "16.9" stays what runs. Default false: a major
	// version, upgraded in the maintenance window.
	PinMinorVersion bool
	// AllocatedStorageGB (gp3); default 20. MaxAllocatedStorageGB enables
	// storage autoscaling up to that size; default 5× allocated.
	AllocatedStorageGB    int
	MaxAllocatedStorageGB int
	// BackupRetentionDays, 7-35; default 7.
	BackupRetentionDays int
	// DeletionProtection also keeps a final snapshot on delete. Default true;
	// set AllowDeletion to turn both off (dev).
	AllowDeletion bool
	// DatabaseName is the initial database; default "tenants".
	DatabaseName string
	// SubnetGroupName places the instance in isolated subnets. Required.
	SubnetGroupName pulumi.StringInput
	// SecurityGroupIDs admit clients (the node group only). Required.
	SecurityGroupIDs pulumi.StringArrayInput
	// SlowStatementMs logs statements slower than this; default 500.
	SlowStatementMs int
	// LogRetentionDays for the PostgreSQL log groups; default 30.
	LogRetentionDays int
}

func (a *DatabaseArgs) withDefaults() (DatabaseArgs, error) {
	out := *a
	if out.AllocatedStorageGB == 0 {
		out.AllocatedStorageGB = 20
	}
	if out.MaxAllocatedStorageGB == 0 {
		out.MaxAllocatedStorageGB = 5 * out.AllocatedStorageGB
	}
	if out.BackupRetentionDays == 0 {
		out.BackupRetentionDays = 7
	}
	if out.DatabaseName == "" {
		out.DatabaseName = "tenants"
	}
	if out.SlowStatementMs == 0 {
		out.SlowStatementMs = 500
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	switch {
	case out.Identifier == "":
		return out, fmt.Errorf("DatabaseArgs.Identifier: required")
	case !strings.HasPrefix(out.InstanceClass, "db."):
		return out, fmt.Errorf("DatabaseArgs.InstanceClass: %q is not an RDS class (db.*)", out.InstanceClass)
	case out.EngineVersion == "":
		return out, fmt.Errorf("DatabaseArgs.EngineVersion: required (a major such as 16)")
	case strings.Contains(out.EngineVersion, ".") && !out.PinMinorVersion:
		// pulumi-aws's rds.Instance documents prefixes for this case:
		// "If autoMinorVersionUpgrade is enabled, you can provide a prefix
		// of the version such as 8.0 (for 8.0.36)".
		return out, fmt.Errorf("DatabaseArgs.EngineVersion: %q pins a minor version while AWS upgrades minors; give the major (%q) or set PinMinorVersion",
			out.EngineVersion, strings.Split(out.EngineVersion, ".")[0])
	case !strings.Contains(out.EngineVersion, ".") && out.PinMinorVersion:
		return out, fmt.Errorf("DatabaseArgs.EngineVersion: PinMinorVersion needs a major.minor version, not %q", out.EngineVersion)
	case out.BackupRetentionDays < 7 || out.BackupRetentionDays > 35:
		return out, fmt.Errorf("DatabaseArgs.BackupRetentionDays: %d is out of range 7-35", out.BackupRetentionDays)
	case out.MaxAllocatedStorageGB < out.AllocatedStorageGB:
		return out, fmt.Errorf("DatabaseArgs.MaxAllocatedStorageGB: below AllocatedStorageGB")
	case out.SubnetGroupName == nil || out.SecurityGroupIDs == nil:
		return out, fmt.Errorf("DatabaseArgs.SubnetGroupName and SecurityGroupIDs: required")
	}
	return out, nil
}

// Database is a Multi-AZ PostgreSQL instance, encrypted with its own KMS key,
// whose master password lives in Secrets Manager (rotated by RDS).
type Database struct {
	pulumi.ResourceState

	Address pulumi.StringOutput `pulumi:"address"`
	Port    pulumi.IntOutput    `pulumi:"port"`
	// SecretArn is the Secrets Manager secret holding the master credentials.
	SecretArn    pulumi.StringOutput `pulumi:"secretArn"`
	InstanceID   pulumi.StringOutput `pulumi:"instanceId"`
	InstanceArn  pulumi.StringOutput `pulumi:"instanceArn"`
	KmsKeyArn    pulumi.StringOutput `pulumi:"kmsKeyArn"`
	DatabaseName pulumi.StringOutput `pulumi:"databaseName"`
}

// NewDatabase creates a Database.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Database{}
	if err := ctx.RegisterComponentResource("platform:components:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	key, err := newKey(ctx, name+"-db", "RDS storage, Performance Insights and master secret of "+a.Identifier, parent)
	if err != nil {
		return nil, err
	}
	major, _, _ := strings.Cut(a.EngineVersion, ".")
	params, err := rds.NewParameterGroup(ctx, name+"-pg", &rds.ParameterGroupArgs{
		Family:      pulumi.String("postgres" + major),
		Description: pulumi.String("TLS only, slow statement logging"),
		Parameters: rds.ParameterGroupParameterArray{
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.Sprintf("%d", a.SlowStatementMs)},
			&rds.ParameterGroupParameterArgs{Name: pulumi.String("log_connections"), Value: pulumi.String("1")},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	// RDS creates its log groups on first export with no expiry; creating
	// them first gives them a retention.
	logExports := []string{"postgresql", "upgrade"}
	var logGroups []pulumi.Resource
	for _, l := range logExports {
		g, err := cloudwatch.NewLogGroup(ctx, name+"-log-"+l, &cloudwatch.LogGroupArgs{
			Name:            pulumi.String("/aws/rds/instance/" + a.Identifier + "/" + l),
			RetentionInDays: pulumi.Int(a.LogRetentionDays),
		}, parent)
		if err != nil {
			return nil, err
		}
		logGroups = append(logGroups, g)
	}

	instanceArgs := &rds.InstanceArgs{
		Identifier:            pulumi.String(a.Identifier),
		Engine:                pulumi.String("postgres"),
		EngineVersion:         pulumi.String(a.EngineVersion),
		InstanceClass:         pulumi.String(a.InstanceClass),
		DbName:                pulumi.String(a.DatabaseName),
		Username:              pulumi.String("platform_admin"),
		AllocatedStorage:      pulumi.Int(a.AllocatedStorageGB),
		MaxAllocatedStorage:   pulumi.Int(a.MaxAllocatedStorageGB),
		StorageType:           pulumi.String("gp3"),
		StorageEncrypted:      pulumi.Bool(true),
		KmsKeyId:              key.Arn,
		MultiAz:               pulumi.Bool(true),
		DbSubnetGroupName:     a.SubnetGroupName,
		VpcSecurityGroupIds:   a.SecurityGroupIDs,
		PubliclyAccessible:    pulumi.Bool(false),
		ParameterGroupName:    params.Name,
		BackupRetentionPeriod: pulumi.Int(a.BackupRetentionDays),
		BackupWindow:          pulumi.String("03:00-04:00"),
		MaintenanceWindow:     pulumi.String("sun:04:30-sun:05:30"),
		CopyTagsToSnapshot:    pulumi.Bool(true),
		// The master password never passes through Pulumi: RDS generates it
		// into Secrets Manager and rotates it.
		ManageMasterUserPassword:           pulumi.Bool(true),
		MasterUserSecretKmsKeyId:           key.Arn,
		IamDatabaseAuthenticationEnabled:   pulumi.Bool(true),
		PerformanceInsightsEnabled:         pulumi.Bool(true),
		PerformanceInsightsKmsKeyId:        key.Arn,
		PerformanceInsightsRetentionPeriod: pulumi.Int(7), // free tier
		EnabledCloudwatchLogsExports:       pulumi.ToStringArray(logExports),
		AutoMinorVersionUpgrade:            pulumi.Bool(!a.PinMinorVersion),
		DeletionProtection:                 pulumi.Bool(!a.AllowDeletion),
		SkipFinalSnapshot:                  pulumi.Bool(a.AllowDeletion),
	}
	if !a.AllowDeletion {
		instanceArgs.FinalSnapshotIdentifier = pulumi.String(a.Identifier + "-final")
	}
	db, err := rds.NewInstance(ctx, name, instanceArgs, parent, pulumi.DependsOn(logGroups))
	if err != nil {
		return nil, err
	}

	d.Address = db.Address
	d.Port = db.Port
	d.SecretArn = db.MasterUserSecrets.ApplyT(func(s []rds.InstanceMasterUserSecret) string {
		if len(s) == 0 || s[0].SecretArn == nil {
			return ""
		}
		return *s[0].SecretArn
	}).(pulumi.StringOutput)
	d.InstanceID = db.Identifier
	d.InstanceArn = db.Arn
	d.KmsKeyArn = key.Arn
	d.DatabaseName = pulumi.String(a.DatabaseName).ToStringOutput()
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"address":      d.Address,
		"port":         d.Port,
		"secretArn":    d.SecretArn,
		"instanceId":   d.InstanceID,
		"instanceArn":  d.InstanceArn,
		"kmsKeyArn":    d.KmsKeyArn,
		"databaseName": d.DatabaseName,
	})
}
