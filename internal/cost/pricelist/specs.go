package pricelist

import (
	"fmt"
	"sort"
	"strings"
)

// spec is how one prices.json row is read from the Price List: a
// GetProducts query (service code and TERM_MATCH filters; regionCode is
// always added) and a client-side selection of the products it returns.
type spec struct {
	service string
	filters [][2]string // field, value (TERM_MATCH)
	// usage selects products whose usagetype is this, with or without a
	// region prefix.
	usage string
	// attrs: each attribute must have one of the values ("" allows the
	// attribute to be absent).
	attrs map[string][]string
	// unit is the expected Price List unit of the dimension ("" = any).
	unit string
	// vcpu: copy the product's vcpu attribute into the row.
	vcpu bool
}

func (s spec) queryKey(region string) string {
	parts := []string{s.service, region}
	for _, f := range s.filters {
		parts = append(parts, f[0]+"="+f[1])
	}
	return strings.Join(parts, "|")
}

func (s spec) String() string {
	var b strings.Builder
	b.WriteString(s.service)
	for _, f := range s.filters {
		fmt.Fprintf(&b, " %s=%q", f[0], f[1])
	}
	if s.usage != "" {
		fmt.Fprintf(&b, " usagetype~%q", s.usage)
	}
	keys := make([]string, 0, len(s.attrs))
	for k := range s.attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s in %q", k, s.attrs[k])
	}
	return b.String()
}

func (s spec) matches(p Product) bool {
	for _, f := range s.filters {
		switch f[0] {
		case "productFamily":
			if p.ProductFamily != f[1] {
				return false
			}
		default:
			if p.Attributes[f[0]] != f[1] {
				return false
			}
		}
	}
	if s.usage != "" && !usageMatches(p.Attributes["usagetype"], s.usage) {
		return false
	}
	for k, allowed := range s.attrs {
		ok := false
		for _, a := range allowed {
			if p.Attributes[k] == a {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// manualKeys are rows the Price List Query API does not answer in a usable
// form; refresh carries them over unchanged (they keep their own source).
var manualKeys = map[string]string{
	"rds.performance-insights":  "Performance Insights long-term retention is priced by retention months per vCPU; kept from the snapshot",
	"budgets.action-budget-day": "AWS Budgets action pricing (62 free budget-days) is kept from the snapshot",
	"elasticache.valkey-factor": "a ratio, not a price",
	// Surplus CPU credits of burstable classes and their baselines (ratios):
	// the Price List files them as CPU Credits products per OS and family, but
	// the model needs only the Linux rate; kept from the snapshot.
	"ec2.cpu-credits.t2": "surplus CPU credit rate, kept from the snapshot", "ec2.cpu-credits.t3": "surplus CPU credit rate, kept from the snapshot",
	"ec2.cpu-credits.t3a": "surplus CPU credit rate, kept from the snapshot", "ec2.cpu-credits.t4g": "surplus CPU credit rate, kept from the snapshot",
	"rds.cpu-credits":            "surplus CPU credit rate, kept from the snapshot",
	"ec2.cpu-baseline.t2.medium": "a ratio, not a price", "ec2.cpu-baseline.t3.medium": "a ratio, not a price",
	"ec2.cpu-baseline.t3.large": "a ratio, not a price", "ec2.cpu-baseline.t3.xlarge": "a ratio, not a price",
	"ec2.cpu-baseline.t4g.medium": "a ratio, not a price", "ec2.cpu-baseline.t4g.large": "a ratio, not a price",
	"rds.cpu-baseline.db.t4g.micro": "a ratio, not a price", "rds.cpu-baseline.db.t4g.small": "a ratio, not a price",
	"rds.cpu-baseline.db.t4g.medium": "a ratio, not a price", "rds.cpu-baseline.db.t4g.large": "a ratio, not a price",
}

// specFor maps a prices.json key (see internal/cost/doc.go) to its query.
// ok is false for manual keys and keys this package does not know.
func specFor(key string) (spec, bool) {
	f := func(kv ...string) [][2]string {
		var out [][2]string
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
		return out
	}
	switch {
	case strings.HasPrefix(key, "ec2.instance."):
		it := strings.TrimPrefix(key, "ec2.instance.")
		return spec{service: "AmazonEC2", unit: "Hrs", vcpu: true, filters: f(
			"productFamily", "Compute Instance", "instanceType", it, "operatingSystem", "Linux",
			"tenancy", "Shared", "preInstalledSw", "NA", "capacitystatus", "Used", "licenseModel", "No License required",
			"marketoption", "OnDemand")}, true
	case strings.HasPrefix(key, "ebs."):
		return spec{service: "AmazonEC2", unit: "GB-Mo", filters: f("productFamily", "Storage", "volumeApiName", strings.TrimPrefix(key, "ebs."))}, true
	case key == "nat.hours":
		return spec{service: "AmazonEC2", unit: "Hrs", usage: "NatGateway-Hours", filters: f("productFamily", "NAT Gateway")}, true
	case key == "nat.data":
		return spec{service: "AmazonEC2", unit: "GB", usage: "NatGateway-Bytes", filters: f("productFamily", "NAT Gateway")}, true
	case key == "ipv4.public":
		return spec{service: "AmazonVPC", unit: "Hrs", usage: "PublicIPv4:InUseAddress"}, true
	case key == "vpce.interface.hours":
		return spec{service: "AmazonVPC", unit: "Hrs", usage: "VpcEndpoint-Hours", filters: f("productFamily", "VpcEndpoint")}, true
	case key == "vpce.interface.data":
		return spec{service: "AmazonVPC", unit: "GB", usage: "VpcEndpoint-Bytes", filters: f("productFamily", "VpcEndpoint")}, true
	case key == "eks.cluster":
		return spec{service: "AmazonEKS", unit: "Hrs", usage: "AmazonEKS-Hours:perCluster"}, true
	case key == "eks.extended-support":
		// A surcharge billed on top of perCluster ($0.50 + $0.10 = $0.60).
		return spec{service: "AmazonEKS", unit: "Hrs", usage: "AmazonEKS-Hours:extendedSupport"}, true
	case strings.HasPrefix(key, "rds.instance."):
		// rds.instance.<engine>.<class>.<single-az|multi-az>; the class has dots.
		rest := strings.TrimPrefix(key, "rds.instance.")
		engine, rest, ok := strings.Cut(rest, ".")
		i := strings.LastIndex(rest, ".")
		if !ok || i < 0 {
			return spec{}, false
		}
		class, az := rest[:i], rest[i+1:]
		dep := map[string]string{"single-az": "Single-AZ", "multi-az": "Multi-AZ"}[az]
		eng := map[string]string{"postgres": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}[engine]
		if dep == "" || eng == "" {
			return spec{}, false
		}
		return spec{service: "AmazonRDS", unit: "Hrs", vcpu: true, filters: f(
			"productFamily", "Database Instance", "instanceType", class, "databaseEngine", eng, "deploymentOption", dep)}, true
	case strings.HasPrefix(key, "rds.storage."):
		parts := strings.Split(strings.TrimPrefix(key, "rds.storage."), ".")
		if len(parts) != 2 {
			return spec{}, false
		}
		vt := map[string]string{"gp3": "General Purpose-GP3", "gp2": "General Purpose"}[parts[0]]
		dep := map[string]string{"single-az": "Single-AZ", "multi-az": "Multi-AZ"}[parts[1]]
		if vt == "" || dep == "" {
			return spec{}, false
		}
		return spec{service: "AmazonRDS", unit: "GB-Mo",
			filters: f("productFamily", "Database Storage", "volumeType", vt, "deploymentOption", dep),
			attrs:   map[string][]string{"databaseEngine": {"PostgreSQL", "Any", ""}}}, true
	case key == "rds.backup":
		return spec{service: "AmazonRDS", unit: "GB-Mo", usage: "RDS:ChargedBackupUsage", filters: f("productFamily", "Storage Snapshot")}, true
	case strings.HasPrefix(key, "elasticache.node.redis."):
		nt := strings.TrimPrefix(key, "elasticache.node.redis.")
		return spec{service: "AmazonElastiCache", unit: "Hrs", filters: f("productFamily", "Cache Instance", "instanceType", nt, "cacheEngine", "Redis")}, true
	case key == "alb.hours", key == "nlb.hours", key == "alb.lcu", key == "nlb.lcu":
		fam := map[string]string{"alb": "Load Balancer-Application", "nlb": "Load Balancer-Network"}[key[:3]]
		usage, unit := "LoadBalancerUsage", "Hrs"
		if strings.HasSuffix(key, ".lcu") {
			usage, unit = "LCUUsage", ""
		}
		return spec{service: "AWSELB", unit: unit, usage: usage, filters: f("productFamily", fam)}, true
	case key == "logs.ingest":
		return spec{service: "AmazonCloudWatch", unit: "GB", usage: "DataProcessing-Bytes", filters: f("productFamily", "Data Payload")}, true
	case key == "logs.storage":
		return spec{service: "AmazonCloudWatch", unit: "GB-Mo", usage: "TimedStorage-ByteHrs", filters: f("productFamily", "Storage Snapshot")}, true
	case key == "cloudwatch.dashboard":
		return spec{service: "AmazonCloudWatch", usage: "DashboardsUsageHour", filters: f("productFamily", "Dashboard")}, true
	case key == "cloudwatch.alarm.standard":
		return spec{service: "AmazonCloudWatch", usage: "CW:AlarmMonitorUsage", filters: f("productFamily", "Alarm")}, true
	case key == "cloudwatch.alarm.high-resolution":
		return spec{service: "AmazonCloudWatch", usage: "CW:HighResAlarmMonitorUsage", filters: f("productFamily", "Alarm")}, true
	case key == "kms.key":
		return spec{service: "awskms", usage: "KMS-Keys", filters: f("productFamily", "Encryption Key")}, true
	case key == "secretsmanager.secret":
		return spec{service: "AWSSecretsManager", usage: "AWSSecretsManager-Secrets", filters: f("productFamily", "Secret")}, true
	case key == "ecr.storage":
		return spec{service: "AmazonECR", unit: "GB-Mo", usage: "TimedStorage-ByteHrs"}, true
	case strings.HasPrefix(key, "codebuild.linux."):
		// Build minutes of on-demand EC2 compute: usagetype
		// USE1-Build-Min:Linux:g1.<size> (the product filter of Infracost's
		// aws_codebuild_project, internal/resources/aws/codebuild_project.go).
		size := strings.TrimPrefix(key, "codebuild.linux.")
		return spec{service: "CodeBuild", usage: "Build-Min:Linux:g1." + size, filters: f("productFamily", "Compute")}, true
	}
	return spec{}, false
}
