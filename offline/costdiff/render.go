package costdiff

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/verdict"
)

// Marker is the first line of every comment: the pipeline looks for it to
// update its one comment in place instead of adding a new one per push.
const Marker = "<!-- platform-cost-comment -->"

// Limits that keep the comment readable (and far below GitHub's 65,536
// characters per comment).
const (
	MaxChanges  = 10 // resource rows per stack
	MaxPolicies = 20 // findings per list
	MaxFreeList = 6  // free resource types named per line
)

// Options change how the check judges the reviews.
type Options struct {
	// AllowReplace: the pull request carries the override label, so a
	// replacement of the database, the cache or the cluster in the
	// protected stack is shown but does not fail the check.
	AllowReplace bool
}

// Result says which head stacks fail the check.
type Result struct {
	// Denied lists the head stacks that fail the check, in the order
	// given: over their ceiling, a mandatory violation, or (without the
	// override) a replacement of the database, the cache or the cluster
	// in the protected stack.
	Denied []string
	// Replacing lists the stacks that replace or delete a critical
	// resource in the protected stack, override or not.
	Replacing []string
}

// Failed reports whether any head stack is denied.
func (r Result) Failed() bool { return len(r.Denied) > 0 }

// Pair matches base and head documents by stack name: one StackDiff per
// head stack, in the order given, then one per base stack the head lacks.
// A stack named twice on the same side is an error.
func Pair(base, head []Doc) ([]StackDiff, error) {
	bases := map[string]*Doc{}
	for i := range base {
		s := base[i].Stack
		if bases[s] != nil {
			return nil, fmt.Errorf("two base documents for stack %q", s)
		}
		bases[s] = &base[i]
	}
	seen := map[string]bool{}
	var out []StackDiff
	for i := range head {
		s := head[i].Stack
		if seen[s] {
			return nil, fmt.Errorf("two head documents for stack %q", s)
		}
		seen[s] = true
		out = append(out, Compare(bases[s], &head[i]))
	}
	for i := range base {
		if !seen[base[i].Stack] {
			out = append(out, Compare(&base[i], nil))
		}
	}
	return out, nil
}

// RenderMarkdown writes the pull request comment (markdown) for the given
// reviews and reports which head stacks fail the check.
func RenderMarkdown(base, head []Doc, opts Options, w io.Writer) (Result, error) {
	diffs, err := Pair(base, head)
	if err != nil {
		return Result{}, err
	}
	if len(head) == 0 {
		return Result{}, fmt.Errorf("no head review: nothing to compare")
	}
	res := result(diffs, opts)
	p := &printer{w: w}
	p.line(Marker)
	if res.Failed() {
		p.line("## ❌ Cost review: %s blocked", plural(len(res.Denied), "stack", "stacks"))
	} else {
		p.line("## ✅ Cost review: every stack within its ceiling")
	}
	// What would lose data comes before any number.
	for _, d := range diffs {
		if blocking := d.Blocking(); len(blocking) > 0 {
			p.line("")
			writeBlocking(p, d.Stack, blocking, opts)
		}
	}
	p.line("")
	writeSummary(p, diffs)
	for _, d := range diffs {
		if reasons := denyReasons(d, opts); len(reasons) > 0 {
			p.line("")
			p.line("**`%s` fails the check:** %s.", d.Stack, strings.Join(reasons, "; "))
		}
	}
	for _, d := range diffs {
		p.line("")
		writeStack(p, d, opts)
	}
	p.line("")
	writeFooter(p, head)
	return res, p.err
}

// RenderText writes one line per stack, for logs, and one indented line per
// replaced or deleted resource.
func RenderText(base, head []Doc, opts Options, w io.Writer) (Result, error) {
	diffs, err := Pair(base, head)
	if err != nil {
		return Result{}, err
	}
	p := &printer{w: w}
	for _, d := range diffs {
		switch {
		case d.Head == nil:
			p.line("%s: removed (base %s)", d.Stack, cost.FormatUSD(d.Base.MonthlyUSD))
		case d.Base == nil:
			p.line("%s: new stack %s, ceiling %s, cost %s, policies %s", d.Stack, cost.FormatUSD(d.Head.MonthlyUSD),
				cost.FormatUSD(d.Head.CeilingUSD), d.Head.Verdict, d.Head.PolicyVerdict)
		default:
			p.line("%s: %s -> %s (%s), ceiling %s, cost %s, policies %s", d.Stack, cost.FormatUSD(d.Base.MonthlyUSD),
				cost.FormatUSD(d.Head.MonthlyUSD), signedMoney(d.Head.MonthlyUSD-d.Base.MonthlyUSD), cost.FormatUSD(d.Head.CeilingUSD),
				d.Head.Verdict, d.Head.PolicyVerdict)
		}
		for _, f := range d.Replacements {
			if f.Outcome < MayReplace {
				continue
			}
			mark := ""
			if f.Blocks(d.Stack) {
				mark = " [fails the check without the " + OverrideLabel + " label]"
				if opts.AllowReplace {
					mark = " [allowed by the " + OverrideLabel + " label]"
				}
			}
			w := why(f)
			if w != "" {
				w = " — " + w
			}
			p.line("  %s %s (%s): %s%s%s", f.Kind, f.Name, f.Type, f.Effect(), w, mark)
		}
	}
	return result(diffs, opts), p.err
}

func result(diffs []StackDiff, opts Options) Result {
	var r Result
	for _, d := range diffs {
		if len(d.Blocking()) > 0 {
			r.Replacing = append(r.Replacing, d.Stack)
		}
		if len(denyReasons(d, opts)) > 0 {
			r.Denied = append(r.Denied, d.Stack)
		}
	}
	return r
}

// denyReasons is why the head stack fails the check: its own verdicts
// (Doc.DenyReasons) and, without the override, what it replaces.
func denyReasons(d StackDiff, opts Options) []string {
	if d.Head == nil {
		return nil
	}
	reasons := d.Head.DenyReasons()
	if blocking := d.Blocking(); len(blocking) > 0 && !opts.AllowReplace {
		var what []string
		for _, f := range blocking {
			what = append(what, fmt.Sprintf("the %s `%s` %s", f.Kind, cell(f.Name), f.Outcome))
		}
		reasons = append(reasons, fmt.Sprintf("%s without the `%s` label", strings.Join(what, ", "), OverrideLabel))
	}
	return reasons
}

// writeBlocking opens the comment with the critical replacements of the
// protected stack.
func writeBlocking(p *printer, stack string, blocking []Finding, opts Options) {
	if opts.AllowReplace {
		p.line("### ⚠️ `%s` replaces what holds its data (allowed by the `%s` label)", stack, OverrideLabel)
	} else {
		p.line("### ⛔ `%s` replaces what holds its data", stack)
	}
	p.line("")
	p.line("| Resource | Kind | Change | Why |")
	p.line("|---|---|---|---|")
	for _, f := range blocking {
		p.line("| `%s` | %s (`%s`) | **%s** | %s |", cell(f.Name), f.Kind, cell(f.Type), cell(f.Effect()), cell(why(f)))
	}
	p.line("")
	if opts.AllowReplace {
		p.line("The pull request carries the `%s` label, so this does not fail the check; the deploy to `%s` still waits "+
			"for the environment's reviewers.", OverrideLabel, stack)
		return
	}
	p.line("This fails the check: a replaced database or cache comes back empty, a replaced cluster takes every workload "+
		"with it. If it is intended (data moved or restored from a snapshot, a window agreed), a reviewer adds the `%s` "+
		"label to the pull request and the check runs again (docs/delivery.md).", OverrideLabel)
}

func why(f Finding) string {
	parts := append(append([]string{}, f.Reasons...), f.Notes...)
	return strings.Join(parts, "; ")
}

// writeReplacements lists what the change does to the resources that hold
// data or carry traffic.
func writeReplacements(p *printer, d StackDiff, opts Options) {
	if d.Base == nil || d.Head == nil {
		return
	}
	if !d.Checked {
		p.line("**Replacements:** not checked: a review carries no resource inputs (written before reviews recorded them).")
		p.line("")
		return
	}
	if len(d.Replacements) == 0 {
		p.line("**Replacements:** none. No database, cache, cluster, node group, NAT gateway, subnet, load balancer or KMS key is replaced, deleted or changed.")
		p.line("")
		return
	}
	replaced := 0
	for _, f := range d.Replacements {
		if f.Outcome >= MayReplace {
			replaced++
		}
	}
	if replaced == 0 {
		p.line("**Replacements:** none; changed in place:")
	} else {
		p.line("**Replacements** (from the inputs the provider treats as replace-only)")
	}
	p.line("")
	p.line("| | Resource | Kind | Change | Why |")
	p.line("|---|---|---|---|---|")
	for _, f := range d.Replacements {
		icon := ""
		switch {
		case f.Blocks(d.Stack) && !opts.AllowReplace:
			icon = "⛔"
		case f.Outcome >= MayReplace:
			icon = "⚠️"
		}
		p.line("| %s | `%s` | %s | %s | %s |", icon, cell(f.Name), f.Kind, cell(f.Effect()), cell(why(f)))
	}
	p.line("")
}

func writeSummary(p *printer, diffs []StackDiff) {
	p.line("| Stack | Base | Head | Change | Ceiling | Cost | Policies |")
	p.line("|---|--:|--:|--:|--:|:--|:--|")
	for _, d := range diffs {
		switch {
		case d.Head == nil:
			p.line("| `%s` | %s | — | removed | %s | — | — |", d.Stack, cost.FormatUSD(d.Base.MonthlyUSD), cost.FormatUSD(d.Base.CeilingUSD))
		default:
			h := d.Head
			base, change := "—", "new stack"
			if d.Base != nil {
				base, change = cost.FormatUSD(d.Base.MonthlyUSD), changeCell(d.Base.MonthlyUSD, h.MonthlyUSD)
			}
			p.line("| `%s` | %s | %s | %s | %s (%s) | %s | %s |", d.Stack, base, cost.FormatUSD(h.MonthlyUSD), change,
				cost.FormatUSD(h.CeilingUSD), percentOf(h.MonthlyUSD, h.CeilingUSD), verdictCell(costVerdict(h)), verdictCell(policyVerdict(h)))
		}
	}
}

// costVerdict is the document's verdict, raised to DENY when its own numbers
// say so (see Doc.DenyReasons).
func costVerdict(d *Doc) verdict.Verdict {
	if d.CeilingUSD > 0 && d.MonthlyUSD > d.CeilingUSD {
		return verdict.Deny
	}
	return d.Verdict
}

func policyVerdict(d *Doc) verdict.Verdict {
	for _, v := range d.Policies {
		if v.Level == LevelMandatory {
			return verdict.Deny
		}
	}
	return d.PolicyVerdict
}

func writeStack(p *printer, d StackDiff, opts Options) {
	switch {
	case d.Head == nil:
		p.line("### `%s`: removed", d.Stack)
		p.line("")
		p.line("The base branch reviewed this stack; the head does not. Its base estimate was %s a month.", cost.FormatUSD(d.Base.MonthlyUSD))
		return
	case d.Base == nil:
		p.line("### `%s`: new stack", d.Stack)
	default:
		p.line("### `%s`", d.Stack)
	}
	p.line("")
	writeReplacements(p, d, opts)
	b, h := d.Base, d.Head
	val := func(f func(*Doc) float64) string {
		if b == nil {
			return "—"
		}
		return cost.FormatUSD(f(b))
	}
	delta := func(f func(*Doc) float64) string {
		if b == nil {
			return ""
		}
		return signedMoney(f(h) - f(b))
	}
	monthly := func(x *Doc) float64 { return x.MonthlyUSD }
	expected := func(x *Doc) float64 { return x.ExpectedMonthlyUSD }
	headroom := func(x *Doc) float64 { return x.HeadroomUSD }
	limits := func(x *Doc) string {
		if x == nil {
			return "—"
		}
		return cost.FormatUSD(x.CeilingUSD) + " / " + cost.FormatUSD(x.BudgetUSD)
	}
	verdicts := func(x *Doc, f func(*Doc) verdict.Verdict) string {
		if x == nil {
			return "—"
		}
		return verdictCell(f(x))
	}
	p.line("| | Base | Head | Change |")
	p.line("|---|--:|--:|--:|")
	p.line("| Monthly, node groups at max (judged) | %s | %s | %s |", val(monthly), cost.FormatUSD(h.MonthlyUSD), delta(monthly))
	p.line("| Expected, node groups at desired | %s | %s | %s |", val(expected), cost.FormatUSD(h.ExpectedMonthlyUSD), delta(expected))
	p.line("| Ceiling / budget | %s | %s | |", limits(b), limits(h))
	p.line("| Headroom under the ceiling | %s | %s | %s |", val(headroom), cost.FormatUSD(h.HeadroomUSD), delta(headroom))
	p.line("| Cost verdict | %s | %s | |", verdicts(b, costVerdict), verdictCell(costVerdict(h)))
	p.line("| Policy verdict | %s | %s | |", verdicts(b, policyVerdict), verdictCell(policyVerdict(h)))
	p.line("")

	writeChanges(p, d)
	writePolicies(p, d)
}

func writeChanges(p *printer, d StackDiff) {
	title := "**Biggest changes** (monthly, node groups at max)"
	if d.Base == nil {
		title = "**Biggest costs** (monthly, node groups at max)"
	}
	if len(d.Changes) == 0 {
		p.line("No priced resource changed.")
	} else {
		p.line("%s", title)
		p.line("")
		p.line("| | Resource | Type | Base | Head | Change | What moved |")
		p.line("|---|---|---|--:|--:|--:|---|")
		shown := d.Changes
		if len(shown) > MaxChanges {
			shown = shown[:MaxChanges]
		}
		for _, c := range shown {
			base, head := cost.FormatUSD(c.BaseUSD), cost.FormatUSD(c.HeadUSD)
			if c.Kind == Added {
				base = "—"
			}
			if c.Kind == Removed {
				head = "—"
			}
			p.line("| %s | `%s` | `%s` | %s | %s | %s | %s |", c.Kind, cell(c.Name), cell(c.Type), base, head,
				signedMoney(c.DeltaUSD()), cell(moved(c)))
		}
		if rest := d.Changes[len(shown):]; len(rest) > 0 {
			sum := 0.0
			for _, c := range rest {
				sum += c.DeltaUSD()
			}
			p.line("")
			p.line("_and %s (%s in total)._", plural(len(rest), "smaller change", "smaller changes"), signedMoney(sum))
		}
	}
	if d.Base != nil && (len(d.FreeAdded) > 0 || len(d.FreeRemoved) > 0) {
		p.line("")
		var parts []string
		if len(d.FreeAdded) > 0 {
			parts = append(parts, fmt.Sprintf("%d added (%s)", len(d.FreeAdded), typeList(d.FreeAdded)))
		}
		if len(d.FreeRemoved) > 0 {
			parts = append(parts, fmt.Sprintf("%d removed (%s)", len(d.FreeRemoved), typeList(d.FreeRemoved)))
		}
		p.line("Free resources: %s.", strings.Join(parts, "; "))
	}
	p.line("")
}

// moved describes the components behind a change, biggest first.
func moved(c Change) string {
	var parts []string
	for i, cc := range c.Components {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("%d more", len(c.Components)-3))
			break
		}
		parts = append(parts, cc.Component+" "+signedMoney(cc.HeadUSD-cc.BaseUSD))
	}
	return strings.Join(parts, ", ")
}

func typeList(rs []Resource) string {
	counts := map[string]int{}
	var types []string
	for _, r := range rs {
		if counts[r.Type] == 0 {
			types = append(types, r.Type)
		}
		counts[r.Type]++
	}
	sort.SliceStable(types, func(i, j int) bool { return counts[types[i]] > counts[types[j]] })
	var parts []string
	for i, t := range types {
		if i == MaxFreeList {
			parts = append(parts, fmt.Sprintf("%d more types", len(types)-MaxFreeList))
			break
		}
		s := "`" + cell(t) + "`"
		if counts[t] > 1 {
			s += fmt.Sprintf(" ×%d", counts[t])
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func writePolicies(p *printer, d StackDiff) {
	var mandatoryKept, advisoryKept []Violation
	for _, v := range d.KeptPolicies {
		if v.Level == LevelMandatory {
			mandatoryKept = append(mandatoryKept, v)
		} else {
			advisoryKept = append(advisoryKept, v)
		}
	}
	if len(d.NewPolicies) == 0 && len(d.KeptPolicies) == 0 && len(d.ResolvedPolicies) == 0 {
		p.line("**Policies:** every guardrail passes.")
		return
	}
	p.line("**Policies**")
	p.line("")
	since := "new"
	if d.Base == nil {
		since = "found"
	}
	list := func(vs []Violation, status string) {
		for i, v := range vs {
			if i == MaxPolicies {
				p.line("- _and %d more %s_", len(vs)-MaxPolicies, status)
				break
			}
			icon := "⚠️"
			switch {
			case status == "resolved":
				icon = "✅"
			case v.Level == LevelMandatory:
				icon = "⛔"
			}
			target := ""
			if v.URN != "" {
				target = " `" + cell(urnName(v.URN)) + "`"
			}
			p.line("- %s %s, %s `%s`%s: %s", icon, status, v.Level, cell(v.RuleID), target, cell(v.Message))
		}
	}
	list(d.NewPolicies, since)
	list(mandatoryKept, "unchanged")
	list(d.ResolvedPolicies, "resolved")
	if len(advisoryKept) > 0 {
		p.line("- %s unchanged since the base branch", plural(len(advisoryKept), "advisory finding", "advisory findings"))
	}
}

func writeFooter(p *printer, head []Doc) {
	prices := head[0].Prices
	asOf := ""
	if prices.AsOf != "" {
		asOf = fmt.Sprintf(", prices %s as of %s", prices.Region, prices.AsOf)
	}
	p.line("<sub>Offline review (`go run . review --stack NAME --json`) of the base branch and of this pull request%s. "+
		"Monthly totals price node groups at their max size (the number the ceiling judges); usage-based lines follow "+
		"each stack's `platform:usage`. A stack over its `platform:monthlyCeiling` or with a mandatory guardrail "+
		"violation fails this check, and so does replacing or deleting the database, the cache or the cluster in `%s` "+
		"unless the pull request has the `%s` label. This comment is updated in place on every push.</sub>", asOf, ProtectedStack, OverrideLabel)
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", a...)
	}
}

func verdictCell(v verdict.Verdict) string {
	switch v {
	case verdict.OK:
		return "✅ OK"
	case verdict.Warn:
		return "⚠️ WARN"
	case verdict.Deny:
		return "❌ DENY"
	}
	return string(v)
}

func changeCell(base, head float64) string {
	d := head - base
	if math.Abs(d) < cent {
		return "no change"
	}
	if base <= 0 {
		return signedMoney(d)
	}
	return fmt.Sprintf("%s (%+.1f %%)", signedMoney(d), 100*d/base)
}

func percentOf(v, of float64) string {
	if of <= 0 {
		return "no ceiling"
	}
	return fmt.Sprintf("%.0f %%", 100*v/of)
}

// signedMoney always carries a sign, except for zero: +$12.00, -$3.50, $0.00.
func signedMoney(v float64) string {
	switch {
	case math.Abs(v) < cent:
		return "$0.00"
	case v > 0:
		return "+" + cost.FormatUSD(v)
	}
	return cost.FormatUSD(v)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// cell makes text safe inside a table cell or a list item: no line breaks,
// no column separators, no backticks that would end a code span.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "`", "'")
}
