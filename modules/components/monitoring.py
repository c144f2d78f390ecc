"""Level 4: Model Monitor, the signals that start retraining, and the dashboard of one project's endpoint.

One component per project (:class:`ProjectMonitoring`, token ``mlops:monitoring:ProjectMonitoring``) whose parts
follow the level-4 capabilities (``monitoring``, ``drift_alarms``, ``retraining_loop``, ``dashboard``). It only
exists for an endpoint that exists (level 3 creates it once ``serving.modelPackageArn`` is set); the platform
notes the wait otherwise.

**Monitors** (every one: the project's own execution role, the stack's KMS key for the reports and the volume,
network isolation, inter-container encryption, the spec's VPC when it has one; a schedule per monitor, hourly or
daily as ``monitoring.schedule`` says):

* data quality, always: ``DataQualityJobDefinition`` (pulumi-aws) over the endpoint's captured requests against
  the baseline the training pipeline's ``baseline`` step computes (Model Monitor's analyzer on the training split
  written headerless, label excluded, in the capture's column order - see ``pipeline_definition``). The job reads
  ``monitoring.baseline`` (``ladder deploy`` pins the deployed package's ``DriftCheckBaselines`` there), else
  ``s3://<bucket>/<project>/baseline/``; until a baseline exists there every execution fails
  ("baseline ... not found") and the plan says so;
* model quality (``monitoring.modelQuality: true``): ``ModelQualityJobDefinition`` (pulumi-aws-native: pulumi-aws
  has none) merging captured predictions with the ground truth the project writes to
  ``s3://<bucket>/ground-truth/<project>/`` (JSONL, the capture's ``yyyy/mm/dd/hh`` layout); ProblemType from the
  project's problem type, the prediction located per problem type (``monitor_signals.inference_attributes``:
  ``predictions[*].label`` + binary ``predictions[*].score``, regression ``predictions[*].value``);
* bias / explainability (``monitoring.bias`` / ``monitoring.explainability``, pulumi-aws-native
  ``ModelBiasJobDefinition`` / ``ModelExplainabilityJobDefinition``): SageMaker Clarify with the analysis
  configuration the project writes (its facets and SHAP baseline come from the data contract).

**Signals** (why an event for data quality and an alarm for model quality: :mod:`.monitor_signals`) - one
EventBridge rule ``<org>-<env>-<project>-retrain`` matches a data-quality execution that completed with
violations (categorical drift and missing-value share included, as Model Monitor reports them) or the
model-quality alarm entering ALARM, and starts the project's training pipeline with its defaults (the CodeVersion
``ladder deploy`` pinned) through a role that may only ``sagemaker:StartPipelineExecution`` on that pipeline. The
model-quality alarm notifies the project's SNS topic (level 3) on every transition, INSUFFICIENT_DATA included.

No AWS call and no resource inside ``apply()``; every physical name comes from the naming helper.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from ..spec import ClarifyMonitor, Network, Project
from .base import Context, child, policy_json
from .monitor_signals import (  # noqa: F401  (re-exported: the platform's monitoring vocabulary)
    DATA_METRICS_NAMESPACE, ENDPOINT_INPUT_PATH, INFERENCE_ATTRIBUTE, MAX_RUNTIME_SECONDS, MODEL_METRICS_NAMESPACE,
    MONITOR_TYPES, OFFSETS, OUTPUT_PATH, PROBABILITY_ATTRIBUTE, PROBABILITY_THRESHOLD, SCHEDULES, VOLUME_SIZE_GB,
    alarm_pattern, analyzer_image_uri, analyzer_repository_arn, baseline_prefix, baseline_uris, clarify_config_uri,
    clarify_image_uri, clarify_repository_arn, dashboard_body, ground_truth_prefix, inference_attributes,
    monitor_name, monitor_names,
    monitor_failure_pattern, monitoring_output, package_baseline_uris, problem_type, quality_alarm, quality_alarm_name,
    retraining_pattern,
    schedule_arn, schedule_expression, violations_event, violations_pattern,
)
from .sdk import aws


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
    schedule: aws.sagemaker.MonitoringSchedule | None = None  # the data-quality schedule
    quality_alarm: aws.cloudwatch.MetricAlarm | None = None
    retrain_role: aws.iam.Role | None = None
    retrain_rule: aws.cloudwatch.EventRule | None = None
    retrain_target: aws.cloudwatch.EventTarget | None = None
    failure_rule: aws.cloudwatch.EventRule | None = None
    dashboard: aws.cloudwatch.Dashboard | None = None

    def __init__(self, name: str, args: ProjectMonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:monitoring:ProjectMonitoring", name, None, opts)
        ctx, project = args.ctx, args.project
        naming, monitoring = ctx.naming, project.monitoring
        tags = ctx.tags(project=project.name, component="monitoring")
        self.notes: list[str] = []
        self.job_definitions: dict[str, pulumi.CustomResource] = {}
        self.schedules: dict[str, aws.sagemaker.MonitoringSchedule] = {}
        self.schedule_names = monitor_names(naming, project) if args.with_monitoring else {}
        self.schedule_name = monitor_name(naming, project.name, "DataQuality")
        period = SCHEDULES[monitoring.schedule][1]
        endpoint = pulumi.Output.from_input(args.endpoint_name)
        bucket = pulumi.Output.from_input(args.artifact_bucket)

        if args.with_monitoring:
            self._monitors(name, args, tags, endpoint, bucket)
            if monitoring.baseline.statistics_uri is None:
                self.notes.append(
                    f"{project.name}: the data-quality monitor reads its baseline from s3://<artifact-bucket>/"
                    f"{project.name}/baseline/ until `ladder deploy` pins the deployed package's baseline "
                    f"(monitoring.baseline); executions fail with a missing-baseline error until one exists there")
        elif monitoring.enabled_types != ("DataQuality",):
            self.notes.append(f"{project.name}: the monitoring capability is off; {', '.join(monitoring.enabled_types)}"
                              f" monitors are not provisioned")

        if args.with_drift_alarms and "ModelQuality" in self.schedules:
            self._quality_alarm(name, args, tags, endpoint, period)
        elif args.with_drift_alarms:
            self.notes.append(f"{project.name}: no model-quality alarm (monitoring.modelQuality is off); data drift is "
                              f"signalled by the data-quality execution's violations event, not by an alarm")

        if args.with_retraining and (self.schedule is not None or self.quality_alarm is not None):
            if args.pipeline_arn is None:
                self.notes.append(f"{project.name}: no training pipeline to start; the retraining loop is not wired")
            else:
                self._retraining(name, args, tags)

        if self.schedules and args.topic_arn is not None:
            self._failure_notice(name, args, tags)

        if self.schedules:
            signals = [s for s, on in (("data-quality violations", "DataQuality" in self.schedules),
                                       ("the model-quality alarm", self.quality_alarm is not None)) if on]
            self.notes.append(
                f"{project.name}: Model Monitor {monitoring.schedule}: "
                f"{', '.join(f'{t} ({n})' for t, n in self.schedule_names.items())}; retraining on "
                + (" or ".join(signals) if self.retrain_rule is not None else "nothing (retraining_loop off)"))

        if args.with_dashboard:
            quality = quality_alarm(project) if "ModelQuality" in self.schedules else None
            names = dict(self.schedule_names)
            self.dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=naming.project(project.name),
                dashboard_body=pulumi.Output.all(endpoint, args.pipeline_name).apply(
                    lambda v: dashboard_body(region=ctx.region, endpoint=v[0], pipeline=v[1], schedules=names,
                                             quality=quality, period=period)),
                opts=child(self),
            )

        outputs: dict[str, Any] = {"monitoringSchedules": {t: s.name for t, s in self.schedules.items()}}
        if self.job_definition is not None:
            outputs["dataQualityJobDefinition"] = self.job_definition.name
            outputs["groundTruthPrefix"] = bucket.apply(lambda b: ground_truth_prefix(b, project.name))
        if self.schedule is not None:
            outputs["monitoringSchedule"] = self.schedule.name
        if self.quality_alarm is not None:
            outputs["qualityAlarmArn"] = self.quality_alarm.arn
        if self.retrain_rule is not None:
            outputs["retrainRuleArn"] = self.retrain_rule.arn
        if self.dashboard is not None:
            outputs["dashboardName"] = self.dashboard.dashboard_name
        self.register_outputs(outputs)

    # ---- Model Monitor: job definitions + schedules ---------------------------------------------------
    def _monitors(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str],
                  endpoint: pulumi.Output[str], bucket: pulumi.Output[str]) -> None:
        ctx, project = args.ctx, args.project
        monitoring = project.monitoring
        clarify = monitoring.bias is not None or monitoring.explainability is not None
        repos = [ctx.partition.apply(lambda p: analyzer_repository_arn(ctx.region, p))]
        if clarify:
            repos.append(ctx.partition.apply(lambda p: clarify_repository_arn(ctx.region, p)))
        # What the monitoring jobs need beyond the foundation's bucket/KMS/log access, on the execution role.
        statements: list[dict[str, Any]] = [
            {"Sid": "PullMonitorImages", "Effect": "Allow",
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
             "Resource": repos},
            {"Sid": "EcrLoginForModelMonitor", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
             "Resource": "*"},  # no resource-level permissions for GetAuthorizationToken
        ]
        bucket_arn = pulumi.Output.from_input(args.artifact_bucket_arn)
        if monitoring.model_quality or monitoring.bias is not None:  # read-only: the project writes ground truth
            statements += [
                {"Sid": "ListGroundTruth", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
                 "Condition": {"StringLike": {"s3:prefix": [f"ground-truth/{project.name}/*"]}}},
                {"Sid": "ReadGroundTruth", "Effect": "Allow", "Action": "s3:GetObject",
                 "Resource": bucket_arn.apply(lambda a: f"{a}/ground-truth/{project.name}/*")},
            ]
        custom = [u for u in (monitoring.baseline.statistics_uri, monitoring.baseline.constraints_uri,
                              *(c.analysis_config_uri for c in (monitoring.bias, monitoring.explainability) if c),
                              *(c.constraints_uri for c in (monitoring.bias, monitoring.explainability) if c)) if u]
        if custom:  # files the spec points at, possibly outside the artifact bucket
            statements.append({"Sid": "ReadMonitorFiles", "Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": ctx.partition.apply(
                                   lambda p: sorted({f"arn:{p}:s3:::{u.removeprefix('s3://')}" for u in custom}))})
        # A job in the spec's VPC: the network permissions are the foundation's (one place, every level).
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy", name=f"monitoring-{project.name}", role=args.execution_role_name,
            policy=policy_json(statements), opts=child(self))

        self.job_definition = self._data_quality(name, args, tags, endpoint, bucket)
        self._schedule(name, args, tags, "DataQuality", self.job_definition.name)
        self.schedule = self.schedules["DataQuality"]
        if monitoring.model_quality:
            job = self._model_quality(name, args, endpoint, bucket)
            self._schedule(name, args, tags, "ModelQuality", job.job_definition_name)
        for kind, spec in (("ModelBias", monitoring.bias), ("ModelExplainability", monitoring.explainability)):
            if spec is not None:
                job = self._clarify(name, args, endpoint, bucket, kind, spec)
                self._schedule(name, args, tags, kind, job.job_definition_name)
                self.notes.append(f"{project.name}: the {kind} monitor reads the project's Clarify analysis config "
                                  f"{spec.analysis_config_uri or clarify_config_uri('<artifact-bucket>', project.name, kind)}"
                                  f"; its executions fail until the project writes it")

    def _common(self, args: ProjectMonitoringArgs) -> dict[str, Any]:
        """Resources, network and stopping condition every monitor shares (snake_case dict keys for both SDKs)."""
        network: dict[str, Any] = {"enable_inter_container_traffic_encryption": True, "enable_network_isolation": True}
        if args.network is not None:
            network["vpc_config"] = {"security_group_ids": list(args.network.security_group_ids),
                                     "subnets": list(args.network.subnet_ids)}
        return {
            "role_arn": args.execution_role_arn,
            "job_resources": {"cluster_config": {
                "instance_count": 1, "instance_type": args.project.monitoring.instance_type,
                "volume_size_in_gb": VOLUME_SIZE_GB, "volume_kms_key_id": args.kms_key_arn}},
            "network_config": network,
            "stopping_condition": {"max_runtime_in_seconds": MAX_RUNTIME_SECONDS},
        }

    def _native_tags(self, args: ProjectMonitoringArgs) -> list[dict[str, str]]:
        tags = args.ctx.tags(project=args.project.name, component="monitoring")
        return [{"key": k, "value": v} for k, v in sorted(tags.items())]

    def _output(self, args: ProjectMonitoringArgs, bucket: pulumi.Output[str], kind: str) -> dict[str, Any]:
        return {"kms_key_id": args.kms_key_arn, "monitoring_outputs": [{"s3_output": {
            "s3_uri": bucket.apply(lambda b: monitoring_output(b, args.project.name, kind)),
            "local_path": OUTPUT_PATH, "s3_upload_mode": "EndOfJob"}}]}

    def _data_quality(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str],
                      endpoint: pulumi.Output[str], bucket: pulumi.Output[str]) -> aws.sagemaker.DataQualityJobDefinition:
        project = args.project
        uris = bucket.apply(lambda b: baseline_uris(b, project.name, project.monitoring.baseline))
        output = self._output(args, bucket, "data-quality")
        output["monitoring_outputs"] = output["monitoring_outputs"][0]  # pulumi-aws: a single block
        job = aws.sagemaker.DataQualityJobDefinition(
            f"{name}-data-quality-job",
            name=self.schedule_name,
            data_quality_app_specification={"image_uri": analyzer_image_uri(args.ctx.region),
                                            "environment": {"publish_cloudwatch_metrics": "Enabled"}},
            data_quality_baseline_config={"constraints_resource": {"s3_uri": uris.apply(lambda u: u[1])},
                                          "statistics_resource": {"s3_uri": uris.apply(lambda u: u[0])}},
            data_quality_job_input={"endpoint_input": {
                "endpoint_name": endpoint, "local_path": ENDPOINT_INPUT_PATH, "s3_input_mode": "File",
                "s3_data_distribution_type": "FullyReplicated"}},
            data_quality_job_output_config=output,
            tags=tags,
            opts=child(self, depends_on=[self.execution_policy]),
            **self._common(args),
        )
        self.job_definitions["DataQuality"] = job
        return job

    def _endpoint_input(self, args: ProjectMonitoringArgs, endpoint: pulumi.Output[str], *,
                        window: bool) -> dict[str, Any]:
        attributes = inference_attributes(args.project)
        threshold = attributes.pop("probability_threshold_attribute", None)
        found: dict[str, Any] = {"endpoint_name": endpoint, "local_path": ENDPOINT_INPUT_PATH, "s3_input_mode": "File",
                                 "s3_data_distribution_type": "FullyReplicated", **attributes}
        if window:
            start, end = OFFSETS[args.project.monitoring.schedule]
            found.update(start_time_offset=start, end_time_offset=end)
            if threshold is not None:
                found["probability_threshold_attribute"] = threshold
        return found

    def _model_quality(self, name: str, args: ProjectMonitoringArgs, endpoint: pulumi.Output[str],
                       bucket: pulumi.Output[str]) -> pulumi.CustomResource:
        from .sdk import native

        ctx, project = args.ctx, args.project
        job = native.sagemaker.ModelQualityJobDefinition(
            f"{name}-model-quality-job",
            job_definition_name=monitor_name(ctx.naming, project.name, "ModelQuality"),
            endpoint_name=endpoint,
            model_quality_app_specification={"image_uri": analyzer_image_uri(ctx.region),
                                             "problem_type": problem_type(project),
                                             "environment": {"publish_cloudwatch_metrics": "Enabled"}},
            model_quality_job_input={
                "endpoint_input": self._endpoint_input(args, endpoint, window=True),
                "ground_truth_s3_input": {"s3_uri": bucket.apply(lambda b: ground_truth_prefix(b, project.name))}},
            model_quality_job_output_config=self._output(args, bucket, MONITOR_TYPES["ModelQuality"][1]),
            tags=self._native_tags(args),
            opts=child(self, provider=ctx.native_provider(), depends_on=[self.execution_policy]),
            **self._common(args),
        )
        self.job_definitions["ModelQuality"] = job
        return job

    def _clarify(self, name: str, args: ProjectMonitoringArgs, endpoint: pulumi.Output[str],
                 bucket: pulumi.Output[str], kind: str, spec: ClarifyMonitor) -> pulumi.CustomResource:
        from .sdk import native

        ctx, project = args.ctx, args.project
        config = (pulumi.Output.from_input(spec.analysis_config_uri) if spec.analysis_config_uri
                  else bucket.apply(lambda b: clarify_config_uri(b, project.name, kind)))
        app = {"image_uri": clarify_image_uri(ctx.region), "config_uri": config,
               "environment": {"publish_cloudwatch_metrics": "Enabled"}}
        baseline = {"constraints_resource": {"s3_uri": spec.constraints_uri}} if spec.constraints_uri else None
        common = dict(job_definition_name=monitor_name(ctx.naming, project.name, kind), endpoint_name=endpoint,
                      tags=self._native_tags(args),
                      opts=child(self, provider=ctx.native_provider(), depends_on=[self.execution_policy]),
                      **self._common(args))
        output = self._output(args, bucket, MONITOR_TYPES[kind][1])
        if kind == "ModelBias":
            job = native.sagemaker.ModelBiasJobDefinition(
                f"{name}-model-bias-job", model_bias_app_specification=app, model_bias_baseline_config=baseline,
                model_bias_job_input={
                    "endpoint_input": self._endpoint_input(args, endpoint, window=True),
                    "ground_truth_s3_input": {"s3_uri": bucket.apply(lambda b: ground_truth_prefix(b, project.name))}},
                model_bias_job_output_config=output, **common)
        else:
            job = native.sagemaker.ModelExplainabilityJobDefinition(
                f"{name}-model-explainability-job", model_explainability_app_specification=app,
                model_explainability_baseline_config=baseline,
                model_explainability_job_input={"endpoint_input": self._endpoint_input(args, endpoint, window=False)},
                model_explainability_job_output_config=output, **common)
        self.job_definitions[kind] = job
        return job

    def _schedule(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str], kind: str,
                  job_name: pulumi.Input[str]) -> None:
        suffix = "data-quality" if kind == "DataQuality" else MONITOR_TYPES[kind][1]
        self.schedules[kind] = aws.sagemaker.MonitoringSchedule(
            f"{name}-{suffix}-schedule",
            name=monitor_name(args.ctx.naming, args.project.name, kind),
            monitoring_schedule_config={
                "monitoring_job_definition_name": job_name,
                "monitoring_type": kind,
                "schedule_config": {"schedule_expression": schedule_expression(args.project.monitoring.schedule)},
            },
            tags=tags,
            opts=child(self),
        )

    # ---- model-quality alarm --------------------------------------------------------------------------
    def _quality_alarm(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str],
                       endpoint: pulumi.Output[str], period: int) -> None:
        project = args.project
        spec = quality_alarm(project)
        actions = [args.topic_arn] if args.topic_arn is not None else []
        if not actions:
            self.notes.append(f"{project.name}: the model-quality alarm has no SNS topic to notify (approval_events off)")
        self.quality_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-quality-alarm",
            name=quality_alarm_name(args.ctx.naming, project.name),
            alarm_description=(f"{project.name}: model quality - {spec['metricName']} measured by Model Monitor on "
                               f"ground truth is {spec['comparisonOperator']} {spec['threshold']:g} (the quality gate); "
                               f"starts retraining; INSUFFICIENT_DATA means the monitor published nothing (no ground "
                               f"truth, failing or stopped executions)"),
            namespace=MODEL_METRICS_NAMESPACE, metric_name=spec["metricName"],
            dimensions={"Endpoint": endpoint, "MonitoringSchedule": self.schedules["ModelQuality"].name},
            statistic=spec["statistic"], period=period, evaluation_periods=1, datapoints_to_alarm=1,
            comparison_operator=spec["comparisonOperator"], threshold=spec["threshold"],
            treat_missing_data=spec["treatMissingData"],
            actions_enabled=True, alarm_actions=actions, ok_actions=actions, insufficient_data_actions=actions,
            tags=tags, opts=child(self),
        )

    # ---- a monitoring execution that fails notifies people (it neither retrains nor publishes metrics) -------
    def _failure_notice(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str]) -> None:
        """A failed execution (no baseline yet, an analyzer error, a missing ground-truth input) is otherwise silent:
        the retraining rule matches only completions with violations and the quality alarm only goes
        INSUFFICIENT_DATA. An hour without capture starts no processing job, so it sends nothing here."""
        project = args.project
        arns = [s.arn for s in self.schedules.values()]
        self.failure_rule = aws.cloudwatch.EventRule(
            f"{name}-failed-rule",
            name=args.ctx.naming.project(project.name, "monitor-failed"),
            description=f"{project.name}: a Model Monitor execution failed - notify the project topic",
            event_pattern=pulumi.Output.all(*arns).apply(lambda v: json.dumps(
                monitor_failure_pattern(list(v)), sort_keys=True)),
            state="ENABLED",
            tags=tags,
            opts=child(self),
        )
        self.failure_target = aws.cloudwatch.EventTarget(
            f"{name}-failed-notify",
            rule=self.failure_rule.name,
            target_id="notify-people",
            arn=args.topic_arn,
            input_transformer={
                "input_paths": {"job": "$.detail.ProcessingJobName", "reason": "$.detail.FailureReason",
                                "schedule": "$.detail.MonitoringScheduleArn"},
                "input_template": '"Model Monitor execution <job> of <schedule> failed: <reason>"',
            },
            opts=child(self),
        )

    # ---- violations / alarm -> EventBridge -> training pipeline --------------------------------------------
    def _retraining(self, name: str, args: ProjectMonitoringArgs, tags: dict[str, str]) -> None:
        ctx, project = args.ctx, args.project
        naming = ctx.naming
        assert args.pipeline_arn is not None
        schedules = [self.schedule.arn] if self.schedule is not None else []
        alarms = [self.quality_alarm.arn] if self.quality_alarm is not None else []
        self.retrain_rule = aws.cloudwatch.EventRule(
            f"{name}-retrain-rule",
            name=naming.project(project.name, "retrain"),
            description=(f"{project.name}: the data-quality monitor found violations or the model-quality alarm fired"
                         f" - retrain (the new model waits for approval)"),
            event_pattern=pulumi.Output.all(pulumi.Output.all(*schedules), pulumi.Output.all(*alarms)).apply(
                lambda v: json.dumps(retraining_pattern(list(v[0]), list(v[1])), sort_keys=True)),
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
