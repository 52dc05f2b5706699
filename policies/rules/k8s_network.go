package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/netpol"
)

// dnsProtocols are the protocols cluster DNS answers on: UDP, and TCP for
// large answers and retries.
var dnsProtocols = []string{"UDP", "TCP"}

var k8sWorkloadNetwork = Rule{
	ID: "k8s-workload-network",
	Description: "In a namespace with a default-deny egress NetworkPolicy (one selecting every pod), every workload's " +
		"pod template is allowed DNS to kube-dns (pods k8s-app=kube-dns in kube-system) on UDP 53 and TCP 53; " +
		"every NetworkPolicy egress rule lists ports. Malformed NetworkPolicies are violations too.",
	Dev: Mandatory, Prod: Mandatory,
	CheckStack: func(rs []inventory.Resource, _ Settings) ([]Finding, error) {
		c := netpol.Load(rs)
		var out []Finding
		for _, p := range c.Problems {
			out = append(out, Finding{URN: p.URN, Message: p.Message + " (the API server would reject it)"})
		}
		for _, w := range c.Workloads {
			out = append(out, workloadDNS(c, w)...)
		}
		return append(out, egressBoundedByPorts(c)...), nil
	},
}

// workloadDNS checks that a workload under a default deny can resolve
// names: without DNS its pods fail before they do anything (the first
// `pulumi up` waits on a Job that never finishes).
func workloadDNS(c *netpol.Cluster, w netpol.Workload) []Finding {
	denies, unknownDeny := c.DefaultDeny(w, netpol.Egress)
	if len(denies) == 0 && len(unknownDeny) == 0 {
		return nil // not under a default deny: not this rule's business
	}
	var denied []string
	var selecting, unknown []string
	for _, proto := range dnsProtocols {
		d := c.Egress(w, c.KubeDNS(), proto, 53)
		switch d.Verdict {
		case netpol.Denied:
			denied = append(denied, proto+" 53")
			selecting = d.Selecting
		case netpol.Unknown:
			unknown = appendNew(unknown, d.Unknown...)
		}
	}
	where := fmt.Sprintf("%s (namespace %s)", w, w.Namespace)
	if !w.NamespaceKnown() {
		where = w.String()
	}
	var out []Finding
	switch {
	case len(denied) > 0 && len(denies) == 0:
		// Denied, but whether a default deny covers the namespace is open.
		out = append(out, Finding{URN: w.URN, Advisory: true, Message: "cannot verify during preview: whether a default-deny NetworkPolicy covers " +
			where + " (" + strings.Join(unknownDeny, ", ") + ") unknown; if one does, it gets no DNS egress to kube-dns"})
	case len(denied) > 0:
		out = append(out, Finding{URN: w.URN, Message: dnsDeniedMessage(c, w, where, denied, denies, selecting)})
	}
	if len(unknown) > 0 {
		out = append(out, Finding{URN: w.URN, Advisory: true, Message: "cannot verify during preview: DNS egress of " + where +
			" to kube-dns (" + strings.Join(unknown, ", ") + ") unknown"})
	}
	return out
}

// dnsDeniedMessage says why a workload gets no DNS: no allow policy
// selects its pod labels at all, or the ones that do leave DNS out.
func dnsDeniedMessage(c *netpol.Cluster, w netpol.Workload, where string, denied, denies, selecting []string) string {
	var allows []string
	for _, name := range selecting {
		if p, ok := c.Policy(w.Namespace, name); ok && len(p.EgressRules) > 0 {
			allows = append(allows, "NetworkPolicy "+name)
		}
	}
	deny := "NetworkPolicy " + strings.Join(denies, ", NetworkPolicy ")
	if len(allows) == 0 {
		return fmt.Sprintf("%s: no allow policy selects its pod labels %s, so under the default deny (%s) it gets no egress at all, "+
			"not even DNS to kube-dns (%s): label the pod template so an allow policy selects it, or add one that does",
			where, w.Labels, deny, strings.Join(denied, ", "))
	}
	return fmt.Sprintf("%s: its pod labels %s are selected by %s, which allow no DNS egress to kube-dns (pods k8s-app=kube-dns "+
		"in namespace kube-system) on %s under the default deny (%s): add that egress rule",
		where, w.Labels, strings.Join(allows, ", "), strings.Join(denied, ", "), deny)
}

// egressBoundedByPorts: an egress rule without ports opens every port and
// protocol to its peers (to 0.0.0.0/0 that is the whole internet).
func egressBoundedByPorts(c *netpol.Cluster) []Finding {
	var out []Finding
	for _, p := range c.Policies {
		if !p.Isolates(netpol.Egress) && !p.TypesUnknown() {
			// Egress rules of a policy that does not isolate egress have
			// no effect.
			continue
		}
		name := "NetworkPolicy " + p.Name
		if p.NamespaceKnown() {
			name += " (namespace " + p.Namespace + ")"
		}
		if p.RulesUnknown(netpol.Egress) {
			out = append(out, Finding{URN: p.URN, Advisory: true, Message: "cannot verify during preview: " + name + " spec.egress unknown"})
		}
		for _, r := range p.EgressRules {
			field := fmt.Sprintf("spec.egress.%d", r.Index)
			switch {
			case r.PortsUnknown():
				out = append(out, Finding{URN: p.URN, Advisory: true, Message: "cannot verify during preview: " + name + " " + field + ".ports unknown"})
			case r.AllPorts && p.TypesUnknown() && !p.Isolates(netpol.Egress):
				out = append(out, Finding{URN: p.URN, Advisory: true, Message: "cannot verify during preview: " + name +
					" spec.policyTypes unknown; if it isolates egress, " + field + " lists no ports"})
			case r.AllPorts:
				out = append(out, Finding{URN: p.URN, Message: fmt.Sprintf(
					"%s: %s lists no ports, so it opens every port and protocol to %s: list the ports the pods need",
					name, field, rulePeers(p, r))})
			}
		}
	}
	return out
}

// rulePeers renders a rule's peers: "ipBlock 0.0.0.0/0, pods app=x in namespace y".
func rulePeers(p netpol.Policy, r netpol.Rule) string {
	entries, _ := r.Entries(p)
	var peers []string
	for _, e := range entries {
		if !slices.Contains(peers, e.Peer) {
			peers = append(peers, e.Peer)
		}
	}
	if len(peers) == 1 && peers[0] == "any" {
		return "any peer"
	}
	return strings.Join(peers, ", ")
}

func appendNew(dst []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}
