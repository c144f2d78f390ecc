"""What Model Monitor produces and what the platform reacts to: names, S3 locations, images, the retraining event
pattern, the model-quality alarm, the dashboard. Pure functions (no Pulumi resource): the component
(:mod:`.monitoring`), the pipeline definition, the sandbox, the policy tests and the demo share them.

The signal (issue 13, DESIGN 6): the monitor itself, no person or project script in the path.

* **Data quality** - the analyzer compares each window of captured requests with the baseline and ends its
  processing job with ``ExitMessage`` ``"CompletedWithViolations: ..."`` when any constraint is violated
  (``baseline_drift_check`` for numerical *and* categorical distributions, ``completeness_check`` for a share
  of missing values above the baseline's, ``data_type_check``, ``missing_column_check``...; see
  https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html). SageMaker sends
  "SageMaker Processing Job State Change" events whose ``detail`` is the DescribeProcessingJob response
  (``ProcessingJobStatus``, ``ExitMessage``, ``MonitoringScheduleArn``; API_DescribeProcessingJob,
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-sagemaker.html). The retraining rule matches
  exactly that: this project's data-quality schedule ARN, status ``Completed``, ``ExitMessage`` prefix
  ``CompletedWithViolations``. A clean run (``Completed: ...``), a failed run and another schedule's run do not
  match. Why an event and not an alarm: the per-feature metrics (``feature_baseline_drift_<f>`` in
  ``aws/sagemaker/Endpoints/data-metrics``) need feature names the platform does not know (they come with the
  data contract, issue 15), an alarm cannot take a ``SEARCH()`` over metric names, and the analyzer publishes no
  aggregate metric - while the execution's outcome already aggregates every feature and every check type, with
  the baseline's own thresholds. Those are what the analyzer suggests when it baselines (distribution
  ``comparison_threshold`` 0.1, method Robust); ``monitoring.driftThreshold`` reaches the generated repository's
  local tools only - the analyzer takes no threshold input, so another value for the monitor would need the
  suggested constraints.json edited after the baseline step (not done).
* **Model quality** - the model-quality monitor merges captured predictions with the ground truth the project
  writes and publishes the metrics in ``aws/sagemaker/Endpoints/model-metrics`` (dimensions ``Endpoint`` and
  ``MonitoringSchedule``; https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-cw.html).
  The platform knows the metric that matters: the quality gate's, under Model Monitor's name for it
  (``spec.MONITOR_METRICS``: f1_weighted is ``weighted_f1``; log_loss, f1_macro and mape are not published, so
  ``monitoring.modelQuality`` with such a gate is a spec error). The alarm fires when it falls below the gate's
  ``min`` (or rises above its ``max``) and its ALARM state-change event feeds the same retraining rule (``$or``).
  ``treat_missing_data="missing"``: a model-quality monitor that stops publishing (no ground truth, failing
  executions, a stopped schedule) takes the alarm to INSUFFICIENT_DATA, which notifies the project topic
  (``insufficient_data_actions``) - visible, but no retraining: retraining cannot repair a silent monitor, and
  ``breaching`` would retrain every period nobody labels data, ``notBreaching`` would hide it as OK forever.

The retrained model waits in the registry for approval (PendingManualApproval is a literal), so a person still
decides what serves.

Open: a *failed* data-quality execution (no baseline yet, a broken capture) starts nothing and notifies nobody -
the execution list shows it (ListMonitoringExecutions), but the project topic's policy admits only the approval
rule and the project's alarms, so a "monitor failed" rule -> topic needs that policy to admit it too.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any, Optional

from ..naming import Naming
from ..spec import MONITOR_METRICS, Baseline, Project

ANALYZER_CONFIG = ("core", "image_uri_config", "model-monitor.json")  # inside the `sagemaker` (namespace) package
CLARIFY_CONFIG = ("core", "image_uri_config", "clarify.json")
CLARIFY_VERSION = "1.0"
ENDPOINT_INPUT_PATH = "/opt/ml/processing/input"
OUTPUT_PATH = "/opt/ml/processing/output"
VOLUME_SIZE_GB = 30
MAX_RUNTIME_SECONDS = 3600  # an hourly schedule allows at most one hour per run
SCHEDULES = {"hourly": ("cron(0 * ? * * *)", 3600), "daily": ("cron(0 0 ? * * *)", 86400)}
# Window of captured data a model-quality/bias run analyses: ground truth has one period to land.
OFFSETS = {"hourly": ("-PT2H", "-PT1H"), "daily": ("-P2D", "-P1D")}
VARIANT = "AllTraffic"  # the endpoint's only production variant (level 3)

# Monitor type (the API's MonitoringType) -> (name suffix, S3 output kind). Suffixes stay within the length the
# spec validates for the longest project name ("data-quality").
MONITOR_TYPES = {
    "DataQuality": ("data-quality", "data-quality"),
    "ModelQuality": ("quality", "model-quality"),
    "ModelBias": ("bias", "model-bias"),
    "ModelExplainability": ("explain", "model-explainability"),
}

# The serving container's JSON response (template predictor.py / inference.py): {"predictions": [...]} with
# binary {"label": <class>, "score": p(positive)}, multiclass {"label": <class>, "score": p(label)}, regression
# {"value": y}. Model Monitor locates predictions in the capture with EndpointInput.InferenceAttribute (and, for a
# binary model, ProbabilityAttribute + ProbabilityThresholdAttribute: the label is probability >= threshold).
# A multiclass "score" is the probability of the predicted label, not of a positive class: no probability attribute
# (API_EndpointInput: ProbabilityThresholdAttribute is "the threshold for the class probability to be evaluated as
# a positive result", a binary notion).
INFERENCE_ATTRIBUTE = "predictions[*].label"
PROBABILITY_ATTRIBUTE = "predictions[*].score"
PROBABILITY_THRESHOLD = 0.5
REGRESSION_ATTRIBUTE = "predictions[*].value"

DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"    # Model Monitor, real-time endpoints
MODEL_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"  # model quality, real-time endpoints
ENDPOINT_NAMESPACE = "AWS/SageMaker"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"       # sic: "Sagemaker"
PIPELINE_METRICS = ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
VIOLATIONS_PREFIX = "CompletedWithViolations"
PROCESSING_EVENT = "SageMaker Processing Job State Change"
ALARM_EVENT = "CloudWatch Alarm State Change"

# Region -> DNS suffix of the ECR endpoint where it is not amazonaws.com (as the SageMaker SDK resolves it).
_DOMAINS = (("cn-", "amazonaws.com.cn"), ("us-isob-", "sc2s.sgov.gov"), ("us-isof-", "csp.hci.ic.gov"),
            ("us-iso-", "c2s.ic.gov"), ("eu-isoe-", "cloud.adc-e.uk"), ("eusc-", "amazonaws.eu"))


# ---- images (offline, from the SDK's bundled tables) ---------------------------------------------------

@functools.lru_cache(maxsize=4)
def _sdk_table(parts: tuple[str, ...]) -> dict[str, Any]:
    spec = importlib.util.find_spec("sagemaker")  # locates the package without importing it
    for base in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(base, *parts)
        if path.is_file():
            return json.loads(path.read_text())
    raise RuntimeError("the SageMaker Python SDK (sagemaker>=3) is needed for the Model Monitor image table "
                       f"(sagemaker/{'/'.join(parts)}); install the project's dependencies")


def _image(version: dict[str, Any], region: str, what: str) -> tuple[str, str, str]:
    registries = version["registries"]
    if region not in registries:
        raise ValueError(f"{what} has no image in {region}; regions with one: {', '.join(sorted(registries))}")
    domain = next((d for prefix, d in _DOMAINS if region.startswith(prefix)), "amazonaws.com")
    return registries[region], domain, version["repository"]


def analyzer_image_uri(region: str) -> str:
    """``<account>.dkr.ecr.<region>.<domain>/sagemaker-model-monitor-analyzer`` from the SDK's bundled table."""
    account, domain, repo = _image(_sdk_table(ANALYZER_CONFIG)["versions"][""], region, "Model Monitor")
    return f"{account}.dkr.ecr.{region}.{domain}/{repo}"


def analyzer_repository_arn(region: str, partition: str = "aws") -> str:
    account, _, repo = _image(_sdk_table(ANALYZER_CONFIG)["versions"][""], region, "Model Monitor")
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repo}"


def clarify_image_uri(region: str) -> str:
    """SageMaker Clarify's processing image (bias and explainability monitors)."""
    version = _sdk_table(CLARIFY_CONFIG)["processing"]["versions"][CLARIFY_VERSION]
    account, domain, repo = _image(version, region, "SageMaker Clarify")
    return f"{account}.dkr.ecr.{region}.{domain}/{repo}:{CLARIFY_VERSION}"


def clarify_repository_arn(region: str, partition: str = "aws") -> str:
    version = _sdk_table(CLARIFY_CONFIG)["processing"]["versions"][CLARIFY_VERSION]
    account, _, repo = _image(version, region, "SageMaker Clarify")
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repo}"


# ---- where things live ------------------------------------------------------------------------------

def baseline_prefix(bucket: str, project: str) -> str:
    """Where the data-quality job reads its baseline unless the spec pins one (``monitoring.baseline``)."""
    return f"s3://{bucket}/{project}/baseline/"


def baseline_uris(bucket: str, project: str, baseline: Baseline) -> tuple[str, str]:
    """(statistics, constraints) the data-quality job reads: the spec's URIs (``ladder deploy`` pins the deployed
    package's DriftCheckBaselines there), else the project's baseline prefix."""
    prefix = baseline_prefix(bucket, project)
    return (baseline.statistics_uri or prefix + "statistics.json",
            baseline.constraints_uri or prefix + "constraints.json")


def package_baseline_uris(package: dict[str, Any]) -> Optional[tuple[str, str]]:
    """(statistics, constraints) a DescribeModelPackage response records as its data-quality baseline
    (``DriftCheckBaselines.ModelDataQuality``), or None. What ``ladder deploy`` pins as ``monitoring.baseline``."""
    dq = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    stats, cons = (dq.get("Statistics") or {}).get("S3Uri"), (dq.get("Constraints") or {}).get("S3Uri")
    return (stats, cons) if stats and cons else None


def ground_truth_prefix(bucket: str, project: str) -> str:
    """Where the project writes ground truth: ``<prefix>yyyy/mm/dd/hh/<file>.jsonl`` (the capture's layout), one
    ``{"groundTruthData": {"data": "<label>", "encoding": "CSV"}, "eventMetadata": {"eventId": "<the captured
    event's eventId or inferenceId>"}, "eventVersion": "0"}`` per line
    (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html)."""
    return f"s3://{bucket}/ground-truth/{project}/"


def clarify_config_uri(bucket: str, project: str, kind: str) -> str:
    return f"s3://{bucket}/{project}/monitoring/config/{kind}/analysis_config.json"


def monitoring_output(bucket: str, project: str, kind: str = "data-quality") -> str:
    return f"s3://{bucket}/monitoring/{project}/{kind}/"


def schedule_expression(schedule: str) -> str:
    return SCHEDULES[schedule][0]


def monitor_name(naming: Naming, project: str, monitoring_type: str) -> str:
    """Job definition and schedule name of one monitor type (both share it)."""
    return naming.project(project, MONITOR_TYPES[monitoring_type][0])


def monitor_names(naming: Naming, project: Project) -> dict[str, str]:
    """Monitor type -> schedule name, for every type the spec enables."""
    return {t: monitor_name(naming, project.name, t) for t in project.monitoring.enabled_types}


def schedule_arn(region: str, account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:sagemaker:{region}:{account}:monitoring-schedule/{name}"


def problem_type(project: Project) -> str:
    """Model Monitor's ProblemType (BinaryClassification | MulticlassClassification | Regression), from the
    project's problem type (spec: problemType, else inferred from the gate metric)."""
    return project.monitor_problem_type


def inference_attributes(project: Project) -> dict[str, Any]:
    """EndpointInput attributes of the project's problem type (snake_case, pulumi-aws-native's spelling):
    inference_attribute always; probability_attribute and probability_threshold_attribute for binary only."""
    if project.problem_type == "regression":
        return {"inference_attribute": REGRESSION_ATTRIBUTE}
    if project.problem_type == "multiclass":
        return {"inference_attribute": INFERENCE_ATTRIBUTE}
    return {"inference_attribute": INFERENCE_ATTRIBUTE, "probability_attribute": PROBABILITY_ATTRIBUTE,
            "probability_threshold_attribute": PROBABILITY_THRESHOLD}


def monitor_metric(metric: str) -> Optional[str]:
    """Model Monitor's name of a gate metric (what model-metrics publishes), None when it computes none."""
    return MONITOR_METRICS.get(metric)


def quality_alarm_name(naming: Naming, project: str) -> str:
    # "<org>-<env>-<project>-" prefix: the project's SNS topic policy lets exactly those alarms publish.
    return naming.project(project, "model-quality")


def quality_alarm(project: Project) -> dict[str, Any]:
    """The model-quality alarm's metric and condition: the gate's metric (Model Monitor's name) against the gate's
    bound - below min (higher-is-better) or above max (lower-is-better) alarms."""
    gate = project.training.quality_gate
    name = monitor_metric(gate.metric)
    if name is None:  # spec_checks refuses monitoring.modelQuality with such a gate
        raise ValueError(f"Model Monitor publishes no {gate.metric!r} metric; no model-quality alarm can watch it")
    upper = gate.bound == "max"
    return {"metricName": name, "threshold": gate.threshold,
            "comparisonOperator": "GreaterThanThreshold" if upper else "LessThanThreshold",
            "statistic": "Average", "treatMissingData": "missing"}


# ---- the retraining rule's pattern ---------------------------------------------------------------------

def violations_pattern(schedule_arns: list[str]) -> dict[str, Any]:
    """A monitoring execution of one of these schedules completed and found violations."""
    return {"detail-type": [PROCESSING_EVENT],
            "detail": {"MonitoringScheduleArn": sorted(schedule_arns), "ProcessingJobStatus": ["Completed"],
                       "ExitMessage": [{"prefix": VIOLATIONS_PREFIX}]}}


def alarm_pattern(alarm_arns: list[str]) -> dict[str, Any]:
    """One of these alarms entered ALARM."""
    return {"detail-type": [ALARM_EVENT], "resources": sorted(alarm_arns), "detail": {"state": {"value": ["ALARM"]}}}


def monitor_failure_pattern(schedule_arns: list[str]) -> dict[str, Any]:
    """A monitoring execution of these schedules whose processing job Failed (the failure-notice rule)."""
    return {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Processing Job State Change"],
            "detail": {"MonitoringScheduleArn": sorted(schedule_arns), "ProcessingJobStatus": ["Failed"]}}


def retraining_pattern(schedule_arns: list[str], alarm_arns: list[str] = ()) -> dict[str, Any]:
    """EventBridge pattern of the retraining rule: violations of the data-quality schedule, or the model-quality
    alarm entering ALARM (``$or``; "aws.*" sources cannot be sent with PutEvents, so only the services match)."""
    branches, sources = [], []
    if schedule_arns:
        branches.append(violations_pattern(list(schedule_arns)))
        sources.append("aws.sagemaker")
    if alarm_arns:
        branches.append(alarm_pattern(list(alarm_arns)))
        sources.append("aws.cloudwatch")
    if not branches:
        raise ValueError("a retraining pattern needs a schedule or an alarm")
    if len(branches) == 1:
        return {"source": sources, **branches[0]}
    return {"source": sources, "$or": branches}


def violations_event(schedule_arn_: str, *, exit_message: str, status: str = "Completed", account: str,
                     region: str, job: str = "monitoring-job", partition: str = "aws") -> dict[str, Any]:
    """A processing-job state-change event as SageMaker sends it for a monitoring execution (tests, sandbox)."""
    job_arn = f"arn:{partition}:sagemaker:{region}:{account}:processing-job/{job}"
    return {"version": "0", "id": "00000000-0000-0000-0000-000000000000", "detail-type": PROCESSING_EVENT,
            "source": "aws.sagemaker", "account": account, "time": "2026-12-02T00:00:00Z", "region": region,
            "resources": [job_arn],
            "detail": {"ProcessingJobName": job, "ProcessingJobArn": job_arn, "ProcessingJobStatus": status,
                       "ExitMessage": exit_message, "MonitoringScheduleArn": schedule_arn_}}


# ---- dashboard --------------------------------------------------------------------------------------

def dashboard_body(*, region: str, endpoint: str, pipeline: Optional[str], schedules: dict[str, str],
                   quality: Optional[dict[str, Any]], period: int) -> str:
    """CloudWatch dashboard JSON: serving, Model Monitor's metrics, retraining (``json.dumps(sort_keys=True)``)."""
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
    ]
    dq = schedules.get("DataQuality")
    if dq is not None:
        search = (f"SEARCH('{{\"{DATA_METRICS_NAMESPACE}\",Endpoint,MonitoringSchedule}} "
                  f"MetricName=feature_baseline_drift Endpoint=\"{endpoint}\" MonitoringSchedule=\"{dq}\"', "
                  f"'Maximum', {period})")
        widgets.append(widget(12, 6, f"{dq}: per-feature baseline drift (Model Monitor)",
                              [[{"expression": search, "id": "features", "label": ""}]], "Maximum",
                              {"period": period}))
    y = 12
    mq = schedules.get("ModelQuality")
    if mq is not None and quality is not None:
        widgets.append(widget(0, y, f"{mq}: {quality['metricName']} (alarm {quality['comparisonOperator']} "
                                    f"{quality['threshold']:g})",
                              [[MODEL_METRICS_NAMESPACE, quality["metricName"], "Endpoint", endpoint,
                                "MonitoringSchedule", mq]], "Average",
                              {"period": period, "annotations": {"horizontal": [
                                  {"label": "qualityGate", "value": quality["threshold"], "color": "#d62728"}]}}))
    if pipeline is not None:
        widgets.append(widget(12, y, f"{pipeline}: executions",
                              [[PIPELINE_NAMESPACE, m, "PipelineName", pipeline] for m in PIPELINE_METRICS], "Sum",
                              {"period": 3600}))
    return json.dumps({"widgets": widgets}, sort_keys=True)
