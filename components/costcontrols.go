package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/budgets"
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
	// BreakerEndpoint, when set, is the tenant service's SNS endpoint
	// (https://…/v1/breaker/sns) that turns alerts into breaker levels.
	BreakerEndpoint string
	// DeployRoleName is the role the freeze policy is attached to at 100 %
	// (the CI deploy role). Required.
	DeployRoleName pulumi.StringInput
	// StopServingAt200 stops the RDS instance (Budgets action) and scales
	// the node group to zero (SNS-triggered function) at 200 %. dev only:
	// prod pages and freezes but never stops serving.
	StopServingAt200 bool
	// DatabaseInstanceID, ClusterName, NodeGroupName and Region are what the
	// 200 % stop acts on; required when StopServingAt200.
	DatabaseInstanceID pulumi.StringInput
	ClusterName        string
	NodeGroupName      pulumi.StringInput
	NodeGroupMaxSize   int // restored max size the function keeps while scaling to zero
	Region             string
	AccountID          pulumi.StringInput // required when StopServingAt200
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
	case out.BreakerEndpoint != "" && !strings.HasPrefix(out.BreakerEndpoint, "https://"):
		return out, fmt.Errorf("CostControlsArgs.BreakerEndpoint: %q must be an https:// URL", out.BreakerEndpoint)
	case out.StopServingAt200 && (out.DatabaseInstanceID == nil || out.ClusterName == "" || out.NodeGroupName == nil || out.NodeGroupMaxSize < 1 || out.Region == "" || out.AccountID == nil):
		return out, fmt.Errorf("CostControlsArgs: StopServingAt200 needs DatabaseInstanceID, ClusterName, NodeGroupName, NodeGroupMaxSize, Region and AccountID")
	}
	for _, e := range out.AlertEmails {
		if !strings.Contains(e, "@") {
			return out, fmt.Errorf("CostControlsArgs.AlertEmails: %q is not an email address", e)
		}
	}
	return out, nil
}

// CostControls is the monthly budget with alarms at 90/100/200 % and the
// circuit breakers that act on them: the freeze at 100 % and, in dev, the
// stop at 200 %. Every alert goes to one SNS topic, which mails people and
// tells the tenant service its breaker level.
type CostControls struct {
	pulumi.ResourceState

	TopicArn         pulumi.StringOutput `pulumi:"topicArn"`
	BudgetName       pulumi.StringOutput `pulumi:"budgetName"`
	FreezePolicyArn  pulumi.StringOutput `pulumi:"freezePolicyArn"`
	ExecutionRoleArn pulumi.StringOutput `pulumi:"executionRoleArn"`
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

	topic, err := sns.NewTopic(ctx, name+"-alerts", &sns.TopicArgs{
		DisplayName: pulumi.String("platform " + a.Stack + " cost and health alerts"),
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
	if a.BreakerEndpoint != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-breaker", &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("https"), Endpoint: pulumi.String(a.BreakerEndpoint),
			// The service verifies the SNS signature and reads the raw
			// Budgets message to set normal/warn/freeze/emergency.
			RawMessageDelivery: pulumi.Bool(false),
		}, parent); err != nil {
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
	}, parent, afterPolicy)
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

	if a.StopServingAt200 {
		if err := newEmergencyStop(ctx, name, a, budget, execRole, topic, subscribers, parent, afterPolicy); err != nil {
			return nil, err
		}
	}

	c.TopicArn = topic.Arn
	c.BudgetName = budget.Name
	c.FreezePolicyArn = freeze.Arn
	c.ExecutionRoleArn = execRole.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"topicArn":         c.TopicArn,
		"budgetName":       c.BudgetName,
		"freezePolicyArn":  c.FreezePolicyArn,
		"executionRoleArn": c.ExecutionRoleArn,
	})
}

// emergencyStopCode scales the node group to zero when a Budgets alert for
// >= 200 % arrives. Budgets actions can stop RDS and EC2 instances but not an
// EKS managed node group (its autoscaling group would replace stopped
// nodes), so this part is an SNS-triggered function. boto3 ships with the
// Lambda runtime: the code needs no build step.
const emergencyStopCode = `import json, os, re
import boto3

THRESHOLD = float(os.environ["THRESHOLD_PERCENT"])

def percent(message):
    # Budgets notifications name the threshold, e.g. "... exceeded your alert threshold (> 200%)".
    found = re.findall(r"(\d+(?:\.\d+)?)\s*%", message)
    return max((float(x) for x in found), default=0.0)

def handler(event, context):
    for record in event.get("Records", []):
        message = record.get("Sns", {}).get("Message", "")
        if percent(message) < THRESHOLD:
            continue
        eks = boto3.client("eks")
        group = eks.describe_nodegroup(clusterName=os.environ["CLUSTER_NAME"], nodegroupName=os.environ["NODEGROUP_NAME"])
        # First take the group away from the Cluster Autoscaler, which would
        # otherwise start nodes again for the pods left Pending: it only
        # discovers, and its role only resizes, groups tagged enabled=true.
        for asg in group["nodegroup"].get("resources", {}).get("autoScalingGroups", []):
            boto3.client("autoscaling").create_or_update_tags(Tags=[{
                "ResourceId": asg["name"], "ResourceType": "auto-scaling-group",
                "Key": os.environ["AUTOSCALER_TAG"], "Value": "false", "PropagateAtLaunch": False}])
        eks.update_nodegroup_config(
            clusterName=os.environ["CLUSTER_NAME"],
            nodegroupName=os.environ["NODEGROUP_NAME"],
            scalingConfig={"minSize": 0, "desiredSize": 0, "maxSize": int(os.environ["NODEGROUP_MAX"])},
        )
        print(json.dumps({"action": "scaled node group to zero", "cluster": os.environ["CLUSTER_NAME"]}))
`

func newEmergencyStop(ctx *pulumi.Context, name string, a CostControlsArgs, budget *budgets.Budget, execRole *iam.Role,
	topic *sns.Topic, subscribers budgets.BudgetActionSubscriberArray, opts ...pulumi.ResourceOption) error {
	if _, err := budgets.NewBudgetAction(ctx, name+"-stop-db", &budgets.BudgetActionArgs{
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
	}, opts...); err != nil {
		return err
	}

	role, err := iam.NewRole(ctx, name+"-emergency-stop", &iam.RoleArgs{
		Description: pulumi.String("dev cost breaker (200 %): scales the node group to zero"),
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
	nodeGroupArn := pulumi.Sprintf("arn:aws:eks:%s:%s:nodegroup/%s/%s/*", a.Region, a.AccountID, a.ClusterName, a.NodeGroupName)
	if _, err := iam.NewRolePolicy(ctx, name+"-emergency-stop", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: nodeGroupArn.ApplyT(func(arn string) (string, error) {
			return jsonString(map[string]any{
				"Version": "2012-10-17",
				"Statement": []any{
					map[string]any{"Sid": "ScaleNodeGroup", "Effect": "Allow",
						"Action": []string{"eks:UpdateNodegroupConfig", "eks:DescribeNodegroup"}, "Resource": arn},
					// Only the autoscaler switch, only on this cluster's groups.
					map[string]any{"Sid": "StopTheAutoscaler", "Effect": "Allow", "Action": "autoscaling:CreateOrUpdateTags", "Resource": "*",
						"Condition": map[string]any{
							"StringEquals":              map[string]any{"aws:ResourceTag/" + AutoscalerClusterTag(a.ClusterName): "owned"},
							"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{AutoscalerEnabledTag}},
						}},
					map[string]any{"Sid": "Logs", "Effect": "Allow",
						"Action":   []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
						"Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*"},
				},
			})
		}).(pulumi.StringOutput),
	}, opts...); err != nil {
		return err
	}
	fn, err := lambda.NewFunction(ctx, name+"-emergency-stop", &lambda.FunctionArgs{
		Runtime: pulumi.String("python3.12"),
		Handler: pulumi.String("index.handler"),
		Role:    role.Arn,
		Timeout: pulumi.Int(30),
		Code: pulumi.NewAssetArchive(map[string]interface{}{
			"index.py": pulumi.NewStringAsset(emergencyStopCode),
		}),
		Environment: &lambda.FunctionEnvironmentArgs{Variables: pulumi.StringMap{
			"CLUSTER_NAME":      pulumi.String(a.ClusterName),
			"NODEGROUP_NAME":    a.NodeGroupName,
			"NODEGROUP_MAX":     pulumi.String(fmt.Sprint(a.NodeGroupMaxSize)),
			"AUTOSCALER_TAG":    pulumi.String(AutoscalerEnabledTag),
			"THRESHOLD_PERCENT": pulumi.String(fmt.Sprint(EmergencyPercent)),
		}},
	}, opts...)
	if err != nil {
		return err
	}
	if _, err := lambda.NewPermission(ctx, name+"-emergency-stop", &lambda.PermissionArgs{
		Action: pulumi.String("lambda:InvokeFunction"), Function: fn.Name,
		Principal: pulumi.String("sns.amazonaws.com"), SourceArn: topic.Arn,
	}, opts...); err != nil {
		return err
	}
	_, err = sns.NewTopicSubscription(ctx, name+"-emergency-stop", &sns.TopicSubscriptionArgs{
		Topic: topic.Arn, Protocol: pulumi.String("lambda"), Endpoint: fn.Arn,
	}, opts...)
	return err
}
