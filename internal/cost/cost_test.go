package cost

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/verdict"
)

// at is the fixed evaluation date of the tests (the research date of the
// snapshot). Kubernetes 1.35 is in standard support then, 1.33 is not
// (standard support ended 2026-07-29).
var at = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func res(typ, name string, inputs map[string]any) inventory.Resource {
	if inputs == nil {
		inputs = map[string]any{}
	}
	return inventory.Resource{
		URN:    "urn:pulumi:dev::platform::" + typ + "::" + name,
		Type:   typ,
		Name:   name,
		Inputs: inputs,
	}
}

func model(t *testing.T) *Model {
	t.Helper()
	m, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

func estimate(t *testing.T, rs []inventory.Resource, u Usage) *Estimate {
	t.Helper()
	est, err := model(t).Estimate(rs, u, at)
	if err != nil {
		t.Fatalf("Estimate: %v", err)
	}
	return est
}

// want is one expected line: component -> ceiling and expected monthly USD.
type want struct {
	component string
	qty       float64
	monthly   float64
	expected  float64 // 0 means "same as monthly", -1 means none (a ceiling-only line)
	usage     bool
}

func checkLines(t *testing.T, est *Estimate, urnName string, wants []want) {
	t.Helper()
	got := map[string]Line{}
	for _, l := range est.Lines {
		if l.Name == urnName {
			got[l.Component] = l
		}
	}
	if len(got) != len(wants) {
		var names []string
		for c, l := range got {
			names = append(names, fmt.Sprintf("%s=%.2f", c, l.MonthlyUSD))
		}
		sort.Strings(names)
		t.Fatalf("%s: got %d lines %v, want %d", urnName, len(got), names, len(wants))
	}
	for _, w := range wants {
		l, ok := got[w.component]
		if !ok {
			t.Errorf("%s: no %q line", urnName, w.component)
			continue
		}
		exp := w.expected
		switch exp {
		case 0:
			exp = w.monthly
		case -1: // a ceiling-only line
			exp = 0
		}
		if !near(l.MonthlyUSD, w.monthly) || !near(l.ExpectedMonthlyUSD, exp) {
			t.Errorf("%s %q: monthly %.2f expected %.2f, want %.2f / %.2f", urnName, w.component, l.MonthlyUSD, l.ExpectedMonthlyUSD, w.monthly, exp)
		}
		if w.qty != 0 && !near(l.Quantity, w.qty) {
			t.Errorf("%s %q: quantity %v, want %v", urnName, w.component, l.Quantity, w.qty)
		}
		if l.UsageBased != w.usage {
			t.Errorf("%s %q: usage_based %v, want %v", urnName, w.component, l.UsageBased, w.usage)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.0001 }

func TestSnapshotRowsComplete(t *testing.T) {
	m := model(t)
	s := m.Snapshot()
	if s.Region != "us-east-1" || m.Prices().Region != "us-east-1" || m.Prices().AsOf == "" || m.Prices().Source == "" {
		t.Fatalf("snapshot info: %+v", m.Prices())
	}
	for _, p := range s.Prices {
		if p.Region == "" || p.Unit == "" || p.Source == "" || p.AsOf == "" || p.Confidence == "" {
			t.Errorf("row %q incomplete: %+v", p.Key, p)
		}
		if strings.HasPrefix(p.Key, "ec2.instance.") || strings.HasPrefix(p.Key, "rds.instance.") {
			if p.VCPU == 0 {
				t.Errorf("row %q has no vcpu", p.Key)
			}
		}
	}
	var required []string
	for _, it := range []string{"t3.medium", "t3.large", "t3.xlarge", "m6i.large", "m6i.xlarge", "m7i.large", "m6g.large", "m7g.large", "t4g.medium", "t4g.large", "c6i.large", "r6i.large"} {
		required = append(required, "ec2.instance."+it)
	}
	for _, c := range []string{"db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large", "db.m6g.large", "db.m6g.xlarge", "db.m7g.large", "db.m7g.xlarge", "db.r6g.large", "db.r6g.xlarge", "db.r6g.8xlarge", "db.m6i.large"} {
		required = append(required, "rds.instance.postgres."+c+".single-az", "rds.instance.postgres."+c+".multi-az")
	}
	for _, c := range []string{"cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium", "cache.m6g.large", "cache.m6g.xlarge", "cache.r7g.large", "cache.r6g.large"} {
		required = append(required, "elasticache.node.redis."+c)
	}
	required = append(required, "eks.cluster", "eks.extended-support", "ebs.gp3", "ebs.gp2", "nat.hours", "nat.data", "ipv4.public",
		"rds.storage.gp3.multi-az", "rds.storage.gp3.single-az", "rds.backup", "rds.performance-insights", "alb.hours", "alb.lcu",
		"nlb.hours", "nlb.lcu", "logs.ingest", "logs.storage", "kms.key", "secretsmanager.secret", "vpce.interface.hours",
		"vpce.interface.data", "budgets.action-budget-day", "cloudwatch.dashboard", "cloudwatch.alarm.standard", "ecr.storage",
		"codebuild.linux.small", "codebuild.linux.medium", "codebuild.linux.large")
	for _, k := range required {
		if _, ok := m.Price(k); !ok {
			t.Errorf("prices.json lacks %q", k)
		}
	}
	if len(s.EKSVersions) < 5 {
		t.Errorf("EKS support calendar has %d versions", len(s.EKSVersions))
	}
	for _, v := range s.EKSVersions {
		if v.Source == "" || v.EndOfStandardSupport == "" {
			t.Errorf("EKS version %s incomplete", v.Version)
		}
	}
}

// The reference points (us-east-1, on-demand, 730 h).
func TestReferencePrices(t *testing.T) {
	m := model(t)
	for key, want := range map[string]float64{
		"eks.cluster":            0.10, // x 730 = $73.00/mo
		"ec2.instance.m6i.large": 0.096,
		"rds.instance.postgres.db.m6g.large.multi-az":  0.318,
		"rds.instance.postgres.db.m6g.large.single-az": 0.159,
		"rds.storage.gp3.multi-az":                     0.23,
		"elasticache.node.redis.cache.m6g.large":       0.149,
		"nat.hours":                                    0.045,
		"nat.data":                                     0.045,
		"alb.hours":                                    0.0225,
		"alb.lcu":                                      0.008,
		"ipv4.public":                                  0.005,
		"rds.instance.postgres.db.r6g.8xlarge.single-az": 3.84,
		"rds.instance.postgres.db.r6g.8xlarge.multi-az":  7.68,
	} {
		p, ok := m.Price(key)
		if !ok || !near(p.Price, want) {
			t.Errorf("%s = %v (%v), want %v", key, p.Price, ok, want)
		}
	}
	// EKS control plane: 0.10 x 730 = 73.00.
	est := estimate(t, []inventory.Resource{res("eks:index:Cluster", "c", map[string]any{"version": "1.35", "skipDefaultNodeGroup": true})}, DefaultUsage())
	if est.MonthlyUSD != 73.00 {
		t.Errorf("EKS control plane = %.2f, want 73.00", est.MonthlyUSD)
	}
}

// Every priced component against hand-computed values (DefaultUsage: 730 h,
// NAT 50 GB, 1 LCU, logs 5 GB in / 10 GB stored, backup 0, ECR 10 GB,
// endpoint 10 GB).
func TestComponents(t *testing.T) {
	cases := []struct {
		name  string
		rs    []inventory.Resource
		usage func(*Usage)
		check map[string][]want // resource name -> lines
	}{
		{
			name: "EKS control plane, standard support",
			rs:   []inventory.Resource{res("eks:index:Cluster", "c", map[string]any{"version": "1.35", "skipDefaultNodeGroup": true})},
			// 730 h x $0.10 = $73.00
			check: map[string][]want{"c": {{component: "control plane hours", qty: 730, monthly: 73.00}}},
		},
		{
			name: "EKS control plane, extended support (1.33 past 2026-07-29)",
			rs:   []inventory.Resource{res("eks:index:Cluster", "c", map[string]any{"version": "1.33", "skipDefaultNodeGroup": true})},
			// 730 h x ($0.10 + $0.50) = $438.00
			check: map[string][]want{"c": {{component: "control plane hours", qty: 730, monthly: 438.00}}},
		},
		{
			name: "EKS default node group (skipDefaultNodeGroup not set)",
			rs:   []inventory.Resource{res("eks:index:Cluster", "c", map[string]any{"version": "1.35"})},
			// control plane 73.00; t2.medium max 2 x 730 x 0.0464 = 67.744 -> 67.74 (desired 2 too);
			// 2 nodes x 20 GiB gp2 x 0.10 = 4.00
			check: map[string][]want{"c": {
				{component: "control plane hours", monthly: 73.00},
				{component: "default node group instance hours", qty: 1460, monthly: 67.74},
				{component: "default node group EBS storage", qty: 40, monthly: 4.00},
			}},
		},
		{
			name: "managed node group with launch template (max vs desired)",
			rs: []inventory.Resource{
				res("aws:ec2/launchTemplate:LaunchTemplate", "lt", map[string]any{"name": "prod-nodes",
					"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"volumeSize": "50", "volumeType": "gp3"}}}}),
				res("eks:index:ManagedNodeGroup", "ng", map[string]any{
					"instanceTypes": []any{"m6i.large"}, "capacityType": "ON_DEMAND",
					"scalingConfig":  map[string]any{"minSize": 3.0, "desiredSize": 3.0, "maxSize": 6.0},
					"launchTemplate": map[string]any{"name": "prod-nodes", "version": "$Latest"},
				}),
			},
			// ceiling: 6 x 730 x 0.096 = 420.48; expected: 3 x 730 x 0.096 = 210.24
			// EBS: 6 x 50 x 0.08 = 24.00; expected 3 x 50 x 0.08 = 12.00
			check: map[string][]want{"ng": {
				{component: "instance hours", qty: 4380, monthly: 420.48, expected: 210.24},
				{component: "EBS storage", qty: 300, monthly: 24.00, expected: 12.00},
			}},
		},
		{
			name: "managed node group without launch template (diskSize, gp2)",
			rs: []inventory.Resource{res("eks:index:ManagedNodeGroup", "ng", map[string]any{
				"instanceTypes": []any{"t3.medium"}, "diskSize": 30.0,
				"scalingConfig": map[string]any{"minSize": 1.0, "desiredSize": 2.0, "maxSize": 3.0},
			})},
			// 3 x 730 x 0.0416 = 91.104 -> 91.10; 2 x 730 x 0.0416 = 60.736 -> 60.74
			// 3 x 30 x 0.10 = 9.00; 2 x 30 x 0.10 = 6.00
			// EKS's own template sets no credit option: t3 unlimited, 3 x 2 x 0.80 x 730 x 0.05 = 175.20
			check: map[string][]want{"ng": {
				{component: "instance hours", monthly: 91.10, expected: 60.74},
				{component: "EBS storage", monthly: 9.00, expected: 6.00},
				{component: credits, monthly: 175.20, expected: -1},
			}},
		},
		{
			name: "NAT gateway + EIP",
			rs: []inventory.Resource{
				res("aws:ec2/natGateway:NatGateway", "nat", map[string]any{"allocationId": inventory.Unknown{}}),
				res("aws:ec2/eip:Eip", "nat-eip", map[string]any{"domain": "vpc"}),
			},
			// 730 x 0.045 = 32.85; 50 GB x 0.045 = 2.25; EIP 730 x 0.005 = 3.65
			check: map[string][]want{
				"nat":     {{component: "NAT hours", monthly: 32.85}, {component: "NAT data", qty: 50, monthly: 2.25, usage: true}},
				"nat-eip": {{component: "public IPv4", qty: 730, monthly: 3.65}},
			},
		},
		{
			name: "NAT data with stack usage",
			rs:   []inventory.Resource{res("aws:ec2/natGateway:NatGateway", "nat", map[string]any{"connectivityType": "private"})},
			usage: func(u *Usage) {
				u.NATDataGBPerGateway = 1000
			},
			// 1000 GB x 0.045 = 45.00
			check: map[string][]want{"nat": {{component: "NAT hours", monthly: 32.85}, {component: "NAT data", monthly: 45.00, usage: true}}},
		},
		{
			name: "internet-facing ALB in 2 subnets",
			rs: []inventory.Resource{res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{
				"loadBalancerType": "application", "internal": false, "subnets": []any{inventory.Unknown{}, inventory.Unknown{}},
			})},
			// 730 x 0.0225 = 16.425 -> 16.43; 1 LCU x 730 x 0.008 = 5.84; 2 x 730 x 0.005 = 7.30
			check: map[string][]want{"alb": {
				{component: "LB hours", monthly: 16.43},
				{component: "LCU", qty: 730, monthly: 5.84, usage: true},
				{component: "public IPv4", qty: 1460, monthly: 7.30},
			}},
		},
		{
			name: "internal NLB, 5 LCU",
			rs: []inventory.Resource{res("aws:lb/loadBalancer:LoadBalancer", "nlb", map[string]any{
				"loadBalancerType": "network", "internal": true, "subnets": []any{"a", "b", "c"},
			})},
			usage: func(u *Usage) { u.LBLCUs = 5 },
			// 730 x 0.0225 = 16.43; 5 x 730 x 0.006 = 21.90; internal: no IPv4
			check: map[string][]want{"nlb": {{component: "LB hours", monthly: 16.43}, {component: "LCU", monthly: 21.90, usage: true}}},
		},
		{
			name: "RDS PostgreSQL Multi-AZ with PI long-term retention and managed secret",
			rs: []inventory.Resource{res("aws:rds/instance:Instance", "db", map[string]any{
				"instanceClass": "db.m6g.large", "engine": "postgres", "multiAz": true, "allocatedStorage": 100.0,
				"storageType": "gp3", "performanceInsightsEnabled": true, "performanceInsightsRetentionPeriod": 31.0,
				"backupRetentionPeriod": 14.0, "manageMasterUserPassword": true,
			})},
			usage: func(u *Usage) { u.BackupGBBeyondFree = 40 },
			// 730 x 0.318 = 232.14; 100 GB x 0.23 = 23.00; backup 40 GB x 0.095 = 3.80;
			// PI 2 vCPU x 2 instances x 3.815 = 15.26; secret 0.40
			check: map[string][]want{"db": {
				{component: "instance hours", monthly: 232.14},
				{component: "storage", qty: 100, monthly: 23.00},
				{component: "backup storage", qty: 40, monthly: 3.80, usage: true},
				{component: "Performance Insights", qty: 4, monthly: 15.26},
				{component: "managed master secret", monthly: 0.40},
			}},
		},
		{
			name: "RDS single-AZ, PI free tier, default backup usage 0",
			rs: []inventory.Resource{res("aws:rds/instance:Instance", "db", map[string]any{
				"instanceClass": "db.t4g.micro", "engine": "postgres", "multiAz": false, "allocatedStorage": 20.0,
				"storageType": "gp3", "performanceInsightsEnabled": true, "performanceInsightsRetentionPeriod": 7.0,
				"backupRetentionPeriod": 7.0,
			})},
			// 730 x 0.016 = 11.68; 20 x 0.115 = 2.30; backup 0 GB = 0.00 (line still shown);
			// credits 2 x 0.90 x 730 x 0.075 = 98.55 (ceiling only)
			check: map[string][]want{"db": {
				{component: "instance hours", monthly: 11.68},
				{component: "storage", monthly: 2.30},
				{component: "backup storage", qty: 0, monthly: 0, usage: true},
				{component: credits, monthly: 98.55, expected: -1},
			}},
		},
		{
			name: "ElastiCache Redis, numCacheClusters",
			rs: []inventory.Resource{res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{
				"nodeType": "cache.m6g.large", "numCacheClusters": 2.0, "engine": "redis",
			})},
			// 2 x 730 x 0.149 = 217.54
			check: map[string][]want{"cache": {{component: "node hours", qty: 1460, monthly: 217.54}}},
		},
		{
			name: "ElastiCache Valkey, cluster mode",
			rs: []inventory.Resource{res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{
				"nodeType": "cache.t4g.small", "numNodeGroups": 2.0, "replicasPerNodeGroup": 1.0, "engine": "valkey",
			})},
			// 2 x (1+1) = 4 nodes x 730 x (0.032 x 0.8 = 0.0256) = 74.752 -> 74.75
			check: map[string][]want{"cache": {{component: "node hours", qty: 2920, monthly: 74.75}}},
		},
		{
			name: "log groups split the stack usage",
			rs: []inventory.Resource{
				res("aws:cloudwatch/logGroup:LogGroup", "lg1", nil),
				res("aws:cloudwatch/logGroup:LogGroup", "lg2", nil),
			},
			// 5 GB / 2 = 2.5 GB x 0.50 = 1.25 each; 10 GB / 2 = 5 GB x 0.03 = 0.15 each
			check: map[string][]want{
				"lg1": {{component: "log ingestion", qty: 2.5, monthly: 1.25, usage: true}, {component: "log storage", qty: 5, monthly: 0.15, usage: true}},
				"lg2": {{component: "log ingestion", monthly: 1.25, usage: true}, {component: "log storage", monthly: 0.15, usage: true}},
			},
		},
		{
			name: "KMS key, secret, dashboard, alarms",
			rs: []inventory.Resource{
				res("aws:kms/key:Key", "key", nil),
				res("aws:secretsmanager/secret:Secret", "sec", nil),
				res("aws:cloudwatch/dashboard:Dashboard", "dash", nil),
				res("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", map[string]any{"period": 300.0}),
				res("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", map[string]any{"period": 10.0}),
			},
			// $1.00, $0.40, $3.00, $0.10, high resolution $0.30
			check: map[string][]want{
				"key":   {{component: "KMS key", monthly: 1.00}},
				"sec":   {{component: "secret", monthly: 0.40}},
				"dash":  {{component: "dashboard", monthly: 3.00}},
				"alarm": {{component: "alarm", monthly: 0.10}},
				"fast":  {{component: "alarm (high resolution)", monthly: 0.30}},
			},
		},
		{
			name: "VPC endpoints: interface priced per AZ, gateway free",
			rs: []inventory.Resource{
				res("aws:ec2/vpcEndpoint:VpcEndpoint", "ecr-api", map[string]any{"vpcEndpointType": "Interface", "subnetIds": []any{"a", "b", "c"}}),
				res("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", map[string]any{"vpcEndpointType": "Gateway"}),
			},
			// 3 AZ x 730 x 0.01 = 21.90; 10 GB x 0.01 = 0.10
			check: map[string][]want{"ecr-api": {{component: "endpoint hours", qty: 2190, monthly: 21.90}, {component: "endpoint data", monthly: 0.10, usage: true}}},
		},
		{
			name: "budget with actions priced once per budget name",
			rs: []inventory.Resource{
				res("aws:budgets/budget:Budget", "b", map[string]any{"name": "dev-monthly"}),
				res("aws:budgets/budget:Budget", "plain", map[string]any{"name": "no-actions"}),
				res("aws:budgets/budgetAction:BudgetAction", "stop-1", map[string]any{"budgetName": "dev-monthly"}),
				res("aws:budgets/budgetAction:BudgetAction", "stop-2", map[string]any{"budgetName": "dev-monthly"}),
			},
			// 730/24 = 30.42 budget-days x 0.10 = 3.042 -> 3.04
			check: map[string][]want{"b": {{component: "action-enabled budget", qty: 30.42, monthly: 3.04}}},
		},
		{
			name: "ECR repository storage",
			rs:   []inventory.Resource{res("aws:ecr/repository:Repository", "repo", nil)},
			// 10 GB x 0.10 = 1.00
			check: map[string][]want{"repo": {{component: "ECR storage", qty: 10, monthly: 1.00, usage: true}}},
		},
		{
			name: "CodeBuild CI runner project (general1.medium), default minutes",
			rs: []inventory.Resource{res("aws:codebuild/project:Project", "runner", map[string]any{
				"environment": map[string]any{"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_MEDIUM", "image": "aws/codebuild/standard:7.0"}})},
			// 900 min x $0.01 = 9.00
			check: map[string][]want{"runner": {{component: "build minutes (BUILD_GENERAL1_MEDIUM)", qty: 900, monthly: 9.00, usage: true}}},
		},
		{
			name: "CodeBuild CI runner project (general1.large), stack minutes",
			rs: []inventory.Resource{res("aws:codebuild/project:Project", "runner", map[string]any{
				"environment": map[string]any{"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_LARGE"}})},
			usage: func(u *Usage) { u.CIRunnerMinutes = 1500 },
			// 1500 min x $0.02 = 30.00
			check: map[string][]want{"runner": {{component: "build minutes (BUILD_GENERAL1_LARGE)", qty: 1500, monthly: 30.00, usage: true}}},
		},
		{
			name: "Kubernetes Service of type LoadBalancer priced as NLB + 3 IPv4",
			rs: []inventory.Resource{
				res("kubernetes:core/v1:Service", "ingress", map[string]any{"spec": map[string]any{"type": "LoadBalancer"}}),
				res("kubernetes:core/v1:Service", "internal-svc", map[string]any{"spec": map[string]any{"type": "ClusterIP"}}),
			},
			// 730 x 0.0225 = 16.43; 1 x 730 x 0.006 = 4.38; 3 x 730 x 0.005 = 10.95
			check: map[string][]want{"ingress": {
				{component: "LB hours", monthly: 16.43}, {component: "LCU", monthly: 4.38, usage: true}, {component: "public IPv4", qty: 2190, monthly: 10.95},
			}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := DefaultUsage()
			if c.usage != nil {
				c.usage(&u)
			}
			est := estimate(t, c.rs, u)
			var sum float64
			for n, ws := range c.check {
				checkLines(t, est, n, ws)
				for _, w := range ws {
					sum += w.monthly
				}
			}
			if !near(est.MonthlyUSD, math.Round(sum*100)/100) {
				t.Errorf("total %.2f, want %.2f (lines %+v)", est.MonthlyUSD, sum, est.Lines)
			}
		})
	}
}

func TestEKSSupportCalendar(t *testing.T) {
	m := model(t)
	for _, c := range []struct {
		version string
		at      time.Time
		hourly  float64
	}{
		{"1.34", time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), 0.10}, // last day of standard support
		{"1.34", time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), 0.60},  // billing starts 00:00 UTC on end of standard support
		{"1.35", at, 0.10},
		{"1.33.4", at, 0.60},
		{"1.27", at, 0.60}, // older than the calendar
		{"1.40", at, 0.10}, // newer than the calendar
	} {
		est, err := m.Estimate([]inventory.Resource{res("eks:index:Cluster", "c", map[string]any{"version": c.version, "skipDefaultNodeGroup": true})}, DefaultUsage(), c.at)
		if err != nil {
			t.Fatal(err)
		}
		if l := est.Lines[0]; !near(l.UnitUSD, c.hourly) || !near(l.MonthlyUSD, c.hourly*730) {
			t.Errorf("%s at %s: %v/h %.2f/mo, want %v/h", c.version, c.at.Format(time.DateOnly), l.UnitUSD, l.MonthlyUSD, c.hourly)
		}
		if est.Assumptions[est.Lines[0].URN+" version"] == "" {
			t.Errorf("%s: no version assumption", c.version)
		}
	}
	// Unknown or absent version: standard, and said so.
	for _, in := range []map[string]any{{"version": inventory.Unknown{}}, {}} {
		in["skipDefaultNodeGroup"] = true
		est, err := m.Estimate([]inventory.Resource{res("eks:index:Cluster", "c", in)}, DefaultUsage(), at)
		if err != nil {
			t.Fatal(err)
		}
		if est.MonthlyUSD != 73 || !strings.Contains(est.Assumptions[est.Lines[0].URN+" version"], "standard support") {
			t.Errorf("%v: %.2f %q", in, est.MonthlyUSD, est.Assumptions[est.Lines[0].URN+" version"])
		}
	}
}

// devStack is the reference dev configuration of the notes: EKS 1.35, 2 x
// t3.medium nodes (max 3, 20 GiB gp3), 1 NAT + EIP, internet-facing ALB in
// 2 subnets, RDS db.t4g.medium Multi-AZ 20 GB gp3 with managed master
// secret, 2 x cache.t4g.small, 2 log groups, 1 KMS key, 1 secret, plus free
// resources.
func devStack() []inventory.Resource {
	return []inventory.Resource{
		res("pulumi:pulumi:Stack", "platform-dev", nil),
		res("pulumi:providers:aws", "aws", nil),
		res("platform:index:Network", "net", nil),
		res("aws:ec2/vpc:Vpc", "vpc", nil),
		res("aws:ec2/subnet:Subnet", "public-a", nil),
		res("aws:ec2/subnet:Subnet", "public-b", nil),
		res("aws:ec2/securityGroup:SecurityGroup", "db-sg", nil),
		res("aws:iam/role:Role", "node-role", nil),
		res("aws:ec2/flowLog:FlowLog", "flow", nil),
		res("aws:sns/topic:Topic", "alerts", nil),
		res("eks:index:Cluster", "eks", map[string]any{"version": "1.35", "skipDefaultNodeGroup": true}),
		res("aws:ec2/launchTemplate:LaunchTemplate", "nodes-lt", map[string]any{"name": "dev-nodes",
			"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 20.0, "volumeType": "gp3"}}},
			"creditSpecification": map[string]any{"cpuCredits": "standard"}}),
		res("eks:index:ManagedNodeGroup", "nodes", map[string]any{
			"instanceTypes": []any{"t3.medium"}, "capacityType": "ON_DEMAND",
			"scalingConfig":  map[string]any{"minSize": 2.0, "desiredSize": 2.0, "maxSize": 3.0},
			"launchTemplate": map[string]any{"name": "dev-nodes", "version": "1"},
		}),
		res("aws:ec2/eip:Eip", "nat-eip", map[string]any{"domain": "vpc"}),
		res("aws:ec2/natGateway:NatGateway", "nat", nil),
		res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"loadBalancerType": "application", "internal": false, "subnets": []any{"a", "b"}}),
		res("aws:rds/instance:Instance", "db", map[string]any{"instanceClass": "db.t4g.medium", "engine": "postgres", "multiAz": true,
			"allocatedStorage": 20.0, "storageType": "gp3", "backupRetentionPeriod": 7.0, "manageMasterUserPassword": true,
			"performanceInsightsEnabled": true, "performanceInsightsRetentionPeriod": 7.0}),
		res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{"nodeType": "cache.t4g.small", "numCacheClusters": 2.0, "engine": "redis"}),
		res("aws:cloudwatch/logGroup:LogGroup", "eks-logs", nil),
		res("aws:cloudwatch/logGroup:LogGroup", "flow-logs", nil),
		res("aws:kms/key:Key", "eks-key", nil),
		res("aws:secretsmanager/secret:Secret", "app", nil),
	}
}

// Reference dev estimate with DefaultUsage (hand-computed, 730 h):
//
//	EKS control plane             730 x 0.10                 =  73.00
//	nodes instance hours   max 3: 3 x 730 x 0.0416 = 91.104  =  91.10  (desired 2: 60.736 = 60.74)
//	nodes EBS              max 3: 3 x 20 x 0.08              =   4.80  (desired 2:  3.20)
//	NAT hours                     730 x 0.045 = 32.85; data 50 x 0.045 = 2.25  =  35.10
//	NAT EIP                       730 x 0.005                =   3.65
//	ALB                           16.425 -> 16.43 + LCU 5.84 + 2 IPv4 7.30     =  29.57
//	nodes CPU credits             standard (launch template): none
//	RDS db.t4g.medium MAZ         730 x 0.130 = 94.90; 20 GB x 0.23 = 4.60; backup 0; secret 0.40 = 99.90
//	RDS CPU credits (ceiling)     2 vCPU x (1 - 0.20) x 730 x 0.075 = 87.60 (expected 0)
//	cache 2 x t4g.small           2 x 730 x 0.032            =  46.72
//	logs                          2 x (1.25 + 0.15)          =   2.80
//	KMS key + secret              1.00 + 0.40                =   1.40
//	ceiling  = 73.00+91.10+4.80+35.10+3.65+29.57+99.90+87.60+46.72+2.80+1.40 = 475.64
//	expected = ceiling - 30.36 (nodes) - 1.60 (EBS) - 87.60 (RDS credits)   = 356.08
func TestReferenceDev(t *testing.T) {
	est := estimate(t, devStack(), DefaultUsage())
	if est.MonthlyUSD != 475.64 || est.ExpectedMonthlyUSD != 356.08 {
		t.Errorf("dev = %.2f ceiling / %.2f expected, want 475.64 / 356.08\n%s", est.MonthlyUSD, est.ExpectedMonthlyUSD, dump(est))
	}
	wantFree := []string{"alerts", "db-sg", "flow", "net", "node-role", "nodes-lt", "platform-dev", "public-a", "public-b", "vpc", "aws"}
	if len(est.Free) != len(wantFree) {
		t.Errorf("free = %v, want %d URNs", est.Free, len(wantFree))
	}
	if est.Assumptions["backupGbBeyondFree"] == "" || !strings.Contains(est.Assumptions["backupGbBeyondFree"], "0 GB beyond free allocation (retention ≤ 7 days)") {
		t.Errorf("backup assumption missing: %q", est.Assumptions["backupGbBeyondFree"])
	}
}

// prodStack: EKS 1.35, 3 x m6i.large (max 6, 50 GiB gp3), 3 NAT + 3 EIP,
// ALB in 3 subnets, RDS db.m6g.large Multi-AZ 100 GB gp3, 2 x cache.m6g.large,
// 3 log groups, 2 KMS keys, 2 secrets, 1 dashboard, 4 alarms, 1 ECR repo.
func prodStack() []inventory.Resource {
	rs := []inventory.Resource{
		res("pulumi:pulumi:Stack", "platform-prod", nil),
		res("eks:index:Cluster", "eks", map[string]any{"version": "1.35", "skipDefaultNodeGroup": true}),
		res("aws:ec2/launchTemplate:LaunchTemplate", "nodes-lt", map[string]any{"name": "prod-nodes",
			"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": "50", "volumeType": "gp3"}}}}),
		res("eks:index:ManagedNodeGroup", "nodes", map[string]any{
			"instanceTypes":  []any{"m6i.large"},
			"scalingConfig":  map[string]any{"minSize": 3.0, "desiredSize": 3.0, "maxSize": 6.0},
			"launchTemplate": map[string]any{"name": "prod-nodes"},
		}),
		res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"subnets": []any{"a", "b", "c"}}),
		res("aws:rds/instance:Instance", "db", map[string]any{"instanceClass": "db.m6g.large", "engine": "postgres", "multiAz": true,
			"allocatedStorage": 100.0, "storageType": "gp3", "backupRetentionPeriod": 7.0}),
		res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{"nodeType": "cache.m6g.large", "numCacheClusters": 2.0}),
		res("aws:cloudwatch/dashboard:Dashboard", "dash", nil),
		res("aws:ecr/repository:Repository", "repo", nil),
	}
	for i := 1; i <= 3; i++ {
		rs = append(rs,
			res("aws:ec2/natGateway:NatGateway", fmt.Sprintf("nat-%d", i), nil),
			res("aws:ec2/eip:Eip", fmt.Sprintf("nat-eip-%d", i), nil),
			res("aws:cloudwatch/logGroup:LogGroup", fmt.Sprintf("logs-%d", i), nil))
	}
	for i := 1; i <= 2; i++ {
		rs = append(rs, res("aws:kms/key:Key", fmt.Sprintf("key-%d", i), nil), res("aws:secretsmanager/secret:Secret", fmt.Sprintf("secret-%d", i), nil))
	}
	for i := 1; i <= 4; i++ {
		rs = append(rs, res("aws:cloudwatch/metricAlarm:MetricAlarm", fmt.Sprintf("alarm-%d", i), map[string]any{"period": 60.0}))
	}
	return rs
}

// Reference prod estimate, usage {natDataGbPerGateway 100, lbLcu 5,
// logIngestGb 50, logStoredGb 100}, other usage defaults:
//
//	EKS                             73.00
//	nodes  max 6: 6 x 730 x 0.096 = 420.48 (desired 3: 210.24)
//	EBS    max 6: 6 x 50 x 0.08   =  24.00 (desired 3: 12.00)
//	NAT    3 x (32.85 + 100 x 0.045 = 4.50)        = 112.05
//	EIP    3 x 3.65                                =  10.95
//	ALB    16.43 + 5 x 730 x 0.008 = 29.20 + 3 x 3.65 = 10.95  =  56.58
//	RDS    730 x 0.318 = 232.14 + 100 x 0.23 = 23.00 + backup 0   = 255.14
//	cache  2 x 730 x 0.149                         = 217.54
//	logs   3 x (50/3 x 0.50 = 8.333 -> 8.33) + 3 x (100/3 x 0.03 = 1.00) = 27.99
//	KMS 2 x 1.00 + secrets 2 x 0.40                =   2.80
//	dashboard 3.00 + alarms 4 x 0.10               =   3.40
//	ECR 10 GB x 0.10                               =   1.00
//	ceiling  = 73+420.48+24+112.05+10.95+56.58+255.14+217.54+27.99+2.80+3.40+1.00 = 1204.93
//	expected = 1204.93 - 210.24 - 12.00 = 982.69
func TestReferenceProd(t *testing.T) {
	u := DefaultUsage()
	u.NATDataGBPerGateway, u.LBLCUs, u.LogIngestGB, u.LogStoredGB = 100, 5, 50, 100
	est := estimate(t, prodStack(), u)
	if est.MonthlyUSD != 1204.93 || est.ExpectedMonthlyUSD != 982.69 {
		t.Errorf("prod = %.2f ceiling / %.2f expected, want 1204.93 / 982.69\n%s", est.MonthlyUSD, est.ExpectedMonthlyUSD, dump(est))
	}
}

func dump(est *Estimate) string {
	var b strings.Builder
	for _, l := range est.Lines {
		fmt.Fprintf(&b, "%-20s %-40s %10.2f %10.2f\n", l.Name, l.Component, l.MonthlyUSD, l.ExpectedMonthlyUSD)
	}
	return b.String()
}

func TestUnknownTypeIsAnError(t *testing.T) {
	r := res("aws:foo/bar:Bar", "x", nil)
	_, err := model(t).Estimate([]inventory.Resource{r}, DefaultUsage(), at)
	want := `cost: no price for resource type "aws:foo/bar:Bar" (urn urn:pulumi:dev::platform::aws:foo/bar:Bar::x): add it to internal/cost/prices.json or to the free list`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	var ute *UnknownTypeError
	if !errors.As(err, &ute) || ute.Type != "aws:foo/bar:Bar" {
		t.Errorf("not an UnknownTypeError: %#v", err)
	}
	// Costly types the model does not price are errors too, not $0.
	for _, typ := range []string{"aws:ec2/instance:Instance", "aws:rds/cluster:Cluster", "eks:index:NodeGroupV2", "aws:s3/bucket:Bucket"} {
		if _, err := model(t).Estimate([]inventory.Resource{res(typ, "x", nil)}, DefaultUsage(), at); err == nil || !strings.Contains(err.Error(), typ) {
			t.Errorf("%s: err = %v", typ, err)
		}
	}
}

func TestUnknownClassIsAnError(t *testing.T) {
	cases := []struct {
		r    inventory.Resource
		want []string
	}{
		{res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"x9.huge"}, "scalingConfig": map[string]any{"maxSize": 2.0, "desiredSize": 1.0}}),
			[]string{`instance type "x9.huge"`, `"ng"`, "ec2.instance.x9.huge"}},
		{res("aws:rds/instance:Instance", "db", map[string]any{"instanceClass": "db.z9.mega", "engine": "postgres", "allocatedStorage": 20.0, "storageType": "gp3"}),
			[]string{`RDS instance class "db.z9.mega postgres single-az"`, `"db"`}},
		{res("aws:rds/instance:Instance", "db", map[string]any{"instanceClass": "db.m6g.large", "engine": "oracle-ee", "allocatedStorage": 20.0, "storageType": "gp3"}),
			[]string{"oracle-ee", `"db"`}},
		{res("aws:rds/instance:Instance", "db", map[string]any{"instanceClass": "db.m6g.large", "engine": "postgres", "allocatedStorage": 20.0, "storageType": "io2"}),
			[]string{`RDS storage type "io2 single-az"`}},
		{res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{"nodeType": "cache.x1.huge", "numCacheClusters": 1.0}),
			[]string{`ElastiCache node type "cache.x1.huge"`, `"cache"`}},
		{res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{"nodeType": inventory.Unknown{}}),
			[]string{"ElastiCache node type is unknown", `"cache"`}},
		{res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": inventory.Unknown{}}),
			[]string{"instanceTypes is unknown", `"ng"`}},
		{res("aws:lb/loadBalancer:LoadBalancer", "gwlb", map[string]any{"loadBalancerType": "gateway"}),
			[]string{`load balancer type "gateway"`}},
		{res("aws:codebuild/project:Project", "runner", map[string]any{"environment": map[string]any{"type": "ARM_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL"}}),
			[]string{`CodeBuild environment "ARM_CONTAINER BUILD_GENERAL1_SMALL"`, "codebuild.arm_container.build_general1_small"}},
		{res("aws:codebuild/project:Project", "runner", map[string]any{"environment": map[string]any{"type": "LINUX_CONTAINER", "computeType": inventory.Unknown{}}}),
			[]string{"CodeBuild compute type is unknown"}},
	}
	for _, c := range cases {
		_, err := model(t).Estimate([]inventory.Resource{c.r}, DefaultUsage(), at)
		var mpe *MissingPriceError
		if err == nil || !errors.As(err, &mpe) {
			t.Errorf("%s: err = %v, want MissingPriceError", c.r.Name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.r.Name, err, w)
			}
		}
		if !strings.Contains(err.Error(), c.r.URN) {
			t.Errorf("error does not name the URN: %v", err)
		}
	}
}

// A snapshot without a row the stack needs is an error, never $0.
func TestMissingPriceRow(t *testing.T) {
	var s Snapshot
	if err := json.Unmarshal(EmbeddedSnapshot(), &s); err != nil {
		t.Fatal(err)
	}
	var kept []PriceRow
	for _, p := range s.Prices {
		if p.Key != "nat.data" && p.Key != "kms.key" {
			kept = append(kept, p)
		}
	}
	s.Prices = kept
	data, _ := json.Marshal(s)
	m, err := LoadSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Estimate([]inventory.Resource{res("aws:ec2/natGateway:NatGateway", "nat", nil), res("aws:kms/key:Key", "k", nil)}, DefaultUsage(), at)
	if err == nil || !strings.Contains(err.Error(), `"nat.data"`) || !strings.Contains(err.Error(), `"kms.key"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadSnapshotValidates(t *testing.T) {
	good := `{"region":"us-east-1","as_of":"2026-11-28","source":"s","prices":[ROW],"eks_versions":[]}`
	row := `{"key":"kms.key","region":"us-east-1","price":1,"unit":"month","source":"s","as_of":"2026-11-28","confidence":"high"}`
	if _, err := LoadSnapshot([]byte(strings.Replace(good, "ROW", row, 1))); err != nil {
		t.Fatalf("good snapshot: %v", err)
	}
	for name, bad := range map[string]string{
		"no source":     strings.Replace(row, `"source":"s"`, `"source":""`, 1),
		"no region":     strings.Replace(row, `"region":"us-east-1"`, `"region":""`, 1),
		"no unit":       strings.Replace(row, `"unit":"month"`, `"unit":""`, 1),
		"bad as_of":     strings.Replace(row, `"as_of":"2026-11-28"`, `"as_of":"soon"`, 1),
		"negative":      strings.Replace(row, `"price":1`, `"price":-1`, 1),
		"confidence":    strings.Replace(row, `"high"`, `"sure"`, 1),
		"duplicate":     row + "," + row,
		"unknown field": strings.Replace(row, `"key"`, `"colour":"red","key"`, 1),
	} {
		if _, err := LoadSnapshot([]byte(strings.Replace(good, "ROW", bad, 1))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Unknown inputs during a preview never crash: fallbacks are priced and
// recorded in the assumptions.
func TestUnknownInputsFallBack(t *testing.T) {
	U := inventory.Unknown{}
	rs := []inventory.Resource{
		res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"t3.large"},
			"scalingConfig": map[string]any{"minSize": 1.0, "desiredSize": 2.0, "maxSize": U}, "diskSize": U}),
		res("aws:lb/loadBalancer:LoadBalancer", "alb", map[string]any{"subnets": U, "internal": U}),
		res("aws:rds/instance:Instance", "db", map[string]any{"instanceClass": "db.t4g.small", "engine": "postgres", "multiAz": U, "allocatedStorage": U, "storageType": "gp3"}),
		res("aws:elasticache/replicationGroup:ReplicationGroup", "cache", map[string]any{"nodeType": "cache.t4g.micro", "numCacheClusters": U}),
		res("aws:ec2/vpcEndpoint:VpcEndpoint", "vpce", map[string]any{"vpcEndpointType": "Interface", "subnetIds": U}),
		res("aws:budgets/budgetAction:BudgetAction", "act", map[string]any{"budgetName": U}),
	}
	est := estimate(t, rs, DefaultUsage())
	// ng: max unknown -> desired 2: 2 x 730 x 0.0832 = 121.472 -> 121.47; disk 20 GiB gp2: 2 x 20 x 0.10 = 4.00;
	// no launch template, t3 defaults to unlimited: 2 x 2 vCPU x 0.70 x 730 x 0.05 = 102.20 (expected none)
	checkLines(t, est, "ng", []want{{component: "instance hours", monthly: 121.47}, {component: "EBS storage", monthly: 4.00},
		{component: credits, monthly: 102.20, expected: -1}})
	// alb: 3 subnets assumed, internet-facing: 16.43 + 5.84 + 3 x 3.65 = 10.95
	checkLines(t, est, "alb", []want{{component: "LB hours", monthly: 16.43}, {component: "LCU", monthly: 5.84, usage: true}, {component: "public IPv4", monthly: 10.95}})
	// db: Multi-AZ assumed: 730 x 0.064 = 46.72; 20 GB x 0.23 = 4.60; credits 2 x 0.80 x 730 x 0.075 = 87.60
	checkLines(t, est, "db", []want{{component: "instance hours", monthly: 46.72}, {component: "storage", monthly: 4.60}, {component: "backup storage", usage: true},
		{component: credits, monthly: 87.60, expected: -1}})
	// cache: 2 nodes assumed: 2 x 730 x 0.016 = 23.36
	checkLines(t, est, "cache", []want{{component: "node hours", monthly: 23.36}})
	// vpce: 3 AZ: 21.90 + 0.10
	checkLines(t, est, "vpce", []want{{component: "endpoint hours", monthly: 21.90}, {component: "endpoint data", monthly: 0.10, usage: true}})
	checkLines(t, est, "act", []want{{component: "action-enabled budget", monthly: 3.04}})
	for _, key := range []string{"ng scalingConfig", "alb subnets", "alb internal", "db multiAz", "db allocatedStorage", "cache numCacheClusters", "vpce subnetIds", "act budgetName"} {
		name, what, _ := strings.Cut(key, " ")
		found := false
		for k := range est.Assumptions {
			if strings.HasSuffix(k, "::"+name+" "+what) {
				found = true
			}
		}
		if !found {
			t.Errorf("no assumption for %s", key)
		}
	}
	// A launch template referenced by an unknown name: the stack's only one.
	lt := res("aws:ec2/launchTemplate:LaunchTemplate", "lt", map[string]any{"name": "x-nodes",
		"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 100.0, "volumeType": "gp3"}}}})
	ng := res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"t3.large"},
		"scalingConfig": map[string]any{"desiredSize": 1.0, "maxSize": 2.0}, "launchTemplate": map[string]any{"name": U, "version": U}})
	est = estimate(t, []inventory.Resource{lt, ng}, DefaultUsage())
	// 2 x 100 GB x 0.08 = 16.00 (expected 1 node: 8.00); the template sets no credit option: t3 unlimited, 102.20
	checkLines(t, est, "ng", []want{{component: "instance hours", monthly: 121.47, expected: 60.74}, {component: "EBS storage", monthly: 16.00, expected: 8.00},
		{component: credits, monthly: 102.20, expected: -1}})
	if a := est.Assumptions[ng.URN+" launchTemplate"]; !strings.Contains(a, "unknown") {
		t.Errorf("launch template assumption %q", a)
	}

	// Node counts all unknown: an error naming the node group.
	_, err := model(t).Estimate([]inventory.Resource{res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"t3.large"},
		"scalingConfig": map[string]any{"minSize": U, "desiredSize": U, "maxSize": U}})}, DefaultUsage(), at)
	if err == nil || !strings.Contains(err.Error(), `"ng"`) {
		t.Errorf("all counts unknown: err = %v", err)
	}
}

func TestSpotPricedOnDemand(t *testing.T) {
	est := estimate(t, []inventory.Resource{res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"m7g.large"}, "capacityType": "SPOT",
		"scalingConfig": map[string]any{"minSize": 1.0, "desiredSize": 1.0, "maxSize": 1.0}})}, DefaultUsage())
	// 730 x 0.0816 = 59.568 -> 59.57; 20 GiB gp2 = 2.00
	checkLines(t, est, "ng", []want{{component: "instance hours", monthly: 59.57}, {component: "EBS storage", monthly: 2.00}})
	if a := est.Assumptions[est.Lines[0].URN+" capacityType"]; !strings.Contains(a, "on-demand") {
		t.Errorf("spot assumption = %q", a)
	}
}

// Children of eks:index components are priced on the component.
func TestEKSComponentChildrenFree(t *testing.T) {
	cluster := res("eks:index:Cluster", "eks", map[string]any{"version": "1.35", "skipDefaultNodeGroup": true})
	child := inventory.Resource{URN: "urn:pulumi:dev::platform::eks:index:Cluster$aws:eks/cluster:Cluster::eks-eksCluster", Type: "aws:eks/cluster:Cluster", Name: "eks-eksCluster", Parent: cluster.URN, Inputs: map[string]any{"version": "1.35"}}
	ngChild := inventory.Resource{URN: "urn:pulumi:dev::platform::aws:eks/nodeGroup:NodeGroup::x", Type: "aws:eks/nodeGroup:NodeGroup", Name: "x", Parent: "urn:pulumi:dev::platform::eks:index:ManagedNodeGroup::ng"}
	ng := res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"t3.medium"}, "scalingConfig": map[string]any{"maxSize": 1.0, "desiredSize": 1.0}})
	est := estimate(t, []inventory.Resource{cluster, child, ng, ngChild}, DefaultUsage())
	// 73.00 + 730 x 0.0416 = 30.368 -> 30.37 + 20 GiB gp2 2.00 + t3 unlimited credits 2 x 0.80 x 730 x 0.05 = 58.40 -> 163.77
	if est.MonthlyUSD != 163.77 {
		t.Errorf("total %.2f, want 163.77\n%s", est.MonthlyUSD, dump(est))
	}
	if len(est.Free) != 2 || est.Assumptions["eksComponentChildren"] == "" {
		t.Errorf("free %v, assumptions %v", est.Free, est.Assumptions["eksComponentChildren"])
	}
}

func TestFreeTypes(t *testing.T) {
	var rs []inventory.Resource
	for i, typ := range []string{
		"pulumi:pulumi:Stack", "pulumi:providers:aws", "pulumi:providers:kubernetes", "platform:index:Database", "aws:ec2/vpc:Vpc",
		"aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/route:Route",
		"aws:ec2/routeTableAssociation:RouteTableAssociation", "aws:ec2/flowLog:FlowLog", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
		"aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
		"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/securityGroupRule:SecurityGroupRule",
		"aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup", "aws:elasticache/subnetGroup:SubnetGroup",
		"aws:elasticache/parameterGroup:ParameterGroup", "aws:kms/alias:Alias", "aws:iam/role:Role", "aws:iam/policy:Policy",
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
		"aws:secretsmanager/secretVersion:SecretVersion", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener",
		"aws:lb/listenerRule:ListenerRule", "aws:autoscaling/attachment:Attachment", "aws:acm/certificate:Certificate",
		"aws:ecr/lifecyclePolicy:LifecyclePolicy", "random:index/randomPassword:RandomPassword", "kubernetes:apps/v1:Deployment",
		"kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release", "aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription",
		"aws:ec2/launchTemplate:LaunchTemplate", "aws:budgets/budget:Budget", "aws:ec2/vpcEndpoint:VpcEndpoint",
		"aws:codebuild/webhook:Webhook", "aws:codeconnections/connection:Connection",
	} {
		rs = append(rs, res(typ, fmt.Sprintf("r%d", i), nil))
	}
	est := estimate(t, rs, DefaultUsage())
	if len(est.Lines) != 0 || len(est.Free) != len(rs) || est.MonthlyUSD != 0 {
		t.Errorf("lines %v, free %d of %d", est.Lines, len(est.Free), len(rs))
	}
	for _, typ := range PricedTypes() {
		if typ != "kubernetes:core/v1:Service" && isFree(typ) {
			t.Errorf("%s is both priced and free", typ)
		}
	}
}

func TestUsage(t *testing.T) {
	d := DefaultUsage()
	if d.HoursPerMonth != 730 || d.NATDataGBPerGateway <= 0 || d.LBLCUs <= 0 || d.LogIngestGB <= 0 || d.LogStoredGB <= 0 || d.ECRStorageGB <= 0 || d.EndpointDataGB <= 0 || d.CIRunnerMinutes <= 0 {
		t.Errorf("defaults: %+v", d)
	}
	if errs := d.Validate(); len(errs) != 0 {
		t.Errorf("defaults invalid: %v", errs)
	}
	bad := d
	bad.NATDataGBPerGateway = -1
	bad.HoursPerMonth = 0
	errs := bad.Validate()
	if len(errs) != 2 || errs[0].Error() != "platform:usage.hoursPerMonth: must be > 0" || errs[1].Error() != "platform:usage.natDataGbPerGateway: must be >= 0" {
		t.Errorf("Validate = %v", errs)
	}
	if _, err := model(t).Estimate(nil, bad, at); err == nil || !strings.Contains(err.Error(), "natDataGbPerGateway") {
		t.Errorf("Estimate with bad usage: %v", err)
	}
	u, err := ParseUsage([]byte(`{"natDataGbPerGateway": 300, "lbLcu": 5}`))
	if err != nil || u.NATDataGBPerGateway != 300 || u.LBLCUs != 5 || u.LogIngestGB != DefaultLogIngestGB {
		t.Errorf("ParseUsage = %+v, %v", u, err)
	}
	if _, err := ParseUsage([]byte(`{"natGb": 3}`)); err == nil || !strings.Contains(err.Error(), "platform:usage.natGb: unknown key") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := ParseUsage([]byte(`{"lbLcu": -2}`)); err == nil || !strings.Contains(err.Error(), "platform:usage.lbLcu: must be >= 0") {
		t.Errorf("negative: %v", err)
	}
	// Every usage key is reported, even with no resources.
	est := estimate(t, nil, d)
	for _, k := range usageKeys() {
		if est.Assumptions[k] == "" {
			t.Errorf("assumption %s missing", k)
		}
	}
	if !strings.Contains(est.Assumptions["natDataGbPerGateway"], "50 GB per NAT gateway per month") {
		t.Errorf("nat assumption: %q", est.Assumptions["natDataGbPerGateway"])
	}
	// Usage drives hourly prices: 360 h x 0.10 = 36.00.
	half := d
	half.HoursPerMonth = 360
	est = estimate(t, []inventory.Resource{res("eks:index:Cluster", "c", map[string]any{"version": "1.35", "skipDefaultNodeGroup": true})}, half)
	if est.MonthlyUSD != 36 {
		t.Errorf("360 h = %.2f", est.MonthlyUSD)
	}
}

func TestLinesSortedAndJSON(t *testing.T) {
	est := estimate(t, devStack(), DefaultUsage())
	if !sort.SliceIsSorted(est.Lines, func(i, j int) bool {
		a, b := est.Lines[i], est.Lines[j]
		return a.URN < b.URN || a.URN == b.URN && a.Component < b.Component
	}) {
		t.Error("lines not sorted by URN, component")
	}
	// Determinism: input order does not matter.
	rs := devStack()
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	a, _ := json.Marshal(est)
	b, _ := json.Marshal(estimate(t, rs, DefaultUsage()))
	if string(a) != string(b) {
		t.Error("estimate depends on input order")
	}
	var generic map[string]any
	if err := json.Unmarshal(a, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"prices", "costs", "free", "monthly_usd", "expected_monthly_usd", "assumptions"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	line := generic["costs"].([]any)[0].(map[string]any)
	for _, k := range []string{"urn", "type", "name", "component", "quantity", "unit", "unit_usd", "monthly_usd", "expected_monthly_usd", "usage_based"} {
		if _, ok := line[k]; !ok {
			t.Errorf("line JSON lacks %q", k)
		}
	}
	// Totals are the sums of rounded lines.
	var sum, exp int64
	for _, l := range est.Lines {
		sum += toCents(l.MonthlyUSD)
		exp += toCents(l.ExpectedMonthlyUSD)
		if l.MonthlyUSD != roundCents(l.MonthlyUSD) {
			t.Errorf("line %s %s not rounded: %v", l.Name, l.Component, l.MonthlyUSD)
		}
	}
	if float64(sum)/100 != est.MonthlyUSD || float64(exp)/100 != est.ExpectedMonthlyUSD {
		t.Errorf("totals %v/%v, sums %v/%v", est.MonthlyUSD, est.ExpectedMonthlyUSD, sum, exp)
	}
}

func TestTop(t *testing.T) {
	est := estimate(t, devStack(), DefaultUsage())
	top := est.Top(3)
	// db 94.90+4.60+0+0.40+87.60 (credits) = 187.50; nodes 91.10+4.80 = 95.90; eks 73.00
	want := []struct {
		name  string
		total float64
	}{{"db", 187.50}, {"nodes", 95.90}, {"eks", 73.00}}
	if len(top) != 3 {
		t.Fatalf("top = %v", top)
	}
	for i, w := range want {
		if top[i].Name != w.name || !near(top[i].MonthlyUSD, w.total) || top[i].Component != "total" {
			t.Errorf("top[%d] = %s %.2f, want %s %.2f", i, top[i].Name, top[i].MonthlyUSD, w.name, w.total)
		}
	}
	if !near(top[1].ExpectedMonthlyUSD, 63.94) { // 60.74 + 3.20
		t.Errorf("nodes expected %.2f", top[1].ExpectedMonthlyUSD)
	}
	if all := est.Top(0); len(all) != 11 {
		t.Errorf("Top(0) = %d resources, want 11 priced", len(all))
	}
}

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		total, ceiling float64
		v              verdict.Verdict
		headroom       float64
	}{
		{100, 200, verdict.OK, 100},
		{179.99, 200, verdict.OK, 20.01},
		{180, 200, verdict.Warn, 20}, // exactly 90 %
		{200, 200, verdict.Warn, 0},  // at the ceiling: not over
		{200.01, 200, verdict.Deny, -0.01},
		{388.04, 350, verdict.Deny, -38.04},
		{0, 0, verdict.OK, 0},
	} {
		v, h := Judge(c.total, c.ceiling)
		if v != c.v || !near(h, c.headroom) {
			t.Errorf("Judge(%v, %v) = %s %v, want %s %v", c.total, c.ceiling, v, h, c.v, c.headroom)
		}
	}
}

func TestRoundCents(t *testing.T) {
	for in, want := range map[float64]float64{
		0.0225 * 730:          16.43, // 16.424999... in float64, 16.425 in decimal
		0.0416 * 730:          30.37, // 30.368
		0.005 * 730:           3.65,
		0.032 * 0.8 * 4 * 730: 74.75, // 74.752
		1.0 / 3:               0.33,
		0.045 * 50:            2.25,
	} {
		if got := roundCents(in); got != want {
			t.Errorf("roundCents(%v) = %v, want %v", in, got, want)
		}
	}
}

// The cost model stays light: no cloud SDK in its (non-test) imports; the
// AWS SDK lives in internal/cost/pricelist only.
func TestNoHeavyImports(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			for _, bad := range []string{"pulumi-aws", "pulumi-eks", "pulumi-kubernetes", "aws-sdk-go", "internal/cost/pricelist"} {
				if strings.Contains(p, bad) {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}

func TestFormatUSD(t *testing.T) {
	for v, want := range map[float64]string{
		0: "$0.00", 34.56: "$34.56", 255.14: "$255.14", 1200: "$1,200.00", 1234.56: "$1,234.56",
		1234567.891: "$1,234,567.89", -34.56: "-$34.56", 999.999: "$1,000.00", -0.001: "$0.00",
	} {
		if got := FormatUSD(v); got != want {
			t.Errorf("FormatUSD(%v) = %s, want %s", v, got, want)
		}
	}
}

// TestEngineViewPricesEKSChildren: under the real engine the pulumi-eks
// components arrive without inputs and their aws:eks children carry the
// facts; the estimate must price the children then (not $0, not twice).
func TestEngineViewPricesEKSChildren(t *testing.T) {
	cluster := res("eks:index:Cluster", "dev", nil)
	ng := res("eks:index:ManagedNodeGroup", "dev-nodes", nil)
	eksChild := res("aws:eks/cluster:Cluster", "dev-eksCluster", map[string]any{"version": "1.35"})
	eksChild.URN = "urn:pulumi:dev::platform::eks:index:Cluster$aws:eks/cluster:Cluster::dev-eksCluster"
	eksChild.Parent = cluster.URN
	ngChild := res("aws:eks/nodeGroup:NodeGroup", "dev-nodes", map[string]any{
		"instanceTypes": []any{"t3.medium"}, "diskSize": 20.0,
		"scalingConfig": map[string]any{"minSize": 2.0, "desiredSize": 2.0, "maxSize": 3.0},
	})
	ngChild.URN = "urn:pulumi:dev::platform::eks:index:ManagedNodeGroup$aws:eks/nodeGroup:NodeGroup::dev-nodes"
	ngChild.Parent = ng.URN
	est, err := model(t).Estimate([]inventory.Resource{cluster, ng, eksChild, ngChild}, DefaultUsage(), at)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, l := range est.Lines {
		got[l.Type+" "+l.Component] += l.MonthlyUSD
	}
	// 730 h × $0.10 control plane; 3 (max) × 730 h × $0.0416 nodes.
	if got["aws:eks/cluster:Cluster control plane hours"] != 73.00 {
		t.Errorf("control plane: %v", got)
	}
	if got["aws:eks/nodeGroup:NodeGroup instance hours"] != 91.10 {
		t.Errorf("node hours: %v", got)
	}
	for _, l := range est.Lines {
		if strings.HasPrefix(l.Type, "eks:index:") {
			t.Errorf("the input-less component is priced too: %+v", l)
		}
	}
}

// A whole scalingConfig unknown in preview: the counts below it are unknown
// too (inventory.Lookup, the reader the rules use), so the node group cannot
// be priced. It is an error naming the node count, never a silent price at
// the default two nodes; policies/rules reports it as an advisory unpriced
// resource (TestCostCeilingWholeScalingConfigUnknown).
func TestWholeScalingConfigUnknownIsNotPricedAtDefaults(t *testing.T) {
	ng := res("eks:index:ManagedNodeGroup", "ng", map[string]any{"instanceTypes": []any{"t3.large"}, "scalingConfig": inventory.Unknown{}})
	est, err := model(t).Estimate([]inventory.Resource{ng}, DefaultUsage(), at)
	var mpe *MissingPriceError
	if !errors.As(err, &mpe) {
		t.Fatalf("err = %v, want MissingPriceError (estimate: %+v)", err, est)
	}
	for _, w := range []string{`"ng"`, ng.URN, "node count scalingConfig.maxSize, scalingConfig.desiredSize and scalingConfig.minSize are all unknown"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}

const credits = "CPU credits (unlimited, worst case)"

// Burstable classes in unlimited mode bill surplus CPU credits on top of
// their hours; the ceiling prices the worst case (every vCPU busy all month
// above the baseline), the expected case none. EC2 T3/T3a/T4g default to
// unlimited, T2 to standard (EC2 User Guide, burstable performance
// instances); a launch template's creditSpecification decides; RDS runs
// db.t3/db.t4g unlimited only.
func TestBurstableCredits(t *testing.T) {
	U := inventory.Unknown{}
	lt := func(name string, credits any) inventory.Resource {
		in := map[string]any{"name": name, "blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 20.0, "volumeType": "gp3"}}}}
		if credits != nil {
			in["creditSpecification"] = map[string]any{"cpuCredits": credits}
		}
		return res("aws:ec2/launchTemplate:LaunchTemplate", name, in)
	}
	ng := func(typ, ltName string) inventory.Resource {
		in := map[string]any{"instanceTypes": []any{typ}, "scalingConfig": map[string]any{"minSize": 2.0, "desiredSize": 2.0, "maxSize": 3.0}}
		if ltName != "" {
			in["launchTemplate"] = map[string]any{"name": ltName}
		}
		return res("eks:index:ManagedNodeGroup", "ng", in)
	}
	hours := func(typ string) want { // 3 nodes max, 2 desired
		p := map[string]float64{"t3.medium": 0.0416, "t4g.medium": 0.0336, "t2.medium": 0.0464, "m6i.large": 0.096}[typ]
		return want{component: "instance hours", monthly: roundCents(3 * 730 * p), expected: roundCents(2 * 730 * p)}
	}
	ebs := want{component: "EBS storage", monthly: 4.80, expected: 3.20}
	for _, c := range []struct {
		name  string
		rs    []inventory.Resource
		lines []want
		note  string
	}{
		// 3 x 2 vCPU x (1 - 0.20) x 730 x 0.05 = 175.20
		{"t3 template without credit option: unlimited", []inventory.Resource{lt("a", nil), ng("t3.medium", "a")},
			[]want{hours("t3.medium"), ebs, {component: credits, qty: 3504, monthly: 175.20, expected: -1}}, "t3 launches unlimited by default"},
		{"t3 template says unlimited", []inventory.Resource{lt("a", "unlimited"), ng("t3.medium", "a")},
			[]want{hours("t3.medium"), ebs, {component: credits, monthly: 175.20, expected: -1}}, "sets unlimited credits"},
		{"t3 template says standard: no surplus", []inventory.Resource{lt("a", "standard"), ng("t3.medium", "a")},
			[]want{hours("t3.medium"), ebs}, "standard credit mode"},
		{"credit option unknown in a preview: the ceiling assumes unlimited", []inventory.Resource{lt("a", U), ng("t3.medium", "a")},
			[]want{hours("t3.medium"), ebs, {component: credits, monthly: 175.20, expected: -1}}, "unknown (preview)"},
		// t4g: 3 x 2 x 0.80 x 730 x 0.04 = 140.16
		{"t4g priced at its own credit rate", []inventory.Resource{lt("a", nil), ng("t4g.medium", "a")},
			[]want{hours("t4g.medium"), ebs, {component: credits, monthly: 140.16, expected: -1}}, "t4g launches unlimited"},
		{"t2 launches standard by default", []inventory.Resource{lt("a", nil), ng("t2.medium", "a")},
			[]want{hours("t2.medium"), ebs}, "t2 launches standard"},
		{"not burstable: no credits", []inventory.Resource{lt("a", nil), ng("m6i.large", "a")},
			[]want{hours("m6i.large"), ebs}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			est := estimate(t, c.rs, DefaultUsage())
			checkLines(t, est, "ng", c.lines)
			if a := est.Assumptions[c.rs[1].URN+" cpuCredits"]; !strings.Contains(a, c.note) {
				t.Errorf("assumption %q does not say %q", a, c.note)
			}
		})
	}

	// RDS: always unlimited; the primary only. db.t4g.micro single-AZ:
	// 2 vCPU x (1 - 0.10) x 730 x 0.075 = 98.55; db.m6g.large: none.
	est := estimate(t, []inventory.Resource{
		res("aws:rds/instance:Instance", "small", map[string]any{"instanceClass": "db.t4g.micro", "engine": "postgres", "multiAz": false,
			"allocatedStorage": 20.0, "storageType": "gp3", "backupRetentionPeriod": 0.0}),
		res("aws:rds/instance:Instance", "big", map[string]any{"instanceClass": "db.m6g.large", "engine": "postgres", "multiAz": true,
			"allocatedStorage": 20.0, "storageType": "gp3", "backupRetentionPeriod": 0.0}),
	}, DefaultUsage())
	checkLines(t, est, "small", []want{{component: "instance hours", monthly: 11.68}, {component: "storage", monthly: 2.30},
		{component: credits, qty: 1314, monthly: 98.55, expected: -1}})
	checkLines(t, est, "big", []want{{component: "instance hours", monthly: 232.14}, {component: "storage", monthly: 4.60}})
	if a := est.Assumptions["urn:pulumi:dev::platform::aws:rds/instance:Instance::small cpuCredits"]; !strings.Contains(a, "unlimited mode only") || !strings.Contains(a, "expected case assumes no surplus") {
		t.Errorf("RDS credit assumption %q", a)
	}

	// A burstable class without a baseline row is an error naming the row,
	// never a silent zero.
	m := model(t)
	snap := m.Snapshot()
	var rows []PriceRow
	for _, p := range snap.Prices {
		if p.Key != "rds.cpu-baseline.db.t4g.micro" {
			rows = append(rows, p)
		}
	}
	snap.Prices = rows
	raw, _ := json.Marshal(snap)
	m2, err := LoadSnapshot(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m2.Estimate([]inventory.Resource{res("aws:rds/instance:Instance", "small", map[string]any{"instanceClass": "db.t4g.micro", "engine": "postgres",
		"multiAz": false, "allocatedStorage": 20.0, "storageType": "gp3"})}, DefaultUsage(), at)
	var mp *MissingPriceError
	if !errors.As(err, &mp) || mp.Key != "rds.cpu-baseline.db.t4g.micro" {
		t.Errorf("missing baseline: err = %v", err)
	}
}
