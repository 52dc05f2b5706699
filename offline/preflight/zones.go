package preflight

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tenantco/platform/stacks"
)

// checkZones: the zones the program would use (configured, or chosen by its
// own rule, stacks.Config.SelectZones) exist here, are available, are not
// zones EKS rejects, and offer every node instance type.
func checkZones(e *env) []Finding {
	zones, err := e.zones()
	if err != nil {
		return []Finding{e.failed("zones of "+e.cfg.Region, err)}
	}
	byID := map[string]stacks.Zone{}
	for _, z := range zones {
		byID[z.ID] = z
	}
	eksRejects := stacks.EKSUnsupportedZoneIDs[e.cfg.Region]
	configured := len(e.cfg.ZoneIDs) > 0
	key := stacks.Namespace + ":availabilityZoneIds"
	// The fix proposes what the program's own rule would pick, never a
	// zone EKS rejects even when excludedZoneIds was emptied.
	alt := *e.cfg
	alt.ZoneIDs, alt.ExcludedZoneIDs = nil, append(slices.Clone(e.cfg.ExcludedZoneIDs), eksRejects...)
	listFix := fmt.Sprintf("set %s:azCount lower, or %s:excludedZoneIds shorter", stacks.Namespace, stacks.Namespace)
	if good, err := alt.SelectZones(zones); err == nil {
		listFix = fmt.Sprintf("pulumi config set --path '%s' '[\"%s\"]'", key, strings.Join(good, `","`))
	}
	chosen, err := e.cfg.SelectZones(zones)
	if err != nil {
		return []Finding{fail(listFix, "the program's zone lookup fails in this account: %v", err)}
	}
	var fs []Finding
	for _, id := range chosen {
		z, ok := byID[id]
		why := ""
		switch {
		case !ok:
			why = "is not a zone of this account in " + e.cfg.Region
		case slices.Contains(eksRejects, id):
			why = "is a zone EKS rejects for control-plane subnets (CreateCluster answers UnsupportedAvailabilityZoneException)"
		default:
			why = e.cfg.ZoneUsable(z)
			if why != "" {
				why = "is " + why
			}
		}
		if why != "" {
			fs = append(fs, fail(listFix, "%s %s", id, why))
		}
	}
	if len(fs) > 0 {
		return fs
	}
	how := "looked up by the program's rule (available, no opt-in, not excluded, lowest IDs)"
	if configured {
		how = "as configured (" + key + ")"
	}
	names := make([]string, len(chosen))
	for i, id := range chosen {
		names[i] = id + " (" + byID[id].Name + ")"
	}
	fs = append(fs, pass("%s, %s: available; none is a zone EKS rejects", strings.Join(names, ", "), how))
	return append(fs, e.offerings(chosen)...)
}

// offerings checks every node instance type is offered in every zone: a
// node group's instances launch only where their type is.
func (e *env) offerings(zones []string) []Finding {
	types := e.cfg.NodeInstanceTypes
	offered := map[string]bool{}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(e.aws.ec2, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZoneId,
		Filters: []ec2types.Filter{
			{Name: aws.String("location"), Values: zones},
			{Name: aws.String("instance-type"), Values: types},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			return []Finding{e.failed("instance type offerings", err)}
		}
		for _, o := range page.InstanceTypeOfferings {
			offered[string(o.InstanceType)+"@"+aws.ToString(o.Location)] = true
		}
	}
	var fs []Finding
	for _, t := range types {
		var missing []string
		for _, z := range zones {
			if !offered[t+"@"+z] {
				missing = append(missing, z)
			}
		}
		if len(missing) > 0 {
			fs = append(fs, fail(fmt.Sprintf("pick zones that offer it (aws ec2 describe-instance-type-offerings --location-type availability-zone-id "+
				"--filters Name=instance-type,Values=%s --region %s) for %s:availabilityZoneIds, or another type in %s:nodeInstanceTypes",
				t, e.cfg.Region, stacks.Namespace, stacks.Namespace),
				"node type %s is not offered in %s: the node group cannot launch there", t, strings.Join(missing, ", ")))
		}
	}
	if len(fs) == 0 {
		fs = append(fs, pass("node type(s) %s offered in every zone", strings.Join(types, ", ")))
	}
	return fs
}
