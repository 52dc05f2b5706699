package components

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
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
	// Data stores: the DB endpoint and its master secret in Secrets Manager
	// (only the bootstrap Job reads it, at run time, under its own role),
	// the Redis endpoint and AUTH token (secret). Required.
	DatabaseHost      pulumi.StringInput
	DatabaseName      pulumi.StringInput
	DatabaseSecretArn pulumi.StringInput
	DatabaseKmsKeyArn pulumi.StringInput
	RedisHost         pulumi.StringInput
	RedisAuthToken    pulumi.StringInput
	// AlertsTopicArn is where the cost report publishes. Required.
	AlertsTopicArn pulumi.StringInput
	// BreakerTopicArns are the topics whose budget alerts set the service's
	// breaker (SNS_TOPIC_ARN); default: AlertsTopicArn only. BudgetName
	// (SNS_BUDGET_NAME), when set, is the only budget they count for.
	BreakerTopicArns pulumi.StringArrayInput
	BudgetName       string
	// HeartbeatURL (secret, optional) is the BetterStack heartbeat the
	// service pings while ready. StripeWebhookSecret is optional too.
	HeartbeatURL        pulumi.StringInput
	StripeWebhookSecret pulumi.StringInput
	// StripePriceTiers is tenantd's STRIPE_PRICE_TIERS (price_id=tier,...);
	// required with StripeWebhookSecret: tenantd refuses to start with one
	// and not the other.
	StripePriceTiers string
	// Stack facts the daily cost report needs.
	Stack, Environment        string
	BudgetUSD, EstimateUSD    float64
	CeilingUSD                float64
	ProtectLoadBalancer       bool   // deletion protection on the ALB (prod)
	CostReportSchedule        string // cron, UTC; default "0 7 * * *"
	Region                    string // for the cost report's AWS clients; required
	ServiceAccountName        string // tenantd's (server, migrations); default "tenantd"
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
	if out.BreakerTopicArns == nil && out.AlertsTopicArn != nil {
		out.BreakerTopicArns = pulumi.StringArray{out.AlertsTopicArn}
	}
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
	case (out.StripeWebhookSecret != nil) != (out.StripePriceTiers != ""):
		return out, fmt.Errorf("TenantServiceArgs.StripeWebhookSecret and StripePriceTiers: set both or neither (tenantd needs the price map to act on Stripe events)")
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
	if _, err := goMemLimit(out.MemoryLimit); err != nil {
		return out, fmt.Errorf("TenantServiceArgs.MemoryLimit: %w", err)
	}
	return out, nil
}

// TenantService is the tenant provisioning service on EKS: image registry,
// the public load balancer on 443, and the Kubernetes workload: a bootstrap
// Job (tenantd's database role), the migrations Job, the Deployment with its
// Service, PDB and HPA, the daily cost report CronJob, and a default-deny
// network with one allow policy per workload. Each workload runs under its
// own service account; only the two that call AWS have an IRSA role.
type TenantService struct {
	pulumi.ResourceState

	RepositoryURL pulumi.StringOutput `pulumi:"repositoryUrl"`
	// BootstrapRoleArn may read the RDS master secret (bootstrap Job only);
	// CostReportRoleArn reads Cost Explorer and publishes the report.
	BootstrapRoleArn  pulumi.StringOutput `pulumi:"bootstrapRoleArn"`
	CostReportRoleArn pulumi.StringOutput `pulumi:"costReportRoleArn"`
	LoadBalancerDNS   pulumi.StringOutput `pulumi:"loadBalancerDns"`
	LoadBalancerArn   pulumi.StringOutput `pulumi:"loadBalancerArn"`
	TargetGroupArn    pulumi.StringOutput `pulumi:"targetGroupArn"`
	// ArnSuffixes are the CloudWatch dimensions of the two.
	LoadBalancerArnSuffix pulumi.StringOutput `pulumi:"loadBalancerArnSuffix"`
	TargetGroupArnSuffix  pulumi.StringOutput `pulumi:"targetGroupArnSuffix"`
	// LoadBalancerZoneID is the load balancer's Route 53 zone (alias target).
	LoadBalancerZoneID pulumi.StringOutput `pulumi:"loadBalancerZoneId"`
	// Serving are what must exist before anything calls the service by its
	// public name: the HTTPS listener and the Deployment (Pulumi waits for
	// its pods to be ready).
	Serving []pulumi.Resource
	// AdminToken is the service's admin bearer token (secret).
	AdminToken pulumi.StringOutput `pulumi:"adminToken"`
}

// ServiceDatabaseRole is the PostgreSQL login role of tenantd.
const ServiceDatabaseRole = "tenantd"

// The workloads of the namespace: each is its own component label, its own
// service account and its own network policy.
const (
	ComponentServer     = "server"
	ComponentBootstrap  = "bootstrap"
	ComponentMigrate    = "migrate"
	ComponentCostReport = "cost-report"

	// BootstrapServiceAccount and CostReportServiceAccount are the IRSA
	// identities; tenantd's own (server, migrations) has no AWS access.
	BootstrapServiceAccount  = "tenantd-bootstrap"
	CostReportServiceAccount = "cost-report"
)

// Label keys (Kubernetes recommended labels).
const (
	labelName      = "app.kubernetes.io/name"
	labelComponent = "app.kubernetes.io/component"
	labelPartOf    = "app.kubernetes.io/part-of"
)

// objectLabels are on every object; podLabels add the workload component,
// which selectors, the Service and the network policies key on.
func objectLabels(app string) pulumi.StringMap {
	return pulumi.StringMap{labelName: pulumi.String(app), labelPartOf: pulumi.String("platform")}
}

func podLabels(app, component string) pulumi.StringMap {
	l := objectLabels(app)
	l[labelComponent] = pulumi.String(component)
	return l
}

// NewTenantService creates a TenantService in named steps, in the order the
// pieces depend on each other: the image repository, the load balancer, the
// namespace and its network policies, the identities, the Secrets, the
// bootstrap and migrations Jobs, the serving Deployment (Service, PDB, HPA)
// and the daily cost report.
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
	alb, tg, listener, err := b.loadBalancer()
	if err != nil {
		return nil, err
	}
	w, err := b.namespace(repo)
	if err != nil {
		return nil, err
	}
	if err := b.networkPolicies(w); err != nil {
		return nil, err
	}
	bootstrapRole, err := b.bootstrapRole()
	if err != nil {
		return nil, err
	}
	reportRole, err := b.costReportRole()
	if err != nil {
		return nil, err
	}
	if err := b.secrets(w); err != nil {
		return nil, err
	}
	migrated, err := b.jobs(w, bootstrapRole)
	if err != nil {
		return nil, err
	}
	deployment, err := b.server(w, migrated)
	if err != nil {
		return nil, err
	}
	if err := b.costReport(w, reportRole); err != nil {
		return nil, err
	}

	s.RepositoryURL = repo.RepositoryUrl
	s.BootstrapRoleArn = bootstrapRole.Arn
	s.CostReportRoleArn = reportRole.Arn
	s.LoadBalancerDNS = alb.DnsName
	s.LoadBalancerArn = alb.Arn
	s.TargetGroupArn = tg.Arn
	s.LoadBalancerArnSuffix = alb.ArnSuffix
	s.TargetGroupArnSuffix = tg.ArnSuffix
	s.LoadBalancerZoneID = alb.ZoneId
	s.Serving = []pulumi.Resource{listener, deployment}
	s.AdminToken = w.adminToken
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"repositoryUrl":         s.RepositoryURL,
		"bootstrapRoleArn":      s.BootstrapRoleArn,
		"costReportRoleArn":     s.CostReportRoleArn,
		"loadBalancerDns":       s.LoadBalancerDNS,
		"loadBalancerArn":       s.LoadBalancerArn,
		"targetGroupArn":        s.TargetGroupArn,
		"loadBalancerArnSuffix": s.LoadBalancerArnSuffix,
		"targetGroupArnSuffix":  s.TargetGroupArnSuffix,
		"loadBalancerZoneId":    s.LoadBalancerZoneID,
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

// irsaRole creates an IAM role only the given service account of this
// namespace may assume (IRSA: the cluster's OIDC issuer, exact sub and aud),
// with the inline policy built from the resolved inputs.
func (b *tenantServiceBuild) irsaRole(suffix, serviceAccount, description string, inputs []any,
	policy func(v []any) []any) (*iam.Role, error) {
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
					issuer + ":sub": "system:serviceaccount:" + a.Namespace + ":" + serviceAccount,
					issuer + ":aud": "sts.amazonaws.com",
				}},
			}},
		})
	}).(pulumi.StringOutput)
	role, err := iam.NewRole(ctx, name+"-"+suffix, &iam.RoleArgs{
		Description:      pulumi.String(description),
		AssumeRolePolicy: trust,
	}, parent)
	if err != nil {
		return nil, err
	}
	doc := pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		return jsonString(map[string]any{"Version": "2012-10-17", "Statement": policy(v)})
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name+"-"+suffix, &iam.RolePolicyArgs{Role: role.ID(), Policy: doc}, parent); err != nil {
		return nil, err
	}
	return role, nil
}

// bootstrapRole may read the RDS-managed master secret and nothing else:
// only the bootstrap Job's service account can assume it, so the
// long-running tenantd pods can never see rds_superuser credentials.
func (b *tenantServiceBuild) bootstrapRole() (*iam.Role, error) {
	a := b.a
	return b.irsaRole("bootstrap", BootstrapServiceAccount, "tenantd bootstrap Job (IRSA): reads the RDS master secret",
		[]any{a.DatabaseSecretArn, a.DatabaseKmsKeyArn}, func(v []any) []any {
			return []any{
				map[string]any{"Sid": "ReadMasterSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": v[0]},
				map[string]any{"Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": v[1],
					"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + a.Region + ".amazonaws.com"}}},
			}
		})
}

// costReportRole reads Cost Explorer (no resource-level permissions exist
// for it) and publishes the report to the alerts topic.
func (b *tenantServiceBuild) costReportRole() (*iam.Role, error) {
	return b.irsaRole("cost-report", CostReportServiceAccount, "daily cost report CronJob (IRSA): Cost Explorer, alerts topic",
		[]any{b.a.AlertsTopicArn}, func(v []any) []any {
			return []any{
				map[string]any{"Sid": "ReadCosts", "Effect": "Allow", "Action": "ce:GetCostAndUsage", "Resource": "*"},
				map[string]any{"Sid": "PublishReport", "Effect": "Allow", "Action": "sns:Publish", "Resource": v[0]},
			}
		})
}

// loadBalancer creates the internet-facing ALB: 443 only, TLS 1.2+, to the
// nodes' service port (the node group's autoscaling group is its target);
// /metrics is never served to the internet.
func (b *tenantServiceBuild) loadBalancer() (*lb.LoadBalancer, *lb.TargetGroup, *lb.Listener, error) {
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
		return nil, nil, nil, err
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
		return nil, nil, nil, err
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
		return nil, nil, nil, err
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
		return nil, nil, nil, err
	}
	if _, err := autoscaling.NewAttachment(ctx, name, &autoscaling.AttachmentArgs{
		AutoscalingGroupName: a.NodeASGName,
		LbTargetGroupArn:     tg.Arn,
	}, parent); err != nil {
		return nil, nil, nil, err
	}
	return alb, tg, listener, nil
}

// workloadPods is what every pod of the service shares: the image, the
// namespace and tenantd's environment (plain and from its Secret).
type workloadPods struct {
	a          TenantServiceArgs
	image      pulumi.StringOutput
	ns         *corev1.Namespace
	env        corev1.EnvVarArray
	envFrom    corev1.EnvFromSourceArray
	adminToken pulumi.StringOutput
	// bootstrapSecret holds the password the bootstrap Job gives tenantd's role.
	bootstrapSecret *corev1.Secret
}

// container is a hardened container running command with env.
func (w *workloadPods) container(command []string, env corev1.EnvVarArray, envFrom corev1.EnvFromSourceArray) *corev1.ContainerArgs {
	return hardenedContainer(w.image, command, env, envFrom, w.a)
}

// tenantdContainer runs tenantd with its own environment.
func (w *workloadPods) tenantdContainer(args ...string) *corev1.ContainerArgs {
	return w.container(append([]string{"/usr/local/bin/tenantd"}, args...), w.env, w.envFrom)
}

// pod is the pod template around one container: labels, the service
// account, non-root with the runtime's seccomp profile.
func (w *workloadPods) pod(app, component, serviceAccount string, c *corev1.ContainerArgs, restart string) *corev1.PodTemplateSpecArgs {
	return &corev1.PodTemplateSpecArgs{
		Metadata: &metav1.ObjectMetaArgs{Labels: podLabels(app, component)},
		Spec: &corev1.PodSpecArgs{
			ServiceAccountName: pulumi.String(serviceAccount),
			// Only the bootstrap and cost report pods call AWS; the others
			// get no service account token at all.
			AutomountServiceAccountToken: pulumi.Bool(serviceAccount != w.a.ServiceAccountName),
			RestartPolicy:                pulumi.String(restart),
			SecurityContext: &corev1.PodSecurityContextArgs{
				RunAsNonRoot:   pulumi.Bool(true),
				RunAsUser:      pulumi.Int(65532),
				RunAsGroup:     pulumi.Int(65532),
				SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
			},
			Containers: corev1.ContainerArray{c},
		},
	}
}

// meta names an object of the service in its namespace.
func (w *workloadPods) meta(objName, app string) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Name: pulumi.String(objName), Namespace: w.ns.Metadata.Name(), Labels: objectLabels(app)}
}

// namespace creates the namespace under the restricted Pod Security
// Standard and the workloads' service accounts.
func (b *tenantServiceBuild) namespace(repo *ecr.Repository) (*workloadPods, error) {
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
	return w, err
}

// serviceAccount creates one workload's identity; role, when set, is the
// IRSA role it may assume.
func (b *tenantServiceBuild) serviceAccount(w *workloadPods, saName, app string, role *iam.Role) error {
	meta := w.meta(saName, app)
	if role != nil {
		meta.Annotations = pulumi.StringMap{"eks.amazonaws.com/role-arn": role.Arn}
	}
	resourceName := b.name // tenantd's own keeps the component's name
	if saName != b.a.ServiceAccountName {
		resourceName += "-" + strings.TrimPrefix(saName, "tenantd-")
	}
	_, err := corev1.NewServiceAccount(b.ctx, resourceName, &corev1.ServiceAccountArgs{
		Metadata:                     meta,
		AutomountServiceAccountToken: pulumi.Bool(role != nil),
	}, b.parent)
	return err
}

// secrets creates the admin token and tenantd's database password, and the
// two Kubernetes Secrets: the service's (its database URL as its own role,
// the Redis AUTH token, the admin token, the optional heartbeat and Stripe
// secrets) and the bootstrap Job's (the password it gives that role). The
// master credentials are in neither: the bootstrap Job reads them from
// Secrets Manager at run time.
func (b *tenantServiceBuild) secrets(w *workloadPods) error {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	adminToken, err := random.NewRandomPassword(ctx, name+"-admin-token", &random.RandomPasswordArgs{
		Length: pulumi.Int(48), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return err
	}
	w.adminToken = adminToken.Result
	// tenantd logs in as its own NOINHERIT role (it refuses a superuser).
	appPassword, err := random.NewRandomPassword(ctx, name+"-db-password", &random.RandomPasswordArgs{
		Length: pulumi.Int(40), Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return err
	}
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
	secret, err := corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata:   w.meta("tenantd", "tenantd"),
		Type:       pulumi.String("Opaque"),
		StringData: secretData,
	}, parent)
	if err != nil {
		return err
	}
	w.bootstrapSecret, err = corev1.NewSecret(ctx, name+"-bootstrap", &corev1.SecretArgs{
		Metadata:   w.meta("tenantd-bootstrap", "tenantd"),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{"SERVICE_ROLE_PASSWORD": appPassword.Result},
	}, parent)
	if err != nil {
		return err
	}

	w.env = corev1.EnvVarArray{
		envVar("REDIS_ADDR", pulumi.Sprintf("%s:6379", a.RedisHost)),
		envVar("REDIS_TLS", pulumi.String("true")),
		envVar("LISTEN_ADDR", pulumi.Sprintf(":%d", a.ContainerPort)),
		envVar("SNS_TOPIC_ARN", a.BreakerTopicArns.ToStringArrayOutput().ApplyT(func(arns []string) string { return strings.Join(arns, ",") }).(pulumi.StringOutput)),
		envVar("LOG_LEVEL", pulumi.String("info")),
		// One proxy in front: the ALB appends the client's address to
		// X-Forwarded-For; per-address limits key on it.
		envVar("TRUSTED_PROXY_HOPS", pulumi.String("1")),
	}
	if a.StripePriceTiers != "" {
		w.env = append(w.env, envVar("STRIPE_PRICE_TIERS", pulumi.String(a.StripePriceTiers)))
	}
	if a.BudgetName != "" {
		w.env = append(w.env, envVar("SNS_BUDGET_NAME", pulumi.String(a.BudgetName)))
	}
	w.envFrom = corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{
		SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()},
	}}
	return nil
}

// jobs creates the two deploy-time Jobs and returns the last: the bootstrap
// Job (tenantd bootstrap, under the bootstrap identity) converges tenantd's
// database role, then the migrations Job (tenantd migrate, as tenantd)
// brings every tenant schema up. Both run once per image: the spec changes
// with the image, so Pulumi replaces each and waits for it.
func (b *tenantServiceBuild) jobs(w *workloadPods, bootstrapRole *iam.Role) (*batchv1.Job, error) {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	if err := b.serviceAccount(w, a.ServiceAccountName, "tenantd", nil); err != nil {
		return nil, err
	}
	if err := b.serviceAccount(w, BootstrapServiceAccount, "tenantd", bootstrapRole); err != nil {
		return nil, err
	}
	bootstrapEnv := corev1.EnvVarArray{
		envVar("MASTER_SECRET_ARN", a.DatabaseSecretArn),
		envVar("DATABASE_HOST", a.DatabaseHost),
		envVar("DATABASE_NAME", a.DatabaseName),
		envVar("SERVICE_ROLE", pulumi.String(ServiceDatabaseRole)),
		envVar("DATABASE_SSLMODE", pulumi.String("require")),
		envVar("AWS_REGION", pulumi.String(a.Region)),
	}
	bootstrapFrom := corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{
		SecretRef: &corev1.SecretEnvSourceArgs{Name: w.bootstrapSecret.Metadata.Name()},
	}}
	job := func(suffix, component, serviceAccount string, c *corev1.ContainerArgs, deps []pulumi.Resource) (*batchv1.Job, error) {
		return batchv1.NewJob(ctx, name+"-"+suffix, &batchv1.JobArgs{
			Metadata: &metav1.ObjectMetaArgs{Namespace: w.ns.Metadata.Name(), Labels: objectLabels("tenantd")},
			Spec: &batchv1.JobSpecArgs{
				BackoffLimit:          pulumi.Int(3),
				ActiveDeadlineSeconds: pulumi.Int(1800),
				Template:              w.pod("tenantd", component, serviceAccount, c, "Never"),
			},
		}, parent, pulumi.ReplaceOnChanges([]string{"spec"}), pulumi.DeleteBeforeReplace(true), pulumi.DependsOn(deps))
	}
	bootstrap, err := job("bootstrap", ComponentBootstrap, BootstrapServiceAccount,
		w.container([]string{"/usr/local/bin/tenantd", "bootstrap"}, bootstrapEnv, bootstrapFrom), nil)
	if err != nil {
		return nil, err
	}
	return job("migrate", ComponentMigrate, a.ServiceAccountName, w.tenantdContainer("migrate", "-workers", "4"), []pulumi.Resource{bootstrap})
}

// server creates the serving Deployment after the migrations, its NodePort
// Service, PDB and HPA.
func (b *tenantServiceBuild) server(w *workloadPods, migrated *batchv1.Job) (*appsv1.Deployment, error) {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	whenUnsatisfiable := "ScheduleAnyway"
	if a.SpreadStrictly {
		whenUnsatisfiable = "DoNotSchedule"
	}
	// The component label keeps the Jobs' pods out of the Service, the
	// PDB and the spread accounting.
	serverLabels := podLabels("tenantd", ComponentServer)
	selector := &metav1.LabelSelectorArgs{MatchLabels: serverLabels}
	// Only the serving container gets the HTTP port and the probes.
	template := w.pod("tenantd", ComponentServer, a.ServiceAccountName, withHTTPProbes(w.tenantdContainer("serve"), a.ContainerPort), "Always")
	spec := template.Spec.(*corev1.PodSpecArgs)
	spec.TopologySpreadConstraints = corev1.TopologySpreadConstraintArray{
		&corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String("topology.kubernetes.io/zone"),
			WhenUnsatisfiable: pulumi.String(whenUnsatisfiable), LabelSelector: selector,
		},
		&corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String("kubernetes.io/hostname"),
			WhenUnsatisfiable: pulumi.String("ScheduleAnyway"), LabelSelector: selector,
		},
	}
	spec.TerminationGracePeriodSeconds = pulumi.Int(30)
	deployment, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: w.meta("tenantd", "tenantd"),
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(a.MinReplicas),
			Selector: selector,
			Strategy: &appsv1.DeploymentStrategyArgs{
				Type: pulumi.String("RollingUpdate"),
				RollingUpdate: &appsv1.RollingUpdateDeploymentArgs{
					MaxUnavailable: pulumi.Int(0), MaxSurge: pulumi.Int(1),
				},
			},
			Template: template,
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{migrated}),
		// The autoscaler owns the replica count after the first deploy.
		pulumi.IgnoreChanges([]string{"spec.replicas"}))
	if err != nil {
		return nil, err
	}

	if _, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: w.meta("tenantd", "tenantd"),
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("NodePort"),
			Selector: serverLabels,
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Port: pulumi.Int(80),
				TargetPort: pulumi.Int(a.ContainerPort), NodePort: pulumi.Int(a.NodePort), Protocol: pulumi.String("TCP"),
			}},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{deployment})); err != nil {
		return nil, err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: w.meta("tenantd", "tenantd"),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MinAvailable: pulumi.Int(1),
			Selector:     selector,
		},
	}, parent); err != nil {
		return nil, err
	}
	_, err = autoscalingv2.NewHorizontalPodAutoscaler(ctx, name, &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: w.meta("tenantd", "tenantd"),
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
	}, parent)
	return deployment, err
}

// costReport creates the daily cost report CronJob (service/cmd/costreport)
// under its own identity, with the stack facts it reports against.
func (b *tenantServiceBuild) costReport(w *workloadPods, role *iam.Role) error {
	a := b.a
	if err := b.serviceAccount(w, CostReportServiceAccount, "cost-report", role); err != nil {
		return err
	}
	c := w.container([]string{"/usr/local/bin/costreport"}, corev1.EnvVarArray{
		envVar("STACK", pulumi.String(a.Stack)),
		envVar("ENVIRONMENT", pulumi.String(a.Environment)),
		envVar("MONTHLY_BUDGET_USD", pulumi.Sprintf("%.2f", a.BudgetUSD)),
		envVar("ESTIMATE_USD", pulumi.Sprintf("%.2f", a.EstimateUSD)),
		envVar("CEILING_USD", pulumi.Sprintf("%.2f", a.CeilingUSD)),
		envVar("ALERTS_TOPIC_ARN", a.AlertsTopicArn),
		envVar("AWS_REGION", pulumi.String(a.Region)),
	}, nil)
	_, err := batchv1.NewCronJob(b.ctx, b.name+"-cost-report", &batchv1.CronJobArgs{
		Metadata: w.meta("cost-report", "cost-report"),
		Spec: &batchv1.CronJobSpecArgs{
			Schedule:                   pulumi.String(a.CostReportSchedule),
			TimeZone:                   pulumi.String("Etc/UTC"),
			ConcurrencyPolicy:          pulumi.String("Forbid"),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(3),
			JobTemplate: &batchv1.JobTemplateSpecArgs{
				Spec: &batchv1.JobSpecArgs{
					BackoffLimit: pulumi.Int(2),
					Template:     w.pod("cost-report", ComponentCostReport, CostReportServiceAccount, c, "OnFailure"),
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
		// The Go runtime's soft limit below the container's hard one: the
		// GC works harder near it instead of the kernel killing the pod.
		Env:     append(corev1.EnvVarArray{envVar("GOMEMLIMIT", pulumi.String(mustGoMemLimit(a.MemoryLimit)))}, env...),
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

// WorkloadEgress is what each workload of the namespace needs, by component
// label: the server talks to PostgreSQL, Redis and HTTPS (heartbeat,
// confirming SNS subscriptions); the bootstrap Job to PostgreSQL and
// Secrets Manager/STS; the migrations Job to PostgreSQL only; the cost
// report to Cost Explorer, SNS and STS.
// HTTPS is TCP 443 anywhere outside the VPC, through NAT.
var WorkloadEgress = map[string]struct{ Postgres, Redis, HTTPS bool }{
	ComponentServer:     {Postgres: true, Redis: true, HTTPS: true},
	ComponentBootstrap:  {Postgres: true, HTTPS: true},
	ComponentMigrate:    {Postgres: true},
	ComponentCostReport: {HTTPS: true},
}

// networkPolicies denies all traffic in the namespace, then gives each
// workload exactly what WorkloadEgress says (and the server HTTP in from
// the VPC: the load balancer reaches pods through node ports). The vpc-cni
// add-on enforces them (enableNetworkPolicy), so a pod no allow policy
// selects gets no DNS: the guardrail k8s-workload-network refuses that.
func (b *tenantServiceBuild) networkPolicies(w *workloadPods) error {
	ctx, name, a, parent := b.ctx, b.name, b.a, b.parent
	nsName := w.ns.Metadata.Name()
	if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-default-deny", &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("default-deny"), Namespace: nsName},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")},
		},
	}, parent); err != nil {
		return err
	}
	tcp := func(port int) *networkingv1.NetworkPolicyPortArgs {
		return &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(port)}
	}
	var dbPeers networkingv1.NetworkPolicyPeerArray
	for _, c := range a.DatabaseCIDRs {
		dbPeers = append(dbPeers, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
	}
	apps := map[string]string{ComponentServer: "tenantd", ComponentBootstrap: "tenantd", ComponentMigrate: "tenantd", ComponentCostReport: "cost-report"}
	for _, component := range []string{ComponentServer, ComponentBootstrap, ComponentMigrate, ComponentCostReport} {
		needs := WorkloadEgress[component]
		rules := networkingv1.NetworkPolicyEgressRuleArray{&networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"kubernetes.io/metadata.name": pulumi.String("kube-system")}},
				PodSelector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"k8s-app": pulumi.String("kube-dns")}},
			}},
			Ports: networkingv1.NetworkPolicyPortArray{
				&networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("UDP"), Port: pulumi.Int(53)}, tcp(53),
			},
		}}
		var dbPorts networkingv1.NetworkPolicyPortArray
		if needs.Postgres {
			dbPorts = append(dbPorts, tcp(5432))
		}
		if needs.Redis {
			dbPorts = append(dbPorts, tcp(6379))
		}
		if len(dbPorts) > 0 {
			rules = append(rules, &networkingv1.NetworkPolicyEgressRuleArgs{To: dbPeers, Ports: dbPorts})
		}
		if needs.HTTPS {
			rules = append(rules, &networkingv1.NetworkPolicyEgressRuleArgs{
				To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{
					Cidr: pulumi.String("0.0.0.0/0"), Except: pulumi.StringArray{pulumi.String(a.VpcCIDR)},
				}}},
				Ports: networkingv1.NetworkPolicyPortArray{tcp(443)},
			})
		}
		spec := &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
				labelName: pulumi.String(apps[component]), labelComponent: pulumi.String(component),
			}},
			PolicyTypes: pulumi.StringArray{pulumi.String("Egress")},
			Egress:      rules,
		}
		if component == ComponentServer {
			spec.PolicyTypes = pulumi.StringArray{pulumi.String("Ingress"), pulumi.String("Egress")}
			spec.Ingress = networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
				From:  networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(a.VpcCIDR)}}},
				Ports: networkingv1.NetworkPolicyPortArray{tcp(a.ContainerPort)},
			}}
		}
		policyName := apps[component] + "-" + component
		if apps[component] == component {
			policyName = component
		}
		if _, err := networkingv1.NewNetworkPolicy(ctx, name+"-allow-"+component, &networkingv1.NetworkPolicyArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(policyName), Namespace: nsName},
			Spec:     spec,
		}, parent); err != nil {
			return err
		}
	}
	return nil
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

// goMemLimit is GOMEMLIMIT for a container memory limit ("512Mi", "1Gi"):
// 90 % of it, leaving the rest for the runtime's own overhead and stacks.
func goMemLimit(limit string) (string, error) {
	units := map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1e3, "M": 1e6, "G": 1e9}
	for _, suffix := range []string{"Ki", "Mi", "Gi", "K", "M", "G"} {
		if n, ok := strings.CutSuffix(limit, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v <= 0 {
				break
			}
			return fmt.Sprintf("%dMiB", v*units[suffix]*9/10>>20), nil
		}
	}
	return "", fmt.Errorf("%q is not a memory quantity like 512Mi or 1Gi", limit)
}

func mustGoMemLimit(limit string) string {
	v, err := goMemLimit(limit)
	if err != nil {
		panic(err) // withDefaults validated it
	}
	return v
}
