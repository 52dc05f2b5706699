package netpol

import (
	"slices"
	"strings"
	"testing"

	"github.com/tenantco/platform/internal/inventory"
)

func TestSummaryOfTheTenantService(t *testing.T) {
	c := Load(tenantStack())
	if len(c.Problems) > 0 {
		t.Fatal(c.Problems)
	}
	deploy, _ := c.Workload("Deployment", "tenantd")
	cases := []struct {
		w    Workload
		dir  Direction
		want []string
	}{
		{deploy, Egress, []string{
			"TCP 443 ipBlock 0.0.0.0/0 except 10.0.0.0/16",
			"TCP 53 pods k8s-app=kube-dns in namespaces kubernetes.io/metadata.name=kube-system",
			"TCP 5432 ipBlock 10.0.10.0/24",
			"TCP 5432 ipBlock 10.0.11.0/24",
			"TCP 6379 ipBlock 10.0.10.0/24",
			"TCP 6379 ipBlock 10.0.11.0/24",
			"UDP 53 pods k8s-app=kube-dns in namespaces kubernetes.io/metadata.name=kube-system",
		}},
		{deploy, Ingress, []string{"TCP 8080 ipBlock 10.0.0.0/16"}},
	}
	for _, kind := range []string{"Job", "CronJob"} {
		for _, w := range c.Workloads {
			if w.Kind == kind {
				// Selected only by the default deny: nothing at all.
				cases = append(cases, struct {
					w    Workload
					dir  Direction
					want []string
				}{w, Egress, nil}, struct {
					w    Workload
					dir  Direction
					want []string
				}{w, Ingress, nil})
			}
		}
	}
	for _, cs := range cases {
		s := c.Summary(cs.w, cs.dir)
		if !s.Isolated || len(s.Unknown) > 0 {
			t.Errorf("%s %s: isolated %v, unknown %v", cs.w, cs.dir, s.Isolated, s.Unknown)
		}
		if got := s.Flows(); !slices.Equal(got, cs.want) {
			t.Errorf("%s %s flows:\n  %s\nwant:\n  %s", cs.w, cs.dir, strings.Join(got, "\n  "), strings.Join(cs.want, "\n  "))
		}
	}
	// Each entry says which policy allows it.
	for _, e := range c.Summary(deploy, Egress).Entries {
		if e.Policy != "tenantd-allow" {
			t.Errorf("%s: policy %q", e, e.Policy)
		}
	}
}

func TestSummaryRendering(t *testing.T) {
	rule := func(r m) []inventory.Resource {
		return stack(policy("p", "app", m{"podSelector": m{}, "policyTypes": l("Egress"), "egress": l(r)}))
	}
	cases := []struct {
		name string
		rs   []inventory.Resource
		want []string
	}{
		{"not isolated", stack(), []string{"all ports any"}},
		{"ingress-only policy leaves egress open", stack(policy("in", "app", m{"podSelector": m{}, "ingress": l(m{})})), []string{"all ports any"}},
		{"isolated, no rules", stack(defaultDeny("app")), nil},
		{"rule without to or ports", rule(m{}), []string{"all ports any"}},
		{"protocol without port", rule(m{"ports": l(m{"protocol": "UDP"})}), []string{"UDP all ports any"}},
		{"default protocol, range, named", rule(m{"ports": l(m{"port": 32000.0, "endPort": 32768.0}, m{"port": "dns", "protocol": "UDP"})}),
			[]string{"TCP 32000-32768 any", "UDP dns any"}},
		{"selectors", rule(m{"to": l(
			m{"podSelector": matchLabels("role", "db")},
			m{"podSelector": m{}},
			m{"namespaceSelector": m{}},
			m{"namespaceSelector": matchLabels("team", "a")},
			m{"namespaceSelector": m{}, "podSelector": m{"matchExpressions": l(expr("role", "In", "db", "cache"))}},
			m{"namespaceSelector": matchLabels("team", "a"), "podSelector": m{}},
		), "ports": l(m{"port": 5432.0})}), []string{
			"TCP 5432 all pods in all namespaces",
			"TCP 5432 all pods in namespace app",
			"TCP 5432 all pods in namespaces team=a",
			"TCP 5432 pods role in (cache,db) in all namespaces",
			"TCP 5432 pods role=db in namespace app",
		}},
		{"duplicates collapse", stack(defaultDeny("app"),
			policy("a", "app", m{"podSelector": m{}, "policyTypes": l("Egress"), "egress": l(m{"ports": l(m{"port": 443.0})})}),
			policy("b", "app", m{"podSelector": matchLabels("app", "web"), "policyTypes": l("Egress"), "egress": l(m{"ports": l(m{"protocol": "TCP", "port": 443.0})})}),
		), []string{"TCP 443 any"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := Load(c.rs)
			w, _ := cl.Workload("Deployment", "web")
			s := cl.Summary(w, Egress)
			if got := s.Flows(); !slices.Equal(got, c.want) {
				t.Errorf("flows:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
			if len(s.Unknown) > 0 {
				t.Errorf("unknown %v", s.Unknown)
			}
		})
	}
}

func TestSummaryUnknowns(t *testing.T) {
	cases := []struct {
		name    string
		rs      []inventory.Resource
		want    []string
		unknown string
	}{
		{"policy may select the pod", stack(defaultDeny("app"),
			policy("p", "app", m{"podSelector": m{"matchLabels": m{"app": unk}}, "policyTypes": l("Egress"), "egress": l(m{})})),
			nil, "NetworkPolicy p.spec.podSelector.matchLabels.app"},
		{"isolation itself unknown", stack(policy("p", "app", m{"podSelector": unk, "policyTypes": l("Egress")})),
			nil, "NetworkPolicy p.spec.podSelector"},
		{"unknown cidr", stack(policy("p", "app", m{"podSelector": m{}, "policyTypes": l("Egress"),
			"egress": l(m{"to": l(m{"ipBlock": m{"cidr": unk}}), "ports": l(m{"port": 5432.0})})})),
			[]string{"TCP 5432 ipBlock <unknown>"}, "ipBlock.cidr"},
		{"unknown ports", stack(policy("p", "app", m{"podSelector": m{}, "policyTypes": l("Egress"),
			"egress": l(m{"ports": unk})})),
			[]string{"<unknown> <unknown> any"}, "spec.egress.0.ports"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := Load(c.rs)
			w, _ := cl.Workload("Deployment", "web")
			s := cl.Summary(w, Egress)
			if got := s.Flows(); !slices.Equal(got, c.want) {
				t.Errorf("flows %q, want %q", got, c.want)
			}
			if !slices.ContainsFunc(s.Unknown, func(u string) bool { return strings.Contains(u, c.unknown) }) {
				t.Errorf("unknown %q, want one naming %q", s.Unknown, c.unknown)
			}
		})
	}
}
