"""Level 4: Model Monitor, drift alarms, the retraining loop and the dashboard of one project's endpoint.

One component per project (:class:`ProjectMonitoring`, token ``mlops:monitoring:ProjectMonitoring``) whose parts
follow the level-4 capabilities (``monitoring``, ``drift_alarms``, ``retraining_loop``, ``dashboard``). It only
exists for an endpoint that exists (level 3 creates it once ``serving.modelPackageArn`` is set); the platform
notes the wait otherwise.

**Monitoring** - a ``DataQualityJobDefinition`` (the built-in Model Monitor analyzer image of the region, read
offline from the SageMaker SDK's ``image_uri_config/model-monitor.json``; the endpoint's captured requests as
input; baseline ``statistics.json`` / ``constraints.json``, by default the project's baseline prefix
``s3://<bucket>/<project>/baseline/``; reports to ``s3://<bucket>/monitoring/<project>/data-quality/`` with the
stack's KMS key for the output and the volume; inter-container encryption and network isolation, plus the VPC
when the spec has one) and a ``MonitoringSchedule`` running it hourly or daily.

Model quality is *not* provisioned: pulumi-aws (7.x) has no ``ModelQualityJobDefinition`` resource, and the
inline ``MonitoringJobDefinition`` of ``MonitoringSchedule`` has no ground-truth input (the API's
``GroundTruthS3Input`` only exists on ``CreateModelQualityJobDefinition``), so a model-quality schedule cannot be
expressed faithfully. When the spec asks for it (``groundTruthPrefix`` + ``problemType``) the component adds a
plan note instead of faking it.

**Drift metric (the approach, and why)** - Model Monitor's data-quality container publishes one metric per
feature: ``feature_baseline_drift_<feature>`` in ``aws/sagemaker/Endpoints/data-metrics`` with the dimensions
``Endpoint`` and ``MonitoringSchedule``. The platform does not know a project's features, a CloudWatch alarm
cannot be built on a ``SEARCH()`` expression (the only way to select "every feature_baseline_drift_*"), and the
analyzer publishes no aggregate drift metric. So the alarm watches one platform-owned aggregate metric:

    namespace ``mlops/drift``, metric ``DriftScore``, dimension ``Endpoint=<endpoint name>``

``DriftScore`` is the largest per-feature baseline distance of a monitoring window - the same L-infinity
distance the analyzer reports and the project repository's ``monitoring/drift.py`` computes - less the
allowance the Robust method grants a small window (so a score above the threshold means a feature really
drifted, and a small normal window does not start a retraining), and the alarm fires when its ``Maximum``
exceeds ``monitoring.driftThreshold``. The project's ``monitoring/drift.py --publish`` puts it, with
``DriftedFeatures``. The dimension is the endpoint name (it carries
org, environment and project) rather than the bare project name, so dev/staging/prod stacks in one account never
mix their drift. Publishers: whatever runs the drift check with the execution role (this component grants
``cloudwatch:PutMetricData`` in ``mlops/drift`` only) or the project's CI. The monitoring job itself cannot
publish it - it runs network-isolated. The dashboard still graphs the analyzer's per-feature metrics with a
``SEARCH()`` expression (allowed in dashboards), next to ``DriftScore`` and its threshold.

**Closed loop** - an EventBridge rule on the drift alarm entering ``ALARM`` starts the project's training
pipeline with its defaults (the CodeVersion ``ladder deploy`` pinned, the project's data prefix; the register
step's approval status is the literal PendingManualApproval) through a role that may only
``sagemaker:StartPipelineExecution`` on that pipeline; the retrained model lands in the registry pending approval,
so level 3's gated deployment follows. The alarm also notifies the project's SNS topic (level 3).

No AWS call and no resource inside ``apply()``; every physical name comes from the naming helper.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from ..naming import Naming
from ..spec import Baseline, Network, Project
from .base import Context, child, policy_json

ANALYZER_CONFIG = ("core", "image_uri_config", "model-monitor.json")  # inside the `sagemaker` (namespace) package
ENDPOINT_INPUT_PATH = "/opt/ml/processing/input"
OUTPUT_PATH = "/opt/ml/processing/output"
VOLUME_SIZE_GB = 30
MAX_RUNTIME_SECONDS = 3600  # an hourly schedule allows at most one hour per run
SCHEDULES = {"hourly": ("cron(0 * ? * * *)", 3600), "daily": ("cron(0 0 ? * * *)", 86400)}
VARIANT = "AllTraffic"  # the endpoint's only production variant (level 3)

DRIFT_NAMESPACE = "mlops/drift"
DRIFT_METRIC = "DriftScore"
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"   # Model Monitor, real-time endpoints
ENDPOINT_NAMESPACE = "AWS/SageMaker"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"       # sic: "Sagemaker"
PIPELINE_METRICS = ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")

# Region -> DNS suffix of the ECR endpoint where it is not amazonaws.com (as the SageMaker SDK resolves it).
_DOMAINS = (("cn-", "amazonaws.com.cn"), ("us-isob-", "sc2s.sgov.gov"), ("us-isof-", "csp.hci.ic.gov"),
            ("us-iso-", "c2s.ic.gov"), ("eu-isoe-", "cloud.adc-e.uk"), ("eusc-", "amazonaws.eu"))


# ---------------------------------------------------------------------------------------------------
# Pure helpers (the platform, the tests and the sandbox use them too)
# ---------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _analyzer_config() -> dict[str, Any]:
    spec = importlib.util.find_spec("sagemaker")  # locates the package without importing it
    for base in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(base, *ANALYZER_CONFIG)
        if path.is_file():
            return json.loads(path.read_text())
    raise RuntimeError("the SageMaker Python SDK (sagemaker>=3) is needed for the Model Monitor image table "
                       f"(sagemaker/{'/'.join(ANALYZER_CONFIG)}); install the project's dependencies")


def analyzer_image_uri(region: str) -> str:
    """``<account>.dkr.ecr.<region>.<domain>/sagemaker-model-monitor-analyzer`` from the SDK's bundled table."""
    version = _analyzer_config()["versions"][""]
    registries = version["registries"]
    if region not in registries:
        raise ValueError(f"Model Monitor has no analyzer image in {region}; regions with one: "
                         f"{', '.join(sorted(registries))}")
    domain = next((d for prefix, d in _DOMAINS if region.startswith(prefix)), "amazonaws.com")
    return f"{registries[region]}.dkr.ecr.{region}.{domain}/{version['repository']}"


def analyzer_repository_arn(region: str, partition: str = "aws") -> str:
    version = _analyzer_config()["versions"][""]
    return f"arn:{partition}:ecr:{region}:{version['registries'][region]}:repository/{version['repository']}"


def baseline_prefix(bucket: str, project: str) -> str:
    return f"s3://{bucket}/{project}/baseline/"


def baseline_uris(bucket: str, project: str, baseline: Baseline) -> tuple[str, str]:
    """(statistics, constraints): the spec's URIs, else the project's baseline prefix."""
    prefix = baseline_prefix(bucket, project)
    return (baseline.statistics_uri or prefix + "statistics.json",
            baseline.constraints_uri or prefix + "constraints.json")


def monitoring_output(bucket: str, project: str, kind: str = "data-quality") -> str:
    return f"s3://{bucket}/monitoring/{project}/{kind}/"


def schedule_expression(schedule: str) -> str:
    return SCHEDULES[schedule][0]


def drift_metric(endpoint: str) -> dict[str, Any]:
    """The aggregate drift metric the alarm watches (see the module docstring)."""
    return {"namespace": DRIFT_NAMESPACE, "metricName": DRIFT_METRIC, "dimensions": {"Endpoint": endpoint}}


def drift_alarm_name(naming: Naming, project: str) -> str:
    # "<org>-<env>-<project>-" prefix: the project's SNS topic policy lets exactly those alarms publish.
    return naming.project(project, "drift")


def alarm_state_pattern(alarm_arns: list[str]) -> dict[str, Any]:
    """EventBridge pattern: one of these alarms entered ALARM."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": sorted(alarm_arns),
        "detail": {"state": {"value": ["ALARM"]}},
    }


def dashboard_body(*, region: str, endpoint: str, pipeline: Optional[str], schedule: Optional[str],
                   drift_threshold: float, period: int) -> str:
    """CloudWatch dashboard JSON: serving, drift, retraining (``json.dumps(sort_keys=True)``)."""
    ep_dims = ["EndpointName", endpoint, "VariantName", VARIANT]

    def widget(x: int, y: int, title: str, metrics: list, stat: str, extra: Optional[dict] = None) -> dict:
        props: dict[str, Any] = {"title": title, "region": region, "view": "timeSeries", "stacked": False,
                                 "stat": stat, "period": 300, "metrics": metrics}
        props.update(extra or {})
        return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": props}

    widgets = [
        widget(0, 0, f"{endpoint}: invocations", [[ENDPOINT_NAMESPACE, "Invocations", *ep_dims]], "Sum"),
        widget(12, 0, f"{endpoint}: model latency (microseconds)",
               [[ENDPOINT_NAMESPACE, "ModelLatency", *ep_dims],
                [ENDPOINT_NAMESPACE, "ModelLatency", *ep_dims, {"stat": "p99"}]], "Average"),
        widget(0, 6, f"{endpoint}: errors",
               [[ENDPOINT_NAMESPACE, "Invocation4XXErrors", *ep_dims],
                [ENDPOINT_NAMESPACE, "Invocation5XXErrors", *ep_dims]], "Sum"),
        widget(12, 6, f"{endpoint}: drift score (alarm above {drift_threshold:g})",
               [[DRIFT_NAMESPACE, DRIFT_METRIC, "Endpoint", endpoint]], "Maximum",
               {"period": period, "annotations": {"horizontal": [
                   {"label": "driftThreshold", "value": drift_threshold, "color": "#d62728"}]}}),
    ]
    y = 12
    if schedule is not None:
        search = (f"SEARCH('{{\"{DATA_METRICS_NAMESPACE}\",Endpoint,MonitoringSchedule}} "
                  f"MetricName=feature_baseline_drift Endpoint=\"{endpoint}\" MonitoringSchedule=\"{schedule}\"', "
                  f"'Maximum', {period})")
        widgets.append(widget(0, y, f"{schedule}: per-feature baseline drift (Model Monitor)",
                              [[{"expression": search, "id": "features", "label": ""}]], "Maximum",
                              {"period": period}))
    if pipeline is not None:
        widgets.append(widget(12, y, f"{pipeline}: executions",
                              [[PIPELINE_NAMESPACE, m, "PipelineName", pipeline] for m in PIPELINE_METRICS], "Sum",
                              {"period": 3600}))
    return json.dumps({"widgets": widgets}, sort_keys=True)


# ---------------------------------------------------------------------------------------------------
# The component
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProjectMonitoringArgs:
    ctx: Context
    project: Project
    endpoint_name: pulumi.Input[str]               # the endpoint's name (an Output of it orders creation after it)
    artifact_bucket: pulumi.Input[str]             # bucket name
    artifact_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]
    execution_role_name: pulumi.Input[str]
    topic_arn: Optional[pulumi.Input[str]] = None  # the project's SNS topic (level 3 approval events)
    pipeline_name: Optional[pulumi.Input[str]] = None
    pipeline_arn: Optional[pulumi.Input[str]] = None
    network: Optional[Network] = None
    with_monitoring: bool = True
    with_drift_alarms: bool = True
    with_retraining: bool = True
    with_dashboard: bool = True


class ProjectMonitoring(pulumi.ComponentResource):
    job_definition: aws.sagemaker.DataQualityJobDefinition | None = None
    schedule: aws.sagemaker.MonitoringSchedule | None = None
    drift_alarm: aws.cloudwatch.MetricAlarm | None = None
    retrain_role: aws.iam.Role | None = None
    retrain_rule: aws.cloudwatch.EventRule | None = None
    retrain_target: aws.cloudwatch.EventTarget | None = None
    dashboard: aws.cloudwatch.Dashboard | None = None

    def __init__(self, name: str, args: ProjectMonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:monitoring:ProjectMonitoring", name, None, opts)
        ctx, project = args.ctx, args.project
        naming, monitoring = ctx.naming, project.monitoring
        tags = ctx.tags(project=project.name, component="monitoring")
        self.notes: list[str] = []
        self.schedule_name = naming.project(project.name, "data-quality")
        period = SCHEDULES[monitoring.schedule][1]
        endpoint = pulumi.Output.from_input(args.endpoint_name)
        bucket = pulumi.Output.from_input(args.artifact_bucket)

        if monitoring.model_quality:
            self.notes.append(
                f"{project.name}: model-quality monitoring ({monitoring.problem_type}, ground truth "
                f"{monitoring.ground_truth_prefix}) is not provisioned: pulumi-aws has no ModelQualityJobDefinition "
                f"resource and a MonitoringSchedule's inline job definition has no ground-truth input; data-quality "
                f"monitoring and the drift alarm cover this endpoint")

        if args.with_monitoring:
            self._monitoring(name, args, tags, endpoint, bucket)

        if args.with_drift_alarms:
            actions = [args.topic_arn] if args.topic_arn is not None else []
            if not actions:
                self.notes.append(f"{project.name}: the drift alarm has no SNS topic to notify (approval_events off)")
            self.drift_alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-drift-alarm",
                name=drift_alarm_name(naming, project.name),
                alarm_description=(f"{project.name}: data drift - the largest per-feature baseline distance (less the "
                                   f"small-window allowance) "
                                   f"({DRIFT_NAMESPACE} {DRIFT_METRIC}) is above {monitoring.drift_threshold:g}; "
                                   f"notifies the project topic and starts retraining"),
                namespace=DRIFT_NAMESPACE, metric_name=DRIFT_METRIC,
                dimensions={"Endpoint": endpoint},
                statistic="Maximum", period=period, evaluation_periods=1, datapoints_to_alarm=1,
                comparison_operator="GreaterThanThreshold", threshold=monitoring.drift_threshold,
                treat_missing_data="notBreaching",
                actions_enabled=True, alarm_actions=actions, ok_actions=actions,
                tags=tags, opts=child(self),
            )

        if args.with_retraining and self.drift_alarm is not None:
            if args.pipeline_arn is None:
                self.notes.append(f"{project.name}: no training pipeline to start; the retraining loop is not wired")
            else:
                self._retraining(name, args, tags)

        if args.with_dashboard:
            self.dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=naming.project(project.name),
                dashboard_body=pulumi.Output.all(endpoint, args.pipeline_name).apply(
                    lambda v: dashboard_body(
                        region=ctx.region, endpoint=v[0], pipeline=v[1],
                        schedule=self.schedule_name if args.with_monitoring else None,
                        drift_threshold=monitoring.drift_threshold, period=period)),
                opts=child(self),
            )

        outputs: dict[str, Any] = {"driftMetric": endpoint.apply(drift_metric)}
        if self.job_definition is not None:
            outputs["dataQualityJobDefinition"] = self.job_definition.name
        if self.schedule is not None:
            outputs["monitoringSchedule"] = self.schedule.name
        if self.drift_alarm is not None:
            outputs["driftAlarmArn"] = self.drift_alarm.arn
        if self.retrain_rule is not None:
            outputs["retrainRuleArn"] = self.retrain_rule.arn
        if self.dashboard is not None:
            outputs["dashboardName"] = self.dashboard.dashboard_name
        self.register_outputs(outputs)

    # ---- Model Monitor: data-quality job definition + schedule --------------------------------------
    def _monitoring(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str],
                    endpoint: pulumi.Output[str], bucket: pulumi.Output[str]) -> None:
        ctx, project = args.ctx, args.project
        monitoring = project.monitoring
        image = analyzer_image_uri(ctx.region)

        # What the monitoring job needs beyond the foundation's bucket/KMS/log access, on the execution role.
        statements: list[dict[str, Any]] = [
            {"Sid": "PullModelMonitorAnalyzer", "Effect": "Allow",
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
             "Resource": ctx.partition.apply(lambda p: analyzer_repository_arn(ctx.region, p))},
            {"Sid": "EcrLoginForModelMonitor", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
             "Resource": "*"},  # no resource-level permissions for GetAuthorizationToken
            {"Sid": "PublishDriftScore", "Effect": "Allow", "Action": "cloudwatch:PutMetricData",
             "Resource": "*",  # PutMetricData has no resource-level permissions; scoped by namespace
             "Condition": {"StringEquals": {"cloudwatch:namespace": DRIFT_NAMESPACE}}},
        ]
        custom = [u for u in (monitoring.baseline.statistics_uri, monitoring.baseline.constraints_uri) if u]
        if custom:  # baseline files the spec points at, possibly outside the artifact bucket
            statements.append({"Sid": "ReadBaselineFiles", "Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": ctx.partition.apply(
                                   lambda p: sorted(f"arn:{p}:s3:::{u.removeprefix('s3://')}" for u in custom))})
        # A job in the spec's VPC: the network permissions are the foundation's (one place, every level).
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            name=f"monitoring-{project.name}",
            role=args.execution_role_name,
            policy=policy_json(statements),
            opts=child(self),
        )

        stats_uri = bucket.apply(lambda b: baseline_uris(b, project.name, monitoring.baseline)[0])
        constraints_uri = bucket.apply(lambda b: baseline_uris(b, project.name, monitoring.baseline)[1])
        network: dict[str, Any] = {"enable_inter_container_traffic_encryption": True,
                                   "enable_network_isolation": True}
        if args.network is not None:
            network["vpc_config"] = {"security_group_ids": list(args.network.security_group_ids),
                                     "subnets": list(args.network.subnet_ids)}
        self.job_definition = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-data-quality-job",
            name=self.schedule_name,
            role_arn=args.execution_role_arn,
            data_quality_app_specification={
                "image_uri": image,
                "environment": {"publish_cloudwatch_metrics": "Enabled"},
            },
            data_quality_baseline_config={
                "constraints_resource": {"s3_uri": constraints_uri},
                "statistics_resource": {"s3_uri": stats_uri},
            },
            data_quality_job_input={"endpoint_input": {
                "endpoint_name": endpoint,
                "local_path": ENDPOINT_INPUT_PATH,
                "s3_input_mode": "File",
                "s3_data_distribution_type": "FullyReplicated",
            }},
            data_quality_job_output_config={
                "kms_key_id": args.kms_key_arn,
                "monitoring_outputs": {"s3_output": {
                    "s3_uri": bucket.apply(lambda b: monitoring_output(b, project.name)),
                    "local_path": OUTPUT_PATH,
                    "s3_upload_mode": "EndOfJob",
                }},
            },
            job_resources={"cluster_config": {
                "instance_count": 1,
                "instance_type": monitoring.instance_type,
                "volume_size_in_gb": VOLUME_SIZE_GB,
                "volume_kms_key_id": args.kms_key_arn,
            }},
            network_config=network,
            stopping_condition={"max_runtime_in_seconds": MAX_RUNTIME_SECONDS},
            tags=tags,
            opts=child(self, depends_on=[self.execution_policy]),
        )
        self.schedule = aws.sagemaker.MonitoringSchedule(
            f"{name}-data-quality-schedule",
            name=self.schedule_name,
            monitoring_schedule_config={
                "monitoring_job_definition_name": self.job_definition.name,
                "monitoring_type": "DataQuality",
                "schedule_config": {"schedule_expression": schedule_expression(monitoring.schedule)},
            },
            tags=tags,
            opts=child(self),
        )

    # ---- alarm -> EventBridge -> training pipeline ------------------------------------------------------
    def _retraining(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str]) -> None:
        ctx, project = args.ctx, args.project
        naming = ctx.naming
        assert self.drift_alarm is not None and args.pipeline_arn is not None
        self.retrain_rule = aws.cloudwatch.EventRule(
            f"{name}-retrain-rule",
            name=naming.project(project.name, "retrain"),
            description=f"{project.name}: a drift alarm fired - retrain (the new model waits for approval)",
            event_pattern=self.drift_alarm.arn.apply(lambda a: json.dumps(alarm_state_pattern([a]), sort_keys=True)),
            state="ENABLED",
            tags=tags,
            opts=child(self),
        )
        self.retrain_role = aws.iam.Role(
            f"{name}-retrain-role",
            name=naming.project(project.name, "retrain"),
            description=f"EventBridge: start the training pipeline of {project.name} on drift, nothing else",
            assume_role_policy=policy_json([{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                              "ArnEquals": {"aws:SourceArn": self.retrain_rule.arn}},
            }]),
            max_session_duration=3600,
            tags=tags,
            opts=child(self),
        )
        self.retrain_policy = aws.iam.RolePolicy(
            f"{name}-retrain-policy",
            name="start-training-pipeline",
            role=self.retrain_role.id,
            policy=policy_json([{"Sid": "StartThisPipelineOnly", "Effect": "Allow",
                                 "Action": "sagemaker:StartPipelineExecution", "Resource": args.pipeline_arn}]),
            opts=child(self),
        )
        self.retrain_target = aws.cloudwatch.EventTarget(
            f"{name}-retrain-target",
            rule=self.retrain_rule.name,
            target_id="start-training-pipeline",
            arn=args.pipeline_arn,
            role_arn=self.retrain_role.arn,
            retry_policy={"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            opts=child(self, depends_on=[self.retrain_policy]),
        )
