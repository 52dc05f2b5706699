package rules

import (
	"strconv"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/inventory"
)

// Test fixtures: resources as the SDK's mocks record them (inventory form).

var unk = inventory.Unknown{}

// at is the fixed pricing date of the tests.
var at = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

const (
	urnPrefix   = "urn:pulumi:dev::platform::"
	providerURN = urnPrefix + "pulumi:providers:aws::aws-dev"
	kmsARN      = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
)

func res(typ, name string, inputs map[string]any) inventory.Resource {
	return inventory.Resource{URN: urnPrefix + typ + "::" + name, Type: typ, Name: name, Inputs: inputs}
}

// awsRes is a resource managed by the explicit aws provider, referenced the
// way Pulumi does ("urn::id").
func awsRes(typ, name string, inputs map[string]any) inventory.Resource {
	r := res(typ, name, inputs)
	r.Provider = providerURN + "::0b1e2a66-provider-id"
	return r
}

func settings(env string) Settings {
	// The dev stack's ceiling (platform:monthlyCeiling default): its RDS
	// class's surplus CPU credits are in the ceiling case.
	return Settings{Environment: env, CeilingUSD: 700, Usage: cost.DefaultUsage(), At: at}
}

// deleted marks a path to remove in with.
type deletedValue struct{}

var deleted = deletedValue{}

// with returns a deep copy of r with the value at a dotted path replaced
// (or removed, for deleted). Intermediate maps are created; a numeric part
// indexes a list.
func with(r inventory.Resource, path string, v any) inventory.Resource {
	r.Inputs = clone(r.Inputs).(map[string]any)
	parts := strings.Split(path, ".")
	var cur any = r.Inputs
	for i, part := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if v == deleted {
					delete(c, part)
				} else {
					c[part] = v
				}
				return r
			}
			if c[part] == nil {
				c[part] = map[string]any{}
			}
			cur = c[part]
		case []any:
			n, _ := strconv.Atoi(part)
			if last {
				c[n] = v
				return r
			}
			cur = c[n]
		}
	}
	return r
}

func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = clone(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = clone(e)
		}
		return out
	}
	return v
}

func list(vs ...any) []any { return vs }

// Compliant resources, one per checked type.
var (
	awsProvider = inventory.Resource{URN: providerURN, Type: "pulumi:providers:aws", Name: "aws-dev", Inputs: map[string]any{
		"region": "us-east-1",
		"defaultTags": map[string]any{"tags": map[string]any{
			"cost-center": "platform", "owner": "platform-team", "environment": "dev",
		}},
	}}

	goodKMSKey = awsRes("aws:kms/key:Key", "dev-key", map[string]any{"enableKeyRotation": true})

	goodParameterGroup = awsRes(typeRDSParameterGroup, "dev-pg", map[string]any{
		"name": "dev-pg16", "family": "postgres16",
		"parameters": list(
			map[string]any{"name": "log_min_duration_statement", "value": "500", "applyMethod": "immediate"},
			map[string]any{"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"},
		),
	})

	goodDB = awsRes(typeRDSInstance, "dev-db", map[string]any{
		"engine": "postgres", "engineVersion": "16.4", "instanceClass": "db.t4g.medium",
		"allocatedStorage": 20.0, "storageType": "gp3",
		"multiAz": true, "storageEncrypted": true, "kmsKeyId": kmsARN,
		"publiclyAccessible": false, "backupRetentionPeriod": 7.0,
		"deletionProtection": true, "skipFinalSnapshot": false, "finalSnapshotIdentifier": "dev-db-final",
		"manageMasterUserPassword": true, "username": "platform",
		"parameterGroupName": "dev-pg16",
	})

	goodCache = awsRes(typeReplicationGroup, "dev-redis", map[string]any{
		"description": "tenant cache", "engine": "redis", "nodeType": "cache.t4g.small",
		"numCacheClusters": 2.0, "automaticFailoverEnabled": true, "multiAzEnabled": true,
		"transitEncryptionEnabled": true, "atRestEncryptionEnabled": true, "authToken": inventory.Secret,
	})

	goodEKS = res(typeEKSComponent, "dev-eks", map[string]any{
		"version": "1.34", "skipDefaultNodeGroup": true,
		"encryptionConfigKeyArn": kmsARN,
		"enabledClusterLogTypes": list("api", "audit", "authenticator"),
		"endpointPublicAccess":   true, "endpointPrivateAccess": true,
		"publicAccessCidrs": list("203.0.113.0/24"),
	})

	goodEKSCluster = awsRes(typeEKSCluster, "dev-eks-eksCluster", map[string]any{
		"version": "1.34",
		"encryptionConfig": map[string]any{
			"resources": list("secrets"), "provider": map[string]any{"keyArn": kmsARN},
		},
		"enabledClusterLogTypes": list("api", "audit", "authenticator", "controllerManager"),
		"vpcConfig": map[string]any{
			"endpointPublicAccess": false, "endpointPrivateAccess": true, "subnetIds": list("subnet-1", "subnet-2"),
		},
	})

	goodNodeGroup = res("eks:index:ManagedNodeGroup", "dev-nodes", map[string]any{
		"instanceTypes":  list("t3.medium"),
		"scalingConfig":  map[string]any{"minSize": 2.0, "desiredSize": 2.0, "maxSize": 3.0},
		"launchTemplate": map[string]any{"name": "dev-nodes-lt", "version": "$Latest"},
	})

	goodLaunchTemplate = awsRes(typeLaunchTemplate, "dev-nodes-lt", map[string]any{
		"name":                "dev-nodes-lt",
		"metadataOptions":     map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 2.0},
		"creditSpecification": map[string]any{"cpuCredits": "standard"},
		"blockDeviceMappings": list(map[string]any{
			"deviceName": "/dev/xvda",
			"ebs":        map[string]any{"encrypted": "true", "volumeSize": 20.0, "volumeType": "gp3"},
		}),
	})

	goodLBIngress = awsRes(typeSGIngressRule, "dev-alb-https", map[string]any{
		"securityGroupId": "sg-alb", "cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
		"tags": map[string]any{PublicLoadBalancerTagKey: PublicLoadBalancerTagValue},
	})

	goodLogGroup = awsRes(typeLogGroup, "dev-app-logs", map[string]any{"retentionInDays": 30.0})
)

// devStack is a realistic, compliant dev stack (close to the reference dev
// estimate in shared/notes/aws-prices.md).
func devStack() []inventory.Resource {
	return []inventory.Resource{
		awsProvider,
		res("pulumi:pulumi:Stack", "platform-dev", map[string]any{}),
		res("platform:components:Network", "dev", map[string]any{}),
		awsRes("aws:ec2/vpc:Vpc", "dev-vpc", map[string]any{"cidrBlock": "10.0.0.0/16"}),
		awsRes("aws:ec2/subnet:Subnet", "dev-private-a", map[string]any{"cidrBlock": "10.0.0.0/20"}),
		awsRes("aws:ec2/eip:Eip", "dev-nat-ip", map[string]any{"domain": "vpc"}),
		awsRes("aws:ec2/natGateway:NatGateway", "dev-nat", map[string]any{"subnetId": "subnet-public-a"}),
		goodKMSKey,
		goodEKS,
		goodNodeGroup,
		goodLaunchTemplate,
		goodParameterGroup,
		goodDB,
		goodCache,
		awsRes("aws:secretsmanager/secret:Secret", "dev-redis-auth", map[string]any{}),
		awsRes("aws:lb/loadBalancer:LoadBalancer", "dev-alb", map[string]any{
			"loadBalancerType": "application", "internal": false, "subnets": list("subnet-a", "subnet-b", "subnet-c"),
		}),
		awsRes(typeSG, "dev-alb-sg", map[string]any{"vpcId": "vpc-1"}),
		goodLBIngress,
		goodLogGroup,
	}
}

// replace returns rs with the resource named name replaced by r.
func replace(rs []inventory.Resource, r inventory.Resource) []inventory.Resource {
	out := make([]inventory.Resource, len(rs))
	for i, x := range rs {
		if x.URN == r.URN {
			x = r
		}
		out[i] = x
	}
	return out
}
