// Package review evaluates the Pulumi program in-process with the SDK's mock
// engine and reports what a stack would create, what it would cost and what
// the guardrails say — the offline review, with no AWS account.
package review

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/internal/inventory"
)

// AccountID is the stand-in AWS account of every ARN the engine makes up.
const AccountID = "123456789012"

// Engine is a pulumi.MockResourceMonitor that records every registration.
// Only provider-computed outputs are stand-ins (ids, ARNs, endpoints); the
// program's own code runs unchanged. It is the mock the tests use too.
type Engine struct {
	Project, Stack, Region string
	// Preview evaluates like a first `pulumi preview`: outputs only the
	// provider computes (ids aside) stay unknown, as they would before
	// anything exists.
	Preview bool

	mu        sync.Mutex
	resources []inventory.Resource
}

var _ pulumi.MockResourceMonitorWithMethodCall = (*Engine)(nil)

// NewEngine returns an engine for one evaluation.
func NewEngine(project, stack, region string) *Engine {
	if region == "" {
		region = "us-east-1"
	}
	return &Engine{Project: project, Stack: stack, Region: region}
}

// Resources returns what the program registered, sorted by URN.
func (e *Engine) Resources() []inventory.Resource {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]inventory.Resource(nil), e.resources...)
	inventory.Sort(out)
	return out
}

// Find returns the registered resources of a type.
func (e *Engine) Find(typ string) []inventory.Resource {
	var out []inventory.Resource
	for _, r := range e.Resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// urn builds the URN the SDK's mock monitor gives a registration.
func (e *Engine) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(e.Stack), tokens.PackageName(e.Project), parentType, tokens.Type(typ), name))
}

// NewResource records a registration and returns stand-in outputs.
func (e *Engine) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	parent := ""
	if args.RegisterRPC != nil {
		parent = args.RegisterRPC.GetParent()
	}
	if resource.URN(parent).QualifiedType() == resource.RootStackType {
		parent = ""
	}
	provider := args.Provider
	if i := strings.LastIndex(provider, "::"); i > 0 {
		provider = provider[:i]
	}
	r := inventory.Resource{
		URN:      e.urn(parent, args.TypeToken, args.Name),
		Type:     args.TypeToken,
		Name:     args.Name,
		Parent:   parent,
		Provider: provider,
		Inputs:   inventory.FromPropertyMap(args.Inputs),
	}
	e.mu.Lock()
	e.resources = append(e.resources, r)
	e.mu.Unlock()

	id := args.Name + "-" + shortHash(r.URN)
	if args.ID != "" {
		id = args.ID
	}
	return id, e.outputs(args, id), nil
}

// keepInPreview lists types whose stand-in outputs stay known in preview:
// the program wraps them in secrets, and the SDK's mock monitor cannot carry
// a secret that wraps an unknown (the real engine can).
var keepInPreview = map[string]bool{
	"eks:index:Cluster":                          true,
	"random:index/randomPassword:RandomPassword": true,
	// the database secret's ARN feeds a secret Kubernetes Secret
	"aws:rds/instance:Instance": true,
}

// outputs are the inputs plus what the provider would compute.
func (e *Engine) outputs(args pulumi.MockResourceArgs, id string) resource.PropertyMap {
	out := args.Inputs.Copy()
	if e.Preview && !keepInPreview[args.TypeToken] {
		return out
	}
	set := func(k string, v any) {
		if _, ok := out[resource.PropertyKey(k)]; !ok {
			out[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
		}
	}
	pkg, module, kind := splitType(args.TypeToken)
	if pkg == "aws" {
		set("arn", fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", module, e.Region, AccountID, kind, id))
		// Autonamed resources get a physical name like the provider's.
		set("name", id)
	}
	switch args.TypeToken {
	case "eks:index:Cluster":
		kubeconfig := map[string]any{
			"apiVersion": "v1", "kind": "Config", "current-context": "review",
			"clusters": []any{map[string]any{"name": "review", "cluster": map[string]any{
				"server": "https://" + id + ".gr7." + e.Region + ".eks.amazonaws.com", "certificate-authority-data": "UkVWSUVX"}}},
			"contexts": []any{map[string]any{"name": "review", "context": map[string]any{"cluster": "review", "user": "review"}}},
			"users":    []any{map[string]any{"name": "review", "user": map[string]any{"token": "review"}}},
		}
		b, _ := json.Marshal(kubeconfig)
		set("kubeconfigJson", string(b))
		set("kubeconfig", kubeconfig)
	case "aws:ec2/launchTemplate:LaunchTemplate":
		set("latestVersion", 1)
	case "aws:kms/key:Key":
		set("keyId", id)
	case "aws:rds/instance:Instance":
		host := id + ".c0ffee." + e.Region + ".rds.amazonaws.com"
		set("address", host)
		set("endpoint", host+":5432")
		set("port", 5432)
		set("masterUserSecrets", []any{map[string]any{
			"secretArn":    fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:rds!db-%s", e.Region, AccountID, id),
			"secretStatus": "active",
		}})
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		set("primaryEndpointAddress", "master."+id+".c0ffee.use1.cache.amazonaws.com")
		set("readerEndpointAddress", "replica."+id+".c0ffee.use1.cache.amazonaws.com")
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		out["arn"] = resource.NewPropertyValue(fmt.Sprintf("arn:aws:iam::%s:oidc-provider/oidc.eks.%s.amazonaws.com/id/%s", AccountID, e.Region, shortHash(id)))
	case "aws:ecr/repository:Repository":
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, e.Region, id))
	case "aws:lb/loadBalancer:LoadBalancer":
		set("dnsName", id+"."+e.Region+".elb.amazonaws.com")
		set("arnSuffix", "app/"+id+"/"+shortHash(id))
	case "aws:lb/targetGroup:TargetGroup":
		set("arnSuffix", "targetgroup/"+id+"/"+shortHash(id))
	case "random:index/randomPassword:RandomPassword":
		set("result", "review-"+shortHash(id)+"-stand-in-password")
	}
	return out
}

// Call answers invokes. Unknown invokes are an error so that a program change
// that starts reading new cloud data cannot silently review against nothing.
func (e *Engine) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:eks/getCluster:getCluster":
		name := args.Args["name"].StringValue()
		return resource.NewPropertyMapFromMap(map[string]any{
			"name": name,
			"arn":  fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", e.Region, AccountID, name),
			"identities": []any{map[string]any{"oidcs": []any{map[string]any{
				"issuer": fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", e.Region, strings.ToUpper(shortHash(name))),
			}}}},
			"vpcConfig": map[string]any{"clusterSecurityGroupId": "sg-cluster-" + shortHash(name)},
		}), nil
	case "aws:eks/getNodeGroup:getNodeGroup":
		ng := args.Args["nodeGroupName"].StringValue()
		return resource.NewPropertyMapFromMap(map[string]any{
			"clusterName": args.Args["clusterName"].StringValue(), "nodeGroupName": ng,
			"resources": []any{map[string]any{"autoscalingGroups": []any{map[string]any{"name": "eks-" + ng + "-" + shortHash(ng)}}}},
		}), nil
	case "aws:secretsmanager/getSecretVersion:getSecretVersion":
		// The RDS-managed master secret's shape; the password is a stand-in.
		return resource.NewPropertyMapFromMap(map[string]any{
			"arn":          args.Args["secretId"].StringValue(),
			"secretString": `{"username":"platform_admin","password":"review-stand-in-password"}`,
			"versionId":    "review",
		}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{"accountId": AccountID}), nil
	}
	return nil, fmt.Errorf("review engine: no stand-in for invoke %s", args.Token)
}

// MethodCall answers component method calls.
func (e *Engine) MethodCall(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("review engine: no stand-in for method %s", args.Token)
}

// splitType splits "aws:rds/instance:Instance" into aws, rds, instance.
func splitType(t string) (pkg, module, kind string) {
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

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:7]
}

// Run evaluates program against a stack config (keys with namespace, values
// as the engine passes them: structured values as JSON) and returns the
// engine with everything registered. secretKeys lists the config keys that
// are secrets. preview=true evaluates like `pulumi preview` (outputs the
// provider computes are unknown).
func Run(program pulumi.RunFunc, project, stack string, config map[string]string, secretKeys []string, preview bool) (*Engine, error) {
	region := config["platform:region"]
	e := NewEngine(project, stack, region)
	e.Preview = preview
	sort.Strings(secretKeys)
	err := pulumi.RunErr(program, pulumi.WithMocks(project, stack, e), func(ri *pulumi.RunInfo) {
		ri.Config = config
		ri.ConfigSecretKeys = secretKeys
		ri.DryRun = preview
	})
	return e, err
}
