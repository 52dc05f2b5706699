"""The dev stack's cost breaker at 200 % of the monthly budget.

Two jobs, one function (components/costcontrols.go deploys it; its tests are
test_breaker.py, run by scripts/test-lambda.sh):

1. Scale the EKS node group to zero when AWS Budgets says the stack's ACTUAL
   spend passed 200 % of its budget. Budgets actions can stop RDS and EC2
   instances but not a managed node group (its autoscaling group would
   replace stopped nodes), hence this function. It is subscribed to a topic
   only the 200 % ACTUAL notification publishes to, and still reads that
   notification strictly: nothing else (the daily cost report, forecasts,
   alarms, another stack's budget) ever scales anything. Before scaling it
   takes the group's autoscaling groups away from the Cluster Autoscaler
   (their enabled tag set to "false"): the autoscaler would otherwise start
   nodes again for the pods left Pending.

2. Keep the RDS instance stopped while the emergency holds. RDS starts a
   stopped instance by itself after 7 days (RDS-EVENT-0154), and the Budgets
   action that stopped it does not fire again that month. The emergency
   holds while the 200 % stop action has executed and was not reversed or
   reset (its status); the runbook's reset lifts it. On RDS-EVENT-0154 and
   RDS-EVENT-0088 ("has been started") the function stops the instance again
   while the emergency holds, and tells the alerts topic either way.

boto3 ships with the Lambda runtime: no build step, no dependencies.
"""

import json
import os
import re

import boto3
from botocore.exceptions import ClientError

AUTO_START = "RDS-EVENT-0154"  # started after 7 days stopped
STARTED = "RDS-EVENT-0088"  # the DB instance has been started

# Budget action statuses under which the emergency holds: the stop action
# ran (or is running, or its reversal failed). STANDBY, PENDING and the
# REVERSE_/RESET_ in-progress or success states mean it was lifted.
HOLDING = {"EXECUTION_IN_PROGRESS", "EXECUTION_SUCCESS", "EXECUTION_FAILURE", "REVERSE_FAILURE", "RESET_FAILURE"}

_HEADER = re.compile(r"^AWS Budget Notification\b")
_ACCOUNT = re.compile(r"^AWS Account [0-9]{12}\s*$", re.M)
_FIELD = re.compile(r"^([A-Za-z ]+):[ \t]*(.*?)[ \t]*$", re.M)
_MONEY = r"\$([0-9][0-9,]*(?:\.[0-9]+)?)"
_AMOUNT = re.compile("^" + _MONEY + "$")
_THRESHOLD = re.compile(r"^>\s*(?:" + _MONEY + r"|([0-9]+(?:\.[0-9]+)?)\s*%)$")


class NotABudgetNotification(ValueError):
    """The text is not an AWS Budgets cost notification."""


def parse_budget_notification(text):
    """Read an AWS Budgets cost notification as Budgets publishes it to SNS.

    The same reading as the tenant service's (service/internal/sns/budget.go):
    header, account, Budget Name, Budget Type Cost, Budgeted Amount, Alert Type
    ACTUAL or FORECASTED, Alert Threshold "> $N" (a percentage threshold is
    shown in dollars) or "> N%". Returns a dict with budget_name, alert_type,
    budgeted, threshold and percent (one decimal).
    """
    text = (text or "").replace("\r\n", "\n")
    if not _HEADER.match(text.lstrip(" \t\n")) or not _ACCOUNT.search(text):
        raise NotABudgetNotification("no 'AWS Budget Notification' header and account line")
    fields = {}
    for name, value in _FIELD.findall(text):
        key = name.strip().lower()
        if key in fields:
            raise NotABudgetNotification("%r appears twice" % name)
        fields[key] = value

    def need(key):
        value = fields.get(key, "")
        if not value:
            raise NotABudgetNotification("no %r line" % key)
        return value

    budget_name = need("budget name")
    if need("budget type").lower() != "cost":
        raise NotABudgetNotification("not a cost budget")
    alert_type = need("alert type").upper()
    if alert_type not in ("ACTUAL", "FORECASTED"):
        raise NotABudgetNotification("alert type %r" % alert_type)
    m = _AMOUNT.match(need("budgeted amount"))
    if not m:
        raise NotABudgetNotification("budgeted amount is not a dollar amount")
    budgeted = float(m.group(1).replace(",", ""))
    if budgeted <= 0:
        raise NotABudgetNotification("budgeted amount is not positive")
    t = _THRESHOLD.match(need("alert threshold"))
    if not t:
        raise NotABudgetNotification("alert threshold is neither '> $N' nor '> N%'")
    if t.group(1):
        threshold = float(t.group(1).replace(",", ""))
        percent = threshold / budgeted * 100
    else:
        percent = float(t.group(2))
        threshold = budgeted * percent / 100
    # Budgets rounds the dollar figures to cents: 200 % of $333.33 reads
    # $666.66, 199.997 %, which is 200.0 % to one decimal.
    return {"budget_name": budget_name, "alert_type": alert_type, "budgeted": budgeted,
            "threshold": threshold, "percent": round(percent, 1)}


def config():
    """The function's environment (components/costcontrols.go sets it)."""
    e = os.environ
    return {
        "budget_name": e["BUDGET_NAME"],
        "threshold": float(e["THRESHOLD_PERCENT"]),
        "emergency_topic": e["EMERGENCY_TOPIC_ARN"],
        "alerts_topic": e["ALERTS_TOPIC_ARN"],
        "cluster": e["CLUSTER_NAME"],
        "nodegroup": e["NODEGROUP_NAME"],
        "nodegroup_max": int(e["NODEGROUP_MAX"]),
        "autoscaler_tag": e["AUTOSCALER_TAG"],
        "db_instance": e["DB_INSTANCE_ID"],
        "db_instance_arn": e["DB_INSTANCE_ARN"],
        "account": e["ACCOUNT_ID"],
        "stop_db_action": e["STOP_DB_ACTION_ID"],
    }


_CLIENTS = {}


def client(name):
    """One boto3 client per service, made on first use (tests put stubbed ones here)."""
    if name not in _CLIENTS:
        _CLIENTS[name] = boto3.client(name)
    return _CLIENTS[name]


def log(**fields):
    print(json.dumps(fields, sort_keys=True))


def handler(event, context):
    cfg = config()
    if isinstance(event, dict) and "Records" in event:
        return [on_sns_record(r, cfg) for r in event["Records"]]
    if isinstance(event, dict) and event.get("source") == "aws.rds":
        return on_rds_event(event, cfg)
    log(action="ignored", why="neither an SNS delivery nor an RDS event")
    return {"action": "ignored"}


def on_sns_record(record, cfg):
    sns = record.get("Sns") or {}
    if record.get("EventSource") != "aws:sns" or sns.get("TopicArn") != cfg["emergency_topic"]:
        log(action="ignored", why="not a delivery of the emergency topic", topic=sns.get("TopicArn"))
        return {"action": "ignored", "why": "topic"}
    try:
        n = parse_budget_notification(sns.get("Message", ""))
    except NotABudgetNotification as e:
        log(action="ignored", why="not a budget notification: %s" % e, message_id=sns.get("MessageId"))
        return {"action": "ignored", "why": "not a budget notification"}
    if n["budget_name"] != cfg["budget_name"]:
        log(action="ignored", why="another budget", budget=n["budget_name"])
        return {"action": "ignored", "why": "another budget"}
    if n["alert_type"] != "ACTUAL":
        log(action="ignored", why="forecasted spend", percent=n["percent"])
        return {"action": "ignored", "why": "forecast"}
    if n["percent"] < cfg["threshold"]:
        log(action="ignored", why="below the emergency threshold", percent=n["percent"])
        return {"action": "ignored", "why": "below threshold"}
    stop_autoscaler(cfg)
    client("eks").update_nodegroup_config(
        clusterName=cfg["cluster"],
        nodegroupName=cfg["nodegroup"],
        scalingConfig={"minSize": 0, "maxSize": cfg["nodegroup_max"], "desiredSize": 0},
    )
    notify(cfg, "node group scaled to zero",
           "AWS Budgets reports ACTUAL spend of budget %s above %.1f %% of its $%.2f (threshold $%.2f).\n"
           "The dev cost breaker scaled node group %s of cluster %s to zero (minimum 0, desired 0, maximum %d).\n"
           "Reset: docs/runbooks/cost-breaker.md." % (n["budget_name"], n["percent"], n["budgeted"], n["threshold"],
                                                       cfg["nodegroup"], cfg["cluster"], cfg["nodegroup_max"]))
    log(action="scaled node group to zero", cluster=cfg["cluster"], nodegroup=cfg["nodegroup"], percent=n["percent"])
    return {"action": "scaled to zero"}


def stop_autoscaler(cfg):
    """Tag the node group's autoscaling groups enabled=false. The Cluster
    Autoscaler discovers, and its role may only resize, groups tagged
    enabled=true (components/autoscaler.go), so it lets go of them; the
    runbook's reset sets the tag back."""
    group = client("eks").describe_nodegroup(clusterName=cfg["cluster"], nodegroupName=cfg["nodegroup"])
    for asg in (group["nodegroup"].get("resources") or {}).get("autoScalingGroups") or []:
        client("autoscaling").create_or_update_tags(Tags=[{
            "ResourceId": asg["name"], "ResourceType": "auto-scaling-group",
            "Key": cfg["autoscaler_tag"], "Value": "false", "PropagateAtLaunch": False}])


def emergency_status(cfg):
    """The 200 % stop action's status, or None when it cannot be read."""
    try:
        out = client("budgets").describe_budget_action(
            AccountId=cfg["account"], BudgetName=cfg["budget_name"], ActionId=cfg["stop_db_action"])
        return out["Action"]["Status"]
    except ClientError as e:
        log(action="could not read the budget action", error=str(e))
        return None


def on_rds_event(event, cfg):
    detail = event.get("detail") or {}
    event_id = detail.get("EventID")
    if (event.get("detail-type") != "RDS DB Instance Event" or event_id not in (AUTO_START, STARTED)
            or detail.get("SourceArn") != cfg["db_instance_arn"]):
        log(action="ignored", why="not a start of the stack's database", event_id=event_id, source=detail.get("SourceArn"))
        return {"action": "ignored"}
    status = emergency_status(cfg)
    # Fail safe: an unreadable status keeps the database stopped (cost first).
    holds = status is None or status in HOLDING
    db = cfg["db_instance"]
    if not holds:
        if event_id == AUTO_START:
            notify(cfg, "database restarted, emergency lifted",
                   "RDS restarted %s after 7 days stopped (%s). The 200 %% stop action of budget %s is %s: "
                   "the emergency was lifted, so the database is left running." % (db, AUTO_START, cfg["budget_name"], status))
        log(action="left running", event_id=event_id, status=status)
        return {"action": "left running", "status": status}
    try:
        client("rds").stop_db_instance(DBInstanceIdentifier=db)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "InvalidDBInstanceState":
            raise
        # Still starting: RDS-EVENT-0088 follows once it is up, and stops it.
        notify(cfg, "database restarting, will stop again",
               "RDS is restarting %s after 7 days stopped (%s) while the cost emergency holds (200 %% stop action "
               "of budget %s: %s). It is stopped again as soon as it is up (%s)." % (db, event_id, cfg["budget_name"], status, STARTED))
        log(action="stop deferred until started", event_id=event_id, status=status)
        return {"action": "stop deferred", "status": status}
    notify(cfg, "database stopped again",
           "%s was started (%s) while the cost emergency holds (200 %% stop action of budget %s: %s); "
           "the breaker stopped it again. Reset: docs/runbooks/cost-breaker.md." % (db, event_id, cfg["budget_name"], status))
    log(action="stopped again", event_id=event_id, status=status)
    return {"action": "stopped", "status": status}


def notice(cfg, what, message):
    """What the function publishes to the alerts topic (mail and the service,
    which ignores it: it is not a budget notification)."""
    return {"TopicArn": cfg["alerts_topic"], "Subject": ("[%s] cost breaker: %s" % (cfg["budget_name"], what))[:99], "Message": message}


def notify(cfg, what, message):
    client("sns").publish(**notice(cfg, what, message))
