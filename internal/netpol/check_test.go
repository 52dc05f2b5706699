package netpol

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantco/platform/internal/inventory"
)

// peer builds a flow's other end once the cluster is loaded (pods take
// their namespace labels from it).
type peer func(c *Cluster) Endpoint

func ip(addr string) peer { return func(*Cluster) Endpoint { return MustIP(addr) } }

func pod(ns string, kv ...string) peer {
	return func(c *Cluster) Endpoint {
		lbls := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			lbls[kv[i]] = kv[i+1]
		}
		return c.Pod(ns, lbls)
	}
}

var kubeDNS peer = func(c *Cluster) Endpoint { return c.KubeDNS() }

type flowCase struct {
	name  string
	rs    []inventory.Resource
	dir   Direction
	peer  peer
	proto string
	port  int
	want  Verdict
}

// web is the workload under test: a Deployment in namespace "app" whose
// pods carry app=web (its object labels differ).
var web = deployment("web", "app", labels("app", "web", "tier", "front"))

func stack(rs ...inventory.Resource) []inventory.Resource {
	return append([]inventory.Resource{web}, rs...)
}

func runFlows(t *testing.T, cases []flowCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := Load(c.rs)
			if len(cl.Problems) > 0 {
				t.Fatalf("problems: %v", cl.Problems)
			}
			w, ok := cl.Workload("Deployment", "web")
			if !ok {
				t.Fatal("no Deployment web")
			}
			d := cl.Check(w, Flow{Direction: c.dir, Peer: c.peer(cl), Protocol: c.proto, Port: c.port})
			if d.Verdict != c.want {
				t.Errorf("%s %s %d: %s (selecting %v, allowed by %v, unknown %v), want %s",
					c.dir, c.proto, c.port, d.Verdict, d.Selecting, d.AllowedBy, d.Unknown, c.want)
			}
			if d.Verdict == Unknown && len(d.Unknown) == 0 {
				t.Error("an unknown verdict must name the unknown inputs")
			}
			if d.Verdict != Unknown && len(d.Unknown) > 0 {
				t.Errorf("a decided verdict lists unknowns %v", d.Unknown)
			}
		})
	}
}

func TestIsolation(t *testing.T) {
	egressOnlyRules := policy("egress-rules", "app", m{
		"podSelector": matchLabels("app", "web"),
		"egress":      l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": 5432.0})}),
	})
	ingressOnlyRules := policy("ingress-rules", "app", m{
		"podSelector": matchLabels("app", "web"),
		"ingress":     l(m{"ports": l(m{"port": 8080.0})}),
	})
	runFlows(t, []flowCase{
		{"no policy: everything allowed", stack(), Egress, ip("10.0.20.5"), "TCP", 5432, Allowed},
		{"no policy: ingress allowed", stack(), Ingress, ip("192.0.2.1"), "TCP", 22, Allowed},
		{"policy selecting other pods does not isolate", stack(
			policy("db-only", "app", m{"podSelector": matchLabels("app", "db"), "policyTypes": l("Ingress", "Egress")}),
		), Egress, ip("10.0.20.5"), "TCP", 5432, Allowed},
		{"policy in another namespace does not isolate", stack(defaultDeny("other")), Egress, ip("10.0.20.5"), "TCP", 5432, Allowed},
		{"default deny: egress denied", stack(defaultDeny("app")), Egress, ip("10.0.20.5"), "TCP", 5432, Denied},
		{"default deny: ingress denied", stack(defaultDeny("app")), Ingress, ip("10.0.0.7"), "TCP", 8080, Denied},
		{"egress-only deny leaves ingress open", stack(
			policy("deny-egress", "app", m{"podSelector": m{}, "policyTypes": l("Egress")}),
		), Ingress, ip("10.0.0.7"), "TCP", 8080, Allowed},

		// policyTypes default: Ingress always, Egress iff egress rules.
		{"no policyTypes, egress rules: egress isolated, rule allows", stack(egressOnlyRules), Egress, ip("10.0.20.5"), "TCP", 5432, Allowed},
		{"no policyTypes, egress rules: egress isolated, other port denied", stack(egressOnlyRules), Egress, ip("10.0.20.5"), "TCP", 6379, Denied},
		// The classic gotcha: a policy with only egress rules still isolates
		// ingress, with no ingress rule, so all ingress is denied.
		{"no policyTypes, egress rules: ingress isolated too", stack(egressOnlyRules), Ingress, ip("10.0.0.7"), "TCP", 8080, Denied},
		{"no policyTypes, ingress rules only: egress not isolated", stack(ingressOnlyRules), Egress, ip("203.0.113.9"), "TCP", 25, Allowed},
		{"no policyTypes, ingress rules only: ingress isolated", stack(ingressOnlyRules), Ingress, ip("10.0.0.7"), "TCP", 22, Denied},
		{"no policyTypes, empty egress list: egress not isolated", stack(
			policy("empty-egress", "app", m{"podSelector": m{}, "egress": l()}),
		), Egress, ip("203.0.113.9"), "TCP", 25, Allowed},
		// Egress rules of a policy whose policyTypes leave Egress out do
		// not isolate (nor allow) anything.
		{"explicit policyTypes Ingress ignores egress rules", stack(
			policy("ingress-typed", "app", m{
				"podSelector": m{}, "policyTypes": l("Ingress"),
				"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": 5432.0})}),
			}),
		), Egress, ip("203.0.113.9"), "TCP", 25, Allowed},

		// Additive: the union of every selecting policy's rules.
		{"union: first policy's rule", stack(defaultDeny("app"),
			policy("db", "app", m{"podSelector": matchLabels("app", "web"), "policyTypes": l("Egress"),
				"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": 5432.0})})}),
			policy("https", "app", m{"podSelector": matchLabels("tier", "front"), "policyTypes": l("Egress"),
				"egress": l(m{"ports": l(m{"port": 443.0})})}),
		), Egress, ip("10.0.20.5"), "TCP", 5432, Allowed},
		{"union: second policy's rule", stack(defaultDeny("app"),
			policy("db", "app", m{"podSelector": matchLabels("app", "web"), "policyTypes": l("Egress"),
				"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": 5432.0})})}),
			policy("https", "app", m{"podSelector": matchLabels("tier", "front"), "policyTypes": l("Egress"),
				"egress": l(m{"ports": l(m{"port": 443.0})})}),
		), Egress, ip("198.51.100.1"), "TCP", 443, Allowed},
		{"union: neither", stack(defaultDeny("app"),
			policy("db", "app", m{"podSelector": matchLabels("app", "web"), "policyTypes": l("Egress"),
				"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": 5432.0})})}),
		), Egress, ip("10.0.20.5"), "TCP", 22, Denied},
		{"matchExpressions select the pods", stack(defaultDeny("app"),
			policy("exprs", "app", m{"podSelector": m{"matchExpressions": l(expr("app", "In", "web", "api"), expr("canary", "DoesNotExist"))},
				"policyTypes": l("Egress"), "egress": l(m{"ports": l(m{"port": 443.0})})}),
		), Egress, ip("198.51.100.1"), "TCP", 443, Allowed},
		{"matchExpressions exclude the pods", stack(defaultDeny("app"),
			policy("exprs", "app", m{"podSelector": m{"matchExpressions": l(expr("tier", "NotIn", "front"))},
				"policyTypes": l("Egress"), "egress": l(m{"ports": l(m{"port": 443.0})})}),
		), Egress, ip("198.51.100.1"), "TCP", 443, Denied},
	})
}

func TestRulePeersAndPorts(t *testing.T) {
	egress := func(rule m) []inventory.Resource {
		return stack(policy("p", "app", m{"podSelector": m{}, "policyTypes": l("Egress"), "egress": l(rule)}))
	}
	ingress := func(rule m) []inventory.Resource {
		return stack(policy("p", "app", m{"podSelector": m{}, "policyTypes": l("Ingress"), "ingress": l(rule)}))
	}
	vpc := m{"ipBlock": m{"cidr": "10.0.20.0/24"}}
	runFlows(t, []flowCase{
		// Ports.
		{"port matches", egress(m{"to": l(vpc), "ports": l(m{"protocol": "TCP", "port": 5432.0})}), Egress, ip("10.0.20.5"), "TCP", 5432, Allowed},
		{"other port", egress(m{"to": l(vpc), "ports": l(m{"protocol": "TCP", "port": 5432.0})}), Egress, ip("10.0.20.5"), "TCP", 5433, Denied},
		{"protocol defaults to TCP", egress(m{"to": l(vpc), "ports": l(m{"port": 53.0})}), Egress, ip("10.0.20.5"), "TCP", 53, Allowed},
		{"protocol default is not UDP", egress(m{"to": l(vpc), "ports": l(m{"port": 53.0})}), Egress, ip("10.0.20.5"), "UDP", 53, Denied},
		{"protocol only: every port of it", egress(m{"to": l(vpc), "ports": l(m{"protocol": "UDP"})}), Egress, ip("10.0.20.5"), "UDP", 12345, Allowed},
		{"protocol only: not another protocol", egress(m{"to": l(vpc), "ports": l(m{"protocol": "UDP"})}), Egress, ip("10.0.20.5"), "TCP", 12345, Denied},
		{"absent ports: every port", egress(m{"to": l(vpc)}), Egress, ip("10.0.20.5"), "TCP", 9999, Allowed},
		{"absent ports: every protocol", egress(m{"to": l(vpc)}), Egress, ip("10.0.20.5"), "UDP", 5, Allowed},
		{"empty ports list: every port", egress(m{"to": l(vpc), "ports": l()}), Egress, ip("10.0.20.5"), "SCTP", 9, Allowed},
		{"endPort range: inside", egress(m{"to": l(vpc), "ports": l(m{"port": 32000.0, "endPort": 32768.0})}), Egress, ip("10.0.20.5"), "TCP", 32768, Allowed},
		{"endPort range: outside", egress(m{"to": l(vpc), "ports": l(m{"port": 32000.0, "endPort": 32768.0})}), Egress, ip("10.0.20.5"), "TCP", 32769, Denied},
		{"endPort range: below", egress(m{"to": l(vpc), "ports": l(m{"port": 32000.0, "endPort": 32768.0})}), Egress, ip("10.0.20.5"), "TCP", 31999, Denied},
		{"named ingress port resolves to the container port", ingress(m{"ports": l(m{"port": "http"})}), Ingress, ip("10.0.0.7"), "TCP", 8080, Allowed},
		{"named ingress port: other port", ingress(m{"ports": l(m{"port": "http"})}), Ingress, ip("10.0.0.7"), "TCP", 9090, Denied},
		{"named ingress port unknown to the pod", ingress(m{"ports": l(m{"port": "grpc"})}), Ingress, ip("10.0.0.7"), "TCP", 8080, Denied},
		{"named egress port does not match a bare number", egress(m{"ports": l(m{"port": "http"})}), Egress, ip("10.0.20.5"), "TCP", 8080, Denied},

		// Peers.
		{"absent to: every peer", egress(m{"ports": l(m{"port": 443.0})}), Egress, ip("198.51.100.1"), "TCP", 443, Allowed},
		{"empty to: every peer", egress(m{"to": l(), "ports": l(m{"port": 443.0})}), Egress, pod("anywhere", "x", "y"), "TCP", 443, Allowed},
		{"ipBlock outside", egress(m{"to": l(vpc)}), Egress, ip("10.0.21.5"), "TCP", 5432, Denied},
		{"ipBlock except excludes", egress(m{"to": l(m{"ipBlock": m{"cidr": "0.0.0.0/0", "except": l("10.0.0.0/16")}})}), Egress, ip("10.0.20.5"), "TCP", 443, Denied},
		{"ipBlock except leaves the rest", egress(m{"to": l(m{"ipBlock": m{"cidr": "0.0.0.0/0", "except": l("10.0.0.0/16")}})}), Egress, ip("8.8.8.8"), "TCP", 443, Allowed},
		{"ipv4 block does not hold ipv6", egress(m{"to": l(m{"ipBlock": m{"cidr": "0.0.0.0/0"}})}), Egress, ip("2001:db8::1"), "TCP", 443, Denied},
		{"ipBlock does not match a pod known by labels", egress(m{"to": l(m{"ipBlock": m{"cidr": "0.0.0.0/0"}})}), Egress, kubeDNS, "UDP", 53, Denied},
		{"selectors do not match an address", egress(m{"to": l(m{"namespaceSelector": m{}})}), Egress, ip("10.0.20.5"), "TCP", 443, Denied},

		// namespaceSelector AND podSelector in one element.
		{"ns AND pod: kube-dns", egress(m{"to": l(dnsPeer), "ports": dnsPorts}), Egress, kubeDNS, "UDP", 53, Allowed},
		{"ns AND pod: kube-dns over TCP", egress(m{"to": l(dnsPeer), "ports": dnsPorts}), Egress, kubeDNS, "TCP", 53, Allowed},
		{"ns AND pod: other pod of kube-system", egress(m{"to": l(dnsPeer), "ports": dnsPorts}), Egress, pod("kube-system", "k8s-app", "metrics-server"), "UDP", 53, Denied},
		{"ns AND pod: kube-dns label in another namespace", egress(m{"to": l(dnsPeer), "ports": dnsPorts}), Egress, pod("app", "k8s-app", "kube-dns"), "UDP", 53, Denied},
		// Two elements: OR.
		{"ns OR pod: any pod of kube-system", egress(m{"to": l(
			m{"namespaceSelector": matchLabels("kubernetes.io/metadata.name", "kube-system")},
			m{"podSelector": matchLabels("k8s-app", "kube-dns")},
		)}), Egress, pod("kube-system", "k8s-app", "metrics-server"), "UDP", 53, Allowed},
		{"ns OR pod: kube-dns label in the policy's namespace", egress(m{"to": l(
			m{"namespaceSelector": matchLabels("kubernetes.io/metadata.name", "kube-system")},
			m{"podSelector": matchLabels("k8s-app", "kube-dns")},
		)}), Egress, pod("app", "k8s-app", "kube-dns"), "UDP", 53, Allowed},
		{"ns OR pod: kube-dns label in a third namespace", egress(m{"to": l(
			m{"namespaceSelector": matchLabels("kubernetes.io/metadata.name", "kube-system")},
			m{"podSelector": matchLabels("k8s-app", "kube-dns")},
		)}), Egress, pod("monitoring", "k8s-app", "kube-dns"), "UDP", 53, Denied},
		// podSelector alone: the policy's namespace only.
		{"podSelector alone: same namespace", egress(m{"to": l(m{"podSelector": matchLabels("role", "db")})}), Egress, pod("app", "role", "db"), "TCP", 5432, Allowed},
		{"podSelector alone: not another namespace", egress(m{"to": l(m{"podSelector": matchLabels("role", "db")})}), Egress, pod("data", "role", "db"), "TCP", 5432, Denied},
		{"podSelector {} alone: every pod of the namespace", egress(m{"to": l(m{"podSelector": m{}})}), Egress, pod("app", "any", "thing"), "TCP", 1, Allowed},
		{"podSelector {} alone: not other namespaces", egress(m{"to": l(m{"podSelector": m{}})}), Egress, pod("data"), "TCP", 1, Denied},
		// namespaceSelector {}: every namespace.
		{"namespaceSelector {}: any namespace", egress(m{"to": l(m{"namespaceSelector": m{}})}), Egress, pod("data", "role", "db"), "TCP", 5432, Allowed},
		{"namespaceSelector {} AND podSelector", egress(m{"to": l(m{"namespaceSelector": m{}, "podSelector": matchLabels("role", "db")})}), Egress, pod("data", "role", "cache"), "TCP", 5432, Denied},
		// Namespace labels come from the Namespace the stack registers.
		{"namespaceSelector on a registered namespace's label", append(egress(m{"to": l(m{"namespaceSelector": matchLabels("team", "data")})}),
			namespaceRes("data", labels("team", "data"))), Egress, pod("data", "role", "db"), "TCP", 5432, Allowed},
		{"namespaceSelector on a label the namespace lacks", append(egress(m{"to": l(m{"namespaceSelector": matchLabels("team", "data")})}),
			namespaceRes("data", labels("team", "web"))), Egress, pod("data", "role", "db"), "TCP", 5432, Denied},
		{"a registered namespace also carries its name label", append(egress(m{"to": l(m{"namespaceSelector": matchLabels("kubernetes.io/metadata.name", "data")})}),
			namespaceRes("data", labels("team", "data"))), Egress, pod("data", "role", "db"), "TCP", 5432, Allowed},
		{"namespace outside the stack has only its name label", egress(m{"to": l(m{"namespaceSelector": matchLabels("team", "data")})}), Egress, pod("data", "role", "db"), "TCP", 5432, Denied},

		// Ingress peers.
		{"ingress from the VPC", ingress(m{"from": l(m{"ipBlock": m{"cidr": "10.0.0.0/16"}}), "ports": l(m{"port": 8080.0})}), Ingress, ip("10.0.3.4"), "TCP", 8080, Allowed},
		{"ingress from outside the VPC", ingress(m{"from": l(m{"ipBlock": m{"cidr": "10.0.0.0/16"}}), "ports": l(m{"port": 8080.0})}), Ingress, ip("203.0.113.4"), "TCP", 8080, Denied},
	})
}

func TestDefaultNamespace(t *testing.T) {
	noNS := deployment("web", "", labels("app", "web"))
	delete(noNS.Inputs["metadata"].(m), "namespace")
	provider := inventory.Resource{URN: "urn:pulumi:dev::platform::pulumi:providers:kubernetes::k8s", Type: typeK8sProvider, Name: "k8s",
		Inputs: m{"namespace": "apps"}}
	withProvider := noNS
	withProvider.Provider = provider.URN + "::3f2a-id"
	unknownProvider := provider
	unknownProvider.Inputs = m{"namespace": unk}
	runFlows(t, []flowCase{
		{"unset namespace is default", []inventory.Resource{noNS, defaultDeny("default")}, Egress, ip("10.0.0.1"), "TCP", 1, Denied},
		{"unset namespace is not another", []inventory.Resource{noNS, defaultDeny("app")}, Egress, ip("10.0.0.1"), "TCP", 1, Allowed},
		{"unset namespace is the provider's", []inventory.Resource{provider, withProvider, defaultDeny("apps")}, Egress, ip("10.0.0.1"), "TCP", 1, Denied},
		{"provider namespace unknown", []inventory.Resource{unknownProvider, withProvider, defaultDeny("apps")}, Egress, ip("10.0.0.1"), "TCP", 1, Unknown},
	})
}

func TestWorkloadKinds(t *testing.T) {
	podLabels := labels("app", "x")
	tmpl := m{"metadata": m{"labels": podLabels}, "spec": m{"containers": l(m{"name": "c"})}}
	objMeta := func(name string) m { return m{"name": name, "namespace": "app", "labels": labels("object", "only")} }
	rs := []inventory.Resource{
		res("kubernetes:apps/v1:Deployment", "d", m{"metadata": objMeta("d"), "spec": m{"template": tmpl}}),
		res("kubernetes:apps/v1:StatefulSet", "s", m{"metadata": objMeta("s"), "spec": m{"template": tmpl}}),
		res("kubernetes:apps/v1:DaemonSet", "ds", m{"metadata": objMeta("ds"), "spec": m{"template": tmpl}}),
		res("kubernetes:apps/v1:ReplicaSet", "rs", m{"metadata": objMeta("rs"), "spec": m{"template": tmpl}}),
		res("kubernetes:batch/v1:Job", "j", m{"metadata": objMeta("j"), "spec": m{"template": tmpl}}),
		res("kubernetes:batch/v1:CronJob", "cj", m{"metadata": objMeta("cj"), "spec": m{"jobTemplate": m{"spec": m{"template": tmpl}}}}),
		res("kubernetes:core/v1:Pod", "p", m{"metadata": m{"name": "p", "namespace": "app", "labels": podLabels}, "spec": m{}}),
		// Not workloads.
		res("kubernetes:core/v1:Service", "svc", m{"metadata": objMeta("svc"), "spec": m{"selector": podLabels}}),
		res("kubernetes:apps/v1:ControllerRevision", "cr", m{"metadata": objMeta("cr")}),
		res("kubernetes:core/v1:PodTemplate", "pt", m{"metadata": objMeta("pt"), "template": tmpl}),
	}
	c := Load(rs)
	var got []string
	for _, w := range c.Workloads {
		got = append(got, w.String())
		if w.Namespace != "app" || w.Labels.String() != "app=x" {
			t.Errorf("%s: namespace %q labels %s; want app and the template's app=x", w, w.Namespace, w.Labels)
		}
	}
	want := []string{"Deployment d", "StatefulSet s", "DaemonSet ds", "ReplicaSet rs", "Job j", "CronJob cj", "Pod p"}
	if !slices.Equal(got, want) {
		t.Errorf("workloads %v, want %v", got, want)
	}
	// The policy selects the template labels, not the object's.
	c = Load(append(rs, policy("deny", "app", m{"podSelector": matchLabels("app", "x"), "policyTypes": l("Egress")})))
	for _, w := range c.Workloads {
		if d := c.Egress(w, MustIP("10.0.0.1"), "TCP", 1); d.Verdict != Denied || !slices.Equal(d.Selecting, []string{"deny"}) {
			t.Errorf("%s: %+v, want denied by deny", w, d)
		}
	}
	c = Load(append(rs, policy("deny", "app", m{"podSelector": matchLabels("object", "only"), "policyTypes": l("Egress")})))
	for _, w := range c.Workloads {
		if d := c.Egress(w, MustIP("10.0.0.1"), "TCP", 1); d.Verdict != Allowed {
			t.Errorf("%s: a selector on the object's own labels must not select its pods: %+v", w, d)
		}
	}
}

// Unknown inputs (preview): the verdict is Unknown, naming what was
// unknown, unless the unknown cannot change the outcome.
func TestUnknownInputs(t *testing.T) {
	allowDB := func(spec m) inventory.Resource {
		base := m{"podSelector": matchLabels("app", "web"), "policyTypes": l("Egress"),
			"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": 5432.0})})}
		for k, v := range spec {
			base[k] = v
		}
		return policy("allow-db", "app", base)
	}
	unknownLabels := deployment("web", "app", nil)
	unknownLabels.Inputs["spec"].(m)["template"].(m)["metadata"] = m{"labels": unk}
	unknownNS := deployment("web", "app", labels("app", "web"))
	unknownNS.Inputs["metadata"].(m)["namespace"] = unk
	cases := []struct {
		name    string
		rs      []inventory.Resource
		peer    peer
		port    int
		want    Verdict
		unknown string // a substring of one Unknown entry
	}{
		{"cidr unknown", stack(defaultDeny("app"), allowDB(m{"egress": l(m{"to": l(m{"ipBlock": m{"cidr": unk}}), "ports": l(m{"port": 5432.0})})})),
			ip("10.0.20.5"), 5432, Unknown, "NetworkPolicy allow-db.spec.egress.0.to.0.ipBlock.cidr"},
		{"cidr unknown, but the port rules it out", stack(defaultDeny("app"), allowDB(m{"egress": l(m{"to": l(m{"ipBlock": m{"cidr": unk}}), "ports": l(m{"port": 5432.0})})})),
			ip("10.0.20.5"), 22, Denied, ""},
		{"except unknown, address inside the cidr", stack(defaultDeny("app"), allowDB(m{"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.0.0/8", "except": l(unk)}})})})),
			ip("10.0.20.5"), 5432, Unknown, "ipBlock.except"},
		{"except unknown, address outside the cidr", stack(defaultDeny("app"), allowDB(m{"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.0.0/8", "except": l(unk)}})})})),
			ip("192.0.2.1"), 5432, Denied, ""},
		// The default deny isolates; the allow policy may or may not select
		// the pod, and that decides.
		{"pod selector value unknown", stack(defaultDeny("app"), allowDB(m{"podSelector": m{"matchLabels": m{"app": unk}}})),
			ip("10.0.20.5"), 5432, Unknown, "NetworkPolicy allow-db.spec.podSelector.matchLabels.app"},
		{"whole egress list unknown", stack(defaultDeny("app"), allowDB(m{"egress": unk})),
			ip("10.0.20.5"), 5432, Unknown, "NetworkPolicy allow-db spec.egress"},
		{"pod labels unknown", []inventory.Resource{unknownLabels, defaultDeny("app"), allowDB(nil)},
			ip("10.0.20.5"), 5432, Unknown, "Deployment web.spec.template.metadata.labels"},
		{"pod labels unknown but the default deny holds anyway", []inventory.Resource{unknownLabels, defaultDeny("app"), allowDB(nil)},
			ip("10.0.20.5"), 22, Denied, ""},
		{"workload namespace unknown", []inventory.Resource{unknownNS, defaultDeny("app")},
			ip("10.0.20.5"), 5432, Unknown, "Deployment web metadata.namespace"},
		{"policy namespace unknown", stack(policy("deny", unk, m{"podSelector": m{}, "policyTypes": l("Egress")})),
			ip("10.0.20.5"), 5432, Unknown, "NetworkPolicy deny metadata.namespace"},
		{"policyTypes unknown", stack(policy("deny", "app", m{"podSelector": m{}, "policyTypes": unk})),
			ip("10.0.20.5"), 5432, Unknown, "NetworkPolicy deny spec.policyTypes"},
		{"port unknown", stack(defaultDeny("app"), allowDB(m{"egress": l(m{"to": l(m{"ipBlock": m{"cidr": "10.0.20.0/24"}}), "ports": l(m{"port": unk})})})),
			ip("10.0.20.5"), 5432, Unknown, "ports.0.port"},
		{"peer namespace selector unknown", stack(defaultDeny("app"), allowDB(m{"egress": l(m{"to": l(m{"namespaceSelector": unk, "podSelector": matchLabels("k8s-app", "kube-dns")})})})),
			kubeDNS, 53, Unknown, "to.0.namespaceSelector"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := Load(c.rs)
			w, _ := cl.Workload("Deployment", "web")
			proto := "TCP"
			if c.port == 53 {
				proto = "UDP"
			}
			d := cl.Egress(w, c.peer(cl), proto, c.port)
			if d.Verdict != c.want {
				t.Fatalf("verdict %s (unknown %v), want %s", d.Verdict, d.Unknown, c.want)
			}
			if c.unknown != "" && !slices.ContainsFunc(d.Unknown, func(s string) bool { return strings.Contains(s, c.unknown) }) {
				t.Errorf("unknown %q, want one naming %q", d.Unknown, c.unknown)
			}
		})
	}
}

// A policy that may or may not select the pod, and allows the flow if it
// does, leaves the flow allowed: either the pod is not isolated or the
// policy allows it. Plain three-valued logic would say unknown.
func TestUnknownThatCannotChangeTheAnswer(t *testing.T) {
	rs := stack(policy("maybe", "app", m{
		"podSelector": m{"matchLabels": m{"app": unk}}, "policyTypes": l("Egress"),
		"egress": l(m{"ports": l(m{"port": 443.0})}),
	}))
	c := Load(rs)
	w, _ := c.Workload("Deployment", "web")
	if d := c.Egress(w, MustIP("198.51.100.1"), "TCP", 443); d.Verdict != Allowed {
		t.Errorf("443: %+v, want allowed whether or not the policy selects the pod", d)
	}
	if d := c.Egress(w, MustIP("198.51.100.1"), "TCP", 22); d.Verdict != Unknown {
		t.Errorf("22: %+v, want unknown (denied only if the policy selects the pod)", d)
	}
}

func TestDecisionNamesPolicies(t *testing.T) {
	c := Load(tenantStack())
	deploy, _ := c.Workload("Deployment", "tenantd")
	d := c.Egress(deploy, c.KubeDNS(), "UDP", 53)
	if d.Verdict != Allowed || !slices.Equal(d.Selecting, []string{"default-deny", "tenantd-allow"}) || !slices.Equal(d.AllowedBy, []string{"tenantd-allow"}) {
		t.Errorf("tenantd DNS: %+v", d)
	}
	cron, _ := c.Workload("CronJob", "cost-report")
	d = c.Egress(cron, c.KubeDNS(), "UDP", 53)
	if d.Verdict != Denied || !slices.Equal(d.Selecting, []string{"default-deny"}) || len(d.AllowedBy) != 0 {
		t.Errorf("cost-report DNS: %+v", d)
	}
}

func TestProblems(t *testing.T) {
	bad := policy("bad", "app", m{
		"podSelector": m{"matchExpressions": l(expr("app", "Is", "web"))},
		"policyTypes": l("Ingress", "Outbound"),
		"ingress": l(m{
			"from":  l(m{"ipBlock": m{"cidr": "10.0.0.0/33"}}, m{"ipBlock": m{"cidr": "10.0.0.0/8"}, "podSelector": m{}}, m{}),
			"ports": l(m{"protocol": "ICMP"}, m{"port": "53"}, m{"port": 70000.0}, m{"port": "http", "endPort": 90.0}, m{"port": 100.0, "endPort": 90.0}),
		}),
	})
	c := Load(stack(bad))
	want := []string{
		`NetworkPolicy bad.spec.podSelector.matchExpressions.0: operator "Is"`,
		`NetworkPolicy bad: spec.policyTypes.1 is "Outbound"`,
		`NetworkPolicy bad.spec.ingress.0.from.0.ipBlock.cidr: "10.0.0.0/33" is not a CIDR`,
		`NetworkPolicy bad.spec.ingress.0.from.1: ipBlock cannot be combined`,
		`NetworkPolicy bad.spec.ingress.0.from.2: a peer needs ipBlock, podSelector or namespaceSelector`,
		`NetworkPolicy bad.spec.ingress.0.ports.0.protocol: "ICMP" is not TCP, UDP or SCTP`,
		`NetworkPolicy bad.spec.ingress.0.ports.1.port: "53" is a number as a string`,
		`NetworkPolicy bad.spec.ingress.0.ports.2.port: 70000 is not a port number`,
		`NetworkPolicy bad.spec.ingress.0.ports.3.endPort: needs a numeric port`,
		`NetworkPolicy bad.spec.ingress.0.ports.4.endPort: 90 is below port 100`,
	}
	var got []string
	for _, p := range c.Problems {
		if p.URN != bad.URN {
			t.Errorf("problem %q on %s, want %s", p.Message, p.URN, bad.URN)
		}
		got = append(got, p.Message)
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, w) }) {
			t.Errorf("no problem %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}

func TestDefaultDeny(t *testing.T) {
	cases := []struct {
		name     string
		rs       []inventory.Resource
		policies []string
		unknown  string
	}{
		{"none", stack(), nil, ""},
		{"deny all pods", stack(defaultDeny("app")), []string{"default-deny"}, ""},
		{"another namespace's", stack(defaultDeny("other")), nil, ""},
		{"ingress only", stack(policy("in", "app", m{"podSelector": m{}, "policyTypes": l("Ingress")})), nil, ""},
		// Selecting all pods takes the empty selector, whatever the rules.
		{"selects all and allows some", stack(policy("all", "app", m{"podSelector": m{}, "egress": l(m{"ports": l(m{"port": 443.0})})})), []string{"all"}, ""},
		{"selects some pods", stack(policy("web", "app", m{"podSelector": matchLabels("app", "web"), "policyTypes": l("Egress")})), nil, ""},
		{"selector unknown", stack(policy("p", "app", m{"podSelector": unk, "policyTypes": l("Egress")})), nil, "NetworkPolicy p.spec.podSelector"},
		{"policyTypes unknown", stack(policy("p", "app", m{"podSelector": m{}, "policyTypes": unk})), nil, "NetworkPolicy p spec.policyTypes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := Load(c.rs)
			w, _ := cl.Workload("Deployment", "web")
			policies, unknown := cl.DefaultDeny(w, Egress)
			if !slices.Equal(policies, c.policies) {
				t.Errorf("policies %v, want %v", policies, c.policies)
			}
			if c.unknown == "" && len(unknown) > 0 || c.unknown != "" && !slices.Contains(unknown, c.unknown) {
				t.Errorf("unknown %q, want %q", unknown, c.unknown)
			}
		})
	}
	cl := Load(tenantStack())
	if p, ok := cl.Policy("tenant-service", "tenantd-allow"); !ok || len(p.EgressRules) != 3 {
		t.Errorf("Policy(tenant-service, tenantd-allow) = %v, %v", p.Name, ok)
	}
	if _, ok := cl.Policy("default", "tenantd-allow"); ok {
		t.Error("a policy is found only in its own namespace")
	}
}
