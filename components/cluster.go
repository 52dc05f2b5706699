package components

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/internal/replaceonly"
)

// ClusterArgs configures a Cluster.
type ClusterArgs struct {
	// ClusterName is the EKS cluster name (also names its log group). Required.
	ClusterName string
	// Version is the Kubernetes version, e.g. "1.35". Required.
	Version string
	// VpcID, PrivateSubnetIDs (nodes, control-plane ENIs) and PublicSubnetIDs
	// (internet-facing load balancers). Required.
	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput
	PublicSubnetIDs  pulumi.StringArrayInput
	// PublicAccessCIDRs limit the public API endpoint; empty keeps the
	// endpoint private only. 0.0.0.0/0 is refused.
	PublicAccessCIDRs []string
	// AdminPrincipalARNs get cluster-admin through EKS access entries. The
	// identity that creates the cluster is admin already (pulumi-eks v2.8.1
	// sets bootstrapClusterCreatorAdminPermissions, nodejs/eks/cluster.ts,
	// not overridable: pulumi/pulumi-eks#2373), and EKS allows one entry per
	// principal, so the list must not repeat it, itself or DeployRoleArn.
	AdminPrincipalARNs []string
	// DeployRoleArn (optional) is the CI deploy role: it gets cluster-admin
	// too, since `pulumi up` from the pipeline deploys onto the cluster.
	DeployRoleArn pulumi.StringInput
	// ViewerRoleArn (optional) is the pull-request preview role: it gets
	// the read-only AmazonEKSViewPolicy so previews can diff the
	// Kubernetes part (the kubernetes provider falls back to a client-side
	// diff when a dry run is forbidden: pulumi-kubernetes v4.32.0
	// provider/pkg/provider/provider.go, Create/Update on IsForbidden).
	ViewerRoleArn pulumi.StringInput
	// NodeSecurityGroupID is attached to every node (with the cluster
	// security group EKS creates). Required.
	NodeSecurityGroupID pulumi.StringInput
	// InstanceTypes of the managed node group; one CPU architecture. Required.
	InstanceTypes []string
	// MinSize, DesiredSize, MaxSize of the node group. Required (MaxSize >= 1).
	MinSize, DesiredSize, MaxSize int
	// NodeDiskGB is each node's encrypted gp3 root volume; default 20.
	NodeDiskGB int
	// Arm selects the arm64 (Graviton) AMI.
	Arm bool
	// LogRetentionDays for control-plane logs; default 30.
	LogRetentionDays int
	// Tags for the node instances and volumes (default tags of the AWS
	// provider do not reach instances an autoscaling group launches).
	InstanceTags map[string]string
}

func (a *ClusterArgs) withDefaults() (ClusterArgs, error) {
	out := *a
	if out.NodeDiskGB == 0 {
		out.NodeDiskGB = 20
	}
	if out.LogRetentionDays == 0 {
		out.LogRetentionDays = 30
	}
	switch {
	case out.ClusterName == "" || out.Version == "":
		return out, fmt.Errorf("ClusterArgs.ClusterName and Version: required")
	case out.VpcID == nil || out.PrivateSubnetIDs == nil || out.PublicSubnetIDs == nil || out.NodeSecurityGroupID == nil:
		return out, fmt.Errorf("ClusterArgs.VpcID, PrivateSubnetIDs, PublicSubnetIDs and NodeSecurityGroupID: required")
	case len(out.InstanceTypes) == 0:
		return out, fmt.Errorf("ClusterArgs.InstanceTypes: list at least one instance type")
	case out.MaxSize < 1 || out.MinSize < 0 || out.MinSize > out.DesiredSize || out.DesiredSize > out.MaxSize:
		return out, fmt.Errorf("ClusterArgs sizes: need 0 <= MinSize (%d) <= DesiredSize (%d) <= MaxSize (%d), MaxSize >= 1", out.MinSize, out.DesiredSize, out.MaxSize)
	}
	if _, err := StandardCreditsFor(out.InstanceTypes); err != nil {
		return out, fmt.Errorf("ClusterArgs.InstanceTypes: %w", err)
	}
	seen := map[string]bool{}
	for _, arn := range out.AdminPrincipalARNs {
		if seen[arn] {
			return out, fmt.Errorf("ClusterArgs.AdminPrincipalARNs: %q is listed twice; EKS allows one access entry per principal (CreateAccessEntry answers 409 ResourceInUseException)", arn)
		}
		seen[arn] = true
	}
	for _, c := range out.PublicAccessCIDRs {
		if p, err := netip.ParsePrefix(c); err != nil || p.Bits() == 0 {
			return out, fmt.Errorf("ClusterArgs.PublicAccessCIDRs: %q is not a limited CIDR", c)
		}
	}
	return out, nil
}

// ControlPlaneLogTypes are all EKS control-plane log types; every one is on.
var ControlPlaneLogTypes = []string{"api", "audit", "authenticator", "controllerManager", "scheduler"}

// Cluster is an EKS cluster (API authentication, secrets encrypted with a
// KMS key, all control-plane logs, IRSA) with one managed node group over
// the private subnets, and a Kubernetes provider for deploying onto it.
type Cluster struct {
	pulumi.ResourceState

	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	// Kubeconfig is a secret: it names the cluster's endpoint and CA.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// OIDCProviderArn and OIDCIssuer (without https://) build IRSA trust.
	OIDCProviderArn pulumi.StringOutput `pulumi:"oidcProviderArn"`
	OIDCIssuer      pulumi.StringOutput `pulumi:"oidcIssuer"`
	// NodeGroupName is the node group's generated name: a new one whenever
	// a replace-only input changes, so a replacement is create-before-delete.
	NodeGroupName pulumi.StringOutput `pulumi:"nodeGroupName"`
	NodeRoleArn   pulumi.StringOutput `pulumi:"nodeRoleArn"`
	// NodeASGName is the node group's autoscaling group: the load
	// balancer's instance targets attach to it.
	NodeASGName pulumi.StringOutput `pulumi:"nodeAsgName"`
	// ClusterSecurityGroupID is the security group EKS creates for the
	// cluster: on the control plane's endpoint interfaces and on every node.
	// A client inside the VPC reaches the private endpoint when this group
	// admits it on 443 (the CI runner).
	ClusterSecurityGroupID pulumi.StringOutput `pulumi:"clusterSecurityGroupId"`

	// Provider deploys Kubernetes resources onto the cluster. It depends on
	// the node group and the vpc-cni add-on, so no workload is created
	// before there are nodes to run it and network policies are enforced.
	Provider *kubernetes.Provider `pulumi:"-"`
}

// NewCluster creates a Cluster.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("platform:components:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	secretsKey, err := newKey(ctx, name+"-secrets", "envelope encryption of Kubernetes secrets in "+a.ClusterName, parent)
	if err != nil {
		return nil, err
	}
	// EKS creates this group on first log with no expiry; owning it sets one.
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-control-plane", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/eks/" + a.ClusterName + "/cluster"),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
	}, parent)
	if err != nil {
		return nil, err
	}

	access := map[string]eks.AccessEntryArgs{}
	for i, arn := range a.AdminPrincipalARNs {
		access[fmt.Sprintf("admin-%d", i)] = accessEntry(pulumi.String(arn), ClusterAdminPolicyArn)
	}
	if a.DeployRoleArn != nil {
		access["deploy"] = accessEntry(a.DeployRoleArn, ClusterAdminPolicyArn)
	}
	if a.ViewerRoleArn != nil {
		access["preview"] = accessEntry(a.ViewerRoleArn, ClusterViewPolicyArn)
	}
	clusterArgs := &eks.ClusterArgs{
		Name:                   pulumi.String(a.ClusterName),
		Version:                pulumi.String(a.Version),
		VpcId:                  a.VpcID,
		PrivateSubnetIds:       a.PrivateSubnetIDs,
		PublicSubnetIds:        a.PublicSubnetIDs,
		SkipDefaultNodeGroup:   pulumi.BoolRef(true),
		AuthenticationMode:     authMode(eks.AuthenticationModeApi),
		AccessEntries:          access,
		EncryptionConfigKeyArn: secretsKey.Arn,
		EnabledClusterLogTypes: pulumi.ToStringArray(ControlPlaneLogTypes),
		EndpointPrivateAccess:  pulumi.Bool(true),
		EndpointPublicAccess:   pulumi.Bool(len(a.PublicAccessCIDRs) > 0),
		// IRSA trust is built below on a provider this component owns, so
		// the program (and its tests) see it.
		CreateOidcProvider: pulumi.Bool(false),
		// EKS's own vpc-cni add-on (configured below) instead of the
		// component's manifest, so network policies can be switched on.
		UseDefaultVpcCni: pulumi.BoolRef(true),
	}
	if len(a.PublicAccessCIDRs) > 0 {
		clusterArgs.PublicAccessCidrs = pulumi.ToStringArray(a.PublicAccessCIDRs)
	}
	cluster, err := eks.NewCluster(ctx, name, clusterArgs, parent, pulumi.DependsOn([]pulumi.Resource{logGroup}))
	if err != nil {
		return nil, err
	}

	// Reading the cluster back through an invoke whose input depends on the
	// cluster waits for it to exist (and stays unknown in a first preview).
	info := awseks.LookupClusterOutput(ctx, awseks.LookupClusterOutputArgs{
		Name: cluster.KubeconfigJson.ApplyT(func(string) string { return a.ClusterName }).(pulumi.StringOutput),
	}, pulumi.Parent(c))
	issuerURL := info.ApplyT(func(r awseks.LookupClusterResult) string {
		if len(r.Identities) == 0 || len(r.Identities[0].Oidcs) == 0 {
			return ""
		}
		return r.Identities[0].Oidcs[0].Issuer
	}).(pulumi.StringOutput)
	clusterSG := info.ApplyT(func(r awseks.LookupClusterResult) string { return r.VpcConfig.ClusterSecurityGroupId }).(pulumi.StringOutput)

	oidc, err := iam.NewOpenIdConnectProvider(ctx, name+"-oidc", &iam.OpenIdConnectProviderArgs{
		Url:           issuerURL,
		ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
		ThumbprintLists: pulumi.StringArray{
			// IAM validates EKS issuers against its own trusted CAs; the
			// thumbprint is required by the API but not used for them.
			pulumi.String("9e99a48a9960b14926bb7f3b02e22da2b0ab7280"),
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	nodeRole, err := iam.NewRole(ctx, name+"-nodes", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(mustJSON(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRole",
				"Principal": map[string]any{"Service": "ec2.amazonaws.com"},
			}},
		})),
	}, parent)
	if err != nil {
		return nil, err
	}
	var attachments []pulumi.Resource
	for _, policy := range []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"} {
		att, err := iam.NewRolePolicyAttachment(ctx, name+"-nodes-"+strings.ToLower(policy), &iam.RolePolicyAttachmentArgs{
			Role:      nodeRole.Name,
			PolicyArn: pulumi.String("arn:aws:iam::aws:policy/" + policy),
		}, parent)
		if err != nil {
			return nil, err
		}
		attachments = append(attachments, att)
	}

	tagSpecs := ec2.LaunchTemplateTagSpecificationArray{}
	for _, rt := range []string{"instance", "volume"} {
		tagSpecs = append(tagSpecs, &ec2.LaunchTemplateTagSpecificationArgs{
			ResourceType: pulumi.String(rt),
			Tags:         pulumi.ToStringMap(a.InstanceTags),
		})
	}
	// The launch template keeps its name: changes to it are new versions,
	// which the node group rolls without replacement.
	ltName := a.ClusterName + "-nodes"
	// T3/T3a/T4g launch unlimited by default: surplus CPU credits would be
	// billed on top of the instance price and no review prices them. The
	// template is every instance type's, so withDefaults refused a mix.
	var credits *ec2.LaunchTemplateCreditSpecificationArgs
	if standard, _ := StandardCreditsFor(a.InstanceTypes); standard {
		credits = &ec2.LaunchTemplateCreditSpecificationArgs{CpuCredits: pulumi.String("standard")}
	}
	lt, err := ec2.NewLaunchTemplate(ctx, name+"-nodes", &ec2.LaunchTemplateArgs{
		Name:        pulumi.String(ltName),
		Description: pulumi.String("EKS nodes of " + a.ClusterName + ": encrypted gp3 root, IMDSv2 only"),
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{
			&ec2.LaunchTemplateBlockDeviceMappingArgs{
				DeviceName: pulumi.String("/dev/xvda"),
				Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
					VolumeSize:          pulumi.Int(a.NodeDiskGB),
					VolumeType:          pulumi.String("gp3"),
					Encrypted:           pulumi.String("true"),
					DeleteOnTermination: pulumi.String("true"),
				},
			},
		},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"),
			HttpTokens:   pulumi.String("required"),
			// Hop limit 1 keeps pods off the node's instance profile: they
			// get AWS credentials through IRSA only.
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		// With groups in the launch template EKS no longer adds its cluster
		// group by itself; it is needed for node <-> control plane traffic.
		VpcSecurityGroupIds: pulumi.StringArray{a.NodeSecurityGroupID, clusterSG},
		TagSpecifications:   tagSpecs,
		CreditSpecification: credits,
	}, parent)
	if err != nil {
		return nil, err
	}

	const capacityType = "ON_DEMAND"
	amiType := "AL2023_x86_64_STANDARD"
	if a.Arm {
		amiType = "AL2023_ARM_64_STANDARD"
	}
	// Every replace-only input of aws_eks_node_group keys the name's suffix
	// (NodeGroupReplaceKeys), so a replacement gets a new name and Pulumi's
	// default create-before-delete brings the new nodes up before the old
	// go. With a fixed name the provider must delete first: every node
	// gone before any replacement exists.
	keepers := pulumi.StringMap{
		"clusterName":    pulumi.String(a.ClusterName),
		"amiType":        pulumi.String(amiType),
		"capacityType":   pulumi.String(capacityType),
		"instanceTypes":  pulumi.String(strings.Join(a.InstanceTypes, ",")),
		"launchTemplate": pulumi.String(ltName),
		"nodeRoleArn":    nodeRole.Arn,
		"subnetIds":      a.PrivateSubnetIDs.ToStringArrayOutput().ApplyT(func(ids []string) string { return strings.Join(ids, ",") }).(pulumi.StringOutput),
	}
	suffix, err := random.NewRandomId(ctx, name+"-nodes-name", &random.RandomIdArgs{ByteLength: pulumi.Int(4), Keepers: keepers}, parent)
	if err != nil {
		return nil, err
	}
	nodeGroupName := pulumi.Sprintf("%s-nodes-%s", a.ClusterName, suffix.Hex)
	nodeGroup, err := eks.NewManagedNodeGroup(ctx, name+"-nodes", &eks.ManagedNodeGroupArgs{
		Cluster:       cluster,
		NodeGroupName: nodeGroupName,
		NodeRole:      nodeRole,
		SubnetIds:     a.PrivateSubnetIDs,
		InstanceTypes: pulumi.ToStringArray(a.InstanceTypes),
		CapacityType:  pulumi.String(capacityType),
		AmiType:       pulumi.String(amiType),
		ScalingConfig: &awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(a.MinSize),
			DesiredSize: pulumi.Int(a.DesiredSize),
			MaxSize:     pulumi.Int(a.MaxSize),
		},
		LaunchTemplate: &awseks.NodeGroupLaunchTemplateArgs{
			Name:    lt.Name,
			Version: lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput),
		},
	}, parent, pulumi.DependsOn(attachments),
		// The node autoscaler, an operator and the dev emergency breaker own
		// the desired size once the group exists. ignoreChanges on this
		// remote component would stay on the component and never reach the
		// aws:eks/nodeGroup child its provider registers
		// (pulumi/pulumi-eks#1293; ignoreScalingChanges exists only in
		// pulumi-eks v3): a transform reaches it.
		pulumi.Transforms([]pulumi.ResourceTransform{IgnoreNodeGroupDesiredSize}))
	if err != nil {
		return nil, err
	}
	groupInfo := awseks.LookupNodeGroupOutput(ctx, awseks.LookupNodeGroupOutputArgs{
		ClusterName:   pulumi.String(a.ClusterName),
		NodeGroupName: nodeGroupName,
	}, parent, pulumi.DependsOn([]pulumi.Resource{nodeGroup}))
	asgName := groupInfo.ApplyT(func(r awseks.LookupNodeGroupResult) string {
		if len(r.Resources) == 0 || len(r.Resources[0].AutoscalingGroups) == 0 {
			return ""
		}
		return r.Resources[0].AutoscalingGroups[0].Name
	}).(pulumi.StringOutput)

	// NetworkPolicy objects are only enforced with the VPC CNI's network
	// policy agent on.
	cni, err := awseks.NewAddon(ctx, name+"-vpc-cni", &awseks.AddonArgs{
		ClusterName:              cluster.KubeconfigJson.ApplyT(func(string) string { return a.ClusterName }).(pulumi.StringOutput),
		AddonName:                pulumi.String("vpc-cni"),
		ConfigurationValues:      pulumi.String(`{"enableNetworkPolicy":"true"}`),
		ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
		ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
	}, parent)
	if err != nil {
		return nil, err
	}

	kubeconfig := pulumi.ToSecret(cluster.KubeconfigJson).(pulumi.StringOutput)
	provider, err := kubernetes.NewProvider(ctx, name+"-k8s", &kubernetes.ProviderArgs{
		Kubeconfig: kubeconfig,
	}, parent, pulumi.DependsOn([]pulumi.Resource{nodeGroup, cni}))
	if err != nil {
		return nil, err
	}

	c.ClusterName = pulumi.String(a.ClusterName).ToStringOutput()
	c.Kubeconfig = kubeconfig
	c.OIDCProviderArn = oidc.Arn
	c.OIDCIssuer = issuerURL.ApplyT(func(u string) string { return strings.TrimPrefix(u, "https://") }).(pulumi.StringOutput)
	c.NodeGroupName = nodeGroupName
	c.NodeRoleArn = nodeRole.Arn
	c.NodeASGName = asgName
	c.ClusterSecurityGroupID = clusterSG
	c.Provider = provider
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterName":            c.ClusterName,
		"kubeconfig":             c.Kubeconfig,
		"oidcProviderArn":        c.OIDCProviderArn,
		"oidcIssuer":             c.OIDCIssuer,
		"nodeGroupName":          c.NodeGroupName,
		"nodeRoleArn":            c.NodeRoleArn,
		"nodeAsgName":            c.NodeASGName,
		"clusterSecurityGroupId": c.ClusterSecurityGroupID,
	})
}

func authMode(m eks.AuthenticationMode) *eks.AuthenticationMode { return &m }

// EKS access policies the cluster grants.
const (
	ClusterAdminPolicyArn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	ClusterViewPolicyArn  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
)

func accessEntry(principal pulumi.StringInput, policyArn string) eks.AccessEntryArgs {
	return eks.AccessEntryArgs{
		PrincipalArn: principal,
		AccessPolicies: map[string]eks.AccessPolicyAssociationInput{
			"policy": eks.AccessPolicyAssociationArgs{
				PolicyArn:   pulumi.String(policyArn),
				AccessScope: awseks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
			},
		},
	}
}

// NodeGroupChildType is the resource pulumi-eks's ManagedNodeGroup creates.
const NodeGroupChildType = replaceonly.NodeGroupType

// IgnoreNodeGroupDesiredSize makes the engine keep the node group's
// desired size as it finds it (autoscaler, operator, emergency breaker).
// It is applied as a transform on eks.ManagedNodeGroup so it reaches the
// aws:eks/nodeGroup child.
func IgnoreNodeGroupDesiredSize(_ context.Context, t *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
	if t.Type != NodeGroupChildType {
		return nil
	}
	t.Opts.IgnoreChanges = append(t.Opts.IgnoreChanges, "scalingConfig.desiredSize")
	return &pulumi.ResourceTransformResult{Props: t.Props, Opts: t.Opts}
}

// NodeGroupReplaceKeys are the node group's replace-only inputs
// (internal/replaceonly): each one the program sets keys the name's suffix.
var NodeGroupReplaceKeys = replaceonly.NodeGroup
