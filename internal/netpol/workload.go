package netpol

import (
	"fmt"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// Workload is a pod template the program registers: the pods a Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job or CronJob creates, or a bare Pod.
type Workload struct {
	URN string
	// Kind is the Kubernetes kind (Deployment, CronJob, Pod, ...).
	Kind string
	// Name is metadata.name (the Pulumi resource name when unset).
	Name string
	// Namespace is metadata.namespace (the provider's default namespace
	// when unset).
	Namespace string
	// Labels are the pod template's labels: what NetworkPolicy selectors
	// see, not the workload object's own labels.
	Labels Labels
	// Ports are the named container ports of the pod template, by name
	// (what a named port in an ingress rule refers to).
	Ports map[string]ContainerPort

	namespaceUnknown bool
	portsUnknown     bool
	where            string
}

// ContainerPort is a named port of a container.
type ContainerPort struct {
	Number   int
	Protocol string
}

// NamespaceKnown reports whether the workload's namespace is known.
func (w Workload) NamespaceKnown() bool { return !w.namespaceUnknown }

// String names the workload: "CronJob cost-report".
func (w Workload) String() string { return w.Kind + " " + w.Name }

// template says where a kind keeps its pod template ("" = the resource is
// the pod itself).
var templates = map[string]string{
	"Deployment":  "spec.template",
	"StatefulSet": "spec.template",
	"DaemonSet":   "spec.template",
	"ReplicaSet":  "spec.template",
	"Job":         "spec.template",
	"CronJob":     "spec.jobTemplate.spec.template",
	"Pod":         "",
}

// workloadKind returns the kind of a pulumi-kubernetes workload type
// ("kubernetes:apps/v1:Deployment" → "Deployment"), for every API version
// of the apps, batch, extensions and core groups.
func workloadKind(typ string) (string, bool) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" {
		return "", false
	}
	group, _, _ := strings.Cut(parts[1], "/")
	kind := parts[2]
	if _, ok := templates[kind]; !ok {
		return "", false
	}
	switch group {
	case "apps", "batch", "extensions":
		return kind, kind != "Pod"
	case "core":
		return kind, kind == "Pod"
	}
	return "", false
}

// parseWorkload reads a workload's pod template.
func parseWorkload(r inventory.Resource, kind, defaultNS string) (Workload, []string) {
	in := map[string]any(r.Inputs)
	w := Workload{URN: r.URN, Kind: kind}
	w.Name, _ = text(in, "metadata.name")
	if w.Name == "" {
		w.Name = r.Name
	}
	w.where = kind + " " + w.Name
	switch ns, st := text(in, "metadata.namespace"); st {
	case opaque:
		w.namespaceUnknown = true
	case absent:
		w.Namespace = defaultNS
	default:
		w.Namespace = ns
	}
	tmpl := templates[kind]
	labels, problems := parseLabels(in, join(tmpl, "metadata.labels"), w.where)
	w.Labels = labels
	w.Ports = map[string]ContainerPort{}
	spec := join(tmpl, "spec")
	for _, field := range []string{"containers", "initContainers"} {
		cs, st := list(in, join(spec, field))
		if st == opaque {
			w.portsUnknown = true
		}
		for _, c := range cs {
			ports, st := list(c, "ports")
			if st == opaque {
				w.portsUnknown = true
			}
			for _, p := range ports {
				name, nst := text(p, "name")
				number, cst := at(p, "containerPort")
				proto, pst := text(p, "protocol")
				switch {
				case nst == absent:
					continue // unnamed: no named port can refer to it
				case nst == opaque || cst == opaque || pst == opaque:
					w.portsUnknown = true
					continue
				}
				n, ok := number.(float64)
				pn, valid := portNumber(n)
				if !ok || !valid {
					problems = append(problems, fmt.Sprintf("%s: container port %q has containerPort %v", w.where, name, number))
					continue
				}
				if proto == "" {
					proto = "TCP"
				}
				w.Ports[name] = ContainerPort{Number: pn, Protocol: proto}
			}
		}
	}
	return w, problems
}

// namespace is a Namespace the program registers.
type namespace struct {
	name    string
	unknown bool
	labels  Labels
}

// MetadataNameLabel is the label the control plane sets on every namespace
// to its name, so a namespaceSelector can pick a namespace by name.
// https://kubernetes.io/docs/concepts/services-networking/network-policies/#targeting-a-namespace-by-its-name
const MetadataNameLabel = "kubernetes.io/metadata.name"

func parseNamespace(r inventory.Resource) (namespace, []string) {
	in := map[string]any(r.Inputs)
	ns := namespace{}
	where := "Namespace " + r.Name
	switch name, st := text(in, "metadata.name"); st {
	case known:
		ns.name = name
		where = "Namespace " + name
	default:
		// Unset: the provider autonames it (name plus a random suffix),
		// which nobody knows before it exists.
		ns.unknown = true
	}
	labels, problems := parseLabels(in, "metadata.labels", where)
	if !ns.unknown {
		// The control plane sets it and users cannot change it.
		labels.Known[MetadataNameLabel] = ns.name
		delete(labels.UnknownValue, MetadataNameLabel)
	}
	ns.labels = labels
	return ns, problems
}
