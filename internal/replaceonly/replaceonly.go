// Package replaceonly holds the inputs of a managed node group that the AWS
// provider can only apply by replacing it (ForceNew in terraform-provider-aws
// internal/service/eks/node_group.go, which pulumi-aws v6 bridges). The
// cluster component keys the node group's name on them, so a replacement is
// create-before-delete, and the PR comment (offline/costdiff) reads them to
// say what a change replaces: one list on the ground floor, so the comment
// tool does not link the Pulumi program to read it.
package replaceonly

// NodeGroupType is the resource pulumi-eks's ManagedNodeGroup creates.
const NodeGroupType = "aws:eks/nodeGroup:NodeGroup"

// NodeGroup are aws_eks_node_group's replace-only inputs, as camelCase
// Pulumi paths.
var NodeGroup = []string{
	"amiType", "capacityType", "clusterName", "diskSize", "instanceTypes", "launchTemplate.id",
	"launchTemplate.name", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "remoteAccess", "subnetIds",
}
