package costdiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tenantco/platform/internal/cost"
	"github.com/tenantco/platform/internal/verdict"
)

// Doc is one stack's offline review, as offline/review.Report writes it.
// Only the fields the comment reads are mirrored; others are ignored.
type Doc struct {
	Stack       string `json:"stack"`
	Project     string `json:"project"`
	EvaluatedOn string `json:"evaluated_on"`
	Currency    string `json:"currency"`
	Prices      Prices `json:"prices"`

	// MonthlyUSD is the ceiling case (node groups at max size): the number
	// the verdict judges. ExpectedMonthlyUSD prices node groups at desired.
	MonthlyUSD         float64         `json:"monthly_usd"`
	ExpectedMonthlyUSD float64         `json:"expected_monthly_usd"`
	CeilingUSD         float64         `json:"ceiling_usd"`
	BudgetUSD          float64         `json:"budget_usd"`
	Verdict            verdict.Verdict `json:"verdict"`
	HeadroomUSD        float64         `json:"headroom_usd"`

	Costs         []Line          `json:"costs"`
	Resources     []Resource      `json:"resources"`
	Policies      []Violation     `json:"policies"`
	PolicyVerdict verdict.Verdict `json:"policy_verdict"`
}

// Prices says which price snapshot priced the review.
type Prices struct {
	Region string `json:"region"`
	AsOf   string `json:"as_of"`
	Source string `json:"source"`
}

// Line is one priced component of one resource (cost.Line).
type Line struct {
	URN                string  `json:"urn"`
	Type               string  `json:"type"`
	Name               string  `json:"name"`
	Component          string  `json:"component"`
	Quantity           float64 `json:"quantity"`
	Unit               string  `json:"unit"`
	UnitUSD            float64 `json:"unit_usd"`
	MonthlyUSD         float64 `json:"monthly_usd"`
	ExpectedMonthlyUSD float64 `json:"expected_monthly_usd"`
	UsageBased         bool    `json:"usage_based"`
}

// Resource is one registered resource (inventory.Resource): its inputs as
// plain values, "[unknown]" where not known before apply and "[secret]"
// for secrets; a resource reference is the referenced URN.
type Resource struct {
	URN    string         `json:"urn"`
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs,omitempty"`
}

// Violation is one guardrail finding (rules.Violation).
type Violation struct {
	RuleID  string `json:"ruleId"`
	URN     string `json:"urn,omitempty"`
	Message string `json:"message"`
	Level   string `json:"level"` // mandatory or advisory
}

// Policy levels as the review writes them.
const (
	LevelMandatory = "mandatory"
	LevelAdvisory  = "advisory"
)

// Denied reports whether the stack must not be applied: over its ceiling or
// a mandatory guardrail violated. It reads the verdicts and re-derives them
// from the numbers and findings, so a hand-edited document cannot pass
// with a total above its ceiling.
func (d *Doc) Denied() bool {
	return len(d.DenyReasons()) > 0
}

// DenyReasons explains Denied, one phrase per reason.
func (d *Doc) DenyReasons() []string {
	var out []string
	if d.Verdict == verdict.Deny || (d.CeilingUSD > 0 && d.MonthlyUSD > d.CeilingUSD) {
		out = append(out, fmt.Sprintf("monthly cost %s is over the ceiling %s", cost.FormatUSD(d.MonthlyUSD), cost.FormatUSD(d.CeilingUSD)))
	}
	mandatory := 0
	for _, v := range d.Policies {
		if v.Level == LevelMandatory {
			mandatory++
		}
	}
	switch {
	case mandatory > 0:
		out = append(out, fmt.Sprintf("%d mandatory policy violation(s)", mandatory))
	case d.PolicyVerdict == verdict.Deny:
		out = append(out, "policy verdict DENY")
	}
	return out
}

// Decode reads one review document and checks it is one: a stack name, the
// totals and both verdicts must be present. Unknown fields are ignored (the
// review may grow); a text review or an error message is refused.
func Decode(r io.Reader) (Doc, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Doc{}, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return Doc{}, errors.New("empty input; want the output of `go run . review --stack NAME --json`")
	}
	if raw[0] != '{' {
		return Doc{}, errors.New("not a JSON object; want the output of `go run . review --stack NAME --json` (not the text review)")
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil {
		return Doc{}, fmt.Errorf("not valid JSON: %v", err)
	}
	var missing []string
	for _, k := range []string{"stack", "monthly_usd", "ceiling_usd", "verdict", "policy_verdict", "costs"} {
		if _, ok := present[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Doc{}, fmt.Errorf("not a review document: missing %s", strings.Join(missing, ", "))
	}
	var d Doc
	if err := json.Unmarshal(raw, &d); err != nil {
		return Doc{}, fmt.Errorf("not a review document: %v", err)
	}
	if strings.TrimSpace(d.Stack) == "" {
		return Doc{}, errors.New("not a review document: empty stack name")
	}
	for field, v := range map[string]verdict.Verdict{"verdict": d.Verdict, "policy_verdict": d.PolicyVerdict} {
		switch v {
		case verdict.OK, verdict.Warn, verdict.Deny:
		default:
			return Doc{}, fmt.Errorf("stack %s: %s %q is not one of OK, WARN, DENY", d.Stack, field, v)
		}
	}
	return d, nil
}

// Load reads and decodes a review document from a file.
func Load(path string) (Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return Doc{}, err
	}
	defer f.Close()
	d, err := Decode(f)
	if err != nil {
		return Doc{}, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}
