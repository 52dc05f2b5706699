//go:build engine

package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantco/platform/components"
)

// The cluster's own add-ons as the dev program deploys them: metrics-server
// (with its APIService) and the Cluster Autoscaler in kube-system.
var addOns = []string{"metrics-server", "cluster-autoscaler"}

// restrictedNamespace enforces the restricted Pod Security Standard: the
// add-ons' pod templates are submitted there to the API server's admission.
const restrictedNamespace = "pss-restricted-check"

var restrictedOnce sync.Once

// checkClusterScaling runs after every `up` of the dev program: the
// add-ons are on the API server, accepted by its validation, Ready (kwok),
// their pods accepted by Pod Security admission at the restricted level,
// and the metrics API registered. The APIService is then unregistered from
// this API server: no container runs on kwok nodes, so nothing can serve
// metrics.k8s.io, and an aggregated API that never answers makes discovery
// fail for its group, which keeps every deleted namespace Terminating
// (kube-controller-manager, namespace deletion: discovery errors are
// retried), test 3's included. The stack's state keeps it, so a later `up`
// without refresh still reports it unchanged.
func checkClusterScaling(t *testing.T) {
	t.Helper()
	for _, name := range addOns {
		checkDeploymentReady(t, "kube-system", name, 1)
	}

	var api struct {
		Spec struct {
			Group, Version        string
			InsecureSkipTLSVerify bool
			Service               struct{ Name, Namespace string }
		}
	}
	if err := env.cluster.get("/apis/apiregistration.k8s.io/v1/apiservices/"+components.MetricsAPIService, &api); err != nil {
		t.Errorf("the metrics APIService is not registered: %v", err)
	} else if api.Spec.Group != "metrics.k8s.io" || api.Spec.Version != "v1beta1" ||
		api.Spec.Service.Name != "metrics-server" || api.Spec.Service.Namespace != "kube-system" {
		t.Errorf("APIService %s: %+v, want metrics.k8s.io/v1beta1 served by kube-system/metrics-server", components.MetricsAPIService, api.Spec)
	}
	var svc struct {
		Spec struct {
			Ports []struct {
				Port       int
				TargetPort any `json:"targetPort"`
			}
		}
	}
	if err := env.cluster.get("/api/v1/namespaces/kube-system/services/metrics-server", &svc); err != nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("metrics-server Service: %+v (%v), want one port 443", svc.Spec, err)
	}

	restrictedOnce.Do(func() {
		ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": restrictedNamespace,
			"labels": map[string]any{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}}
		if code, body, err := env.cluster.do("POST", "/api/v1/namespaces", ns); err != nil || (code != 201 && code != 409) {
			t.Fatalf("namespace %s: HTTP %d %s %v", restrictedNamespace, code, body, err)
		}
		if err := env.cluster.waitFor("default service account in "+restrictedNamespace, 2*time.Minute, func() error {
			return env.cluster.get("/api/v1/namespaces/"+restrictedNamespace+"/serviceaccounts/default", nil)
		}); err != nil {
			t.Fatal(err)
		}
	})
	for _, name := range addOns {
		spec := podSpecOf(t, "kube-system", name)
		if code, body := dryRunPod(t, name, spec); code != 201 {
			t.Errorf("%s's pod is refused under the restricted Pod Security Standard: HTTP %d %s", name, code, body)
		}
	}
	// The check can fail: the same pod with an added capability is refused.
	spec := podSpecOf(t, "kube-system", addOns[0])
	spec["containers"].([]any)[0].(map[string]any)["securityContext"].(map[string]any)["capabilities"] =
		map[string]any{"drop": []any{"ALL"}, "add": []any{"NET_ADMIN"}}
	if code, body := dryRunPod(t, "net-admin", spec); code != 403 || !strings.Contains(body, "violates PodSecurity") {
		t.Errorf("a pod adding NET_ADMIN in %s: HTTP %d %s, want 403 violates PodSecurity", restrictedNamespace, code, body)
	}

	if code, body, err := env.cluster.do("DELETE", "/apis/apiregistration.k8s.io/v1/apiservices/"+components.MetricsAPIService, nil); err != nil || (code != 200 && code != 404) {
		t.Errorf("unregister the metrics APIService: HTTP %d %s %v", code, body, err)
	}
}

// podSpecOf reads a Deployment's pod template spec from the API server.
func podSpecOf(t *testing.T, namespace, name string) map[string]any {
	t.Helper()
	var d struct {
		Spec struct {
			Template struct{ Spec map[string]any }
		}
	}
	if err := env.cluster.get("/apis/apps/v1/namespaces/"+namespace+"/deployments/"+name, &d); err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Spec
}

// dryRunPod submits spec as a pod of the restricted namespace (dryRun=All:
// validation and admission run, nothing is stored). The service account
// and priority class belong to kube-system and are not what Pod Security
// judges; the pod runs as the namespace's default account.
func dryRunPod(t *testing.T, name string, spec map[string]any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(spec)
	var s map[string]any
	_ = json.Unmarshal(b, &s)
	s["serviceAccountName"] = "default"
	delete(s, "serviceAccount")
	delete(s, "priorityClassName")
	delete(s, "priority")
	pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "pss-" + name}, "spec": s}
	code, body, err := env.cluster.do("POST", fmt.Sprintf("/api/v1/namespaces/%s/pods?dryRun=All", restrictedNamespace), pod)
	if err != nil {
		t.Fatal(err)
	}
	return code, string(body)
}
