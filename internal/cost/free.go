package cost

import (
	"sort"
	"strings"
)

// freeTypes are resource types that cost nothing by themselves. A type
// missing from here and from the priced types is an error, never $0.
var freeTypes = map[string]string{
	"pulumi:pulumi:Stack":                                       "stack",
	"aws:ec2/vpc:Vpc":                                           "VPCs are free",
	"aws:ec2/subnet:Subnet":                                     "subnets are free",
	"aws:ec2/internetGateway:InternetGateway":                   "internet gateways are free (data transfer is not modelled)",
	"aws:ec2/routeTable:RouteTable":                             "free",
	"aws:ec2/route:Route":                                       "free",
	"aws:ec2/routeTableAssociation:RouteTableAssociation":       "free",
	"aws:ec2/flowLog:FlowLog":                                   "the flow log's logs are priced on its log group",
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":         "free",
	"aws:ec2/securityGroup:SecurityGroup":                       "free",
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   "free",
	"aws:ec2/securityGroupRule:SecurityGroupRule":               "free",
	"aws:ec2/launchTemplate:LaunchTemplate":                     "its volumes are priced on the node group that uses it",
	"aws:rds/subnetGroup:SubnetGroup":                           "free",
	"aws:rds/parameterGroup:ParameterGroup":                     "free",
	"aws:elasticache/subnetGroup:SubnetGroup":                   "free",
	"aws:elasticache/parameterGroup:ParameterGroup":             "free",
	"aws:kms/alias:Alias":                                       "free (the key is priced)",
	"aws:secretsmanager/secretVersion:SecretVersion":            "free (the secret is priced)",
	"aws:lb/targetGroup:TargetGroup":                            "free (the load balancer is priced)",
	"aws:lb/listener:Listener":                                  "free (the load balancer is priced)",
	"aws:lb/listenerRule:ListenerRule":                          "free (the load balancer is priced)",
	"aws:lb/targetGroupAttachment:TargetGroupAttachment":        "free",
	"aws:autoscaling/attachment:Attachment":                     "free",
	"aws:acm/certificate:Certificate":                           "public ACM certificates are free",
	"aws:acm/certificateValidation:CertificateValidation":       "free",
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                   "free (storage is priced on the repository)",
	"aws:ecr/repositoryPolicy:RepositoryPolicy":                 "free",
	"random:index/randomPassword:RandomPassword":                "not an AWS resource",
	"random:index/randomString:RandomString":                    "not an AWS resource",
	"random:index/randomId:RandomId":                            "not an AWS resource",
	"aws:eks/addon:Addon":                                       "EKS add-ons cost nothing themselves (their pods run on priced nodes)",
	"aws:eks/accessEntry:AccessEntry":                           "free",
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation":   "free",
	"aws:eks/podIdentityAssociation:PodIdentityAssociation":     "free",
	"eks:index:VpcCni":                                          "a Kubernetes add-on, free",
	"eks:index:Addon":                                           "EKS add-ons cost nothing themselves",
	"eks:index:NodeGroupSecurityGroup":                          "security groups are free",
	"aws:lambda/function:Function":                              "the dev cost breaker runs a few times a month: within the Lambda free tier (1M requests, 400,000 GB-s)",
	"aws:lambda/permission:Permission":                          "free",
	"aws:cloudwatch/eventRule:EventRule":                        "rules on the default bus matching AWS service events are free (EventBridge pricing: AWS service events carry no charge)",
	"aws:cloudwatch/eventTarget:EventTarget":                    "free (delivery to SNS is priced as SNS, within its free tier)",
	"aws:codebuild/webhook:Webhook":                             "free (build minutes are priced on the project)",
	"aws:codebuild/sourceCredential:SourceCredential":           "free",
	"aws:codeconnections/connection:Connection":                 "CodeConnections connections are free",
	"aws:codestarconnections/connection:Connection":             "CodeConnections connections are free",
}

// freePrefixes are whole families of free types.
var freePrefixes = map[string]string{
	"pulumi:providers:": "providers are not cloud resources",
	"platform:":         "our own component resources (their children are priced)",
	"aws:iam/":          "IAM (roles, policies, attachments, OIDC providers) is free",
	"aws:sns/":          "SNS topics and subscriptions: the alert volume stays within the free tier (1M publishes, 1,000 email deliveries per month)",
	"kubernetes:":       "Kubernetes objects run on priced nodes (except Services of type LoadBalancer, priced as an NLB)",
}

func isFree(t string) bool {
	_, ok := FreeReason(t)
	return ok
}

// FreeReason says why a resource type is free, or false when it is not on
// the free list. kubernetes:core/v1:Service is on it by prefix, but the
// estimate prices Services of type LoadBalancer.
func FreeReason(t string) (string, bool) {
	if r, ok := freeTypes[t]; ok {
		return r, true
	}
	for p, r := range freePrefixes {
		if strings.HasPrefix(t, p) {
			return r, true
		}
	}
	return "", false
}

// FreeTypes lists the free type tokens and prefixes (prefixes end in ':' or
// '/'), sorted.
func FreeTypes() []string {
	out := make([]string, 0, len(freeTypes)+len(freePrefixes))
	for t := range freeTypes {
		out = append(out, t)
	}
	for p := range freePrefixes {
		out = append(out, p+"*")
	}
	sort.Strings(out)
	return out
}

// PricedTypes lists the resource types the model prices, sorted.
func PricedTypes() []string {
	out := []string{
		"eks:index:Cluster",
		"aws:eks/cluster:Cluster",
		"eks:index:ManagedNodeGroup",
		"aws:eks/nodeGroup:NodeGroup",
		"aws:ec2/natGateway:NatGateway",
		"aws:ec2/eip:Eip",
		"aws:lb/loadBalancer:LoadBalancer",
		"aws:alb/loadBalancer:LoadBalancer",
		"aws:rds/instance:Instance",
		"aws:elasticache/replicationGroup:ReplicationGroup",
		"aws:cloudwatch/logGroup:LogGroup",
		"aws:kms/key:Key",
		"aws:secretsmanager/secret:Secret",
		"aws:ec2/vpcEndpoint:VpcEndpoint",
		"aws:budgets/budget:Budget",
		"aws:budgets/budgetAction:BudgetAction",
		"aws:cloudwatch/dashboard:Dashboard",
		"aws:cloudwatch/metricAlarm:MetricAlarm",
		"aws:ecr/repository:Repository",
		"aws:codebuild/project:Project",
		"kubernetes:core/v1:Service",
	}
	sort.Strings(out)
	return out
}
