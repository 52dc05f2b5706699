package components

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TenantServiceArgs configures the tenant service on the cluster. The
// component needs both an AWS and a Kubernetes provider (pulumi.Providers).
type TenantServiceArgs struct {
	// Namespace for every Kubernetes object; default "tenant-service".
	Namespace string
	// ImageTag is a tag ("v1.4.2") or a digest ("sha256:…") in the ECR
	// repository this component creates. Required.
	ImageTag string
	// MinReplicas/MaxReplicas bound the autoscaler; prod needs >= 2 so a
	// zone or a node can go without an outage. Defaults 2 and 6.
	MinReplicas, MaxReplicas int
	// SpreadStrictly refuses to schedule a replica that would unbalance the
	// zones (prod); otherwise spreading is best effort (dev).
	SpreadStrictly bool
	// Cluster wiring: OIDC provider and issuer for IRSA, the node group's
	// autoscaling group for the load balancer's targets. Required.
	OIDCProviderArn pulumi.StringInput
	OIDCIssuer      pulumi.StringInput
	NodeASGName     pulumi.StringInput
	// Network wiring: VPC, public subnets and the load balancer's group
	// (443 from the internet only). Required.
	VpcID                     pulumi.StringInput
	PublicSubnetIDs           pulumi.StringArrayInput
	LoadBalancerSecurityGroup pulumi.StringInput
	// NodePort the load balancer forwards to (the node group's security
	// group admits it from the load balancer only). Required.
	NodePort int
	// VpcCIDR and DatabaseCIDRs bound the network policy: ingress from the
	// VPC (the load balancer reaches pods through node ports), egress to the
	// database subnets on 5432/6379. Required.
	VpcCIDR       string
	DatabaseCIDRs []string
	// CertificateArn is the ACM certificate of the 443 listener. Required.
	CertificateArn string
	// Data stores: the DB endpoint and its master secret in Secrets Manager,
	// the Redis endpoint and AUTH token (secret). Required.
	DatabaseHost      pulumi.StringInput
	DatabaseName      pulumi.StringInput
	DatabaseSecretArn pulumi.StringInput
	DatabaseKmsKeyArn pulumi.StringInput
	RedisHost         pulumi.StringInput
	RedisAuthToken    pulumi.StringInput
	// AlertsTopicArn is where the service publishes and whose budget alerts
	// set its breaker. Required.
	AlertsTopicArn pulumi.StringInput
	// HeartbeatURL (secret, optional) is the BetterStack heartbeat the
	// service pings while ready. StripeWebhookSecret is optional too.
	HeartbeatURL        pulumi.StringInput
	StripeWebhookSecret pulumi.StringInput
	// Stack facts the daily cost report needs.
	Stack, Environment        string
	BudgetUSD, EstimateUSD    float64
	CeilingUSD                float64
	ProtectLoadBalancer       bool   // deletion protection on the ALB (prod)
	CostReportSchedule        string // cron, UTC; default "0 7 * * *"
	Region                    string // for the cost report's AWS clients; required
	ServiceAccountName        string // default "tenantd"
	ContainerPort             int    // default 8080
	CPURequest, MemoryRequest string // defaults 250m, 256Mi
	CPULimit, MemoryLimit     string // defaults 1, 512Mi
}

func (a *TenantServiceArgs) withDefaults() (TenantServiceArgs, error) {
	out := *a
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&out.Namespace, "tenant-service")
	def(&out.ServiceAccountName, "tenantd")
	def(&out.CostReportSchedule, "0 7 * * *")
	def(&out.CPURequest, "250m")
	def(&out.MemoryRequest, "256Mi")
	def(&out.CPULimit, "1")
	def(&out.MemoryLimit, "512Mi")
	if out.MinReplicas == 0 {
		out.MinReplicas = 2
	}
	if out.MaxReplicas == 0 {
		out.MaxReplicas = 6
	}
	if out.ContainerPort == 0 {
		out.ContainerPort = 8080
	}
	switch {
	case out.ImageTag == "":
		return out, fmt.Errorf("TenantServiceArgs.ImageTag: required (a tag or a sha256: digest)")
	case out.MinReplicas < 1 || out.MaxReplicas < out.MinReplicas:
		return out, fmt.Errorf("TenantServiceArgs.MinReplicas/MaxReplicas: need 1 <= min (%d) <= max (%d)", out.MinReplicas, out.MaxReplicas)
	case out.NodePort < 30000 || out.NodePort > 32767:
		return out, fmt.Errorf("TenantServiceArgs.NodePort: %d is not a node port", out.NodePort)
	case !strings.HasPrefix(out.CertificateArn, "arn:aws:acm:"):
		return out, fmt.Errorf("TenantServiceArgs.CertificateArn: %q is not an ACM certificate ARN", out.CertificateArn)
	case out.VpcCIDR == "" || len(out.DatabaseCIDRs) == 0 || out.Region == "":
		return out, fmt.Errorf("TenantServiceArgs.VpcCIDR, DatabaseCIDRs and Region: required")
	case out.OIDCProviderArn == nil || out.OIDCIssuer == nil || out.NodeASGName == nil || out.VpcID == nil ||
		out.PublicSubnetIDs == nil || out.LoadBalancerSecurityGroup == nil || out.DatabaseHost == nil ||
		out.DatabaseName == nil || out.DatabaseSecretArn == nil || out.DatabaseKmsKeyArn == nil ||
		out.RedisHost == nil || out.RedisAuthToken == nil || out.AlertsTopicArn == nil:
		return out, fmt.Errorf("TenantServiceArgs: cluster, network, data store and topic inputs are required")
	}
	return out, nil
}

// TenantService is the tenant provisioning service on EKS: image registry,
// IRSA role, Kubernetes workload (migrations Job, Deployment, PDB, HPA,
// default-deny network policy, daily cost report CronJob) and the public
// load balancer on 443.
type TenantService struct {
	pulumi.ResourceState

	RepositoryURL   pulumi.StringOutput `pulumi:"repositoryUrl"`
	RoleArn         pulumi.StringOutput `pulumi:"roleArn"`
	LoadBalancerDNS pulumi.StringOutput `pulumi:"loadBalancerDns"`
	LoadBalancerArn pulumi.StringOutput `pulumi:"loadBalancerArn"`
	TargetGroupArn  pulumi.StringOutput `pulumi:"targetGroupArn"`
	// ArnSuffixes are the CloudWatch dimensions of the two.
	LoadBalancerArnSuffix pulumi.StringOutput `pulumi:"loadBalancerArnSuffix"`
	TargetGroupArnSuffix  pulumi.StringOutput `pulumi:"targetGroupArnSuffix"`
	// AdminToken is the service's admin bearer token (secret).
	AdminToken pulumi.StringOutput `pulumi:"adminToken"`
}

// ServiceDatabaseRole is the PostgreSQL login role of tenantd.
const ServiceDatabaseRole = "tenantd"

// PostgresClientImage runs psql for the bootstrap step (public ECR mirror of
// the official image, pinned to a major).
const PostgresClientImage = "public.ecr.aws/docker/library/postgres:16-alpine"

// BootstrapScript creates or updates tenantd's role, idempotently: the role
// may create tenant roles but is no superuser and inherits nothing, so a
// request only gets a tenant's rights after SET ROLE (see service/README.md).
const BootstrapScript = `set -eu
psql "$MASTER_DATABASE_URL" -v ON_ERROR_STOP=1 -v pw="$TENANTD_DB_PASSWORD" -v db="$DATABASE_NAME" <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantd') AS missing \gset
\if :missing
CREATE ROLE tenantd LOGIN NOINHERIT NOSUPERUSER CREATEROLE;
\endif
ALTER ROLE tenantd WITH LOGIN NOINHERIT NOSUPERUSER CREATEROLE PASSWORD :'pw';
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, CREATE ON DATABASE :"db" TO tenantd;
SQL
`

// Labels every object of the service carries.
var tenantdLabels = map[string]string{"app.kubernetes.io/name": "tenantd", "app.kubernetes.io/part-of": "platform"}

// NewTenantService creates a TenantService in named steps, in the order the
// resources are registered: the image repository, the IRSA role, the load
// balancer, the workload (namespace, secrets, migrations Job, Deployment,
// Service, PDB, HPA, network policies) and the daily cost report.
func NewTenantService(ctx *pulumi.Context, name string, args *TenantServiceArgs, opts ...pulumi.ResourceOption) (*TenantService, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &TenantService{}
	if err := ctx.RegisterComponentResource("platform:components:TenantService", name, s, opts...); err != nil {
		return nil, err
	}
	b := &tenantServiceBuild{ctx: ctx, name: name, a: a, parent: pulumi.Parent(s)}

	repo, err := b.imageRepository()
	if err != nil {
		return nil, err
	}
	role, err := b.irsaRole()
	if err != nil {
		return nil, err
	}
	alb, tg, err := b.loadBalancer()
	if err != nil {
		return nil, err
	}
	w, err := b.workload(repo, role)
	if err != nil {
		return nil, err
	}
	if err := b.costReport(w); err != nil {
		return nil, err
	}

	s.RepositoryURL = repo.RepositoryUrl
	s.RoleArn = role.Arn
	s.LoadBalancerDNS = alb.DnsName
	s.LoadBalancerArn = alb.Arn
	s.TargetGroupArn = tg.Arn
	s.LoadBalancerArnSuffix = alb.ArnSuffix
	s.TargetGroupArnSuffix = tg.ArnSuffix
	s.AdminToken = w.adminToken
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"repositoryUrl":         s.RepositoryURL,
		"roleArn":               s.RoleArn,
		"loadBalancerDns":       s.LoadBalancerDNS,
		"loadBalancerArn":       s.LoadBalancerArn,
		"targetGroupArn":        s.TargetGroupArn,
		"loadBalancerArnSuffix": s.LoadBalancerArnSuffix,
		"targetGroupArnSuffix":  s.TargetGroupArnSuffix,
		"adminToken":            s.AdminToken,
	})
}

// tenantServiceBuild is what the steps of NewTenantService share.
type tenantServiceBuild struct {
	ctx    *pulumi.Context
	name   string
	a      TenantServiceArgs
	parent pulumi.ResourceOrInvokeOption
}

// imageRepository creates the ECR repository the service's image lives in:
// immutable tags, scanned on push, KMS-encrypted, the last 30 images kept.
func (b *tenantServiceBuild) imageRepository() (*ecr.Repository, error) {
	ctx, name, parent := b.ctx, b.name, b.parent
	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			&ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("KMS")},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, name, &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy: pulumi.String(mustJSON(map[string]any{"rules": []any{map[string]any{
			"rulePriority": 1, "description": "keep the last 30 images",
			"selection": map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
			"action":    map[string]any{"type": "expire"},
		}}})),
	}, parent); err != nil {
		return nil, err
	}
	return repo, nil
}

// irsaRole creates the pods' IAM role (IRSA): only this namespace's service
// account may assume it, and it may read the database secret, publish to the
// alerts topic and read Cost Explorer — nothing else.
func (b *tenantServiceBuild) irsaRole() (*iam.Role, error) {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	trust := pulumi.All(a.OIDCProviderArn, a.OIDCIssuer).ApplyT(func(v []any) (string, error) {
		issuer := v[1].(string)
		return jsonString(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect":    "Allow",
				"Action":    "sts:AssumeRoleWithWebIdentity",
				"Principal": map[string]any{"Federated": v[0].(string)},
				"Condition": map[string]any{"StringEquals": map[string]any{
					issuer + ":sub": "system:serviceaccount:" + a.Namespace + ":" + a.ServiceAccountName,
					issuer + ":aud": "sts.amazonaws.com",
				}},
			}},
		})
	}).(pulumi.StringOutput)
	role, err := iam.NewRole(ctx, name+"-irsa", &iam.RoleArgs{
		Description:      pulumi.String("tenant service pods (IRSA): DB secret, alerts topic, Cost Explorer"),
		AssumeRolePolicy: trust,
	}, parent)
	if err != nil {
		return nil, err
	}
	policy := pulumi.All(a.DatabaseSecretArn, a.DatabaseKmsKeyArn, a.AlertsTopicArn).ApplyT(func(v []any) (string, error) {
		return jsonString(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{"Sid": "ReadDatabaseSecret", "Effect": "Allow",
					"Action": []string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, "Resource": v[0]},
				map[string]any{"Sid": "DecryptDatabaseSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": v[1],
					"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + a.Region + ".amazonaws.com"}}},
				map[string]any{"Sid": "PublishAlerts", "Effect": "Allow", "Action": "sns:Publish", "Resource": v[2]},
				// Cost Explorer has no resource-level permissions.
				map[string]any{"Sid": "ReadCosts", "Effect": "Allow", "Action": "ce:GetCostAndUsage", "Resource": "*"},
			},
		})
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name+"-irsa", &iam.RolePolicyArgs{Role: role.ID(), Policy: policy}, parent); err != nil {
		return nil, err
	}
	return role, nil
}

// loadBalancer creates the internet-facing ALB: 443 only, TLS 1.2+, to the
// nodes' service port (the node group's autoscaling group is its target);
// /metrics is never served to the internet.
func (b *tenantServiceBuild) loadBalancer() (*lb.LoadBalancer, *lb.TargetGroup, error) {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  a.PublicSubnetIDs,
		SecurityGroups:           pulumi.StringArray{a.LoadBalancerSecurityGroup},
		DropInvalidHeaderFields:  pulumi.Bool(true),
		EnableDeletionProtection: pulumi.Bool(a.ProtectLoadBalancer),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	tg, err := lb.NewTargetGroup(ctx, name, &lb.TargetGroupArgs{
		VpcId:      a.VpcID,
		TargetType: pulumi.String("instance"),
		Protocol:   pulumi.String("HTTP"),
		Port:       pulumi.Int(a.NodePort),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Path: pulumi.String("/readyz"), Matcher: pulumi.String("200"),
			Interval: pulumi.Int(15), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(3),
		},
		DeregistrationDelay: pulumi.Int(30),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	listener, err := lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(443),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		CertificateArn:  pulumi.String(a.CertificateArn),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("forward"), TargetGroupArn: tg.Arn,
		}},
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	// Prometheus scrapes pods inside the cluster; the internet never sees
	// the metrics.
	if _, err := lb.NewListenerRule(ctx, name+"-no-metrics", &lb.ListenerRuleArgs{
		ListenerArn: listener.Arn,
		Priority:    pulumi.Int(10),
		Conditions: lb.ListenerRuleConditionArray{&lb.ListenerRuleConditionArgs{
			PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.StringArray{pulumi.String("/metrics"), pulumi.String("/metrics/*")}},
		}},
		Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
			Type: pulumi.String("fixed-response"),
			FixedResponse: &lb.ListenerRuleActionFixedResponseArgs{
				ContentType: pulumi.String("text/plain"), StatusCode: pulumi.String("404"), MessageBody: pulumi.String("not found"),
			},
		}},
	}, parent); err != nil {
		return nil, nil, err
	}
	if _, err := autoscaling.NewAttachment(ctx, name, &autoscaling.AttachmentArgs{
		AutoscalingGroupName: a.NodeASGName,
		LbTargetGroupArn:     tg.Arn,
	}, parent); err != nil {
		return nil, nil, err
	}
	return alb, tg, nil
}

// workloadPods is what every pod of the service shares: the image, the
// namespace, the service account and the environment (plain and from the
// service's Secret).
type workloadPods struct {
	a          TenantServiceArgs
	image      pulumi.StringOutput
	ns         *corev1.Namespace
	sa         *corev1.ServiceAccount
	env        corev1.EnvVarArray
	envFrom    corev1.EnvFromSourceArray
	adminToken pulumi.StringOutput
}

// container is the service's hardened container running command.
func (w *workloadPods) container(command []string, extraEnv corev1.EnvVarArray) *corev1.ContainerArgs {
	return hardenedContainer(w.image, command, append(w.env, extraEnv...), w.envFrom, w.a)
}

// spec is the pod spec around one container: the service account, non-root
// with the runtime's seccomp profile.
func (w *workloadPods) spec(c *corev1.ContainerArgs, restart string) *corev1.PodSpecArgs {
	return &corev1.PodSpecArgs{
		ServiceAccountName: w.sa.Metadata.Name(),
		RestartPolicy:      pulumi.String(restart),
		SecurityContext: &corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			RunAsUser:      pulumi.Int(65532),
			RunAsGroup:     pulumi.Int(65532),
			SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		Containers: corev1.ContainerArray{c},
	}
}

// meta names an object of the service in its namespace, with its labels.
func (w *workloadPods) meta(objName string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Name: pulumi.String(objName), Namespace: w.ns.Metadata.Name(), Labels: pulumi.ToStringMap(tenantdLabels)}
}

// workload creates the Kubernetes side: the namespace under the restricted
// Pod Security Standard, the service account (IRSA), the Secrets, the
// migrations Job before the Deployment, the NodePort Service, PDB, HPA and
// the network policies.
func (b *tenantServiceBuild) workload(repo *ecr.Repository, role *iam.Role) (*workloadPods, error) {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	sep := ":"
	if strings.HasPrefix(a.ImageTag, "sha256:") {
		sep = "@"
	}
	w := &workloadPods{a: a, image: pulumi.Sprintf("%s%s%s", repo.RepositoryUrl, sep, a.ImageTag)}

	var err error
	w.ns, err = corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(a.Namespace),
			// The restricted Pod Security Standard rejects any pod that
			// drops the hardening below.
			Labels: pulumi.StringMap{
				"pod-security.kubernetes.io/enforce": pulumi.String("restricted"),
				"pod-security.kubernetes.io/audit":   pulumi.String("restricted"),
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	w.sa, err = corev1.NewServiceAccount(ctx, name, &corev1.ServiceAccountArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(a.ServiceAccountName), Namespace: w.ns.Metadata.Name(), Labels: pulumi.ToStringMap(tenantdLabels),
			Annotations: pulumi.StringMap{"eks.amazonaws.com/role-arn": role.Arn},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	secret, bootstrapSecret, err := b.secrets(w)
	if err != nil {
		return nil, err
	}

	w.env = corev1.EnvVarArray{
		envVar("REDIS_ADDR", pulumi.Sprintf("%s:6379", a.RedisHost)),
		envVar("REDIS_TLS", pulumi.String("true")),
		envVar("LISTEN_ADDR", pulumi.Sprintf(":%d", a.ContainerPort)),
		envVar("SNS_TOPIC_ARN", a.AlertsTopicArn),
		envVar("LOG_LEVEL", pulumi.String("info")),
		envVar("AWS_REGION", pulumi.String(a.Region)),
	}
	w.envFrom = corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{
		SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()},
	}}

	migrateSpec := w.spec(w.container([]string{"/usr/local/bin/tenantd", "migrate", "-workers", "4"}, nil), "Never")
	bootstrap := hardenedContainer(pulumi.String(PostgresClientImage), []string{"sh", "-c", BootstrapScript}, nil,
		corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: bootstrapSecret.Metadata.Name()}}}, a)
	bootstrap.Name = pulumi.String("bootstrap-role")
	bootstrap.Env = corev1.EnvVarArray{envVar("HOME", pulumi.String("/tmp")), envVar("DATABASE_NAME", a.DatabaseName)}
	migrateSpec.InitContainers = corev1.ContainerArray{bootstrap}
	migrateSpec.Volumes = corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}}
	bootstrap.VolumeMounts = corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}}

	// Migrations run once per image: the Job's spec changes with the image,
	// so Pulumi replaces it and waits for it before rolling the Deployment.
	migrate, err := batchv1.NewJob(ctx, name+"-migrate", &batchv1.JobArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: w.ns.Metadata.Name(), Labels: pulumi.ToStringMap(tenantdLabels)},
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(3),
			ActiveDeadlineSeconds: pulumi.Int(1800),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String("tenantd-migrate")}},
				Spec:     migrateSpec,
			},
		},
	}, parent, pulumi.ReplaceOnChanges([]string{"spec"}), pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, err
	}

	whenUnsatisfiable := "ScheduleAnyway"
	if a.SpreadStrictly {
		whenUnsatisfiable = "DoNotSchedule"
	}
	selector := &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(tenantdLabels)}
	// Only the serving container gets the HTTP port and the probes.
	serve := w.spec(withHTTPProbes(w.container([]string{"/usr/local/bin/tenantd", "serve"}, nil), a.ContainerPort), "Always")
	serve.TopologySpreadConstraints = corev1.TopologySpreadConstraintArray{
		&corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String("topology.kubernetes.io/zone"),
			WhenUnsatisfiable: pulumi.String(whenUnsatisfiable), LabelSelector: selector,
		},
		&corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String("kubernetes.io/hostname"),
			WhenUnsatisfiable: pulumi.String("ScheduleAnyway"), LabelSelector: selector,
		},
	}
	serve.TerminationGracePeriodSeconds = pulumi.Int(30)
	deployment, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: w.meta("tenantd"),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(a.MinReplicas),
			Selector: selector,
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type: pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{
					MaxUnavailable: pulumi.Int(0), MaxSurge: pulumi.Int(1),
				},
			},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(tenantdLabels)},
				Spec:     serve,
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{migrate}),
		// The autoscaler owns the replica count after the first deploy.
		pulumi.IgnoreChanges([]string{"spec.replicas"}))
	if err != nil {
		return nil, err
	}

	if _, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: w.meta("tenantd"),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("NodePort"),
			Selector: pulumi.ToStringMap(tenantdLabels),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(80),
				TargetPort: pulumi.Int(a.ContainerPort), NodePort: pulumi.Int(a.NodePort), Protocol: pulumi.String("TCP"),
			}},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{deployment})); err != nil {
		return nil, err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: w.meta("tenantd"),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MinAvailable: pulumi.Int(1),
			Selector:     selector,
		},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, name, &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: w.meta("tenantd"),
		Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
			ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
				ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: deployment.Metadata.Name().Elem(),
			},
			MinReplicas: pulumi.Int(a.MinReplicas),
			MaxReplicas: pulumi.Int(a.MaxReplicas),
			Metrics: autoscalingv2.MetricSpecArray{&autoscalingv2.MetricSpecArgs{
				Type: pulumi.String("Resource"),
				Resource: &autoscalingv2.ResourceMetricSourceArgs{
					Name:   pulumi.String("cpu"),
					Target: &autoscalingv2.MetricTargetArgs{Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(70)},
				},
			}},
		},
	}, parent); err != nil {
		return nil, err
	}
	if err := newNetworkPolicies(ctx, name, w.ns, a, parent); err != nil {
		return nil, err
	}
	return w, nil
}

// secrets creates the admin token and tenantd's database password, and the
// two Kubernetes Secrets: the service's (its database URL as its own role,
// the Redis AUTH token, the admin token, the optional heartbeat and Stripe
// secrets) and the bootstrap step's (the master credentials).
func (b *tenantServiceBuild) secrets(w *workloadPods) (secret, bootstrap *corev1.Secret, err error) {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	adminToken, err := random.NewRandomPassword(ctx, name+"-admin-token", &random.RandomPasswordArgs{
		Length: pulumi.Int(48), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	w.adminToken = adminToken.Result
	// tenantd logs in as its own NOINHERIT role (it refuses a superuser);
	// the migrations Job's bootstrap step creates that role with the master
	// credentials, which only that step ever sees.
	appPassword, err := random.NewRandomPassword(ctx, name+"-db-password", &random.RandomPasswordArgs{
		Length: pulumi.Int(40), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	// The master credentials are read from Secrets Manager at deploy time
	// into a Kubernetes Secret (encrypted by the cluster's KMS key); after
	// RDS rotates them the next `pulumi up` picks up the new version
	// (docs/runbooks/rotate-secrets.md).
	dbSecret := secretsmanager.LookupSecretVersionOutput(ctx, secretsmanager.LookupSecretVersionOutputArgs{
		SecretId: a.DatabaseSecretArn,
	}, parent)
	masterURL := pulumi.All(dbSecret.SecretString(), a.DatabaseHost, a.DatabaseName).ApplyT(func(v []any) (string, error) {
		var creds struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := jsonUnmarshal(v[0].(string), &creds); err != nil {
			return "", fmt.Errorf("database secret: %w", err)
		}
		return postgresURL(creds.Username, creds.Password, v[1].(string), v[2].(string)), nil
	}).(pulumi.StringOutput)
	appURL := pulumi.All(appPassword.Result, a.DatabaseHost, a.DatabaseName).ApplyT(func(v []any) (string, error) {
		return postgresURL(ServiceDatabaseRole, v[0].(string), v[1].(string), v[2].(string)), nil
	}).(pulumi.StringOutput)
	secretData := pulumi.StringMap{
		"DATABASE_URL":   pulumi.ToSecret(appURL).(pulumi.StringOutput),
		"REDIS_PASSWORD": pulumi.ToSecret(a.RedisAuthToken).(pulumi.StringOutput),
		"ADMIN_TOKEN":    adminToken.Result,
	}
	if a.HeartbeatURL != nil {
		secretData["HEARTBEAT_URL"] = pulumi.ToSecret(a.HeartbeatURL).(pulumi.StringOutput)
	}
	if a.StripeWebhookSecret != nil {
		secretData["STRIPE_WEBHOOK_SECRET"] = pulumi.ToSecret(a.StripeWebhookSecret).(pulumi.StringOutput)
	}
	secret, err = corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata:   w.meta("tenantd"),
		Type:       pulumi.String("Opaque"),
		StringData: secretData,
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	bootstrap, err = corev1.NewSecret(ctx, name+"-bootstrap", &corev1.SecretArgs{
		Metadata: w.meta("tenantd-bootstrap"),
		Type:     pulumi.String("Opaque"),
		StringData: pulumi.StringMap{
			"MASTER_DATABASE_URL": pulumi.ToSecret(masterURL).(pulumi.StringOutput),
			"TENANTD_DB_PASSWORD": appPassword.Result,
		},
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	return secret, bootstrap, nil
}

// costReport creates the daily cost report CronJob (service/cmd/costreport)
// with the stack facts it reports against.
func (b *tenantServiceBuild) costReport(w *workloadPods) error {
	a := b.a
	report := w.spec(w.container([]string{"/usr/local/bin/costreport"}, corev1.EnvVarArray{
		envVar("STACK", pulumi.String(a.Stack)),
		envVar("ENVIRONMENT", pulumi.String(a.Environment)),
		envVar("MONTHLY_BUDGET_USD", pulumi.Sprintf("%.2f", a.BudgetUSD)),
		envVar("ESTIMATE_USD", pulumi.Sprintf("%.2f", a.EstimateUSD)),
		envVar("CEILING_USD", pulumi.Sprintf("%.2f", a.CeilingUSD)),
		envVar("ALERTS_TOPIC_ARN", a.AlertsTopicArn),
	}), "OnFailure")
	_, err := batchv1.NewCronJob(b.ctx, b.name+"-cost-report", &batchv1.CronJobArgs{
		Metadata: w.meta("cost-report"),
		Spec: &batchv1.CronJobSpecArgs{
			Schedule:                   pulumi.String(a.CostReportSchedule),
			TimeZone:                   pulumi.String("Etc/UTC"),
			ConcurrencyPolicy:          pulumi.String("Forbid"),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(3),
			JobTemplate: &batchv1.JobTemplateSpecArgs{
				Spec: &batchv1.JobSpecArgs{
					BackoffLimit: pulumi.Int(2),
					Template: &corev1.PodTemplateSpecArgs{
						Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String("cost-report")}},
						Spec:     report,
					},
				},
			},
		},
	}, b.parent)
	return err
}

// hardenedContainer is the one container shape every pod of the service
// uses: non-root, read-only root, no privilege escalation, no capabilities.
func hardenedContainer(image pulumi.StringInput, command []string, env corev1.EnvVarArray, envFrom corev1.EnvFromSourceArray, a TenantServiceArgs) *corev1.ContainerArgs {
	return &corev1.ContainerArgs{
		Name:    pulumi.String("tenantd"),
		Image:   image,
		Command: pulumi.ToStringArray(command),
		Env:     env,
		EnvFrom: envFrom,
		Resources: &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String(a.CPURequest), "memory": pulumi.String(a.MemoryRequest)},
			Limits:   pulumi.StringMap{"cpu": pulumi.String(a.CPULimit), "memory": pulumi.String(a.MemoryLimit)},
		},
		SecurityContext: &corev1.SecurityContextArgs{
			RunAsNonRoot:             pulumi.Bool(true),
			ReadOnlyRootFilesystem:   pulumi.Bool(true),
			AllowPrivilegeEscalation: pulumi.Bool(false),
			Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
			SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
	}
}

// withHTTPProbes makes c the serving container: its HTTP port, readiness on
// /readyz and liveness on /healthz. Only the Deployment's container serves;
// the migrations Job and the cost report run to completion and get none.
func withHTTPProbes(c *corev1.ContainerArgs, port int) *corev1.ContainerArgs {
	c.Ports = corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(port)}}
	probe := func(path string, period int) *corev1.ProbeArgs {
		return &corev1.ProbeArgs{
			HttpGet:          &corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.String("http")},
			PeriodSeconds:    pulumi.Int(period),
			TimeoutSeconds:   pulumi.Int(2),
			FailureThreshold: pulumi.Int(3),
		}
	}
	c.ReadinessProbe = probe("/readyz", 5)
	c.LivenessProbe = probe("/healthz", 10)
	return c
}

// newNetworkPolicies denies all traffic in the namespace, then allows what
// the service needs: HTTP in from the VPC (load balancer via node ports),
// DNS, PostgreSQL and Redis in the database subnets, HTTPS out (AWS APIs
// through NAT, the uptime heartbeat).
func newNetworkPolicies(ctx *pulumi.Context, name string, ns *corev1.Namespace, a TenantServiceArgs, opts ...pulumi.ResourceOption) error {
	nsName := ns.Metadata.Name()
	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-default-deny", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("default-deny"), Namespace: nsName},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
		},
	}, opts...); err != nil {
		return err
	}
	tcp := func(port int) *networkingv1.NetworkPolicyPortArgs {
		return &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(port)}
	}
	var dbPeers networkingv1.NetworkPolicyPeerArray
	for _, c := range a.DatabaseCIDRs {
		dbPeers = append(dbPeers, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
	}
	_, err := networkingv1.NewNetworkPolicy(ctx, name+"-allow", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("tenantd-allow"), Namespace: nsName},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("platform")}},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
			Ingress: networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
				From:  networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(a.VpcCIDR)}}},
				Ports: networkingv1.NetworkPolicyPortArray{tcp(a.ContainerPort)},
			}},
			Egress: networkingv1.NetworkPolicyEgressRuleArray{
				&networkingv1.NetworkPolicyEgressRuleArgs{
					To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
						NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String("kube-system")}},
						PodSelector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"k8s-app": pulumi.String("kube-dns")}},
					}},
					Ports: networkingv1.NetworkPolicyPortArray{
						&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)}, tcp(53),
					},
				},
				&networkingv1.NetworkPolicyEgressRuleArgs{To: dbPeers, Ports: networkingv1.NetworkPolicyPortArray{tcp(5432), tcp(6379)}},
				&networkingv1.NetworkPolicyEgressRuleArgs{
					To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{
						Cidr: pulumi.String("0.0.0.0/0"), Except: pulumi.StringArray{pulumi.String(a.VpcCIDR)},
					}}},
					Ports: networkingv1.NetworkPolicyPortArray{tcp(443)},
				},
			},
		},
	}, opts...)
	return err
}

func envVar(name string, value pulumi.StringInput) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{Name: pulumi.String(name), Value: value}
}

// postgresURL builds a connection string. TLS is required server-side
// (rds.force_ssl); verify-full would need the RDS CA bundle in the image.
func postgresURL(user, password, host, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: host + ":5432", Path: "/" + db, RawQuery: "sslmode=require"}
	return u.String()
}
