// Package stacks turns a stack's configuration into the platform: it loads
// and validates the typed config (this file), then composes the components
// (platform.go). Components never read config themselves.
package stacks

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/cost"
)

// Namespace is the config namespace of every key this program reads
// (the Pulumi project name).
const Namespace = "platform"

// Environments the program knows. Each one has its own defaults and its own
// policy enforcement levels.
const (
	EnvDev  = "dev"
	EnvProd = "prod"
)

// NAT strategies.
const (
	NATSingle = "single"
	NATPerAZ  = "per-az"
)

// Config is the typed configuration of one stack. DefaultConfig gives the
// values used for every key the stack file leaves out.
type Config struct {
	Project string // Pulumi project, from the engine
	Stack   string // Pulumi stack, from the engine

	Environment string // dev or prod: selects defaults and guardrail levels
	Region      string // AWS region
	// AccountID, when set, is the AWS account the stack must deploy into
	// (preflight and the placeholder check compare against it).
	AccountID string
	AZCount   int // availability zones used (3; dev may use 2)
	// ZoneIDs are availability zone IDs (use1-az1), not names: names map to
	// different physical zones in every account. Empty = look the zones up
	// at deploy time, skipping ExcludedZoneIDs.
	ZoneIDs []string
	// ExcludedZoneIDs are never chosen by the lookup and refused when
	// listed; the default is the zones EKS rejects for control-plane subnets.
	ExcludedZoneIDs []string
	VPCCidr         string
	NAT             string // single or per-az

	FlowLogRetentionDays int // VPC flow logs and other platform log groups

	ClusterVersion           string   // EKS Kubernetes version
	ClusterPublicAccessCIDRs []string // empty = private endpoint only
	ClusterAdminARNs         []string // IAM principals given cluster-admin via access entries
	NodeInstanceTypes        []string
	NodeMin                  int
	NodeDesired              int
	NodeMax                  int
	NodeDiskGB               int

	DBInstanceClass string
	// DBEngineVersion is a PostgreSQL major ("16": AWS applies minor
	// upgrades) or a major.minor pin, allowed only with auto upgrades off.
	DBEngineVersion         string
	DBAutoMinorUpgrade      bool
	DBAllocatedStorageGB    int
	DBMaxAllocatedStorageGB int
	DBBackupRetentionDays   int
	DBDeletionProtection    bool

	CacheNodeType              string
	CacheNodeCount             int
	CacheEngineVersion         string
	CacheSnapshotRetentionDays int
	// CacheAuthToken is the Redis AUTH token. Empty means "generate one"; when
	// set it must be a Pulumi secret.
	CacheAuthToken string

	ServicePort int // port the load balancer forwards to on the nodes

	ServiceImageTag     string   // tag or sha256: digest in the program's ECR repository
	ServiceMinReplicas  int      // autoscaler floor (prod >= 2)
	ServiceMaxReplicas  int      // autoscaler ceiling
	CertificateArn      string   // ACM certificate of the load balancer's 443 listener
	ServiceHostname     string   // public name of the service; enables the SNS -> breaker hook
	ServiceHostedZoneID string   // Route 53 zone the program creates ServiceHostname in (optional)
	AlertEmails         []string // budget, alarm and daily report recipients
	HeartbeatURL        string   // secret: BetterStack heartbeat URL (optional)
	StripeWebhookSecret string   // secret: Stripe webhook signing secret (optional)
	// StripePriceTiers maps Stripe price IDs to service tiers; required with
	// StripeWebhookSecret (tenantd refuses to start with one and not the other).
	StripePriceTiers   map[string]string
	ReviewEstimateUSD  float64 // the offline review's monthly estimate, for the daily report
	GithubRepository   string  // owner/name allowed to deploy through GitHub OIDC
	GithubOIDCProvider string  // ARN of an existing GitHub OIDC provider (one per account)
	// RunnerGithubCredentialArn is the GitHub credential of the CI runner
	// (CodeBuild) inside the VPC: a CodeConnections connection or a Secrets
	// Manager secret. Empty: no runner.
	RunnerGithubCredentialArn string

	MonthlyBudgetUSD  float64 // AWS Budgets amount; alarms at 90/100/200 %
	MonthlyCeilingUSD float64 // the policy pack refuses estimates above this

	CostCenter string
	Owner      string
	Tags       map[string]string // extra tags on every resource

	Usage cost.Usage // assumptions for usage-priced parts of the estimate
}

// DefaultConfig returns the defaults for an environment. It is the one place
// defaults live; README's configuration table must equal Keys() (keys, both
// environments' defaults and meanings, row by row: TestReadmeConfigTableIsKeys).
func DefaultConfig(env string) Config {
	c := Config{
		Environment:                env,
		Region:                     "us-east-1",
		AZCount:                    3,
		VPCCidr:                    "10.0.0.0/16",
		NAT:                        NATPerAZ,
		FlowLogRetentionDays:       90,
		ClusterVersion:             "1.35",
		NodeInstanceTypes:          []string{"m6i.large"},
		NodeMin:                    3,
		NodeDesired:                3,
		NodeMax:                    6,
		NodeDiskGB:                 50,
		DBInstanceClass:            "db.m6g.large",
		DBEngineVersion:            "16",
		DBAutoMinorUpgrade:         true,
		DBAllocatedStorageGB:       100,
		DBMaxAllocatedStorageGB:    500,
		DBBackupRetentionDays:      14,
		DBDeletionProtection:       true,
		CacheNodeType:              "cache.m6g.large",
		CacheNodeCount:             2,
		CacheEngineVersion:         "7.1",
		CacheSnapshotRetentionDays: 7,
		ServicePort:                30080,
		ServiceImageTag:            "0.1.0",
		ServiceMinReplicas:         2,
		ServiceMaxReplicas:         6,
		MonthlyBudgetUSD:           1500,
		MonthlyCeilingUSD:          1700,
		Tags:                       map[string]string{},
		StripePriceTiers:           map[string]string{},
		Usage:                      cost.DefaultUsage(),
	}
	if env == EnvDev {
		c.NAT = NATSingle
		c.FlowLogRetentionDays = 14
		c.NodeInstanceTypes = []string{"t3.medium"}
		c.NodeMin, c.NodeDesired, c.NodeMax = 2, 2, 3
		c.NodeDiskGB = 20
		c.DBInstanceClass = "db.t4g.medium"
		c.DBAllocatedStorageGB = 20
		c.DBMaxAllocatedStorageGB = 100
		c.DBBackupRetentionDays = 7
		c.DBDeletionProtection = false
		c.CacheNodeType = "cache.t4g.small"
		c.CacheSnapshotRetentionDays = 1
		c.MonthlyBudgetUSD = 600
		c.ServiceMaxReplicas = 3
		c.MonthlyCeilingUSD = 700
	}
	return c
}

// Getter reads raw stack config. Keys are given without the namespace.
type Getter interface {
	Get(key string) (string, bool)
	IsSecret(key string) bool
}

// key describes one config key: its documentation and how to parse it.
type key struct {
	name   string
	doc    string
	secret bool
	field  func(c *Config) any // pointer to the field the key sets
}

// Keys lists every config key the program reads, in documentation order.
func Keys() []KeyDoc {
	out := make([]KeyDoc, 0, len(keys))
	dev, prod := DefaultConfig(EnvDev), DefaultConfig(EnvProd)
	for _, k := range keys {
		out = append(out, KeyDoc{
			Key: Namespace + ":" + k.name, Doc: k.doc, Secret: k.secret,
			DevDefault: defaultString(dev, k), ProdDefault: defaultString(prod, k),
		})
	}
	return out
}

// KeyDoc documents one key for the README and for error messages.
type KeyDoc struct {
	Key, Doc                string
	Secret                  bool
	DevDefault, ProdDefault string
}

var keys = []key{
	{name: "environment", doc: "dev or prod (required): selects defaults and guardrail levels", field: func(c *Config) any { return &c.Environment }},
	{name: "region", doc: "AWS region", field: func(c *Config) any { return &c.Region }},
	{name: "accountId", doc: "AWS account id the stack must deploy into (12 digits, optional; preflight checks it)", field: func(c *Config) any { return &c.AccountID }},
	{name: "azCount", doc: "availability zones (3; 2 allowed for dev)", field: func(c *Config) any { return &c.AZCount }},
	{name: "availabilityZoneIds", doc: "availability zone IDs, e.g. use1-az1 (JSON list); empty = the first azCount available zones by ID, skipping excludedZoneIds", field: func(c *Config) any { return &c.ZoneIDs }},
	{name: "excludedZoneIds", doc: "zone IDs never used (JSON list); default: the zones EKS rejects for control-plane subnets in the region", field: func(c *Config) any { return &c.ExcludedZoneIDs }},
	{name: "vpcCidr", doc: "VPC IPv4 CIDR, /16 to /18, private range", field: func(c *Config) any { return &c.VPCCidr }},
	{name: "nat", doc: "NAT gateways: single or per-az (prod requires per-az)", field: func(c *Config) any { return &c.NAT }},
	{name: "logRetentionDays", doc: "retention of flow logs and platform log groups (a CloudWatch value)", field: func(c *Config) any { return &c.FlowLogRetentionDays }},
	{name: "clusterVersion", doc: "EKS Kubernetes version (1.NN); older versions cost extended support", field: func(c *Config) any { return &c.ClusterVersion }},
	{name: "clusterPublicAccessCidrs", doc: "CIDRs allowed to the public API endpoint (JSON list); empty = private only; never 0.0.0.0/0", field: func(c *Config) any { return &c.ClusterPublicAccessCIDRs }},
	{name: "clusterAdminArns", doc: "IAM role/user ARNs granted cluster admin through access entries (JSON list)", field: func(c *Config) any { return &c.ClusterAdminARNs }},
	{name: "nodeInstanceTypes", doc: "node group instance types (JSON list, one architecture)", field: func(c *Config) any { return &c.NodeInstanceTypes }},
	{name: "nodeMin", doc: "node group minimum size", field: func(c *Config) any { return &c.NodeMin }},
	{name: "nodeDesired", doc: "node group desired size", field: func(c *Config) any { return &c.NodeDesired }},
	{name: "nodeMax", doc: "node group maximum size (the cost ceiling prices this)", field: func(c *Config) any { return &c.NodeMax }},
	{name: "nodeDiskGb", doc: "node root volume size, GB (gp3, encrypted)", field: func(c *Config) any { return &c.NodeDiskGB }},
	{name: "dbInstanceClass", doc: "RDS instance class", field: func(c *Config) any { return &c.DBInstanceClass }},
	{name: "dbEngineVersion", doc: "PostgreSQL major 14-17 (RDS standard support); a major.minor pin needs dbAutoMinorVersionUpgrade false", field: func(c *Config) any { return &c.DBEngineVersion }},
	{name: "dbAutoMinorVersionUpgrade", doc: "let AWS apply PostgreSQL minor upgrades in the maintenance window", field: func(c *Config) any { return &c.DBAutoMinorUpgrade }},
	{name: "dbAllocatedStorageGb", doc: "RDS gp3 storage, GB", field: func(c *Config) any { return &c.DBAllocatedStorageGB }},
	{name: "dbMaxAllocatedStorageGb", doc: "RDS storage autoscaling limit, GB", field: func(c *Config) any { return &c.DBMaxAllocatedStorageGB }},
	{name: "dbBackupRetentionDays", doc: "RDS backup retention, days (7-35)", field: func(c *Config) any { return &c.DBBackupRetentionDays }},
	{name: "dbDeletionProtection", doc: "RDS deletion protection (must be true in prod)", field: func(c *Config) any { return &c.DBDeletionProtection }},
	{name: "cacheNodeType", doc: "ElastiCache node type", field: func(c *Config) any { return &c.CacheNodeType }},
	{name: "cacheNodeCount", doc: "Redis nodes, primary + replicas across AZs (2-6)", field: func(c *Config) any { return &c.CacheNodeCount }},
	{name: "cacheEngineVersion", doc: "Redis engine version", field: func(c *Config) any { return &c.CacheEngineVersion }},
	{name: "cacheSnapshotRetentionDays", doc: "Redis snapshot retention, days (0-35; prod >= 1)", field: func(c *Config) any { return &c.CacheSnapshotRetentionDays }},
	{name: "cacheAuthToken", secret: true, doc: "Redis AUTH token (secret, 16-128 chars); generated when absent", field: func(c *Config) any { return &c.CacheAuthToken }},
	{name: "servicePort", doc: "node port the load balancer forwards to (30000-32767)", field: func(c *Config) any { return &c.ServicePort }},
	{name: "serviceImageTag", doc: "tenant service image: a tag or a sha256: digest in the stack's ECR repository (the deploy pipeline sets the digest)", field: func(c *Config) any { return &c.ServiceImageTag }},
	{name: "serviceMinReplicas", doc: "tenant service replicas, autoscaler floor (prod >= 2, spread across zones)", field: func(c *Config) any { return &c.ServiceMinReplicas }},
	{name: "serviceMaxReplicas", doc: "tenant service autoscaler ceiling", field: func(c *Config) any { return &c.ServiceMaxReplicas }},
	{name: "certificateArn", doc: "ACM certificate ARN of the public HTTPS listener (required)", field: func(c *Config) any { return &c.CertificateArn }},
	{name: "serviceHostname", doc: "public DNS name of the service; when set, budget alerts reach the service breaker at https://NAME/v1/breaker/sns (the service confirms the subscriptions; `pulumi up` waits for that, so NAME must resolve to the load balancer: set serviceHostedZoneId or create the record first)", field: func(c *Config) any { return &c.ServiceHostname }},
	{name: "serviceHostedZoneId", doc: "Route 53 public hosted zone ID (Z...) the program creates serviceHostname in, as an alias to the load balancer (optional; needs serviceHostname)", field: func(c *Config) any { return &c.ServiceHostedZoneID }},
	{name: "alertEmails", doc: "emails for budget alerts, alarms and the daily cost report (JSON list, at least one; dev at most 10: its 200 % alert mails them directly)", field: func(c *Config) any { return &c.AlertEmails }},
	{name: "heartbeatUrl", secret: true, doc: "BetterStack heartbeat URL the service pings while ready (secret, optional)", field: func(c *Config) any { return &c.HeartbeatURL }},
	{name: "stripeWebhookSecret", secret: true, doc: "Stripe webhook signing secret (secret, optional; needs stripePriceTiers)", field: func(c *Config) any { return &c.StripeWebhookSecret }},
	{name: "stripePriceTiers", doc: "Stripe price ID to tier (free, starter, pro, enterprise) (JSON object; required with stripeWebhookSecret)", field: func(c *Config) any { return &c.StripePriceTiers }},
	{name: "reviewEstimateUsd", doc: "the offline review's monthly estimate, shown in the daily cost report (the deploy pipeline sets it)", field: func(c *Config) any { return &c.ReviewEstimateUSD }},
	{name: "githubRepository", doc: "GitHub owner/name whose environments may assume the deploy role (required)", field: func(c *Config) any { return &c.GithubRepository }},
	{name: "githubOidcProviderArn", doc: "ARN of the account's existing GitHub OIDC provider; empty = this stack creates it", field: func(c *Config) any { return &c.GithubOIDCProvider }},
	{name: "runnerGithubCredentialArn", doc: "GitHub credential of the CI runner in the VPC (CodeBuild): a CodeConnections connection ARN, or a Secrets Manager secret ARN holding a GitHub token; empty = no runner: the Kubernetes part deploys only from where the cluster endpoint is reachable", field: func(c *Config) any { return &c.RunnerGithubCredentialArn }},
	{name: "monthlyBudget", doc: "monthly AWS budget, USD; alarms and breakers at 90/100/200 %", field: func(c *Config) any { return &c.MonthlyBudgetUSD }},
	{name: "monthlyCeiling", doc: "monthly cost ceiling, USD: the policy pack refuses estimates above it", field: func(c *Config) any { return &c.MonthlyCeilingUSD }},
	{name: "costCenter", doc: "cost-center tag (required)", field: func(c *Config) any { return &c.CostCenter }},
	{name: "owner", doc: "owner tag (required)", field: func(c *Config) any { return &c.Owner }},
	{name: "tags", doc: "extra tags on every resource (JSON object)", field: func(c *Config) any { return &c.Tags }},
	{name: "usage", doc: "usage assumptions for the cost estimate (JSON object, see cost.Usage)", field: func(c *Config) any { return &c.Usage }},
}

// parse sets the field behind ptr from a raw config string. Lists and
// objects arrive as JSON (structured config). Objects are decoded over the
// default value, so keys the stack leaves out keep their defaults, and unknown
// keys are rejected: a typo in a usage assumption must not silently fall back
// to a default.
func parse(ptr any, raw string) error {
	trimmed := strings.TrimSpace(raw)
	switch p := ptr.(type) {
	case *string:
		*p = raw
	case *int:
		n, err := strconv.Atoi(trimmed)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		*p = f
	case *bool:
		b, err := strconv.ParseBool(trimmed)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		*p = b
	case *[]string:
		var v []string
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return fmt.Errorf("%q is not a list of strings (set items with `pulumi config set --path 'platform:key[0]' value`)", raw)
		}
		*p = v
	default:
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(ptr); err != nil {
			return fmt.Errorf("%q is not a valid object: %v", raw, err)
		}
	}
	return nil
}

// ConfigError lists every problem found in a stack's config.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid stack config (%d problem(s)):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Load reads, defaults and validates a stack's config. It returns every
// problem at once, each naming the key and what it accepts.
func Load(g Getter, project, stack string) (*Config, error) {
	var problems []string
	env, _ := g.Get("environment")
	if env != EnvDev && env != EnvProd {
		if env == "" {
			problems = append(problems, fmt.Sprintf("%s:environment: missing; set it to dev or prod (pulumi config set %s:environment dev)", Namespace, Namespace))
		} else {
			problems = append(problems, fmt.Sprintf("%s:environment: %q is not one of dev, prod", Namespace, env))
		}
	}
	c := DefaultConfig(env)
	c.Project, c.Stack = project, stack
	for _, k := range keys {
		raw, ok := g.Get(k.name)
		if !ok || k.name == "environment" {
			continue
		}
		if k.secret && !g.IsSecret(k.name) {
			problems = append(problems, fmt.Sprintf("%s:%s: must be a secret; set it with `pulumi config set --secret %s:%s <value>`", Namespace, k.name, Namespace, k.name))
			continue
		}
		if err := parse(k.field(&c), raw); err != nil {
			if k.secret {
				err = fmt.Errorf("invalid value")
			}
			problems = append(problems, fmt.Sprintf("%s:%s: %v", Namespace, k.name, err))
		}
	}
	if _, set := g.Get("excludedZoneIds"); !set {
		c.ExcludedZoneIDs = EKSUnsupportedZoneIDs[c.Region]
	}
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return &c, nil
}

// retiredKeys are keys the program no longer reads, with what replaced them.
var retiredKeys = map[string]string{
	"availabilityZones": "retired: zone names map to different physical zones in every account (and EKS rejects some); " +
		"list zone IDs in platform:availabilityZoneIds (e.g. [\"use1-az1\",\"use1-az2\",\"use1-az4\"]) or leave it out to look them up",
}

// UnknownKeys reports config keys in the platform namespace that the program
// does not read: a typo there would otherwise silently keep the default.
func UnknownKeys(all []string) []string {
	var problems []string
	for _, full := range all {
		ns, name, ok := strings.Cut(full, ":")
		if !ok || ns != Namespace {
			continue
		}
		if why, retired := retiredKeys[name]; retired {
			problems = append(problems, fmt.Sprintf("%s: %s", full, why))
			continue
		}
		if !slices.ContainsFunc(keys, func(k key) bool { return k.name == name }) {
			problems = append(problems, fmt.Sprintf("%s: unknown key; known keys are %s", full, knownKeyList()))
		}
	}
	return problems
}

func knownKeyList() string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}

var (
	regionRe        = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d$`)
	instanceTypeRe  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	clusterVerRe    = regexp.MustCompile(`^1\.(\d+)$`)
	pgVersionRe     = regexp.MustCompile(`^(\d+)(\.(\d+))?$`)
	accountIDRe     = regexp.MustCompile(`^\d{12}$`)
	zoneIDRe        = regexp.MustCompile(`^[a-z]{2,}\d-az\d+$`)
	iamPrincipalRe  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):(role|user)/([\w+=,.@/-]+)$`)
	stripePriceRe   = regexp.MustCompile(`^price_[A-Za-z0-9]+$`)
	redisVersionRe  = regexp.MustCompile(`^[67]\.\d+$`)
	imageTagRe      = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|[\w][\w.-]{0,127})$`)
	certArnRe       = regexp.MustCompile(`^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$`)
	hostnameRe      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,}$`)
	emailRe         = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	tagKeyRe        = regexp.MustCompile(`^[\w .:/=+\-@]{1,128}$`)
	logRetentionOK  = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	pgSupportedMajs = []int{14, 15, 16, 17}
)

func (c *Config) validate() []string {
	var p []string
	bad := func(k, format string, a ...any) {
		p = append(p, fmt.Sprintf("%s:%s: %s", Namespace, k, fmt.Sprintf(format, a...)))
	}
	prod := c.Environment == EnvProd

	if !regionRe.MatchString(c.Region) {
		bad("region", "%q is not an AWS region name (e.g. us-east-1)", c.Region)
	}
	switch {
	case c.AZCount != 2 && c.AZCount != 3:
		bad("azCount", "%d is not one of 2, 3", c.AZCount)
	case prod && c.AZCount != 3:
		bad("azCount", "%d is not allowed for prod; prod uses 3 availability zones", c.AZCount)
	}
	if c.AccountID != "" && !accountIDRe.MatchString(c.AccountID) {
		bad("accountId", "%q is not a 12-digit AWS account id", c.AccountID)
	}
	p = append(p, c.validateZones()...)
	if pfx, err := netip.ParsePrefix(c.VPCCidr); err != nil || !pfx.Addr().Is4() || !pfx.Addr().IsPrivate() || pfx.Bits() < 16 || pfx.Bits() > 18 || pfx.Masked() != pfx {
		bad("vpcCidr", "%q is not a private IPv4 network of size /16 to /18 (e.g. 10.0.0.0/16)", c.VPCCidr)
	}
	switch {
	case c.NAT != NATSingle && c.NAT != NATPerAZ:
		bad("nat", "%q is not one of %s, %s", c.NAT, NATSingle, NATPerAZ)
	case prod && c.NAT != NATPerAZ:
		bad("nat", "%q is not allowed for prod: one NAT gateway makes its zone a single point of failure; use %s", c.NAT, NATPerAZ)
	}
	if !slices.Contains(logRetentionOK, c.FlowLogRetentionDays) {
		bad("logRetentionDays", "%d is not a CloudWatch retention value (one of %s)", c.FlowLogRetentionDays, joinInts(logRetentionOK))
	}
	if m := clusterVerRe.FindStringSubmatch(c.ClusterVersion); m == nil {
		bad("clusterVersion", "%q is not a Kubernetes version like 1.35", c.ClusterVersion)
	} else if minor, _ := strconv.Atoi(m[1]); minor < 30 {
		bad("clusterVersion", "%q is past EKS extended support; use 1.33 or later", c.ClusterVersion)
	} else if _, err := components.ClusterAutoscalerImage(c.ClusterVersion); err != nil {
		bad("clusterVersion", "%v", err)
	}
	for _, cidr := range c.ClusterPublicAccessCIDRs {
		pfx, err := netip.ParsePrefix(cidr)
		switch {
		case err != nil:
			bad("clusterPublicAccessCidrs", "%q is not a CIDR", cidr)
		case pfx.Bits() == 0:
			bad("clusterPublicAccessCidrs", "%q opens the Kubernetes API to the internet; list your office/VPN CIDRs", cidr)
		}
	}
	p = append(p, c.validateClusterAdmins()...)
	if len(c.NodeInstanceTypes) == 0 {
		bad("nodeInstanceTypes", "is empty; list at least one instance type")
	}
	for _, t := range c.NodeInstanceTypes {
		if !instanceTypeRe.MatchString(t) {
			bad("nodeInstanceTypes", "%q is not an EC2 instance type", t)
		} else if IsArm(t) != IsArm(c.NodeInstanceTypes[0]) {
			bad("nodeInstanceTypes", "%q mixes CPU architectures with %q; one node group runs one AMI", t, c.NodeInstanceTypes[0])
		}
	}
	if _, err := components.StandardCreditsFor(c.NodeInstanceTypes); err != nil {
		bad("nodeInstanceTypes", "%v", err)
	}
	switch {
	case c.NodeMax < 1 || c.NodeMax > 50:
		bad("nodeMax", "%d is out of range 1-50", c.NodeMax)
	case c.NodeMin < 0 || c.NodeMin > c.NodeDesired || c.NodeDesired > c.NodeMax:
		bad("nodeMin", "sizes must satisfy 0 <= nodeMin (%d) <= nodeDesired (%d) <= nodeMax (%d)", c.NodeMin, c.NodeDesired, c.NodeMax)
	case prod && c.NodeMin < 2:
		bad("nodeMin", "%d is too small for prod: at least 2 nodes keep the service up across zones", c.NodeMin)
	}
	if c.NodeDiskGB < 20 || c.NodeDiskGB > 500 {
		bad("nodeDiskGb", "%d is out of range 20-500", c.NodeDiskGB)
	}
	if !strings.HasPrefix(c.DBInstanceClass, "db.") || !instanceTypeRe.MatchString(strings.TrimPrefix(c.DBInstanceClass, "db.")) {
		bad("dbInstanceClass", "%q is not an RDS instance class (e.g. db.m6g.large)", c.DBInstanceClass)
	}
	if m := pgVersionRe.FindStringSubmatch(c.DBEngineVersion); m == nil {
		bad("dbEngineVersion", "%q is not a PostgreSQL major like 16 (or a pin like 16.9)", c.DBEngineVersion)
	} else if major, _ := strconv.Atoi(m[1]); !slices.Contains(pgSupportedMajs, major) {
		bad("dbEngineVersion", "major %d is not in RDS standard support; use one of %s", major, joinInts(pgSupportedMajs))
	} else if m[2] != "" && c.DBAutoMinorUpgrade {
		// pulumi-aws documents prefixes for exactly this case (aws.rds.Instance
		// engineVersion: "If autoMinorVersionUpgrade is enabled, you can
		// provide a prefix of the version such as 8.0").
		bad("dbEngineVersion", "%q pins a minor version while dbAutoMinorVersionUpgrade is true: once AWS upgrades the instance, "+
			"the next `pulumi up` tries to downgrade it (Cannot upgrade postgres from %d.x to %s); use the major %q, "+
			"or set platform:dbAutoMinorVersionUpgrade false to own minor upgrades yourself", c.DBEngineVersion, major, c.DBEngineVersion, m[1])
	}
	if c.DBAllocatedStorageGB < 20 || c.DBAllocatedStorageGB > 65536 {
		bad("dbAllocatedStorageGb", "%d is out of range 20-65536", c.DBAllocatedStorageGB)
	}
	if c.DBMaxAllocatedStorageGB < c.DBAllocatedStorageGB {
		bad("dbMaxAllocatedStorageGb", "%d is below dbAllocatedStorageGb (%d)", c.DBMaxAllocatedStorageGB, c.DBAllocatedStorageGB)
	}
	if c.DBBackupRetentionDays < 7 || c.DBBackupRetentionDays > 35 {
		bad("dbBackupRetentionDays", "%d is out of range 7-35", c.DBBackupRetentionDays)
	}
	if prod && !c.DBDeletionProtection {
		bad("dbDeletionProtection", "must be true in prod")
	}
	if !strings.HasPrefix(c.CacheNodeType, "cache.") || !instanceTypeRe.MatchString(strings.TrimPrefix(c.CacheNodeType, "cache.")) {
		bad("cacheNodeType", "%q is not an ElastiCache node type (e.g. cache.m6g.large)", c.CacheNodeType)
	}
	if c.CacheNodeCount < 2 || c.CacheNodeCount > 6 {
		bad("cacheNodeCount", "%d is out of range 2-6 (automatic failover needs a replica)", c.CacheNodeCount)
	}
	if !redisVersionRe.MatchString(c.CacheEngineVersion) {
		bad("cacheEngineVersion", "%q is not a Redis version like 7.1", c.CacheEngineVersion)
	}
	switch {
	case c.CacheSnapshotRetentionDays < 0 || c.CacheSnapshotRetentionDays > 35:
		bad("cacheSnapshotRetentionDays", "%d is out of range 0-35", c.CacheSnapshotRetentionDays)
	case prod && c.CacheSnapshotRetentionDays < 1:
		bad("cacheSnapshotRetentionDays", "must be at least 1 in prod")
	}
	if t := c.CacheAuthToken; t != "" && (len(t) < 16 || len(t) > 128 || strings.ContainsAny(t, "@\"/ ")) {
		bad("cacheAuthToken", "must be 16-128 printable characters without @, \", / or spaces")
	}
	if c.ServicePort < 30000 || c.ServicePort > 32767 {
		bad("servicePort", "%d is not a Kubernetes node port (30000-32767)", c.ServicePort)
	}
	switch {
	case c.ServiceMinReplicas < 1 || c.ServiceMaxReplicas < c.ServiceMinReplicas:
		bad("serviceMinReplicas", "need 1 <= serviceMinReplicas (%d) <= serviceMaxReplicas (%d)", c.ServiceMinReplicas, c.ServiceMaxReplicas)
	case prod && c.ServiceMinReplicas < 2:
		bad("serviceMinReplicas", "%d is too few for prod: 2 replicas in different zones keep the service up", c.ServiceMinReplicas)
	}
	if !imageTagRe.MatchString(c.ServiceImageTag) {
		bad("serviceImageTag", "%q is neither an image tag nor a sha256: digest", c.ServiceImageTag)
	}
	if !certArnRe.MatchString(c.CertificateArn) {
		bad("certificateArn", "%q is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID); request one with `aws acm request-certificate`", c.CertificateArn)
	}
	if c.ServiceHostname != "" && !hostnameRe.MatchString(c.ServiceHostname) {
		bad("serviceHostname", "%q is not a DNS name", c.ServiceHostname)
	}
	if c.ServiceHostedZoneID != "" {
		if err := components.CheckHostedZoneID(c.ServiceHostedZoneID); err != nil {
			bad("serviceHostedZoneId", "%v", err)
		} else if c.ServiceHostname == "" {
			bad("serviceHostedZoneId", "is set but platform:serviceHostname is not: the zone is where the program creates that name")
		}
	}
	if c.Environment == EnvDev && len(c.AlertEmails) > components.MaxBudgetEmailSubscribers {
		bad("alertEmails", "%d addresses: dev's 200 %% alert mails them directly and AWS Budgets allows %d email subscribers per notification", len(c.AlertEmails), components.MaxBudgetEmailSubscribers)
	}
	if len(c.AlertEmails) == 0 {
		bad("alertEmails", "is empty; budget alerts must reach someone (pulumi config set --path 'platform:alertEmails[0]' ceo@example.com)")
	}
	for _, e := range c.AlertEmails {
		if !emailRe.MatchString(e) {
			bad("alertEmails", "%q is not an email address", e)
		}
	}
	p = append(p, c.validateStripe()...)
	if c.HeartbeatURL != "" && !strings.HasPrefix(c.HeartbeatURL, "https://") {
		bad("heartbeatUrl", "must be an https:// URL")
	}
	if c.ReviewEstimateUSD < 0 {
		bad("reviewEstimateUsd", "%v must not be negative", c.ReviewEstimateUSD)
	}
	if err := components.CheckGitHubRepository(c.GithubRepository); err != nil {
		bad("githubRepository", "%v", err)
	}
	if err := components.CheckGitHubOIDCProviderArn(c.GithubOIDCProvider); err != nil {
		bad("githubOidcProviderArn", "%v", err)
	}
	if c.RunnerGithubCredentialArn != "" {
		if err := components.CheckRunnerCredentialArn(c.RunnerGithubCredentialArn); err != nil {
			bad("runnerGithubCredentialArn", "%v", err)
		}
	}
	if c.MonthlyBudgetUSD <= 0 {
		bad("monthlyBudget", "%v must be a positive amount in USD", c.MonthlyBudgetUSD)
	}
	if c.MonthlyCeilingUSD < c.MonthlyBudgetUSD {
		bad("monthlyCeiling", "%v is below monthlyBudget (%v); the ceiling is the hard limit above the budget", c.MonthlyCeilingUSD, c.MonthlyBudgetUSD)
	}
	if strings.TrimSpace(c.CostCenter) == "" {
		bad("costCenter", "missing; every resource is tagged with it (pulumi config set %s:costCenter <team>)", Namespace)
	}
	if strings.TrimSpace(c.Owner) == "" {
		bad("owner", "missing; every resource is tagged with it (pulumi config set %s:owner <email or team>)", Namespace)
	}
	tagKeys := make([]string, 0, len(c.Tags))
	for k := range c.Tags {
		tagKeys = append(tagKeys, k)
	}
	sort.Strings(tagKeys)
	for _, k := range tagKeys {
		if !tagKeyRe.MatchString(k) || strings.HasPrefix(strings.ToLower(k), "aws:") {
			bad("tags", "%q is not a valid tag key", k)
		}
	}
	for _, err := range c.Usage.Validate() {
		p = append(p, err.Error())
	}
	return p
}

// IsArm reports whether an EC2 instance type runs on Graviton (arm64): the
// family ends in "g" or "gd"/"gn" after its generation digit (m6g, t4g, c7gn).
func IsArm(instanceType string) bool {
	family, _, _ := strings.Cut(instanceType, ".")
	i := strings.IndexFunc(family, func(r rune) bool { return r >= '0' && r <= '9' })
	return i >= 0 && strings.HasPrefix(family[i+1:], "g")
}

// ResourceTags are the tags every resource carries (provider default tags).
func (c *Config) ResourceTags() map[string]string {
	t := map[string]string{}
	for k, v := range c.Tags {
		t[k] = v
	}
	t["project"] = c.Project
	t["stack"] = c.Stack
	t["environment"] = c.Environment
	t["cost-center"] = c.CostCenter
	t["owner"] = c.Owner
	return t
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// defaultString renders a key's default for documentation.
func defaultString(c Config, k key) string {
	switch k.name {
	case "availabilityZoneIds":
		return "looked up"
	case "excludedZoneIds":
		return "EKS-unsupported zones"
	case "cacheAuthToken":
		return "generated"
	case "costCenter", "owner", "certificateArn", "alertEmails", "githubRepository":
		return "(required)"
	case "heartbeatUrl", "stripeWebhookSecret", "serviceHostname", "serviceHostedZoneId", "githubOidcProviderArn", "accountId", "runnerGithubCredentialArn":
		return "(none)"
	}
	switch v := k.field(&c).(type) {
	case *string:
		return *v
	case *[]string:
		if len(*v) == 0 {
			return "[]"
		}
	}
	b, _ := json.Marshal(k.field(&c))
	return string(b)
}
