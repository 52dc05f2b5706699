package rules

import (
	"testing"

	"github.com/tenantco/platform/internal/inventory"
)

// Kubernetes fixtures: the tenant service's namespace as pulumi-kubernetes
// registers it (see components/tenantservice.go).

type obj = map[string]any

func k8sRes(typ, name string, inputs obj) inventory.Resource {
	return res("kubernetes:"+typ, name, inputs)
}

func netpolRes(name string, spec obj) inventory.Resource {
	return k8sRes("networking.k8s.io/v1:NetworkPolicy", "dev-"+name, obj{
		"metadata": obj{"name": name, "namespace": "tenant-service"}, "spec": spec,
	})
}

var (
	platformPods = obj{"app.kubernetes.io/name": "tenantd", "app.kubernetes.io/part-of": "platform"}

	k8sNamespace = k8sRes("core/v1:Namespace", "dev-tenantd", obj{"metadata": obj{
		"name": "tenant-service", "labels": obj{"pod-security.kubernetes.io/enforce": "restricted"},
	}})

	denyAll = netpolRes("default-deny", obj{"podSelector": obj{}, "policyTypes": list("Ingress", "Egress")})

	dnsRule = obj{
		"to": list(obj{
			"namespaceSelector": obj{"matchLabels": obj{"kubernetes.io/metadata.name": "kube-system"}},
			"podSelector":       obj{"matchLabels": obj{"k8s-app": "kube-dns"}},
		}),
		"ports": list(obj{"protocol": "UDP", "port": 53.0}, obj{"protocol": "TCP", "port": 53.0}),
	}

	allowPlatform = netpolRes("tenantd-allow", obj{
		"podSelector": obj{"matchLabels": obj{"app.kubernetes.io/part-of": "platform"}},
		"policyTypes": list("Ingress", "Egress"),
		"ingress":     list(obj{"from": list(obj{"ipBlock": obj{"cidr": "10.0.0.0/16"}}), "ports": list(obj{"protocol": "TCP", "port": 8080.0})}),
		"egress": list(
			dnsRule,
			obj{"to": list(obj{"ipBlock": obj{"cidr": "10.0.10.0/24"}}), "ports": list(obj{"protocol": "TCP", "port": 5432.0})},
			obj{"to": list(obj{"ipBlock": obj{"cidr": "0.0.0.0/0", "except": list("10.0.0.0/16")}}), "ports": list(obj{"protocol": "TCP", "port": 443.0})},
		),
	})

	tenantDeployment = k8sRes("apps/v1:Deployment", "dev-tenantd", obj{
		"metadata": obj{"name": "tenantd", "namespace": "tenant-service", "labels": platformPods},
		"spec": obj{"selector": obj{"matchLabels": platformPods}, "template": obj{
			"metadata": obj{"labels": platformPods},
			"spec":     obj{"containers": list(obj{"name": "tenantd", "ports": list(obj{"name": "http", "containerPort": 8080.0})})},
		}},
	})
)

// migrateJob is the migrations Job with the given pod template labels (its
// object labels are the platform's either way).
func migrateJob(podLabels obj) inventory.Resource {
	return k8sRes("batch/v1:Job", "dev-tenantd-migrate", obj{
		"metadata": obj{"namespace": "tenant-service", "labels": platformPods},
		"spec": obj{"template": obj{
			"metadata": obj{"labels": podLabels},
			"spec":     obj{"containers": list(obj{"name": "tenantd"})},
		}},
	})
}

// costReport is the daily cost report CronJob with the given pod template
// labels.
func costReport(podLabels obj) inventory.Resource {
	return k8sRes("batch/v1:CronJob", "dev-tenantd-cost-report", obj{
		"metadata": obj{"name": "cost-report", "namespace": "tenant-service", "labels": platformPods},
		"spec": obj{"schedule": "0 6 * * *", "jobTemplate": obj{"spec": obj{"template": obj{
			"metadata": obj{"labels": podLabels},
			"spec":     obj{"containers": list(obj{"name": "report"})},
		}}}},
	})
}

// tenantK8s is a compliant tenant namespace: every pod template carries
// app.kubernetes.io/part-of=platform, which the allow policy selects.
func tenantK8s() []inventory.Resource {
	return []inventory.Resource{
		k8sNamespace, denyAll, allowPlatform, tenantDeployment,
		migrateJob(obj{"app.kubernetes.io/name": "tenantd-migrate", "app.kubernetes.io/part-of": "platform"}),
		costReport(obj{"app.kubernetes.io/name": "cost-report", "app.kubernetes.io/part-of": "platform"}),
	}
}

func checkNetwork(t *testing.T, rs []inventory.Resource, env string) []Violation {
	t.Helper()
	vs, err := CheckStack(rs, settings(env))
	if err != nil {
		t.Fatal(err)
	}
	SortViolations(vs)
	return only(vs, "k8s-workload-network")
}

func TestK8sWorkloadNetwork(t *testing.T) {
	const jobURN = urnPrefix + "kubernetes:batch/v1:Job::dev-tenantd-migrate"
	const cronURN = urnPrefix + "kubernetes:batch/v1:CronJob::dev-tenantd-cost-report"
	withEgress := func(rules ...any) inventory.Resource { return with(allowPlatform, "spec.egress", list(rules...)) }
	cases := []struct {
		name string
		rs   []inventory.Resource
		env  string
		want []want
		urns []string // the violations' URNs, when checked
	}{
		{"every template labelled for the allow policy", tenantK8s(), Dev, nil, nil},
		{"a Job labelled correctly passes", replace(tenantK8s(), migrateJob(obj{"app.kubernetes.io/part-of": "platform"})), Prod, nil, nil},
		{"CronJob whose template labels match no allow policy", replace(tenantK8s(), costReport(obj{"app.kubernetes.io/name": "cost-report"})), Dev,
			[]want{mand("CronJob cost-report (namespace tenant-service): no allow policy selects its pod labels app.kubernetes.io/name=cost-report, " +
				"so under the default deny (NetworkPolicy default-deny) it gets no egress at all, not even DNS to kube-dns (UDP 53, TCP 53)")},
			[]string{cronURN}},
		// The stack as the program registers it today: Job and CronJob
		// templates carry only app.kubernetes.io/name.
		{"today's Job and CronJob labels", replace(replace(tenantK8s(),
			migrateJob(obj{"app.kubernetes.io/name": "tenantd-migrate"})), costReport(obj{"app.kubernetes.io/name": "cost-report"})), Prod,
			[]want{mand("CronJob cost-report (namespace tenant-service): no allow policy selects"),
				mand("Job dev-tenantd-migrate (namespace tenant-service): no allow policy selects its pod labels app.kubernetes.io/name=tenantd-migrate")},
			[]string{cronURN, jobURN}},
		// The object's own labels do not count: only the pod template's.
		{"object labels are not pod labels", replace(tenantK8s(), costReport(obj{})), Dev,
			[]want{mand("no allow policy selects its pod labels (none)")}, nil},
		{"allow policy selects the pods but leaves DNS out", replace(tenantK8s(), withEgress(
			obj{"to": list(obj{"ipBlock": obj{"cidr": "10.0.10.0/24"}}), "ports": list(obj{"protocol": "TCP", "port": 5432.0})})), Dev,
			[]want{
				mand("Deployment tenantd (namespace tenant-service)"),
				mand("CronJob cost-report (namespace tenant-service): its pod labels app.kubernetes.io/name=cost-report,app.kubernetes.io/part-of=platform are selected by NetworkPolicy tenantd-allow, which allow no DNS egress to kube-dns (pods k8s-app=kube-dns in namespace kube-system) on UDP 53, TCP 53"),
				mand("Job dev-tenantd-migrate (namespace tenant-service)"),
			}, nil},
		{"TCP 53 only", replace(tenantK8s(), withEgress(with(inventory.Resource{Inputs: dnsRule}, "ports", list(obj{"protocol": "TCP", "port": 53.0})).Inputs)), Dev,
			[]want{mand("on UDP 53 under the default deny"), mand("on UDP 53 under"), mand("on UDP 53 under")}, nil},
		// kube-dns in the policy's own namespace is not kube-dns: the
		// namespaceSelector and podSelector of one peer must both hold.
		{"DNS peer without the namespace", replace(tenantK8s(), withEgress(obj{
			"to":    list(obj{"podSelector": obj{"matchLabels": obj{"k8s-app": "kube-dns"}}}),
			"ports": dnsRule["ports"]})), Dev,
			[]want{mand("allow no DNS egress"), mand("allow no DNS egress"), mand("allow no DNS egress")}, nil},
		{"no default deny: not checked", []inventory.Resource{k8sNamespace, costReport(obj{"app": "x"})}, Prod, nil, nil},
		{"egress-only-to-some-pods policy is not a default deny", []inventory.Resource{k8sNamespace, costReport(obj{"app": "x"}),
			netpolRes("deny-x", obj{"podSelector": obj{"matchLabels": obj{"app": "x"}}, "policyTypes": list("Egress")})}, Prod, nil, nil},
		{"ingress-only default deny: egress not checked", []inventory.Resource{k8sNamespace, costReport(obj{"app": "x"}),
			with(denyAll, "spec.policyTypes", list("Ingress"))}, Prod, nil, nil},
		// Ports.
		{"egress rule without ports", replace(tenantK8s(), withEgress(dnsRule, obj{"to": list(obj{"ipBlock": obj{"cidr": "0.0.0.0/0"}})})), Dev,
			[]want{mand("NetworkPolicy tenantd-allow (namespace tenant-service): spec.egress.1 lists no ports, so it opens every port and protocol to ipBlock 0.0.0.0/0: list the ports the pods need")},
			[]string{urnPrefix + "kubernetes:networking.k8s.io/v1:NetworkPolicy::dev-tenantd-allow"}},
		{"egress rule with an empty ports list", replace(tenantK8s(), withEgress(dnsRule, obj{"to": list(obj{"podSelector": obj{}}), "ports": list()})), Prod,
			[]want{mand("spec.egress.1 lists no ports, so it opens every port and protocol to all pods in namespace tenant-service")}, nil},
		{"egress rule without ports or peers", replace(tenantK8s(), withEgress(dnsRule, obj{})), Prod,
			[]want{mand("spec.egress.1 lists no ports, so it opens every port and protocol to any peer")}, nil},
		{"egress rules of an ingress-only policy have no effect", append(tenantK8s(),
			netpolRes("ingress-only", obj{"podSelector": obj{}, "policyTypes": list("Ingress"), "egress": list(obj{})})), Prod, nil, nil},
		// Malformed policies.
		{"bad CIDR", replace(tenantK8s(), withEgress(dnsRule, obj{"to": list(obj{"ipBlock": obj{"cidr": "10.0.10.0/33"}}), "ports": list(obj{"port": 5432.0})})), Dev,
			[]want{mand(`NetworkPolicy tenantd-allow.spec.egress.1.to.0.ipBlock.cidr: "10.0.10.0/33" is not a CIDR (the API server would reject it)`)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := checkNetwork(t, c.rs, c.env)
			assertViolations(t, got, c.want)
			for i, urn := range c.urns {
				if got[i].URN != urn {
					t.Errorf("violation %d on %s, want %s", i, got[i].URN, urn)
				}
			}
		})
	}
}

// Preview: unknown inputs the verdict rests on are advisories, never a
// pass or a block; a known violation next to them still blocks.
func TestK8sWorkloadNetworkPreview(t *testing.T) {
	cases := []struct {
		name string
		rs   []inventory.Resource
		want []want
	}{
		{"pod template labels unknown", replace(tenantK8s(), with(costReport(nil), "spec.jobTemplate.spec.template.metadata.labels", unk)),
			[]want{adv("cannot verify during preview: DNS egress of CronJob cost-report (namespace tenant-service) to kube-dns " +
				"(CronJob cost-report.spec.jobTemplate.spec.template.metadata.labels) unknown")}},
		{"allow policy selector unknown", replace(tenantK8s(), with(allowPlatform, "spec.podSelector.matchLabels", unk)),
			[]want{adv("DNS egress of Deployment tenantd"), adv("DNS egress of CronJob cost-report"), adv("DNS egress of Job dev-tenantd-migrate")}},
		{"namespace of the default deny unknown", replace(replace(tenantK8s(), with(denyAll, "metadata.namespace", unk)),
			costReport(obj{"app.kubernetes.io/name": "cost-report"})),
			[]want{adv("cannot verify during preview: DNS egress of CronJob cost-report (namespace tenant-service) to kube-dns " +
				"(NetworkPolicy default-deny metadata.namespace) unknown")}},
		// Another policy isolates the pods and allows no DNS: whether the
		// namespace has a default deny (and the rule applies) is open.
		{"DNS denied, default deny unknown", []inventory.Resource{k8sNamespace, with(denyAll, "metadata.namespace", unk),
			costReport(obj{"app": "report"}),
			netpolRes("report-https", obj{"podSelector": obj{"matchLabels": obj{"app": "report"}}, "policyTypes": list("Egress"),
				"egress": list(obj{"ports": list(obj{"port": 443.0})})})},
			[]want{adv("cannot verify during preview: whether a default-deny NetworkPolicy covers CronJob cost-report (namespace tenant-service) " +
				"(NetworkPolicy default-deny metadata.namespace) unknown; if one does, it gets no DNS egress to kube-dns")}},
		{"egress ports unknown", replace(tenantK8s(), with(allowPlatform, "spec.egress.2.ports", unk)),
			[]want{adv("cannot verify during preview: NetworkPolicy tenantd-allow (namespace tenant-service) spec.egress.2.ports unknown")}},
		{"egress list unknown", replace(tenantK8s(), with(allowPlatform, "spec.egress", unk)),
			[]want{adv("DNS egress of Deployment tenantd"), adv("DNS egress of CronJob cost-report"), adv("DNS egress of Job dev-tenantd-migrate"),
				adv("cannot verify during preview: NetworkPolicy tenantd-allow (namespace tenant-service) spec.egress unknown")}},
		{"a known violation beside an unknown", replace(replace(tenantK8s(), with(allowPlatform, "spec.egress.2.ports", unk)),
			costReport(obj{"app": "report"})),
			[]want{mand("CronJob cost-report (namespace tenant-service): no allow policy selects"), adv("spec.egress.2.ports unknown")}},
		{"UDP denied, TCP port unknown", replace(tenantK8s(), with(allowPlatform, "spec.egress.0.ports", list(obj{"protocol": "TCP", "port": unk}))),
			[]want{
				mand("Deployment tenantd (namespace tenant-service): its pod labels"), adv("DNS egress of Deployment tenantd (namespace tenant-service) to kube-dns (NetworkPolicy tenantd-allow.spec.egress.0.ports.0.port) unknown"),
				mand("CronJob cost-report (namespace tenant-service): its pod labels"), adv("DNS egress of CronJob cost-report"),
				mand("Job dev-tenantd-migrate (namespace tenant-service): its pod labels"), adv("DNS egress of Job dev-tenantd-migrate"),
			}},
		// An unknown CIDR does not matter to DNS: the verdict stands.
		{"unknown database CIDR", replace(tenantK8s(), with(allowPlatform, "spec.egress.1.to.0.ipBlock.cidr", unk)), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertViolations(t, checkNetwork(t, c.rs, Prod), c.want)
		})
	}
}
