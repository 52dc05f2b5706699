package components

import (
	"fmt"

	apiregistrationv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiregistration/v1"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MetricsServerImage is the pinned metrics-server: v0.8.x serves
// metrics.k8s.io/v1beta1 on Kubernetes 1.31+ (kubernetes-sigs/metrics-server
// README, compatibility matrix; manifests/components/release pins v0.8.1).
const MetricsServerImage = "registry.k8s.io/metrics-server/metrics-server:v0.8.1"

// MetricsAPIService is the aggregated API metrics-server registers: the
// HorizontalPodAutoscaler reads pod CPU from it.
const MetricsAPIService = "v1beta1.metrics.k8s.io"

// MetricsServerArgs configures a MetricsServer.
type MetricsServerArgs struct {
	// Namespace; default kube-system, where the upstream manifests put it
	// (its RoleBinding to extension-apiserver-authentication-reader must
	// be there in any case).
	Namespace string
	// Replicas; default 1. The HPA tolerates a short gap while it is
	// rescheduled; more replicas need the upstream high-availability
	// variant (anti-affinity and a PDB).
	Replicas int
}

func (a *MetricsServerArgs) withDefaults() (MetricsServerArgs, error) {
	out := *a
	if out.Namespace == "" {
		out.Namespace = "kube-system"
	}
	if out.Replicas == 0 {
		out.Replicas = 1
	}
	if out.Replicas < 1 || out.Replicas > 3 {
		return out, fmt.Errorf("MetricsServerArgs.Replicas: %d is out of range 1-3", out.Replicas)
	}
	return out, nil
}

// MetricsServer is metrics-server, the resource metrics API the
// HorizontalPodAutoscaler scales on, as the upstream release manifest
// (components.yaml of v0.8.x) defines it: its RBAC, Service, Deployment and
// the APIService v1beta1.metrics.k8s.io. The pod meets the restricted Pod
// Security Standard (non-root, read-only root, no capabilities, no
// privilege escalation, RuntimeDefault seccomp).
//
// Manifests rather than the EKS add-on: they are pinned and reviewed here
// like every other object the program deploys, the engine tests apply them
// to a real API server (an add-on cannot be installed there), and nothing
// depends on which add-on versions EKS offers for a cluster version.
type MetricsServer struct {
	pulumi.ResourceState

	APIServiceName pulumi.StringOutput `pulumi:"apiServiceName"`
}

// NewMetricsServer creates a MetricsServer; it needs a Kubernetes provider.
func NewMetricsServer(ctx *pulumi.Context, name string, args *MetricsServerArgs, opts ...pulumi.ResourceOption) (*MetricsServer, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &MetricsServer{}
	if err := ctx.RegisterComponentResource("platform:components:MetricsServer", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	const app = "metrics-server"
	labels := pulumi.StringMap{"k8s-app": pulumi.String(app)}
	meta := func(objName string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(objName), Namespace: pulumi.String(a.Namespace), Labels: labels}
	}
	subject := rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(app), Namespace: pulumi.String(a.Namespace),
	}}

	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{Metadata: meta(app)}, parent)
	if err != nil {
		return nil, err
	}
	var rbac []pulumi.Resource
	add := func(r pulumi.Resource, err error) error {
		rbac = append(rbac, r)
		return err
	}
	// Every user who may read pods may read their metrics.
	if err := add(rbacv1.NewClusterRole(ctx, name+"-aggregated-reader", &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("system:aggregated-metrics-reader"), Labels: pulumi.StringMap{
			"k8s-app": pulumi.String(app),
			"rbac.authorization.k8s.io/aggregate-to-admin": pulumi.String("true"),
			"rbac.authorization.k8s.io/aggregate-to-edit":  pulumi.String("true"),
			"rbac.authorization.k8s.io/aggregate-to-view":  pulumi.String("true"),
		}},
		Rules: rbacv1.PolicyRuleArray{&rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{"metrics.k8s.io"}),
			Resources: pulumi.ToStringArray([]string{"pods", "nodes"}),
			Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch"}),
		}},
	}, parent)); err != nil {
		return nil, err
	}
	// What it scrapes: the kubelets' resource metrics, and the pods and
	// nodes they belong to.
	if err := add(rbacv1.NewClusterRole(ctx, name, &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("system:metrics-server"), Labels: labels},
		Rules: rbacv1.PolicyRuleArray{
			&rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.ToStringArray([]string{""}),
				Resources: pulumi.ToStringArray([]string{"nodes/metrics"}),
				Verbs:     pulumi.ToStringArray([]string{"get"}),
			},
			&rbacv1.PolicyRuleArgs{
				ApiGroups: pulumi.ToStringArray([]string{""}),
				Resources: pulumi.ToStringArray([]string{"pods", "nodes"}),
				Verbs:     pulumi.ToStringArray([]string{"get", "list", "watch"}),
			},
		},
	}, parent)); err != nil {
		return nil, err
	}
	if err := add(rbacv1.NewClusterRoleBinding(ctx, name, &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("system:metrics-server"), Labels: labels},
		RoleRef: &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"),
			Name: pulumi.String("system:metrics-server")},
		Subjects: subject,
	}, parent)); err != nil {
		return nil, err
	}
	// An aggregated API server delegates authentication and authorization
	// of the requests the API server forwards to it.
	if err := add(rbacv1.NewClusterRoleBinding(ctx, name+"-auth-delegator", &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("metrics-server:system:auth-delegator"), Labels: labels},
		RoleRef: &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"),
			Name: pulumi.String("system:auth-delegator")},
		Subjects: subject,
	}, parent)); err != nil {
		return nil, err
	}
	if err := add(rbacv1.NewRoleBinding(ctx, name+"-auth-reader", &rbacv1.RoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("metrics-server-auth-reader"), Namespace: pulumi.String("kube-system"), Labels: labels},
		RoleRef: &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"),
			Name: pulumi.String("extension-apiserver-authentication-reader")},
		Subjects: subject,
	}, parent)); err != nil {
		return nil, err
	}

	svc, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: meta(app),
		Spec: &corev1.ServiceSpecArgs{
			Selector: labels,
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("https"), Port: pulumi.Int(443), TargetPort: pulumi.String("https"), Protocol: pulumi.String("TCP"),
			}},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	probe := func(path string, initialDelay int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:             &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.String("https"), Scheme: pulumi.String("HTTPS")},
			PeriodSeconds:       pulumi.Int(10),
			FailureThreshold:    pulumi.Int(3),
			InitialDelaySeconds: pulumi.Int(initialDelay),
		}
	}
	deployment, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: meta(app),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(a.Replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			Strategy: &appsv1.DeploymentStrategyArgs{
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{MaxUnavailable: pulumi.Int(0)},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: sa.Metadata.Name().Elem(),
					PriorityClassName:  pulumi.String("system-cluster-critical"),
					NodeSelector:       pulumi.StringMap{"kubernetes.io/os": pulumi.String("linux")},
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot:   pulumi.Bool(true),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String(app),
						Image: pulumi.String(MetricsServerImage),
						Args: pulumi.ToStringArray([]string{
							"--cert-dir=/tmp",
							// 10250 is the port EKS's cluster security group
							// opens from the control plane to the nodes.
							"--secure-port=10250",
							"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
							"--kubelet-use-node-status-port",
							"--metric-resolution=15s",
						}),
						Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
							Name: pulumi.String("https"), ContainerPort: pulumi.Int(10250), Protocol: pulumi.String("TCP"),
						}},
						ReadinessProbe: probe("/readyz", 20),
						LivenessProbe:  probe("/livez", 0),
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String("200Mi")},
						},
						SecurityContext:          restrictedContainer(1000),
						VolumeMounts:             corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp-dir"), MountPath: pulumi.String("/tmp")}},
						ImagePullPolicy:          pulumi.String("IfNotPresent"),
						TerminationMessagePolicy: pulumi.String("FallbackToLogsOnError"),
					}},
					Volumes: corev1.VolumeArray{&corev1.VolumeArgs{
						Name: pulumi.String("tmp-dir"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{},
					}},
				},
			},
		},
	}, parent, pulumi.DependsOn(rbac))
	if err != nil {
		return nil, err
	}
	// Registered once a replica is Ready (Pulumi waits for the
	// Deployment): an APIService without a backend makes API discovery
	// fail for its group, which stalls namespace deletion cluster-wide.
	api, err := apiregistrationv1.NewAPIService(ctx, name, &apiregistrationv1.APIServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(MetricsAPIService), Labels: labels},
		Spec: &apiregistrationv1.APIServiceSpecArgs{
			Service: &apiregistrationv1.ServiceReferenceArgs{
				Name: svc.Metadata.Name().Elem(), Namespace: pulumi.String(a.Namespace),
			},
			Group:   pulumi.String("metrics.k8s.io"),
			Version: pulumi.String("v1beta1"),
			// metrics-server serves a self-signed certificate (--cert-dir),
			// as in the upstream manifest.
			InsecureSkipTLSVerify: pulumi.Bool(true),
			GroupPriorityMinimum:  pulumi.Int(100),
			VersionPriority:       pulumi.Int(100),
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{deployment}))
	if err != nil {
		return nil, err
	}
	m.APIServiceName = api.Metadata.Name().Elem()
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"apiServiceName": m.APIServiceName})
}

// restrictedContainer is the container security context the restricted
// Pod Security Standard asks for, running as uid.
func restrictedContainer(uid int) *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		RunAsNonRoot:             pulumi.Bool(true),
		RunAsUser:                pulumi.Int(uid),
		RunAsGroup:               pulumi.Int(uid),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		AllowPrivilegeEscalation: pulumi.Bool(false),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
		SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
	}
}
