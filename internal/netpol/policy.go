package netpol

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Resource types read here, as pulumi-kubernetes registers them.
const (
	TypeNetworkPolicy = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	TypeNamespace     = "kubernetes:core/v1:Namespace"
)

// Direction is a traffic direction seen from the selected pod.
type Direction string

const (
	Ingress Direction = "Ingress"
	Egress  Direction = "Egress"
)

// Policy is one NetworkPolicy as the program registers it.
type Policy struct {
	URN string
	// Name is metadata.name (the Pulumi resource name when unset: the
	// provider then autonames it).
	Name string
	// Namespace is metadata.namespace (the provider's default namespace
	// when unset).
	Namespace string
	// PodSelector selects the pods the policy applies to; empty = all pods
	// of the namespace.
	PodSelector Selector
	// Types are the directions the policy isolates (spec.policyTypes, or
	// its default).
	Types []Direction
	// IngressRules and EgressRules are spec.ingress and spec.egress.
	IngressRules, EgressRules []Rule

	namespaceUnknown bool
	typesUnknown     bool
	// rulesUnknown[dir]: the rule list itself is unknown.
	rulesUnknown map[Direction]bool
}

// Rule is one ingress or egress rule: traffic must match one of the peers
// AND one of the ports.
type Rule struct {
	// Index is the rule's position in spec.ingress / spec.egress.
	Index int
	// Peers are from (ingress) or to (egress). AllPeers is set when the
	// list is absent or empty: the rule matches every peer.
	Peers    []Peer
	AllPeers bool
	// Ports; AllPorts is set when the list is absent or empty: the rule
	// matches every port and protocol.
	Ports    []Port
	AllPorts bool

	peersUnknown, portsUnknown bool
	where                      string
}

// Peer is one NetworkPolicyPeer: an ipBlock, or pod/namespace selectors.
type Peer struct {
	IPBlock *IPBlock
	// PodSelector and NamespaceSelector are nil when not set. Both set =
	// pods matching PodSelector in namespaces matching NamespaceSelector
	// (AND); PodSelector alone = pods in the policy's own namespace;
	// NamespaceSelector alone = every pod of the matching namespaces.
	PodSelector, NamespaceSelector *Selector

	unknown bool
	where   string
}

// IPBlock is a CIDR with exceptions.
type IPBlock struct {
	CIDR   netip.Prefix
	Except []netip.Prefix

	cidrUnknown, exceptUnknown bool
	where                      string
}

// Port is one NetworkPolicyPort.
type Port struct {
	// Protocol is TCP, UDP or SCTP (TCP when unset).
	Protocol string
	// Number is the port (0 with Name empty: every port of Protocol).
	Number int
	// Name is a named port (a container port's name).
	Name string
	// EndPort ends a range Number..EndPort (0: a single port).
	EndPort int

	protocolUnknown, portUnknown bool
	// invalid: the API server would reject it; it matches nothing here.
	invalid bool
	where   string
}

// Isolates reports whether the policy isolates its pods for dir.
func (p Policy) Isolates(dir Direction) bool { return slices.Contains(p.Types, dir) }

// TypesUnknown reports whether spec.policyTypes (or, when it is unset, the
// egress list its default depends on) is unknown during preview: the
// policy may isolate more than Types says.
func (p Policy) TypesUnknown() bool { return p.typesUnknown }

// RulesUnknown reports whether the rule list for dir is unknown during
// preview.
func (p Policy) RulesUnknown(dir Direction) bool { return p.rulesUnknown[dir] }

// NamespaceKnown reports whether the policy's namespace is known.
func (p Policy) NamespaceKnown() bool { return !p.namespaceUnknown }

// PortsUnknown reports whether the rule's ports list is unknown during
// preview.
func (r Rule) PortsUnknown() bool { return r.portsUnknown }

// Rules returns the policy's rules for dir.
func (p Policy) Rules(dir Direction) []Rule {
	if dir == Ingress {
		return p.IngressRules
	}
	return p.EgressRules
}

// parsePolicy reads a NetworkPolicy's inputs. defaultNS is the namespace an
// unset metadata.namespace means.
func parsePolicy(r inventory.Resource, defaultNS string) (Policy, []string) {
	p := Policy{URN: r.URN, rulesUnknown: map[Direction]bool{}}
	var problems []string
	in := map[string]any(r.Inputs)
	p.Name, _ = text(in, "metadata.name")
	if p.Name == "" {
		p.Name = r.Name
	}
	where := "NetworkPolicy " + p.Name
	switch ns, st := text(in, "metadata.namespace"); st {
	case opaque:
		p.namespaceUnknown = true
	case absent:
		p.Namespace = defaultNS
	default:
		p.Namespace = ns
	}

	// An absent podSelector is the empty selector: every pod of the
	// namespace. https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
	sel, _, probs := parseSelector(in, "spec.podSelector", where)
	p.PodSelector = sel
	problems = append(problems, probs...)

	for _, dir := range []Direction{Ingress, Egress} {
		field, peersField := "spec.ingress", "from"
		if dir == Egress {
			field, peersField = "spec.egress", "to"
		}
		rules, st := list(in, field)
		if st == opaque {
			p.rulesUnknown[dir] = true
		}
		for i, raw := range rules {
			rule, probs := parseRule(raw, i, peersField, join(where, field, fmt.Sprint(i)))
			problems = append(problems, probs...)
			if dir == Ingress {
				p.IngressRules = append(p.IngressRules, rule)
			} else {
				p.EgressRules = append(p.EgressRules, rule)
			}
		}
	}

	// policyTypes: when unset, Ingress always, plus Egress if the policy
	// has any egress rule. This is the API server's defaulting
	// (SetDefaults_NetworkPolicy: len(spec.egress) != 0), so an empty
	// egress list does not make the policy egress-isolating.
	// https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
	types, st := list(in, "spec.policyTypes")
	switch {
	case st == opaque:
		p.typesUnknown = true
	case len(types) == 0:
		p.Types = []Direction{Ingress}
		switch {
		case p.rulesUnknown[Egress]:
			// Whether Egress is implied depends on the unknown list.
			p.typesUnknown = true
		case len(p.EgressRules) > 0:
			p.Types = append(p.Types, Egress)
		}
	default:
		for i, t := range types {
			switch s, st := text(t, ""); {
			case st == opaque:
				p.typesUnknown = true
			case s == string(Ingress) || s == string(Egress):
				if !p.Isolates(Direction(s)) {
					p.Types = append(p.Types, Direction(s))
				}
			default:
				problems = append(problems, fmt.Sprintf("%s: spec.policyTypes.%d is %q, not Ingress or Egress", where, i, s))
			}
		}
	}
	return p, problems
}

func parseRule(raw any, index int, peersField, where string) (Rule, []string) {
	r := Rule{Index: index, where: where}
	var problems []string
	// An absent or empty from/to matches every peer; an absent or empty
	// ports list matches every port. https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
	peers, st := list(raw, peersField)
	switch {
	case st == opaque:
		r.peersUnknown = true
	case len(peers) == 0:
		r.AllPeers = true
	}
	for i, p := range peers {
		peer, probs := parsePeer(p, join(where, peersField, fmt.Sprint(i)))
		problems = append(problems, probs...)
		r.Peers = append(r.Peers, peer)
	}
	ports, st := list(raw, "ports")
	switch {
	case st == opaque:
		r.portsUnknown = true
	case len(ports) == 0:
		r.AllPorts = true
	}
	for i, p := range ports {
		port, probs := parsePort(p, join(where, "ports", fmt.Sprint(i)))
		problems = append(problems, probs...)
		r.Ports = append(r.Ports, port)
	}
	return r, problems
}

func parsePeer(raw any, where string) (Peer, []string) {
	p := Peer{where: where}
	if _, st := at(raw, ""); st == opaque {
		p.unknown = true
		return p, nil
	}
	var problems []string
	pod, podSet, probs := parseSelector(raw, "podSelector", where)
	problems = append(problems, probs...)
	ns, nsSet, probs := parseSelector(raw, "namespaceSelector", where)
	problems = append(problems, probs...)
	if podSet {
		p.PodSelector = &pod
	}
	if nsSet {
		p.NamespaceSelector = &ns
	}
	block, bst := at(raw, "ipBlock")
	switch {
	case bst == opaque:
		p.IPBlock = &IPBlock{cidrUnknown: true, where: join(where, "ipBlock")}
	case bst == known:
		b, probs := parseIPBlock(block, join(where, "ipBlock"))
		problems = append(problems, probs...)
		p.IPBlock = &b
	}
	// Exactly one of ipBlock or the selectors (API validation).
	switch {
	case p.IPBlock != nil && (podSet || nsSet):
		problems = append(problems, where+": ipBlock cannot be combined with podSelector or namespaceSelector")
	case p.IPBlock == nil && !podSet && !nsSet:
		problems = append(problems, where+": a peer needs ipBlock, podSelector or namespaceSelector")
	}
	return p, problems
}

func parseIPBlock(raw any, where string) (IPBlock, []string) {
	b := IPBlock{where: where}
	var problems []string
	switch cidr, st := text(raw, "cidr"); st {
	case opaque:
		b.cidrUnknown = true
	case absent:
		problems = append(problems, where+".cidr: not set")
	default:
		p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s.cidr: %q is not a CIDR", where, cidr))
		}
		b.CIDR = p.Masked()
	}
	except, st := list(raw, "except")
	if st == opaque {
		b.exceptUnknown = true
	}
	for i, e := range except {
		switch s, st := text(e, ""); st {
		case opaque:
			b.exceptUnknown = true
		case known:
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s.except.%d: %q is not a CIDR", where, i, s))
				continue
			}
			b.Except = append(b.Except, p.Masked())
		}
	}
	return b, problems
}

func parsePort(raw any, where string) (Port, []string) {
	p := Port{where: where}
	var problems []string
	// protocol defaults to TCP (SetDefaults_NetworkPolicyPort).
	switch proto, st := text(raw, "protocol"); st {
	case opaque:
		p.protocolUnknown = true
	case absent:
		p.Protocol = "TCP"
	default:
		p.Protocol = proto
		if proto != "TCP" && proto != "UDP" && proto != "SCTP" {
			problems = append(problems, fmt.Sprintf("%s.protocol: %q is not TCP, UDP or SCTP", where, proto))
			p.invalid = true
		}
	}
	port, st := at(raw, "port")
	switch v := port.(type) {
	case float64:
		n, ok := portNumber(v)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.port: %v is not a port number", where, v))
			p.invalid = true
		}
		p.Number = n
	case string:
		// IntOrString: a string is a named port; Kubernetes requires a
		// name (IANA_SVC_NAME, at least one letter), so "53" is invalid,
		// not port 53.
		if strings.Trim(v, "0123456789") == "" {
			problems = append(problems, fmt.Sprintf("%s.port: %q is a number as a string; set it as a number", where, v))
			p.invalid = true
		}
		p.Name = v
	default:
		if st == opaque {
			p.portUnknown = true
		}
	}
	end, est := at(raw, "endPort")
	switch v := end.(type) {
	case float64:
		n, ok := portNumber(v)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s.endPort: %v is not a port number", where, v))
			p.invalid = true
		case p.Name != "" || p.Number == 0 && !p.portUnknown:
			problems = append(problems, where+".endPort: needs a numeric port")
			p.invalid = true
		case n < p.Number:
			problems = append(problems, fmt.Sprintf("%s.endPort: %d is below port %d", where, n, p.Number))
			p.invalid = true
		}
		p.EndPort = n
	default:
		if est == opaque {
			p.portUnknown = true
		}
	}
	return p, problems
}

func portNumber(f float64) (int, bool) {
	if f != math.Trunc(f) || f < 1 || f > 65535 {
		return 0, false
	}
	return int(f), true
}
