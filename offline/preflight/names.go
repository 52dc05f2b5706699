package preflight

import (
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	cachetypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// name is one fixed name the program gives a resource, and what the
// account holds under it.
type name struct {
	kind, value string
	deleteCmd   string
	exists      bool
	tags        map[string]string
	err         error
}

// checkNames: the names the program fixes (the EKS cluster, the RDS
// identifier, the ElastiCache replication group, the IAM roles and log
// groups it names) are free in this account and region, or already this
// stack's. A leftover of a destroyed stack under one of them fails
// `pulumi up` with AlreadyExists halfway through; the classic one is the
// cluster's log group, which EKS writes to, and so recreates, while the
// cluster is being deleted.
func checkNames(e *env) []Finding {
	p, err := e.program()
	if err != nil {
		return []Finding{{Status: Skip, Text: "not checked: " + oneLine(err)}}
	}
	r := e.cfg.Region
	names := []*name{
		{kind: "EKS cluster", value: p.ClusterName, deleteCmd: fmt.Sprintf("aws eks delete-cluster --name %s --region %s", p.ClusterName, r)},
		{kind: "RDS instance", value: p.DBIdentifier, deleteCmd: fmt.Sprintf("aws rds modify-db-instance --db-instance-identifier %s --no-deletion-protection --apply-immediately --region %s; "+
			"aws rds delete-db-instance --db-instance-identifier %s --final-db-snapshot-identifier %s-leftover --region %s", p.DBIdentifier, r, p.DBIdentifier, p.DBIdentifier, r)},
		{kind: "ElastiCache replication group", value: p.CacheGroupID, deleteCmd: fmt.Sprintf("aws elasticache delete-replication-group --replication-group-id %s --region %s", p.CacheGroupID, r)},
	}
	for _, role := range p.RoleNames {
		names = append(names, &name{kind: "IAM role", value: role,
			deleteCmd: fmt.Sprintf("remove its policies (aws iam list-role-policies / list-attached-role-policies --role-name %s), then aws iam delete-role --role-name %s", role, role)})
	}
	for _, g := range p.LogGroupNames {
		names = append(names, &name{kind: "log group", value: g,
			deleteCmd: fmt.Sprintf("aws logs delete-log-group --log-group-name %s --region %s", g, r)})
	}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.lookupName(n)
		}()
	}
	wg.Wait()

	free := 0
	for _, n := range names {
		if n.err == nil && !n.exists {
			free++
		}
	}
	var fs []Finding
	for _, n := range names {
		switch {
		case n.err != nil:
			fs = append(fs, e.failed(n.kind+" "+n.value, n.err))
		case !n.exists:
			fs = append(fs, pass("%s %s: free", n.kind, n.value))
		case !e.owns(n.tags):
			fs = append(fs, fail(fmt.Sprintf("delete the leftover: %s; or deploy under another stack name (the program derives the name from project and stack)", n.deleteCmd),
				"%s %s exists, %s: `pulumi up` fails creating it (AlreadyExists)", n.kind, n.value, ownerOf(n.tags)))
		case free == 0:
			fs = append(fs, pass("%s %s exists and is this stack's (%s): deployed here, `pulumi up` updates it", n.kind, n.value, ownerOf(n.tags)))
		default:
			fs = append(fs, warn(fmt.Sprintf("if `pulumi stack --show-urns` does not list it, it is a leftover of a destroyed stack: delete it (%s), or `pulumi import` it",
				n.deleteCmd),
				"%s %s exists, tagged as this stack's, while other names of the stack are free: fine if the stack's state holds it (a deploy that stopped halfway)",
				n.kind, n.value))
		}
	}
	return fs
}

// lookupName asks the account for one name; "not found" answers mean free.
func (e *env) lookupName(n *name) {
	switch n.kind {
	case "EKS cluster":
		out, err := e.aws.eks.DescribeCluster(e.ctx, &eks.DescribeClusterInput{Name: aws.String(n.value)})
		switch {
		case errCode(err) == "ResourceNotFoundException":
		case err != nil:
			n.err = err
		default:
			n.exists, n.tags = true, out.Cluster.Tags
		}
	case "RDS instance":
		out, err := e.aws.rds.DescribeDBInstances(e.ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(n.value)})
		switch {
		case errCode(err) == "DBInstanceNotFound" || errCode(err) == "DBInstanceNotFoundFault":
		case err != nil:
			n.err = err
		case len(out.DBInstances) > 0:
			n.exists = true
			n.tags = tagMap(out.DBInstances[0].TagList, func(t rdstypes.Tag) (*string, *string) { return t.Key, t.Value })
		}
	case "ElastiCache replication group":
		out, err := e.aws.cache.DescribeReplicationGroups(e.ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: aws.String(n.value)})
		switch {
		case errCode(err) == "ReplicationGroupNotFoundFault" || errCode(err) == "ReplicationGroupNotFound":
		case err != nil:
			n.err = err
		case len(out.ReplicationGroups) > 0:
			n.exists = true
			// Replication groups carry their tags separately.
			tags, err := e.aws.cache.ListTagsForResource(e.ctx, &elasticache.ListTagsForResourceInput{ResourceName: out.ReplicationGroups[0].ARN})
			if err != nil {
				n.err = err
				return
			}
			n.tags = tagMap(tags.TagList, func(t cachetypes.Tag) (*string, *string) { return t.Key, t.Value })
		}
	case "IAM role":
		out, err := e.aws.iam.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String(n.value)})
		switch {
		case errCode(err) == "NoSuchEntity":
		case err != nil:
			n.err = err
		default:
			n.exists = true
			n.tags = tagMap(out.Role.Tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value })
		}
	case "log group":
		out, err := e.aws.logs.DescribeLogGroups(e.ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(n.value)})
		if err != nil {
			n.err = err
			return
		}
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) != n.value {
				continue // a longer name with this prefix
			}
			n.exists = true
			// Log groups carry their tags separately too.
			tags, err := e.aws.logs.ListTagsForResource(e.ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: g.LogGroupArn})
			if err != nil {
				n.err = err
				return
			}
			n.tags = tags.Tags
		}
	default:
		n.err = fmt.Errorf("unknown kind %s", strings.ToLower(n.kind))
	}
}
