package netpol

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Cluster is what a stack puts into Kubernetes, as far as NetworkPolicy
// is concerned: the policies, the pod templates and the namespaces it
// registers.
type Cluster struct {
	Policies  []Policy
	Workloads []Workload
	// Problems are inputs the API server would reject (a bad CIDR, an
	// unknown selector operator...). The evaluation treats such a part as
	// matching nothing.
	Problems []Problem

	namespaces []namespace
}

// Problem is one malformed input of a resource.
type Problem struct {
	URN string
	// Message names the resource, the input path and what is wrong.
	Message string
}

// typeK8sProvider is the pulumi-kubernetes provider resource; its
// "namespace" input is the namespace of resources that set none.
const typeK8sProvider = "pulumi:providers:kubernetes"

// Load reads the NetworkPolicies, workloads and namespaces among rs.
//
// A resource without metadata.namespace lands in its provider's
// "namespace" (when the provider is among rs and sets one), else in
// "default". A default provider configured through stack config
// (kubernetes:namespace) is not visible here.
func Load(rs []inventory.Resource) *Cluster {
	c := &Cluster{}
	providerNS := map[string]*string{}
	for _, r := range rs {
		if r.Type != typeK8sProvider {
			continue
		}
		switch ns, st := text(map[string]any(r.Inputs), "namespace"); st {
		case opaque:
			providerNS[r.URN] = nil // unknown
		case known:
			providerNS[r.URN] = &ns
		}
	}
	for _, r := range rs {
		defaultNS, unknownDefault := "default", false
		if ns, ok := providerNS[providerURN(r.Provider)]; ok {
			if ns == nil {
				unknownDefault = true
			} else {
				defaultNS = *ns
			}
		}
		var problems []string
		switch kind, isWorkload := workloadKind(r.Type); {
		case r.Type == TypeNetworkPolicy:
			p, probs := parsePolicy(r, defaultNS)
			if unknownDefault && p.Namespace == defaultNS {
				p.namespaceUnknown = true
			}
			c.Policies = append(c.Policies, p)
			problems = probs
		case r.Type == TypeNamespace:
			ns, probs := parseNamespace(r)
			c.namespaces = append(c.namespaces, ns)
			problems = probs
		case isWorkload:
			w, probs := parseWorkload(r, kind, defaultNS)
			if unknownDefault && w.Namespace == defaultNS {
				w.namespaceUnknown = true
			}
			c.Workloads = append(c.Workloads, w)
			problems = probs
		}
		for _, msg := range problems {
			c.Problems = append(c.Problems, Problem{URN: r.URN, Message: msg})
		}
	}
	return c
}

// providerURN strips the "::id" a provider reference carries.
func providerURN(ref string) string {
	if strings.Count(ref, "::") > 3 {
		return ref[:strings.LastIndex(ref, "::")]
	}
	return ref
}

// Workload finds a workload by kind and name (metadata.name, or the
// Pulumi resource name when it has none).
func (c *Cluster) Workload(kind, name string) (Workload, bool) {
	for _, w := range c.Workloads {
		if w.Kind == kind && w.Name == name {
			return w, true
		}
	}
	return Workload{}, false
}

// Policy finds a policy by namespace and name.
func (c *Cluster) Policy(namespace, name string) (Policy, bool) {
	for _, p := range c.Policies {
		if !p.namespaceUnknown && p.Namespace == namespace && p.Name == name {
			return p, true
		}
	}
	return Policy{}, false
}

// DefaultDeny names the policies that select every pod of w's namespace
// (an empty podSelector) and isolate dir: the namespace's default deny.
// unknown lists the inputs that leave open whether another policy does.
func (c *Cluster) DefaultDeny(w Workload, dir Direction) (policies, unknown []string) {
	for _, p := range c.Policies {
		all := triOf(p.PodSelector.Empty())
		if p.PodSelector.unknown {
			all = triMaybe(p.PodSelector.where)
		}
		a := and(p.inNamespace(w.Namespace, w.namespaceUnknown, w.where+" metadata.namespace"), all, p.isolation(dir))
		switch a.t {
		case yes:
			policies = append(policies, p.Name)
		case maybe:
			unknown = appendWhy(unknown, a.why...)
		}
	}
	return policies, unknown
}

// Endpoint is the other end of a flow: an IP address, or a pod.
type Endpoint struct {
	// IP is the address (invalid for a pod known only by labels).
	IP netip.Addr
	// Pod is set for a pod.
	Pod *PodRef
}

// PodRef identifies pods the way NetworkPolicy peers do: by namespace
// (name and labels) and pod labels.
type PodRef struct {
	Namespace       string
	NamespaceLabels Labels
	Labels          Labels

	namespaceUnknown bool
	nsWhere          string
}

// MustIP is the endpoint at an IP address literal; it panics on a bad one
// (for tests and constants).
func MustIP(addr string) Endpoint {
	return Endpoint{IP: netip.MustParseAddr(addr).Unmap()}
}

// Pod is the endpoint of pods labelled labels in namespace ns. The
// namespace's labels are those of the Namespace the stack registers (plus
// kubernetes.io/metadata.name); for a namespace outside the stack
// (kube-system) only kubernetes.io/metadata.name is known.
func (c *Cluster) Pod(ns string, labels map[string]string) Endpoint {
	return Endpoint{Pod: &PodRef{Namespace: ns, NamespaceLabels: c.namespaceLabels(ns), Labels: KnownLabels(labels)}}
}

// KubeDNS is the cluster DNS: pods labelled k8s-app=kube-dns in kube-system
// (CoreDNS on EKS keeps that label).
func (c *Cluster) KubeDNS() Endpoint {
	return c.Pod("kube-system", map[string]string{"k8s-app": "kube-dns"})
}

// PodsOf is the endpoint of a workload's pods (as a peer of another
// workload's flow).
func (c *Cluster) PodsOf(w Workload) Endpoint {
	ref := &PodRef{Namespace: w.Namespace, Labels: w.Labels, namespaceUnknown: w.namespaceUnknown, nsWhere: w.where + " metadata.namespace"}
	if w.namespaceUnknown {
		ref.NamespaceLabels = Labels{AllUnknown: true, where: w.where + " metadata.namespace"}
	} else {
		ref.NamespaceLabels = c.namespaceLabels(w.Namespace)
	}
	return Endpoint{Pod: ref}
}

func (c *Cluster) namespaceLabels(name string) Labels {
	for _, ns := range c.namespaces {
		if !ns.unknown && ns.name == name {
			l := ns.labels
			l.Known = cloneMap(l.Known)
			return l
		}
	}
	return Labels{Known: map[string]string{MetadataNameLabel: name}}
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Flow is one connection to judge, seen from a workload's pods.
type Flow struct {
	Direction Direction
	// Peer is the destination (egress) or the source (ingress).
	Peer Endpoint
	// Protocol is TCP, UDP or SCTP.
	Protocol string
	Port     int
	// PortName is the named container port the flow goes to, if any. A
	// named port in an egress rule names a port of the destination pod,
	// which the stack does not describe for peers outside it, so such a
	// rule matches only a flow that names the port. In an ingress rule it
	// is resolved against the workload's own container ports.
	PortName string
}

// Verdict is the answer to "is this flow allowed?".
type Verdict string

const (
	Allowed Verdict = "allowed"
	Denied  Verdict = "denied"
	// Unknown: the answer depends on inputs unknown during preview.
	Unknown Verdict = "unknown"
)

// Decision is a Verdict with what it rests on.
type Decision struct {
	Verdict Verdict
	// Selecting names the policies that certainly select the workload and
	// isolate it for the flow's direction. None (and no Unknown) means the
	// pods are not isolated: everything is allowed.
	Selecting []string
	// AllowedBy names the policies among Selecting with a rule that
	// matches the flow.
	AllowedBy []string
	// Unknown lists the inputs (resource and path) whose unknown values
	// left the verdict open.
	Unknown []string
}

// Egress judges a connection from w's pods to a peer.
func (c *Cluster) Egress(w Workload, to Endpoint, protocol string, port int) Decision {
	return c.Check(w, Flow{Direction: Egress, Peer: to, Protocol: protocol, Port: port})
}

// Ingress judges a connection to w's pods from a peer.
func (c *Cluster) Ingress(w Workload, from Endpoint, protocol string, port int) Decision {
	return c.Check(w, Flow{Direction: Ingress, Peer: from, Protocol: protocol, Port: port})
}

// Check judges one flow against the NetworkPolicies of w's namespace.
//
// Semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
// a pod is isolated for a direction iff at least one policy selecting it
// has that direction in its policyTypes; a direction that is not isolated
// allows everything. An isolated direction allows exactly the union of the
// matching direction's rules of every policy that selects the pod and
// isolates that direction (policies are additive, order does not matter).
// Only this pod's side is judged: a pod-to-pod connection also needs the
// other pod's own policies to allow it, and replies to an allowed
// connection are always allowed.
func (c *Cluster) Check(w Workload, f Flow) Decision {
	f.Protocol = strings.ToUpper(f.Protocol)
	var d Decision
	// For each policy: does it apply (select w and isolate the direction),
	// and does one of its rules match the flow?
	var applies, matches []tri
	for _, p := range c.Policies {
		a := p.applies(w, f.Direction)
		if a.t == no {
			continue
		}
		m := p.matches(w, f)
		applies, matches = append(applies, a), append(matches, m)
		if a.t == yes {
			d.Selecting = append(d.Selecting, p.Name)
			if m.t == yes {
				d.AllowedBy = append(d.AllowedBy, p.Name)
			}
		}
	}
	d.Verdict, d.Unknown = decide(applies, matches)
	return d
}

// decide computes "not isolated OR some applying policy matches" exactly
// over the unknowns, treating each policy's applies/matches answers as
// independent: allowed when no assignment of the unknowns denies, denied
// when none allows, unknown otherwise. (Plain three-valued logic would
// say "unknown" for a policy that maybe selects the pod and, if it does,
// allows the flow: either way the flow passes.)
func decide(applies, matches []tri) (Verdict, []string) {
	surelyIsolated := false
	surelyAllowed := false // an applying policy surely matches
	canAllowByRule := false
	canDeny := false
	for i, a := range applies {
		m := matches[i]
		if a.t == yes {
			surelyIsolated = true
			if m.t == yes {
				surelyAllowed = true
			}
		}
		if m.t != no {
			canAllowByRule = true
		}
		if m.t != yes {
			canDeny = true
		}
	}
	canAllow := !surelyIsolated || canAllowByRule
	canDeny = canDeny && !surelyAllowed
	switch {
	case canAllow && !canDeny:
		return Allowed, nil
	case canDeny && !canAllow:
		return Denied, nil
	}
	var why []string
	for i, a := range applies {
		why = appendWhy(why, a.why...)
		if a.t != no {
			why = appendWhy(why, matches[i].why...)
		}
	}
	return Unknown, why
}

// applies: the policy selects w's pods and isolates them for dir.
func (p Policy) applies(w Workload, dir Direction) tri {
	return and(p.inNamespace(w.Namespace, w.namespaceUnknown, w.where+" metadata.namespace"),
		p.PodSelector.matches(w.Labels), p.isolation(dir))
}

// isolation: the policy isolates dir (its policyTypes may be unknown).
func (p Policy) isolation(dir Direction) tri {
	if !p.Isolates(dir) && p.typesUnknown {
		return triMaybe("NetworkPolicy " + p.Name + " spec.policyTypes")
	}
	return triOf(p.Isolates(dir))
}

// inNamespace: is namespace ns (maybe unknown) the policy's own?
func (p Policy) inNamespace(ns string, nsUnknown bool, nsWhere string) tri {
	var why []string
	if p.namespaceUnknown {
		why = append(why, "NetworkPolicy "+p.Name+" metadata.namespace")
	}
	if nsUnknown {
		why = append(why, nsWhere)
	}
	if len(why) > 0 {
		return triMaybe(why...)
	}
	return triOf(p.Namespace == ns)
}

// matches: one of the policy's rules for the flow's direction matches it.
func (p Policy) matches(w Workload, f Flow) tri {
	var ts []tri
	if p.rulesUnknown[f.Direction] {
		field := "spec.ingress"
		if f.Direction == Egress {
			field = "spec.egress"
		}
		ts = append(ts, triMaybe("NetworkPolicy "+p.Name+" "+field))
	}
	for _, r := range p.Rules(f.Direction) {
		ts = append(ts, r.matches(p, w, f))
	}
	return or(ts...)
}

// matches: the flow matches one of the rule's peers AND one of its ports.
func (r Rule) matches(p Policy, w Workload, f Flow) tri {
	var peer tri
	switch {
	case r.peersUnknown:
		peer = triMaybe(r.where)
	case r.AllPeers:
		peer = triYes
	default:
		ts := make([]tri, 0, len(r.Peers))
		for _, pr := range r.Peers {
			ts = append(ts, pr.matches(p, f.Peer))
		}
		peer = or(ts...)
	}
	var port tri
	switch {
	case r.portsUnknown:
		port = triMaybe(r.where + ".ports")
	case r.AllPorts:
		port = triYes
	default:
		ts := make([]tri, 0, len(r.Ports))
		for _, pt := range r.Ports {
			ts = append(ts, pt.matches(w, f))
		}
		port = or(ts...)
	}
	return and(peer, port)
}

// matches: the endpoint is one of the peer's.
// https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors
func (pr Peer) matches(p Policy, e Endpoint) tri {
	if pr.unknown {
		return triMaybe(pr.where)
	}
	if pr.IPBlock != nil {
		// ipBlock is meant for cluster-external addresses; whether it also
		// matches pod IPs is up to the plugin. A pod endpoint is judged by
		// its IP only when the caller gives one.
		if !e.IP.IsValid() {
			return triNo
		}
		return pr.IPBlock.contains(e.IP)
	}
	if e.Pod == nil {
		// An address is not known to be a pod: selectors do not match it.
		return triNo
	}
	pod := e.Pod
	var ns tri
	if pr.NamespaceSelector != nil {
		// namespaceSelector {} selects every namespace; with a
		// podSelector in the same peer both must hold (AND).
		ns = pr.NamespaceSelector.matches(pod.NamespaceLabels)
	} else {
		// podSelector alone: pods in the policy's own namespace.
		ns = p.inNamespace(pod.Namespace, pod.namespaceUnknown, pod.nsWhere)
	}
	podMatch := triYes
	if pr.PodSelector != nil {
		podMatch = pr.PodSelector.matches(pod.Labels)
	}
	return and(ns, podMatch)
}

// contains: ip is in the CIDR and in none of the exceptions.
func (b IPBlock) contains(ip netip.Addr) tri {
	ip = ip.Unmap()
	if b.cidrUnknown {
		return triMaybe(b.where + ".cidr")
	}
	if !b.CIDR.IsValid() || !b.CIDR.Contains(ip) {
		return triNo
	}
	for _, e := range b.Except {
		if e.Contains(ip) {
			return triNo
		}
	}
	if b.exceptUnknown {
		return triMaybe(b.where + ".except")
	}
	return triYes
}

// matches: the flow's protocol and port are the rule port's.
func (pt Port) matches(w Workload, f Flow) tri {
	if pt.invalid {
		return triNo
	}
	proto := triOf(pt.Protocol == f.Protocol)
	if pt.protocolUnknown {
		proto = triMaybe(pt.where + ".protocol")
	}
	var port tri
	switch {
	case pt.portUnknown:
		port = triMaybe(pt.where + ".port")
	case pt.Name != "":
		port = pt.matchesName(w, f)
	case pt.Number == 0:
		// No port: every port of the protocol.
		port = triYes
	case pt.EndPort > 0:
		port = triOf(pt.Number <= f.Port && f.Port <= pt.EndPort)
	default:
		port = triOf(pt.Number == f.Port)
	}
	return and(proto, port)
}

// matchesName resolves a named port: the flow names it, or (ingress) the
// workload's container port of that name is the flow's port and protocol.
func (pt Port) matchesName(w Workload, f Flow) tri {
	if f.PortName == pt.Name {
		return triYes
	}
	if f.Direction != Ingress {
		return triNo
	}
	if cp, ok := w.Ports[pt.Name]; ok {
		return triOf(cp.Number == f.Port && cp.Protocol == f.Protocol)
	}
	if w.portsUnknown {
		return triMaybe(w.where + " container ports")
	}
	return triNo
}

// Entry is one allowed (peer, protocol, ports) combination.
type Entry struct {
	// Peer: "any", "ipBlock 10.0.20.0/24", "ipBlock 0.0.0.0/0 except
	// 10.0.0.0/16", "pods k8s-app=kube-dns in namespaces
	// kubernetes.io/metadata.name=kube-system", "all pods in namespace x".
	Peer string
	// Protocol: TCP, UDP, SCTP or "any".
	Protocol string
	// Ports: "5432", "32000-32768", a port name, or "all".
	Ports string
	// Policy is the policy whose rule allows it ("" when the pods are not
	// isolated).
	Policy string
}

// String renders the entry without its policy: "TCP 5432 ipBlock
// 10.0.10.0/24", "all ports any".
func (e Entry) String() string {
	ports := e.Protocol + " " + e.Ports
	switch {
	case e.Protocol == "any":
		ports = "all ports"
	case e.Ports == "all":
		ports = e.Protocol + " all ports"
	}
	return ports + " " + e.Peer
}

// Summary is every flow a workload's pods may open (egress) or accept
// (ingress).
type Summary struct {
	Direction Direction
	// Isolated is false when no policy isolates the direction: then
	// Entries is the single "all ports any" entry.
	Isolated bool
	Entries  []Entry
	// Unknown lists the inputs unknown during preview that leave the
	// summary incomplete (a policy that may or may not select the pods, an
	// unknown CIDR...). Empty means the summary is exact.
	Unknown []string
}

// Flows returns the entries rendered (Entry.String), sorted, each once:
// what a test compares against "exactly these flows".
func (s Summary) Flows() []string {
	var out []string
	for _, e := range s.Entries {
		out = append(out, e.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Summary lists what the NetworkPolicies allow w's pods in direction dir.
func (c *Cluster) Summary(w Workload, dir Direction) Summary {
	s := Summary{Direction: dir}
	maybeIsolated := false
	for _, p := range c.Policies {
		a := p.applies(w, dir)
		switch a.t {
		case no:
			continue
		case maybe:
			maybeIsolated = true
			s.Unknown = appendWhy(s.Unknown, a.why...)
			continue
		}
		s.Isolated = true
		if p.rulesUnknown[dir] {
			s.Unknown = appendWhy(s.Unknown, fmt.Sprintf("NetworkPolicy %s spec.%s", p.Name, strings.ToLower(string(dir))))
		}
		for _, r := range p.Rules(dir) {
			entries, why := r.Entries(p)
			s.Entries = append(s.Entries, entries...)
			s.Unknown = appendWhy(s.Unknown, why...)
		}
	}
	if !s.Isolated && !maybeIsolated {
		s.Entries = []Entry{{Peer: "any", Protocol: "any", Ports: "all"}}
	}
	return s
}

// Entries expands a rule of policy p into peer × port entries; unknown
// names the inputs rendered as <unknown>.
func (r Rule) Entries(p Policy) (entries []Entry, unknown []string) {
	var why []string
	var peers []string
	switch {
	case r.peersUnknown:
		peers, why = []string{"<unknown peers>"}, append(why, r.where)
	case r.AllPeers:
		peers = []string{"any"}
	default:
		for _, pr := range r.Peers {
			text, w := pr.render(p)
			peers = append(peers, text)
			why = appendWhy(why, w...)
		}
	}
	type pp struct{ proto, ports string }
	var ports []pp
	switch {
	case r.portsUnknown:
		ports, why = []pp{{"<unknown>", "<unknown>"}}, append(why, r.where+".ports")
	case r.AllPorts:
		ports = []pp{{"any", "all"}}
	default:
		for _, pt := range r.Ports {
			proto, text := pt.Protocol, "all"
			switch {
			case pt.protocolUnknown:
				proto, why = "<unknown>", append(why, pt.where+".protocol")
			}
			switch {
			case pt.portUnknown:
				text, why = "<unknown>", append(why, pt.where+".port")
			case pt.Name != "":
				text = pt.Name
			case pt.EndPort > 0:
				text = fmt.Sprintf("%d-%d", pt.Number, pt.EndPort)
			case pt.Number > 0:
				text = fmt.Sprint(pt.Number)
			}
			ports = append(ports, pp{proto, text})
		}
	}
	var out []Entry
	for _, peer := range peers {
		for _, port := range ports {
			out = append(out, Entry{Peer: peer, Protocol: port.proto, Ports: port.ports, Policy: p.Name})
		}
	}
	return out, why
}

// render describes a peer in words.
func (pr Peer) render(p Policy) (string, []string) {
	if pr.unknown {
		return "<unknown peer>", []string{pr.where}
	}
	if b := pr.IPBlock; b != nil {
		if b.cidrUnknown {
			return "ipBlock <unknown>", []string{b.where + ".cidr"}
		}
		s := "ipBlock " + b.CIDR.String()
		var except []string
		for _, e := range b.Except {
			except = append(except, e.String())
		}
		var why []string
		if b.exceptUnknown {
			except = append(except, "<unknown>")
			why = append(why, b.where+".except")
		}
		if len(except) > 0 {
			s += " except " + strings.Join(except, ", ")
		}
		return s, why
	}
	var why []string
	pods := "all pods"
	if pr.PodSelector != nil && !pr.PodSelector.Empty() {
		pods = "pods " + pr.PodSelector.String()
		if pr.PodSelector.unknown {
			why = append(why, pr.PodSelector.where)
		}
	}
	if pr.NamespaceSelector == nil {
		ns := p.Namespace
		if p.namespaceUnknown {
			ns, why = "<unknown>", append(why, "NetworkPolicy "+p.Name+" metadata.namespace")
		}
		return pods + " in namespace " + ns, why
	}
	if pr.NamespaceSelector.Empty() {
		return pods + " in all namespaces", why
	}
	if pr.NamespaceSelector.unknown {
		why = append(why, pr.NamespaceSelector.where)
	}
	return pods + " in namespaces " + pr.NamespaceSelector.String(), why
}
