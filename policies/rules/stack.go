package rules

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/verdict"
)

// Stack config keys the rules read.
const (
	ConfigEnvironment    = "platform:environment"
	ConfigMonthlyCeiling = "platform:monthlyCeiling"
	ConfigUsage          = cost.UsageConfigKey // "platform:usage"
)

// ParseSettings reads Settings from stack config as Pulumi hands it over
// (key "platform:name", value text; structured values as JSON). A missing
// key leaves its zero value, which the rules report (platform-config,
// cost-ceiling); a malformed value is an error. platform:usage is read by
// cost.ParseUsage (laid over cost.DefaultUsage). at is the pricing date.
func ParseSettings(config map[string]string, at time.Time) (Settings, error) {
	s := Settings{Environment: config[ConfigEnvironment], At: at}
	if v := strings.TrimSpace(config[ConfigMonthlyCeiling]); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return s, fmt.Errorf("%s: %q is not a number of USD", ConfigMonthlyCeiling, v)
		}
		s.CeilingUSD = f
	}
	u, err := cost.ParseUsage([]byte(config[ConfigUsage]))
	if err != nil {
		return s, err
	}
	s.Usage = u
	return s, nil
}

var platformConfig = Rule{
	ID:          "platform-config",
	Description: `The stack says which environment it is: platform:environment is "dev" or "prod".`,
	Dev:         Mandatory, Prod: Mandatory,
	CheckStack: func(_ []inventory.Resource, s Settings) ([]Finding, error) {
		if s.Environment == Dev || s.Environment == Prod {
			return nil, nil
		}
		return []Finding{fail(`%s is %q: must be "dev" or "prod" (until it is, every rule applies its prod level)`,
			ConfigEnvironment, s.Environment)}, nil
	}}

// loadCostModel loads the price model once per process.
var loadCostModel = sync.OnceValues(cost.Load)

var costCeiling = Rule{
	ID: "cost-ceiling",
	Description: "The stack's estimated monthly cost (node groups at max size) stays under platform:monthlyCeiling: " +
		"advisory from 90 % of the ceiling, mandatory above it. A resource the cost model cannot price is a " +
		"violation too (advisory when an input is unknown during preview).",
	Dev: Mandatory, Prod: Mandatory,
	CheckStack: func(rs []inventory.Resource, s Settings) ([]Finding, error) {
		if s.CeilingUSD <= 0 {
			return []Finding{fail("%s is not configured (%s): set the stack's monthly cost ceiling in USD",
				ConfigMonthlyCeiling, cost.FormatUSD(s.CeilingUSD))}, nil
		}
		est, out := s.Estimate, []Finding(nil)
		if est == nil {
			var err error
			if est, out, err = estimateCost(rs, s); err != nil {
				return nil, err
			}
		}
		total := est.MonthlyUSD
		judged, headroom := cost.Judge(total, s.CeilingUSD)
		var msg string
		switch judged {
		case verdict.Deny:
			msg = fmt.Sprintf("monthly cost %s exceeds the ceiling %s by %s", cost.FormatUSD(total), cost.FormatUSD(s.CeilingUSD), cost.FormatUSD(-headroom))
		case verdict.Warn:
			msg = fmt.Sprintf("monthly cost %s is %.0f %% of the ceiling %s (headroom %s)",
				cost.FormatUSD(total), 100*total/s.CeilingUSD, cost.FormatUSD(s.CeilingUSD), cost.FormatUSD(headroom))
		default:
			return out, nil
		}
		msg += "; biggest: " + biggest(est)
		if len(out) > 0 {
			msg += fmt.Sprintf("; %d resource(s) left out, unpriced", len(out))
		}
		if a := previewAssumptions(rs, est); a != "" {
			msg += "; assumed: " + a
		}
		return append(out, Finding{Message: msg, Advisory: judged != verdict.Deny}), nil
	},
}

// estimateCost prices the stack's resources for cost-ceiling when the
// caller has not (Settings.Estimate). A resource the model cannot price (no
// price row, an unknown type, an input it needs unknown during preview) is
// left out of the estimate and comes back as a finding instead: advisory if
// the resource has an unknown input, mandatory otherwise (an unpriced
// resource means the ceiling cannot be checked).
func estimateCost(rs []inventory.Resource, s Settings) (*cost.Estimate, []Finding, error) {
	m, err := loadCostModel()
	if err != nil {
		return nil, nil, fmt.Errorf("load cost model: %w", err)
	}
	at := s.At
	if at.IsZero() {
		at = time.Now().UTC()
	}
	u := s.Usage
	if u == (cost.Usage{}) {
		u = cost.DefaultUsage()
	}
	est, err := m.Estimate(rs, u, at)
	if err == nil {
		return est, nil, nil
	}
	unpriced, ok := unpricedResources(err)
	if !ok {
		return nil, nil, fmt.Errorf("estimate monthly cost: %w", err)
	}
	var keep []inventory.Resource
	var out []Finding
	for _, r := range rs {
		errs, bad := unpriced[r.URN]
		if !bad {
			keep = append(keep, r)
			continue
		}
		msg := "cannot price: " + errors.Join(errs...).Error()
		msg = strings.ReplaceAll(msg, "\n", "; ") + "; left out of the monthly total"
		out = append(out, Finding{URN: r.URN, Message: msg, Advisory: r.HasUnknown()})
	}
	if est, err = m.Estimate(keep, u, at); err != nil {
		return nil, nil, fmt.Errorf("estimate monthly cost: %w", err)
	}
	return est, out, nil
}

// unpricedResources splits an Estimate error into per-resource errors; ok
// is false if any error is not about one resource (a broken price table,
// invalid usage).
func unpricedResources(err error) (map[string][]error, bool) {
	errs := []error{err}
	if j, isJoin := err.(interface{ Unwrap() []error }); isJoin {
		errs = j.Unwrap()
	}
	out := make(map[string][]error)
	for _, e := range errs {
		var missing *cost.MissingPriceError
		var unknownType *cost.UnknownTypeError
		switch {
		case errors.As(e, &missing) && missing.URN != "":
			out[missing.URN] = append(out[missing.URN], e)
		case errors.As(e, &unknownType) && unknownType.URN != "":
			out[unknownType.URN] = append(out[unknownType.URN], e)
		default:
			return nil, false
		}
	}
	return out, true
}

// previewAssumptions lists what the estimate assumed for inputs unknown
// during preview ("<name>: <assumption>"). The model keys its per-resource
// notes "<URN> <field>"; the stack-wide usage and price notes are left out
// of the message (they are in the estimate).
func previewAssumptions(rs []inventory.Resource, est *cost.Estimate) string {
	names := make(map[string]string, len(rs))
	for _, r := range rs {
		names[r.URN] = r.Name
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(est.Assumptions)) {
		text := est.Assumptions[k]
		urn, _, _ := strings.Cut(k, " ")
		if name, ok := names[urn]; ok && strings.Contains(strings.ToLower(text), "unknown") {
			parts = append(parts, name+": "+text)
		}
	}
	return strings.Join(parts, "; ")
}

// biggest names the three biggest contributors.
func biggest(est *cost.Estimate) string {
	var parts []string
	for _, l := range est.Top(3) {
		parts = append(parts, fmt.Sprintf("%s (%s) %s", l.Name, l.Type, cost.FormatUSD(l.MonthlyUSD)))
	}
	return strings.Join(parts, ", ")
}

// usd formats an amount as $1,234.56.
