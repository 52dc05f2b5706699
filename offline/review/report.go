// Package review is the offline review: it evaluates the Pulumi program for
// a stack file under the recording mock engine (internal/mockengine), prices
// what the program registers (internal/cost) and runs the guardrails
// (policies/rules), and reports what a stack would create, what it would
// cost and what the guardrails say, with no AWS account. It is on the top
// floor: it imports the program and the policies; only the CLI and the tests
// import it.
package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/internal/verdict"
	"github.com/tenantco/platform/policies/rules"
	"github.com/tenantco/platform/stacks"
)

// PlaceholderRuleID marks the review's findings of documentation values in
// the stack config, which `pulumi preview` and `pulumi up` refuse.
const PlaceholderRuleID = "config-placeholder"

// Report is the offline review of one stack. Its JSON form is a contract:
// the PR cost comment and other tools read it (keep field names).
type Report struct {
	Stack       string               `json:"stack"`
	Project     string               `json:"project"`
	EvaluatedOn string               `json:"evaluated_on"`
	Currency    string               `json:"currency"`
	Prices      cost.PriceInfo       `json:"prices"`
	Resources   []inventory.Resource `json:"resources"`
	Costs       []cost.Line          `json:"costs"`
	Free        []string             `json:"free"`
	// MonthlyUSD is the ceiling case (node groups at max size), the number
	// the verdict and the policy pack judge.
	MonthlyUSD         float64 `json:"monthly_usd"`
	ExpectedMonthlyUSD float64 `json:"expected_monthly_usd"`
	CeilingUSD         float64 `json:"ceiling_usd"`
	BudgetUSD          float64 `json:"budget_usd"`
	// Verdict is the cost verdict: OK, WARN (>= 90 % of the ceiling), DENY
	// (> 100 %). HeadroomUSD is ceiling - monthly.
	Verdict     verdict.Verdict   `json:"verdict"`
	HeadroomUSD float64           `json:"headroom_usd"`
	Assumptions map[string]string `json:"assumptions"`
	// Policies are the guardrail results (the same rules as the policy pack);
	// PolicyVerdict is DENY when any is mandatory.
	Policies      []rules.Violation `json:"policies"`
	PolicyVerdict verdict.Verdict   `json:"policy_verdict"`
}

// Denied reports whether the stack must not be applied.
func (r *Report) Denied() bool {
	return r.Verdict == verdict.Deny || r.PolicyVerdict == verdict.Deny
}

// Build evaluates the program for a stack file and prices it at date at.
// Errors (bad config, an unpriced resource) mean no verdict can be given.
func Build(sf *stacks.StackFile, at time.Time) (*Report, error) {
	if bad := stacks.UnknownKeys(sf.Keys()); len(bad) > 0 {
		return nil, fmt.Errorf("stack %s: %s", sf.Stack, strings.Join(bad, "; "))
	}
	cfg, err := stacks.Load(sf, sf.Project, sf.Stack)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", sf.Stack, err)
	}
	e, err := mockengine.Run(stacks.ReviewProgram, sf.Project, sf.Stack, sf.Config, sf.SecretKeys, false)
	if err != nil {
		return nil, fmt.Errorf("stack %s: evaluate program: %w", sf.Stack, err)
	}
	resources := e.Resources()

	model, err := cost.Load()
	if err != nil {
		return nil, err
	}
	est, err := model.Estimate(resources, cfg.Usage, at)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", sf.Stack, err)
	}
	costVerdict, headroom := cost.Judge(est.MonthlyUSD, cfg.MonthlyCeilingUSD)

	// The rules judge the estimate above: the stack is priced once.
	violations, err := rules.Evaluate(resources, rules.Settings{
		Environment: cfg.Environment,
		CeilingUSD:  cfg.MonthlyCeilingUSD,
		Usage:       cfg.Usage,
		At:          at,
		Estimate:    est,
	})
	if err != nil {
		return nil, fmt.Errorf("stack %s: policies: %w", sf.Stack, err)
	}
	// `pulumi preview`/`up` refuse these (stacks.Program); the review runs
	// on and shows them, so a stack file can be read before it is filled in.
	for _, p := range cfg.Placeholders() {
		violations = append(violations, rules.Violation{RuleID: PlaceholderRuleID, Message: p, Level: rules.Advisory})
	}
	policyVerdict := verdict.OK
	for _, v := range violations {
		switch {
		case v.Level == rules.Mandatory:
			policyVerdict = verdict.Deny
		case v.Level == rules.Advisory && policyVerdict == verdict.OK:
			policyVerdict = verdict.Warn
		}
	}
	if violations == nil {
		violations = []rules.Violation{}
	}
	return &Report{
		Stack:              sf.Stack,
		Project:            sf.Project,
		EvaluatedOn:        at.Format(time.DateOnly),
		Currency:           "USD",
		Prices:             est.Prices,
		Resources:          resources,
		Costs:              est.Lines,
		Free:               est.Free,
		MonthlyUSD:         est.MonthlyUSD,
		ExpectedMonthlyUSD: est.ExpectedMonthlyUSD,
		CeilingUSD:         cfg.MonthlyCeilingUSD,
		BudgetUSD:          cfg.MonthlyBudgetUSD,
		Verdict:            costVerdict,
		HeadroomUSD:        headroom,
		Assumptions:        est.Assumptions,
		Policies:           violations,
		PolicyVerdict:      policyVerdict,
	}, nil
}
