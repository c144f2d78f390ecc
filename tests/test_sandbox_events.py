"""EventBridge delivery, Scheduler firing and alarm state-change events in the sandbox (services/events.py,
services/scheduler.py, services/cloudwatch.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from modules.components.deployment import approval_event_pattern, dispatch_template, dispatch_url
from tests.helpers import Sandbox
from modules.sandbox.services.scheduler import Unsupported, cron_matches, occurrences
from tests.test_pipeline_execution import BUCKET, PIPELINE, REGION, definition, upload_code

ACCOUNT = "123456789012"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{PIPELINE}"


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("expr, moment, expected", [
    ("0 3 ? * MON *", utc(2026, 11, 30, 3, 0), True),      # a Monday
    ("0 3 ? * MON *", utc(2026, 12, 1, 3, 0), False),      # a Tuesday
    ("0 3 ? * MON *", utc(2026, 11, 30, 3, 1), False),
    ("0/15 * * * ? *", utc(2026, 1, 1, 5, 45), True),
    ("0/15 * * * ? *", utc(2026, 1, 1, 5, 46), False),
    ("30 9 1 JAN-MAR ? 2026", utc(2026, 2, 1, 9, 30), True),
    ("30 9 1 JAN-MAR ? 2026", utc(2027, 2, 1, 9, 30), False),
    ("0 0 ? * SUN,SAT *", utc(2026, 11, 29, 0, 0), True),   # a Sunday (day-of-week 1)
])
def test_cron_fields_as_eventbridge_scheduler_reads_them(expr, moment, expected):
    assert cron_matches(expr, moment) is expected


def test_rate_at_and_unsupported_expressions():
    created = utc(2026, 1, 1)
    assert occurrences("rate(7 days)", created, utc(2026, 1, 1), utc(2026, 1, 22)) == \
        [utc(2026, 1, 8), utc(2026, 1, 15), utc(2026, 1, 22)]
    assert occurrences("rate(1 hour)", created, utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 2, 0)) == \
        [utc(2026, 1, 1, 1), utc(2026, 1, 1, 2)]
    assert occurrences("at(2026-01-05T10:00:00)", created, utc(2026, 1, 1), utc(2026, 1, 6)) == [utc(2026, 1, 5, 10)]
    with pytest.raises(Unsupported):
        occurrences("cron(0 0 L * ? *)", created, utc(2026, 1, 1), utc(2026, 2, 1))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    srv, client = box.server, box.client
    s3, iam, sm = client("s3"), client("iam"), client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    role = box.role("exec", [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"},
                             {"Effect": "Allow", "Action": "sagemaker:CreateModelPackage", "Resource": "*"}])
    sm.create_model_package_group(ModelPackageGroupName="g")
    sm.create_pipeline(PipelineName=PIPELINE, PipelineDefinition=definition(role), RoleArn=role)
    aws = {"s3": s3, "iam": iam, "sm": sm, "role": role, "client": client}
    upload_code(aws, "v1")
    s3.put_object(Bucket=BUCKET, Key="p/data/v1/a.csv", Body=b"y,x\n1,2\n")

    def trigger_role(name, service, allow=True, action="sagemaker:StartPipelineExecution", resource=PIPELINE_ARN):
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                                                         "Action": "sts:AssumeRole"}]}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if allow:
            iam.put_role_policy(RoleName=name, PolicyName="start", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}))
        return arn

    aws["trigger_role"] = trigger_role
    yield srv, aws
    srv.stop()


def test_schedule_fires_the_pipeline_when_the_clock_advances(env):
    srv, aws = env
    role = aws["trigger_role"]("schedule-role", "scheduler.amazonaws.com")
    scheduler = aws["client"]("scheduler")
    scheduler.create_schedule(Name="weekly", ScheduleExpression="rate(7 days)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": PIPELINE_ARN, "RoleArn": role, "SageMakerPipelineParameters": {
                                  "PipelineParameterList": [{"Name": "CodeVersion", "Value": "v1"}]}})
    assert srv.gateway.tick(6 * 86400) == []  # not due yet
    fired = srv.gateway.tick(2 * 86400)
    assert [f["status"] for f in fired] == ["fired"], fired[0].get("reason")
    execution = srv.gateway.pipelines.wait(fired[0]["execution"], 120)
    assert execution.trigger == "schedule" and execution.status == "Succeeded", execution.failure
    assert execution.caller == role
    scheduler.delete_schedule(Name="weekly")


def test_schedule_role_that_may_not_start_the_pipeline_fails_the_invocation(env):
    srv, aws = env
    role = aws["trigger_role"]("weak-schedule-role", "scheduler.amazonaws.com", allow=False)
    scheduler = aws["client"]("scheduler")
    scheduler.create_schedule(Name="hourly", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": PIPELINE_ARN, "RoleArn": role})
    fired = srv.gateway.tick(3600)
    assert fired and fired[0]["status"] == "failed" and "not authorized" in fired[0]["reason"]
    scheduler.delete_schedule(Name="hourly")


def test_alarm_state_change_event_starts_the_rule_target_with_its_parameters(env):
    srv, aws = env
    cw, events = aws["client"]("cloudwatch"), aws["client"]("events")
    cw.put_metric_alarm(AlarmName="drift", Namespace="n", MetricName="m", Statistic="Maximum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    alarm_arn = cw.describe_alarms(AlarmNames=["drift"])["MetricAlarms"][0]["AlarmArn"]
    role = aws["trigger_role"]("retrain-role", "events.amazonaws.com")
    events.put_rule(Name="retrain", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}}}))
    events.put_targets(Rule="retrain", Targets=[{"Id": "pipeline", "Arn": PIPELINE_ARN, "RoleArn": role,
                                                  "SageMakerPipelineParameters": {"PipelineParameterList": [
                                                      {"Name": "CodeVersion", "Value": "v1"}]}}])
    before = len(srv.gateway.events.deliveries)
    cw.set_alarm_state(AlarmName="drift", StateValue="OK", StateReason="still fine")  # no change from OK: no event
    assert len(srv.gateway.events.deliveries) == before
    cw.set_alarm_state(AlarmName="drift", StateValue="ALARM", StateReason="breached")
    delivered = srv.gateway.events.deliveries[before:]
    assert [d["rule"] for d in delivered] == ["retrain"] and delivered[0]["status"] == "delivered"
    execution = srv.gateway.pipelines.wait(delivered[0]["execution"], 120)
    assert execution.trigger == "alarm" and execution.parameters["CodeVersion"] == "v1"
    cw.set_alarm_state(AlarmName="drift", StateValue="OK", StateReason="recovered")  # ALARM -> OK: not matched
    assert len(srv.gateway.events.deliveries) == before + 1


def test_approval_event_reaches_the_api_destination_with_its_secret_redacted(env):
    srv, aws = env
    events, sm = aws["client"]("events"), aws["sm"]
    conn = events.create_connection(Name="github", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": "Bearer ghp_supersecret"}})
    dest = events.create_api_destination(Name="dispatch", ConnectionArn=conn["ConnectionArn"], HttpMethod="POST",
                                         InvocationEndpoint="https://api.github.com/repos/acme/p/dispatches")
    events.put_rule(Name="approved", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": ["g"], "ModelApprovalStatus": ["Approved"]}}))
    role = aws["trigger_role"]("dispatch-role", "events.amazonaws.com", action="events:InvokeApiDestination",
                               resource=dest["ApiDestinationArn"])
    events.put_targets(Rule="approved", Targets=[{"Id": "gh", "Arn": dest["ApiDestinationArn"], "RoleArn": role,
                                                   "InputTransformer": {
                                                       "InputPathsMap": {"arn": "$.detail.ModelPackageArn"},
                                                       "InputTemplate": '{"event_type": "deploy", "arn": <arn>}'}}])
    package = sm.create_model_package(ModelPackageGroupName="g", ModelApprovalStatus="PendingManualApproval",
                                      InferenceSpecification={"Containers": [{"Image": "img"}],
                                                              "SupportedContentTypes": ["text/csv"],
                                                              "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    assert not srv.gateway.events.received  # pending: the pattern does not match
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    assert srv.gateway.events.received, srv.gateway.events.deliveries[-1].get("reason")
    (request,) = srv.gateway.events.received
    assert request["url"] == "https://api.github.com/repos/acme/p/dispatches" and request["method"] == "POST"
    assert request["headers"]["Authorization"] == "[secret]"
    assert "ghp_" not in json.dumps(srv.gateway.report())
    body = request["body"] if isinstance(request["body"], dict) else json.loads(request["body"])
    assert body == {"event_type": "deploy", "arn": package}


def _dispatch_rule(aws, name: str, group: str, url: str, template: str, may_invoke: bool = True) -> None:
    events = aws["client"]("events")
    conn = events.create_connection(Name=f"{name}-github", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "Authorization", "ApiKeyValue": "Bearer ghp_supersecret"}})
    dest = events.create_api_destination(Name=f"{name}-github", ConnectionArn=conn["ConnectionArn"],
                                         HttpMethod="POST", InvocationEndpoint=url)
    events.put_rule(Name=name, EventPattern=json.dumps(approval_event_pattern(group)))
    role = aws["trigger_role"](f"{name}-approval-dispatch", "events.amazonaws.com", allow=may_invoke,
                               action="events:InvokeApiDestination", resource=dest["ApiDestinationArn"])
    events.put_targets(Rule=name, Targets=[{"Id": "github-dispatch", "Arn": dest["ApiDestinationArn"], "RoleArn": role,
                                             "InputTransformer": {"InputPathsMap": {"arn": "$.detail.ModelPackageArn"},
                                                                  "InputTemplate": template}}])
    aws["sm"].create_model_package_group(ModelPackageGroupName=group)


def _approve(aws, group: str) -> str:
    sm = aws["sm"]
    arn = sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval",
                                  InferenceSpecification={"Containers": [{"Image": "img"}],
                                                          "SupportedContentTypes": ["text/csv"],
                                                          "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return arn


def test_staging_approval_dispatches_staging_to_the_platform_repository(env):
    """The approval rule the platform declares (components/deployment.py) reaches GitHub's repository_dispatch of
    the PLATFORM repository with the stack's environment; the receiver answers as GitHub does (204)."""
    srv, aws = env
    platform = "acme-ml/mlops-platform"
    _dispatch_rule(aws, "acme-staging-churn-model-approved", "acme-staging-churn", dispatch_url(platform),
                   dispatch_template("staging", "churn"))
    before = len(srv.gateway.events.received)
    arn = _approve(aws, "acme-staging-churn")
    (request,) = srv.gateway.events.received[before:]
    assert request["url"] == f"https://api.github.com/repos/{platform}/dispatches"
    assert request["github"] == {"repository": platform, "status": 204, "message": "No Content",
                                 "event_type": "model-approved",
                                 "client_payload": {"environment": "staging", "project": "churn",
                                                    "model_package_arn": arn}}
    delivery = srv.gateway.events.deliveries[-1]
    assert delivery["rule"] == "acme-staging-churn-model-approved" and delivery["status"] == "delivered"


def test_a_dispatch_github_would_reject_fails_the_delivery(env):
    srv, aws = env
    payload = {f"k{i}": i for i in range(11)}  # GitHub: at most 10 top-level client_payload properties
    _dispatch_rule(aws, "too-big", "too-big", "https://api.github.com/repos/acme-ml/mlops-platform/dispatches",
                   json.dumps({"event_type": "model-approved", "client_payload": {**payload, "arn": "<arn>"}}))
    _approve(aws, "too-big")
    delivery = srv.gateway.events.deliveries[-1]
    assert delivery["rule"] == "too-big" and delivery["status"] == "failed"
    assert "GitHub answered 422" in delivery["reason"] and "at most 10" in delivery["reason"]


def test_a_dispatch_role_that_may_not_invoke_the_destination_fails_the_delivery(env):
    srv, aws = env
    _dispatch_rule(aws, "no-invoke", "no-invoke", "https://api.github.com/repos/acme-ml/mlops-platform/dispatches",
                   dispatch_template("staging", "churn"), may_invoke=False)
    before = len(srv.gateway.events.received)
    _approve(aws, "no-invoke")
    delivery = srv.gateway.events.deliveries[-1]
    assert delivery["rule"] == "no-invoke" and delivery["status"] == "failed"
    assert "events:InvokeApiDestination" in delivery["reason"]
    assert len(srv.gateway.events.received) == before  # nothing reached the receiver


def test_control_endpoint_ticks_and_reports(env):
    import urllib.request

    srv, _ = env
    req = urllib.request.Request(f"{srv.endpoint}/_ladder/tick", data=b'{"seconds": 60}', method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["clockOffsetSeconds"] > 0
    with urllib.request.urlopen(f"{srv.endpoint}/_ladder/report", timeout=10) as resp:
        report = json.loads(resp.read())
    assert {"executions", "deliveries", "scheduled", "received"} <= set(report)


def test_cli_tick_and_report_drive_a_running_sandbox(env):
    from typer.testing import CliRunner

    from modules.cli import app

    srv, _ = env
    runner = CliRunner()
    result = runner.invoke(app, ["sandbox", "tick", "1h", "--json"], env={"AWS_ENDPOINT_URL": srv.endpoint})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clockOffsetSeconds"] >= 3600
    result = runner.invoke(app, ["sandbox", "report"], env={"AWS_ENDPOINT_URL": srv.endpoint})
    assert result.exit_code == 0 and "execution " in result.stdout
    bad = runner.invoke(app, ["sandbox", "tick", "soon"], env={"AWS_ENDPOINT_URL": srv.endpoint})
    assert bad.exit_code == 2 and "not a duration" in bad.output
    none = runner.invoke(app, ["sandbox", "tick", "1h"], env={"AWS_ENDPOINT_URL": ""})
    assert none.exit_code == 2 and "no running sandbox" in none.output
