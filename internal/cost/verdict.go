package cost

import (
	"sort"

	"github.com/tenantco/platform/internal/verdict"
)

// The estimate judged: its biggest contributors and its verdict against a
// ceiling.

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
