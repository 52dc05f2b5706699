// Package standin makes up what AWS would compute for the resources and data
// sources the program uses: ids, ARNs, endpoints and the few lookups it reads.
// The offline review's mock engine and the engine tests' test-double provider
// both answer with these, so a stand-in is defined once. Nothing here is
// ever sent to AWS.
package standin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// AccountID is the made-up AWS account of every ARN.
const AccountID = "123456789012"

// ShortHash is a stable 7-character hash, for made-up ids.
func ShortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:7]
}

// HexID is n stable made-up bytes in hex, like random.RandomId's hex output.
func HexID(seed string, n int) string {
	h := sha256.Sum256([]byte("random-id/" + seed))
	return hex.EncodeToString(h[:n])
}

// ResourceID is the made-up physical id of a resource registered as name
// with urn. It depends on the URN only, so two reviews of a stack give a
// resource the same id, and a tool reading a review (the PR comment's
// replacement check) can tell which resource an id or ARN in another
// resource's inputs points at. Changing it changes every reference between
// the base's review and the head's: the pull request that changes it shows
// them all as replaced.
func ResourceID(name, urn string) string { return name + "-" + ShortHash(urn) }

// RandomIDHex is the made-up hex output of the random.RandomId whose
// stand-in id is id (4 bytes, what the program asks for).
func RandomIDHex(id string) string { return HexID(id, 4) }

// SplitType splits "aws:rds/instance:Instance" into aws, rds, instance.
func SplitType(t string) (pkg, module, kind string) {
	parts := strings.SplitN(t, ":", 3)
	if len(parts) != 3 {
		return t, "", ""
	}
	module, kind, _ = strings.Cut(parts[1], "/")
	if kind == "" {
		kind = strings.ToLower(parts[2])
	}
	return parts[0], module, kind
}

// AWSOutputs returns the inputs of an AWS resource plus the outputs the
// provider would compute for it (inputs win where both exist).
func AWSOutputs(region, typ, id string, inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	set := func(k string, v any) {
		if _, ok := out[resource.PropertyKey(k)]; !ok {
			out[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
	}
	pkg, module, kind := SplitType(typ)
	if pkg != "aws" {
		return out
	}
	if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider" {
		out["arn"] = resource.NewPropertyValue(fmt.Sprintf("arn:aws:iam::%s:oidc-provider/oidc.eks.%s.amazonaws.com/id/%s", AccountID, region, ShortHash(id)))
	}
	set("arn", fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", module, region, AccountID, kind, id))
	// Autonamed resources get a physical name like the provider's.
	set("name", id)
	switch typ {
	case "aws:sns/topic:Topic":
		// An SNS topic's ARN ends in its name, no resource type.
		out["arn"] = resource.NewPropertyValue(fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, AccountID, id))
	case "aws:ec2/launchTemplate:LaunchTemplate":
		set("latestVersion", 1)
	case "aws:kms/key:Key":
		set("keyId", id)
	case "aws:rds/instance:Instance":
		// RDS names an instance's ARN after its identifier (db:<id>).
		if ident, ok := inputs["identifier"]; ok && ident.IsString() {
			out["arn"] = resource.NewPropertyValue(fmt.Sprintf("arn:aws:rds:%s:%s:db:%s", region, AccountID, ident.StringValue()))
		}
		host := id + ".c0ffee." + region + ".rds.amazonaws.com"
		set("address", host)
		set("endpoint", host+":5432")
		set("port", 5432)
		set("masterUserSecrets", []any{map[string]any{
			"secretArn":    fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:rds!db-%s", region, AccountID, id),
			"secretStatus": "active",
		}})
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		set("primaryEndpointAddress", "master."+id+".c0ffee.use1.cache.amazonaws.com")
		set("readerEndpointAddress", "replica."+id+".c0ffee.use1.cache.amazonaws.com")
	case "aws:ecr/repository:Repository":
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, region, id))
	case "aws:lb/loadBalancer:LoadBalancer":
		set("dnsName", id+"."+region+".elb.amazonaws.com")
		set("arnSuffix", "app/"+id+"/"+ShortHash(id))
		// The Route 53 zone of us-east-1's application load balancers.
		set("zoneId", "Z35SXDOTRQ7X7K")
	case "aws:lambda/function:Function":
		out["arn"] = resource.NewPropertyValue(fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, AccountID, id))
	case "aws:cloudwatch/eventRule:EventRule":
		name := id
		if n, ok := inputs["name"]; ok && n.IsString() {
			name = n.StringValue()
		}
		out["arn"] = resource.NewPropertyValue(fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, AccountID, name))
	case "aws:budgets/budgetAction:BudgetAction":
		h := HexID("budget-action/"+id, 16)
		set("actionId", h[:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:])
	case "aws:lb/targetGroup:TargetGroup":
		set("arnSuffix", "targetgroup/"+id+"/"+ShortHash(id))
	}
	return out
}

// Invoke answers the data sources the program reads. An unknown one is an
// error, so a program that starts reading new cloud data cannot silently be
// reviewed or tested against nothing. who names the caller in that error.
func Invoke(who, region, token string, args resource.PropertyMap) (map[string]any, error) {
	str := func(k string) string {
		if v, ok := args[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch token {
	case "aws:eks/getCluster:getCluster":
		name := str("name")
		return map[string]any{
			"id": name, "name": name,
			"arn": fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", region, AccountID, name),
			"identities": []any{map[string]any{"oidcs": []any{map[string]any{
				"issuer": fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", region, strings.ToUpper(ShortHash(name))),
			}}}},
			"vpcConfig": map[string]any{"clusterSecurityGroupId": "sg-cluster-" + ShortHash(name)},
		}, nil
	case "aws:eks/getNodeGroup:getNodeGroup":
		ng := str("nodeGroupName")
		return map[string]any{
			"id": str("clusterName") + ":" + ng, "clusterName": str("clusterName"), "nodeGroupName": ng,
			"resources": []any{map[string]any{"autoscalingGroups": []any{map[string]any{"name": "eks-" + ng + "-" + ShortHash(ng)}}}},
		}, nil
	case "aws:secretsmanager/getSecretVersion:getSecretVersion":
		// The RDS-managed master secret's shape; the password is a stand-in.
		return map[string]any{
			"id": str("secretId"), "arn": str("secretId"),
			"secretString": `{"username":"platform_admin","password":"stand-in-password"}`,
			"versionId":    "stand-in",
		}, nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return availabilityZones(region, args), nil
	case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
		// The stand-in account has no OIDC provider: the data source's
		// not-found answer (terraform-provider-aws retry.NotFoundError).
		return nil, fmt.Errorf("reading IAM OIDC Provider (%s): couldn't find resource", str("url"))
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return map[string]any{"id": AccountID, "accountId": AccountID,
			"arn": "arn:aws:iam::" + AccountID + ":user/stand-in", "userId": "STANDIN"}, nil
	}
	return nil, fmt.Errorf("%s: no stand-in for invoke %s", who, token)
}

// ZoneIDPrefix is the prefix of a region's zone IDs (us-east-1 -> use1).
func ZoneIDPrefix(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return region
	}
	dir := map[string]string{
		"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
	}[parts[1]]
	return parts[0] + dir + parts[2]
}

// availabilityZones answers getAvailabilityZones like a region with six
// zones (us-east-1 has six), honouring excludeZoneIds. Names map to IDs in
// reverse order, as an account's names are shuffled against IDs.
func availabilityZones(region string, args resource.PropertyMap) map[string]any {
	excluded := map[string]bool{}
	if v, ok := args["excludeZoneIds"]; ok && v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e.IsString() {
				excluded[e.StringValue()] = true
			}
		}
	}
	var names, ids []any
	for i := 1; i <= 6; i++ {
		id := fmt.Sprintf("%s-az%d", ZoneIDPrefix(region), i)
		if excluded[id] {
			continue
		}
		ids = append(ids, id)
		names = append(names, region+string(rune('a'+6-i)))
	}
	return map[string]any{"id": region, "names": names, "zoneIds": ids, "groupNames": []any{region}}
}
