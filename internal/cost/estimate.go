package cost

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/verdict"
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
	switch r.Type {
	case "eks:index:Cluster":
		e.eksCluster(r, true)
	case "aws:eks/cluster:Cluster":
		e.eksCluster(r, false)
	case "eks:index:ManagedNodeGroup", "aws:eks/nodeGroup:NodeGroup":
		e.managedNodeGroup(r)
	case "aws:ec2/natGateway:NatGateway":
		e.natGateway(r)
	case "aws:ec2/eip:Eip":
		e.eip(r)
	case "aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer":
		e.loadBalancer(r)
	case "aws:rds/instance:Instance":
		e.rdsInstance(r)
	case "aws:elasticache/replicationGroup:ReplicationGroup":
		e.replicationGroup(r)
	case "aws:cloudwatch/logGroup:LogGroup":
		e.logGroup(r)
	case "aws:kms/key:Key":
		e.kmsKey(r)
	case "aws:secretsmanager/secret:Secret":
		e.monthly(r, "secret", "secretsmanager.secret", 1)
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		e.vpcEndpoint(r)
	case "aws:budgets/budget:Budget":
		e.budget(r)
	case "aws:budgets/budgetAction:BudgetAction":
		e.budgetAction(r)
	case "aws:cloudwatch/dashboard:Dashboard":
		e.monthly(r, "dashboard", "cloudwatch.dashboard", 1)
		e.assumptions["cloudwatchDashboards"] = "the 3 free dashboards per account are not subtracted (conservative)"
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		e.metricAlarm(r)
	case "aws:ecr/repository:Repository":
		e.ecrRepository(r)
	case "kubernetes:core/v1:Service":
		e.k8sService(r)
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

// ---- EKS ----

func (e *estimator) eksCluster(r *inventory.Resource, component bool) {
	std, ok1 := e.rate(r, "eks.cluster", "price", "EKS cluster hours")
	ext, ok2 := e.rate(r, "eks.extended-support", "price", "EKS extended support")
	if ok1 && ok2 {
		unit := std.Price
		if e.extendedSupport(r) {
			unit += ext.Price
		}
		e.add(r, "control plane hours", e.u.HoursPerMonth, "hours", unit, false)
	}
	if component {
		e.defaultNodeGroup(r)
	}
}

// extendedSupport decides standard vs extended support for the cluster's
// Kubernetes version at the evaluation date, and records why.
func (e *estimator) extendedSupport(r *inventory.Resource) bool {
	ver, st := r.StringAt("version")
	switch st {
	case inventory.StateUnknown:
		e.note(r, "version", "Kubernetes version unknown (preview): assumed in standard support ($0.10/h)")
		return false
	case inventory.StateAbsent:
		e.note(r, "version", "Kubernetes version not set (EKS creates the newest version): assumed in standard support ($0.10/h)")
		return false
	}
	maj, min, ok := parseMinor(ver)
	if !ok {
		e.note(r, "version", fmt.Sprintf("Kubernetes version %q not understood: assumed in standard support ($0.10/h)", ver))
		return false
	}
	vs := e.m.versions
	for _, v := range vs {
		if v.major != maj || v.minor != min {
			continue
		}
		day := time.Date(e.at.Year(), e.at.Month(), e.at.Day(), 0, 0, 0, 0, time.UTC)
		if day.Before(v.endStd) {
			e.note(r, "version", fmt.Sprintf("Kubernetes %s: standard support until %s, extended support after that (+$0.50/h)", v.row.Version, v.row.EndOfStandardSupport))
			return false
		}
		if !day.Before(v.endExt) {
			e.note(r, "version", fmt.Sprintf("Kubernetes %s: past end of extended support (%s); AWS auto-upgrades the control plane, priced at the extended-support rate as the ceiling", v.row.Version, v.row.EndOfExtendedSupport))
			return true
		}
		e.note(r, "version", fmt.Sprintf("Kubernetes %s: end of standard support %s, in extended support until %s ($0.60/h)", v.row.Version, v.row.EndOfStandardSupport, v.row.EndOfExtendedSupport))
		return true
	}
	if len(vs) > 0 {
		newest, oldest := vs[len(vs)-1], vs[0]
		if maj > newest.major || (maj == newest.major && min > newest.minor) {
			e.note(r, "version", fmt.Sprintf("Kubernetes %s is newer than the support calendar (newest %s): assumed in standard support", ver, newest.row.Version))
			return false
		}
		if maj < oldest.major || (maj == oldest.major && min < oldest.minor) {
			e.note(r, "version", fmt.Sprintf("Kubernetes %s is older than the support calendar (oldest %s, standard support ended %s): priced at the extended-support rate", ver, oldest.row.Version, oldest.row.EndOfStandardSupport))
			return true
		}
	}
	e.note(r, "version", fmt.Sprintf("Kubernetes %s is not in the support calendar: assumed in standard support", ver))
	return false
}

// defaultNodeGroup prices the node group pulumi-eks creates unless
// skipDefaultNodeGroup is true or fargate is set (defaults: t2.medium,
// desired 2, min 1, max 2, 20 GiB root volume).
func (e *estimator) defaultNodeGroup(r *inventory.Resource) {
	skip, st := r.BoolAt("skipDefaultNodeGroup")
	if st == inventory.StateKnown && skip {
		return
	}
	if v, st := r.Lookup("fargate"); st != inventory.StateAbsent {
		if b, isBool := v.(bool); !isBool || b {
			return
		}
	}
	if st == inventory.StateUnknown {
		e.note(r, "skipDefaultNodeGroup", "skipDefaultNodeGroup unknown (preview): the default node group is priced (conservative)")
	}
	pick := func(paths ...string) string {
		for _, p := range paths {
			if _, st := r.Lookup(p); st != inventory.StateAbsent {
				return p
			}
		}
		return paths[len(paths)-1]
	}
	it, ist := r.StringAt(pick("nodeGroupOptions.instanceType", "instanceType"))
	if ist == inventory.StateUnknown {
		e.cannot(r, "default node group instance type", "is unknown (set skipDefaultNodeGroup: true or a literal instanceType)")
		return
	}
	if ist == inventory.StateAbsent {
		it = "t2.medium"
	}
	nodes := nodeCount{}
	nodes.read(r, pick("nodeGroupOptions.maxSize", "maxSize"), pick("nodeGroupOptions.desiredCapacity", "desiredCapacity"), pick("nodeGroupOptions.minSize", "minSize"), 2, 2, 1)
	size, sst := r.NumberAt(pick("nodeGroupOptions.nodeRootVolumeSize", "nodeRootVolumeSize"))
	if sst != inventory.StateKnown {
		size = 20
	}
	vt, vst := r.StringAt(pick("nodeGroupOptions.nodeRootVolumeType", "nodeRootVolumeType"))
	if vst != inventory.StateKnown {
		vt = "gp2"
	}
	e.note(r, "defaultNodeGroup", fmt.Sprintf("skipDefaultNodeGroup is not true: the pulumi-eks default node group is priced (%s, max %s / desired %s nodes, %s GiB %s root volume; pulumi-eks defaults t2.medium, 2/2, 20 GiB gp2 where not set)%s",
		it, num(nodes.max), num(nodes.desired), num(size), vt, nodes.why))
	e.priceNodes(r, "default node group ", it, nodes, []volume{{size, vt}})
}

type nodeCount struct {
	max, desired float64
	why          string
	err          string
}

// read fills the ceiling (max) and expected (desired) node counts. An
// unknown max falls back to desired, then min; an unknown desired falls back
// to the ceiling count; absent values take the given defaults.
func (n *nodeCount) read(r *inventory.Resource, maxPath, desiredPath, minPath string, defMax, defDesired, defMin float64) {
	maxV, maxS := r.NumberAt(maxPath)
	desV, desS := r.NumberAt(desiredPath)
	minV, minS := r.NumberAt(minPath)
	var why []string
	if maxS == inventory.StateAbsent {
		maxV, maxS = defMax, inventory.StateKnown
		why = append(why, fmt.Sprintf("%s not set: default %s", maxPath, num(defMax)))
	}
	if desS == inventory.StateAbsent {
		desV, desS = defDesired, inventory.StateKnown
		why = append(why, fmt.Sprintf("%s not set: default %s", desiredPath, num(defDesired)))
	}
	if minS == inventory.StateAbsent {
		minV, minS = defMin, inventory.StateKnown
	}
	switch {
	case maxS == inventory.StateKnown:
		n.max = maxV
	case desS == inventory.StateKnown:
		n.max = desV
		why = append(why, fmt.Sprintf("%s unknown: ceiling uses %s (%s)", maxPath, desiredPath, num(desV)))
	case minS == inventory.StateKnown:
		n.max = minV
		why = append(why, fmt.Sprintf("%s and %s unknown: ceiling uses %s (%s)", maxPath, desiredPath, minPath, num(minV)))
	default:
		n.err = fmt.Sprintf("%s, %s and %s are all unknown", maxPath, desiredPath, minPath)
		return
	}
	if desS == inventory.StateKnown {
		n.desired = desV
	} else {
		n.desired = n.max
		why = append(why, fmt.Sprintf("%s unknown: expected case uses the ceiling count", desiredPath))
	}
	if n.desired > n.max {
		n.desired = n.max
	}
	if len(why) > 0 {
		n.why = "; " + strings.Join(why, "; ")
	}
}

type volume struct {
	gb  float64
	typ string
}

// priceNodes adds "instance hours" (ceiling: max nodes, expected: desired
// nodes) and "EBS storage" lines.
func (e *estimator) priceNodes(r *inventory.Resource, prefix, instanceType string, n nodeCount, vols []volume) {
	if n.err != "" {
		e.cannot(r, "node count", n.err)
		return
	}
	if p, ok := e.rate(r, "ec2.instance."+instanceType, "instance type", instanceType); ok {
		h := e.u.HoursPerMonth
		e.add2(r, prefix+"instance hours", n.max*h, n.desired*h, "hours", p.Price, false)
	}
	perType := map[string]float64{}
	var types []string
	for _, v := range vols {
		if _, seen := perType[v.typ]; !seen {
			types = append(types, v.typ)
		}
		perType[v.typ] += v.gb
	}
	for _, t := range types {
		p, ok := e.rate(r, "ebs."+t, "EBS volume type", t)
		if !ok {
			continue
		}
		comp := prefix + "EBS storage"
		if len(types) > 1 {
			comp += " (" + t + ")"
		}
		gb := perType[t]
		e.add2(r, comp, n.max*gb, n.desired*gb, "GB-month", p.Price, false)
	}
}

func (e *estimator) managedNodeGroup(r *inventory.Resource) {
	if ct, st := r.StringAt("capacityType"); st == inventory.StateKnown && strings.EqualFold(ct, "SPOT") {
		e.note(r, "capacityType", "SPOT node group: priced at the on-demand rate as the ceiling (spot prices vary)")
	} else if st == inventory.StateUnknown {
		e.note(r, "capacityType", "capacityType unknown (preview): priced on-demand")
	}

	// Launch template (by name) for the root volume and maybe the instance type.
	var lt *inventory.Resource
	ltName, ltSt := r.StringAt("launchTemplate.name")
	_, ltIn := r.Lookup("launchTemplate")
	hasLT := ltIn != inventory.StateAbsent
	switch {
	case ltSt == inventory.StateKnown:
		lt = e.launchTmpls[ltName]
		if lt == nil {
			e.note(r, "launchTemplate", fmt.Sprintf("launch template %q not found among the stack's aws:ec2/launchTemplate:LaunchTemplate names: 20 GiB gp2 root volume assumed", ltName))
		}
	case hasLT && len(e.allLaunchTmpls) == 1:
		lt = e.allLaunchTmpls[0]
		e.note(r, "launchTemplate", fmt.Sprintf("launch template name unknown or given by id: the stack's only launch template %q is assumed", name(lt)))
	case hasLT:
		e.note(r, "launchTemplate", "launch template not resolvable by name (id or unknown name): 20 GiB gp2 root volume assumed")
	}

	it := ""
	v, ok := r.Get("instanceTypes")
	switch l := v.(type) {
	case []any:
		if len(l) > 0 {
			if s, isStr := l[0].(string); isStr && s != "" {
				it = s
			} else {
				e.cannot(r, "instance type", "instanceTypes[0] is unknown")
				return
			}
			if len(l) > 1 {
				e.note(r, "instanceTypes", fmt.Sprintf("%d instance types: priced as the first, %s", len(l), it))
			}
		}
	case inventory.Unknown:
		e.cannot(r, "instance type", "instanceTypes is unknown")
		return
	}
	if it == "" && ok && v != nil {
		if _, isList := v.([]any); !isList {
			e.cannot(r, "instance type", "instanceTypes is not a list")
			return
		}
	}
	if it == "" && lt != nil {
		if s, st := lt.StringAt("instanceType"); st == inventory.StateKnown {
			it = s
		}
	}
	if it == "" {
		it = "t3.medium"
		e.note(r, "instanceTypes", "instanceTypes not set: EKS default t3.medium")
	}

	n := nodeCount{}
	n.read(r, "scalingConfig.maxSize", "scalingConfig.desiredSize", "scalingConfig.minSize", 2, 2, 1)
	if n.why != "" {
		e.note(r, "scalingConfig", "node count"+n.why)
	}

	var vols []volume
	switch {
	case lt != nil:
		vols = e.launchTemplateVolumes(r, lt)
	case hasLT:
		vols = []volume{{20, "gp2"}}
	default:
		size, st := r.NumberAt("diskSize")
		if st != inventory.StateKnown {
			size = 20
		}
		vols = []volume{{size, "gp2"}}
		e.note(r, "diskSize", fmt.Sprintf("no launch template: %s GiB root volume per node (diskSize, EKS default 20), volume type assumed gp2 (the dearer of gp2/gp3)", num(size)))
	}
	e.priceNodes(r, "", it, n, vols)
}

// launchTemplateVolumes reads blockDeviceMappings[*].ebs of a launch
// template: volumeSize (string or number) and volumeType (default gp2).
func (e *estimator) launchTemplateVolumes(ng, lt *inventory.Resource) []volume {
	mappings, st := lt.ListAt("blockDeviceMappings")
	count := len(mappings)
	if st != inventory.StateKnown || count == 0 {
		e.note(ng, "launchTemplate", fmt.Sprintf("launch template %q has no known blockDeviceMappings: AMI default root volume assumed (20 GiB gp2)", name(lt)))
		return []volume{{20, "gp2"}}
	}
	var vols []volume
	for i := 0; i < count; i++ {
		base := fmt.Sprintf("blockDeviceMappings.%d.ebs", i)
		if _, ok := lt.Get(base); !ok {
			continue // ephemeral / no-device mapping
		}
		size, sst := lt.NumberAt(base + ".volumeSize")
		if sst != inventory.StateKnown {
			size = 20
			e.note(ng, base+".volumeSize", fmt.Sprintf("launch template %q %s.volumeSize not known: 20 GiB assumed", name(lt), base))
		}
		typ, tst := lt.StringAt(base + ".volumeType")
		if tst != inventory.StateKnown {
			typ = "gp2"
			e.note(ng, base+".volumeType", fmt.Sprintf("launch template %q %s.volumeType not set: gp2 assumed (EC2 default)", name(lt), base))
		}
		vols = append(vols, volume{size, typ})
	}
	if len(vols) == 0 {
		return []volume{{20, "gp2"}}
	}
	return vols
}

// ---- network ----

func (e *estimator) natGateway(r *inventory.Resource) {
	h, ok1 := e.rate(r, "nat.hours", "price", "NAT gateway hours")
	d, ok2 := e.rate(r, "nat.data", "price", "NAT gateway data")
	if !ok1 || !ok2 {
		return
	}
	e.add(r, "NAT hours", e.u.HoursPerMonth, "hours", h.Price, false)
	e.add(r, "NAT data", e.u.NATDataGBPerGateway, "GB", d.Price, true)
	if ct, _ := r.StringAt("connectivityType"); ct != "private" {
		e.assumptions["natPublicIPv4"] = "a public NAT gateway's public IPv4 address is priced on its aws:ec2/eip:Eip"
	}
}

func (e *estimator) eip(r *inventory.Resource) {
	if p, ok := e.rate(r, "ipv4.public", "price", "public IPv4"); ok {
		e.add(r, "public IPv4", e.u.HoursPerMonth, "address-hours", p.Price, false)
	}
}

func (e *estimator) loadBalancer(r *inventory.Resource) {
	kind, st := r.StringAt("loadBalancerType")
	switch {
	case st == inventory.StateAbsent:
		kind = "application"
	case st == inventory.StateUnknown:
		kind = "application"
		e.note(r, "loadBalancerType", "loadBalancerType unknown (preview): priced as an ALB (the dearer LCU)")
	}
	var prefix string
	switch kind {
	case "application":
		prefix = "alb"
	case "network":
		prefix = "nlb"
	default:
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "load balancer type", Value: kind, Key: kind + ".hours"})
		return
	}
	internal, ist := r.BoolAt("internal")
	if ist == inventory.StateUnknown {
		e.note(r, "internal", "internal unknown (preview): priced as internet-facing (public IPv4 per subnet)")
	}
	subnetList, sst := r.ListAt("subnets")
	subnets := len(subnetList)
	if sst != inventory.StateKnown {
		if l, mst := r.ListAt("subnetMappings"); mst == inventory.StateKnown {
			subnets, sst = len(l), inventory.StateKnown
		}
	}
	switch sst {
	case inventory.StateUnknown:
		subnets = 3
		e.note(r, "subnets", "subnets unknown (preview): 3 subnets (AZs) assumed")
	case inventory.StateAbsent:
		subnets = 2
		e.note(r, "subnets", "subnets not set: 2 subnets assumed (the ALB minimum)")
	}
	e.priceLB(r, prefix, !internal, float64(subnets), "")
}

// priceLB adds "LB hours", "LCU" (usage) and, for internet-facing load
// balancers, "public IPv4" (one address per subnet/AZ).
func (e *estimator) priceLB(r *inventory.Resource, prefix string, public bool, addresses float64, why string) {
	h, ok1 := e.rate(r, prefix+".hours", "price", prefix+" hours")
	l, ok2 := e.rate(r, prefix+".lcu", "price", prefix+" LCU")
	if !ok1 || !ok2 {
		return
	}
	hours := e.u.HoursPerMonth
	e.add(r, "LB hours", hours, "hours", h.Price, false)
	e.add(r, "LCU", e.u.LBLCUs*hours, "LCU-hours", l.Price, true)
	if public {
		if p, ok := e.rate(r, "ipv4.public", "price", "public IPv4"); ok {
			e.add(r, "public IPv4", addresses*hours, "address-hours", p.Price, false)
		}
	}
}

func (e *estimator) k8sService(r *inventory.Resource) {
	typ, st := r.StringAt("spec.type")
	if st == inventory.StateKnown && typ != "LoadBalancer" || st == inventory.StateAbsent {
		e.free = append(e.free, r.URN)
		return
	}
	if st == inventory.StateUnknown {
		e.note(r, "spec.type", "spec.type unknown (preview): priced as a LoadBalancer Service (conservative)")
	}
	public := true
	ann := func(k string) string {
		v, _ := r.Get("metadata.annotations")
		m, _ := v.(map[string]any)
		s, _ := m[k].(string)
		return s
	}
	if ann("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal" || ann("service.beta.kubernetes.io/aws-load-balancer-internal") == "true" {
		public = false
	}
	txt := "Service of type LoadBalancer creates an AWS load balancer outside Pulumi: priced as an NLB with the lbLcu usage"
	if public {
		txt += " and 3 public IPv4 addresses (3 AZs assumed)"
	} else {
		txt += " (internal: no public IPv4)"
	}
	e.note(r, "loadBalancer", txt)
	e.priceLB(r, "nlb", public, 3, "")
}

func (e *estimator) vpcEndpoint(r *inventory.Resource) {
	typ, st := r.StringAt("vpcEndpointType")
	switch {
	case st == inventory.StateAbsent:
		typ = "Gateway" // the provider's default
	case st == inventory.StateUnknown:
		typ = "Interface"
		e.note(r, "vpcEndpointType", "vpcEndpointType unknown (preview): priced as an Interface endpoint (conservative)")
	}
	switch typ {
	case "Gateway":
		e.free = append(e.free, r.URN)
		return
	case "Interface":
	default:
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "VPC endpoint type", Value: typ, Key: "vpce." + strings.ToLower(typ) + ".hours"})
		return
	}
	h, ok1 := e.rate(r, "vpce.interface.hours", "price", "interface endpoint hours")
	d, ok2 := e.rate(r, "vpce.interface.data", "price", "interface endpoint data")
	if !ok1 || !ok2 {
		return
	}
	ids, sst := r.ListAt("subnetIds")
	azs := len(ids)
	switch {
	case sst == inventory.StateUnknown:
		azs = 3
		e.note(r, "subnetIds", "subnetIds unknown (preview): 3 AZs assumed")
	case sst == inventory.StateAbsent || azs == 0:
		azs = 1
		e.note(r, "subnetIds", "subnetIds not set: 1 AZ assumed")
	}
	e.add(r, "endpoint hours", float64(azs)*e.u.HoursPerMonth, "hours", h.Price, false)
	e.add(r, "endpoint data", e.u.EndpointDataGB, "GB", d.Price, true)
}

// ---- data stores ----

func (e *estimator) rdsInstance(r *inventory.Resource) {
	class, st := r.StringAt("instanceClass")
	if st != inventory.StateKnown {
		e.cannot(r, "RDS instance class", notKnown(st))
		return
	}
	engine, est := r.StringAt("engine")
	switch est {
	case inventory.StateUnknown:
		engine = "postgres"
		e.note(r, "engine", "engine unknown (preview): priced as PostgreSQL")
	case inventory.StateAbsent:
		e.cannot(r, "RDS engine", "is not set")
		return
	}
	multi, mst := r.BoolAt("multiAz")
	if mst == inventory.StateUnknown {
		multi = true
		e.note(r, "multiAz", "multiAz unknown (preview): priced Multi-AZ (ceiling)")
	}
	az := "single-az"
	if multi {
		az = "multi-az"
	}
	inst, ok := e.rate(r, fmt.Sprintf("rds.instance.%s.%s.%s", engine, class, az), "RDS instance class", fmt.Sprintf("%s %s %s", class, engine, az))
	if ok {
		e.add(r, "instance hours", e.u.HoursPerMonth, "hours", inst.Price, false)
	}

	gb, gst := r.NumberAt("allocatedStorage")
	if gst != inventory.StateKnown {
		gb = 20
		e.note(r, "allocatedStorage", "allocatedStorage not known: 20 GB assumed (the gp3 minimum)")
	}
	stype, tst := r.StringAt("storageType")
	if tst != inventory.StateKnown {
		stype = "gp2"
		if _, iops := r.Get("iops"); iops {
			stype = "io1"
		}
		e.note(r, "storageType", fmt.Sprintf("storageType not known: %s assumed (provider default)", stype))
	}
	if p, ok := e.rate(r, fmt.Sprintf("rds.storage.%s.%s", stype, az), "RDS storage type", stype+" "+az); ok {
		e.add(r, "storage", gb, "GB-month", p.Price, false)
	}

	// Backup storage beyond the free 100 % of allocated storage (usage).
	ret, rst := r.NumberAt("backupRetentionPeriod")
	if rst == inventory.StateKnown && ret == 0 {
		e.note(r, "backupRetentionPeriod", "backupRetentionPeriod 0: no automated backups, no backup storage")
	} else if p, ok := e.rate(r, "rds.backup", "price", "RDS backup storage"); ok {
		share := e.u.BackupGBBeyondFree / float64(max(e.rdsInstances, 1))
		e.add(r, "backup storage", share, "GB-month", p.Price, true)
		if rst == inventory.StateKnown && ret > 7 && e.u.BackupGBBeyondFree == 0 {
			e.note(r, "backupRetentionPeriod", fmt.Sprintf("backupRetentionPeriod %s days > 7 while platform:usage.backupGbBeyondFree is 0: backups may exceed the free allocation", num(ret)))
		}
	}

	// Performance Insights: 7 days are free, longer retention is per vCPU-month
	// (both instances of a Multi-AZ deployment count).
	pi, pst := r.BoolAt("performanceInsightsEnabled")
	if pst == inventory.StateKnown && pi || pst == inventory.StateUnknown {
		days, dst := r.NumberAt("performanceInsightsRetentionPeriod")
		if dst == inventory.StateAbsent {
			days = 7
		}
		priced := dst == inventory.StateUnknown || days > 7
		if priced && (dst == inventory.StateUnknown || pst == inventory.StateUnknown) {
			e.note(r, "performanceInsights", "Performance Insights enabled/retention unknown (preview): long-term retention priced (conservative)")
		}
		if priced {
			if ok && inst.VCPU == 0 {
				e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "vCPU count of RDS instance class", Value: class, Key: inst.Key})
			} else if p, pok := e.rate(r, "rds.performance-insights", "price", "Performance Insights"); pok && ok {
				vcpu := float64(inst.VCPU)
				if multi {
					vcpu *= 2
				}
				e.add(r, "Performance Insights", vcpu, "vCPU-month", p.Price, false)
			}
		}
	}

	if mp, st := r.BoolAt("manageMasterUserPassword"); st == inventory.StateKnown && mp {
		if p, ok := e.rate(r, "secretsmanager.secret", "price", "Secrets Manager secret"); ok {
			e.add(r, "managed master secret", 1, "month", p.Price, false)
		}
	}
}

func (e *estimator) replicationGroup(r *inventory.Resource) {
	nodeType, st := r.StringAt("nodeType")
	if st != inventory.StateKnown {
		e.cannot(r, "ElastiCache node type", notKnown(st))
		return
	}
	engine, est := r.StringAt("engine")
	if est != inventory.StateKnown {
		engine = "redis"
		if est == inventory.StateUnknown {
			e.note(r, "engine", "engine unknown (preview): priced as Redis OSS (the dearer engine)")
		}
	}
	factor := 1.0
	switch strings.ToLower(engine) {
	case "redis":
	case "valkey":
		f, ok := e.rate(r, "elasticache.valkey-factor", "price", "Valkey factor")
		if !ok {
			return
		}
		factor = f.Price
	default:
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "ElastiCache engine", Value: engine, Key: "elasticache.node." + strings.ToLower(engine) + "." + nodeType})
		return
	}
	var nodes float64
	if n, st := r.NumberAt("numCacheClusters"); st == inventory.StateKnown {
		nodes = n
	} else {
		groups, gst := r.NumberAt("numNodeGroups")
		reps, rst := r.NumberAt("replicasPerNodeGroup")
		switch {
		case gst == inventory.StateKnown && rst == inventory.StateKnown:
			nodes = groups * (reps + 1)
		case gst == inventory.StateKnown:
			nodes = groups
			if rst == inventory.StateUnknown {
				nodes = groups * 2
				e.note(r, "replicasPerNodeGroup", "replicasPerNodeGroup unknown (preview): 1 replica per node group assumed")
			}
		case st == inventory.StateUnknown || gst == inventory.StateUnknown:
			nodes = 2
			e.note(r, "numCacheClusters", "node count unknown (preview): 2 nodes assumed (primary + replica)")
		default:
			nodes = 1
			e.note(r, "numCacheClusters", "numCacheClusters/numNodeGroups not set: 1 node (AWS default)")
		}
	}
	p, ok := e.rate(r, "elasticache.node.redis."+nodeType, "ElastiCache node type", nodeType)
	if !ok {
		return
	}
	if factor != 1 {
		e.note(r, "engine", fmt.Sprintf("Valkey: Redis OSS node price x %s", num(factor)))
	}
	e.add(r, "node hours", nodes*e.u.HoursPerMonth, "hours", p.Price*factor, false)
}

// ---- observability, security, misc ----

func (e *estimator) logGroup(r *inventory.Resource) {
	in, ok1 := e.rate(r, "logs.ingest", "price", "CloudWatch Logs ingestion")
	sto, ok2 := e.rate(r, "logs.storage", "price", "CloudWatch Logs storage")
	if !ok1 || !ok2 {
		return
	}
	n := float64(max(e.logGroups, 1))
	e.add(r, "log ingestion", e.u.LogIngestGB/n, "GB", in.Price, true)
	e.add(r, "log storage", e.u.LogStoredGB/n, "GB-month", sto.Price, true)
}

func (e *estimator) kmsKey(r *inventory.Resource) {
	e.monthly(r, "KMS key", "kms.key", 1)
	if rot, st := r.BoolAt("enableKeyRotation"); st == inventory.StateKnown && rot {
		e.note(r, "enableKeyRotation", "key rotation: each of the first two rotations adds $1/month after it happens (not in this month's estimate)")
	}
}

func (e *estimator) metricAlarm(r *inventory.Resource) {
	key, comp := "cloudwatch.alarm.standard", "alarm"
	if p, st := r.NumberAt("period"); st == inventory.StateKnown && p < 60 {
		key, comp = "cloudwatch.alarm.high-resolution", "alarm (high resolution)"
	}
	metrics := 1.0
	if v, ok := r.Get("metricQueries"); ok {
		if l, isList := v.([]any); isList {
			n := 0
			for _, q := range l {
				if m, isMap := q.(map[string]any); isMap && m["metric"] != nil {
					n++
				}
			}
			if n > 0 {
				metrics = float64(n)
			}
		}
	}
	e.monthly(r, comp, key, metrics)
}

func (e *estimator) ecrRepository(r *inventory.Resource) {
	if p, ok := e.rate(r, "ecr.storage", "price", "ECR storage"); ok {
		e.add(r, "ECR storage", e.u.ECRStorageGB/float64(max(e.ecrRepos, 1)), "GB-month", p.Price, true)
	}
}

// budget: free unless a BudgetAction references it by name.
func (e *estimator) budget(r *inventory.Resource) {
	n, _ := r.StringAt("name")
	if n == "" || !e.actionBudgets[n] {
		e.free = append(e.free, r.URN)
		return
	}
	e.priceActionBudget(r, n)
}

func (e *estimator) budgetAction(r *inventory.Resource) {
	n, st := r.StringAt("budgetName")
	if st == inventory.StateKnown {
		if _, inStack := e.budgetByName[n]; inStack {
			e.free = append(e.free, r.URN) // priced on the budget
			return
		}
		if e.pricedBudgets[n] {
			e.free = append(e.free, r.URN)
			return
		}
		e.note(r, "budgetName", fmt.Sprintf("budget %q is not in the stack: the action-enabled budget is priced on this action", n))
		e.priceActionBudget(r, n)
		return
	}
	e.note(r, "budgetName", "budgetName unknown (preview): priced as its own action-enabled budget (conservative)")
	e.priceActionBudget(r, "")
}

func (e *estimator) priceActionBudget(r *inventory.Resource, budgetName string) {
	if budgetName != "" {
		if e.pricedBudgets[budgetName] {
			e.free = append(e.free, r.URN)
			return
		}
		e.pricedBudgets[budgetName] = true
	}
	p, ok := e.rate(r, "budgets.action-budget-day", "price", "action-enabled budget")
	if !ok {
		return
	}
	days := roundTo(e.u.HoursPerMonth/24, 2) // 730 h -> 30.42 days
	e.add(r, "action-enabled budget", days, "budget-days", p.Price, false)
	e.assumptions["budgets"] = "budgets without actions are free; action-enabled budgets cost $0.10 per budget-day; the 62 free budget-days per account per month are not subtracted (conservative)"
}

// ---- Top and Judge ----

// Top returns the n biggest contributors by monthly cost, aggregated per
// resource (URN) into one Component "total" line, largest first (ties by
// URN). n <= 0 returns all.
func (e *Estimate) Top(n int) []Line {
	idx := map[string]int{}
	var out []Line
	for _, l := range e.Lines {
		i, ok := idx[l.URN]
		if !ok {
			i = len(out)
			idx[l.URN] = i
			out = append(out, Line{URN: l.URN, Type: l.Type, Name: l.Name, Component: "total", Quantity: 1, Unit: "month"})
		}
		t := &out[i]
		t.MonthlyUSD = float64(toCents(t.MonthlyUSD)+toCents(l.MonthlyUSD)) / 100
		t.ExpectedMonthlyUSD = float64(toCents(t.ExpectedMonthlyUSD)+toCents(l.ExpectedMonthlyUSD)) / 100
		t.UsageBased = t.UsageBased || l.UsageBased
	}
	for i := range out {
		out[i].UnitUSD = out[i].MonthlyUSD
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].MonthlyUSD != out[j].MonthlyUSD {
			return out[i].MonthlyUSD > out[j].MonthlyUSD
		}
		return out[i].URN < out[j].URN
	})
	if n > 0 && n < len(out) {
		out = out[:n]
	}
	return out
}

// Judge: WARN at >= 90 % of ceiling, DENY at > 100 %; headroom = ceiling -
// total (negative when over), in cents. Amounts are compared in whole cents.
// A ceiling <= 0 allows only a total that does not exceed it.
func Judge(total, ceiling float64) (verdict.Verdict, float64) {
	t, c := toCents(total), toCents(ceiling)
	headroom := float64(c-t) / 100
	switch {
	case t > c:
		return verdict.Deny, headroom
	case c <= 0:
		return verdict.OK, headroom
	case t*10 >= c*9:
		return verdict.Warn, headroom
	}
	return verdict.OK, headroom
}

// ---- money ----

// toCents rounds a dollar amount to whole cents, half away from zero, after
// removing binary floating-point noise (0.0225*730 is 16.424999... in
// float64 but 16.425 in decimal, which rounds to 16.43).
func toCents(usd float64) int64 {
	micro := math.Round(usd * 1e6)
	if micro < 0 {
		return -((int64(-micro) + 5000) / 10000)
	}
	return (int64(micro) + 5000) / 10000
}

func roundCents(usd float64) float64 { return float64(toCents(usd)) / 100 }

func roundTo(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func joinErrs(errs []error) error { return errors.Join(errs...) }
