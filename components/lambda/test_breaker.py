"""Unit tests of the dev cost breaker function (breaker.py).

Run by scripts/test-lambda.sh (part of scripts/test.sh): python3 -m unittest
with botocore's Stubber, so every AWS call the function makes is checked
against the API model and its parameters, and no call reaches AWS. The
messages are the recorded AWS shapes of testdata/aws (sources in its
README). UPDATE=1 rewrites the notices the function publishes
(testdata/aws/other/breaker-*.json), which the tenant service's harness
then delivers to the service.
"""

import io
import json
import os
import pathlib
import unittest
from contextlib import redirect_stdout

import boto3
from botocore.stub import Stubber

import breaker

TESTDATA = pathlib.Path(__file__).resolve().parents[2] / "testdata" / "aws"

ENV = {
    "BUDGET_NAME": "platform-dev",
    "THRESHOLD_PERCENT": "200",
    "EMERGENCY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:platform-dev-cost-emergency",
    "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:platform-dev-cost-alerts",
    "CLUSTER_NAME": "platform-dev",
    "NODEGROUP_NAME": "platform-dev-nodes-1a2b3c4d",
    "NODEGROUP_MAX": "3",
    "AUTOSCALER_TAG": "k8s.io/cluster-autoscaler/enabled",
    "DB_INSTANCE_ID": "platform-dev-db",
    "DB_INSTANCE_ARN": "arn:aws:rds:us-east-1:123456789012:db:platform-dev-db",
    "ACCOUNT_ID": "123456789012",
    "STOP_DB_ACTION_ID": "a1b2c3d4-5678-90ab-cdef-1234567890ab",
}


def published(rel):
    """A message as its publisher hands it to SNS: (subject, message)."""
    m = json.loads((TESTDATA / rel).read_text())
    return m.get("Subject", ""), m["Message"]


def sns_event(topic, subject, message):
    """An SNS delivery as Lambda receives it (Lambda Developer Guide, "Using
    Lambda with Amazon SNS": Records[].Sns, SigningCertUrl/UnsubscribeUrl)."""
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": topic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
        "Sns": {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": topic,
            "Subject": subject,
            "Message": message,
            "Timestamp": "2026-11-30T06:12:09.092Z",
            "SignatureVersion": "2",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":2bcfbf39",
            "MessageAttributes": {},
        },
    }]}


def rds_event(event_id, source_arn=ENV["DB_INSTANCE_ARN"]):
    ev = json.loads((TESTDATA / "other" / "rds-auto-start-event.json").read_text())
    ev["detail"]["EventID"] = event_id
    ev["detail"]["SourceArn"] = source_arn
    if event_id == breaker.STARTED:
        ev["detail"]["Message"] = "DB instance started"
    return ev


class BreakerTest(unittest.TestCase):
    def setUp(self):
        self._env = dict(os.environ)
        os.environ.update(ENV)
        # Clients never reach AWS: the Stubber answers, and these keep
        # botocore from looking for real credentials or a metadata service.
        os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
        self.stubs = {}
        # Every AWS call in the order made, across clients (a Stubber checks
        # the order per client only).
        self.calls = []
        for name in ("eks", "sns", "rds", "budgets", "autoscaling"):
            c = boto3.client(name, region_name="us-east-1")
            c.meta.events.register("before-parameter-build", lambda model, _n=name, **kw: self.calls.append("%s.%s" % (_n, model.name)))
            s = Stubber(c)
            s.activate()
            breaker._CLIENTS[name] = c
            self.stubs[name] = s

    def tearDown(self):
        for s in self.stubs.values():
            s.assert_no_pending_responses()
            s.deactivate()
        breaker._CLIENTS.clear()
        os.environ.clear()
        os.environ.update(self._env)

    def invoke(self, event):
        out = io.StringIO()
        with redirect_stdout(out):
            result = breaker.handler(event, None)
        return result, out.getvalue()

    def expect_notice(self, golden):
        """The next notice the function publishes is the recorded one; with
        UPDATE=1 it is recorded instead."""
        path = TESTDATA / "other" / golden
        if os.environ.get("UPDATE") == "1":
            self.stubs["sns"].add_response("publish", {"MessageId": "m"}, None)
            real = breaker.notify

            def record_once(cfg, what, message):
                n = breaker.notice(cfg, what, message)
                path.write_text(json.dumps({"Subject": n["Subject"], "Message": n["Message"]}, indent=1) + "\n")
                breaker.notify = real
                real(cfg, what, message)
            breaker.notify = record_once
            self.addCleanup(setattr, breaker, "notify", real)
            return
        want = json.loads(path.read_text())
        self.stubs["sns"].add_response("publish", {"MessageId": "d74b8436-ae13-5ab4-a9ff-ce54dfea72a0"},
                                       {"TopicArn": ENV["ALERTS_TOPIC_ARN"], "Subject": want["Subject"], "Message": want["Message"]})

    # ---- 1. the node group at 200 % ACTUAL ----

    def test_200_percent_actual_scales_the_node_group_to_zero(self):
        group = {"clusterName": "platform-dev", "nodegroupName": "platform-dev-nodes-1a2b3c4d"}
        # The managed node group's ASG (EKS API Reference, Nodegroup.resources.autoScalingGroups).
        self.stubs["eks"].add_response("describe_nodegroup", {"nodegroup": {
            "nodegroupName": group["nodegroupName"], "clusterName": "platform-dev",
            "resources": {"autoScalingGroups": [{"name": "eks-platform-dev-nodes-1a2b3c4d-8ec7"}]}}}, group)
        # The Cluster Autoscaler lets go of the group first: it discovers,
        # and its role may resize, only groups tagged enabled=true.
        self.stubs["autoscaling"].add_response("create_or_update_tags", {}, {"Tags": [{
            "ResourceId": "eks-platform-dev-nodes-1a2b3c4d-8ec7", "ResourceType": "auto-scaling-group",
            "Key": "k8s.io/cluster-autoscaler/enabled", "Value": "false", "PropagateAtLaunch": False}]})
        self.stubs["eks"].add_response("update_nodegroup_config", {"update": {"id": "u-1", "status": "InProgress", "type": "ConfigUpdate"}},
                                       dict(group, scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 0}))
        self.expect_notice("breaker-scaled-to-zero.json")
        subject, message = published("budgets/platform-dev-200-actual.json")
        result, logs = self.invoke(sns_event(ENV["EMERGENCY_TOPIC_ARN"], subject, message))
        self.assertEqual([{"action": "scaled to zero"}], result)
        self.assertIn("scaled node group to zero", logs)
        # Off first, then to zero: never a window in which the autoscaler
        # sees Pending pods and an enabled group.
        self.assertEqual(["eks.DescribeNodegroup", "autoscaling.CreateOrUpdateTags", "eks.UpdateNodegroupConfig", "sns.Publish"], self.calls)

    def test_nothing_else_scales_anything(self):
        # Any AWS call here fails the test: the stubs hold no responses.
        cases = {
            "90 % actual": ("budgets/platform-dev-090-actual.json", "emergency"),
            "100 % actual": ("budgets/platform-dev-100-actual.json", "emergency"),
            "100 % forecasted": ("budgets/platform-dev-100-forecasted.json", "emergency"),
            "the daily cost report at 215 %": ("other/costreport-emergency.json", "emergency"),
            "a CloudWatch alarm": ("other/cloudwatch-alarm.json", "emergency"),
            "an RDS event through EventBridge": ("other/rds-storage-event-via-eventbridge.json", "emergency"),
            "another stack's 200 %": ("other/platform-prod-200-actual.json", "emergency"),
            "200 % on the alerts topic": ("budgets/platform-dev-200-actual.json", "alerts"),
        }
        for name, (rel, topic) in cases.items():
            with self.subTest(name):
                subject, message = published(rel)
                arn = ENV["EMERGENCY_TOPIC_ARN"] if topic == "emergency" else ENV["ALERTS_TOPIC_ARN"]
                result, _ = self.invoke(sns_event(arn, subject, message))
                self.assertEqual("ignored", result[0]["action"], name)
        subject, message = published("budgets/platform-dev-200-actual.json")
        forecast = message.replace("ACTUAL", "FORECASTED")
        self.assertEqual("forecast", self.invoke(sns_event(ENV["EMERGENCY_TOPIC_ARN"], subject, forecast))[0][0]["why"])
        below = message.replace("> $1,200.00", "> $1,194.00")
        self.assertEqual("below threshold", self.invoke(sns_event(ENV["EMERGENCY_TOPIC_ARN"], subject, below))[0][0]["why"])
        self.assertEqual({"action": "ignored"}, self.invoke({"detail-type": "Scheduled Event", "source": "aws.events"})[0])

    def test_reads_budgets_text_like_the_service(self):
        want = {"budgets/platform-dev-090-actual.json": ("ACTUAL", 90.0), "budgets/platform-dev-100-actual.json": ("ACTUAL", 100.0),
                "budgets/platform-dev-100-forecasted.json": ("FORECASTED", 100.0), "budgets/platform-dev-200-actual.json": ("ACTUAL", 200.0)}
        for rel, (kind, pct) in want.items():
            n = breaker.parse_budget_notification(published(rel)[1])
            self.assertEqual((kind, pct, "platform-dev", 600.0), (n["alert_type"], n["percent"], n["budget_name"], n["budgeted"]), rel)
        # Verbatim recordings of real alerts (testdata/aws/README.md).
        rec = json.loads((TESTDATA / "budgets/recorded/cds-snc-sre-bot-actual.json").read_text())
        n = breaker.parse_budget_notification(rec["Message"])
        self.assertEqual(("Test Budget", "ACTUAL", 80.0), (n["budget_name"], n["alert_type"], n["percent"]))
        rec = json.loads((TESTDATA / "budgets/recorded/superluminar-budget-alerts-forecasted.json").read_text())
        self.assertEqual("FORECASTED", breaker.parse_budget_notification(rec["Message"])["alert_type"])
        for rel in ("other/costreport-emergency.json", "other/cloudwatch-alarm.json", "other/rds-storage-event-via-eventbridge.json"):
            with self.assertRaises(breaker.NotABudgetNotification, msg=rel):
                breaker.parse_budget_notification(published(rel)[1])

    # ---- 2. the database while the emergency holds ----

    def status(self, status):
        self.stubs["budgets"].add_response("describe_budget_action", {
            "AccountId": "123456789012", "BudgetName": "platform-dev",
            "Action": {"ActionId": ENV["STOP_DB_ACTION_ID"], "BudgetName": "platform-dev", "NotificationType": "ACTUAL",
                       "ActionType": "RUN_SSM_DOCUMENTS", "ActionThreshold": {"ActionThresholdValue": 200.0, "ActionThresholdType": "PERCENTAGE"},
                       "Definition": {"SsmActionDefinition": {"ActionSubType": "STOP_RDS_INSTANCES", "Region": "us-east-1", "InstanceIds": ["platform-dev-db"]}},
                       "ExecutionRoleArn": "arn:aws:iam::123456789012:role/platform-dev-cost-budget-actions", "ApprovalModel": "AUTOMATIC",
                       "Status": status, "Subscribers": [{"SubscriptionType": "SNS", "Address": ENV["ALERTS_TOPIC_ARN"]}]},
        }, {"AccountId": "123456789012", "BudgetName": "platform-dev", "ActionId": ENV["STOP_DB_ACTION_ID"]})

    def test_auto_start_while_the_emergency_holds_is_stopped_once_up(self):
        # RDS-EVENT-0154: the instance is still starting, so StopDBInstance
        # answers InvalidDBInstanceState; the function says so and waits for
        # RDS-EVENT-0088.
        self.status("EXECUTION_SUCCESS")
        self.stubs["rds"].add_client_error("stop_db_instance", service_error_code="InvalidDBInstanceState",
                                           service_message="Instance platform-dev-db is not in available state.", http_status_code=400,
                                           expected_params={"DBInstanceIdentifier": "platform-dev-db"})
        self.expect_notice("breaker-database-restarting.json")
        result, _ = self.invoke(json.loads((TESTDATA / "other" / "rds-auto-start-event.json").read_text()))
        self.assertEqual({"action": "stop deferred", "status": "EXECUTION_SUCCESS"}, result)

        self.status("EXECUTION_SUCCESS")
        self.stubs["rds"].add_response("stop_db_instance", {"DBInstance": {"DBInstanceIdentifier": "platform-dev-db", "DBInstanceStatus": "stopping"}},
                                       {"DBInstanceIdentifier": "platform-dev-db"})
        self.expect_notice("breaker-database-stopped-again.json")
        result, _ = self.invoke(rds_event(breaker.STARTED))
        self.assertEqual({"action": "stopped", "status": "EXECUTION_SUCCESS"}, result)

    def test_the_reset_lifts_it(self):
        # Reversing or resetting the 200 % action (the runbook's reset) moves
        # it out of EXECUTION_SUCCESS: the next start is left running.
        auto_start = json.loads((TESTDATA / "other" / "rds-auto-start-event.json").read_text())
        self.status("STANDBY")
        self.expect_notice("breaker-database-left-running.json")
        self.assertEqual({"action": "left running", "status": "STANDBY"}, self.invoke(auto_start)[0])
        for status in ("REVERSE_SUCCESS", "RESET_IN_PROGRESS", "PENDING"):
            with self.subTest(status):
                self.status(status)
                self.stubs["sns"].add_response("publish", {"MessageId": "m"}, None)
                self.assertEqual({"action": "left running", "status": status}, self.invoke(auto_start)[0])
        # An ordinary start after the reset (RDS-EVENT-0088) is left alone, quietly.
        self.status("STANDBY")
        self.assertEqual({"action": "left running", "status": "STANDBY"}, self.invoke(rds_event(breaker.STARTED))[0])

    def test_unreadable_status_keeps_it_stopped(self):
        self.stubs["budgets"].add_client_error("describe_budget_action", service_error_code="AccessDeniedException", http_status_code=400)
        self.stubs["rds"].add_response("stop_db_instance", {"DBInstance": {"DBInstanceIdentifier": "platform-dev-db"}}, {"DBInstanceIdentifier": "platform-dev-db"})
        self.stubs["sns"].add_response("publish", {"MessageId": "m"}, None)
        self.assertEqual("stopped", self.invoke(rds_event(breaker.STARTED))[0]["action"])

    def test_other_databases_and_events_are_left_alone(self):
        other = rds_event(breaker.AUTO_START, "arn:aws:rds:us-east-1:123456789012:db:someone-elses-db")
        self.assertEqual({"action": "ignored"}, self.invoke(other)[0])
        storage = json.loads(published("other/rds-storage-event-via-eventbridge.json")[1])
        self.assertEqual({"action": "ignored"}, self.invoke(storage)[0])


if __name__ == "__main__":
    unittest.main()
