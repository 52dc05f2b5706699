// Package mockengine is the recording mock engine: a
// pulumi.MockResourceMonitor that evaluates a Pulumi program in-process,
// records every registration as an inventory.Resource and answers with
// stand-in provider outputs (internal/standin). The offline review and the
// component and stack tests run the program through it; it knows nothing of
// prices or rules, so it sits on the ground floor.
package mockengine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/standin"
)

// Engine is a pulumi.MockResourceMonitor that records every registration.
// Only provider-computed outputs are stand-ins (ids, ARNs, endpoints); the
// program's own code runs unchanged. The offline review and the tests use it alike.
type Engine struct {
	Project, Stack, Region string
	// Preview evaluates like a first `pulumi preview`: outputs only the
	// provider computes (ids aside) stay unknown, as they would before
	// anything exists.
	Preview bool

	// Answers, when set, answer invokes by token before the stand-ins do
	// (a test's account: an OIDC provider that exists, a region's zones).
	Answers map[string]func(args map[string]any) (map[string]any, error)

	mu         sync.Mutex
	resources  []inventory.Resource
	calls      []Call
	transforms map[string][]pulumi.ResourceTransform
	raw        map[string]resource.PropertyMap
}

// Call is one invoke the program made.
type Call struct {
	Token string
	Args  map[string]any
}

// Calls returns every invoke the program made, in order.
func (e *Engine) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// RawInputs returns a resource's inputs as the program registered them,
// secrets included in the clear: for tests that must check values (the
// environment a container gets), never for the review or the rules.
func (e *Engine) RawInputs(urn string) resource.PropertyMap {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.raw[urn]
}

// Transforms returns the transforms a resource was registered with (the
// SDK's mock monitor passes them on but does not run them; for a remote
// component they are what the engine applies to its provider's children).
func (e *Engine) Transforms(urn string) []pulumi.ResourceTransform {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.transforms[urn]
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
	if args.RegisterRPC != nil {
		r.Dependencies = append(r.Dependencies, args.RegisterRPC.GetDependencies()...)
	}
	e.mu.Lock()
	e.resources = append(e.resources, r)
	if e.raw == nil {
		e.raw = map[string]resource.PropertyMap{}
	}
	e.raw[r.URN] = args.Inputs
	if len(args.Transforms) > 0 {
		if e.transforms == nil {
			e.transforms = map[string][]pulumi.ResourceTransform{}
		}
		e.transforms[r.URN] = args.Transforms
	}
	e.mu.Unlock()

	id := standin.ResourceID(args.Name, r.URN)
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
	out = standin.AWSOutputs(e.Region, args.TypeToken, id, out)
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
		out["kubeconfigJson"] = resource.NewPropertyValue(string(b))
		out["kubeconfig"] = resource.NewPropertyValue(kubeconfig)
	case "random:index/randomPassword:RandomPassword":
		// Letters and digits of the requested length, like the provider
		// with special=false (what the program asks for).
		n := 16
		if l, ok := args.Inputs["length"]; ok && l.IsNumber() {
			n = int(l.NumberValue())
		}
		out["result"] = resource.NewPropertyValue(standin.HexID("password/"+id, (n+1)/2)[:n])
	case "random:index/randomId:RandomId":
		out["hex"] = resource.NewPropertyValue(standin.RandomIDHex(id))
	}
	return out
}

// Call answers invokes. Unknown invokes are an error so that a program change
// that starts reading new cloud data cannot silently review against nothing.
func (e *Engine) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	plain := inventory.FromPropertyMap(args.Args)
	e.mu.Lock()
	e.calls = append(e.calls, Call{Token: args.Token, Args: plain})
	answer := e.Answers[args.Token]
	e.mu.Unlock()
	var ret map[string]any
	var err error
	if answer != nil {
		ret, err = answer(plain)
	} else {
		ret, err = standin.Invoke("mock engine", e.Region, args.Token, args.Args)
	}
	if err != nil {
		return nil, err
	}
	return resource.NewPropertyMapFromMap(ret), nil
}

// MethodCall answers component method calls.
func (e *Engine) MethodCall(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("mock engine: no stand-in for method %s", args.Token)
}

// Run evaluates program against a stack config (keys with namespace, values
// as the engine passes them: structured values as JSON) and returns the
// engine with everything registered. secretKeys lists the config keys that
// are secrets. preview=true evaluates like `pulumi preview` (outputs the
// provider computes are unknown).
func Run(program pulumi.RunFunc, project, stack string, config map[string]string, secretKeys []string, preview bool) (*Engine, error) {
	e := NewEngine(project, stack, config["platform:region"])
	e.Preview = preview
	return e, e.Evaluate(program, config, secretKeys)
}

// Evaluate runs program on this engine (set Answers or Preview first).
func (e *Engine) Evaluate(program pulumi.RunFunc, config map[string]string, secretKeys []string) error {
	secretKeys = append([]string(nil), secretKeys...)
	sort.Strings(secretKeys)
	return pulumi.RunErr(program, pulumi.WithMocks(e.Project, e.Stack, e), func(ri *pulumi.RunInfo) {
		ri.Config = config
		ri.ConfigSecretKeys = secretKeys
		ri.DryRun = e.Preview
	})
}
