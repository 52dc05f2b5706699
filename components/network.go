package components

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkArgs configures a Network.
type NetworkArgs struct {
	// CidrBlock is the VPC's IPv4 network, /16 to /18. Required.
	CidrBlock string
	// ZoneIDs are the availability zones by ID (use1-az1), 2 or 3. Zone
	// names map to different physical zones in every account, so subnets
	// are placed by ID. Each zone gets a public, a private (nodes) and an
	// isolated database subnet. Required.
	ZoneIDs []string
	// SingleNATGateway puts one NAT gateway in the first zone instead of one
	// per zone: cheaper, but that zone becomes a single point of failure for
	// egress. Default false (one per zone).
	SingleNATGateway bool
	// FlowLogRetentionDays is the retention of the VPC flow log group.
	// Default 90.
	FlowLogRetentionDays int
	// Region is used to name the S3 gateway endpoint service. Required.
	Region string
}

func (a *NetworkArgs) withDefaults() (NetworkArgs, error) {
	out := *a
	if out.FlowLogRetentionDays == 0 {
		out.FlowLogRetentionDays = 90
	}
	pfx, err := netip.ParsePrefix(out.CidrBlock)
	switch {
	case err != nil || !pfx.Addr().Is4() || pfx.Bits() < 16 || pfx.Bits() > 18:
		return out, fmt.Errorf("NetworkArgs.CidrBlock: %q must be an IPv4 network of size /16 to /18", out.CidrBlock)
	case len(out.ZoneIDs) < 2 || len(out.ZoneIDs) > 3:
		return out, fmt.Errorf("NetworkArgs.ZoneIDs: %d zones given; use 2 or 3", len(out.ZoneIDs))
	case out.Region == "":
		return out, fmt.Errorf("NetworkArgs.Region: required")
	}
	return out, nil
}

// Network is a VPC with public, private and isolated database subnets in
// each zone, NAT egress for the private subnets, flow logs, an S3 gateway
// endpoint and the subnet groups RDS and ElastiCache need.
type Network struct {
	pulumi.ResourceState

	VpcID                pulumi.IDOutput          `pulumi:"vpcId"`
	PublicSubnetIDs      pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIDs     pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	DatabaseSubnetIDs    pulumi.StringArrayOutput `pulumi:"databaseSubnetIds"`
	DBSubnetGroupName    pulumi.StringOutput      `pulumi:"dbSubnetGroupName"`
	CacheSubnetGroupName pulumi.StringOutput      `pulumi:"cacheSubnetGroupName"`
	NATGatewayIDs        pulumi.StringArrayOutput `pulumi:"natGatewayIds"`
	// CidrBlock and DatabaseCIDRs are known when the program runs (the
	// layout is computed here), so policies can be built from them.
	CidrBlock     string   `pulumi:"-"`
	DatabaseCIDRs []string `pulumi:"-"`
}

// subnet layout within the VPC network (N = VPC prefix length):
//   - public   /N+8, netnums 0..2     (small: load balancers and NAT only)
//   - database /N+8, netnums 10..12   (isolated, no route out)
//   - private  /N+4, netnums 1..3     (nodes and pods: the VPC CNI gives every
//     pod a VPC address, so these are the large ones)
//
// The first /N+4 block holds the public and database subnets, so nothing overlaps.
const (
	publicNetnum   = 0
	databaseNetnum = 10
	privateNetnum  = 1
)

// NewNetwork creates a Network.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	vpcPrefix := netip.MustParsePrefix(a.CidrBlock)

	n := &Network{}
	if err := ctx.RegisterComponentResource("platform:components:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)

	vpc, err := ec2.NewVpc(ctx, name+"-vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(a.CidrBlock),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               nameTag(name + "-vpc"),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Adopting the default security group with no rules strips the
	// allow-all rules AWS puts on it, so nothing can fall back to it.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag(name + "-default-sg-unused"),
	}, parent); err != nil {
		return nil, err
	}
	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag(name + "-igw"),
	}, parent)
	if err != nil {
		return nil, err
	}

	publicRT, err := ec2.NewRouteTable(ctx, name+"-public-rt", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag(name + "-public"),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRoute(ctx, name+"-public-default", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, parent); err != nil {
		return nil, err
	}
	dbRT, err := ec2.NewRouteTable(ctx, name+"-database-rt", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag(name + "-database"),
	}, parent)
	if err != nil {
		return nil, err
	}

	var publicIDs, privateIDs, dbIDs, natIDs, privateRTIDs pulumi.StringArray
	var nats []*ec2.NatGateway
	for i, zone := range a.ZoneIDs {
		// use1-az1 -> -az1: names stay tied to the physical zone.
		suffix := zone[strings.LastIndex(zone, "-"):]
		pub, err := newSubnet(ctx, name+"-public"+suffix, vpc, zone, cidrSubnet(vpcPrefix, 8, publicNetnum+i),
			map[string]string{"kubernetes.io/role/elb": "1", "tier": "public"}, parent)
		if err != nil {
			return nil, err
		}
		priv, err := newSubnet(ctx, name+"-private"+suffix, vpc, zone, cidrSubnet(vpcPrefix, 4, privateNetnum+i),
			map[string]string{"kubernetes.io/role/internal-elb": "1", "tier": "private"}, parent)
		if err != nil {
			return nil, err
		}
		dbCIDR := cidrSubnet(vpcPrefix, 8, databaseNetnum+i)
		n.DatabaseCIDRs = append(n.DatabaseCIDRs, dbCIDR.String())
		db, err := newSubnet(ctx, name+"-database"+suffix, vpc, zone, dbCIDR,
			map[string]string{"tier": "database"}, parent)
		if err != nil {
			return nil, err
		}
		publicIDs = append(publicIDs, pub.ID().ToStringOutput())
		privateIDs = append(privateIDs, priv.ID().ToStringOutput())
		dbIDs = append(dbIDs, db.ID().ToStringOutput())

		if _, err := ec2.NewRouteTableAssociation(ctx, name+"-public"+suffix, &ec2.RouteTableAssociationArgs{
			SubnetId: pub.ID(), RouteTableId: publicRT.ID(),
		}, parent); err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, name+"-database"+suffix, &ec2.RouteTableAssociationArgs{
			SubnetId: db.ID(), RouteTableId: dbRT.ID(),
		}, parent); err != nil {
			return nil, err
		}

		if i == 0 || !a.SingleNATGateway {
			eip, err := ec2.NewEip(ctx, name+"-nat"+suffix, &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   nameTag(name + "-nat" + suffix),
			}, parent)
			if err != nil {
				return nil, err
			}
			nat, err := ec2.NewNatGateway(ctx, name+"-nat"+suffix, &ec2.NatGatewayArgs{
				AllocationId: eip.ID(),
				SubnetId:     pub.ID(),
				Tags:         nameTag(name + "-nat" + suffix),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, err
			}
			nats = append(nats, nat)
			natIDs = append(natIDs, nat.ID().ToStringOutput())
		}
		// Each zone's private subnets leave through their own zone's NAT
		// (or the single one), so a zone outage does not cut the others off.
		nat := nats[len(nats)-1]
		rt, err := ec2.NewRouteTable(ctx, name+"-private-rt"+suffix, &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  nameTag(name + "-private" + suffix),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := ec2.NewRoute(ctx, name+"-private-default"+suffix, &ec2.RouteArgs{
			RouteTableId:         rt.ID(),
			DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
			NatGatewayId:         nat.ID(),
		}, parent); err != nil {
			return nil, err
		}
		if _, err := ec2.NewRouteTableAssociation(ctx, name+"-private"+suffix, &ec2.RouteTableAssociationArgs{
			SubnetId: priv.ID(), RouteTableId: rt.ID(),
		}, parent); err != nil {
			return nil, err
		}
		privateRTIDs = append(privateRTIDs, rt.ID().ToStringOutput())
	}

	// S3 traffic (ECR image layers, backups) stays off the NAT gateways,
	// which bill per GB.
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.String("com.amazonaws." + a.Region + ".s3"),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   privateRTIDs,
		Tags:            nameTag(name + "-s3"),
	}, parent); err != nil {
		return nil, err
	}

	if err := newFlowLogs(ctx, name, vpc, a.FlowLogRetentionDays, parent); err != nil {
		return nil, err
	}

	dbSubnets, err := rds.NewSubnetGroup(ctx, name+"-db", &rds.SubnetGroupArgs{
		SubnetIds:   dbIDs,
		Description: pulumi.String("isolated database subnets of " + name),
	}, parent)
	if err != nil {
		return nil, err
	}
	cacheSubnets, err := elasticache.NewSubnetGroup(ctx, name+"-cache", &elasticache.SubnetGroupArgs{
		SubnetIds:   dbIDs,
		Description: pulumi.String("isolated cache subnets of " + name),
	}, parent)
	if err != nil {
		return nil, err
	}

	n.VpcID = vpc.ID()
	n.CidrBlock = a.CidrBlock
	n.PublicSubnetIDs = publicIDs.ToStringArrayOutput()
	n.PrivateSubnetIDs = privateIDs.ToStringArrayOutput()
	n.DatabaseSubnetIDs = dbIDs.ToStringArrayOutput()
	n.DBSubnetGroupName = dbSubnets.Name
	n.CacheSubnetGroupName = cacheSubnets.Name
	n.NATGatewayIDs = natIDs.ToStringArrayOutput()
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":                n.VpcID,
		"publicSubnetIds":      n.PublicSubnetIDs,
		"privateSubnetIds":     n.PrivateSubnetIDs,
		"databaseSubnetIds":    n.DatabaseSubnetIDs,
		"dbSubnetGroupName":    n.DBSubnetGroupName,
		"cacheSubnetGroupName": n.CacheSubnetGroupName,
		"natGatewayIds":        n.NATGatewayIDs,
	})
}

func newSubnet(ctx *pulumi.Context, name string, vpc *ec2.Vpc, zoneID string, cidr netip.Prefix,
	tags map[string]string, opts ...pulumi.ResourceOption) (*ec2.Subnet, error) {
	t := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range tags {
		t[k] = pulumi.String(v)
	}
	return ec2.NewSubnet(ctx, name, &ec2.SubnetArgs{
		VpcId:              vpc.ID(),
		AvailabilityZoneId: pulumi.String(zoneID),
		CidrBlock:          pulumi.String(cidr.String()),
		// Nothing gets a public address by accident: load balancers and
		// NAT gateways bring their own.
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                t,
	}, opts...)
}

// newFlowLogs sends all VPC traffic metadata to a log group with retention,
// through a role that may write to that group only.
func newFlowLogs(ctx *pulumi.Context, name string, vpc *ec2.Vpc, retention int, opts ...pulumi.ResourceOption) error {
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		RetentionInDays: pulumi.Int(retention),
	}, opts...)
	if err != nil {
		return err
	}
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(mustJSON(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "vpc-flow-logs.amazonaws.com"},
				"Action":    "sts:AssumeRole",
			}},
		})),
	}, opts...)
	if err != nil {
		return err
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: group.Arn.ApplyT(func(arn string) (string, error) {
			return jsonString(map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{
					map[string]any{
						"Effect":   "Allow",
						"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
						"Resource": []string{arn, arn + ":*"},
					},
					// The flow-logs service checks the destination group
					// exists with DescribeLogGroups, a list call without
					// resource-level permissions ("IAM role for publishing
					// flow logs to CloudWatch Logs", VPC User Guide).
					map[string]any{"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
				},
			})
		}).(pulumi.StringOutput),
	}, opts...); err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, name+"-flow-logs", &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String("ALL"),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     group.Arn,
		IamRoleArn:         role.Arn,
		Tags:               nameTag(name + "-flow-logs"),
	}, opts...)
	return err
}

// cidrSubnet is Terraform's cidrsubnet: the netnum-th network of prefix
// length base.Bits()+newBits inside base.
func cidrSubnet(base netip.Prefix, newBits, netnum int) netip.Prefix {
	bits := base.Bits() + newBits
	a := base.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= uint32(netnum) << (32 - bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits)
}
