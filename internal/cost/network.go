package cost

import (
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Network: NAT gateways, public IPv4 addresses, load balancers (and
// Kubernetes Services that create one), VPC endpoints.

func (e *estimator) natGateway(r *inventory.Resource) {
	h, ok1 := e.rate(r, "nat.hours", "price", "NAT gateway hours")
	d, ok2 := e.rate(r, "nat.data", "price", "NAT gateway data")
	if !ok1 || !ok2 {
		return
	}
	e.add(r, "NAT hours", e.u.HoursPerMonth, "hours", h.Price, false)
	e.add(r, "NAT data", e.u.NATDataGBPerGateway, "GB", d.Price, true)
	if ct, _ := r.StringAt("connectivityType"); ct != "private" {
		e.assumptions["natPublicIPv4"] = "a public NAT gateway's public IPv4 address is priced on its aws:ec2/eip:Eip"
	}
}

func (e *estimator) eip(r *inventory.Resource) {
	if p, ok := e.rate(r, "ipv4.public", "price", "public IPv4"); ok {
		e.add(r, "public IPv4", e.u.HoursPerMonth, "address-hours", p.Price, false)
	}
}

func (e *estimator) loadBalancer(r *inventory.Resource) {
	kind, st := r.StringAt("loadBalancerType")
	switch {
	case st == inventory.StateAbsent:
		kind = "application"
	case st == inventory.StateUnknown:
		kind = "application"
		e.note(r, "loadBalancerType", "loadBalancerType unknown (preview): priced as an ALB (the dearer LCU)")
	}
	var prefix string
	switch kind {
	case "application":
		prefix = "alb"
	case "network":
		prefix = "nlb"
	default:
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "load balancer type", Value: kind, Key: kind + ".hours"})
		return
	}
	internal, ist := r.BoolAt("internal")
	if ist == inventory.StateUnknown {
		e.note(r, "internal", "internal unknown (preview): priced as internet-facing (public IPv4 per subnet)")
	}
	subnetList, sst := r.ListAt("subnets")
	subnets := len(subnetList)
	if sst != inventory.StateKnown {
		if l, mst := r.ListAt("subnetMappings"); mst == inventory.StateKnown {
			subnets, sst = len(l), inventory.StateKnown
		}
	}
	switch sst {
	case inventory.StateUnknown:
		subnets = 3
		e.note(r, "subnets", "subnets unknown (preview): 3 subnets (AZs) assumed")
	case inventory.StateAbsent:
		subnets = 2
		e.note(r, "subnets", "subnets not set: 2 subnets assumed (the ALB minimum)")
	}
	e.priceLB(r, prefix, !internal, float64(subnets), "")
}

// priceLB adds "LB hours", "LCU" (usage) and, for internet-facing load
// balancers, "public IPv4" (one address per subnet/AZ).
func (e *estimator) priceLB(r *inventory.Resource, prefix string, public bool, addresses float64, why string) {
	h, ok1 := e.rate(r, prefix+".hours", "price", prefix+" hours")
	l, ok2 := e.rate(r, prefix+".lcu", "price", prefix+" LCU")
	if !ok1 || !ok2 {
		return
	}
	hours := e.u.HoursPerMonth
	e.add(r, "LB hours", hours, "hours", h.Price, false)
	e.add(r, "LCU", e.u.LBLCUs*hours, "LCU-hours", l.Price, true)
	if public {
		if p, ok := e.rate(r, "ipv4.public", "price", "public IPv4"); ok {
			e.add(r, "public IPv4", addresses*hours, "address-hours", p.Price, false)
		}
	}
}

func (e *estimator) k8sService(r *inventory.Resource) {
	typ, st := r.StringAt("spec.type")
	if st == inventory.StateKnown && typ != "LoadBalancer" || st == inventory.StateAbsent {
		e.free = append(e.free, r.URN)
		return
	}
	if st == inventory.StateUnknown {
		e.note(r, "spec.type", "spec.type unknown (preview): priced as a LoadBalancer Service (conservative)")
	}
	public := true
	ann := func(k string) string {
		v, _ := r.Get("metadata.annotations")
		m, _ := v.(map[string]any)
		s, _ := m[k].(string)
		return s
	}
	if ann("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal" || ann("service.beta.kubernetes.io/aws-load-balancer-internal") == "true" {
		public = false
	}
	txt := "Service of type LoadBalancer creates an AWS load balancer outside Pulumi: priced as an NLB with the lbLcu usage"
	if public {
		txt += " and 3 public IPv4 addresses (3 AZs assumed)"
	} else {
		txt += " (internal: no public IPv4)"
	}
	e.note(r, "loadBalancer", txt)
	e.priceLB(r, "nlb", public, 3, "")
}

func (e *estimator) vpcEndpoint(r *inventory.Resource) {
	typ, st := r.StringAt("vpcEndpointType")
	switch {
	case st == inventory.StateAbsent:
		typ = "Gateway" // the provider's default
	case st == inventory.StateUnknown:
		typ = "Interface"
		e.note(r, "vpcEndpointType", "vpcEndpointType unknown (preview): priced as an Interface endpoint (conservative)")
	}
	switch typ {
	case "Gateway":
		e.free = append(e.free, r.URN)
		return
	case "Interface":
	default:
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN, What: "VPC endpoint type", Value: typ, Key: "vpce." + strings.ToLower(typ) + ".hours"})
		return
	}
	h, ok1 := e.rate(r, "vpce.interface.hours", "price", "interface endpoint hours")
	d, ok2 := e.rate(r, "vpce.interface.data", "price", "interface endpoint data")
	if !ok1 || !ok2 {
		return
	}
	ids, sst := r.ListAt("subnetIds")
	azs := len(ids)
	switch {
	case sst == inventory.StateUnknown:
		azs = 3
		e.note(r, "subnetIds", "subnetIds unknown (preview): 3 AZs assumed")
	case sst == inventory.StateAbsent || azs == 0:
		azs = 1
		e.note(r, "subnetIds", "subnetIds not set: 1 AZ assumed")
	}
	e.add(r, "endpoint hours", float64(azs)*e.u.HoursPerMonth, "hours", h.Price, false)
	e.add(r, "endpoint data", e.u.EndpointDataGB, "GB", d.Price, true)
}
