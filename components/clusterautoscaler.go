package components

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClusterAutoscalerImages pins a Cluster Autoscaler release per Kubernetes
// minor: the autoscaler's minor must match the cluster's (its scheduler
// simulation is that minor's; kubernetes/autoscaler README, "Releases").
// A digest is given where the release was resolved.
var ClusterAutoscalerImages = map[string]string{
	"1.30": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.0",
	"1.31": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.31.0",
	"1.32": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.0",
	"1.33": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.5",
	"1.34": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.34.3",
	"1.35": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2@sha256:aac369dc283927a623deb1af54696efcc722ae79255aa07788422e495bab887d",
	"1.36": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1@sha256:461388d03eb5b55db58941ee7a81d9a619dd15302b01cbab9f5a9946715994b4",
}

// ClusterAutoscalerImage is the pinned image for a cluster version.
func ClusterAutoscalerImage(version string) (string, error) {
	if img, ok := ClusterAutoscalerImages[version]; ok {
		return img, nil
	}
	known := make([]string, 0, len(ClusterAutoscalerImages))
	for v := range ClusterAutoscalerImages {
		known = append(known, v)
	}
	sort.Strings(known)
	return "", fmt.Errorf("no Cluster Autoscaler is pinned for Kubernetes %s (pinned: %s); add a release of the same minor "+
		"to components.ClusterAutoscalerImages (github.com/kubernetes/autoscaler/releases)", version, strings.Join(known, ", "))
}

// The auto-discovery tags. EKS tags the autoscaling group of every managed
// node group with both ("Amazon EKS tags managed node group resources so
// that they are configured to use the Kubernetes Cluster Autoscaler", EKS
// User Guide, managed node groups): enabled=true and <cluster>=owned.
const (
	AutoscalerEnabledTag = "k8s.io/cluster-autoscaler/enabled"
	autoscalerTagPrefix  = "k8s.io/cluster-autoscaler/"
)

// AutoscalerClusterTag is the tag that names the cluster an autoscaling
// group belongs to.
func AutoscalerClusterTag(cluster string) string { return autoscalerTagPrefix + cluster }

// AutoscalerScaleActions change an autoscaling group's size: the
// autoscaler's role may call them only on groups tagged for this cluster
// and still enabled (the dev emergency breaker sets enabled=false).
var AutoscalerScaleActions = []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}

// ClusterAutoscalerArgs configures a ClusterAutoscaler.
type ClusterAutoscalerArgs struct {
	// ClusterName names the cluster whose node groups it scales. Required.
	ClusterName string
	// KubernetesVersion ("1.35") picks the image (ClusterAutoscalerImages).
	// Required.
	KubernetesVersion string
	// Region and AccountID scope the role's ARNs. Required.
	Region    string
	AccountID pulumi.StringInput
	// OIDCProviderArn and OIDCIssuer (without https://) are the cluster's
	// IRSA provider. Required.
	OIDCProviderArn pulumi.StringInput
	OIDCIssuer      pulumi.StringInput
	// ScaleDownUnneededTime: how long a node must be unneeded before it is
	// removed; ScaleDownDelayAfterAdd: no scale-down for this long after a
	// scale-up. Defaults 10m and 10m (the autoscaler's own); dev uses less.
	ScaleDownUnneededTime, ScaleDownDelayAfterAdd string
	// Namespace and ServiceAccountName; defaults kube-system and
	// cluster-autoscaler.
	Namespace, ServiceAccountName string
}

var durationRe = regexp.MustCompile(`^[0-9]+(s|m|h)$`)

func (a *ClusterAutoscalerArgs) withDefaults() (ClusterAutoscalerArgs, error) {
	out := *a
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&out.ScaleDownUnneededTime, "10m")
	def(&out.ScaleDownDelayAfterAdd, "10m")
	def(&out.Namespace, "kube-system")
	def(&out.ServiceAccountName, "cluster-autoscaler")
	_, imgErr := ClusterAutoscalerImage(out.KubernetesVersion)
	switch {
	case out.ClusterName == "":
		return out, fmt.Errorf("ClusterAutoscalerArgs.ClusterName: required")
	case imgErr != nil:
		return out, fmt.Errorf("ClusterAutoscalerArgs.KubernetesVersion: %w", imgErr)
	case !awsRegionRe.MatchString(out.Region):
		return out, fmt.Errorf("ClusterAutoscalerArgs.Region: %q is not an AWS region", out.Region)
	case out.AccountID == nil || out.OIDCProviderArn == nil || out.OIDCIssuer == nil:
		return out, fmt.Errorf("ClusterAutoscalerArgs.AccountID, OIDCProviderArn and OIDCIssuer: required")
	case !durationRe.MatchString(out.ScaleDownUnneededTime) || !durationRe.MatchString(out.ScaleDownDelayAfterAdd):
		return out, fmt.Errorf("ClusterAutoscalerArgs.ScaleDownUnneededTime/ScaleDownDelayAfterAdd: %q, %q: want durations like 5m",
			out.ScaleDownUnneededTime, out.ScaleDownDelayAfterAdd)
	}
	return out, nil
}

// commandLine is the autoscaler's command and flags.
func (a ClusterAutoscalerArgs) commandLine() []string {
	return []string{
		"./cluster-autoscaler",
		"--cloud-provider=aws",
		// Only this cluster's groups, and only while enabled=true: the dev
		// breaker flips the tag to take the group away from the autoscaler
		// (kubernetes/autoscaler cloudprovider/aws: asg:tag=key=value
		// matches the value, a bare key any value).
		"--node-group-auto-discovery=asg:tag=" + AutoscalerEnabledTag + "=true," + AutoscalerClusterTag(a.ClusterName),
		"--balance-similar-node-groups",
		"--expander=least-waste",
		"--scale-down-unneeded-time=" + a.ScaleDownUnneededTime,
		"--scale-down-delay-after-add=" + a.ScaleDownDelayAfterAdd,
		// The workloads here keep scratch data in emptyDir and the system
		// pods (metrics-server, CoreDNS) have PDBs or tolerate a move: a
		// node is not pinned by either.
		"--skip-nodes-with-local-storage=false",
		"--skip-nodes-with-system-pods=false",
		"--stderrthreshold=info",
		"--v=2",
	}
}

// ClusterAutoscaler is the Kubernetes Cluster Autoscaler for the cluster's
// managed node groups: it adds nodes when pods are Pending for lack of room
// and removes idle ones, between each group's min and max (it reads both
// from the autoscaling group, which EKS keeps equal to the node group's
// scaling config: platform:nodeMin and nodeMax). It runs under its own IRSA
// role, trusted for its service account only, that may resize only this
// cluster's autoscaling groups (tag conditions). The program leaves the
// node group's desired size alone (IgnoreNodeGroupDesiredSize), so a deploy
// never undoes a scale-up.
type ClusterAutoscaler struct {
	pulumi.ResourceState

	RoleArn pulumi.StringOutput `pulumi:"roleArn"`
	Image   pulumi.StringOutput `pulumi:"image"`
}

// NewClusterAutoscaler creates a ClusterAutoscaler. It needs an AWS and a
// Kubernetes provider (pulumi.Providers).
func NewClusterAutoscaler(ctx *pulumi.Context, name string, args *ClusterAutoscalerArgs, opts ...pulumi.ResourceOption) (*ClusterAutoscaler, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	image, _ := ClusterAutoscalerImage(a.KubernetesVersion)
	c := &ClusterAutoscaler{}
	if err := ctx.RegisterComponentResource("platform:components:ClusterAutoscaler", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	trust := pulumi.All(a.OIDCProviderArn, a.OIDCIssuer).ApplyT(func(v []any) (string, error) {
		return jsonString(IRSATrustPolicy(v[0].(string), v[1].(string), a.Namespace, a.ServiceAccountName))
	}).(pulumi.StringOutput)
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		Description:      pulumi.String("Cluster Autoscaler of " + a.ClusterName + " (IRSA): resizes this cluster's node groups only"),
		AssumeRolePolicy: trust,
	}, parent)
	if err != nil {
		return nil, err
	}
	doc := a.AccountID.ToStringOutput().ApplyT(func(account string) (string, error) {
		return jsonString(ClusterAutoscalerPolicy(a.ClusterName, a.Region, account))
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{Role: role.ID(), Policy: doc}, parent); err != nil {
		return nil, err
	}

	rbac, err := a.rbac(ctx, name, parent)
	if err != nil {
		return nil, err
	}
	const app = "cluster-autoscaler"
	labels := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(app)}
	sa, err := corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(a.ServiceAccountName), Namespace: pulumi.String(a.Namespace), Labels: labels,
			Annotations: pulumi.StringMap{"eks.amazonaws.com/role-arn": role.Arn},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(app), Namespace: pulumi.String(a.Namespace), Labels: labels},
		Spec: &appsv1.DeploymentSpecArgs{
			// One replica: the autoscaler elects a leader anyway.
			Replicas: pulumi.Int(1),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{
					Labels: labels,
					// It never drains the node it runs on.
					Annotations: pulumi.StringMap{"cluster-autoscaler.kubernetes.io/safe-to-evict": pulumi.String("false")},
				},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: sa.Metadata.Name().Elem(),
					PriorityClassName:  pulumi.String("system-cluster-critical"),
					NodeSelector:       pulumi.StringMap{"kubernetes.io/os": pulumi.String("linux")},
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot: pulumi.Bool(true),
						// The projected IRSA token is readable by the pod's
						// group (EKS User Guide, Cluster Autoscaler: fsGroup 65534).
						FsGroup:        pulumi.Int(65534),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:    pulumi.String(app),
						Image:   pulumi.String(image),
						Command: pulumi.ToStringArray(a.commandLine()),
						Env: corev1.EnvVarArray{&corev1.EnvVarArgs{
							Name: pulumi.String("AWS_REGION"), Value: pulumi.String(a.Region),
						}},
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String("600Mi")},
							Limits:   pulumi.StringMap{"memory": pulumi.String("600Mi")},
						},
						SecurityContext:          restrictedContainer(65534),
						ImagePullPolicy:          pulumi.String("IfNotPresent"),
						TerminationMessagePolicy: pulumi.String("FallbackToLogsOnError"),
					}},
				},
			},
		},
	}, parent, pulumi.DependsOn(rbac)); err != nil {
		return nil, err
	}

	c.RoleArn = role.Arn
	c.Image = pulumi.String(image).ToStringOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"roleArn": c.RoleArn, "image": c.Image})
}

// rbac is the upstream chart's ClusterRole (charts/cluster-autoscaler,
// templates/clusterrole.yaml) and its namespaced Role for the status
// ConfigMap, bound to the service account.
func (a ClusterAutoscalerArgs) rbac(ctx *pulumi.Context, name string, parent pulumi.ResourceOption) ([]pulumi.Resource, error) {
	const app = "cluster-autoscaler"
	labels := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(app)}
	rule := func(groups, resources, verbs []string, names ...string) *rbacv1.PolicyRuleArgs {
		r := &rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray(groups), Resources: pulumi.ToStringArray(resources), Verbs: pulumi.ToStringArray(verbs),
		}
		if len(names) > 0 {
			r.ResourceNames = pulumi.ToStringArray(names)
		}
		return r
	}
	read := []string{"watch", "list", "get"}
	subject := rbacv1.SubjectArray{&rbacv1.SubjectArgs{
		Kind: pulumi.String("ServiceAccount"), Name: pulumi.String(a.ServiceAccountName), Namespace: pulumi.String(a.Namespace),
	}}
	cr, err := rbacv1.NewClusterRole(ctx, name, &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(app), Labels: labels},
		Rules: rbacv1.PolicyRuleArray{
			rule([]string{""}, []string{"events", "endpoints"}, []string{"create", "patch"}),
			rule([]string{""}, []string{"pods/eviction"}, []string{"create"}),
			rule([]string{""}, []string{"pods/status"}, []string{"update"}),
			rule([]string{""}, []string{"endpoints"}, []string{"get", "update"}, app),
			// update: the ToBeDeleted taint; delete: a node whose
			// instance is gone.
			rule([]string{""}, []string{"nodes"}, []string{"watch", "list", "get", "update", "delete"}),
			rule([]string{""}, []string{"namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims", "persistentvolumes"}, read),
			rule([]string{"batch"}, []string{"jobs", "cronjobs"}, read),
			rule([]string{"extensions"}, []string{"replicasets", "daemonsets"}, read),
			rule([]string{"policy"}, []string{"poddisruptionbudgets"}, []string{"watch", "list"}),
			rule([]string{"apps"}, []string{"daemonsets", "replicasets", "statefulsets"}, read),
			rule([]string{"storage.k8s.io"}, []string{"storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"}, read),
			rule([]string{""}, []string{"configmaps"}, read),
			rule([]string{"coordination.k8s.io"}, []string{"leases"}, []string{"create"}),
			rule([]string{"coordination.k8s.io"}, []string{"leases"}, []string{"get", "update"}, app),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	crb, err := rbacv1.NewClusterRoleBinding(ctx, name, &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(app), Labels: labels},
		RoleRef:  &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: pulumi.String(app)},
		Subjects: subject,
	}, parent)
	if err != nil {
		return nil, err
	}
	role, err := rbacv1.NewRole(ctx, name, &rbacv1.RoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(app), Namespace: pulumi.String(a.Namespace), Labels: labels},
		Rules: rbacv1.PolicyRuleArray{
			rule([]string{""}, []string{"configmaps"}, []string{"create", "list", "watch"}),
			rule([]string{""}, []string{"configmaps"}, []string{"delete", "get", "update", "watch"},
				"cluster-autoscaler-status", "cluster-autoscaler-priority-expander"),
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	rb, err := rbacv1.NewRoleBinding(ctx, name, &rbacv1.RoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(app), Namespace: pulumi.String(a.Namespace), Labels: labels},
		RoleRef:  &rbacv1.RoleRefArgs{ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Role"), Name: pulumi.String(app)},
		Subjects: subject,
	}, parent)
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{cr, crb, role, rb}, nil
}

// IRSATrustPolicy lets exactly one service account assume a role through
// the cluster's OIDC provider (EKS User Guide, IAM roles for service
// accounts: the :sub and :aud conditions with StringEquals).
func IRSATrustPolicy(providerArn, issuer, namespace, serviceAccount string) map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Principal": map[string]any{"Federated": providerArn},
			"Condition": map[string]any{"StringEquals": map[string]any{
				issuer + ":sub": "system:serviceaccount:" + namespace + ":" + serviceAccount,
				issuer + ":aud": "sts.amazonaws.com",
			}},
		}},
	}
}

// ClusterAutoscalerPolicy is the autoscaler role's policy: resize only the
// autoscaling groups of this region and account that are tagged for this
// cluster and still enabled; read what auto-discovery and scale-from-zero
// need (Describe* calls take no resource-level permissions); describe only
// this cluster's node groups (kubernetes/autoscaler
// cluster-autoscaler/cloudprovider/aws/README.md, "IAM Policy").
func ClusterAutoscalerPolicy(cluster, region, account string) map[string]any {
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Sid": "ResizeThisClustersGroups", "Effect": "Allow", "Action": AutoscalerScaleActions,
				"Resource": fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/*", region, account),
				"Condition": map[string]any{"StringEquals": map[string]any{
					"aws:ResourceTag/" + AutoscalerClusterTag(cluster): "owned",
					"aws:ResourceTag/" + AutoscalerEnabledTag:          "true",
				}}},
			map[string]any{"Sid": "Discover", "Effect": "Allow",
				"Action": []string{"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
					"autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities", "autoscaling:DescribeTags",
					"ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
					"ec2:GetInstanceTypesFromInstanceRequirements"},
				"Resource": "*"},
			map[string]any{"Sid": "ReadThisClustersNodeGroups", "Effect": "Allow", "Action": "eks:DescribeNodegroup",
				"Resource": fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/*/*", region, account, cluster)},
		},
	}
}
