package preflight

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
)

// quotaWarnShare: a quota used beyond this share after the deploy warns.
const quotaWarnShare = 0.8

// quota is one Service Quotas limit the stack spends.
type quota struct {
	title, service, code string
	listCmd              string // how to see what uses it
}

// The quotas a first deploy spends (Service Quotas codes, AWS's defaults in
// the comments).
var (
	quotaVPCs = quota{"VPCs per Region", "vpc", "L-F678F1CE", "aws ec2 describe-vpcs"}                                                    // 5
	quotaEIPs = quota{"EC2-VPC Elastic IPs", "ec2", "L-0263D0A3", "aws ec2 describe-addresses --query 'Addresses[?AssociationId==null]'"} // 5
	quotaNATs = quota{"NAT gateways per Availability Zone", "vpc", "L-FE5A380F", "aws ec2 describe-nat-gateways"}                         // 5
	quotaEKS  = quota{"EKS clusters", "eks", "L-1194D53C", "aws eks list-clusters"}                                                       // 100
	quotaRDS  = quota{"RDS DB instances", "rds", "L-7B6409FD", "aws rds describe-db-instances"}                                           // 40
	quotaALBs = quota{"Application Load Balancers per Region", "elasticloadbalancing", "L-53DA6B97", "aws elbv2 describe-load-balancers"} // 50
	quotas    = []quota{quotaVPCs, quotaEIPs, quotaNATs, quotaEKS, quotaRDS, quotaALBs}
)

// spend is what the account already uses of a quota, how much of that is
// this stack's (a redeploy adds nothing), and what the stack needs.
type spend struct {
	used, own, need int
}

// account usage, read in parallel.
type usage struct {
	ownVPCs    map[string]bool
	vpcs, eips spend
	nats       []ec2types.NatGateway
	natZone    map[string]string // subnet -> zone ID
	clusters   []string
	dbs        []string
	albs       spend

	mu   sync.Mutex
	errs map[string]error // quota title -> why its usage is unknown
}

func (u *usage) failed(err error, qs ...quota) {
	if err == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, q := range qs {
		if u.errs[q.title] == nil {
			u.errs[q.title] = err
		}
	}
}

// checkQuotas: what the stack creates fits each quota given the account's
// current usage: FAIL over the quota, WARN beyond 80 %.
func checkQuotas(e *env) []Finding {
	p, err := e.program()
	if err != nil {
		return []Finding{{Status: Skip, Text: "not checked: " + oneLine(err)}}
	}
	values := make([]float64, len(quotas))
	defaults := make([]bool, len(quotas))
	valueErrs := make([]error, len(quotas))
	u := &usage{errs: map[string]error{}}
	var jobs []func()
	for i, q := range quotas {
		jobs = append(jobs, func() { values[i], defaults[i], valueErrs[i] = e.quotaValue(q) })
	}
	jobs = append(jobs, func() { e.networkUsage(u) }, func() { e.serviceUsage(u) })
	parallel(jobs...)

	var fs []Finding
	// Quotas skipped for the same reason (one denied action) share a line.
	type skipped struct {
		reason, fix string
		quotas      []string
	}
	var skips []*skipped
	byReason := map[string]*skipped{}
	skip := func(q quota, err error) {
		f := e.failed(q.title, err)
		reason := strings.TrimPrefix(f.Text, q.title+": ")
		if byReason[reason] == nil {
			byReason[reason] = &skipped{reason: reason, fix: f.Fix}
			skips = append(skips, byReason[reason])
		}
		byReason[reason].quotas = append(byReason[reason].quotas, q.title)
	}
	for i, q := range quotas {
		if valueErrs[i] != nil {
			skip(q, valueErrs[i])
			continue
		}
		if err := u.errs[q.title]; err != nil {
			skip(q, err)
			continue
		}
		limit := int(math.Round(values[i]))
		switch q {
		case quotaNATs:
			zones := make([]string, 0, len(p.NATsPerZone))
			for z := range p.NATsPerZone {
				zones = append(zones, z)
			}
			sort.Strings(zones)
			for _, z := range zones {
				s := spend{need: p.NATsPerZone[z]}
				for _, n := range u.nats {
					if u.natZone[aws.ToString(n.SubnetId)] == z {
						s.used++
						if u.ownVPCs[aws.ToString(n.VpcId)] {
							s.own++
						}
					}
				}
				fs = append(fs, e.judge(q, " in "+z, limit, defaults[i], s))
			}
		case quotaVPCs:
			u.vpcs.need = p.Count[typeVPC]
			fs = append(fs, e.judge(q, "", limit, defaults[i], u.vpcs))
		case quotaEIPs:
			u.eips.need = p.Count[typeEIP]
			fs = append(fs, e.judge(q, "", limit, defaults[i], u.eips))
		case quotaEKS:
			fs = append(fs, e.judge(q, "", limit, defaults[i], spendByName(u.clusters, p.ClusterName, p.Count[typeCluster])))
		case quotaRDS:
			fs = append(fs, e.judge(q, "", limit, defaults[i], spendByName(u.dbs, p.DBIdentifier, p.Count[typeDB])))
		case quotaALBs:
			u.albs.need = p.ALBs
			fs = append(fs, e.judge(q, "", limit, defaults[i], u.albs))
		}
	}
	for _, sk := range skips {
		fs = append(fs, Finding{Status: Skip, Text: strings.Join(sk.quotas, ", ") + ": " + sk.reason, Fix: sk.fix})
	}
	return fs
}

func spendByName(names []string, mine string, need int) spend {
	s := spend{used: len(names), need: need}
	for _, n := range names {
		if n == mine {
			s.own++
		}
	}
	return s
}

// judge compares a quota with what the account will use after the deploy.
func (e *env) judge(q quota, where string, limit int, isDefault bool, s spend) Finding {
	add := max(0, s.need-s.own)
	after := s.used + add
	mine := ""
	if s.own > 0 {
		mine = fmt.Sprintf(", %d of them this stack's", s.own)
	}
	src := ""
	if isDefault {
		src = " (AWS default)"
	}
	text := fmt.Sprintf("%s%s (%s %s): %d in use%s, the stack adds %d: %d of %d%s (%d %%)",
		q.title, where, q.service, q.code, s.used, mine, add, after, limit, src, percent(after, limit))
	fix := fmt.Sprintf("free some (%s --region %s) or ask for more: aws service-quotas request-service-quota-increase "+
		"--service-code %s --quota-code %s --desired-value %d --region %s", q.listCmd, e.cfg.Region, q.service, q.code,
		max(after+1, int(math.Ceil(float64(after)/quotaWarnShare))), e.cfg.Region)
	switch {
	case after > limit:
		return fail(fix, "%s: over the quota, `pulumi up` fails creating them", text)
	case float64(after) >= quotaWarnShare*float64(limit) && add > 0:
		return warn(fix, "%s: at or beyond %d %%", text, int(quotaWarnShare*100))
	}
	return pass("%s", text)
}

func percent(n, of int) int {
	if of <= 0 {
		return 100
	}
	return int(math.Round(100 * float64(n) / float64(of)))
}

// quotaValue is the applied quota, or AWS's default where the account has
// no applied value (GetServiceQuota answers NoSuchResourceException).
func (e *env) quotaValue(q quota) (float64, bool, error) {
	out, err := e.aws.sq.GetServiceQuota(e.ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String(q.service), QuotaCode: aws.String(q.code)})
	if err == nil {
		return aws.ToFloat64(out.Quota.Value), false, nil
	}
	if errCode(err) != "NoSuchResourceException" {
		return 0, false, err
	}
	def, err := e.aws.sq.GetAWSDefaultServiceQuota(e.ctx, &servicequotas.GetAWSDefaultServiceQuotaInput{ServiceCode: aws.String(q.service), QuotaCode: aws.String(q.code)})
	if err != nil {
		return 0, false, err
	}
	return aws.ToFloat64(def.Quota.Value), true, nil
}

// networkUsage reads VPCs, Elastic IPs, NAT gateways (with their zones) and
// load balancers. A VPC tagged as this stack's is the stack's own; NAT
// gateways and load balancers in it are too.
func (e *env) networkUsage(u *usage) {
	u.ownVPCs = map[string]bool{}
	vp := ec2.NewDescribeVpcsPaginator(e.aws.ec2, &ec2.DescribeVpcsInput{})
	for vp.HasMorePages() {
		page, err := vp.NextPage(e.ctx)
		if err != nil {
			u.failed(err, quotaVPCs, quotaNATs, quotaALBs)
			break
		}
		for _, v := range page.Vpcs {
			u.vpcs.used++
			if e.owns(ec2Tags(v.Tags)) {
				u.vpcs.own++
				u.ownVPCs[aws.ToString(v.VpcId)] = true
			}
		}
	}
	var addrs, nats, lbs error
	parallel(
		func() {
			out, err := e.aws.ec2.DescribeAddresses(e.ctx, &ec2.DescribeAddressesInput{
				Filters: []ec2types.Filter{{Name: aws.String("domain"), Values: []string{"vpc"}}},
			})
			if addrs = err; err != nil {
				return
			}
			for _, a := range out.Addresses {
				u.eips.used++
				if e.owns(ec2Tags(a.Tags)) {
					u.eips.own++
				}
			}
		},
		func() { nats = e.natUsage(u) },
		func() {
			lp := elbv2.NewDescribeLoadBalancersPaginator(e.aws.elb, &elbv2.DescribeLoadBalancersInput{})
			for lp.HasMorePages() {
				page, err := lp.NextPage(e.ctx)
				if lbs = err; err != nil {
					return
				}
				for _, lb := range page.LoadBalancers {
					if lb.Type == elbtypes.LoadBalancerTypeEnumApplication {
						u.albs.used++
						if u.ownVPCs[aws.ToString(lb.VpcId)] {
							u.albs.own++
						}
					}
				}
			}
		},
	)
	u.failed(addrs, quotaEIPs)
	u.failed(nats, quotaNATs)
	u.failed(lbs, quotaALBs)
}

// natUsage lists the account's live NAT gateways and the zones of their
// subnets (the quota counts per zone; a gateway names only its subnet).
func (e *env) natUsage(u *usage) error {
	np := ec2.NewDescribeNatGatewaysPaginator(e.aws.ec2, &ec2.DescribeNatGatewaysInput{
		Filter: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"pending", "available"}}},
	})
	subnets := map[string]bool{}
	for np.HasMorePages() {
		page, err := np.NextPage(e.ctx)
		if err != nil {
			return err
		}
		for _, n := range page.NatGateways {
			u.nats = append(u.nats, n)
			subnets[aws.ToString(n.SubnetId)] = true
		}
	}
	u.natZone = map[string]string{}
	if len(subnets) == 0 {
		return nil
	}
	ids := make([]string, 0, len(subnets))
	for s := range subnets {
		ids = append(ids, s)
	}
	sort.Strings(ids)
	sp := ec2.NewDescribeSubnetsPaginator(e.aws.ec2, &ec2.DescribeSubnetsInput{SubnetIds: ids})
	for sp.HasMorePages() {
		page, err := sp.NextPage(e.ctx)
		if err != nil {
			return err
		}
		for _, s := range page.Subnets {
			u.natZone[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZoneId)
		}
	}
	return nil
}

// serviceUsage lists EKS clusters and RDS instances by name.
func (e *env) serviceUsage(u *usage) {
	var clusters, dbs error
	parallel(
		func() {
			cp := eks.NewListClustersPaginator(e.aws.eks, &eks.ListClustersInput{})
			for cp.HasMorePages() {
				page, err := cp.NextPage(e.ctx)
				if clusters = err; err != nil {
					return
				}
				u.clusters = append(u.clusters, page.Clusters...)
			}
		},
		func() {
			dp := rds.NewDescribeDBInstancesPaginator(e.aws.rds, &rds.DescribeDBInstancesInput{})
			for dp.HasMorePages() {
				page, err := dp.NextPage(e.ctx)
				if dbs = err; err != nil {
					return
				}
				for _, d := range page.DBInstances {
					u.dbs = append(u.dbs, aws.ToString(d.DBInstanceIdentifier))
				}
			}
		},
	)
	u.failed(clusters, quotaEKS)
	u.failed(dbs, quotaRDS)
}
