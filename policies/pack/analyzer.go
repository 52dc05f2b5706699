package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/policies/rules"
)

// Pack identity. PulumiPolicy.yaml's version, if set, wins in the CLI.
const (
	packName    = "tenantco-platform"
	packVersion = "0.1.0"
)

// analyzer is the policy pack: the Pulumi analyzer gRPC service over
// policies/rules. It holds no rule logic: it converts what the engine sends
// into inventory.Resource, calls rules.CheckResource / rules.CheckStack (the
// functions rules.Evaluate uses) and turns violations into diagnostics, each
// with its own enforcement level.
type analyzer struct {
	pulumirpc.UnimplementedAnalyzerServer
	now func() time.Time

	mu       sync.RWMutex
	settings rules.Settings
	// seen keeps each resource as Analyze saw it (inputs, after the
	// provider's Check), by URN. AnalyzeStack gets outputs instead, and a
	// component's outputs are not its inputs; the stack checks (the cost
	// model above all) read inputs, the same view the SDK's mocks record.
	seen map[string]inventory.Resource
}

var _ pulumirpc.AnalyzerServer = (*analyzer)(nil)

func newAnalyzer() *analyzer {
	return &analyzer{now: time.Now, seen: map[string]inventory.Resource{}}
}

// Handshake: the pack needs nothing from the engine (no callbacks).
func (a *analyzer) Handshake(context.Context, *pulumirpc.AnalyzerHandshakeRequest) (*pulumirpc.AnalyzerHandshakeResponse, error) {
	return &pulumirpc.AnalyzerHandshakeResponse{}, nil
}

func (a *analyzer) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: packVersion}, nil
}

// ConfigureStack receives the stack's config: platform:environment,
// platform:monthlyCeiling and platform:usage become rules.Settings. A
// malformed value fails the run here, before anything is analyzed; a missing
// one is reported by the rules (platform-config, cost-ceiling).
func (a *analyzer) ConfigureStack(_ context.Context, req *pulumirpc.AnalyzerStackConfigureRequest) (*pulumirpc.AnalyzerStackConfigureResponse, error) {
	s, err := rules.ParseSettings(req.GetConfig(), a.now().UTC())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "policy pack %s, stack %s: %v", packName, req.GetStack(), err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s.Overrides = a.settings.Overrides
	a.settings = s
	return &pulumirpc.AnalyzerStackConfigureResponse{}, nil
}

// GetAnalyzerInfo lists one policy per rule, at its level for the stack's
// environment (prod levels before ConfigureStack, e.g. `pulumi policy
// publish`).
func (a *analyzer) GetAnalyzerInfo(context.Context, *emptypb.Empty) (*pulumirpc.AnalyzerInfo, error) {
	s := a.current()
	var policies []*pulumirpc.PolicyInfo
	for _, r := range rules.All() {
		typ := pulumirpc.PolicyType_POLICY_TYPE_STACK
		if r.Check != nil {
			typ = pulumirpc.PolicyType_POLICY_TYPE_RESOURCE
		}
		lvl := r.Level(s.Environment)
		if o, ok := s.Overrides[r.ID]; ok {
			lvl = o
		}
		policies = append(policies, &pulumirpc.PolicyInfo{
			Name:             r.ID,
			DisplayName:      r.ID,
			Description:      r.Description,
			EnforcementLevel: toRPC(lvl),
			PolicyType:       typ,
		})
	}
	return &pulumirpc.AnalyzerInfo{
		Name:           packName,
		DisplayName:    "TenantCo platform guardrails",
		Version:        packVersion,
		Description:    "Security, tagging, sizing and cost-ceiling rules of the tenantco platform (policies/rules).",
		Policies:       policies,
		SupportsConfig: true, // enforcementLevel per policy via --policy-pack-config
	}, nil
}

// Configure takes per-policy enforcement levels (--policy-pack-config); they
// override the environment's levels.
func (a *analyzer) Configure(_ context.Context, req *pulumirpc.ConfigureAnalyzerRequest) (*emptypb.Empty, error) {
	overrides := map[string]rules.Enforcement{}
	for name, c := range req.GetPolicyConfig() {
		switch c.GetEnforcementLevel() {
		case pulumirpc.EnforcementLevel_ADVISORY:
			overrides[name] = rules.Advisory
		case pulumirpc.EnforcementLevel_DISABLED:
			overrides[name] = rules.Disabled
		default: // mandatory; remediate is not offered, it blocks like mandatory
			overrides[name] = rules.Mandatory
		}
	}
	a.mu.Lock()
	a.settings.Overrides = overrides
	a.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// Analyze runs the resource checks on one resource, before it is created or
// updated. Its inputs are kept for AnalyzeStack.
func (a *analyzer) Analyze(_ context.Context, req *pulumirpc.AnalyzeRequest) (*pulumirpc.AnalyzeResponse, error) {
	r, err := toResource(req.GetUrn(), req.GetType(), req.GetName(), req.GetOptions().GetParent(), req.GetProperties())
	if err != nil {
		return nil, err
	}
	provider, err := toProvider(req.GetProvider())
	if err != nil {
		return nil, err
	}
	if provider != nil {
		r.Provider = provider.URN
	}
	a.mu.Lock()
	a.seen[r.URN] = r
	if provider != nil {
		a.seen[provider.URN] = *provider
	}
	s := a.settings
	a.mu.Unlock()
	return &pulumirpc.AnalyzeResponse{Diagnostics: diagnostics(rules.CheckResource(r, provider, s))}, nil
}

// AnalyzeStack runs the stack checks (cost ceiling, cross-resource checks)
// once, at the end of a preview or update, over every resource of the stack.
func (a *analyzer) AnalyzeStack(_ context.Context, req *pulumirpc.AnalyzeStackRequest) (*pulumirpc.AnalyzeResponse, error) {
	a.mu.RLock()
	s := a.settings
	a.mu.RUnlock()

	var rs []inventory.Resource
	have := map[string]bool{}
	add := func(r inventory.Resource) {
		if !have[r.URN] {
			have[r.URN] = true
			rs = append(rs, r)
		}
	}
	for _, res := range req.GetResources() {
		a.mu.RLock()
		r, seen := a.seen[res.GetUrn()]
		a.mu.RUnlock()
		if !seen { // not analyzed in this run (a read resource): its outputs
			var err error
			r, err = toResource(res.GetUrn(), res.GetType(), res.GetName(), res.GetParent(), res.GetProperties())
			if err != nil {
				return nil, err
			}
		}
		provider, err := toProvider(res.GetProvider())
		if err != nil {
			return nil, err
		}
		if provider != nil {
			r.Provider = provider.URN
			add(*provider)
		}
		r.Parent = res.GetParent()
		// Cross-resource rules link a role to its policies through them.
		r.Dependencies = append(r.Dependencies[:0:0], res.GetDependencies()...)
		for _, deps := range res.GetPropertyDependencies() {
			r.Dependencies = append(r.Dependencies, deps.GetUrns()...)
		}
		add(r)
	}
	vs, err := rules.CheckStack(rs, s)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "policy pack %s: %v", packName, err)
	}
	return &pulumirpc.AnalyzeResponse{Diagnostics: diagnostics(vs)}, nil
}

// Remediate: the pack only validates.
func (a *analyzer) Remediate(context.Context, *pulumirpc.AnalyzeRequest) (*pulumirpc.RemediateResponse, error) {
	return &pulumirpc.RemediateResponse{}, nil
}

// Cancel: every call is short and holds nothing to abort.
func (a *analyzer) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (a *analyzer) current() rules.Settings {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.settings
}

// unmarshalOptions keep what the rules must see: unknowns (preview),
// secrets (set, value hidden), resource references.
var unmarshalOptions = plugin.MarshalOptions{
	Label: packName, KeepUnknowns: true, KeepSecrets: true, KeepResources: true, KeepOutputValues: true,
}

func toResource(urn, typ, name, parent string, props *structpb.Struct) (inventory.Resource, error) {
	pm, err := plugin.UnmarshalProperties(props, unmarshalOptions)
	if err != nil {
		return inventory.Resource{}, status.Errorf(codes.InvalidArgument, "properties of %s: %v", urn, err)
	}
	return inventory.Resource{URN: urn, Type: typ, Name: name, Parent: parent, Inputs: inventory.FromPropertyMap(pm)}, nil
}

// toProvider converts the provider the engine attaches to a resource (its
// URN, type and inputs, e.g. the aws provider's defaultTags).
func toProvider(p *pulumirpc.AnalyzerProviderResource) (*inventory.Resource, error) {
	if p == nil || p.GetUrn() == "" {
		return nil, nil
	}
	r, err := toResource(p.GetUrn(), p.GetType(), p.GetName(), "", p.GetProperties())
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// descriptions are the rules' descriptions by ID.
var descriptions = func() map[string]string {
	m := map[string]string{}
	for _, r := range rules.All() {
		m[r.ID] = r.Description
	}
	return m
}()

func diagnostics(vs []rules.Violation) []*pulumirpc.AnalyzeDiagnostic {
	out := make([]*pulumirpc.AnalyzeDiagnostic, 0, len(vs))
	for _, v := range vs {
		out = append(out, &pulumirpc.AnalyzeDiagnostic{
			PolicyName:        v.RuleID,
			PolicyPackName:    packName,
			PolicyPackVersion: packVersion,
			Description:       descriptions[v.RuleID],
			// The CLI prints Message: lead with the rule, as policyx does.
			Message:          fmt.Sprintf("%s\n%s", descriptions[v.RuleID], v.Message),
			EnforcementLevel: toRPC(v.Level),
			Urn:              v.URN,
		})
	}
	return out
}

func toRPC(l rules.Enforcement) pulumirpc.EnforcementLevel {
	switch l {
	case rules.Mandatory:
		return pulumirpc.EnforcementLevel_MANDATORY
	case rules.Disabled:
		return pulumirpc.EnforcementLevel_DISABLED
	}
	return pulumirpc.EnforcementLevel_ADVISORY
}
