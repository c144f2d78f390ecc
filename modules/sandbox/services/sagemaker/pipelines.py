"""Pipeline executions: the definition the program registered, executed step by step.

moto stores ``CreatePipeline`` and answers ``StartPipelineExecution`` with an ARN, reporting every execution as
Succeeded without running anything. Here a started execution (by any caller: CI's ``StartPipelineExecution``, the
EventBridge Scheduler schedule, an EventBridge rule target) runs the *definition captured at start* (SageMaker
runs the definition as it was when the execution started) in a background thread of the emulator:

* parameters: the definition's defaults, overridden by the request's ``PipelineParameters`` (a name the
  pipeline does not declare is refused, as SageMaker refuses it, with ValidationException);
* steps in dependency order (data references and ``DependsOn``); ``Condition`` steps choose their branch;
  ``Fail`` fails the execution with its message; ``Processing``/``Training`` run as local jobs (:mod:`.jobs`),
  each also registered in moto with the fully resolved request (botocore-validated ``CreateProcessingJob`` /
  ``CreateTrainingJob``); ``RegisterModel`` calls ``CreateModelPackage`` with what the step declares;
* caching (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html and "Default cache key
  attributes by pipeline step type"): a step with ``CacheConfig.Enabled`` reuses the latest successful run of
  the same step of the same pipeline within ``ExpireAfter`` whose key attributes are equal - Processing:
  AppSpecification, Environment, ProcessingInputs; Training: AlgorithmSpecification, CheckpointConfig,
  DebugHookConfig, DebugRuleConfigurations, Environment, HyperParameters, InputDataConfig (outputs are not part of
  the key) - and reports ``CacheHitResult.SourcePipelineExecutionArn``;
* status: the moto execution record is updated (``Executing`` -> ``Succeeded``/``Failed`` + FailureReason), so
  ``DescribePipelineExecution`` and ``ListPipelineExecutions`` tell the truth; ``ListPipelineExecutionSteps`` (which
  moto lacks) is answered from here.

Retry policies are recorded but not exercised (local jobs do not throttle); parallelism is sequential.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from .. import iam, s3io
from .expressions import Evaluator, ExpressionError, references, walk
from .jobs import JobContext, JobFailed, run_processing, run_training

CACHE_KEYS = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": ("AlgorithmSpecification", "CheckpointConfig", "DebugHookConfig", "DebugRuleConfigurations",
                 "Environment", "HyperParameters", "InputDataConfig"),
}
TERMINAL = ("Succeeded", "Failed", "Stopped")


class ValidationError(ValueError):
    """StartPipelineExecution input SageMaker refuses (ValidationException)."""


@dataclass
class StepRecord:
    name: str
    type: str
    status: str = "Starting"  # Starting | Executing | Succeeded | Failed | Stopped
    started: float = 0.0
    ended: float = 0.0
    failure: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    cache_source: str = ""  # execution ARN of a cache hit

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"StepName": self.name, "StepDisplayName": self.name, "StepStatus": self.status,
                               "StartTime": self.started, "AttemptCount": 1, "Metadata": self.metadata}
        if self.ended:
            out["EndTime"] = self.ended
        if self.failure:
            out["FailureReason"] = self.failure[:1024]
        if self.cache_source:
            out["CacheHitResult"] = {"SourcePipelineExecutionArn": self.cache_source}
        return out


@dataclass
class Execution:
    arn: str
    pipeline: str
    definition: dict[str, Any]
    parameters: dict[str, Any]
    trigger: str = "api"
    caller: str = ""
    role: str = ""  # the pipeline's RoleArn (the register step acts as it)
    status: str = "Executing"
    failure: str = ""
    started: float = field(default_factory=time.time)
    ended: float = 0.0
    steps: dict[str, StepRecord] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def execution_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    def summary(self) -> dict[str, Any]:
        """What ``ladder demo --json`` reports per execution."""
        register = next((s for s in self.steps.values() if s.type == "RegisterModel"), None)
        return {"arn": self.arn, "pipeline": self.pipeline, "trigger": self.trigger, "status": self.status,
                "failureReason": self.failure or None, "parameters": self.parameters,
                "steps": [{"name": s.name, "type": s.type, "status": s.status, "cacheHit": bool(s.cache_source),
                           "cacheSource": s.cache_source or None, "failureReason": s.failure or None}
                          for s in self.steps.values()],
                "modelPackageArn": register.properties.get("ModelPackageArn") if register else None,
                "modelArtifact": register.metadata.get("ModelArtifact") if register else None,
                "modelArtifactSha256": register.metadata.get("ModelArtifactSha256") if register else None}


def _duration(text: str) -> timedelta:
    """ISO 8601 durations as CacheConfig.ExpireAfter takes them (P30D, PT1H, 30d, T16m, 30dT5h)."""
    match = re.fullmatch(r"P?(?:(\d+)[Yy])?(?:(\d+)M)?(?:(\d+)[Ww])?(?:(\d+)[Dd])?(?:T(?:(\d+)[Hh])?(?:(\d+)[Mm])?"
                         r"(?:(\d+)[Ss])?)?", text or "")
    if not match or not any(match.groups()):
        raise ExpressionError(f"CacheConfig.ExpireAfter {text!r} is not an ISO 8601 duration")
    y, mo, w, d, h, mi, s = (int(g or 0) for g in match.groups())
    return timedelta(days=365 * y + 30 * mo + 7 * w + d, hours=h, minutes=mi, seconds=s)


def cache_key(step_type: str, arguments: dict[str, Any]) -> str:
    keep = {k: arguments.get(k) for k in CACHE_KEYS.get(step_type, ())}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()


def flatten(steps: list[dict[str, Any]], parent: Optional[str] = None) -> dict[str, tuple[dict[str, Any], Optional[str]]]:
    """Every step by name, with the Condition step whose branch holds it (None at top level)."""
    out: dict[str, tuple[dict[str, Any], Optional[str]]] = {}
    for step in steps:
        out[step["Name"]] = (step, parent)
        if step.get("Type") == "Condition":
            args = step.get("Arguments", {})
            out.update(flatten(args.get("IfSteps", []) + args.get("ElseSteps", []), step["Name"]))
    return out


class PipelineRuntime:
    """All executions of one emulator process, their step cache, and the runner threads."""

    def __init__(self, endpoint: str, workdir: Path, *, client: Callable[..., Any]):
        self.endpoint = endpoint
        self.workdir = Path(workdir)
        self.client = client  # client(service, region) -> boto3 client against the emulator
        self.executions: dict[str, Execution] = {}
        self._cache: dict[tuple[str, str, str], tuple[float, str, dict[str, Any], dict[str, Any]]] = {}
        self._lock = threading.Lock()

    # ---- the API surface ---------------------------------------------------------------------------
    def validate_start(self, definition: dict[str, Any], params: list[dict[str, Any]]) -> None:
        declared = {p["Name"]: p for p in definition.get("Parameters", [])}
        for p in params or []:
            if p.get("Name") not in declared:
                raise ValidationError(f"Pipeline parameter {p.get('Name')!r} is not defined in the pipeline "
                                      f"definition (declared: {', '.join(sorted(declared)) or 'none'})")
        given = {p.get("Name") for p in params or []}
        missing = [n for n, p in declared.items() if "DefaultValue" not in p and n not in given]
        if missing:
            raise ValidationError(f"Pipeline parameters without a default value must be given: {', '.join(missing)}")

    def start(self, arn: str, pipeline: str, definition: dict[str, Any], params: list[dict[str, Any]], *,
              trigger: str = "api", caller: str = "", record: Any = None, role: str = "") -> Execution:
        values: dict[str, Any] = {}
        for p in definition.get("Parameters", []):
            values[p["Name"]] = _typed(p.get("Type", "String"), p.get("DefaultValue"))
        for p in params or []:
            declared = next(d for d in definition.get("Parameters", []) if d["Name"] == p["Name"])
            values[p["Name"]] = _typed(declared.get("Type", "String"), p.get("Value"))
        execution = Execution(arn=arn, pipeline=pipeline, definition=definition, parameters=values, trigger=trigger,
                              caller=caller, role=role)
        with self._lock:
            self.executions[arn] = execution
        if record is not None:
            record.pipeline_execution_status = "Executing"
        threading.Thread(target=self._run, args=(execution, record), daemon=True,
                         name=f"pipeline-{execution.execution_id}").start()
        return execution

    def steps_of(self, arn: str) -> list[dict[str, Any]]:
        execution = self.executions.get(arn)
        if execution is None:
            raise KeyError(arn)
        # newest first, as ListPipelineExecutionSteps sorts by default (SortOrder Descending)
        return [s.to_api() for s in sorted(execution.steps.values(), key=lambda s: s.started, reverse=True)]

    def wait(self, arn: str, timeout: float = 600) -> Execution:
        execution = self.executions[arn]
        if not execution.done.wait(timeout):
            raise TimeoutError(f"pipeline execution {arn} still running after {timeout:.0f} s")
        return execution

    # ---- running ------------------------------------------------------------------------------------
    def _run(self, execution: Execution, record: Any) -> None:
        try:
            self._execute(execution)
        except Exception as exc:  # noqa: BLE001 - an emulator bug must fail the execution, not vanish
            execution.status, execution.failure = "Failed", f"InternalError (sandbox): {exc}"
            (self.workdir / "executions").mkdir(parents=True, exist_ok=True)
            (self.workdir / "executions" / f"{execution.execution_id}.trace").write_text(traceback.format_exc())
        finally:
            execution.ended = time.time()
            if record is not None:
                record.pipeline_execution_status = execution.status
                record.pipeline_execution_failure_reason = execution.failure or None
                record.last_modified_time = datetime.now(timezone.utc).replace(tzinfo=None)
            execution.done.set()

    def _execute(self, execution: Execution) -> None:
        steps = flatten(execution.definition.get("Steps", []))
        evaluator = Evaluator(
            execution.parameters,
            {"PipelineExecutionId": execution.execution_id, "PipelineExecutionArn": execution.arn,
             "PipelineName": execution.pipeline, "PipelineArn": execution.arn.split("/execution/")[0],
             "StartDateTime": datetime.fromtimestamp(execution.started, timezone.utc).isoformat(),
             "CurrentDateTime": datetime.now(timezone.utc).isoformat(),
             "PipelineExperimentName": execution.pipeline, "PipelineExecutionTrialName": execution.execution_id},
            lambda step, parts: self._property(execution, step, parts),
            lambda step, name: self._property_file(execution, steps, step, name))
        chosen: dict[str, bool] = {}  # condition step -> outcome
        pending = list(steps)
        failed = False
        while pending and not failed:
            ready = [n for n in pending if self._ready(execution, steps, n, chosen)]
            skipped = [n for n in pending if self._excluded(steps, n, chosen) or self._blocked(execution, steps, n)]
            for name in skipped:
                pending.remove(name)
            if not ready:
                if not skipped:
                    break
                continue
            name = ready[0]
            pending.remove(name)
            step, _ = steps[name]
            rec = execution.steps[name] = StepRecord(name=name, type=step.get("Type", "?"), status="Executing",
                                                     started=time.time())
            try:
                self._step(execution, step, rec, evaluator, chosen)
                rec.status = "Succeeded"
            except (JobFailed, ExpressionError, iam.AccessDenied, s3io.NoObjects, ValueError) as exc:
                rec.status, rec.failure = "Failed", str(exc)
            except Exception as exc:  # noqa: BLE001 - botocore/moto errors from the step's own API calls
                rec.status, rec.failure = "Failed", f"{type(exc).__name__}: {exc}"
            rec.ended = time.time()
            if rec.status == "Failed":
                failed = True
                execution.failure = rec.metadata.get("Fail", {}).get("ErrorMessage") or \
                    f"Step failure: One or multiple steps failed. {name}: {rec.failure.splitlines()[0]}"
        execution.status = "Failed" if failed else "Succeeded"

    def _ready(self, execution: Execution, steps, name: str, chosen: dict[str, bool]) -> bool:
        step, parent = steps[name]
        if self._excluded(steps, name, chosen):
            return False
        if parent is not None and parent not in chosen:
            return False
        deps = references(step.get("Arguments", {})) | set(step.get("DependsOn", []))
        deps |= references(step.get("PropertyFiles", []))
        deps.discard(name)
        return all(d in execution.steps and execution.steps[d].status == "Succeeded" for d in deps)

    @staticmethod
    def _excluded(steps, name: str, chosen: dict[str, bool]) -> bool:
        """A step in the branch its condition did not take is never run (and not listed)."""
        _, parent = steps[name]
        if parent is None or parent not in chosen:
            return False
        args = steps[parent][0].get("Arguments", {})
        branch = args.get("IfSteps", []) if chosen[parent] else args.get("ElseSteps", [])
        return name not in {s["Name"] for s in branch}

    @staticmethod
    def _blocked(execution: Execution, steps, name: str) -> bool:
        step, _ = steps[name]
        deps = references(step.get("Arguments", {})) | set(step.get("DependsOn", []))
        return any(d in execution.steps and execution.steps[d].status == "Failed" for d in deps)

    def _property(self, execution: Execution, step: str, parts: list) -> Any:
        rec = execution.steps.get(step)
        if rec is None or rec.status != "Succeeded":
            raise ExpressionError(f"step {step!r} has not succeeded; its properties are not available")
        return walk(rec.properties, parts, f"Steps.{step}")

    def _property_file(self, execution: Execution, steps, step: str, name: str) -> Any:
        rec = execution.steps.get(step)
        if rec is None or rec.status != "Succeeded":
            raise ExpressionError(f"step {step!r} has not succeeded; property file {name!r} is not available")
        declared = next((pf for pf in steps[step][0].get("PropertyFiles", []) if pf.get("PropertyFileName") == name),
                        None)
        if declared is None:
            raise ExpressionError(f"step {step!r} declares no property file {name!r}")
        outputs = rec.properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
        out = next((o for o in outputs if o.get("OutputName") == declared.get("OutputName")), None)
        if out is None:
            raise ExpressionError(f"property file {name!r}: step {step!r} has no output {declared.get('OutputName')!r}")
        uri = out["S3Output"]["S3Uri"].rstrip("/") + "/" + declared["FilePath"].lstrip("/")
        try:
            return s3io.read_json(self.client("s3", execution.region), uri)
        except Exception as exc:  # noqa: BLE001
            raise ExpressionError(f"property file {name!r} ({uri}) cannot be read as JSON: {exc}") from None

    # ---- one step --------------------------------------------------------------------------------
    def _step(self, execution: Execution, step: dict[str, Any], rec: StepRecord, evaluator: Evaluator,
              chosen: dict[str, bool]) -> None:
        kind = step.get("Type")
        if kind == "Condition":
            outcome = all(evaluator.condition(c) for c in step.get("Arguments", {}).get("Conditions", []))
            chosen[step["Name"]] = outcome
            rec.metadata = {"Condition": {"Outcome": "True" if outcome else "False"}}
            return
        if kind == "Fail":
            message = str(evaluator.resolve(step.get("Arguments", {}).get("ErrorMessage", "")))
            rec.metadata = {"Fail": {"ErrorMessage": message}}
            raise JobFailed(message)
        arguments = evaluator.resolve(step.get("Arguments", {}))
        if kind in ("Processing", "Training"):
            self._job(execution, step, rec, arguments)
        elif kind == "RegisterModel":
            self._register(execution, rec, arguments)
        else:
            raise JobFailed(f"step type {kind!r} is not emulated by the sandbox")

    def _job(self, execution: Execution, step: dict[str, Any], rec: StepRecord, arguments: dict[str, Any]) -> None:
        kind = step["Type"]
        cache = step.get("CacheConfig") or {}
        key = cache_key(kind, arguments)
        if cache.get("Enabled"):
            hit = self._cache_lookup(execution.pipeline, step["Name"], key, _duration(cache.get("ExpireAfter", "")))
            if hit is not None:
                rec.cache_source, rec.properties, rec.metadata = hit
                return
        name = f"pipelines-{execution.execution_id}-{step['Name'][:20]}-{secrets.token_hex(5)}"[:63]
        sm = self.client("sagemaker", execution.region)
        ctx = JobContext(s3=self.client("s3", execution.region), sts=self.client("sts", execution.region),
                         endpoint=self.endpoint, region=execution.region, workdir=self.workdir)
        role = arguments.get("RoleArn", "")
        if not iam.trusts_service(role, "sagemaker.amazonaws.com"):
            raise JobFailed(f"ClientError: SageMaker cannot assume the role {role} (its trust policy does not allow "
                            f"sagemaker.amazonaws.com)")
        if kind == "Processing":
            sm.create_processing_job(ProcessingJobName=name, **arguments)  # botocore validates the resolved request
            rec.metadata = {"ProcessingJob": {"Arn": f"arn:aws:sagemaker:{execution.region}:{execution.account}:"
                                                     f"processing-job/{name}"}}
            rec.properties = run_processing(ctx, name, arguments)
        else:
            sm.create_training_job(TrainingJobName=name, **arguments)
            rec.metadata = {"TrainingJob": {"Arn": f"arn:aws:sagemaker:{execution.region}:{execution.account}:"
                                                   f"training-job/{name}"}}
            rec.properties = run_training(ctx, name, arguments)
        if cache.get("Enabled"):
            with self._lock:
                self._cache[(execution.pipeline, step["Name"], key)] = (time.time(), execution.arn, rec.properties,
                                                                        rec.metadata)

    def _cache_lookup(self, pipeline: str, step: str, key: str, expire: timedelta):
        with self._lock:
            entry = self._cache.get((pipeline, step, key))
        if entry is None or time.time() - entry[0] > expire.total_seconds():
            return None
        return entry[1], entry[2], entry[3]

    def _register(self, execution: Execution, rec: StepRecord, arguments: dict[str, Any]) -> None:
        role = execution.role
        group = arguments.get("ModelPackageGroupName", "")
        if role:
            iam.require(role, "sagemaker:CreateModelPackage",
                        f"arn:aws:sagemaker:{execution.region}:{execution.account}:model-package/{group}/*")
        request = dict(arguments)
        # the SDK declares every metrics section, empty ones included; send the ones that hold something
        metrics = {k: v for k, v in (request.pop("ModelMetrics", None) or {}).items() if v}
        if metrics:
            request["ModelMetrics"] = metrics
        sm = self.client("sagemaker", execution.region)
        arn = sm.create_model_package(**request)["ModelPackageArn"]
        rec.properties = {**arguments, "ModelPackageArn": arn}
        rec.metadata = {"RegisterModel": {"Arn": arn}}
        containers = (arguments.get("InferenceSpecification") or {}).get("Containers", [])
        if containers and containers[0].get("ModelDataUrl"):
            uri = containers[0]["ModelDataUrl"]
            bucket, key = s3io.split(uri)
            body = self.client("s3", execution.region).get_object(Bucket=bucket, Key=key)["Body"].read()
            rec.metadata["ModelArtifact"] = uri
            rec.metadata["ModelArtifactSha256"] = hashlib.sha256(body).hexdigest()


def _typed(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "Integer":
        return int(value)
    if kind == "Float":
        return float(value)
    if kind == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value)
