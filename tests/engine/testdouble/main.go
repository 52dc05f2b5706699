// Command testdouble is a TEST DOUBLE of the aws, eks and random Pulumi
// resource providers, for the engine-level tests in tests/engine only. It
// creates nothing anywhere: it is never to be installed outside a test's
// temporary PULUMI_HOME, and it proves nothing about AWS.
//
// Why it exists: the real aws provider cannot be obtained offline here, and
// pulumi-eks is a Node.js plugin that cannot create anything without AWS. With
// this double the real Pulumi CLI, engine and policy pack run the real
// program (stacks.Program) unchanged: every aws resource goes through the
// engine's Check/Diff/Create/Update/Delete protocol, gets a stable fake id and
// ARN, and echoes its inputs as outputs, plus the few computed outputs the
// program reads (the same stand-ins as the offline review's mock engine,
// internal/mockengine). eks:index:Cluster and eks:index:ManagedNodeGroup
// are served as remote components (Construct) with the aws:eks/cluster and
// aws:eks/nodeGroup children pulumi-eks creates; the cluster's kubeconfig points
// at the local Kubernetes API server the test started (TESTDOUBLE_KUBECONFIG),
// so the program's Kubernetes resources go through the real kubernetes
// provider to a real API server.
//
// The binary serves the package named by its file name, as the engine
// installs it: pulumi-resource-aws (6.83.4), pulumi-resource-eks (2.8.1),
// pulumi-resource-random (4.18.0). tests/engine installs it with
// `pulumi plugin install resource <pkg> <version> --file <binary>` into the
// test's PULUMI_HOME.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tenantco/platform/internal/standin"
)

// Versions the program's SDKs ask for (go.mod): the double answers as these.
var versions = map[string]string{"aws": "6.83.4", "eks": "2.8.1", "random": "4.18.0"}

// AccountID is the made-up account of every ARN.
const AccountID = standin.AccountID

// KubeconfigEnv names the variable holding the kubeconfig (JSON) the eks
// double returns: the test's local API server.
const KubeconfigEnv = "TESTDOUBLE_KUBECONFIG"

func main() {
	pkg := strings.TrimPrefix(filepath.Base(os.Args[0]), "pulumi-resource-")
	if _, ok := versions[pkg]; !ok {
		cmdutil.ExitError(fmt.Sprintf("test double: binary must be named pulumi-resource-{aws,eks,random}, not %q", os.Args[0]))
	}
	err := pprovider.Main(pkg, func(host *pprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &double{pkg: pkg, host: host, region: "us-east-1"}, nil
	})
	if err != nil {
		cmdutil.ExitError(err.Error())
	}
}

type double struct {
	pulumirpc.UnimplementedResourceProviderServer
	pkg    string
	host   *pprovider.HostClient
	region string
}

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true, Label: "testdouble"}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, opts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, opts)
}

func (d *double) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: versions[d.pkg]}, nil
}

func (d *double) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	b, _ := json.Marshal(map[string]any{"name": d.pkg, "version": versions[d.pkg],
		"description": "TEST DOUBLE of the " + d.pkg + " provider (tenantco tests/engine); creates nothing"})
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

func (d *double) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (d *double) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diff(req.GetOldInputs(), req.GetNews())
}

func (d *double) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	if r, ok := req.GetVariables()["aws:config:region"]; ok && r != "" {
		d.region = r
	}
	if args := req.GetArgs(); args != nil {
		if r, ok := args.GetFields()["region"]; ok && r.GetStringValue() != "" {
			d.region = r.GetStringValue()
		}
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

func (d *double) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (d *double) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diff(req.GetOldInputs(), req.GetNews())
}

// diff reports every top-level input that changed; an update in place.
func diff(oldS, newS *structpb.Struct) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(oldS)
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(newS)
	if err != nil {
		return nil, err
	}
	var changed []string
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	for k := range keys {
		if !olds[k].DeepEquals(news[k]) {
			changed = append(changed, string(k))
		}
	}
	sort.Strings(changed)
	if len(changed) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Diffs: changed}, nil
}

func (d *double) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	urn := resource.URN(req.GetUrn())
	id := urn.Name() + "-" + standin.ShortHash(string(urn))
	ins, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	out, err := marshal(d.outputs(string(urn.Type()), id, ins))
	if err != nil {
		return nil, err
	}
	if req.GetPreview() {
		id = ""
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

func (d *double) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	ins, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	out, err := marshal(d.outputs(string(resource.URN(req.GetUrn()).Type()), req.GetId(), ins))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

func (d *double) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (d *double) Delete(context.Context, *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (d *double) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// outputs are the inputs plus what the provider would compute (the
// stand-ins the offline review uses too, internal/standin).
func (d *double) outputs(typ, id string, ins resource.PropertyMap) resource.PropertyMap {
	out := standin.AWSOutputs(d.region, typ, id, ins)
	switch typ {
	case "random:index/randomPassword:RandomPassword":
		// Deterministic per resource: a second `up` sees no change.
		h := sha256.Sum256([]byte("testdouble-password/" + id))
		n := 16
		if l, ok := ins["length"]; ok && l.IsNumber() {
			n = int(l.NumberValue())
		}
		pw := strings.Repeat(hex.EncodeToString(h[:]), 4)
		if _, ok := out["result"]; !ok {
			out["result"] = resource.MakeSecret(resource.NewStringProperty(pw[:n%len(pw)]))
		}
	case "random:index/randomId:RandomId":
		n := 8
		if l, ok := ins["byteLength"]; ok && l.IsNumber() {
			n = int(l.NumberValue())
		}
		if _, ok := out["hex"]; !ok {
			out["hex"] = resource.NewStringProperty(standin.HexID(id, n))
		}
	}
	return out
}

// Invoke answers the data sources the program reads. An unknown one is an
// error, so a program that starts reading new cloud data fails here loudly.
func (d *double) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args, err := unmarshal(req.GetArgs())
	if err != nil {
		return nil, err
	}
	ret, err := standin.Invoke("test double "+d.pkg, d.region, req.GetTok(), args)
	if err != nil {
		return nil, status.Error(codes.Unimplemented, err.Error())
	}
	out, err := marshal(resource.NewPropertyMapFromMap(ret))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: out}, nil
}

// Construct serves pulumi-eks's remote components. The component is
// registered with the outputs the program reads; it has no children.
func (d *double) Construct(ctx context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	if d.pkg != "eks" {
		return nil, status.Errorf(codes.Unimplemented, "test double %s: no components", d.pkg)
	}
	return pprovider.Construct(ctx, req, d.host.EngineConn(), func(pctx *pulumi.Context, typ, name string,
		inputs pprovider.ConstructInputs, options pulumi.ResourceOption,
	) (*pprovider.ConstructResult, error) {
		// Like pulumi-eks (a Node.js component provider: the Node SDK
		// registers a component without its arguments), the component
		// itself carries no properties: the engine and policy packs see
		// the program's arguments only on the children below.
		comp := &component{}
		if err := pctx.RegisterComponentResource(typ, name, comp, options); err != nil {
			return nil, err
		}
		in, err := inputs.Map()
		if err != nil {
			return nil, err
		}
		if err := registerChildren(pctx, comp, typ, name, in); err != nil {
			return nil, err
		}
		state := pulumi.Map{}
		switch typ {
		case "eks:index:Cluster":
			raw := os.Getenv(KubeconfigEnv)
			if raw == "" {
				return nil, fmt.Errorf("test double eks: %s is not set (the kubeconfig of the test's API server)", KubeconfigEnv)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(raw), &obj); err != nil {
				return nil, fmt.Errorf("test double eks: %s is not JSON: %w", KubeconfigEnv, err)
			}
			state["kubeconfigJson"] = pulumi.String(raw)
			state["kubeconfig"] = pulumi.ToMap(obj)
		case "eks:index:ManagedNodeGroup":
		default:
			return nil, fmt.Errorf("test double eks: no component %s", typ)
		}
		if err := pctx.RegisterResourceOutputs(comp, state); err != nil {
			return nil, err
		}
		return &pprovider.ConstructResult{URN: comp.URN(), State: state}, nil
	})
}

type component struct{ pulumi.ResourceState }

type child struct{ pulumi.CustomResourceState }

// registerChildren registers the two children of pulumi-eks's components the
// guardrails read (the real components create more: IAM roles, security
// groups, add-ons...), with the properties pulumi-eks derives from the
// component's arguments. They go to the aws test double like any aws
// resource, through the provider the program gave the component.
func registerChildren(ctx *pulumi.Context, parent pulumi.Resource, typ, name string, in pulumi.Map) error {
	pick := func(m pulumi.Map, keys ...string) {
		for _, k := range keys {
			if v, ok := in[k]; ok {
				m[k] = v
			}
		}
	}
	switch typ {
	case "eks:index:Cluster":
		props := pulumi.Map{"roleArn": pulumi.String("arn:aws:iam::" + AccountID + ":role/" + name + "-eksRole")}
		pick(props, "name", "version", "enabledClusterLogTypes")
		vpc := pulumi.Map{}
		if v, ok := in["privateSubnetIds"]; ok {
			vpc["subnetIds"] = v
		}
		for _, k := range []string{"endpointPrivateAccess", "endpointPublicAccess", "publicAccessCidrs"} {
			if v, ok := in[k]; ok {
				vpc[k] = v
			}
		}
		props["vpcConfig"] = vpc
		if v, ok := in["encryptionConfigKeyArn"]; ok {
			props["encryptionConfig"] = pulumi.Map{
				"resources": pulumi.StringArray{pulumi.String("secrets")},
				"provider":  pulumi.Map{"keyArn": v},
			}
		}
		if v, ok := in["authenticationMode"]; ok {
			props["accessConfig"] = pulumi.Map{"authenticationMode": v}
		}
		return ctx.RegisterResource("aws:eks/cluster:Cluster", name+"-eksCluster", props, &child{}, pulumi.Parent(parent))
	case "eks:index:ManagedNodeGroup":
		props := pulumi.Map{
			"clusterName": pulumi.String(name + "-cluster"),
			"nodeRoleArn": pulumi.String("arn:aws:iam::" + AccountID + ":role/" + name + "-nodeRole"),
		}
		pick(props, "nodeGroupName", "subnetIds", "instanceTypes", "capacityType", "amiType", "scalingConfig", "launchTemplate", "diskSize", "labels", "taints")
		return ctx.RegisterResource("aws:eks/nodeGroup:NodeGroup", name, props, &child{}, pulumi.Parent(parent))
	}
	return nil
}
