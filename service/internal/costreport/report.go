package costreport

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Status is the report's headline, matching the budget breaker levels.
type Status string

const (
	StatusOK        Status = "OK"
	StatusWarn      Status = "WARN"      // forecast >= 90 % of budget (breaker warn)
	StatusOver      Status = "OVER"      // month to date >= 100 % (breaker freeze)
	StatusEmergency Status = "EMERGENCY" // month to date >= 200 % (breaker emergency)
)

// Line is one service's or tenant's spend.
type Line struct {
	Name         string
	USD          float64 // month to date
	YesterdayUSD float64 // services only
}

// Other sums the lines left out of a top list.
type Other struct {
	Count        int
	USD          float64
	YesterdayUSD float64
}

// Report is one day's cost report of a stack.
type Report struct {
	Stack, Environment string
	TenantTagKey       string
	Periods            Periods

	BudgetUSD, EstimateUSD, CeilingUSD float64

	YesterdayUSD    float64
	MTDUSD          float64
	ForecastUSD     float64 // MTDUSD / DaysElapsed * DaysInMonth
	MTDPercent      float64 // of budget
	ForecastPercent float64 // of budget
	Status          Status
	// Estimated is set when Cost Explorer marked figures as not yet final.
	Estimated bool

	Services      []Line // top 5 by month-to-date spend
	OtherServices Other
	Tenants       []Line // top 5; spend without the tenant tag is UntaggedName
	OtherTenants  Other
}

// maxSubject keeps the SNS Subject under SNS's limit ("less than 100
// characters").
const maxSubject = 99

// Subject is the one-line email subject: ASCII, no line breaks, < 100 chars.
func (r *Report) Subject() string {
	tail := fmt.Sprintf(" AWS cost %s: MTD %s (%s of budget), forecast %s (%s)",
		r.Status, usd0(r.MTDUSD), pct(r.MTDPercent), usd0(r.ForecastUSD), pct(r.ForecastPercent))
	label := strings.TrimSpace(r.Environment + " " + r.Stack)
	if room := maxSubject - len(tail) - 2; len(label) > room { // the stack name gives way, the figures stay
		label = trim(label, max(room, 4))
	}
	s := "[" + label + "]" + tail
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	if len(b) > maxSubject {
		b = append(b[:maxSubject-3], "..."...)
	}
	return string(b)
}

// Text is the plain-text body of the report, for an email.
func (r *Report) Text() string {
	var b strings.Builder
	p := r.Periods
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	env := r.Environment
	if env == "" {
		env = "-"
	}
	w("AWS cost report for stack %s (environment %s), %s", r.Stack, env, p.Today.Format("Mon 2 Jan 2006"))
	w("")
	w("Status: %s - %s", r.Status, r.statusReason())
	w("")
	month := p.MonthStart.Format("January 2006")
	w("Yesterday (%s):  %s", p.YesterdayStart.Format("2 Jan"), usd(r.YesterdayUSD))
	if p.PreviousMonth {
		w("%s (whole month, today is the 1st):  %s = %s of the %s budget", month, usd(r.MTDUSD), pct(r.MTDPercent), usd(r.BudgetUSD))
	} else {
		w("Month to date (%s-%s, %d of %d days):  %s = %s of the %s budget",
			p.MonthStart.Format("2 Jan"), p.MonthEnd.AddDate(0, 0, -1).Format("2 Jan"), p.DaysElapsed, p.DaysInMonth,
			usd(r.MTDUSD), pct(r.MTDPercent), usd(r.BudgetUSD))
	}
	fc := fmt.Sprintf("Forecast for %s (linear):  %s = %s of budget", month, usd(r.ForecastUSD), pct(r.ForecastPercent))
	if r.CeilingUSD > 0 {
		fc += fmt.Sprintf(", %s of the %s ceiling", pct(100*r.ForecastUSD/r.CeilingUSD), usd(r.CeilingUSD))
	}
	w("%s", fc)
	if r.EstimateUSD > 0 {
		d := r.ForecastUSD - r.EstimateUSD
		dir := "above"
		if d < 0 {
			dir = "below"
		}
		w("Review estimate (monthly_usd):  %s; the forecast is %s (%s) %s it",
			usd(r.EstimateUSD), usd(math.Abs(d)), pct(100*math.Abs(d)/r.EstimateUSD), dir)
	} else {
		w("Review estimate:  not configured (ESTIMATE_USD)")
	}

	w("")
	w("Top services (month to date / yesterday):")
	if len(r.Services) == 0 {
		w("  none")
	}
	for _, l := range r.Services {
		w("  %-48s %12s %10s", trim(l.Name, 48), usd(l.USD), usd(l.YesterdayUSD))
	}
	if o := r.OtherServices; o.Count > 0 {
		w("  %-48s %12s %10s", fmt.Sprintf("%d other services", o.Count), usd(o.USD), usd(o.YesterdayUSD))
	}

	w("")
	w("Top tenants (month to date, tag %q):", r.TenantTagKey)
	if len(r.Tenants) == 0 {
		w("  none")
	}
	for _, l := range r.Tenants {
		w("  %-48s %12s", trim(l.Name, 48), usd(l.USD))
	}
	if o := r.OtherTenants; o.Count > 0 {
		w("  %-48s %12s", fmt.Sprintf("%d other tenants", o.Count), usd(o.USD))
	}

	w("")
	if r.MTDUSD == 0 && len(r.Services) == 0 && p.DaysElapsed >= 2 {
		w("NOTE: Cost Explorer reports no spend for resources tagged %s=%s. If the stack is running,", StackTagKey, r.Stack)
		w("check that %q is an active cost allocation tag (Billing > Cost allocation tags).", StackTagKey)
	}
	if r.Estimated {
		w("Some figures are marked estimated by Cost Explorer and may still change.")
	}
	w("Source: Cost Explorer %s, UTC days, resources tagged %s=%s only", Metric, StackTagKey, r.Stack)
	w("(untagged account-wide charges such as tax or support are not included).")
	return b.String()
}

func (r *Report) statusReason() string {
	switch r.Status {
	case StatusEmergency:
		return fmt.Sprintf("month-to-date spend is %s of the budget (>= 200 %%: breaker level emergency)", pct(r.MTDPercent))
	case StatusOver:
		return fmt.Sprintf("month-to-date spend is %s of the budget (>= 100 %%: breaker level freeze)", pct(r.MTDPercent))
	case StatusWarn:
		return fmt.Sprintf("month-end forecast is %s of the budget (>= 90 %%: breaker level warn)", pct(r.ForecastPercent))
	}
	return fmt.Sprintf("month-end forecast is %s of the budget (warning at 90 %%)", pct(r.ForecastPercent))
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func pct(p float64) string { return strconv.FormatFloat(p, 'f', 1, 64) + "%" }

// usd formats dollars with cents and thousands separators: $1,234.56.
func usd(x float64) string { return money(x, 2) }

// usd0 formats whole dollars: $1,235.
func usd0(x float64) string { return money(x, 0) }

func money(x float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(x), 'f', decimals, 64)
	if s == strconv.FormatFloat(0, 'f', decimals, 64) {
		x = 0 // no "-$0.00"
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if x < 0 {
		b.WriteByte('-')
	}
	b.WriteByte('$')
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
