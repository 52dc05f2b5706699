package costdiff

import (
	"math"
	"sort"
	"strings"
)

// Change kinds of a resource between base and head.
const (
	Added   = "added"
	Removed = "removed"
	Changed = "changed"
)

// cent is the smallest difference reported: the review rounds to cents.
const cent = 0.005

// Change is one priced resource whose monthly cost differs between base and
// head (ceiling case, the number the verdict judges).
type Change struct {
	Kind             string
	URN, Type, Name  string
	BaseUSD, HeadUSD float64
	// Components are the priced parts that moved, biggest first.
	Components []ComponentChange
}

// DeltaUSD is head minus base.
func (c Change) DeltaUSD() float64 { return c.HeadUSD - c.BaseUSD }

// ComponentChange is one cost line (e.g. "instance hours") that moved.
type ComponentChange struct {
	Component        string
	BaseUSD, HeadUSD float64
}

// StackDiff compares one stack's base and head reviews. Base is nil for a
// new stack, Head is nil for a stack the head no longer reviews.
type StackDiff struct {
	Stack      string
	Base, Head *Doc
	// Changes are priced resources that were added, removed or changed, by
	// size of the change (largest first).
	Changes []Change
	// FreeAdded and FreeRemoved are resources without any cost line.
	FreeAdded, FreeRemoved []Resource
	// Policy findings: New are in head only, Kept in both, Resolved in base only.
	NewPolicies, KeptPolicies, ResolvedPolicies []Violation
	// Replacements are what the change does to the resources that hold
	// data or carry traffic (replacements first); Checked is false when a
	// review carries no inputs to compare.
	Replacements []Finding
	Checked      bool
}

// Blocking lists the findings that fail the check without the override:
// the database, the cache or the cluster replaced (or possibly replaced, or
// deleted) in the protected stack.
func (d StackDiff) Blocking() []Finding {
	var out []Finding
	for _, f := range d.Replacements {
		if f.Blocks(d.Stack) {
			out = append(out, f)
		}
	}
	return out
}

type priced struct {
	typ, name  string
	total      float64
	components map[string]float64
	order      []string
}

func pricedResources(d *Doc) map[string]*priced {
	out := map[string]*priced{}
	if d == nil {
		return out
	}
	for _, l := range d.Costs {
		p := out[l.URN]
		if p == nil {
			p = &priced{typ: l.Type, name: l.Name, components: map[string]float64{}}
			out[l.URN] = p
		}
		p.total += l.MonthlyUSD
		if _, seen := p.components[l.Component]; !seen {
			p.order = append(p.order, l.Component)
		}
		p.components[l.Component] += l.MonthlyUSD
	}
	return out
}

// Compare diffs two reviews of one stack; either may be nil (not both).
func Compare(base, head *Doc) StackDiff {
	sd := StackDiff{Base: base, Head: head}
	if head != nil {
		sd.Stack = head.Stack
	} else if base != nil {
		sd.Stack = base.Stack
	}
	b, h := pricedResources(base), pricedResources(head)
	urns := map[string]bool{}
	for u := range b {
		urns[u] = true
	}
	for u := range h {
		urns[u] = true
	}
	for u := range urns {
		bp, hp := b[u], h[u]
		c := Change{URN: u}
		switch {
		case bp == nil:
			c.Kind, c.Type, c.Name, c.HeadUSD = Added, hp.typ, hp.name, hp.total
		case hp == nil:
			c.Kind, c.Type, c.Name, c.BaseUSD = Removed, bp.typ, bp.name, bp.total
		default:
			c.Kind, c.Type, c.Name, c.BaseUSD, c.HeadUSD = Changed, hp.typ, hp.name, bp.total, hp.total
		}
		c.Components = componentChanges(bp, hp)
		if c.Kind == Changed && math.Abs(c.DeltaUSD()) < cent && len(c.Components) == 0 {
			continue
		}
		sd.Changes = append(sd.Changes, c)
	}
	sort.Slice(sd.Changes, func(i, j int) bool {
		di, dj := math.Abs(sd.Changes[i].DeltaUSD()), math.Abs(sd.Changes[j].DeltaUSD())
		if math.Abs(di-dj) >= cent {
			return di > dj
		}
		if sd.Changes[i].Name != sd.Changes[j].Name {
			return sd.Changes[i].Name < sd.Changes[j].Name
		}
		return sd.Changes[i].URN < sd.Changes[j].URN
	})

	sd.FreeAdded = freeOnlyIn(head, base, h)
	sd.FreeRemoved = freeOnlyIn(base, head, b)
	sd.NewPolicies, sd.KeptPolicies, sd.ResolvedPolicies = comparePolicies(base, head)
	if base != nil && head != nil && hasInputs(base) && hasInputs(head) {
		sd.Checked = true
		sd.Replacements = Replacements(base, head)
	}
	return sd
}

func componentChanges(bp, hp *priced) []ComponentChange {
	var order []string
	seen := map[string]bool{}
	for _, p := range []*priced{bp, hp} {
		if p == nil {
			continue
		}
		for _, c := range p.order {
			if !seen[c] {
				seen[c] = true
				order = append(order, c)
			}
		}
	}
	var out []ComponentChange
	for _, name := range order {
		cc := ComponentChange{Component: name}
		if bp != nil {
			cc.BaseUSD = bp.components[name]
		}
		if hp != nil {
			cc.HeadUSD = hp.components[name]
		}
		if math.Abs(cc.HeadUSD-cc.BaseUSD) >= cent {
			out = append(out, cc)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return math.Abs(out[i].HeadUSD-out[i].BaseUSD) > math.Abs(out[j].HeadUSD-out[j].BaseUSD)+cent/2
	})
	return out
}

// freeOnlyIn lists resources of a that b does not have and that have no
// cost line in a (those are Changes already).
func freeOnlyIn(a, b *Doc, pricedInA map[string]*priced) []Resource {
	if a == nil {
		return nil
	}
	inB := map[string]bool{}
	if b != nil {
		for _, r := range b.Resources {
			inB[r.URN] = true
		}
	}
	var out []Resource
	for _, r := range a.Resources {
		if inB[r.URN] || pricedInA[r.URN] != nil || r.Type == "pulumi:pulumi:Stack" {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// comparePolicies matches findings first exactly, then by rule, resource and
// level (the cost rule's message carries amounts that move with every change).
func comparePolicies(base, head *Doc) (added, kept, resolved []Violation) {
	var bs, hs []Violation
	if base != nil {
		bs = append(bs, base.Policies...)
	}
	if head != nil {
		hs = append(hs, head.Policies...)
	}
	usedB := make([]bool, len(bs))
	matchedH := make([]bool, len(hs))
	match := func(same func(b, h Violation) bool) {
		for i, h := range hs {
			if matchedH[i] {
				continue
			}
			for j, b := range bs {
				if !usedB[j] && same(b, h) {
					usedB[j], matchedH[i] = true, true
					break
				}
			}
		}
	}
	match(func(b, h Violation) bool { return b == h })
	match(func(b, h Violation) bool { return b.RuleID == h.RuleID && b.URN == h.URN && b.Level == h.Level })
	for i, h := range hs {
		if matchedH[i] {
			kept = append(kept, h)
		} else {
			added = append(added, h)
		}
	}
	for j, b := range bs {
		if !usedB[j] {
			resolved = append(resolved, b)
		}
	}
	for _, vs := range [][]Violation{added, kept, resolved} {
		sortViolations(vs)
	}
	return added, kept, resolved
}

func sortViolations(vs []Violation) {
	rank := func(v Violation) int {
		if v.Level == LevelMandatory {
			return 0
		}
		return 1
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if rank(vs[i]) != rank(vs[j]) {
			return rank(vs[i]) < rank(vs[j])
		}
		if vs[i].RuleID != vs[j].RuleID {
			return vs[i].RuleID < vs[j].RuleID
		}
		if vs[i].URN != vs[j].URN {
			return vs[i].URN < vs[j].URN
		}
		return vs[i].Message < vs[j].Message
	})
}

// urnName is the name part of a URN ("...::platform-dev-db" -> "platform-dev-db").
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}
