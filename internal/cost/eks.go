package cost

import (
	"fmt"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/inventory"
)

// EKS: the control plane (standard or extended support), the pulumi-eks
// default node group, managed node groups and their launch templates.

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
	e.nodeCredits(r, lt, hasLT, it, n)
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
