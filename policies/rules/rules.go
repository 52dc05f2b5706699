// Package rules holds the platform's policy rules as plain Go functions over
// inventory.Resource. The same rules run in three places: the policy pack the
// Pulumi CLI loads (policies/pack), the offline review (offline/review, on
// the resources recorded under the SDK's mocks) and the unit tests. No rule is
// written twice: the pack only converts the analyzer's view into inventory
// form and calls CheckResource and CheckStack, which Evaluate also calls.
//
// Unknown values. During a preview, inputs computed by other resources (a KMS
// key ARN, a parameter group name) are inventory.Unknown. A rule never treats
// an unknown as a pass or as a failure: when a value it needs is unknown it
// reports an advisory finding "cannot verify during preview: <field> unknown"
// (see Unverified). The property is verified for real when the value is known:
// during `pulumi up` every input is resolved before the analyzer sees it, so a
// mandatory rule still blocks the resource there.
package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/inventory"
)

// Enforcement is what a violation does: mandatory blocks the preview or
// update, advisory is reported only, disabled rules do not run.
type Enforcement string

const (
	Mandatory Enforcement = "mandatory"
	Advisory  Enforcement = "advisory"
	Disabled  Enforcement = "disabled"
)

// Environments the platform knows (stack config platform:environment).
const (
	Dev  = "dev"
	Prod = "prod"
)

// Settings is what the rules know about the stack being checked.
type Settings struct {
	// Environment is "dev" or "prod" (platform:environment). Any other value
	// is itself a violation (platform-config) and gets the prod levels.
	Environment string
	// CeilingUSD is the monthly cost ceiling (platform:monthlyCeiling);
	// <= 0 means not configured, which cost-ceiling reports.
	CeilingUSD float64
	// Usage holds the usage assumptions for pricing (platform:usage); the
	// zero value means cost.DefaultUsage().
	Usage cost.Usage
	// At is the evaluation date for pricing; zero means now.
	At time.Time
	// Estimate is the stack's cost estimate when the caller has priced the
	// stack already (the offline review does, for its report): cost-ceiling
	// judges it instead of pricing the stack a second time. It must cover
	// the resources being checked; nil means cost-ceiling prices them with
	// Usage and At (the policy pack).
	Estimate *cost.Estimate
	// Overrides replaces a rule's level by rule ID (the pack fills it from
	// the CLI's policy config, --policy-pack-config); optional.
	Overrides map[string]Enforcement
}

// Finding is one problem a rule found.
type Finding struct {
	// URN is the resource the finding is about. Resource checks leave it
	// empty (the checked resource is meant); stack checks set it, or leave
	// it empty for the stack as a whole.
	URN     string
	Message string
	// Advisory marks a finding that never blocks, whatever the rule's
	// level: a value unknown during preview, a cost warning.
	Advisory bool
}

// Violation is a finding of a rule at its effective enforcement level.
type Violation struct {
	RuleID  string      `json:"ruleId"`
	URN     string      `json:"urn,omitempty"`
	Message string      `json:"message"`
	Level   Enforcement `json:"level"`
}

func (v Violation) String() string {
	urn := v.URN
	if urn == "" {
		urn = "(stack)"
	}
	return fmt.Sprintf("[%s] %s %s: %s", v.Level, v.RuleID, urn, v.Message)
}

// Context is what a resource check sees besides the resource itself.
type Context struct {
	Settings
	// Provider is the provider resource that manages the checked resource,
	// or nil when it is not known (the default provider under mocks).
	Provider *inventory.Resource
}

// Rule is one policy. A rule has a resource check (Types + Check), a stack
// check (CheckStack), or both.
type Rule struct {
	ID          string
	Description string
	// Dev and Prod are the enforcement levels per environment.
	Dev, Prod Enforcement
	// Types are the resource types Check runs on; "aws:*" matches every
	// type with that prefix.
	Types []string
	Check func(r inventory.Resource, c Context) []Finding
	// CheckStack runs once over all resources of the stack.
	CheckStack func(rs []inventory.Resource, s Settings) ([]Finding, error)
}

// Level is the rule's enforcement level in env; environments other than dev
// get the prod levels, the strictest.
func (r Rule) Level(env string) Enforcement {
	if env == Dev {
		return r.Dev
	}
	return r.Prod
}

// AppliesTo reports whether the rule's resource check runs on type typ.
func (r Rule) AppliesTo(typ string) bool {
	if r.Check == nil {
		return false
	}
	for _, t := range r.Types {
		if t == typ || strings.HasSuffix(t, "*") && strings.HasPrefix(typ, strings.TrimSuffix(t, "*")) {
			return true
		}
	}
	return false
}

// level is the rule's effective level for the stack: an override, else the
// environment's level.
func (s Settings) level(r Rule) Enforcement {
	if l, ok := s.Overrides[r.ID]; ok {
		return l
	}
	return r.Level(s.Environment)
}

var all = []Rule{
	rdsMultiAZ, rdsStorageEncrypted, rdsNotPublic, rdsBackupRetention, rdsDeletionProtection,
	rdsManagedCredentials, rdsForceSSL,
	cacheTransitEncryption, cacheAtRestEncryption, cacheAuthToken, cacheAutomaticFailover,
	eksSecretsEncryption, eksControlPlaneLogging, eksEndpointRestricted,
	sgNoWorldIngress,
	ebsEncrypted, ec2IMDSv2Required,
	requiredTags, instanceClassAllowed, logGroupRetention,
	k8sWorkloadNetwork, ciRunnerScoped, autoscalerIAMScoped,
	costCeiling, platformConfig,
}

// All returns every rule, in a stable order.
func All() []Rule { return slices.Clone(all) }

// Evaluate runs every rule over the stack's resources: the resource checks on
// each resource (with its provider looked up in rs) and the stack checks once.
// Violations come sorted by rule, then URN, then message.
func Evaluate(rs []inventory.Resource, s Settings) ([]Violation, error) {
	providers := make(map[string]*inventory.Resource)
	for i := range rs {
		if strings.HasPrefix(rs[i].Type, "pulumi:providers:") {
			providers[rs[i].URN] = &rs[i]
		}
	}
	var vs []Violation
	for _, r := range rs {
		vs = append(vs, CheckResource(r, providers[ProviderURN(r.Provider)], s)...)
	}
	stack, err := CheckStack(rs, s)
	if err != nil {
		return nil, err
	}
	vs = append(vs, stack...)
	SortViolations(vs)
	return vs, nil
}

// CheckResource runs every resource check that applies to r. provider is the
// provider resource r uses, or nil if it is not known.
func CheckResource(r inventory.Resource, provider *inventory.Resource, s Settings) []Violation {
	if r.OpaqueComponent() {
		// Nothing to read: its children are checked instead.
		return nil
	}
	var vs []Violation
	for _, rule := range all {
		lvl := s.level(rule)
		if lvl == Disabled || !rule.AppliesTo(r.Type) {
			continue
		}
		for _, f := range rule.Check(r, Context{Settings: s, Provider: provider}) {
			if f.URN == "" {
				f.URN = r.URN
			}
			vs = append(vs, violation(rule, lvl, f))
		}
	}
	return vs
}

// CheckStack runs every stack check over rs.
func CheckStack(rs []inventory.Resource, s Settings) ([]Violation, error) {
	var vs []Violation
	for _, rule := range all {
		lvl := s.level(rule)
		if lvl == Disabled || rule.CheckStack == nil {
			continue
		}
		fs, err := rule.CheckStack(rs, s)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", rule.ID, err)
		}
		for _, f := range fs {
			vs = append(vs, violation(rule, lvl, f))
		}
	}
	return vs, nil
}

func violation(rule Rule, lvl Enforcement, f Finding) Violation {
	if f.Advisory || lvl != Mandatory {
		lvl = Advisory
	}
	return Violation{RuleID: rule.ID, URN: f.URN, Message: f.Message, Level: lvl}
}

// SortViolations orders violations by rule (in All order), URN and message.
func SortViolations(vs []Violation) {
	order := make(map[string]int, len(all))
	for i, r := range all {
		order[r.ID] = i
	}
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.RuleID != b.RuleID {
			return order[a.RuleID] < order[b.RuleID]
		}
		if a.URN != b.URN {
			return a.URN < b.URN
		}
		return a.Message < b.Message
	})
}

// Blocking returns the mandatory violations: the ones that fail a preview.
func Blocking(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Level == Mandatory {
			out = append(out, v)
		}
	}
	return out
}

// ProviderURN turns a provider reference ("urn::id", as Pulumi passes it)
// into the provider's URN; a bare URN is returned as is.
func ProviderURN(ref string) string {
	// A URN is urn:pulumi:stack::project::type::name: three "::". A
	// reference appends "::id".
	if strings.Count(ref, "::") > 3 {
		return ref[:strings.LastIndex(ref, "::")]
	}
	return ref
}
