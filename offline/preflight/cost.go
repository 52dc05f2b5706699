package preflight

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"
)

// CostTagKeys are the cost allocation tags the budgets and the daily cost
// report filter on: every resource carries stack (the provider's default
// tags), tenant resources carry tenant.
var CostTagKeys = []string{"stack", "tenant"}

// activateStep is the console step that activates a cost allocation tag.
const activateStep = "Billing and Cost Management console > Cost allocation tags > User-defined: select %s > Activate " +
	"(or aws ce update-cost-allocation-tags-status --cost-allocation-tags-status %s); in an AWS Organization the management account does this"

// checkCost: the stack and tenant tags are active cost allocation tags
// (until they are, the budget's tag filter and the daily report see no
// spend), and Cost Explorer answers. Each Cost Explorer request costs
// USD 0.01; preflight makes two.
func checkCost(e *env) []Finding {
	var tags, explorer []Finding
	parallel(func() { tags = e.costTags() }, func() { explorer = e.costExplorer() })
	return append(tags, explorer...)
}

func (e *env) costTags() []Finding {
	out, err := e.aws.ce.ListCostAllocationTags(e.ctx, &costexplorer.ListCostAllocationTagsInput{
		TagKeys: CostTagKeys, Type: cetypes.CostAllocationTagTypeUserDefined,
	})
	if err != nil {
		return []Finding{e.failed("cost allocation tags", err)}
	}
	status := map[string]cetypes.CostAllocationTagStatus{}
	for _, t := range out.CostAllocationTags {
		status[aws.ToString(t.TagKey)] = t.Status
	}
	var active, inactive, unseen []string
	for _, k := range CostTagKeys {
		switch status[k] {
		case cetypes.CostAllocationTagStatusActive:
			active = append(active, k)
		case "":
			unseen = append(unseen, k)
		default:
			inactive = append(inactive, k)
		}
	}
	var fs []Finding
	if len(inactive) > 0 {
		fs = append(fs, warn(fmt.Sprintf(activateStep, strings.Join(inactive, ", "), activateArgs(inactive)),
			"cost allocation tag(s) %s inactive: the budget's stack filter and the daily cost report see no spend", strings.Join(inactive, ", ")))
	}
	if len(unseen) > 0 {
		fs = append(fs, warn("after the first deploy, once Billing lists the key (within a day), activate it: "+fmt.Sprintf(activateStep, strings.Join(unseen, ", "), activateArgs(unseen)),
			"tag key(s) %s not known to Billing yet (it lists a key only after a resource carried it): until activated, budgets filtered on it see no spend",
			strings.Join(unseen, ", ")))
	}
	if len(active) > 0 {
		fs = append(fs, pass("cost allocation tag(s) %s active", strings.Join(active, ", ")))
	}
	return fs
}

// costExplorer asks for one day of spend: an account that never enabled
// Cost Explorer answers AccessDeniedException "User not enabled for cost
// explorer access" (not an IAM denial), a fresh one DataUnavailableException.
func (e *env) costExplorer() []Finding {
	day := e.now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	_, err := e.aws.ce.GetCostAndUsage(e.ctx, &costexplorer.GetCostAndUsageInput{
		TimePeriod:  &cetypes.DateInterval{Start: aws.String(day.Format(time.DateOnly)), End: aws.String(day.AddDate(0, 0, 1).Format(time.DateOnly))},
		Granularity: cetypes.GranularityDaily,
		Metrics:     []string{"UnblendedCost"},
	})
	enable := "enable it: Billing and Cost Management console > Cost Explorer > Launch Cost Explorer (data appears within 24 hours; in an AWS Organization the management account enables it)"
	switch {
	case err == nil:
		return []Finding{pass("Cost Explorer answers: the daily cost report can read spend")}
	case strings.Contains(strings.ToLower(errMessage(err)), "not enabled for cost explorer"):
		return []Finding{warn(enable, "Cost Explorer is not enabled: the daily cost report has no data")}
	case errCode(err) == "DataUnavailableException":
		return []Finding{warn("wait a day after enabling it", "Cost Explorer is enabled but has no data yet")}
	}
	return []Finding{e.failed("Cost Explorer", err)}
}

func activateArgs(keys []string) string {
	args := make([]string, len(keys))
	for i, k := range keys {
		args[i] = "TagKey=" + k + ",Status=Active"
	}
	return strings.Join(args, " ")
}
