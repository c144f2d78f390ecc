"""A failed Model Monitor execution notifies people (it neither retrains nor publishes metrics, so it was silent).

Rule: the processing job of a monitoring execution sends "SageMaker Processing Job State Change" with its
status (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-sagemaker.html); the SNS topic policy must
admit the rule (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
"""

from __future__ import annotations

import json

from modules.components import monitoring as mon
from tests.helpers import config, run

ACCOUNT, REGION = "123456789012", "us-east-1"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/1"
DQ = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/acme-prod-churn-data-quality"
RULE = "aws:cloudwatch/eventRule:EventRule"


def graph():
    cfg = config(maturity=4, environment="prod")
    cfg["mlops:projects"][0]["serving"] = {"minInstances": 2, "modelPackageArn": PACKAGE}
    cfg["mlops:projects"][1]["serving"] = {"minInstances": 2}
    return run(cfg, stack="prod")


def test_failed_monitoring_execution_reaches_the_project_topic_and_only_a_failure_does():
    from moto.events.models import EventPattern  # the sandbox's matcher

    g = graph()
    rule = g.find(RULE, "churn-monitoring-failed-rule")
    assert rule.inputs["name"] == "acme-prod-churn-monitor-failed"
    pattern = EventPattern.load(rule.inputs["eventPattern"])
    failed = mon.violations_event(DQ, exit_message="", status="Failed", account=ACCOUNT, region=REGION)
    assert pattern.matches_event(failed)
    for status, message in (("Completed", "Completed: no violations."), ("Completed", "CompletedWithViolations: 3")):
        assert not pattern.matches_event(mon.violations_event(DQ, exit_message=message, status=status,
                                                              account=ACCOUNT, region=REGION))
    other = mon.violations_event(DQ.replace("churn", "fraud"), exit_message="", status="Failed", account=ACCOUNT,
                                 region=REGION)
    assert not pattern.matches_event(other)
    target = g.find("aws:cloudwatch/eventTarget:EventTarget", "churn-monitoring-failed-notify")
    topic = g.find("aws:sns/topic:Topic", "churn-approval-topic")
    assert target.inputs["arn"] == topic.outputs["arn"]
    policy = json.loads(g.find("aws:sns/topicPolicy:TopicPolicy", "churn-approval-topic-policy").inputs["policy"])
    (stmt,) = [s for s in policy["Statement"] if s["Sid"] == "MonitorFailureRulePublishes"]
    assert stmt["Condition"]["ArnEquals"]["aws:SourceArn"] == \
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/acme-prod-churn-monitor-failed"
