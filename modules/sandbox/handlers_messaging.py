"""Sandbox handlers for EventBridge Scheduler, SNS, EventBridge, CloudWatch, Application Auto Scaling and CodeBuild
(part of the handler table in :mod:`.handlers`)."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from .aws import (
    UnmappedInput, _norm, input_shape, to_api
)
from .handlers import (
    Ctx, IGNORED, Realised, Request, _str, echo, params_for, physical, tag_list
)

# ---------------------------------------------------------------------------------------------------
# EventBridge Scheduler
# ---------------------------------------------------------------------------------------------------

def schedule_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    group = req.inputs.get("groupName") or "default"
    params = params_for(req, "scheduler", "CreateSchedule", ignore=("name", "namePrefix"),
                        nested={"target.sagemakerPipelineParameters.pipelineParameters": "PipelineParameterList"},
                        extra={"Name": name, "GroupName": group, "ClientToken": str(uuid.uuid4())})
    arn = ctx.aws.call("scheduler", "CreateSchedule", params)["ScheduleArn"]
    return Realised(f"{group}/{name}", echo(req, name=name, groupName=group, arn=arn))


def schedule_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    group, _, name = id_.partition("/")
    ctx.aws.call("scheduler", "DeleteSchedule", {"Name": name, "GroupName": group,
                                                 "ClientToken": str(uuid.uuid4())},
                 missing_ok=("ResourceNotFoundException",))


# ---------------------------------------------------------------------------------------------------
# SNS
# ---------------------------------------------------------------------------------------------------

_FEEDBACK_PREFIX = {"application": "Application", "http": "HTTP", "lambda": "Lambda", "sqs": "SQS",
                    "firehose": "Firehose"}
TOPIC_ATTRIBUTES = {
    "displayName": "DisplayName", "policy": "Policy", "deliveryPolicy": "DeliveryPolicy",
    "kmsMasterKeyId": "KmsMasterKeyId", "fifoTopic": "FifoTopic",
    "contentBasedDeduplication": "ContentBasedDeduplication", "signatureVersion": "SignatureVersion",
    "tracingConfig": "TracingConfig", "archivePolicy": "ArchivePolicy", "fifoThroughputScope": "FifoThroughputScope",
    **{f"{p}{outcome}Feedback{what}": f"{P}{outcome}Feedback{what}"
       for p, P in _FEEDBACK_PREFIX.items() for outcome in ("Success", "Failure")
       for what in ("RoleArn", "SampleRate")},
}
SUBSCRIPTION_ATTRIBUTES = {
    "deliveryPolicy": "DeliveryPolicy", "filterPolicy": "FilterPolicy", "filterPolicyScope": "FilterPolicyScope",
    "rawMessageDelivery": "RawMessageDelivery", "redrivePolicy": "RedrivePolicy",
    "subscriptionRoleArn": "SubscriptionRoleArn", "replayPolicy": "ReplayPolicy",
}


def _attributes(req: Request, table: dict[str, str], handled: tuple[str, ...]) -> dict[str, str]:
    attrs = {}
    for key, value in req.inputs.items():
        if value is None or key in IGNORED or key in handled:
            continue
        if key not in table:
            raise UnmappedInput(f"{req.type} {req.name!r}: input {key!r} is not mapped to an SNS attribute")
        attrs[table[key]] = value if isinstance(value, str) else _str(value)
    return attrs


def sns_topic_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    if req.inputs.get("fifoTopic") and not name.endswith(".fifo"):
        name += ".fifo"
    attrs = _attributes(req, TOPIC_ATTRIBUTES, ("name", "namePrefix", "tags"))
    params = {"Name": name, "Attributes": attrs or None, "Tags": tag_list(req.inputs.get("tags") or {}) or None}
    arn = ctx.aws.call("sns", "CreateTopic", params)["TopicArn"]
    return Realised(arn, echo(req, name=name, arn=arn, owner=ctx.account))


def sns_topic_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sns", "DeleteTopic", {"TopicArn": id_}, missing_ok=("NotFound",))


def sns_subscription_create(ctx: Ctx, req: Request) -> Realised:
    attrs = _attributes(req, SUBSCRIPTION_ATTRIBUTES,
                        ("topic", "protocol", "endpoint", "endpointAutoConfirms", "confirmationTimeoutInMinutes"))
    params = {"TopicArn": req.inputs["topic"], "Protocol": req.inputs["protocol"],
              "Endpoint": req.inputs.get("endpoint"), "Attributes": attrs or None, "ReturnSubscriptionArn": True}
    arn = ctx.aws.call("sns", "Subscribe", params)["SubscriptionArn"]
    return Realised(arn, echo(req, arn=arn, ownerId=ctx.account, pendingConfirmation=False,
                              confirmationWasAuthenticated=False))


def sns_subscription_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sns", "Unsubscribe", {"SubscriptionArn": id_}, missing_ok=("NotFound",))


def sns_topic_policy_create(ctx: Ctx, req: Request) -> Realised:
    arn = req.inputs["arn"]
    ctx.aws.call("sns", "SetTopicAttributes", {"TopicArn": arn, "AttributeName": "Policy",
                                               "AttributeValue": req.inputs["policy"]})
    return Realised(arn, echo(req, owner=ctx.account))


def sns_topic_policy_update(ctx: Ctx, id_: str, old_outputs: dict[str, Any], old_inputs: dict[str, Any],
                            req: Request):
    """A new policy on the same topic is an in-place update (the provider calls SetTopicAttributes again)."""
    if req.inputs.get("arn") != old_inputs.get("arn"):
        return None  # another topic: replaced
    return sns_topic_policy_create(ctx, req)


def sns_topic_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    """Terraform puts the topic's default policy back (owner-only access)."""
    account = id_.split(":")[4]
    default = {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                   "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
        "Resource": id_, "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]}
    ctx.aws.call("sns", "SetTopicAttributes", {"TopicArn": id_, "AttributeName": "Policy",
                                               "AttributeValue": json.dumps(default)}, missing_ok=("NotFound",))


# ---------------------------------------------------------------------------------------------------
# EventBridge (aws.cloudwatch.Event*)
# ---------------------------------------------------------------------------------------------------

EVENTS_MISSING = ("ResourceNotFoundException",)


def event_rule_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    shaped = dict(req.inputs)
    enabled = shaped.pop("isEnabled", None)
    if enabled is not None and "state" not in shaped:
        shaped["state"] = "ENABLED" if enabled else "DISABLED"
    params = params_for(req, "events", "PutRule", shaped, ignore=("name", "namePrefix", "forceDestroy"),
                        extra={"Name": name})
    arn = ctx.aws.call("events", "PutRule", params)["RuleArn"]
    bus = req.inputs.get("eventBusName") or "default"
    return Realised(name if bus == "default" else f"{bus}/{name}",
                    echo(req, name=name, arn=arn, eventBusName=bus, state=params.get("State", "ENABLED")))


def event_rule_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    bus, _, name = id_.rpartition("/")
    ctx.aws.call("events", "DeleteRule", {"Name": name, "EventBusName": bus or None, "Force": True},
                 missing_ok=EVENTS_MISSING)


EVENT_TARGET_RENAMES = {
    "targetId": "Id", "sagemakerPipelineTarget": "SageMakerPipelineParameters", "httpTarget": "HttpParameters",
    "ecsTarget": "EcsParameters", "batchTarget": "BatchParameters", "kinesisTarget": "KinesisParameters",
    "sqsTarget": "SqsParameters", "redshiftTarget": "RedshiftDataParameters", "appsyncTarget": "AppSyncParameters",
}
EVENT_TARGET_NESTED = {
    "sagemakerPipelineTarget.pipelineParameterLists": "PipelineParameterList",
    "inputTransformer.inputPaths": "InputPathsMap",
}


def event_target_create(ctx: Ctx, req: Request) -> Realised:
    target_id = req.inputs.get("targetId") or f"{req.name}-{secrets.token_hex(4)[:7]}"
    rule = req.inputs["rule"]
    bus = req.inputs.get("eventBusName")
    shaped = {k: v for k, v in req.inputs.items() if k not in ("rule", "eventBusName", "forceDestroy")}
    shaped["targetId"] = target_id
    shape = input_shape("events", "PutTargets").members["Targets"].member
    members = {_norm(m): m for m in shape.members}
    target: dict[str, Any] = {}
    for key, value in shaped.items():
        if value is None or key in IGNORED:
            continue
        member = EVENT_TARGET_RENAMES.get(key) or members.get(_norm(key))
        if member is None:
            raise UnmappedInput(f"{req.type} {req.name!r}: input {key!r} has no counterpart in events:PutTargets")
        target[member] = to_api(value, shape.members[member], key, EVENT_TARGET_NESTED)
    resp = ctx.aws.call("events", "PutTargets", {"Rule": rule, "EventBusName": bus, "Targets": [target]})
    if resp and resp.get("FailedEntryCount"):
        from .aws import SandboxError

        raise SandboxError(f"{req.type} {req.name!r}: events:PutTargets failed: {resp.get('FailedEntries')}")
    id_ = f"{bus}/{rule}/{target_id}" if bus and bus != "default" else f"{rule}-{target_id}"
    return Realised(id_, echo(req, targetId=target_id))


def event_target_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    bus = outputs.get("eventBusName")
    ctx.aws.call("events", "RemoveTargets", {"Rule": outputs["rule"], "EventBusName": bus,
                                             "Ids": [outputs["targetId"]], "Force": True},
                 missing_ok=EVENTS_MISSING)


EVENT_CONNECTION_NESTED = {
    "authParameters.apiKey": "ApiKeyAuthParameters", "authParameters.apiKey.key": "ApiKeyName",
    "authParameters.apiKey.value": "ApiKeyValue", "authParameters.basic": "BasicAuthParameters",
    "authParameters.oauth": "OAuthParameters",
    **{f"authParameters.{where}.{k}": v
       for where in ("oauth.oauthHttpParameters", "invocationHttpParameters")
       for k, v in (("body", "BodyParameters"), ("header", "HeaderParameters"),
                    ("queryString", "QueryStringParameters"))},
}


def event_connection_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    params = params_for(req, "events", "CreateConnection", ignore=("name",), nested=EVENT_CONNECTION_NESTED,
                        extra={"Name": name})
    arn = ctx.aws.call("events", "CreateConnection", params)["ConnectionArn"]
    secret = ctx.arn("secretsmanager", f"secret:events!connection/{name}/{uuid.uuid4()}")
    return Realised(name, echo(req, name=name, arn=arn, secretArn=secret))


def event_connection_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("events", "DeleteConnection", {"Name": id_}, missing_ok=EVENTS_MISSING)


def event_api_destination_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    params = params_for(req, "events", "CreateApiDestination", ignore=("name",), extra={"Name": name})
    arn = ctx.aws.call("events", "CreateApiDestination", params)["ApiDestinationArn"]
    return Realised(name, echo(req, name=name, arn=arn))


def event_api_destination_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("events", "DeleteApiDestination", {"Name": id_}, missing_ok=EVENTS_MISSING)


# ---------------------------------------------------------------------------------------------------
# CloudWatch
# ---------------------------------------------------------------------------------------------------

def _metric_queries(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Terraform nests period/stat/unit inside ``metric``; the API has them on MetricStat."""
    out = []
    for q in queries or []:
        q = dict(q)
        metric = q.pop("metric", None)
        if metric:
            metric = dict(metric)
            stat = {"metric": {k: metric[k] for k in ("metricName", "namespace", "dimensions") if k in metric}}
            for k in ("period", "stat", "unit"):
                if k in metric:
                    stat[k] = metric[k]
            q["metricStat"] = stat
        out.append(q)
    return out


def metric_alarm_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    shaped = dict(req.inputs)
    if "metricQueries" in shaped:
        shaped["metrics"] = _metric_queries(shaped.pop("metricQueries"))
    params = params_for(req, "cloudwatch", "PutMetricAlarm", shaped, ignore=("name",),
                        rename={"evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
                                "okActions": "OKActions"},
                        nested={"metrics.metricStat.metric.dimensions": "Dimensions"},
                        extra={"AlarmName": name})
    ctx.aws.call("cloudwatch", "PutMetricAlarm", params)
    return Realised(name, echo(req, name=name, arn=ctx.arn("cloudwatch", f"alarm:{name}")))


def metric_alarm_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("cloudwatch", "DeleteAlarms", {"AlarmNames": [id_]}, missing_ok=("ResourceNotFound",))


def dashboard_create(ctx: Ctx, req: Request) -> Realised:
    name = req.inputs["dashboardName"]
    ctx.aws.call("cloudwatch", "PutDashboard", params_for(req, "cloudwatch", "PutDashboard"))
    return Realised(name, echo(req, dashboardArn=ctx.arn("cloudwatch", f"dashboard/{name}", region=False)))


def dashboard_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("cloudwatch", "DeleteDashboards", {"DashboardNames": [id_]},
                 missing_ok=("ResourceNotFound", "does not exist"))


def log_group_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req)
    params = params_for(req, "logs", "CreateLogGroup",
                        ignore=("name", "namePrefix", "retentionInDays", "skipDestroy", "deletionProtectionEnabled"),
                        extra={"logGroupName": name})
    ctx.aws.call("logs", "CreateLogGroup", params)
    if req.inputs.get("retentionInDays"):
        ctx.aws.call("logs", "PutRetentionPolicy", {"logGroupName": name,
                                                    "retentionInDays": int(req.inputs["retentionInDays"])})
    if req.inputs.get("deletionProtectionEnabled"):
        ctx.aws.call("logs", "PutLogGroupDeletionProtection", {"logGroupIdentifier": name,
                                                               "deletionProtectionEnabled": True})
    return Realised(name, echo(req, name=name, arn=ctx.arn("logs", f"log-group:{name}"),
                               logGroupClass=req.inputs.get("logGroupClass") or "STANDARD"))


def log_group_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("logs", "DeleteLogGroup", {"logGroupName": id_}, missing_ok=("ResourceNotFoundException",))


# ---------------------------------------------------------------------------------------------------
# Application Auto Scaling
# ---------------------------------------------------------------------------------------------------

AAS_MISSING = ("ObjectNotFoundException",)


def aas_target_create(ctx: Ctx, req: Request) -> Realised:
    params = params_for(req, "application-autoscaling", "RegisterScalableTarget", rename={"roleArn": "RoleARN"})
    resp = ctx.aws.call("application-autoscaling", "RegisterScalableTarget", params) or {}
    rid = req.inputs["resourceId"]
    arn = resp.get("ScalableTargetARN") or ctx.arn("application-autoscaling",
                                                    f"scalable-target/{secrets.token_hex(14)}")
    return Realised(rid, echo(req, arn=arn))


def aas_target_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("application-autoscaling", "DeregisterScalableTarget", {
        "ServiceNamespace": outputs["serviceNamespace"], "ResourceId": id_,
        "ScalableDimension": outputs["scalableDimension"]}, missing_ok=AAS_MISSING)


def aas_policy_create(ctx: Ctx, req: Request) -> Realised:
    name = req.inputs["name"]
    params = params_for(req, "application-autoscaling", "PutScalingPolicy", rename={"name": "PolicyName"})
    resp = ctx.aws.call("application-autoscaling", "PutScalingPolicy", params) or {}
    return Realised(name, echo(req, arn=resp.get("PolicyARN", ""),
                               alarmArns=[a["AlarmARN"] for a in resp.get("Alarms", [])],
                               policyType=req.inputs.get("policyType") or "StepScaling"))


def aas_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("application-autoscaling", "DeleteScalingPolicy", {
        "PolicyName": id_, "ServiceNamespace": outputs["serviceNamespace"], "ResourceId": outputs["resourceId"],
        "ScalableDimension": outputs["scalableDimension"]}, missing_ok=AAS_MISSING)


# ---------------------------------------------------------------------------------------------------
# CodeBuild
# ---------------------------------------------------------------------------------------------------

def codebuild_project_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, prefix_key=None)
    visibility = req.inputs.get("projectVisibility")
    if visibility not in (None, "PRIVATE"):
        raise UnmappedInput(f"{req.type} {req.name!r}: projectVisibility={visibility!r} is not emulated")
    params = params_for(req, "codebuild", "CreateProject",
                        rename={"buildTimeout": "timeoutInMinutes", "queuedTimeout": "queuedTimeoutInMinutes"},
                        ignore=("name", "projectVisibility", "resourceAccessRole"), extra={"name": name})
    project = ctx.aws.call("codebuild", "CreateProject", params)["project"]
    return Realised(name, echo(req, name=name, arn=project["arn"], badgeUrl="", projectVisibility="PRIVATE",
                               publicProjectAlias=""))


def codebuild_project_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("codebuild", "DeleteProject", {"name": id_}, missing_ok=("ResourceNotFoundException",))
