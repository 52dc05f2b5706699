package components

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/budgets"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Breaker thresholds, in percent of the monthly budget. Each level also
// names the tenant service breaker level the alert sets.
const (
	WarnPercent      = 90  // warn: metric and log; mail
	FreezePercent    = 100 // freeze: deploy role may not create or scale billable resources
	EmergencyPercent = 200 // emergency: dev stops the database and the nodes; prod pages
)

// CostControlsArgs configures CostControls.
type CostControlsArgs struct {
	// BudgetName names the AWS budget; required. Budgets are account-wide,
	// so the budget is filtered to resources tagged stack=<Stack>.
	BudgetName string
	Stack      string
	// MonthlyBudgetUSD is the budget amount; required, > 0.
	MonthlyBudgetUSD float64
	// AlertEmails receive every budget alert and the daily cost report.
	AlertEmails []string
	// DeployRoleName is the role the freeze policy is attached to at 100 %
	// (the CI deploy role). Required.
	DeployRoleName pulumi.StringInput
	// StopServingAt200 stops the RDS instance (Budgets action) and scales
	// the node group to zero (SNS-triggered function) at 200 %. dev only:
	// prod pages and freezes but never stops serving.
	StopServingAt200 bool
	// DatabaseInstanceID (and its ARN), ClusterName, NodeGroupName and Region
	// are what the 200 % stop acts on; required when StopServingAt200.
	DatabaseInstanceID  pulumi.StringInput
	DatabaseInstanceArn pulumi.StringInput
	ClusterName         string
	NodeGroupName       pulumi.StringInput
	NodeGroupMaxSize    int // restored max size the function keeps while scaling to zero
	Region              string
	AccountID           pulumi.StringInput // required when StopServingAt200
}

func (a *CostControlsArgs) withDefaults() (CostControlsArgs, error) {
	out := *a
	switch {
	case out.BudgetName == "" || out.Stack == "":
		return out, fmt.Errorf("CostControlsArgs.BudgetName and Stack: required")
	case out.MonthlyBudgetUSD <= 0:
		return out, fmt.Errorf("CostControlsArgs.MonthlyBudgetUSD: %v must be positive", out.MonthlyBudgetUSD)
	case out.DeployRoleName == nil:
		return out, fmt.Errorf("CostControlsArgs.DeployRoleName: required (the role the 100 %% freeze applies to)")
	case out.StopServingAt200 && (out.DatabaseInstanceID == nil || out.DatabaseInstanceArn == nil || out.ClusterName == "" || out.NodeGroupName == nil ||
		out.NodeGroupMaxSize < 1 || out.Region == "" || out.AccountID == nil):
		return out, fmt.Errorf("CostControlsArgs: StopServingAt200 needs DatabaseInstanceID, DatabaseInstanceArn, ClusterName, NodeGroupName, NodeGroupMaxSize, Region and AccountID")
	case out.StopServingAt200 && len(out.AlertEmails) > MaxBudgetEmailSubscribers:
		return out, fmt.Errorf("CostControlsArgs.AlertEmails: %d addresses; the 200 %% notification mails them directly and AWS Budgets allows %d email subscribers per notification", len(out.AlertEmails), MaxBudgetEmailSubscribers)
	}
	for _, e := range out.AlertEmails {
		if !strings.Contains(e, "@") {
			return out, fmt.Errorf("CostControlsArgs.AlertEmails: %q is not an email address", e)
		}
	}
	return out, nil
}

// MaxBudgetEmailSubscribers is AWS Budgets' limit of email subscribers per
// notification (Budgets API Reference, Notification: "one SNS subscriber and
// up to 10 email subscribers").
const MaxBudgetEmailSubscribers = 10

// CostControls is the monthly budget with alarms at 90/100/200 % and the
// circuit breakers that act on them: the freeze at 100 % and, in dev, the
// stop at 200 %. Every alert goes to the alerts topic, which mails people and
// tells the tenant service its breaker level; in dev the 200 % ACTUAL alert
// goes to a topic of its own instead (a Budgets notification has one SNS
// subscriber), which only Budgets may publish to, so the function that scales
// the nodes to zero hears nothing else. That notification mails
// AlertEmails directly.
type CostControls struct {
	pulumi.ResourceState

	TopicArn pulumi.StringOutput `pulumi:"topicArn"`
	// EmergencyTopicArn is the dev 200 % topic ("" elsewhere).
	EmergencyTopicArn pulumi.StringOutput `pulumi:"emergencyTopicArn"`
	// BreakerTopicArns are the topics the tenant service's breaker hook is
	// subscribed to: every topic a budget alert arrives on.
	BreakerTopicArns pulumi.StringArrayOutput `pulumi:"breakerTopicArns"`
	// BreakerTopicCount is len(BreakerTopicArns), known before deploy.
	BreakerTopicCount int
	BudgetName        pulumi.StringOutput `pulumi:"budgetName"`
	FreezePolicyArn   pulumi.StringOutput `pulumi:"freezePolicyArn"`
	ExecutionRoleArn  pulumi.StringOutput `pulumi:"executionRoleArn"`
}

// FreezeActions are what the 100 % breaker denies the deploy role: creating
// or growing anything that bills by the hour. Deleting and shrinking stay
// allowed, so the way back under budget is never blocked.
var FreezeActions = []string{
	"ec2:RunInstances", "ec2:CreateNatGateway", "ec2:AllocateAddress", "ec2:CreateVpcEndpoint",
	"ec2:ModifyInstanceAttribute",
	"autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup", "autoscaling:SetDesiredCapacity",
	"rds:CreateDBInstance", "rds:CreateDBCluster", "rds:ModifyDBInstance", "rds:RestoreDBInstanceFromDBSnapshot",
	"rds:RestoreDBInstanceToPointInTime", "rds:CreateDBInstanceReadReplica",
	"elasticache:CreateReplicationGroup", "elasticache:CreateCacheCluster", "elasticache:ModifyReplicationGroup",
	"elasticache:IncreaseReplicaCount", "elasticache:ModifyReplicationGroupShardConfiguration",
	"eks:CreateCluster", "eks:CreateNodegroup", "eks:UpdateNodegroupConfig", "eks:CreateFargateProfile",
	"elasticloadbalancing:CreateLoadBalancer",
}

// NewCostControls creates CostControls.
func NewCostControls(ctx *pulumi.Context, name string, args *CostControlsArgs, opts ...pulumi.ResourceOption) (*CostControls, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &CostControls{}
	if err := ctx.RegisterComponentResource("platform:components:CostControls", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	// SignatureVersion 2 (SHA256): topics sign with SHA1 unless told
	// otherwise, and the service accepts SHA256 only.
	topic, err := sns.NewTopic(ctx, name+"-alerts", &sns.TopicArgs{
		DisplayName:      pulumi.String("platform " + a.Stack + " cost and health alerts"),
		SignatureVersion: pulumi.Int(2),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Budgets and CloudWatch alarms may publish, only from this account;
	// EventBridge only for the stack's own rules (<BudgetName>-*), as its
	// documented SNS target policy keys on aws:SourceArn.
	topicPolicy, err := sns.NewTopicPolicy(ctx, name+"-alerts", &sns.TopicPolicyArgs{
		Arn: topic.Arn,
		Policy: topic.Arn.ApplyT(func(arn string) (string, error) {
			parts := strings.Split(arn, ":")
			return jsonString(map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{
					map[string]any{
						"Sid": "AWSServicesPublish", "Effect": "Allow", "Action": "sns:Publish", "Resource": arn,
						"Principal": map[string]any{"Service": []string{"budgets.amazonaws.com", "cloudwatch.amazonaws.com"}},
						"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": parts[4]}},
					},
					map[string]any{
						"Sid": "StackEventRulesPublish", "Effect": "Allow", "Action": "sns:Publish", "Resource": arn,
						"Principal": map[string]any{"Service": "events.amazonaws.com"},
						"Condition": map[string]any{"ArnLike": map[string]any{
							"aws:SourceArn": fmt.Sprintf("arn:aws:events:%s:%s:rule/%s-*", parts[3], parts[4], a.BudgetName)}},
					},
				},
			})
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Budgets validates that it may publish to the topic when the budget or
	// an action is created: both wait for the policy.
	afterPolicy := pulumi.DependsOn([]pulumi.Resource{topicPolicy})
	for i, email := range a.AlertEmails {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-email-%d", name, i), &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(email),
		}, parent); err != nil {
			return nil, err
		}
	}
	// dev: the 200 % ACTUAL alert's own topic; only Budgets of this account
	// may publish to it.
	var emergency *sns.Topic
	emergencyPolicy := topicPolicy
	if a.StopServingAt200 {
		emergency, err = sns.NewTopic(ctx, name+"-emergency", &sns.TopicArgs{
			DisplayName:      pulumi.String("platform " + a.Stack + " budget at 200 % (actual)"),
			SignatureVersion: pulumi.Int(2),
		}, parent)
		if err != nil {
			return nil, err
		}
		emergencyPolicy, err = sns.NewTopicPolicy(ctx, name+"-emergency", &sns.TopicPolicyArgs{
			Arn: emergency.Arn,
			Policy: emergency.Arn.ApplyT(func(arn string) (string, error) {
				return jsonString(map[string]any{
					"Version": "2012-10-17",
					"Statement": []any{map[string]any{
						"Sid": "OnlyBudgetsPublish", "Effect": "Allow", "Action": "sns:Publish", "Resource": arn,
						"Principal": map[string]any{"Service": "budgets.amazonaws.com"},
						"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": strings.Split(arn, ":")[4]}},
					}},
				})
			}).(pulumi.StringOutput),
		}, parent)
		if err != nil {
			return nil, err
		}
	}

	notification := func(threshold float64, kind string) *budgets.BudgetNotificationArgs {
		n := &budgets.BudgetNotificationArgs{
			ComparisonOperator:     pulumi.String("GREATER_THAN"),
			Threshold:              pulumi.Float64(threshold),
			ThresholdType:          pulumi.String("PERCENTAGE"),
			NotificationType:       pulumi.String(kind),
			SubscriberSnsTopicArns: pulumi.StringArray{topic.Arn},
		}
		if emergency != nil && threshold == EmergencyPercent && kind == "ACTUAL" {
			n.SubscriberSnsTopicArns = pulumi.StringArray{emergency.Arn}
			n.SubscriberEmailAddresses = pulumi.ToStringArray(a.AlertEmails)
		}
		return n
	}
	budget, err := budgets.NewBudget(ctx, name, &budgets.BudgetArgs{
		Name:        pulumi.String(a.BudgetName),
		BudgetType:  pulumi.String("COST"),
		LimitAmount: pulumi.String(fmt.Sprintf("%.2f", a.MonthlyBudgetUSD)),
		LimitUnit:   pulumi.String("USD"),
		TimeUnit:    pulumi.String("MONTHLY"),
		CostFilters: budgets.BudgetCostFilterArray{&budgets.BudgetCostFilterArgs{
			Name:   pulumi.String("TagKeyValue"),
			Values: pulumi.StringArray{pulumi.String("user:stack$" + a.Stack)},
		}},
		Notifications: budgets.BudgetNotificationArray{
			notification(WarnPercent, "ACTUAL"),
			notification(FreezePercent, "ACTUAL"),
			notification(FreezePercent, "FORECASTED"),
			notification(EmergencyPercent, "ACTUAL"),
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{topicPolicy, emergencyPolicy}))
	if err != nil {
		return nil, err
	}

	freeze, err := iam.NewPolicy(ctx, name+"-freeze", &iam.PolicyArgs{
		Description: pulumi.String("cost breaker (100 % of budget): no new or larger billable resources"),
		Policy: pulumi.String(mustJSON(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Sid": "CostFreeze", "Effect": "Deny", "Action": FreezeActions, "Resource": "*",
			}},
		})),
	}, parent)
	if err != nil {
		return nil, err
	}
	// Budgets assumes this role to run the actions, and may only attach the
	// freeze policy (and, in dev, stop the database).
	execRole, err := iam.NewRole(ctx, name+"-budget-actions", &iam.RoleArgs{
		Description: pulumi.String("AWS Budgets runs the cost breakers with this role"),
		AssumeRolePolicy: pulumi.String(mustJSON(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRole",
				"Principal": map[string]any{"Service": "budgets.amazonaws.com"},
			}},
		})),
	}, parent)
	if err != nil {
		return nil, err
	}
	execPolicy := pulumi.All(freeze.Arn, a.DeployRoleName).ApplyT(func(v []any) (string, error) {
		stmts := []any{
			map[string]any{"Sid": "AttachFreeze", "Effect": "Allow",
				"Action":    []string{"iam:AttachRolePolicy", "iam:DetachRolePolicy"},
				"Resource":  "arn:aws:iam::*:role/" + v[1].(string),
				"Condition": map[string]any{"ArnEquals": map[string]any{"iam:PolicyARN": v[0].(string)}}},
		}
		if a.StopServingAt200 {
			stmts = append(stmts, map[string]any{"Sid": "StopDatabase", "Effect": "Allow",
				"Action":   []string{"rds:StopDBInstance", "rds:DescribeDBInstances", "ssm:StartAutomationExecution", "ssm:GetAutomationExecution"},
				"Resource": "*"})
		}
		return jsonString(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name+"-budget-actions", &iam.RolePolicyArgs{Role: execRole.ID(), Policy: execPolicy}, parent); err != nil {
		return nil, err
	}

	subscribers := budgets.BudgetActionSubscriberArray{&budgets.BudgetActionSubscriberArgs{
		SubscriptionType: pulumi.String("SNS"), Address: topic.Arn,
	}}
	if _, err := budgets.NewBudgetAction(ctx, name+"-freeze", &budgets.BudgetActionArgs{
		BudgetName:       budget.Name,
		ActionType:       pulumi.String("APPLY_IAM_POLICY"),
		ApprovalModel:    pulumi.String("AUTOMATIC"),
		NotificationType: pulumi.String("ACTUAL"),
		ExecutionRoleArn: execRole.Arn,
		ActionThreshold: &budgets.BudgetActionActionThresholdArgs{
			ActionThresholdType: pulumi.String("PERCENTAGE"), ActionThresholdValue: pulumi.Float64(FreezePercent),
		},
		Definition: &budgets.BudgetActionDefinitionArgs{
			IamActionDefinition: &budgets.BudgetActionDefinitionIamActionDefinitionArgs{
				PolicyArn: freeze.Arn,
				Roles:     pulumi.StringArray{a.DeployRoleName},
			},
		},
		Subscribers: subscribers,
	}, parent, afterPolicy); err != nil {
		return nil, err
	}

	c.TopicArn = topic.Arn
	c.EmergencyTopicArn = pulumi.String("").ToStringOutput()
	c.BreakerTopicArns = pulumi.StringArray{topic.Arn}.ToStringArrayOutput()
	c.BreakerTopicCount = 1
	if a.StopServingAt200 {
		if err := newEmergencyStop(ctx, name, a, budget, execRole, topic, emergency, subscribers, parent, afterPolicy); err != nil {
			return nil, err
		}
		c.EmergencyTopicArn = emergency.Arn
		c.BreakerTopicArns = pulumi.StringArray{topic.Arn, emergency.Arn}.ToStringArrayOutput()
		c.BreakerTopicCount = 2
	}
	c.BudgetName = budget.Name
	c.FreezePolicyArn = freeze.Arn
	c.ExecutionRoleArn = execRole.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"topicArn":          c.TopicArn,
		"emergencyTopicArn": c.EmergencyTopicArn,
		"breakerTopicArns":  c.BreakerTopicArns,
		"budgetName":        c.BudgetName,
		"freezePolicyArn":   c.FreezePolicyArn,
		"executionRoleArn":  c.ExecutionRoleArn,
	})
}

// breakerCode is the dev breaker function (components/lambda/breaker.py,
// tested by components/lambda/test_breaker.py): it scales the node group to
// zero on the 200 % ACTUAL alert of this budget and keeps the database
// stopped while the emergency holds. boto3 ships with the Lambda runtime: no
// build step.
//
//go:embed lambda/breaker.py
var breakerCode string

// BreakerFunctionEnv are the environment variables breaker.py's config()
// reads; the component sets exactly these.
var BreakerFunctionEnv = []string{"BUDGET_NAME", "THRESHOLD_PERCENT", "EMERGENCY_TOPIC_ARN", "ALERTS_TOPIC_ARN", "CLUSTER_NAME",
	"NODEGROUP_NAME", "NODEGROUP_MAX", "AUTOSCALER_TAG", "DB_INSTANCE_ID", "DB_INSTANCE_ARN", "ACCOUNT_ID", "STOP_DB_ACTION_ID"}

// RDS events the dev breaker acts on (RDS User Guide, USER_Events.Messages,
// DB instance events, category notification): RDS-EVENT-0154 the instance
// is being started because it exceeded the maximum time stopped (7 days),
// RDS-EVENT-0088 the instance has been started.
const (
	RDSAutoStartEvent = "RDS-EVENT-0154"
	RDSStartedEvent   = "RDS-EVENT-0088"
)

// Rule names, <BudgetName>-...: the alerts topic admits EventBridge rules of
// the stack's prefix.
const (
	AutoStartRuleSuffix = "-rds-auto-start"
	StartedRuleSuffix   = "-rds-started"
)

func newEmergencyStop(ctx *pulumi.Context, name string, a CostControlsArgs, budget *budgets.Budget, execRole *iam.Role,
	topic, emergency *sns.Topic, subscribers budgets.BudgetActionSubscriberArray, opts ...pulumi.ResourceOption) error {
	stopDB, err := budgets.NewBudgetAction(ctx, name+"-stop-db", &budgets.BudgetActionArgs{
		BudgetName:       budget.Name,
		ActionType:       pulumi.String("RUN_SSM_DOCUMENTS"),
		ApprovalModel:    pulumi.String("AUTOMATIC"),
		NotificationType: pulumi.String("ACTUAL"),
		ExecutionRoleArn: execRole.Arn,
		ActionThreshold: &budgets.BudgetActionActionThresholdArgs{
			ActionThresholdType: pulumi.String("PERCENTAGE"), ActionThresholdValue: pulumi.Float64(EmergencyPercent),
		},
		Definition: &budgets.BudgetActionDefinitionArgs{
			SsmActionDefinition: &budgets.BudgetActionDefinitionSsmActionDefinitionArgs{
				ActionSubType: pulumi.String("STOP_RDS_INSTANCES"),
				InstanceIds:   pulumi.StringArray{a.DatabaseInstanceID},
				Region:        pulumi.String(a.Region),
			},
		},
		Subscribers: subscribers,
	}, opts...)
	if err != nil {
		return err
	}

	role, err := iam.NewRole(ctx, name+"-emergency-stop", &iam.RoleArgs{
		Description: pulumi.String("dev cost breaker (200 %): scales the node group to zero, keeps the database stopped"),
		AssumeRolePolicy: pulumi.String(mustJSON(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRole",
				"Principal": map[string]any{"Service": "lambda.amazonaws.com"},
			}},
		})),
	}, opts...)
	if err != nil {
		return err
	}
	policy := pulumi.All(a.AccountID, a.NodeGroupName, a.DatabaseInstanceArn, stopDB.ActionId, topic.Arn).ApplyT(func(v []any) (string, error) {
		account := v[0].(string)
		return jsonString(map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{"Sid": "ScaleNodeGroup", "Effect": "Allow", "Action": []string{"eks:UpdateNodegroupConfig", "eks:DescribeNodegroup"},
					"Resource": fmt.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/*", a.Region, account, a.ClusterName, v[1])},
				// Only the autoscaler switch, only on this cluster's groups.
				map[string]any{"Sid": "StopTheAutoscaler", "Effect": "Allow", "Action": "autoscaling:CreateOrUpdateTags", "Resource": "*",
					"Condition": map[string]any{
						"StringEquals":              map[string]any{"aws:ResourceTag/" + AutoscalerClusterTag(a.ClusterName): "owned"},
						"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{AutoscalerEnabledTag}},
					}},
				map[string]any{"Sid": "KeepDatabaseStopped", "Effect": "Allow", "Action": "rds:StopDBInstance", "Resource": v[2]},
				map[string]any{"Sid": "ReadEmergencyState", "Effect": "Allow", "Action": "budgets:DescribeBudgetAction",
					"Resource": fmt.Sprintf("arn:aws:budgets::%s:budget/%s/action/%s", account, a.BudgetName, v[3])},
				map[string]any{"Sid": "Tell", "Effect": "Allow", "Action": "sns:Publish", "Resource": v[4]},
				map[string]any{"Sid": "Logs", "Effect": "Allow",
					"Action":   []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
					"Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*"},
			},
		})
	}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, name+"-emergency-stop", &iam.RolePolicyArgs{Role: role.ID(), Policy: policy}, opts...)
	if err != nil {
		return err
	}
	fn, err := lambda.NewFunction(ctx, name+"-emergency-stop", &lambda.FunctionArgs{
		Runtime: pulumi.String("python3.12"),
		Handler: pulumi.String("breaker.handler"),
		Role:    role.Arn,
		Timeout: pulumi.Int(60),
		Code: pulumi.NewAssetArchive(map[string]interface{}{
			"breaker.py": pulumi.NewStringAsset(breakerCode),
		}),
		Environment: &lambda.FunctionEnvironmentArgs{Variables: pulumi.StringMap{
			"BUDGET_NAME":         pulumi.String(a.BudgetName),
			"THRESHOLD_PERCENT":   pulumi.String(fmt.Sprint(EmergencyPercent)),
			"EMERGENCY_TOPIC_ARN": emergency.Arn,
			"ALERTS_TOPIC_ARN":    topic.Arn,
			"CLUSTER_NAME":        pulumi.String(a.ClusterName),
			"NODEGROUP_NAME":      a.NodeGroupName,
			"NODEGROUP_MAX":       pulumi.String(fmt.Sprint(a.NodeGroupMaxSize)),
			"AUTOSCALER_TAG":      pulumi.String(AutoscalerEnabledTag),
			"DB_INSTANCE_ID":      a.DatabaseInstanceID,
			"DB_INSTANCE_ARN":     a.DatabaseInstanceArn,
			"ACCOUNT_ID":          a.AccountID,
			"STOP_DB_ACTION_ID":   stopDB.ActionId,
		}},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))...)
	if err != nil {
		return err
	}

	// The 200 % topic invokes the function; nothing else publishes there.
	snsInvoke, err := lambda.NewPermission(ctx, name+"-emergency-stop", &lambda.PermissionArgs{
		Action: pulumi.String("lambda:InvokeFunction"), Function: fn.Name,
		Principal: pulumi.String("sns.amazonaws.com"), SourceArn: emergency.Arn,
	}, opts...)
	if err != nil {
		return err
	}
	if _, err := sns.NewTopicSubscription(ctx, name+"-emergency-stop", &sns.TopicSubscriptionArgs{
		Topic: emergency.Arn, Protocol: pulumi.String("lambda"), Endpoint: fn.Arn,
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{snsInvoke}))...); err != nil {
		return err
	}

	// RDS restarts a stopped instance after 7 days: the auto-start event goes
	// to the alerts topic (people hear of it whatever happens next) and to
	// the function, which stops the instance again while the emergency
	// holds; "has been started" reaches the function too, as the instance
	// can only be stopped once it is up.
	rule := func(suffix, description, eventID string, toTopic bool) error {
		pattern := a.DatabaseInstanceArn.ToStringOutput().ApplyT(func(arn string) (string, error) {
			return jsonString(map[string]any{
				"source":      []string{"aws.rds"},
				"detail-type": []string{"RDS DB Instance Event"},
				"detail":      map[string]any{"SourceArn": []string{arn}, "EventID": []string{eventID}},
			})
		}).(pulumi.StringOutput)
		r, err := cloudwatch.NewEventRule(ctx, name+suffix, &cloudwatch.EventRuleArgs{
			Name:         pulumi.String(a.BudgetName + suffix),
			Description:  pulumi.String(description),
			EventPattern: pattern,
		}, opts...)
		if err != nil {
			return err
		}
		invoke, err := lambda.NewPermission(ctx, name+suffix, &lambda.PermissionArgs{
			Action: pulumi.String("lambda:InvokeFunction"), Function: fn.Name,
			Principal: pulumi.String("events.amazonaws.com"), SourceArn: r.Arn,
		}, opts...)
		if err != nil {
			return err
		}
		if _, err := cloudwatch.NewEventTarget(ctx, name+suffix+"-function", &cloudwatch.EventTargetArgs{
			Rule: r.Name, Arn: fn.Arn,
		}, append(opts, pulumi.DependsOn([]pulumi.Resource{invoke}))...); err != nil {
			return err
		}
		if toTopic {
			_, err = cloudwatch.NewEventTarget(ctx, name+suffix+"-topic", &cloudwatch.EventTargetArgs{
				Rule: r.Name, Arn: topic.Arn,
			}, opts...)
		}
		return err
	}
	if err := rule(AutoStartRuleSuffix, "dev cost breaker: RDS restarts the stopped database after 7 days; stop it again while the emergency holds",
		RDSAutoStartEvent, true); err != nil {
		return err
	}
	return rule(StartedRuleSuffix, "dev cost breaker: the database has been started; stop it again while the emergency holds",
		RDSStartedEvent, false)
}
