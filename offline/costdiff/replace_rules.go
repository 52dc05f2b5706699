package costdiff

import "github.com/tenantco/platform/internal/replaceonly"

// The replace-only inputs of the resources whose replacement matters: what
// holds data or carries traffic. pulumi-aws v6 bridges terraform-provider-aws,
// so an input forces a replacement when its schema says ForceNew, or when a
// CustomizeDiff forces it for some values (those are the conditional rules
// below, each with the condition the provider applies). Paths are the
// camelCase Pulumi input names, "." between nested objects (the provider's
// one-element blocks are objects in Pulumi).
//
// Sources, read in hashicorp/terraform-provider-aws (the v5 line that
// pulumi-aws v6 bridges, and newer where the v5 file was not to be had; a
// difference between them is noted where it matters):
//
//	internal/service/rds/instance.go               aws_db_instance
//	internal/service/elasticache/replication_group.go, engine_version.go
//	internal/service/eks/node_group.go             (replaceonly.NodeGroup)
//	internal/service/eks/cluster.go
//	internal/service/ec2/vpc_nat_gateway.go
//	internal/service/ec2/vpc_subnet.go
//	internal/service/elbv2/load_balancer.go
//	internal/service/kms/key.go
//
// and hashicorp/terraform-provider-random internal/provider/resource_id.go
// (pulumi-random bridges it). The pulumi-eks v2.8.1 components are mapped to
// the child they create (nodejs/eks/cluster.ts createCore, nodejs/eks/
// nodegroup.ts createManagedNodeGroupInternal): see childInputs.

// Input is one replace-only input.
type Input struct {
	Path string
	// Set: a set in the provider's schema, so order does not matter.
	Set bool
	// Computed: Optional+Computed. Leaving the input out keeps what the
	// resource has (no change); setting it where it was left out replaces
	// the resource unless the value equals what the provider computed.
	Computed bool
	// Default is what the provider uses when the input is left out.
	Default any
}

// Rules is what forces a replacement of one resource type.
type Rules struct {
	// Kind names the resource for people ("database", "node group").
	Kind string
	// Critical: a replacement loses data or the whole platform; in prod it
	// fails the check unless the pull request carries the override label.
	Critical bool
	// Shown: listed in the comment. Link types (random ids) are not shown;
	// their replacement only changes what references them.
	Shown bool
	// Source is the file whose schema lists Inputs.
	Source string
	// Inputs are the ForceNew inputs.
	Inputs []Input
	// Conditional are inputs a CustomizeDiff makes replace-only for some
	// changes only.
	Conditional []Conditional
	// NamePaths hold the resource's physical name. A replacement whose
	// name changes can create the new resource before deleting the old
	// (Pulumi's default); one whose name stays cannot.
	NamePaths []string
	// InPlace notes what an in-place change of an input still means
	// (what AWS refuses, what moves), for inputs a reader may expect to be
	// replace-only.
	InPlace map[string]string
	// Child is the type whose Rules apply to a component's mapped inputs
	// (see childInputs); "" for plain resources.
	Child string
}

// Conditional is an input a CustomizeDiff forces to replace for some changes.
type Conditional struct {
	Path string
	// When says, for people, which changes replace.
	When string
	// Decide judges one change of Path: Replace, MayReplace or Update.
	Decide func(c change) Outcome
}

// Resource types of the pulumi-eks components and of their children.
const (
	typeRDS          = "aws:rds/instance:Instance"
	typeCache        = "aws:elasticache/replicationGroup:ReplicationGroup"
	typeEKSCluster   = "aws:eks/cluster:Cluster"
	typeClusterComp  = "eks:index:Cluster"
	typeNodeGroup    = replaceonly.NodeGroupType
	typeNodeGroupMNG = "eks:index:ManagedNodeGroup"
	typeNAT          = "aws:ec2/natGateway:NatGateway"
	typeSubnet       = "aws:ec2/subnet:Subnet"
	typeLB           = "aws:lb/loadBalancer:LoadBalancer"
	typeKMSKey       = "aws:kms/key:Key"
	typeRandomID     = "random:index/randomId:RandomId"
)

// ReplaceRules is the table: resource type -> what replaces it.
var ReplaceRules = map[string]Rules{
	typeRDS: {
		Kind: "database", Critical: true, Shown: true,
		Source: "terraform-provider-aws internal/service/rds/instance.go",
		Inputs: []Input{
			{Path: "availabilityZone", Computed: true},
			{Path: "backupTarget", Computed: true},
			{Path: "characterSetName", Computed: true},
			{Path: "customIamInstanceProfile"},
			{Path: "dbName", Computed: true},
			{Path: "engine", Computed: true},
			{Path: "kmsKeyId", Computed: true},
			{Path: "ncharCharacterSetName", Computed: true},
			{Path: "restoreToPointInTime"},
			{Path: "s3Import.bucketName"},
			{Path: "s3Import.bucketPrefix"},
			{Path: "s3Import.ingestionRole"},
			{Path: "s3Import.sourceEngine"},
			{Path: "s3Import.sourceEngineVersion"},
			{Path: "snapshotIdentifier", Computed: true},
			{Path: "storageEncrypted"},
			{Path: "timezone", Computed: true},
			{Path: "username", Computed: true},
		},
		NamePaths: []string{"identifier", "identifierPrefix"},
		// Neither is ForceNew and the resource's CustomizeDiff only
		// validates blue/green updates: RDS decides at apply time.
		InPlace: map[string]string{
			"engineVersion": "in place (ModifyDBInstance): RDS refuses a downgrade, and a major upgrade needs allowMajorVersionUpgrade",
			"storageType":   "in place (ModifyDBInstance), not replace-only in this provider",
			"identifier":    "renamed in place: the endpoint address changes with it",
		},
	},
	typeCache: {
		Kind: "cache", Critical: true, Shown: true,
		Source: "terraform-provider-aws internal/service/elasticache/replication_group.go",
		Inputs: []Input{
			{Path: "atRestEncryptionEnabled", Computed: true},
			{Path: "dataTieringEnabled", Computed: true},
			{Path: "globalReplicationGroupId", Computed: true},
			{Path: "kmsKeyId"},
			{Path: "networkType", Computed: true},
			{Path: "port"},
			{Path: "replicationGroupId"},
			{Path: "securityGroupNames", Set: true, Computed: true},
			{Path: "snapshotArns", Set: true},
			{Path: "snapshotName"},
			{Path: "subnetGroupName", Computed: true},
		},
		Conditional: []Conditional{
			{Path: "engineVersion", When: "a downgrade (elasticache/engine_version.go customizeDiffEngineVersionForceNewOnDowngrade)", Decide: decideDowngrade},
			{Path: "engine", When: "any change but redis to valkey (customizeDiffEngineForceNewOnDowngrade)", Decide: decideCacheEngine},
			{Path: "transitEncryptionEnabled", When: "a change while the running version is below 7.0.5", Decide: decideTransitEncryption},
			{Path: "nodeGroupConfigurations", When: "a significant change of the shard layout", Decide: decideMay},
		},
		NamePaths: []string{"replicationGroupId"},
	},
	typeNodeGroup: {
		Kind: "node group", Shown: true,
		Source:    "terraform-provider-aws internal/service/eks/node_group.go (replaceonly.NodeGroup)",
		Inputs:    nodeGroupInputs(replaceonly.NodeGroup),
		NamePaths: []string{"nodeGroupName", "nodeGroupNamePrefix"},
	},
	typeNodeGroupMNG: {Kind: "node group", Shown: true, Child: typeNodeGroup,
		Source: "pulumi-eks v2.8.1 nodejs/eks/nodegroup.ts createManagedNodeGroupInternal"},
	typeEKSCluster: {
		Kind: "cluster", Critical: true, Shown: true,
		Source: "terraform-provider-aws internal/service/eks/cluster.go",
		Inputs: []Input{
			{Path: "accessConfig.bootstrapClusterCreatorAdminPermissions", Default: true},
			{Path: "bootstrapSelfManagedAddons", Default: true},
			{Path: "kubernetesNetworkConfig.ipFamily", Computed: true},
			{Path: "kubernetesNetworkConfig.serviceIpv4Cidr", Computed: true},
			{Path: "name"},
			{Path: "outpostConfig.controlPlaneInstanceType"},
			{Path: "outpostConfig.controlPlanePlacement.groupName"},
			{Path: "remoteNetworkConfig"},
			{Path: "roleArn"},
		},
		Conditional: []Conditional{
			{Path: "encryptionConfig", When: "removing envelope encryption (ForceNewIfChange: it cannot be disabled)", Decide: decideRemoved},
			{Path: "computeConfig.nodeRoleArn", When: "changing a role that was set", Decide: decideChangedFromSet},
		},
		NamePaths: []string{"name"},
		InPlace: map[string]string{
			"version":                         "upgraded in place, one minor version at a time; EKS refuses a downgrade",
			"encryptionConfig":                "EKS cannot change the key of an encrypted cluster: the update fails at apply",
			"vpcConfig.subnetIds":             "in place since provider v5.25 (the subnets must stay in the cluster's VPC)",
			"accessConfig.authenticationMode": "in place, only towards API (CONFIG_MAP, API_AND_CONFIG_MAP, API); EKS refuses the way back",
		},
	},
	typeClusterComp: {Kind: "cluster", Critical: true, Shown: true, Child: typeEKSCluster,
		Source: "pulumi-eks v2.8.1 nodejs/eks/cluster.ts createCore"},
	typeNAT: {
		Kind: "NAT gateway", Shown: true,
		Source: "terraform-provider-aws internal/service/ec2/vpc_nat_gateway.go",
		Inputs: []Input{
			{Path: "allocationId"},
			{Path: "connectivityType", Default: "public"},
			{Path: "privateIp", Computed: true},
			{Path: "secondaryPrivateIpAddressCount", Computed: true},
			{Path: "subnetId"},
		},
	},
	typeSubnet: {
		Kind: "subnet", Shown: true,
		Source: "terraform-provider-aws internal/service/ec2/vpc_subnet.go",
		Inputs: []Input{
			{Path: "availabilityZone", Computed: true},
			{Path: "availabilityZoneId", Computed: true},
			{Path: "cidrBlock", Computed: true},
			{Path: "ipv4IpamPoolId"},
			{Path: "ipv4NetmaskLength"},
			{Path: "ipv6IpamPoolId"},
			{Path: "ipv6Native", Default: false},
			{Path: "ipv6NetmaskLength"},
			{Path: "outpostArn"},
			{Path: "vpcId"},
		},
		Conditional: []Conditional{
			{Path: "ipv6CidrBlock", When: "a change of a block the subnet assigns on creation (assignIpv6AddressOnCreation)", Decide: decideSubnetIPv6},
		},
	},
	typeLB: {
		Kind: "load balancer", Shown: true,
		Source: "terraform-provider-aws internal/service/elbv2/load_balancer.go",
		Inputs: []Input{
			{Path: "customerOwnedIpv4Pool"},
			{Path: "internal", Computed: true},
			{Path: "loadBalancerType", Default: "application"},
			{Path: "name", Computed: true},
			{Path: "namePrefix", Computed: true},
		},
		Conditional: []Conditional{
			{Path: "subnets", When: "a network load balancer losing or swapping subnets (customizeDiffLoadBalancerNLB)", Decide: decideLBSubnets},
			{Path: "subnetMappings", When: "a mapping that changes rather than is only added (customizeDiffLoadBalancerALB/NLB)", Decide: decideLBSubnetMappings},
			{Path: "securityGroups", When: "a network load balancer gaining its first or losing all security groups", Decide: decideLBSecurityGroups},
		},
		NamePaths: []string{"name", "namePrefix"},
	},
	typeKMSKey: {
		Kind: "KMS key", Shown: true,
		Source: "terraform-provider-aws internal/service/kms/key.go",
		Inputs: []Input{
			{Path: "customKeyStoreId"},
			{Path: "customerMasterKeySpec", Default: "SYMMETRIC_DEFAULT"},
			{Path: "keyUsage", Default: "ENCRYPT_DECRYPT"},
			{Path: "multiRegion", Computed: true},
			{Path: "xksKeyId"},
		},
	},
	typeRandomID: {
		Kind:   "random id",
		Source: "terraform-provider-random internal/provider/resource_id.go (keepers: RequiresReplaceIfValuesNotNull)",
		Inputs: []Input{
			{Path: "byteLength"},
			{Path: "keepers"},
			{Path: "prefix"},
		},
	},
}

// nodeGroupInputs annotates the node group's replace-only inputs (the list
// the program keys the group's name with) with their schema: subnet_ids is
// a set; these are Optional+Computed.
func nodeGroupInputs(keys []string) []Input {
	computed := map[string]bool{
		"amiType": true, "capacityType": true, "diskSize": true, "instanceTypes": true,
		"launchTemplate.id": true, "launchTemplate.name": true, "nodeGroupName": true, "nodeGroupNamePrefix": true,
	}
	out := make([]Input, 0, len(keys))
	for _, k := range keys {
		out = append(out, Input{Path: k, Set: k == "subnetIds", Computed: computed[k]})
	}
	return out
}
