package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PublicLoadBalancerRole is the tag value (key NetworkRoleTag) that marks the
// one ingress rule allowed from the whole internet. The guardrail policy
// sg-no-world-ingress accepts 0.0.0.0/0 only on a tcp/443 rule carrying it.
const (
	NetworkRoleTag         = "network-role"
	PublicLoadBalancerRole = "public-load-balancer"
)

// SecurityGroupsArgs configures SecurityGroups.
type SecurityGroupsArgs struct {
	// VpcID is the VPC the groups belong to. Required.
	VpcID pulumi.StringInput
	// ServicePort is the node port the load balancer forwards to. Required.
	ServicePort int
	// PostgresPort and RedisPort default to 5432 and 6379.
	PostgresPort int
	RedisPort    int
}

func (a *SecurityGroupsArgs) withDefaults() (SecurityGroupsArgs, error) {
	out := *a
	if out.PostgresPort == 0 {
		out.PostgresPort = 5432
	}
	if out.RedisPort == 0 {
		out.RedisPort = 6379
	}
	switch {
	case out.VpcID == nil:
		return out, fmt.Errorf("SecurityGroupsArgs.VpcID: required")
	case out.ServicePort < 1 || out.ServicePort > 65535:
		return out, fmt.Errorf("SecurityGroupsArgs.ServicePort: %d is not a port", out.ServicePort)
	}
	return out, nil
}

// SecurityGroups is the chain internet → load balancer (443) → nodes
// (service port) → database (5432) and cache (6379). Every rule but the
// load balancer's 443 names a source group, never a CIDR.
type SecurityGroups struct {
	pulumi.ResourceState

	LoadBalancerID pulumi.IDOutput `pulumi:"loadBalancerSecurityGroupId"`
	NodesID        pulumi.IDOutput `pulumi:"nodesSecurityGroupId"`
	DatabaseID     pulumi.IDOutput `pulumi:"databaseSecurityGroupId"`
	CacheID        pulumi.IDOutput `pulumi:"cacheSecurityGroupId"`
}

// NewSecurityGroups creates the groups and their rules.
func NewSecurityGroups(ctx *pulumi.Context, name string, args *SecurityGroupsArgs, opts ...pulumi.ResourceOption) (*SecurityGroups, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &SecurityGroups{}
	if err := ctx.RegisterComponentResource("platform:components:SecurityGroups", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)

	group := func(role, description string) (*ec2.SecurityGroup, error) {
		// No inline rules: the provider then removes AWS's default
		// allow-all egress, and every rule below is its own resource.
		return ec2.NewSecurityGroup(ctx, name+"-"+role, &ec2.SecurityGroupArgs{
			VpcId:       a.VpcID,
			Description: pulumi.String(description),
			Tags:        nameTag(name + "-" + role),
		}, parent)
	}
	lb, err := group("lb", "public load balancer: 443 from the internet, to nodes on the service port")
	if err != nil {
		return nil, err
	}
	nodes, err := group("nodes", "EKS nodes: service port from the load balancer")
	if err != nil {
		return nil, err
	}
	db, err := group("db", "PostgreSQL: 5432 from the nodes only")
	if err != nil {
		return nil, err
	}
	cache, err := group("cache", "Redis: 6379 from the nodes only")
	if err != nil {
		return nil, err
	}

	tcp := pulumi.String("tcp")
	ingress := func(rname string, to *ec2.SecurityGroup, port int, from *ec2.SecurityGroup, desc string) error {
		_, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-"+rname, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           to.ID(),
			ReferencedSecurityGroupId: from.ID(),
			IpProtocol:                tcp,
			FromPort:                  pulumi.Int(port),
			ToPort:                    pulumi.Int(port),
			Description:               pulumi.String(desc),
		}, parent)
		return err
	}
	if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-lb-https", &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: lb.ID(),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		IpProtocol:      tcp,
		FromPort:        pulumi.Int(443),
		ToPort:          pulumi.Int(443),
		Description:     pulumi.String("HTTPS from the internet"),
		Tags:            pulumi.StringMap{NetworkRoleTag: pulumi.String(PublicLoadBalancerRole)},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-lb-to-nodes", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           lb.ID(),
		ReferencedSecurityGroupId: nodes.ID(),
		IpProtocol:                tcp,
		FromPort:                  pulumi.Int(a.ServicePort),
		ToPort:                    pulumi.Int(a.ServicePort),
		Description:               pulumi.String("to the service on the nodes"),
	}, parent); err != nil {
		return nil, err
	}
	if err := ingress("nodes-from-lb", nodes, a.ServicePort, lb, "service port from the load balancer"); err != nil {
		return nil, err
	}
	// Nodes reach AWS APIs, ECR and the database through this group; egress
	// to the internet goes through the NAT gateways.
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-nodes-egress", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: nodes.ID(),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		IpProtocol:      pulumi.String("-1"),
		Description:     pulumi.String("node egress (AWS APIs, image pulls) through NAT"),
	}, parent); err != nil {
		return nil, err
	}
	if err := ingress("db-from-nodes", db, a.PostgresPort, nodes, "PostgreSQL from the nodes"); err != nil {
		return nil, err
	}
	if err := ingress("cache-from-nodes", cache, a.RedisPort, nodes, "Redis from the nodes"); err != nil {
		return nil, err
	}

	s.LoadBalancerID, s.NodesID, s.DatabaseID, s.CacheID = lb.ID(), nodes.ID(), db.ID(), cache.ID()
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"loadBalancerSecurityGroupId": s.LoadBalancerID,
		"nodesSecurityGroupId":        s.NodesID,
		"databaseSecurityGroupId":     s.DatabaseID,
		"cacheSecurityGroupId":        s.CacheID,
	})
}
