package netpol

import (
	"github.com/tenantco/platform/internal/inventory"
)

// Fixtures: resources as pulumi-kubernetes registers them (the inventory
// form the SDK's mocks and the policy analyzer both produce).

var unk = inventory.Unknown{}

type m = map[string]any

func l(vs ...any) []any { return vs }

func res(typ, name string, inputs m) inventory.Resource {
	return inventory.Resource{URN: "urn:pulumi:dev::platform::" + typ + "::" + name, Type: typ, Name: name, Inputs: inputs}
}

// policy is a NetworkPolicy named name in namespace ns (a string, or
// unk).
func policy(name string, ns any, spec m) inventory.Resource {
	return res(TypeNetworkPolicy, "np-"+name, m{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": m{"name": name, "namespace": ns},
		"spec":     spec,
	})
}

// labels turns k, v, k, v... into a labels input.
func labels(kv ...string) m {
	out := m{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func matchLabels(kv ...string) m { return m{"matchLabels": labels(kv...)} }

// deployment is a Deployment whose pod template carries podLabels; the
// object's own labels differ on purpose (selectors see the pods').
func deployment(name, ns string, podLabels m) inventory.Resource {
	return res("kubernetes:apps/v1:Deployment", name, m{
		"metadata": m{"name": name, "namespace": ns, "labels": labels("object-label", "not-on-pods")},
		"spec": m{
			"selector": m{"matchLabels": podLabels},
			"template": m{
				"metadata": m{"labels": podLabels},
				"spec": m{"containers": l(m{
					"name": "app", "image": "app:1",
					"ports": l(m{"name": "http", "containerPort": 8080.0}, m{"name": "metrics", "containerPort": 9090.0, "protocol": "TCP"}),
				})},
			},
		},
	})
}

// cronJob is a CronJob whose job's pod template carries podLabels.
func cronJob(name, ns string, podLabels m) inventory.Resource {
	return res("kubernetes:batch/v1:CronJob", name, m{
		"metadata": m{"name": name, "namespace": ns, "labels": labels("app.kubernetes.io/part-of", "platform")},
		"spec": m{
			"schedule": "0 6 * * *",
			"jobTemplate": m{"spec": m{"template": m{
				"metadata": m{"labels": podLabels},
				"spec":     m{"containers": l(m{"name": "report", "image": "app:1"})},
			}}},
		},
	})
}

func job(name, ns string, podLabels m) inventory.Resource {
	return res("kubernetes:batch/v1:Job", name, m{
		"metadata": m{"name": name, "namespace": ns, "labels": labels("app.kubernetes.io/part-of", "platform")},
		"spec": m{"template": m{
			"metadata": m{"labels": podLabels},
			"spec":     m{"containers": l(m{"name": "migrate", "image": "app:1"})},
		}},
	})
}

func namespaceRes(name string, lbls m) inventory.Resource {
	return res(TypeNamespace, "ns-"+name, m{"metadata": m{"name": name, "labels": lbls}})
}

// defaultDeny isolates every pod of ns both ways.
func defaultDeny(ns string) inventory.Resource {
	return policy("default-deny", ns, m{"podSelector": m{}, "policyTypes": l("Ingress", "Egress")})
}

// dnsPeer is kube-dns as a single peer element (namespaceSelector AND
// podSelector).
var dnsPeer = m{
	"namespaceSelector": matchLabels("kubernetes.io/metadata.name", "kube-system"),
	"podSelector":       matchLabels("k8s-app", "kube-dns"),
}

var dnsPorts = l(m{"protocol": "UDP", "port": 53.0}, m{"protocol": "TCP", "port": 53.0})

// tenantAllow is the tenant service's allow policy as the program
// registers it today (components/tenantservice.go, prod).
func tenantAllow() inventory.Resource {
	return policy("tenantd-allow", "tenant-service", m{
		"podSelector": matchLabels("app.kubernetes.io/part-of", "platform"),
		"policyTypes": l("Ingress", "Egress"),
		"ingress": l(m{
			"from":  l(m{"ipBlock": m{"cidr": "10.0.0.0/16"}}),
			"ports": l(m{"protocol": "TCP", "port": 8080.0}),
		}),
		"egress": l(
			m{"to": l(dnsPeer), "ports": dnsPorts},
			m{"to": l(m{"ipBlock": m{"cidr": "10.0.10.0/24"}}, m{"ipBlock": m{"cidr": "10.0.11.0/24"}}),
				"ports": l(m{"protocol": "TCP", "port": 5432.0}, m{"protocol": "TCP", "port": 6379.0})},
			m{"to": l(m{"ipBlock": m{"cidr": "0.0.0.0/0", "except": l("10.0.0.0/16")}}),
				"ports": l(m{"protocol": "TCP", "port": 443.0})},
		),
	})
}

// tenantStack is the tenant service's Kubernetes side: its namespace, the
// default deny, the allow policy, the Deployment, and the migrations Job
// and cost-report CronJob with the template labels they carry today.
func tenantStack() []inventory.Resource {
	return []inventory.Resource{
		namespaceRes("tenant-service", labels("pod-security.kubernetes.io/enforce", "restricted")),
		defaultDeny("tenant-service"),
		tenantAllow(),
		deployment("tenantd", "tenant-service", labels("app.kubernetes.io/name", "tenantd", "app.kubernetes.io/part-of", "platform")),
		job("tenantd-migrate", "tenant-service", labels("app.kubernetes.io/name", "tenantd-migrate")),
		cronJob("cost-report", "tenant-service", labels("app.kubernetes.io/name", "cost-report")),
	}
}
