package rules

import (
	"fmt"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

const (
	typeSGIngressRule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeSGRule        = "aws:ec2/securityGroupRule:SecurityGroupRule"
	typeSG            = "aws:ec2/securityGroup:SecurityGroup"
)

// PublicLoadBalancerTag marks the one ingress rule allowed to take traffic
// from the internet: an aws:vpc/securityGroupIngressRule with this tag in its
// own tags, for tcp 443 only.
const (
	PublicLoadBalancerTagKey   = "network-role"
	PublicLoadBalancerTagValue = "public-load-balancer"
)

var sgNoWorldIngress = Rule{
	ID: "sg-no-world-ingress",
	Description: "No security group ingress from 0.0.0.0/0 or ::/0, except tcp 443 on the ingress rule tagged " +
		PublicLoadBalancerTagKey + "=" + PublicLoadBalancerTagValue + "; all protocols (-1) from the world never.",
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{typeSGIngressRule, typeSGRule, typeSG},
	Check: func(r inventory.Resource, _ Context) []Finding {
		switch r.Type {
		case typeSGIngressRule:
			// Only this kind of rule can carry the load-balancer exception.
			role, st := r.Lookup("tags." + PublicLoadBalancerTagKey)
			if st.Opaque() {
				return unlessDecidedBy(checkIngress(r, "", "cidrIpv4", "cidrIpv6", "ipProtocol", false),
					checkIngress(r, "", "cidrIpv4", "cidrIpv6", "ipProtocol", true),
					cannotVerify("tags."+PublicLoadBalancerTagKey, st))
			}
			return checkIngress(r, "", "cidrIpv4", "cidrIpv6", "ipProtocol", role == PublicLoadBalancerTagValue)
		case typeSGRule:
			fs := checkIngress(r, "", "cidrBlocks", "ipv6CidrBlocks", "protocol", false)
			switch kind, st := r.StringAt("type"); {
			case st.Opaque():
				return unlessDecidedBy(fs, nil, cannotVerify("type", st))
			case kind != "ingress":
				return nil
			}
			return fs
		default: // inline ingress blocks of a security group
			blocks, st := r.ListAt("ingress")
			if st.Opaque() {
				return []Finding{cannotVerify("ingress", st)}
			}
			var out []Finding
			for i, b := range blocks {
				label := fmt.Sprintf("ingress.%d.", i)
				m, ok := b.(map[string]any)
				if !ok {
					if _, bst := inventory.Classify(b); bst.Opaque() {
						out = append(out, cannotVerify(strings.TrimSuffix(label, "."), bst))
					}
					continue
				}
				block := inventory.Resource{URN: r.URN, Type: r.Type, Inputs: m}
				out = append(out, checkIngress(block, label, "cidrBlocks", "ipv6CidrBlocks", "protocol", false)...)
			}
			return out
		}
	},
}

// unlessDecidedBy handles an input that decides between two outcomes and
// cannot be read: if both outcomes agree, that is the answer; otherwise the
// rule reports undecided.
func unlessDecidedBy(ifNot, ifSo []Finding, undecided Finding) []Finding {
	if len(ifNot) == 0 {
		return ifSo
	}
	if len(ifSo) > 0 && blocks(ifNot) == blocks(ifSo) {
		return ifNot
	}
	return []Finding{undecided}
}

// blocks reports whether any finding is not advisory.
func blocks(fs []Finding) bool {
	for _, f := range fs {
		if !f.Advisory {
			return true
		}
	}
	return false
}

// checkIngress checks one ingress rule: the IPv4 and IPv6 source CIDR
// fields (a string or a list), the protocol field, fromPort and toPort.
// label prefixes field names in messages (an inline block's position).
// allowLB permits tcp 443 from the world.
func checkIngress(r inventory.Resource, label, v4, v6, protoField string, allowLB bool) []Finding {
	var world []string
	var out []Finding
	for _, field := range []string{v4, v6} {
		cidrs, st := r.StringsAt(field)
		if st.Opaque() {
			out = append(out, cannotVerify(label+field, st))
		}
		for _, c := range cidrs {
			if isWorld(c) {
				world = append(world, c)
			}
		}
	}
	if len(world) == 0 {
		return out
	}
	// Name the block for inline ingress ("ingress.0: ingress from ...").
	where := ""
	if label != "" {
		where = strings.TrimSuffix(label, ".") + ": "
	}
	src := strings.Join(world, ", ")
	proto, pst := r.StringAt(protoField)
	from, fst := r.NumberAt("fromPort")
	to, tst := r.NumberAt("toPort")
	switch {
	case pst == inventory.StateKnown && (proto == "-1" || strings.EqualFold(proto, "all")):
		return append(out, fail("%singress from %s on all protocols (%s = -1)", where, src, label+protoField))
	case pst.Opaque():
		return append(out, cannotVerify(label+protoField, pst))
	case fst.Opaque():
		return append(out, cannotVerify(label+"fromPort", fst))
	case tst.Opaque():
		return append(out, cannotVerify(label+"toPort", tst))
	}
	tcp := strings.EqualFold(proto, "tcp") || proto == "6"
	if allowLB && tcp && fst == inventory.StateKnown && tst == inventory.StateKnown && from == 443 && to == 443 {
		return out
	}
	ports := fmt.Sprintf("%g-%g", from, to)
	if fst == inventory.StateKnown && tst == inventory.StateKnown && from == to {
		ports = fmt.Sprintf("%g", from)
	}
	msg := fmt.Sprintf("%singress from %s on %s port %s", where, src, proto, ports)
	if !allowLB {
		msg += fmt.Sprintf("; only tcp 443 on the ingress rule tagged %s=%s may be open to the world",
			PublicLoadBalancerTagKey, PublicLoadBalancerTagValue)
	} else {
		msg += "; the load-balancer rule may open tcp 443 only"
	}
	return append(out, fail("%s", msg))
}
