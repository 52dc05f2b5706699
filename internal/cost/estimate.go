package cost

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/inventory"
)

// Line is one priced cost component of one resource (JSON shape is a public contract).
type Line struct {
	URN                string  `json:"urn"`
	Type               string  `json:"type"`
	Name               string  `json:"name"`      // resource name (URN name part)
	Component          string  `json:"component"` // e.g. "instance hours", "storage", "NAT data"
	Quantity           float64 `json:"quantity"`
	Unit               string  `json:"unit"` // "hours", "GB-month", "GB", "LCU-hours", "month", "address-hours", ...
	UnitUSD            float64 `json:"unit_usd"`
	MonthlyUSD         float64 `json:"monthly_usd"`          // ceiling case (node groups at max size)
	ExpectedMonthlyUSD float64 `json:"expected_monthly_usd"` // expected case (node groups at desired size); equal to MonthlyUSD elsewhere
	UsageBased         bool    `json:"usage_based"`
}

// PriceInfo says which snapshot priced an estimate.
type PriceInfo struct {
	Region string `json:"region"`
	AsOf   string `json:"as_of"`
	Source string `json:"source"`
}

// Estimate is the priced stack.
type Estimate struct {
	Prices             PriceInfo         `json:"prices"`
	Lines              []Line            `json:"costs"`
	Free               []string          `json:"free"`                 // URNs priced as free
	MonthlyUSD         float64           `json:"monthly_usd"`          // sum of ceiling-case lines, rounded to cents
	ExpectedMonthlyUSD float64           `json:"expected_monthly_usd"` // sum of expected-case lines
	Assumptions        map[string]string `json:"assumptions"`          // human-readable, e.g. "natDataGbPerGateway": "50 GB per NAT gateway per month (platform:usage)"
}

// UnknownTypeError is returned for a resource type that is neither priced
// nor on the free list.
type UnknownTypeError struct {
	Type string
	URN  string
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("cost: no price for resource type %q (urn %s): add it to internal/cost/prices.json or to the free list", e.Type, e.URN)
}

// MissingPriceError is returned when a priced type asks for a price the
// snapshot lacks (an instance class, node type, engine, storage type...), or
// when an input the price depends on cannot be known.
type MissingPriceError struct {
	Type  string // resource type
	Name  string // resource name
	URN   string
	What  string // "instance type", "RDS instance class", "ElastiCache node type", ...
	Value string // the class/type asked for
	Key   string // the prices.json key that is missing ("" when the input itself is unknown)
}

func (e *MissingPriceError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("cost: cannot price %s %q (urn %s): %s %s", e.Type, e.Name, e.URN, e.What, e.Value)
	}
	return fmt.Sprintf("cost: no price for %s %q of %s %q (urn %s): add %q to internal/cost/prices.json", e.What, e.Value, e.Type, e.Name, e.URN, e.Key)
}

// Estimate prices every resource. `at` is the evaluation date (EKS extended
// support depends on it; tests pass a fixed date; the zero time means now).
// Inputs are read with inventory.Lookup, like the policy rules read them: an
// unknown anywhere on the path is unknown. Unknown inputs (during a preview)
// never crash: what is known is priced, a documented fallback is used for
// counts and sizes and recorded in Assumptions; an unknown instance class /
// node type / node count (nothing to fall back on) is an error. All errors of
// a stack are returned together.
func (m *Model) Estimate(rs []inventory.Resource, u Usage, at time.Time) (*Estimate, error) {
	if errs := u.Validate(); len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	sorted := append([]inventory.Resource(nil), rs...)
	inventory.Sort(sorted)

	e := &estimator{
		m: m, u: u, at: at,
		byURN:         map[string]*inventory.Resource{},
		launchTmpls:   map[string]*inventory.Resource{},
		budgetByName:  map[string]string{},
		actionBudgets: map[string]bool{},
		pricedBudgets: map[string]bool{},
		assumptions:   u.assumptions(),
	}
	e.assumptions["prices"] = fmt.Sprintf("on-demand list prices, %s, snapshot as of %s (internal/cost/prices.json); no free tier, credits, savings plans or taxes", m.region, m.snap.AsOf)
	e.assumptions["evaluationDate"] = at.Format(time.DateOnly) + " (EKS standard/extended support is judged on this date)"
	for i := range sorted {
		r := &sorted[i]
		e.byURN[r.URN] = r
	}
	// First pass: what other resources' prices depend on.
	for i := range sorted {
		r := &sorted[i]
		if e.componentChild(r) != "" {
			continue
		}
		switch r.Type {
		case "aws:ec2/launchTemplate:LaunchTemplate":
			e.allLaunchTmpls = append(e.allLaunchTmpls, r)
			if n, ok := r.String("name"); ok && n != "" {
				e.launchTmpls[n] = r
			}
		case "aws:cloudwatch/logGroup:LogGroup":
			e.logGroups++
		case "aws:rds/instance:Instance":
			e.rdsInstances++
		case "aws:ecr/repository:Repository":
			e.ecrRepos++
		case "aws:budgets/budget:Budget":
			if n, ok := r.String("name"); ok && n != "" {
				e.budgetByName[n] = r.URN
			}
		case "aws:budgets/budgetAction:BudgetAction":
			if n, ok := r.String("budgetName"); ok && n != "" {
				e.actionBudgets[n] = true
			}
		}
	}
	for i := range sorted {
		e.price(&sorted[i])
	}
	if e.eksChildren > 0 {
		e.assumptions["eksComponentChildren"] = fmt.Sprintf("%d resources created inside eks:index components are priced on the component (control plane, node groups), not again on their own", e.eksChildren)
	}
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}

	sort.SliceStable(e.lines, func(i, j int) bool {
		a, b := e.lines[i], e.lines[j]
		if a.URN != b.URN {
			return a.URN < b.URN
		}
		return a.Component < b.Component
	})
	sort.Strings(e.free)
	var total, expected int64
	for _, l := range e.lines {
		total += toCents(l.MonthlyUSD)
		expected += toCents(l.ExpectedMonthlyUSD)
	}
	if e.lines == nil {
		e.lines = []Line{}
	}
	if e.free == nil {
		e.free = []string{}
	}
	return &Estimate{
		Prices:             m.Prices(),
		Lines:              e.lines,
		Free:               e.free,
		MonthlyUSD:         float64(total) / 100,
		ExpectedMonthlyUSD: float64(expected) / 100,
		Assumptions:        e.assumptions,
	}, nil
}

type estimator struct {
	m  *Model
	u  Usage
	at time.Time

	byURN          map[string]*inventory.Resource
	launchTmpls    map[string]*inventory.Resource // by `name` input
	allLaunchTmpls []*inventory.Resource
	budgetByName   map[string]string // budget `name` input -> URN
	actionBudgets  map[string]bool   // budget names referenced by a BudgetAction
	pricedBudgets  map[string]bool   // action-enabled budget names already priced
	logGroups      int
	rdsInstances   int
	ecrRepos       int
	eksChildren    int

	lines       []Line
	free        []string
	assumptions map[string]string
	errs        []error
}

func (e *estimator) price(r *inventory.Resource) {
	if parent := e.componentChild(r); parent != "" {
		e.eksChildren++
		e.free = append(e.free, r.URN)
		return
	}
	if r.OpaqueComponent() {
		// The engine's view: priced through its children.
		e.free = append(e.free, r.URN)
		return
	}
	// The table of contents of the model: one case per priced type, grouped
	// by the file that prices it.
	switch r.Type {
	// eks.go
	case "eks:index:Cluster":
		e.eksCluster(r, true)
	case "aws:eks/cluster:Cluster":
		e.eksCluster(r, false)
	case "eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup":
		e.managedNodeGroup(r)
	// network.go
	case "aws:ec2/natGateway:NatGateway":
		e.natGateway(r)
	case "aws:ec2/eip:Eip":
		e.eip(r)
	case "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer":
		e.loadBalancer(r)
	case "kubernetes:core/v1:Service":
		e.k8sService(r)
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		e.vpcEndpoint(r)
	// datastores.go
	case "aws:rds/instance:Instance":
		e.rdsInstance(r)
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		e.replicationGroup(r)
	// other.go: observability, security, registry, budgets
	case "aws:cloudwatch/logGroup:LogGroup":
		e.logGroup(r)
	case "aws:cloudwatch/dashboard:Dashboard":
		e.monthly(r, "dashboard", "cloudwatch.dashboard", 1)
		e.assumptions["cloudwatchDashboards"] = "the 3 free dashboards per account are not subtracted (conservative)"
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		e.metricAlarm(r)
	case "aws:kms/key:Key":
		e.kmsKey(r)
	case "aws:secretsmanager/secret:Secret":
		e.monthly(r, "secret", "secretsmanager.secret", 1)
	case "aws:ecr/repository:Repository":
		e.ecrRepository(r)
	// ci.go
	case "aws:codebuild/project:Project":
		e.codebuildProject(r)
	case "aws:budgets/budget:Budget":
		e.budget(r)
	case "aws:budgets/budgetAction:BudgetAction":
		e.budgetAction(r)
	// free.go
	default:
		if isFree(r.Type) {
			e.free = append(e.free, r.URN)
			return
		}
		e.errs = append(e.errs, &UnknownTypeError{Type: r.Type, URN: r.URN})
	}
}

// componentChild returns the eks:index component type a resource was
// created in ("" if none). The EKS components register their own children
// (aws:eks/cluster:Cluster, node group, security groups, IAM, the default
// node group's autoscaling group...); the component line prices them, so
// they must not be priced twice. The parent chain is read from the URN's
// qualified type (`parent$child`) and from Parent links.
func (e *estimator) componentChild(r *inventory.Resource) string {
	if chain := urnTypeChain(r.URN); len(chain) > 1 {
		for _, t := range chain[:len(chain)-1] {
			if strings.HasPrefix(t, "eks:index:") && !e.opaqueAncestor(r, t) {
				return t
			}
		}
	}
	seen := map[string]bool{}
	for p := r.Parent; p != "" && !seen[p]; {
		seen[p] = true
		pr, ok := e.byURN[p]
		if !ok {
			break
		}
		if strings.HasPrefix(pr.Type, "eks:index:") && !pr.OpaqueComponent() {
			return pr.Type
		}
		p = pr.Parent
	}
	return ""
}

// opaqueAncestor reports whether the ancestor of r of component type typ is
// opaque (registered without inputs by the real engine): then the children
// are priced, not the component.
func (e *estimator) opaqueAncestor(r *inventory.Resource, typ string) bool {
	seen := map[string]bool{}
	for p := r.Parent; p != "" && !seen[p]; {
		seen[p] = true
		pr, ok := e.byURN[p]
		if !ok {
			return false
		}
		if pr.Type == typ {
			return pr.OpaqueComponent()
		}
		p = pr.Parent
	}
	return false
}

// urnTypeChain splits "urn:pulumi:stack::project::a$b$c::name" into [a b c].
func urnTypeChain(urn string) []string {
	parts := strings.SplitN(urn, "::", 4)
	if len(parts) < 4 {
		return nil
	}
	return strings.Split(parts[2], "$")
}

// urnName is the name part of a URN.
func urnName(urn string) string {
	parts := strings.SplitN(urn, "::", 4)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

func name(r *inventory.Resource) string {
	if r.Name != "" {
		return r.Name
	}
	return urnName(r.URN)
}

// ---- price lookups and lines ----

func (e *estimator) rate(r *inventory.Resource, key, what, value string) (PriceRow, bool) {
	p, ok := e.m.prices[key]
	if !ok {
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: what, Value: value, Key: key})
	}
	return p, ok
}

func (e *estimator) cannot(r *inventory.Resource, what, why string) {
	e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: what, Value: why})
}

// notKnown says why an input a price depends on cannot be read.
func notKnown(st inventory.State) string {
	switch st {
	case inventory.StateUnknown:
		return "is unknown"
	case inventory.StateSecret:
		return "is a secret"
	}
	return "is not set"
}

func (e *estimator) note(r *inventory.Resource, what, text string) {
	e.assumptions[r.URN+" "+what] = text
}

// add appends a line whose expected case equals its ceiling case.
func (e *estimator) add(r *inventory.Resource, component string, qty float64, unit string, unitUSD float64, usage bool) {
	e.add2(r, component, qty, qty, unit, unitUSD, usage)
}

// add2 appends a line with distinct ceiling (qty) and expected quantities.
func (e *estimator) add2(r *inventory.Resource, component string, qty, expectedQty float64, unit string, unitUSD float64, usage bool) {
	e.lines = append(e.lines, Line{
		URN:                r.URN,
		Type:               r.Type,
		Name:               name(r),
		Component:          component,
		Quantity:           qty,
		Unit:               unit,
		UnitUSD:            unitUSD,
		MonthlyUSD:         roundCents(qty * unitUSD),
		ExpectedMonthlyUSD: roundCents(expectedQty * unitUSD),
		UsageBased:         usage,
	})
}

func (e *estimator) monthly(r *inventory.Resource, component, key string, qty float64) {
	if p, ok := e.rate(r, key, "price", key); ok {
		e.add(r, component, qty, "month", p.Price, false)
	}
}
