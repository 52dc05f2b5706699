package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MonitoringArgs configures Monitoring.
type MonitoringArgs struct {
	// DashboardName; required.
	DashboardName string
	// Region of the metrics; required. Billing metrics live in us-east-1.
	Region string
	// DatabaseInstanceID names the RDS instance in metrics; its ARN selects
	// its storage events. Required.
	DatabaseInstanceID    string
	DatabaseInstanceArn   pulumi.StringInput
	CacheMemberIDs        []string // ElastiCache node ids; required
	LoadBalancerArnSuffix pulumi.StringInput
	TargetGroupArnSuffix  pulumi.StringInput
	NodeASGName           pulumi.StringInput
	// AlarmTopicArn receives every alarm and its recovery. Required.
	AlarmTopicArn pulumi.StringInput
	// Thresholds; defaults 80 % CPU, 80 % Redis memory, 5 % of requests
	// answered 5xx. Storage is judged by RDS itself (StorageEventIDs).
	CPUPercent, RedisMemoryPercent, Error5xxPercent float64
}

func (a *MonitoringArgs) withDefaults() (MonitoringArgs, error) {
	out := *a
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&out.CPUPercent, 80)
	def(&out.RedisMemoryPercent, 80)
	def(&out.Error5xxPercent, 5)
	switch {
	case out.DashboardName == "" || out.Region == "" || out.DatabaseInstanceID == "":
		return out, fmt.Errorf("MonitoringArgs.DashboardName, Region and DatabaseInstanceID: required")
	case out.DatabaseInstanceArn == nil || len(out.CacheMemberIDs) == 0:
		return out, fmt.Errorf("MonitoringArgs.DatabaseInstanceArn and CacheMemberIDs: required")
	case out.LoadBalancerArnSuffix == nil || out.TargetGroupArnSuffix == nil || out.NodeASGName == nil || out.AlarmTopicArn == nil:
		return out, fmt.Errorf("MonitoringArgs: load balancer, target group, node group and topic inputs are required")
	}
	return out, nil
}

// Monitoring is one CloudWatch dashboard per stack and the alarms that page
// through the alerts topic.
type Monitoring struct {
	pulumi.ResourceState

	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
}

// NewMonitoring creates Monitoring.
func NewMonitoring(ctx *pulumi.Context, name string, args *MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Monitoring{}
	if err := ctx.RegisterComponentResource("platform:components:Monitoring", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)

	body := pulumi.All(a.LoadBalancerArnSuffix, a.TargetGroupArnSuffix, a.NodeASGName).ApplyT(func(v []any) (string, error) {
		return DashboardBody(a, v[0].(string), v[1].(string), v[2].(string))
	}).(pulumi.StringOutput)
	dash, err := cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(a.DashboardName),
		DashboardBody: body,
	}, parent)
	if err != nil {
		return nil, err
	}

	actions := pulumi.Array{a.AlarmTopicArn}
	alarm := func(aname string, args *cloudwatch.MetricAlarmArgs) error {
		args.AlarmActions = actions
		args.OkActions = actions
		if args.TreatMissingData == nil {
			args.TreatMissingData = pulumi.String("missing")
		}
		_, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+aname, args, parent)
		return err
	}
	if err := alarm("rds-cpu", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("RDS %s CPU above %.0f %% for 15 minutes", a.DatabaseInstanceID, a.CPUPercent),
		Namespace:        pulumi.String("AWS/RDS"), MetricName: pulumi.String("CPUUtilization"),
		Dimensions: pulumi.StringMap{"DBInstanceIdentifier": pulumi.String(a.DatabaseInstanceID)},
		Statistic:  pulumi.String("Average"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(3),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(a.CPUPercent),
	}); err != nil {
		return nil, err
	}
	// Storage: with autoscaling on, a threshold computed from the size at
	// deploy time goes stale as RDS grows the disk (a 10 %-of-20 GB alarm
	// is 2 % of a grown 100 GB). RDS judges against the current size and
	// the autoscaling ceiling itself and says so in events, which this rule
	// forwards to the alerts topic.
	if err := newStorageEvents(ctx, name, a, parent); err != nil {
		return nil, err
	}
	for _, id := range a.CacheMemberIDs {
		if err := alarm("redis-memory-"+id[len(id)-3:], &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("Redis %s memory above %.0f %%", id, a.RedisMemoryPercent),
			Namespace:        pulumi.String("AWS/ElastiCache"), MetricName: pulumi.String("DatabaseMemoryUsagePercentage"),
			Dimensions: pulumi.StringMap{"CacheClusterId": pulumi.String(id)},
			Statistic:  pulumi.String("Average"), Period: pulumi.Int(300), EvaluationPeriods: pulumi.Int(2),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(a.RedisMemoryPercent),
		}); err != nil {
			return nil, err
		}
	}
	lbDims := pulumi.StringMap{"LoadBalancer": a.LoadBalancerArnSuffix}
	metric := func(id, metricName string, ret bool) *cloudwatch.MetricAlarmMetricQueryArgs {
		return &cloudwatch.MetricAlarmMetricQueryArgs{
			Id: pulumi.String(id), ReturnData: pulumi.Bool(ret),
			Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
				Namespace: pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String(metricName),
				Dimensions: lbDims, Period: pulumi.Int(300), Stat: pulumi.String("Sum"),
			},
		}
	}
	if err := alarm("lb-5xx-rate", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("more than %.0f %% of requests answered 5xx (service and load balancer)", a.Error5xxPercent),
		MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
			metric("target5xx", "HTTPCode_Target_5XX_Count", false),
			metric("elb5xx", "HTTPCode_ELB_5XX_Count", false),
			metric("requests", "RequestCount", false),
			&cloudwatch.MetricAlarmMetricQueryArgs{
				Id: pulumi.String("rate"), Label: pulumi.String("5xx %"), ReturnData: pulumi.Bool(true),
				Expression: pulumi.String("100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / IF(requests > 0, requests, 1)"),
			},
		},
		EvaluationPeriods: pulumi.Int(2), ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		Threshold: pulumi.Float64(a.Error5xxPercent), TreatMissingData: pulumi.String("notBreaching"),
	}); err != nil {
		return nil, err
	}
	if err := alarm("unhealthy-targets", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String("load balancer sees unhealthy tenant service targets for 3 minutes"),
		Namespace:        pulumi.String("AWS/ApplicationELB"), MetricName: pulumi.String("UnHealthyHostCount"),
		Dimensions: pulumi.StringMap{"LoadBalancer": a.LoadBalancerArnSuffix, "TargetGroup": a.TargetGroupArnSuffix},
		Statistic:  pulumi.String("Maximum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(3),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"), Threshold: pulumi.Float64(0),
	}); err != nil {
		return nil, err
	}

	m.DashboardName = dash.DashboardName
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"dashboardName": m.DashboardName})
}

// DashboardBody renders the dashboard JSON. Every widget names resources of
// the stack; tests check the JSON parses and references them.
func DashboardBody(a MonitoringArgs, lbSuffix, tgSuffix, asgName string) (string, error) {
	widget := func(x, y int, title string, metrics [][]any, region string) map[string]any {
		return map[string]any{
			"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
			"properties": map[string]any{"title": title, "region": region, "view": "timeSeries", "stat": "Average", "period": 300, "metrics": metrics},
		}
	}
	db := a.DatabaseInstanceID
	var cacheCPU, cacheMem, cacheEvict [][]any
	for _, id := range a.CacheMemberIDs {
		cacheCPU = append(cacheCPU, []any{"AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", id})
		cacheMem = append(cacheMem, []any{"AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", id})
		cacheEvict = append(cacheEvict, []any{"AWS/ElastiCache", "Evictions", "CacheClusterId", id, map[string]any{"stat": "Sum"}})
	}
	widgets := []any{
		widget(0, 0, "RDS CPU % and connections", [][]any{
			{"AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", db},
			{"AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", db, map[string]any{"yAxis": "right"}},
		}, a.Region),
		widget(12, 0, "RDS free storage (bytes) and replica lag", [][]any{
			{"AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db},
			{"AWS/RDS", "ReplicaLag", "DBInstanceIdentifier", db, map[string]any{"yAxis": "right"}},
		}, a.Region),
		widget(0, 6, "Redis engine CPU %", cacheCPU, a.Region),
		widget(12, 6, "Redis memory % and evictions", append(cacheMem, cacheEvict...), a.Region),
		widget(0, 12, "Load balancer 5xx and latency", [][]any{
			{"AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lbSuffix, map[string]any{"stat": "Sum"}},
			{"AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lbSuffix, map[string]any{"stat": "Sum"}},
			{"AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lbSuffix, map[string]any{"stat": "p99", "yAxis": "right"}},
		}, a.Region),
		widget(12, 12, "Node group capacity: healthy targets and node CPU", [][]any{
			{"AWS/ApplicationELB", "HealthyHostCount", "TargetGroup", tgSuffix, "LoadBalancer", lbSuffix},
			{"AWS/EC2", "CPUUtilization", "AutoScalingGroupName", asgName, map[string]any{"yAxis": "right"}},
		}, a.Region),
		// Billing metrics exist only in us-east-1, whatever the stack's region.
		widget(0, 18, "Estimated charges (account, USD)", [][]any{
			{"AWS/Billing", "EstimatedCharges", "Currency", "USD", map[string]any{"stat": "Maximum", "period": 21600}},
		}, "us-east-1"),
	}
	return jsonString(map[string]any{"widgets": widgets})
}

// StorageEventIDs are the RDS events that say storage is really running out
// (USER_Events.Messages, RDS User Guide): RDS-EVENT-0225 allocated storage
// at 80 % of the autoscaling maximum, RDS-EVENT-0224 a pending autoscaling
// step would reach the maximum, RDS-EVENT-0223 autoscaling cannot scale,
// RDS-EVENT-0007 storage exhausted. An RDS event subscription filters only by
// category, which would also mail RDS-EVENT-0089 before every routine
// autoscaling step, so an EventBridge rule picks exactly these.
var StorageEventIDs = []string{"RDS-EVENT-0225", "RDS-EVENT-0224", "RDS-EVENT-0223", "RDS-EVENT-0007"}

// StorageRuleSuffix names the EventBridge rule (<DashboardName>-rds-storage);
// the alerts topic admits rules of the stack's prefix.
const StorageRuleSuffix = "-rds-storage"

func newStorageEvents(ctx *pulumi.Context, name string, a MonitoringArgs, opts ...pulumi.ResourceOption) error {
	pattern := a.DatabaseInstanceArn.ToStringOutput().ApplyT(func(arn string) (string, error) {
		return jsonString(map[string]any{
			"source":      []string{"aws.rds"},
			"detail-type": []string{"RDS DB Instance Event"},
			"detail":      map[string]any{"SourceArn": []string{arn}, "EventID": StorageEventIDs},
		})
	}).(pulumi.StringOutput)
	rule, err := cloudwatch.NewEventRule(ctx, name+StorageRuleSuffix, &cloudwatch.EventRuleArgs{
		Name:         pulumi.String(a.DashboardName + StorageRuleSuffix),
		Description:  pulumi.Sprintf("RDS %s storage near or at its autoscaling ceiling, or exhausted", a.DatabaseInstanceID),
		EventPattern: pattern,
	}, opts...)
	if err != nil {
		return err
	}
	_, err = cloudwatch.NewEventTarget(ctx, name+StorageRuleSuffix, &cloudwatch.EventTargetArgs{
		Rule: rule.Name,
		Arn:  a.AlarmTopicArn,
	}, opts...)
	return err
}
