"""``ladder demo``: the whole MLOps lifecycle of one project, offline, on an embedded moto server.

provision the stack -> scaffold the project (``ladder new``) -> train locally (the project's own
preprocess/train/evaluate) -> upload the model -> register it (PendingManualApproval, metrics attached) ->
approve -> deploy (re-apply the stack with the package ARN: endpoint InService) -> serve the model with the
project's FastAPI app on loopback and smoke-test /ping and /invocations -> build the monitoring baseline, send
shifted data, detect drift, publish the drift metric, alarm -> start the retraining pipeline the alarm rule
targets -> summary.

Nothing touches the repository: the stack file is copied into the work directory (``--keep DIR`` keeps it,
otherwise a temporary one), the sandbox state lives there too, and the moto server is stopped at the end.

What moto cannot do is said, not faked: it does not evaluate CloudWatch alarms (the demo sets the alarm state
as CloudWatch would after the published metric breached the threshold, and says so) and EventBridge does not
deliver to SageMaker pipeline targets (the demo reads the rule's target and starts that pipeline with the
target's parameters, as EventBridge would).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from . import spec as spec_mod
from .plan import temporary_env

STEPS = (
    ("provision", "Provision the stack in the sandbox"),
    ("scaffold", "Scaffold the project repository (ladder new)"),
    ("train", "Train locally: preprocess -> train -> evaluate -> quality gate"),
    ("upload", "Upload the model artifact and evaluation report"),
    ("register", "Register a model package (PendingManualApproval)"),
    ("approve", "Approve the model package"),
    ("deploy", "Deploy: re-apply the stack with the approved package"),
    ("serve", "Serve the model on loopback and smoke-test it"),
    ("monitor", "Baseline, shifted traffic, drift detection"),
    ("alarm", "Publish the drift metric; the drift alarm fires"),
    ("retrain", "Start the retraining pipeline the alarm rule targets"),
)


# Steps that need a level-4 capability; at level 3 they are reported as not part of the level, not run.
NEEDS = {"monitor": "monitoring", "alarm": "drift_alarms", "retrain": "retraining_loop"}


def steps_for(capabilities: frozenset[str]) -> list[tuple[str, str]]:
    return [(key, title) for key, title in STEPS if NEEDS.get(key, "endpoint") in capabilities]


class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


@dataclass
class StepResult:
    key: str
    title: str
    seconds: float = 0.0
    detail: str = ""
    ok: bool = True


@dataclass
class DemoResult:
    stack: str
    project: str
    workdir: str
    kept: bool
    steps: list[StepResult] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)
    validated_only: list[str] = field(default_factory=list)
    arns: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "project": self.project, "workdir": self.workdir, "kept": self.kept,
                "seconds": round(self.seconds, 2),
                "steps": [{"step": s.key, "title": s.title, "seconds": round(s.seconds, 2), "detail": s.detail}
                          for s in self.steps],
                "resources": self.resources, "validatedOnly": self.validated_only, "arns": self.arns,
                "metrics": self.metrics, "notes": self.notes}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, stack: str = "prod", *, stack_file: Optional[Path] = None, project: Optional[str] = None,
                 keep: Optional[Path] = None, on_step: Optional[Callable[[str, str], None]] = None,
                 on_done: Optional[Callable[[StepResult], None]] = None):
        self.source = Path(stack_file) if stack_file else spec_mod.stack_file(stack)
        self.stack = spec_mod.stack_name_of(self.source)
        self.project_name = project
        self.keep = Path(keep).resolve() if keep else None
        self.on_step = on_step or (lambda key, title: None)
        self.on_done = on_done or (lambda step: None)
        self.ctx: dict[str, Any] = {}

    # ---- plumbing ---------------------------------------------------------------------------------
    def _client(self, service: str):
        import boto3

        return boto3.client(service, region_name=self.spec.region, endpoint_url=self.endpoint)

    def _run(self, args: list[str], cwd: Path, what: str, env: Optional[dict[str, str]] = None,
             ok: tuple[int, ...] = (0,)) -> str:
        full_env = {**os.environ, "PYTHONPATH": f"src{os.pathsep}.", "PYTHONDONTWRITEBYTECODE": "1",
                    **(env or {})}
        proc = subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                              timeout=600)
        if proc.returncode not in ok:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise DemoError(f"{what} failed (exit {proc.returncode}):\n{tail}")
        return proc.stdout

    def _entries(self, type_: str, project: Optional[str] = None) -> list[Any]:
        from .sandbox.state import State, state_path

        state = State.load(state_path(self.stack, self.state_dir))
        if state is None:
            raise DemoError("the sandbox state is missing")
        out = [e for e in state.resources.values() if e.type == type_]
        if project is not None:
            out = [e for e in out if e.tags.get("mlops:project") == project]
        return out

    def _apply(self) -> Any:
        from .sandbox.state import apply

        spec, config = self._load()
        result = apply(spec, config, endpoint=self.endpoint, state_dir=self.state_dir)
        return spec, result

    def _load(self):
        return spec_mod.load_with_config(path=self.stack_path)

    # ---- the steps --------------------------------------------------------------------------------
    def provision(self, r: DemoResult) -> str:
        self.spec, result = self._apply()
        if self.project_name is None:
            self.project_name = self.spec.projects[0].name if self.spec.projects else None
        if self.project_name is None:
            raise DemoError(f"stack {self.stack!r} declares no project")
        self.project = self.spec.project(self.project_name)
        r.resources = {"provisioned": len(result.changes)}
        r.validated_only = sorted({f"{t} {op}" for t, _, op in result.validated})
        self.outputs = result.outputs
        r.notes.extend(m for m in result.messages if not m.startswith("note: "))
        return (f"{sum(1 for c in result.changes)} resources ({result.counts['created']} created), "
                f"{len(result.validated)} operations validated-not-emulated")

    def scaffold(self, r: DemoResult) -> str:
        from . import scaffold
        from .cli import scaffold_context

        ctx = scaffold_context(self.spec, self.project)
        self.repo = scaffold.bake(ctx, self.workdir / "projects", force=True)
        self.pkg = self.project.name.replace("-", "_")
        files = [p for p in self.repo.rglob("*") if p.is_file()]
        return f"{self.repo.relative_to(self.workdir)} ({len(files)} files, level {self.spec.maturity})"

    def train(self, r: DemoResult) -> str:
        self.build = self.repo / "build"
        out = self._run(["-m", f"{self.pkg}.local", "--build-dir", "build"], self.repo, "local training")
        report = json.loads((self.build / "evaluation" / "evaluation.json").read_text())
        metrics = {k: round(float(v["value"]), 4) for k, v in report["metrics"].items()}
        r.metrics["evaluation"] = metrics
        gate = self.project.training.quality_gate
        last = [line for line in out.splitlines() if "quality gate" in line]
        return f"{gate.metric}={metrics.get(gate.metric)} (gate >= {gate.min}); " + (last[-1] if last else "")

    def upload(self, r: DemoResult) -> str:
        bucket = self.outputs.get("artifactBucket")
        if not bucket:
            raise DemoError("the stack exported no artifactBucket")
        self.bucket = bucket
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for f in sorted((self.build / "model").iterdir()):
                tar.add(f, arcname=f.name)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        s3 = self._client("s3")
        key = f"{self.project.name}/models/demo-{stamp}/model.tar.gz"
        s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
        eval_key = f"{self.project.name}/models/demo-{stamp}/evaluation.json"
        s3.put_object(Bucket=bucket, Key=eval_key, Body=(self.build / "evaluation" / "evaluation.json").read_bytes(),
                      ContentType="application/json")
        self.model_uri = f"s3://{bucket}/{key}"
        self.eval_uri = f"s3://{bucket}/{eval_key}"
        head = s3.head_object(Bucket=bucket, Key=key)
        return f"{self.model_uri} ({head['ContentLength']} bytes)"

    def _inference_image(self) -> str:
        (pipe,) = self._entries("aws:sagemaker/pipeline:Pipeline", self.project.name) or [None]
        if pipe is None:
            raise DemoError("no training pipeline in the sandbox for the project")
        definition = json.loads(pipe.inputs["pipelineDefinition"])
        self.pipeline_name = pipe.inputs["pipelineName"]

        def walk(steps):
            for s in steps:
                yield s
                args = s.get("Arguments", {})
                yield from walk(args.get("IfSteps", []) + args.get("ElseSteps", []))

        for step in walk(definition["Steps"]):
            if step["Type"] == "RegisterModel":
                return step["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"]
        raise DemoError("the pipeline definition has no register step")

    def register(self, r: DemoResult) -> str:
        sm = self._client("sagemaker")
        image = self._inference_image()
        (group,) = [e.inputs["modelPackageGroupName"] for e in
                    self._entries("aws:sagemaker/modelPackageGroup:ModelPackageGroup", self.project.name)]
        self.group = group
        arn = sm.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=f"{self.project.name} trained by ladder demo",
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": self.model_uri,
                                "Environment": {"SAGEMAKER_PROGRAM": "train.py"}}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
                "SupportedRealtimeInferenceInstanceTypes": [self.project.serving.instance_type]},
            ModelApprovalStatus="PendingManualApproval",
            ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json",
                                                          "S3Uri": self.eval_uri}}},
        )["ModelPackageArn"]
        self.package_arn = arn
        r.arns["modelPackage"] = arn
        status = sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        if status != "PendingManualApproval":
            raise DemoError(f"the new package is {status}, expected PendingManualApproval")
        return f"{arn} ({status})"

    def approve(self, r: DemoResult) -> str:
        from .deploy import latest_approved

        sm = self._client("sagemaker")
        sm.update_model_package(ModelPackageArn=self.package_arn, ModelApprovalStatus="Approved",
                                ApprovalDescription="approved in ladder demo")
        resolved = latest_approved(self.group, self.spec.region, client=sm)
        if resolved != self.package_arn:
            raise DemoError(f"--latest-approved resolved {resolved}, expected {self.package_arn}")
        return f"Approved; `ladder deploy --latest-approved` resolves {resolved.rsplit('/', 2)[-2]}/" \
               f"{resolved.rsplit('/', 1)[-1]}"

    def deploy(self, r: DemoResult) -> str:
        from .deploy import write_arn

        write_arn(self.stack_path, self.project.name, self.package_arn)
        self.spec, result = self._apply()
        self.project = self.spec.project(self.project.name)
        self.outputs = result.outputs
        endpoints = self._entries("aws:sagemaker/endpoint:Endpoint", self.project.name)
        if not endpoints:
            raise DemoError("re-applying with the package ARN created no endpoint")
        self.endpoint_name = endpoints[0].inputs["name"]
        sm = self._client("sagemaker")
        desc = sm.describe_endpoint(EndpointName=self.endpoint_name)
        if desc["EndpointStatus"] != "InService":
            raise DemoError(f"endpoint {self.endpoint_name} is {desc['EndpointStatus']}")
        r.arns["endpoint"] = desc["EndpointArn"]
        counts = result.counts
        r.resources["afterDeploy"] = len(result.changes) - counts["deleted"]
        r.resources["addedByDeploy"] = counts["created"]
        r.validated_only = sorted(set(r.validated_only) | {f"{t} {op}" for t, _, op in result.validated})
        return (f"endpoint {self.endpoint_name} InService; +{counts['created']} created, "
                f"{counts['unchanged']} unchanged, {counts['replaced']} replaced")

    def serve(self, r: DemoResult) -> str:
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": f"src{os.pathsep}.", "MODEL_DIR": str(self.build / "model")}
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "serving.app:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning"], cwd=self.repo, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/ping", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        out = proc.stdout.read() if proc.stdout else ""
                        raise DemoError(f"the serving app did not come up on {base}: {out[-800:]}") from None
                    time.sleep(0.3)
            test_csv = next((self.build / "test").glob("*.csv"))
            lines = test_csv.read_text().strip().splitlines()
            rows = [line.split(",") for line in lines[1:]]
            labels = [int(float(row[0])) for row in rows]
            body = "\n".join(",".join(row[1:]) for row in rows).encode()
            req = urllib.request.Request(f"{base}/invocations", data=body, method="POST",
                                         headers={"Content-Type": "text/csv", "Accept": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                answer = json.loads(resp.read().decode())
            preds = [int(p["label"]) for p in answer["predictions"]]
            if len(preds) != len(labels):
                raise DemoError(f"/invocations returned {len(preds)} predictions for {len(labels)} rows")
            accuracy = sum(p == y for p, y in zip(preds, labels, strict=True)) / len(labels)
            r.metrics["smokeTest"] = {"rows": len(labels), "accuracy": round(accuracy, 4)}
            if accuracy < 0.8:
                raise DemoError(f"smoke test accuracy {accuracy:.3f} is too low for a model that passed its gate")
            return f"/ping 200; /invocations {len(labels)} rows, accuracy {accuracy:.3f} on held-out data"
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def monitor(self, r: DemoResult) -> str:
        train_csv = next((self.build / "train").glob("*.csv"))
        baseline_dir = self.build / "baseline"
        # the project's own tool builds the baseline and uploads it where the platform's monitor reads it
        self._run(["-m", "monitoring.baseline", "--data", str(train_csv), "--output-dir", str(baseline_dir),
                   "--upload"], self.repo, "baseline")
        s3 = self._client("s3")
        jobs = self._entries("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", self.project.name)
        uploaded = []
        for job in jobs:
            baseline = job.inputs.get("dataQualityBaselineConfig", {})
            for kind in ("constraintsResource", "statisticsResource"):
                uri = (baseline.get(kind) or {}).get("s3Uri")
                if uri:
                    bucket, key = uri.removeprefix("s3://").split("/", 1)
                    s3.head_object(Bucket=bucket, Key=key)  # the monitor's baseline exists where it looks
                    uploaded.append(uri)
        threshold = self.project.monitoring.drift_threshold
        test_csv = next((self.build / "test").glob("*.csv"))
        control = self._drift(baseline_dir, test_csv, threshold, "control", publish=False)
        import pandas as pd

        frame = pd.read_csv(test_csv)
        features = frame.columns[1:]
        shifted = frame.copy()
        shifted[features] = shifted[features] + 2.0 * frame[features].std()
        shifted_csv = self.build / "shifted.csv"
        shifted.to_csv(shifted_csv, index=False)
        report = self._drift(baseline_dir, shifted_csv, threshold, "shifted", publish=True)
        if control["drifted"]:
            raise DemoError("drift detected on held-out data from the training distribution (false alarm)")
        if not report["drifted"]:
            raise DemoError("no drift detected on shifted data")
        self.drift_score = report["score"]
        r.metrics["drift"] = {"threshold": threshold, "control": round(control["score"], 4),
                              "shifted": round(report["score"], 4), "featuresDrifted": report["count"]}
        where = f"; the monitor's {len(uploaded)} baseline files are in place" if uploaded else ""
        return (f"control max distance {control['score']:.3f} (no drift), shifted {report['score']:.3f} > "
                f"{threshold} in {report['count']} features{where}")

    def _drift(self, baseline_dir: Path, data: Path, threshold: float, label: str, publish: bool) -> dict[str, Any]:
        out = baseline_dir.parent / f"drift-{label}.json"
        self._run(["-m", "monitoring.drift", "--baseline", str(baseline_dir / "statistics.json"), "--data",
                   str(data), "--threshold", str(threshold), "--output", str(out), *(["--publish"] if publish else [])],
                  self.repo, f"drift check ({label})", ok=(0, 1))  # the drift check exits 1 when it finds drift
        report = json.loads(out.read_text())
        features = report.get("features", {})
        if isinstance(features, dict):
            items = list(features.values())
        else:
            items = list(features)
        # the score the project publishes: distance less the small-sample allowance (see monitoring/drift.py)
        scores = [float(f["distance"]) - (float(f.get("limit", threshold)) - threshold) for f in items]
        drifted = [f for f in items if f.get("drifted")]
        return {"drifted": bool(report.get("drifted", drifted)), "score": max(scores or [0.0]),
                "count": len(drifted)}

    def alarm(self, r: DemoResult) -> str:
        alarms = [e for e in self._entries("aws:cloudwatch/metricAlarm:MetricAlarm", self.project.name)
                  if "drift" in (str(e.inputs.get("name", "")) + str(e.inputs.get("metricName", ""))).lower()]
        if not alarms:
            raise DemoError("the stack has no drift alarm for the project (level 4 monitoring)")
        alarm = alarms[0].inputs
        self.alarm_name = alarm["name"]
        cw = self._client("cloudwatch")
        dims = [{"Name": k, "Value": v} for k, v in (alarm.get("dimensions") or {}).items()]
        # what the project's `monitoring.drift --publish` put into the metric the alarm watches
        now = time.time()
        stats = cw.get_metric_statistics(Namespace=alarm["namespace"], MetricName=alarm["metricName"],
                                         Dimensions=dims, StartTime=now - 3600, EndTime=now + 60, Period=60,
                                         Statistics=["Maximum"])["Datapoints"]
        if not stats:
            raise DemoError(f"nothing published {alarm['namespace']}/{alarm['metricName']} {dims}")
        published = max(d["Maximum"] for d in stats)
        if abs(published - self.drift_score) > 1e-6:
            raise DemoError(f"published {published} differs from the drift report's score {self.drift_score}")
        threshold = float(alarm.get("threshold", 0))
        if published <= threshold:
            raise DemoError(f"drift score {published:.3f} does not breach the alarm threshold {threshold}")
        cw.set_alarm_state(AlarmName=self.alarm_name, StateValue="ALARM",
                           StateReason=f"{alarm.get('metricName', 'drift')} {self.drift_score:.3f} > {threshold} "
                                       f"(set by ladder demo: moto does not evaluate alarms)")
        state = cw.describe_alarms(AlarmNames=[self.alarm_name])["MetricAlarms"][0]
        self.alarm_arn = state["AlarmArn"]
        r.arns["driftAlarm"] = self.alarm_arn
        actions = state.get("AlarmActions", [])
        r.notes.append("moto does not evaluate CloudWatch alarms: the project published the drift metric and the "
                       "demo set the alarm state as CloudWatch would")
        return (f"{alarm.get('namespace')}/{alarm.get('metricName')} = {self.drift_score:.3f} > {threshold}; "
                f"{self.alarm_name} -> {state['StateValue']}, notifies {len(actions)} topic(s)")

    def retrain(self, r: DemoResult) -> str:
        events = self._client("events")
        sm = self._client("sagemaker")
        rules = []
        for e in self._entries("aws:cloudwatch/eventRule:EventRule", self.project.name):
            pattern = json.loads(e.inputs.get("eventPattern") or "{}")
            if self.alarm_arn in json.dumps(pattern) or self.alarm_name in json.dumps(pattern):
                rules.append(e)
        if not rules:
            raise DemoError(f"no EventBridge rule matches the alarm {self.alarm_name}")
        rule_name = rules[0].inputs["name"]
        targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        pipeline_targets = [t for t in targets if ":pipeline/" in t["Arn"]]
        if not pipeline_targets:
            raise DemoError(f"rule {rule_name} has no SageMaker pipeline target")
        target = pipeline_targets[0]
        pipeline = target["Arn"].rsplit("/", 1)[-1]
        params = target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
        execution = sm.start_pipeline_execution(
            PipelineName=pipeline, PipelineExecutionDisplayName="retrain-on-drift",
            PipelineExecutionDescription=f"started by {rule_name} on {self.alarm_name}",
            PipelineParameters=params)["PipelineExecutionArn"]
        status = sm.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineExecutionStatus"]
        r.arns["retrainingExecution"] = execution
        r.notes.append("moto's EventBridge does not deliver to SageMaker pipeline targets: the demo started the "
                       "rule's target pipeline with the target's parameters, as EventBridge would")
        return f"rule {rule_name} -> pipeline {pipeline}: execution {status} " \
               f"({', '.join(p['Name'] + '=' + p['Value'] for p in params) or 'default parameters'})"

    # ---- driver -----------------------------------------------------------------------------------
    def run(self) -> DemoResult:
        from .sandbox.server import MotoServer

        workdir = self.keep or Path(tempfile.mkdtemp(prefix="ladder-demo-"))
        if self.keep:
            if self.keep.exists() and any(self.keep.iterdir()):
                raise DemoError(f"--keep {self.keep} exists and is not empty; choose a new directory")
            self.keep.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.stack_path = workdir / "stacks" / self.source.name
        self.stack_path.parent.mkdir(parents=True, exist_ok=True)
        if not self.source.exists():
            spec_mod.read_config(self.source)  # raises the SpecError naming known stacks
        shutil.copyfile(self.source, self.stack_path)
        declared = spec_mod.load(path=self.stack_path)  # validate before starting anything
        if "endpoint" not in declared.capabilities:
            if self.keep is None:
                shutil.rmtree(workdir, ignore_errors=True)
            raise DemoError(f"stack {self.stack!r} is level {declared.maturity}: the demo needs level 3+ (endpoint) "
                            f"- try --stack prod")
        if self.project_name is not None:
            try:
                declared.project(self.project_name)
            except KeyError as exc:
                raise DemoError(str(exc.args[0])) from None
        self.state_dir = workdir / ".ladder" / "sandbox"
        result = DemoResult(stack=self.stack, project=self.project_name or "", workdir=str(workdir),
                            kept=self.keep is not None)
        server = MotoServer().start()
        self.endpoint = server.endpoint
        # moto keeps its state per process, not per server: start from an empty emulated account
        urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"),
                               timeout=30).close()
        try:
            with temporary_env({"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                       "AWS_DEFAULT_REGION": spec_mod.load(path=self.stack_path).region}):
                for key, title in steps_for(declared.capabilities):
                    self.on_step(key, title)
                    step = StepResult(key, title)
                    started = time.perf_counter()
                    try:
                        step.detail = getattr(self, key)(result)
                    except DemoError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
                        raise DemoError(f"step '{key}' ({title}) failed: {type(exc).__name__}: {exc}") from exc
                    finally:
                        step.seconds = time.perf_counter() - started
                    result.project = self.project_name or ""
                    result.steps.append(step)
                    self.on_done(step)
        finally:
            server.stop()
            if self.keep is None:
                shutil.rmtree(workdir, ignore_errors=True)
        skipped = [title for key, title in STEPS if (key, title) not in steps_for(declared.capabilities)]
        if skipped:
            result.notes.append(f"level {declared.maturity} stops before: {'; '.join(skipped)} (level 4)")
        return result
