package stacks_test

// Issue 13, part 2: autoscaling that exists. metrics-server serves the
// resource metrics the HorizontalPodAutoscaler reads; the Cluster
// Autoscaler resizes the managed node group between nodeMin and nodeMax
// and steps aside when the dev emergency breaker scales the group to zero.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
	"github.com/tenantco/platform/internal/standin"
)

// deployment returns the Deployment of namespace/name.
func deployment(t *testing.T, e *mockengine.Engine, namespace, name string) inventory.Resource {
	t.Helper()
	for _, d := range e.Find("kubernetes:apps/v1:Deployment") {
		if n, _ := d.String("metadata.name"); n == name {
			if ns, _ := d.String("metadata.namespace"); ns == namespace {
				return d
			}
		}
	}
	t.Fatalf("no Deployment %s/%s", namespace, name)
	return inventory.Resource{}
}

// The autoscaler's role trusts exactly its own service account through
// the cluster's OIDC provider (EKS User Guide, "IAM roles for service
// accounts": StringEquals on <issuer>:sub and <issuer>:aud), and that
// service account, annotated with the role, is the one its pods run as.
func TestClusterAutoscalerIRSATrust(t *testing.T) {
	e := evaluate(t, "prod", false)
	role := named(t, e, "aws:iam/role:Role", "-cluster-autoscaler")
	st := onlyTrust(t, role)
	assert.Equal(t, "sts:AssumeRoleWithWebIdentity", st.Action)
	provider := named(t, e, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-oidc")
	assert.Contains(t, st.Principal["Federated"], ":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/", "the cluster's IRSA provider")
	assert.Contains(t, role.Dependencies, provider.URN)
	require.Len(t, st.Condition, 1, "StringEquals only: no StringLike can widen it")
	var sub, aud string
	for k, v := range st.Condition["StringEquals"] {
		require.True(t, strings.HasPrefix(k, "oidc.eks.us-east-1.amazonaws.com/id/"), "keys on the cluster's issuer: %s", k)
		switch {
		case strings.HasSuffix(k, ":sub"):
			sub = v
		case strings.HasSuffix(k, ":aud"):
			aud = v
		}
	}
	assert.Equal(t, "system:serviceaccount:kube-system:cluster-autoscaler", sub)
	assert.Equal(t, "sts.amazonaws.com", aud)

	var sa inventory.Resource
	for _, r := range e.Find("kubernetes:core/v1:ServiceAccount") {
		if n, _ := r.String("metadata.name"); n == "cluster-autoscaler" {
			sa = r
		}
	}
	require.NotEmpty(t, sa.URN)
	assert.Equal(t, "kube-system", mustString(t, sa, "metadata.namespace"))
	annotations, _ := sa.Get("metadata.annotations")
	arn := annotations.(map[string]any)["eks.amazonaws.com/role-arn"]
	assert.Equal(t, fmt.Sprintf("arn:aws:iam:us-east-1:%s:role/%s", standin.AccountID, mockID(role)), arn, "the role, by its ARN")
	dep := deployment(t, e, "kube-system", "cluster-autoscaler")
	assert.Equal(t, "cluster-autoscaler", mustString(t, dep, "spec.template.spec.serviceAccountName"))
}

// The autoscaler may resize only this cluster's autoscaling groups, and
// only while they are enabled for it: EKS tags a managed node group's
// autoscaling group k8s.io/cluster-autoscaler/enabled=true and
// k8s.io/cluster-autoscaler/<cluster>=owned ("Amazon EKS tags managed node
// group resources so that they are configured to use the Kubernetes
// Cluster Autoscaler", EKS User Guide, managed node groups), and IAM
// evaluates aws:ResourceTag against the group a call targets. Describe*
// calls take no resource-level permissions; eks:DescribeNodegroup is
// limited to this cluster's node groups (kubernetes/autoscaler
// cloudprovider/aws/README.md, "IAM Policy").
func TestClusterAutoscalerIAMConditions(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			cfg := stackConfig(t, stack)
			raw := mustString(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "-cluster-autoscaler"), "policy")
			var doc struct {
				Statement []struct {
					Sid, Effect string
					Action      stringOrList
					Resource    stringOrList
					Condition   map[string]map[string]string
				}
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &doc))
			scale := map[string]bool{}
			for _, st := range doc.Statement {
				require.Equal(t, "Allow", st.Effect)
				for _, a := range st.Action {
					if strings.HasPrefix(a, "autoscaling:") && !strings.HasPrefix(a, "autoscaling:Describe") {
						scale[a] = true
						assert.Equal(t, map[string]string{
							"aws:ResourceTag/k8s.io/cluster-autoscaler/" + cfg.ClusterName(): "owned",
							"aws:ResourceTag/k8s.io/cluster-autoscaler/enabled":              "true",
						}, st.Condition["StringEquals"], "%s only on this cluster's enabled groups", a)
						assert.Equal(t, []string{fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/*",
							cfg.Region, standin.AccountID)}, []string(st.Resource), "this account and region")
					}
					if a == "eks:DescribeNodegroup" {
						assert.Equal(t, []string{fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/*/*", cfg.Region, standin.AccountID, cfg.ClusterName())},
							[]string(st.Resource))
					}
					assert.False(t, strings.HasSuffix(a, "*"), "no wildcard action: %s", a)
				}
			}
			assert.Equal(t, map[string]bool{"autoscaling:SetDesiredCapacity": true, "autoscaling:TerminateInstanceInAutoScalingGroup": true}, scale,
				"it sets the desired size within the group's min and max; it can never change min or max (UpdateAutoScalingGroup)")
			var p iamPolicy
			require.NoError(t, json.Unmarshal([]byte(raw), &p))
			for _, a := range []string{"autoscaling:UpdateAutoScalingGroup", "autoscaling:CreateOrUpdateTags", "eks:UpdateNodegroupConfig",
				"ec2:RunInstances", "ec2:TerminateInstances", "iam:PassRole"} {
				assert.False(t, p.allows(a), "the autoscaler may not %s", a)
			}
		})
	}
}

// The autoscaler's command line: auto-discovery of this cluster's enabled
// groups (kubernetes/autoscaler cloudprovider/aws: asg:tag=key=value
// matches the value, a bare key any), balancing across the zonal spread,
// the least-waste expander, and scale-down timing by environment. It takes
// min and max from each autoscaling group, which EKS keeps equal to the
// node group's scaling config: platform:nodeMin and nodeMax.
func TestClusterAutoscalerArgsAndBounds(t *testing.T) {
	for stack, scaleDown := range map[string]string{"dev": "5m", "prod": "10m"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			cfg := stackConfig(t, stack)
			dep := deployment(t, e, "kube-system", "cluster-autoscaler")
			cmd := dep.Strings("spec.template.spec.containers.0.command")
			for _, want := range []string{
				"--cloud-provider=aws",
				"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled=true,k8s.io/cluster-autoscaler/" + cfg.ClusterName(),
				"--balance-similar-node-groups",
				"--expander=least-waste",
				"--scale-down-unneeded-time=" + scaleDown,
				"--scale-down-delay-after-add=" + scaleDown,
			} {
				assert.Contains(t, cmd, want)
			}
			for _, a := range cmd {
				assert.False(t, strings.HasPrefix(a, "--nodes="), "no static --nodes: it would override the group's own min and max")
			}
			image := mustString(t, dep, "spec.template.spec.containers.0.image")
			assert.True(t, strings.HasPrefix(image, "registry.k8s.io/autoscaling/cluster-autoscaler:v"+cfg.ClusterVersion+"."),
				"the autoscaler's minor is the cluster's (%s): %s", cfg.ClusterVersion, image)
			assert.NotContains(t, image, "latest")
			env, _ := dep.Get("spec.template.spec.containers.0.env")
			assert.Contains(t, env, map[string]any{"name": "AWS_REGION", "value": cfg.Region})
			ann, _ := dep.Get("spec.template.metadata.annotations")
			assert.Equal(t, "false", ann.(map[string]any)["cluster-autoscaler.kubernetes.io/safe-to-evict"], "it never drains its own node")

			group := only(t, e, "eks:index:ManagedNodeGroup")
			minSize, _ := group.Number("scalingConfig.minSize")
			maxSize, _ := group.Number("scalingConfig.maxSize")
			assert.Equal(t, []float64{float64(cfg.NodeMin), float64(cfg.NodeMax)}, []float64{minSize, maxSize}, "the bounds it reads")
		})
	}
	// A cluster version without a pinned autoscaler is refused by name.
	e := &mockengine.Engine{}
	err := evaluateWith(t, e, "prod", map[string]string{"platform:clusterVersion": "1.29"})
	require.Error(t, err)
	e = &mockengine.Engine{}
	err = evaluateWith(t, e, "prod", map[string]string{"platform:clusterVersion": "1.39"})
	require.ErrorContains(t, err, "platform:clusterVersion")
	assert.Contains(t, err.Error(), "no Cluster Autoscaler is pinned for Kubernetes 1.39")
	assert.Empty(t, e.Resources())
}

// The dev emergency breaker (200 %) scales the node group to zero. The
// autoscaler must not start nodes again for the pods left Pending: the
// breaker first sets the group's k8s.io/cluster-autoscaler/enabled tag to
// false, which takes the group out of the autoscaler's discovery (it asks
// for enabled=true) and out of its role (the resize allow requires
// enabled=true); only then does it scale. Its own role may change that one
// tag, on this cluster's groups only. The program never resets the
// desired size (IgnoreNodeGroupDesiredSize, TestNodeGroupDesiredSizeIgnoredOnTheChild).
func TestAutoscalerStepsAsideForTheEmergencyBreaker(t *testing.T) {
	e := evaluate(t, "dev", false)
	cfg := stackConfig(t, "dev")
	fn := named(t, e, "aws:lambda/function:Function", "-emergency-stop")
	envTag := mustString(t, fn, "environment.variables.AUTOSCALER_TAG")
	assert.Equal(t, components.AutoscalerEnabledTag, envTag)

	// What the function does with the tag, and that it does it before it
	// scales, is exercised in components/lambda/test_breaker.py
	// (test_200_percent_actual_scales_the_node_group_to_zero records the
	// order of the AWS calls); here, that the code the program deploys is
	// that tested file.
	tested, err := os.ReadFile(filepath.Join("..", "components", "lambda", "breaker.py"))
	require.NoError(t, err)
	assert.Equal(t, string(tested), lambdaCode(t, e, fn), "the deployed function is the tested breaker.py")

	var doc struct {
		Statement []struct {
			Sid       string
			Action    stringOrList
			Condition map[string]map[string]any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(mustString(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "-emergency-stop"), "policy")), &doc))
	found := false
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, "autoscaling:CreateOrUpdateTags") {
			found = true
			assert.Equal(t, "owned", st.Condition["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/"+cfg.ClusterName()])
			assert.Equal(t, []any{components.AutoscalerEnabledTag}, st.Condition["ForAllValues:StringEquals"]["aws:TagKeys"], "that one tag")
		}
	}
	assert.True(t, found, "the breaker's role may flip the tag")

	// The switch the breaker flips is the one discovery and the role key on.
	dep := deployment(t, e, "kube-system", "cluster-autoscaler")
	assert.Contains(t, dep.Strings("spec.template.spec.containers.0.command"),
		"--node-group-auto-discovery=asg:tag="+components.AutoscalerEnabledTag+"=true,"+components.AutoscalerClusterTag(cfg.ClusterName()))
	assert.Contains(t, mustString(t, named(t, e, "aws:iam/rolePolicy:RolePolicy", "-cluster-autoscaler"), "policy"),
		`"aws:ResourceTag/`+components.AutoscalerEnabledTag+`":"true"`)
}

// lambdaCode is the function's Python source as the program registered it:
// the archive's .py asset that scales the node group.
func lambdaCode(t *testing.T, e *mockengine.Engine, fn inventory.Resource) string {
	t.Helper()
	code := e.RawInputs(fn.URN)["code"]
	require.True(t, code.IsArchive(), "code is an archive")
	for name, v := range code.ArchiveValue().Assets {
		if a, ok := v.(*asset.Asset); ok && strings.HasSuffix(name, ".py") && strings.Contains(a.Text, "update_nodegroup_config(") {
			return a.Text
		}
	}
	require.Fail(t, "no Python source in the archive scales the node group")
	return ""
}

// metrics-server serves metrics.k8s.io/v1beta1 through its Service, with
// the release manifest's RBAC, at a pinned version, and the APIService is
// registered only once a replica is Ready (an APIService without a backend
// fails discovery for its group, which stalls namespace deletion).
func TestMetricsServerAPIService(t *testing.T) {
	e := evaluate(t, "dev", false)
	api := only(t, e, "kubernetes:apiregistration.k8s.io/v1:APIService")
	assert.Equal(t, components.MetricsAPIService, mustString(t, api, "metadata.name"))
	assert.Equal(t, "metrics.k8s.io", mustString(t, api, "spec.group"))
	assert.Equal(t, "v1beta1", mustString(t, api, "spec.version"))
	assert.Equal(t, "kube-system", mustString(t, api, "spec.service.namespace"))
	assert.Equal(t, "metrics-server", mustString(t, api, "spec.service.name"))
	dep := deployment(t, e, "kube-system", "metrics-server")
	assert.Contains(t, api.Dependencies, dep.URN)
	assert.Equal(t, components.MetricsServerImage, mustString(t, dep, "spec.template.spec.containers.0.image"))
	assert.Regexp(t, `:v0\.8\.\d+$`, components.MetricsServerImage, "0.8.x serves Kubernetes 1.31+")

	// The Service's port reaches the container's named port.
	var svc inventory.Resource
	for _, s := range e.Find("kubernetes:core/v1:Service") {
		if n, _ := s.String("metadata.name"); n == "metrics-server" {
			svc = s
		}
	}
	require.NotEmpty(t, svc.URN)
	port, _ := svc.Number("spec.ports.0.port")
	assert.Equal(t, 443.0, port, "the API server calls the Service on 443")
	target := mustString(t, svc, "spec.ports.0.targetPort")
	assert.Equal(t, target, mustString(t, dep, "spec.template.spec.containers.0.ports.0.name"))
	cport, _ := dep.Number("spec.template.spec.containers.0.ports.0.containerPort")
	assert.Contains(t, dep.Strings("spec.template.spec.containers.0.args"), fmt.Sprintf("--secure-port=%d", int(cport)))
	selector, _ := svc.Get("spec.selector")
	labels, _ := dep.Get("spec.template.metadata.labels")
	assert.Equal(t, selector, labels)

	rules := map[string][]any{}
	for _, cr := range e.Find("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") {
		n, _ := cr.String("metadata.name")
		r, _ := cr.Get("rules")
		rules[n], _ = r.([]any)
	}
	assert.Equal(t, []any{
		map[string]any{"apiGroups": []any{""}, "resources": []any{"nodes/metrics"}, "verbs": []any{"get"}},
		map[string]any{"apiGroups": []any{""}, "resources": []any{"pods", "nodes"}, "verbs": []any{"get", "list", "watch"}},
	}, rules["system:metrics-server"], "the release manifest's rules: read the kubelets' metrics, nothing else")
}

// Both add-ons run in kube-system, which EKS leaves unlabelled (its own
// system pods need privileges there); ours meet the restricted Pod
// Security Standard anyway (Kubernetes "Pod Security Standards",
// Restricted: non-root, no privilege escalation, capabilities dropped,
// RuntimeDefault seccomp, and no host namespaces, host paths or
// privileged containers from Baseline). The engine tests submit them to a
// real API server enforcing it.
func TestAddOnPodsMeetRestrictedPodSecurity(t *testing.T) {
	e := evaluate(t, "prod", false)
	for _, name := range []string{"metrics-server", "cluster-autoscaler"} {
		t.Run(name, func(t *testing.T) {
			dep := deployment(t, e, "kube-system", name)
			spec, _ := dep.Get("spec.template.spec")
			pod := spec.(map[string]any)
			for _, field := range []string{"hostNetwork", "hostPID", "hostIPC"} {
				assert.NotEqual(t, true, pod[field], field)
			}
			volumes, _ := pod["volumes"].([]any)
			for _, v := range volumes {
				_, hostPath := v.(map[string]any)["hostPath"]
				assert.False(t, hostPath, "no hostPath volume (the old autoscaler example mounted the node's CA bundle)")
			}
			podNonRoot, _ := dep.Bool("spec.template.spec.securityContext.runAsNonRoot")
			podSeccomp, _ := dep.String("spec.template.spec.securityContext.seccompProfile.type")
			for i := range pod["containers"].([]any) {
				c := fmt.Sprintf("spec.template.spec.containers.%d.securityContext.", i)
				nonRoot, _ := dep.Bool(c + "runAsNonRoot")
				assert.True(t, nonRoot || podNonRoot)
				uid, _ := dep.Number(c + "runAsUser")
				assert.NotZero(t, uid)
				ape, ok := dep.Bool(c + "allowPrivilegeEscalation")
				assert.True(t, ok && !ape, "allowPrivilegeEscalation false")
				privileged, _ := dep.Bool(c + "privileged")
				assert.False(t, privileged)
				assert.Equal(t, []string{"ALL"}, dep.Strings(c+"capabilities.drop"))
				_, added := dep.Get(c + "capabilities.add")
				assert.False(t, added)
				seccomp, _ := dep.String(c + "seccompProfile.type")
				assert.True(t, seccomp == "RuntimeDefault" || podSeccomp == "RuntimeDefault")
				ro, _ := dep.Bool(c + "readOnlyRootFilesystem")
				assert.True(t, ro)
			}
		})
	}
}
