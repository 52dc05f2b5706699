package cost

import (
	"fmt"

	"github.com/tenantco/platform/internal/inventory"
)

// The rest: observability (log groups, alarms), security (KMS keys), the
// image registry and budgets.

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
