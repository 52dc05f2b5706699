package review

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/inventory"
)

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the human review: inventory tree and counts, cost table,
// verdict, assumptions and policy results.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.f("Offline review of stack %q (project %s), evaluated %s\n", r.Stack, r.Project, r.EvaluatedOn)
	p.f("Prices: %s, as of %s (%s)\n\n", r.Prices.Region, r.Prices.AsOf, r.Prices.Source)

	p.f("== Inventory: %d resources\n", len(r.Resources))
	r.writeTree(p)
	p.f("\nCount per type:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, tc := range typeCounts(r.Resources) {
		fmt.Fprintf(tw, "  %s\t%d\n", tc.typ, tc.n)
	}
	tw.Flush()

	p.f("\n== Monthly cost (%s)\n", r.Currency)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "RESOURCE\tCOMPONENT\tQUANTITY\tUNIT\tUNIT USD\tMONTHLY USD\tEXPECTED USD\t\n")
	for _, l := range r.Costs {
		usage := ""
		if l.UsageBased {
			usage = " *"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Name, l.Component, usage,
			trimFloat(l.Quantity), l.Unit, trimFloat(l.UnitUSD), cost.FormatUSD(l.MonthlyUSD), cost.FormatUSD(l.ExpectedMonthlyUSD))
	}
	fmt.Fprintf(tw, "TOTAL\t\t\t\t\t%s\t%s\t\n", cost.FormatUSD(r.MonthlyUSD), cost.FormatUSD(r.ExpectedMonthlyUSD))
	tw.Flush()
	p.f("  * usage-based (see assumptions). MONTHLY prices node groups at max size (the ceiling case);\n")
	p.f("    EXPECTED at desired size. %d resources are free (VPC, subnets, IAM, Kubernetes objects, ...).\n", len(r.Free))

	pct := 0.0
	if r.CeilingUSD > 0 {
		pct = 100 * r.MonthlyUSD / r.CeilingUSD
	}
	p.f("\n== Verdict: %s — %s of ceiling %s (%.1f %%), headroom %s; budget %s\n",
		r.Verdict, cost.FormatUSD(r.MonthlyUSD), cost.FormatUSD(r.CeilingUSD), pct, cost.FormatUSD(r.HeadroomUSD), cost.FormatUSD(r.BudgetUSD))

	r.writeBudgets(p)

	p.f("\n== Assumptions\n")
	keys := make([]string, 0, len(r.Assumptions))
	for k := range r.Assumptions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.f("  %s: %s\n", k, r.Assumptions[k])
	}

	p.f("\n== Policies: %s\n", r.PolicyVerdict)
	if len(r.Policies) == 0 {
		p.f("  every guardrail passes\n")
	}
	for _, v := range r.Policies {
		p.f("  %s\n", v.String())
	}
	return p.err
}

// writeBudgets shows what the stack's budgets alert on and which breakers
// act, read from the resources the program registers.
func (r *Report) writeBudgets(p *printer) {
	for _, b := range r.Resources {
		if b.Type != "aws:budgets/budget:Budget" {
			continue
		}
		amount, _ := b.String("limitAmount")
		name, _ := b.String("name")
		p.f("\n== Budget %s: $%s per month\n", name, amount)
		notes, _ := b.Get("notifications")
		list, _ := notes.([]any)
		for i := range list {
			n := inventory.Resource{Inputs: map[string]any{"n": list[i]}}
			pct, _ := n.Number("n.threshold")
			kind, _ := n.String("n.notificationType")
			to := "the alerts topic"
			if topics := n.Strings("n.subscriberSnsTopicArns"); len(topics) == 1 {
				to = "topic " + arnTail(topics[0])
			}
			if mails := n.Strings("n.subscriberEmailAddresses"); len(mails) > 0 {
				to += fmt.Sprintf(" and %d email addresses", len(mails))
			}
			p.f("  alert at %s %% (%s) to %s\n", trimFloat(pct), strings.ToLower(kind), to)
		}
		for _, a := range r.Resources {
			if a.Type != "aws:budgets/budgetAction:BudgetAction" {
				continue
			}
			pct, _ := a.Number("actionThreshold.actionThresholdValue")
			typ, _ := a.String("actionType")
			what := typ
			switch typ {
			case "APPLY_IAM_POLICY":
				what = "attach the freeze policy to " + strings.Join(a.Strings("definition.iamActionDefinition.roles"), ", ")
			case "RUN_SSM_DOCUMENTS":
				sub, _ := a.String("definition.ssmActionDefinition.actionSubType")
				what = strings.ToLower(strings.ReplaceAll(sub, "_", " ")) + " " + strings.Join(a.Strings("definition.ssmActionDefinition.instanceIds"), ", ")
			}
			p.f("  breaker at %s %%: %s (%s)\n", trimFloat(pct), what, a.Name)
		}
		for _, f := range r.Resources {
			if f.Type == "aws:lambda/function:Function" {
				ng, _ := f.String("environment.variables.NODEGROUP_NAME")
				th, _ := f.String("environment.variables.THRESHOLD_PERCENT")
				topic, _ := f.String("environment.variables.EMERGENCY_TOPIC_ARN")
				p.f("  breaker at %s %%: scale node group %s to zero (%s, on topic %s)\n", th, ng, f.Name, arnTail(topic))
				if db, ok := f.String("environment.variables.DB_INSTANCE_ID"); ok {
					p.f("  breaker at %s %%: keep %s stopped when RDS restarts it after 7 days, until the reset (%s)\n", th, db, f.Name)
				}
			}
		}
	}
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, a ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, a...)
	}
}

// writeTree prints components with their children indented below them.
func (r *Report) writeTree(p *printer) {
	children := map[string][]inventory.Resource{}
	known := map[string]bool{}
	for _, res := range r.Resources {
		known[res.URN] = true
	}
	for _, res := range r.Resources {
		parent := res.Parent
		if !known[parent] {
			parent = ""
		}
		children[parent] = append(children[parent], res)
	}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool {
			if kids[i].Type != kids[j].Type {
				return kids[i].Type < kids[j].Type
			}
			return kids[i].Name < kids[j].Name
		})
		for _, k := range kids {
			p.f("%s%s  (%s)\n", strings.Repeat("  ", depth+1), k.Name, k.Type)
			walk(k.URN, depth+1)
		}
	}
	walk("", 0)
}

type typeCount struct {
	typ string
	n   int
}

func typeCounts(rs []inventory.Resource) []typeCount {
	m := map[string]int{}
	for _, r := range rs {
		m[r.Type]++
	}
	out := make([]typeCount, 0, len(m))
	for t, n := range m {
		out = append(out, typeCount{t, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].typ < out[j].typ })
	return out
}

// TypeCounts returns "type -> count" of the inventory.
func (r *Report) TypeCounts() map[string]int {
	m := map[string]int{}
	for _, tc := range typeCounts(r.Resources) {
		m[tc.typ] = tc.n
	}
	return m
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// arnTail is the last part of an ARN (a topic's name).
func arnTail(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }
