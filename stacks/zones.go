package stacks

import (
	"fmt"
	"slices"
	"strings"
)

// EKSUnsupportedZoneIDs are the availability zones, by ID, in which EKS
// refuses control-plane subnets (CreateCluster answers
// UnsupportedAvailabilityZoneException). The list is eksctl's
// (eksctl-io/eksctl pkg/az/az.go, zoneIDsToAvoid, commit f4d4076); EKS
// itself only names the valid zones in the exception's validZones, so
// `go run . preflight` asks the account as well.
var EKSUnsupportedZoneIDs = map[string][]string{
	"us-east-1":    {"use1-az3"},
	"us-west-1":    {"usw1-az2"},
	"ca-central-1": {"cac1-az3"},
	"cn-north-1":   {"cnn1-az4"},
}

// zoneIDPrefix is the prefix AWS gives a region's zone IDs (us-east-1 ->
// use1, ap-northeast-1 -> apne1), or "" when the region's naming is not
// the usual <area>-<direction>-<n>.
func zoneIDPrefix(region string) string {
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return ""
	}
	dir := map[string]string{
		"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
	}[parts[1]]
	if dir == "" {
		return ""
	}
	return parts[0] + dir + parts[2]
}

func (c *Config) validateZones() []string {
	var p []string
	bad := func(format string, a ...any) {
		p = append(p, fmt.Sprintf("%s:availabilityZoneIds: %s", Namespace, fmt.Sprintf(format, a...)))
	}
	prefix := zoneIDPrefix(c.Region)
	for _, id := range c.ExcludedZoneIDs {
		if !zoneIDRe.MatchString(id) {
			p = append(p, fmt.Sprintf("%s:excludedZoneIds: %q is not an availability zone ID like use1-az3", Namespace, id))
		}
	}
	if len(c.ZoneIDs) == 0 {
		return p // looked up at deploy time
	}
	if len(c.ZoneIDs) != c.AZCount {
		bad("lists %d zones but azCount is %d", len(c.ZoneIDs), c.AZCount)
	}
	seen := map[string]bool{}
	for _, id := range c.ZoneIDs {
		switch {
		case !zoneIDRe.MatchString(id):
			bad("%q is not an availability zone ID like use1-az1 (IDs, not names: aws ec2 describe-availability-zones --query 'AvailabilityZones[].ZoneId')", id)
		case prefix != "" && !strings.HasPrefix(id, prefix+"-"):
			bad("%q is not a zone of %s (its zone IDs start with %s-)", id, c.Region, prefix)
		case seen[id]:
			bad("%q is listed twice; every subnet tier spans distinct zones", id)
		case slices.Contains(c.ExcludedZoneIDs, id):
			bad("%q is excluded (platform:excludedZoneIds): EKS does not accept control-plane subnets there; pick another zone", id)
		}
		seen[id] = true
	}
	return p
}
