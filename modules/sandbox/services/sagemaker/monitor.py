"""SageMaker Model Monitor in the sandbox: monitoring schedules that run when the sandbox clock advances.

moto 5.2.5 stores the job definitions (Create/Describe/Delete DataQuality/ModelQuality/ModelBias/
ModelExplainabilityJobDefinition) but has no monitoring schedule and no monitoring execution at all. Here the
gateway answers Create/Describe/List/Delete/Stop/Start/UpdateMonitoringSchedule, ListMonitoringExecutions and the
tag calls on schedule ARNs itself (botocore-validated, SageMaker's error codes), and the job definitions stay in
moto (read back with Describe* when a schedule runs them). :mod:`modules.sandbox.aws` reports these calls as
emulated, so ``ladder up --sandbox`` sends them here.

What it does
  * **Schedules fire** on ``Gateway.tick(seconds)`` (``POST /_ladder/tick``, ``ladder sandbox tick``) at every
    occurrence of their cron expression in the advanced interval (:func:`..scheduler.occurrences`), and once at
    creation for ``NOW``. Accepted expressions are the documented ones (API_ScheduleConfig): ``cron(0 * ? * * *)``,
    ``cron(0 H ? * * *)``, ``cron(0 H/N ? * * *)``, ``NOW`` (which needs DataAnalysisStartTime/EndTime).
  * **Window**: an execution scheduled at T analyses the capture of [T - 1 h, T) (the container contract's
    ``start_time``/``end_time``, model-monitor-byoc-contract-inputs.html), shifted by ``DataAnalysisStartTime`` /
    ``DataAnalysisEndTime`` or, for model quality, the EndpointInput's ``StartTimeOffset``/``EndTimeOffset``
    (start = T + StartTimeOffset, end = T + EndTimeOffset, model-monitor-model-quality-schedule.html). Capture
    files are chosen by their ``<endpoint>/<variant>/yyyy/mm/dd/hh`` folder (the hour they were written).
  * **An execution is a processing job**: ``model-monitoring-<yyyymmddHHMM>-<hex>`` is registered in moto
    (CreateProcessingJob, botocore-validated; DescribeProcessingJob then reports its status, ExitMessage,
    FailureReason and MonitoringScheduleArn) and run by :func:`.jobs.run_processing` as the job definition's role:
    the capture hours as S3Prefix inputs under the EndpointInput's LocalPath (``/<endpoint>/<variant>/yyyy/mm/dd/hh``),
    the baseline as S3Object inputs (``/opt/ml/processing/baseline/{constraints,stats}``), ground truth
    (model quality) under ``/opt/ml/processing/groundtruth``, the analyzer's environment, and the output uploaded to
    ``<S3Uri>/<endpoint>/<schedule>/yyyy/mm/dd/hh/`` (statistics.json, constraint_violations.json) with the output
    KMS key. The analyzer image runs the sandbox's analyzer (:mod:`.modelmonitor`); another image runs its
    ContainerEntrypoint as any processing job. A data-quality run analyses, per captured record, the output
    column(s) first and then the input's (model-monitor-create-baseline.html: "the prediction/output column(s) are
    assumed to be the 1st column(s) in the training dataset" and the schemas must match exactly), so with
    Input+Output capture the baseline needs the output/label column first; Input-only capture analyses inputs.
  * **Statuses** (ListMonitoringExecutions, the schedule's LastMonitoringExecutionSummary): Completed,
    CompletedWithViolations (ExitMessage "CompletedWithViolations: Job completed successfully with N violations."),
    Failed with FailureReason: "Job inputs had no data" (no capture in the window; no processing job is started, as
    on AWS), a missing baseline object (the processing job's input error), the container's error.
  * **Metrics**: the analyzer's per-feature metrics (``feature_baseline_drift_<f>``, ``feature_non_null_<f>``,
    ``feature_null_<f>``, ``feature_completeness_<f>``, ``feature_data_<f>``) into
    ``aws/sagemaker/Endpoints/data-metrics``, the model-quality metrics (accuracy, precision, recall, f1, auc...)
    into ``aws/sagemaker/Endpoints/model-metrics``, dimensions ``Endpoint`` and ``MonitoringSchedule``
    (model-monitor-byoc-cloudwatch.html and the SageMaker SDK's AutomaticModelQualityDashboard, which searches
    ``{aws/sagemaker/Endpoints/model-metrics,Endpoint,MonitoringSchedule}``; the older
    model-monitor-interpreting-cloudwatch page still says ``/aws/sagemaker/Endpoints/data-metric`` with
    ``EndpointName``/``ScheduleName``, and the SDK's data-quality dashboard also searches a ``Feature`` dimension
    set - neither is emitted here), timestamped at
    the window's end in sandbox time, through :func:`..cloudwatch.publish` so alarms are evaluated at once -
    unless the job environment says ``publish_cloudwatch_metrics=Disabled`` or the constraints ``emit_metrics``.
  * **Event**: when an execution's processing job ends, "SageMaker Processing Job State Change" (source
    aws.sagemaker, resources [job ARN]) with the DescribeProcessingJob fields as detail - ProcessingJobName,
    ProcessingJobStatus (Completed/Failed), ExitMessage, FailureReason, MonitoringScheduleArn, inputs, outputs,
    environment, times in epoch milliseconds. The detail-type and the ProcessingJobName/ProcessingJobStatus keys are
    what public rules match on; the full detail shape is not in the stored AWS docs, so it mirrors
    DescribeProcessingJob (an assumption). A rule can match completions with violations by
    ``{"detail": {"MonitoringScheduleArn": [...], "ExitMessage": [{"prefix": "CompletedWithViolations"}]}}``.

Driving it: ``Gateway.tick(seconds)`` / ``POST /_ladder/tick {"seconds": N}`` / ``ladder sandbox tick 1h`` - the
fired list has one entry per execution (``schedule``, ``time``, ``status`` = MonitoringExecutionStatus,
``execution`` = processing job ARN, ``reason``); ``Gateway.report()["monitoring"]`` lists every execution with the
S3 URIs of its statistics.json / constraint_violations.json.

What it does not do
  * ModelBias and ModelExplainability schedules (Clarify) are stored and described but never executed (each due
    run is recorded in ``Gateway.report()["monitoring"]["notRun"]``, no execution is invented); batch-transform
    inputs, record preprocessor / post-analytics scripts, the schedule's 0-20 minute start delay and the separate
    ground-truth merge job are not emulated; the analyzer's rules are an approximation (see
    :mod:`.modelmonitor.dataquality`). Executions run synchronously inside the tick.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from .. import iam, s3io
from ..events import envelope
from ..scheduler import Unsupported, occurrences

KINDS = {"DataQuality": "data_quality", "ModelQuality": "model_quality", "ModelBias": "model_bias",
         "ModelExplainability": "model_explainability"}
EMULATED_KINDS = ("DataQuality", "ModelQuality")
NAMESPACES = {"DataQuality": "aws/sagemaker/Endpoints/data-metrics",
              "ModelQuality": "aws/sagemaker/Endpoints/model-metrics"}
CRON = re.compile(r"cron\(0 (\*|\d{1,2}|\d{1,2}/\d{1,2}) \? \* \* \*\)")
BASELINE_DIR = "/opt/ml/processing/baseline"
GROUND_TRUTH_DIR = "/opt/ml/processing/groundtruth"


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.status = code, status


def duration(text: Optional[str]) -> timedelta:
    """An ISO 8601 duration offset (``-PT1H``, ``-P1D``, ``-PT30M``)."""
    if not text:
        return timedelta(0)
    m = re.fullmatch(r"([+-])?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text.strip())
    if not m or text.strip().rstrip("T") in ("P", "-P", "+P"):
        raise ApiError("ValidationException", f"{text!r} is not an ISO 8601 duration such as -PT1H")
    sign = -1 if m.group(1) == "-" else 1
    d, h, mi, s = (int(g or 0) for g in m.groups()[1:])
    return sign * timedelta(days=d, hours=h, minutes=mi, seconds=s)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Schedule:
    name: str
    arn: str
    account: str
    region: str
    config: dict[str, Any]
    created: float  # sandbox time
    status: str = "Scheduled"
    modified: float = 0.0
    last_checked: float = 0.0
    tags: list[dict[str, str]] = field(default_factory=list)
    last: Optional[dict[str, Any]] = None

    @property
    def kind(self) -> str:
        return self.config.get("MonitoringType") or "DataQuality"

    def describe(self, endpoint: Optional[str]) -> dict[str, Any]:
        out = {"MonitoringScheduleArn": self.arn, "MonitoringScheduleName": self.name,
               "MonitoringScheduleStatus": self.status, "MonitoringType": self.kind,
               "CreationTime": self.created, "LastModifiedTime": self.modified or self.created,
               "MonitoringScheduleConfig": self.config}
        if endpoint:
            out["EndpointName"] = endpoint
        if self.last:
            out["LastMonitoringExecutionSummary"] = self.last
        return out


class MonitorRuntime:
    """The account's monitoring schedules and their executions (one per gateway)."""

    def __init__(self, gw: Any):
        self.gw = gw
        self.schedules: dict[tuple[str, str, str], Schedule] = {}
        self.executions: list[dict[str, Any]] = []
        self.not_run: list[dict[str, Any]] = []
        self.outputs: dict[str, dict[str, Any]] = {}  # processing job name -> where its reports landed
        self._lock = threading.RLock()

    # ---- job definitions ------------------------------------------------------------------------------
    def definition(self, schedule: Schedule) -> dict[str, Any]:
        """The job to run, normalised: inline MonitoringJobDefinition or the named job definition in moto."""
        cfg = schedule.config
        if cfg.get("MonitoringJobDefinition"):
            d = cfg["MonitoringJobDefinition"]
            inp = (d.get("MonitoringInputs") or [{}])[0]
            return {"name": None, "app": d.get("MonitoringAppSpecification") or {}, "env": d.get("Environment") or {},
                    "baseline": d.get("BaselineConfig") or {}, "input": inp.get("EndpointInput"),
                    "batch": inp.get("BatchTransformInput"), "output": d.get("MonitoringOutputConfig") or {},
                    "resources": d.get("MonitoringResources") or {}, "role": d.get("RoleArn", ""),
                    "network": d.get("NetworkConfig"), "stopping": d.get("StoppingCondition"), "ground_truth": None}
        name, kind = cfg["MonitoringJobDefinitionName"], schedule.kind
        key = KINDS[kind]
        camel = "".join(p.capitalize() for p in key.split("_"))
        sm = self.gw.client("sagemaker", schedule.region)
        d = getattr(sm, f"describe_{key}_job_definition")(JobDefinitionName=name)
        app = dict(d.get(f"{camel}AppSpecification") or {})
        job_input = d.get(f"{camel}JobInput") or {}
        return {"name": name, "app": app, "env": app.get("Environment") or {},
                "baseline": d.get(f"{camel}BaselineConfig") or {}, "input": job_input.get("EndpointInput"),
                "batch": job_input.get("BatchTransformInput"), "output": d.get(f"{camel}JobOutputConfig") or {},
                "resources": d.get("JobResources") or {}, "role": d.get("RoleArn", ""),
                "network": d.get("NetworkConfig"), "stopping": d.get("StoppingCondition"),
                "ground_truth": (job_input.get("GroundTruthS3Input") or {}).get("S3Uri"),
                "problem_type": app.get("ProblemType")}

    # ---- the clock ------------------------------------------------------------------------------------
    def tick(self) -> list[dict[str, Any]]:
        """Run every execution due since the last tick (in time order); return their summaries."""
        now = self.gw.scheduler.now()
        due: list[tuple[datetime, Schedule]] = []
        with self._lock:
            for schedule in list(self.schedules.values()):
                start, schedule.last_checked = schedule.last_checked, now
                expr = (schedule.config.get("ScheduleConfig") or {}).get("ScheduleExpression", "")
                if schedule.status != "Scheduled" or expr == "NOW":
                    continue
                begin = datetime.fromtimestamp(start, timezone.utc)
                end = datetime.fromtimestamp(now, timezone.utc)
                try:
                    due.extend((t, schedule) for t in occurrences(expr, begin, begin, end))
                except Unsupported:
                    continue
        return [self.run(schedule, moment) for moment, schedule in sorted(due, key=lambda d: d[0])]

    def due_times(self, end: float) -> list[float]:
        """When executions fall due between each schedule's last check and ``end`` (sandbox epoch seconds)."""
        times: set[float] = set()
        with self._lock:
            for schedule in list(self.schedules.values()):
                expr = (schedule.config.get("ScheduleConfig") or {}).get("ScheduleExpression", "")
                if schedule.status != "Scheduled" or expr == "NOW":
                    continue
                begin = datetime.fromtimestamp(schedule.last_checked, timezone.utc)
                try:
                    found = occurrences(expr, begin, begin, datetime.fromtimestamp(end, timezone.utc))
                except Unsupported:
                    continue
                times.update(t.timestamp() for t in found)
        return sorted(times)

    # ---- one execution ---------------------------------------------------------------------------------
    def run(self, schedule: Schedule, scheduled: datetime) -> dict[str, Any]:
        kind = schedule.kind
        summary: dict[str, Any] = {"MonitoringScheduleName": schedule.name, "ScheduledTime": _ms(scheduled) / 1000,
                                   "CreationTime": self.gw.scheduler.now(), "MonitoringType": kind}
        if kind not in EMULATED_KINDS:
            note = {"schedule": schedule.name, "scheduledTime": scheduled.isoformat(), "monitoringType": kind,
                    "reason": f"{kind} monitoring (SageMaker Clarify) is not emulated by the sandbox"}
            self.not_run.append(note)
            return note
        try:
            job = self.definition(schedule)
        except Exception as exc:  # noqa: BLE001 - the definition was deleted after the schedule was created
            return self._record(schedule, summary, "Failed", f"ValidationException: {exc}")
        if job["name"]:
            summary["MonitoringJobDefinitionName"] = job["name"]
        endpoint = (job["input"] or {}).get("EndpointName")
        if not endpoint:
            return self._record(schedule, summary, "Failed", "the sandbox emulates EndpointInput monitoring only "
                                                             "(BatchTransformInput is not emulated)")
        summary["EndpointName"] = endpoint
        scripts = [k for k in ("RecordPreprocessorSourceUri", "PostAnalyticsProcessorSourceUri") if job["app"].get(k)]
        if scripts:  # they would change what the analyzer sees: refuse rather than ignore them
            return self._record(schedule, summary, "Failed", f"{' and '.join(scripts)}: the sandbox's analyzer does "
                                                             f"not run record preprocessor / post-analytics scripts")
        cfg = schedule.config.get("ScheduleConfig") or {}
        start_off = job["input"].get("StartTimeOffset") or cfg.get("DataAnalysisStartTime")
        end_off = job["input"].get("EndTimeOffset") or cfg.get("DataAnalysisEndTime")
        start = scheduled + duration(start_off) if start_off else scheduled - timedelta(hours=1)
        end = scheduled + duration(end_off) if end_off else scheduled
        try:
            request, name = self._request(schedule, job, endpoint, scheduled, start, end)
        except ApiError as exc:
            return self._record(schedule, summary, "Failed", str(exc))
        if request is None:
            return self._record(schedule, summary, "Failed", "Job inputs had no data")
        return self._process(schedule, summary, job, request, name, endpoint, scheduled)

    def _capture_destination(self, endpoint: str, region: str) -> Optional[str]:
        live = self.gw.endpoints.live.get(endpoint)
        capture = live.capture if live is not None else None
        if capture is None:
            sm = self.gw.client("sagemaker", region)
            try:
                config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
            except Exception:  # noqa: BLE001 - no such endpoint
                raise ApiError("ValidationException", f"Endpoint {endpoint} does not exist") from None
            capture = (self.gw.endpoints.configs.get(config) or {}).get("DataCaptureConfig") or {}
        if not capture.get("EnableCapture") or not capture.get("DestinationS3Uri"):
            raise ApiError("ValidationException", f"Data capture is not enabled for endpoint {endpoint}")
        return capture["DestinationS3Uri"].rstrip("/")

    def _hours(self, s3: Any, base: str, start: datetime, end: datetime, depth: int) -> list[str]:
        """The ``.../yyyy/mm/dd/hh`` prefixes under ``base`` (``depth`` folders before the date) in [start, end)."""
        bucket, prefix = s3io.split(base + "/")
        found: set[str] = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                parts = obj["Key"][len(prefix):].split("/")
                if len(parts) < depth + 5:
                    continue
                try:
                    y, mo, d, h = (int(p) for p in parts[depth:depth + 4])
                    hour = datetime(y, mo, d, h, tzinfo=timezone.utc)
                except ValueError:
                    continue
                if start - timedelta(hours=1) < hour < end:  # the hour folder overlaps the window
                    found.add("/".join(parts[:depth + 4]))
        return sorted(f"s3://{bucket}/{prefix}{rel}/" for rel in found)

    def _request(self, schedule: Schedule, job: dict[str, Any], endpoint: str, scheduled: datetime,
                 start: datetime, end: datetime) -> tuple[Optional[dict[str, Any]], str]:
        s3 = self.gw.client("s3", schedule.region)
        dest = self._capture_destination(endpoint, schedule.region)
        local = job["input"].get("LocalPath") or "/opt/ml/processing/input"
        hours = self._hours(s3, f"{dest}/{endpoint}", start, end, depth=1)
        digest = hashlib.sha256(f"{schedule.arn}{scheduled.isoformat()}{uuid.uuid4()}".encode()).hexdigest()[:24]
        name = f"model-monitoring-{scheduled:%Y%m%d%H%M}-{digest}"
        if not hours:
            return None, name
        prefix = s3io.split(f"{dest}/{endpoint}/")[1]
        inputs = [{"InputName": f"endpoint-input-{i}", "S3Input": {
            "S3Uri": uri, "LocalPath": f"{local.rstrip('/')}/{endpoint}/{s3io.split(uri)[1][len(prefix):].rstrip('/')}",
            "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
            for i, uri in enumerate(hours)]
        kind = schedule.kind
        env = {**{k: str(v) for k, v in job["env"].items()},
               "dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames":
                                             ["endpointInput", "endpointOutput"]}}),
               "dataset_source": local, "sagemaker_endpoint_name": endpoint,
               "sagemaker_monitoring_schedule_name": schedule.name,
               "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end_time": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
        env.setdefault("publish_cloudwatch_metrics", "Enabled")
        baseline = job["baseline"]
        for what, key, path in (("constraints", "ConstraintsResource", f"{BASELINE_DIR}/constraints/constraints.json"),
                                ("statistics", "StatisticsResource", f"{BASELINE_DIR}/stats/statistics.json")):
            uri = (baseline.get(key) or {}).get("S3Uri")
            if uri:
                inputs.append({"InputName": f"baseline_{what}", "S3Input": {
                    "S3Uri": uri, "LocalPath": path.rsplit("/", 1)[0], "S3DataType": "S3Object",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}})
                env[f"baseline_{what}"] = f"{path.rsplit('/', 1)[0]}/{uri.rsplit('/', 1)[-1]}"
        if kind == "ModelQuality":
            env.update({"analysis_type": "MODEL_QUALITY", "problem_type": job.get("problem_type") or ""})
            for attr, key in (("inference_attribute", "InferenceAttribute"),
                              ("probability_attribute", "ProbabilityAttribute"),
                              ("probability_threshold_attribute", "ProbabilityThresholdAttribute")):
                if job["input"].get(key) not in (None, ""):
                    env[attr] = str(job["input"][key])
            if job["ground_truth"]:
                truth = self._hours(s3, job["ground_truth"].rstrip("/"), start, scheduled + timedelta(hours=1), 0)
                base = s3io.split(job["ground_truth"].rstrip("/") + "/")[1]
                inputs.extend({"InputName": f"groundtruth-input-{i}", "S3Input": {
                    "S3Uri": uri, "LocalPath": f"{GROUND_TRUTH_DIR}/{s3io.split(uri)[1][len(base):].rstrip('/')}",
                    "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
                    for i, uri in enumerate(truth))
                env["ground_truth_source"] = GROUND_TRUTH_DIR
        outputs = []
        for i, item in enumerate(job["output"].get("MonitoringOutputs") or []):
            out = item["S3Output"]
            outputs.append({"OutputName": f"monitoring-output-{i}", "S3Output": {
                "S3Uri": f"{out['S3Uri'].rstrip('/')}/{endpoint}/{schedule.name}/{scheduled:%Y/%m/%d/%H}",
                "LocalPath": out["LocalPath"], "S3UploadMode": out.get("S3UploadMode", "EndOfJob")}})
            env.setdefault("output_path", out["LocalPath"])
        app = {k: v for k, v in job["app"].items() if k in ("ImageUri", "ContainerEntrypoint", "ContainerArguments")}
        request: dict[str, Any] = {
            "ProcessingInputs": inputs, "ProcessingOutputConfig": {"Outputs": outputs},
            "ProcessingResources": {"ClusterConfig": (job["resources"] or {}).get("ClusterConfig") or {
                "InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
            "StoppingCondition": job["stopping"] or {"MaxRuntimeInSeconds": 3600},
            "AppSpecification": app, "Environment": env, "RoleArn": job["role"]}
        if job["output"].get("KmsKeyId"):
            request["ProcessingOutputConfig"]["KmsKeyId"] = job["output"]["KmsKeyId"]
        if job["network"]:
            request["NetworkConfig"] = {k: v for k, v in job["network"].items() if v not in (None, {})}
        return request, name

    def _process(self, schedule: Schedule, summary: dict[str, Any], job: dict[str, Any], request: dict[str, Any],
                 name: str, endpoint: str, scheduled: datetime) -> dict[str, Any]:
        from .jobs import JobContext, JobFailed, run_processing

        gw, region = self.gw, schedule.region
        sm = gw.client("sagemaker", region)
        arn = f"arn:aws:sagemaker:{region}:{schedule.account}:processing-job/{name}"
        summary["ProcessingJobArn"] = arn
        started = gw.scheduler.now()
        try:
            sm.create_processing_job(ProcessingJobName=name, **request)  # botocore validates the request
        except Exception as exc:  # noqa: BLE001 - SageMaker would refuse to start it
            return self._record(schedule, summary, "Failed", f"{type(exc).__name__}: {exc}")
        result: dict[str, Any] = {}
        failure = None
        try:
            role = request["RoleArn"]
            if not iam.trusts_service(role, "sagemaker.amazonaws.com"):
                raise JobFailed(f"ClientError: SageMaker cannot assume the role {role} (its trust policy does not "
                                f"allow sagemaker.amazonaws.com)")
            for item in request["ProcessingInputs"]:  # an S3Object input that is not there: the input error
                s3_input = item["S3Input"]
                if s3_input["S3DataType"] == "S3Object" and not self._exists(s3_input["S3Uri"], region):
                    bucket = s3io.split(s3_input["S3Uri"])[0]
                    raise JobFailed(f'ClientError: No S3 objects found under S3 URL "{s3_input["S3Uri"]}" given in '
                                    f'input data source {item["InputName"]}. Please ensure that the bucket exists in '
                                    f'the selected region, that objects exist under that S3 prefix, and that the role '
                                    f'has "s3:ListBucket" permissions on bucket "{bucket}".')
            ctx = JobContext(s3=gw.client("s3", region), sts=gw.client("sts", region), endpoint=gw.endpoint,
                             region=region, workdir=gw.workdir / "sagemaker")
            result = run_processing(ctx, name, request)
        except (JobFailed, s3io.NoObjects, iam.AccessDenied) as exc:
            failure = str(exc)
        except Exception as exc:  # noqa: BLE001 - an S3 or emulation error fails the job, as on AWS
            failure = f"ClientError: {type(exc).__name__}: {exc}"
        exit_message = result.get("ExitMessage", "")
        status = "Failed" if failure else "CompletedWithViolations" if exit_message.startswith(
            "CompletedWithViolations") else "Completed"
        job_status = "Failed" if failure else "Completed"
        record = self._job_record(region, name)
        if record is not None:
            record.processing_job_status, record.monitoring_schedule_arn = job_status, schedule.arn
            record.exit_message, record.failure_reason = exit_message or None, (failure or "")[:1024] or None
            record.environment = request["Environment"]  # moto drops it; DescribeProcessingJob returns it
        if not failure:
            self._publish(schedule, endpoint, name)
        out_uris = [o["S3Output"]["S3Uri"] for o in request["ProcessingOutputConfig"]["Outputs"]]
        self.outputs[name] = {"statistics": [f"{u}/statistics.json" for u in out_uris],
                              "violations": [f"{u}/constraint_violations.json" for u in out_uris]}
        detail = {**request, "ProcessingJobName": name, "ProcessingJobArn": arn, "ProcessingJobStatus": job_status,
                  "MonitoringScheduleArn": schedule.arn, "CreationTime": int(started * 1000),
                  "ProcessingStartTime": int(started * 1000), "ProcessingEndTime": int(gw.scheduler.now() * 1000),
                  "LastModifiedTime": int(gw.scheduler.now() * 1000), "Tags": []}
        if exit_message:
            detail["ExitMessage"] = exit_message
        if failure:
            detail["FailureReason"] = failure[:1024]
        gw.events.emit(envelope("aws.sagemaker", "SageMaker Processing Job State Change", detail,
                                account=schedule.account, region=region, resources=[arn]))
        return self._record(schedule, summary, status, failure)

    def _exists(self, uri: str, region: str) -> bool:
        bucket, key = s3io.split(uri)
        try:
            self.gw.client("s3", region).head_object(Bucket=bucket, Key=key)
            return True
        except Exception:  # noqa: BLE001 - 404/403: not there for the job
            return False

    @staticmethod
    def _job_record(region: str, name: str):
        from ..gateway import DEFAULT_ACCOUNT  # the account of the emulator's own clients
        from .api import backend

        return backend(DEFAULT_ACCOUNT, region).processing_jobs.get(name)

    def _publish(self, schedule: Schedule, endpoint: str, name: str) -> None:
        from ..cloudwatch import publish

        folder = self.gw.workdir / "sagemaker" / "jobs" / name / "opt" / "ml" / "output" / "metrics" / "cloudwatch"
        data = []
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            for line in path.read_text().splitlines():
                if line.strip():
                    metric = json.loads(line)
                    ts = metric.get("Timestamp")
                    if isinstance(ts, str):
                        metric["Timestamp"] = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(
                            timezone.utc).replace(tzinfo=None)  # moto keeps naive UTC
                    data.append(metric)
        for i in range(0, len(data), 1000):
            publish(self.gw, schedule.account, schedule.region, NAMESPACES[schedule.kind], data[i:i + 1000])

    def _record(self, schedule: Schedule, summary: dict[str, Any], status: str, failure: Optional[str]
                ) -> dict[str, Any]:
        summary = {**summary, "MonitoringExecutionStatus": status, "LastModifiedTime": self.gw.scheduler.now()}
        if failure:
            summary["FailureReason"] = failure[:1024]
        with self._lock:
            self.executions.append(summary)
            schedule.last = {k: summary[k] for k in ("MonitoringScheduleName", "ScheduledTime", "CreationTime",
                                                     "LastModifiedTime", "MonitoringExecutionStatus",
                                                     "ProcessingJobArn", "EndpointName", "FailureReason")
                             if k in summary}
        return summary

    @staticmethod
    def fired(execution: dict[str, Any]) -> dict[str, Any]:
        """An execution as an entry of ``Gateway.tick``'s fired list (the scheduler's record shape)."""
        name = execution.get("MonitoringScheduleName", execution.get("schedule"))
        when = execution.get("ScheduledTime")
        out = {"schedule": name, "monitoringSchedule": name,
               "time": datetime.fromtimestamp(when, timezone.utc).isoformat() if isinstance(when, (int, float))
               else execution.get("scheduledTime", ""),
               "status": execution.get("MonitoringExecutionStatus", "not emulated")}
        if execution.get("ProcessingJobArn"):
            out["processingJob"] = out["execution"] = execution["ProcessingJobArn"]
        if execution.get("FailureReason") or execution.get("reason"):
            out["reason"] = execution.get("FailureReason") or execution.get("reason")
        return out

    def report(self) -> dict[str, Any]:
        return {"executions": [{**e, **self.outputs.get(str(e.get("ProcessingJobArn", "")).rsplit("/", 1)[-1], {})}
                               for e in list(self.executions)],
                "notRun": list(self.not_run),
                "schedules": {s.name: s.status for s in list(self.schedules.values())}}
