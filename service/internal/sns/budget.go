package sns

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// BudgetNotification is what an AWS Budgets cost notification says, read
// from the text Budgets publishes to SNS. Recorded examples with their
// sources are in testdata/aws (repository root); the shape is
//
//	AWS Budget Notification November 30, 2026
//	AWS Account 123456789012
//
//	Dear AWS Customer,
//
//	You requested that we alert you when the ACTUAL Cost associated with your platform-dev budget is greater than $540.00 for the current month. ...
//
//	Budget Name: platform-dev
//	Budget Type: Cost
//	Budgeted Amount: $600.00
//	Alert Type: ACTUAL
//	Alert Threshold: > $540.00
//	ACTUAL Amount: $548.12
//
// A PERCENTAGE threshold (90 % of the budget) is shown in dollars ($540.00
// of $600.00), so the percentage is computed from the two amounts.
type BudgetNotification struct {
	BudgetName string
	// AlertType is ACTUAL or FORECASTED (older messages write "Actual").
	AlertType    string
	BudgetedUSD  float64
	ThresholdUSD float64
	// Percent is the threshold in percent of the budget, to one decimal
	// (Budgets rounds the dollar figures to cents).
	Percent float64
}

// Forecasted reports whether the alert is about forecasted, not actual, spend.
func (n BudgetNotification) Forecasted() bool { return n.AlertType == "FORECASTED" }

// ErrNotBudgetNotification is returned for any text that is not an AWS
// Budgets cost notification: alarms, RDS events, the daily cost report.
var ErrNotBudgetNotification = errors.New("not an AWS Budgets cost notification")

var (
	money     = `\$([0-9][0-9,]*(?:\.[0-9]+)?)`
	fieldRE   = regexp.MustCompile(`(?m)^([A-Za-z ]+):[ \t]*(.*?)[ \t]*$`)
	amountRE  = regexp.MustCompile(`^` + money + `$`)
	thresRE   = regexp.MustCompile(`^>\s*(?:` + money + `|([0-9]+(?:\.[0-9]+)?)\s*%)$`)
	headerRE  = regexp.MustCompile(`^AWS Budget Notification\b`)
	accountRE = regexp.MustCompile(`(?m)^AWS Account [0-9]{12}\s*$`)
)

// ParseBudgetNotification reads a Budgets cost notification and refuses
// anything else: the text must start with "AWS Budget Notification", name
// its account, and carry exactly one Budget Name, Budget Type Cost, Budgeted
// Amount, Alert Type (ACTUAL or FORECASTED) and Alert Threshold. A message
// that merely mentions a percentage (the daily cost report's "215.0% of the
// budget") is not one.
func ParseBudgetNotification(text string) (BudgetNotification, error) {
	var n BudgetNotification
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if !headerRE.MatchString(strings.TrimLeft(text, " \t\n")) || !accountRE.MatchString(text) {
		return n, ErrNotBudgetNotification
	}
	fields := map[string]string{}
	for _, m := range fieldRE.FindAllStringSubmatch(text, -1) {
		key := strings.ToLower(strings.TrimSpace(m[1]))
		if _, dup := fields[key]; dup {
			return n, fmt.Errorf("%w: %q appears twice", ErrNotBudgetNotification, m[1])
		}
		fields[key] = m[2]
	}
	need := func(k string) (string, error) {
		v, ok := fields[k]
		if !ok || v == "" {
			return "", fmt.Errorf("%w: no %q line", ErrNotBudgetNotification, k)
		}
		return v, nil
	}
	var err error
	if n.BudgetName, err = need("budget name"); err != nil {
		return n, err
	}
	typ, err := need("budget type")
	if err != nil {
		return n, err
	}
	if !strings.EqualFold(typ, "Cost") {
		return n, fmt.Errorf("%w: budget type %q is not Cost", ErrNotBudgetNotification, typ)
	}
	alert, err := need("alert type")
	if err != nil {
		return n, err
	}
	n.AlertType = strings.ToUpper(alert)
	if n.AlertType != "ACTUAL" && n.AlertType != "FORECASTED" {
		return n, fmt.Errorf("%w: alert type %q is neither ACTUAL nor FORECASTED", ErrNotBudgetNotification, alert)
	}
	budgeted, err := need("budgeted amount")
	if err != nil {
		return n, err
	}
	m := amountRE.FindStringSubmatch(budgeted)
	if m == nil {
		return n, fmt.Errorf("%w: budgeted amount %q is not a dollar amount", ErrNotBudgetNotification, budgeted)
	}
	if n.BudgetedUSD, err = dollars(m[1]); err != nil || n.BudgetedUSD <= 0 {
		return n, fmt.Errorf("%w: budgeted amount %q is not a positive dollar amount", ErrNotBudgetNotification, budgeted)
	}
	threshold, err := need("alert threshold")
	if err != nil {
		return n, err
	}
	t := thresRE.FindStringSubmatch(threshold)
	switch {
	case t == nil:
		return n, fmt.Errorf("%w: alert threshold %q is neither \"> $N\" nor \"> N%%\"", ErrNotBudgetNotification, threshold)
	case t[1] != "":
		if n.ThresholdUSD, err = dollars(t[1]); err != nil {
			return n, fmt.Errorf("%w: alert threshold %q: %v", ErrNotBudgetNotification, threshold, err)
		}
		n.Percent = n.ThresholdUSD / n.BudgetedUSD * 100
	default:
		if n.Percent, err = strconv.ParseFloat(t[2], 64); err != nil {
			return n, fmt.Errorf("%w: alert threshold %q: %v", ErrNotBudgetNotification, threshold, err)
		}
		n.ThresholdUSD = n.BudgetedUSD * n.Percent / 100
	}
	// Dollar figures are rounded to cents: 200 % of $333.33 reads $666.66,
	// 199.997 %, which is 200.0 % to one decimal.
	n.Percent = math.Round(n.Percent*10) / 10
	return n, nil
}

func dollars(s string) (float64, error) {
	s = strings.ReplaceAll(s, ",", "")
	return strconv.ParseFloat(s, 64)
}
