package preflight

import (
	"fmt"
	"sort"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/stacks"
)

// Resource types whose names or counts preflight checks.
const (
	typeCluster   = "eks:index:Cluster"
	typeDB        = "aws:rds/instance:Instance"
	typeCache     = "aws:elasticache/replicationGroup:ReplicationGroup"
	typeRole      = "aws:iam/role:Role"
	typeLogGroup  = "aws:cloudwatch/logGroup:LogGroup"
	typeVPC       = "aws:ec2/vpc:Vpc"
	typeEIP       = "aws:ec2/eip:Eip"
	typeNAT       = "aws:ec2/natGateway:NatGateway"
	typeSubnet    = "aws:ec2/subnet:Subnet"
	typeLB        = "aws:lb/loadBalancer:LoadBalancer"
	getZonesToken = "aws:index/getAvailabilityZones:getAvailabilityZones"
)

// plan is what the program would create, read from its evaluation
// under the recording mock engine (the offline review's way): the names it
// fixes and the counts the quotas judge.
type plan struct {
	ClusterName, DBIdentifier, CacheGroupID string
	RoleNames                               []string // IAM roles registered with a fixed name
	LogGroupNames                           []string // log groups registered with a fixed name
	Count                                   map[string]int
	ALBs                                    int
	NATsPerZone                             map[string]int // zone ID -> NAT gateways the stack puts there
}

// evaluate runs the program for the stack under mocks. When the stack looks
// its zones up, the mock answers the lookup with the zones this account
// offers under the program's rule, so the inventory (NAT gateways per zone)
// is the one the real `pulumi up` would build.
func evaluate(e *env) (*plan, error) {
	eng := mockengine.NewEngine(e.sf.Project, e.sf.Stack, e.cfg.Region)
	if len(e.cfg.ZoneIDs) == 0 {
		if zones, err := e.zones(); err == nil {
			var usable []any
			for _, z := range zones {
				if e.cfg.ZoneUsable(z) == "" {
					usable = append(usable, z.ID)
				}
			}
			eng.Answers = map[string]func(map[string]any) (map[string]any, error){
				getZonesToken: func(map[string]any) (map[string]any, error) {
					return map[string]any{"id": e.cfg.Region, "zoneIds": usable, "names": []any{}, "groupNames": []any{e.cfg.Region}}, nil
				},
			}
		}
	}
	if err := eng.Evaluate(stacks.ReviewProgram, e.sf.Config, e.sf.SecretKeys); err != nil {
		return nil, fmt.Errorf("evaluating the program for %s: %w", e.sf.Stack, err)
	}
	return planOf(eng.Resources())
}

func planOf(rs []inventory.Resource) (*plan, error) {
	inv := &plan{Count: map[string]int{}, NATsPerZone: map[string]int{}}
	byURN := map[string]inventory.Resource{}
	for _, r := range rs {
		byURN[r.URN] = r
		inv.Count[r.Type]++
	}
	one := func(typ, input string) (string, error) {
		var names []string
		for _, r := range rs {
			if r.Type == typ {
				if n, ok := r.String(input); ok {
					names = append(names, n)
				}
			}
		}
		if len(names) != 1 {
			return "", fmt.Errorf("the program registers %d %s with a known %s, expected 1", len(names), typ, input)
		}
		return names[0], nil
	}
	var err error
	if inv.ClusterName, err = one(typeCluster, "name"); err != nil {
		return nil, err
	}
	if inv.DBIdentifier, err = one(typeDB, "identifier"); err != nil {
		return nil, err
	}
	if inv.CacheGroupID, err = one(typeCache, "replicationGroupId"); err != nil {
		return nil, err
	}
	for _, r := range rs {
		switch r.Type {
		case typeRole:
			if n, ok := r.String("name"); ok {
				inv.RoleNames = append(inv.RoleNames, n)
			}
		case typeLogGroup:
			if n, ok := r.String("name"); ok {
				inv.LogGroupNames = append(inv.LogGroupNames, n)
			}
		case typeLB:
			if t, ok := r.String("loadBalancerType"); !ok || t == "application" {
				inv.ALBs++
			}
		case typeNAT:
			// The gateway's subnet is one of its dependencies (SubnetId).
			zone := ""
			for _, d := range r.Dependencies {
				if s, ok := byURN[d]; ok && s.Type == typeSubnet {
					zone, _ = s.String("availabilityZoneId")
				}
			}
			if zone == "" {
				return nil, fmt.Errorf("NAT gateway %s: no subnet with a zone ID among its dependencies", r.Name)
			}
			inv.NATsPerZone[zone]++
		}
	}
	sort.Strings(inv.RoleNames)
	sort.Strings(inv.LogGroupNames)
	return inv, nil
}
