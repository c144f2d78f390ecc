"""``ladder demo``: the MLOps loop of one project, offline, on the sandbox's emulated AWS - no state set by hand
where the emulation reaches.

provision the stack -> scaffold the project (``ladder new``, a git repository) -> CI: upload the step code at the
commit SHA and start the training pipeline as the CI role (the first run without data is refused with the upload
command; the project's sample data is seeded on request) -> the pipeline executes (preprocess, train, evaluate,
gate, register: PendingManualApproval) -> a person approves -> the approval event reaches the deploy trigger
(GitHub dispatch receiver) -> deploy (``ladder deploy`` writes the package ARN, the stack is re-applied: the
endpoint runs the package's own container) -> the project's smoke test calls the sandbox endpoint -> new
labelled data lands at a new data version; shifted traffic is served and captured -> Model Monitor's hourly
data-quality run (emulated) analyses each hour's capture against the baseline the pipeline computed: clean for
traffic like the training data, CompletedWithViolations for shifted traffic -> its "Processing Job State Change"
event reaches the retraining rule, which starts the pipeline as its role -> the retraining runs every step on the
new data version and a new package waits for approval -> a week later (sandbox clock) the training schedule fires.

Nothing touches the repository: the stack file is copied into the work directory (``--keep DIR`` keeps it,
otherwise a temporary one), the sandbox state lives there too, and the emulator is stopped at the end.

What the emulation does not do is said, not faked: the analyzer is the sandbox's approximation of Model
Monitor's (services/sagemaker/modelmonitor), and ``--scenario bad-canary`` is the rollback drill (demo_canary.py).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
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
    ("scaffold", "Scaffold the project repository (ladder new, git init)"),
    ("train", "CI: upload code at the commit SHA, start the training pipeline"),
    ("register", "The pipeline registered a package (PendingManualApproval)"),
    ("approve", "Approve the package; the approval event triggers the deploy"),
    ("deploy", "Deploy: re-apply the stack with the approved package"),
    ("serve", "Smoke test: the project's test calls the sandbox endpoint"),
    ("monitor", "New data lands; traffic is served and captured; Model Monitor's hourly runs analyse it"),
    ("signal", "The run over shifted traffic ends with violations; its event reaches the retraining rule"),
    ("retrain", "Retraining on the new data version, started by the rule"),
    ("schedule", "A week later: the training schedule fires"),
)

# Steps that need a level-4 capability; at level 3 they are reported as not part of the level, not run.
NEEDS = {"monitor": "monitoring", "signal": "retraining_loop", "retrain": "retraining_loop"}
WAIT = 900  # seconds an emulated execution may take
NO_DATA = "Job inputs had no data"  # a monitoring run's FailureReason for an hour without capture (monitor.py)


SCENARIOS = ("default", "bad-canary")


def steps_for(capabilities: frozenset[str], scenario: str = "default") -> list[tuple[str, str]]:
    """The default loop's steps for a level; ``bad-canary``: up to the smoke test, then the rollback drill."""
    from .demo_canary import TITLE

    out = []
    for key, title in STEPS:
        need = NEEDS.get(key, "training_schedule" if key == "schedule" else "endpoint")
        if need in capabilities:
            out.append((key, title))
    if scenario == "bad-canary":
        out = out[:[k for k, _ in out].index("serve") + 1] + [("canary", TITLE)]
    return out


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
    emulation: dict[str, Any] = field(default_factory=dict)
    scenario: str = "default"
    rollback: dict[str, Any] = field(default_factory=dict)
    deploys: list[dict[str, Any]] = field(default_factory=list)  # ladder deploy's verifications

    def _monitoring(self) -> list[dict[str, Any]]:
        return list((self.emulation.get("monitoring") or {}).get("executions", []))

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        from .demo_canary import summary

        return {"stack": self.stack, "project": self.project, "workdir": self.workdir, "kept": self.kept,
                "scenario": self.scenario,
                "seconds": round(self.seconds, 2),
                "steps": [{"step": s.key, "title": s.title, "seconds": round(s.seconds, 2), "detail": s.detail}
                          for s in self.steps],
                "resources": self.resources, "validatedOnly": self.validated_only, "arns": self.arns,
                "metrics": self.metrics, "notes": self.notes,
                "executions": self.emulation.get("executions", []),
                "deliveries": self.emulation.get("deliveries", []),
                "dispatches": self.emulation.get("received", []),
                "scheduled": self.emulation.get("scheduled", []),
                "invocations": summary(self.emulation.get("invocations", [])),
                "endpointUpdates": self.emulation.get("endpointUpdates", []),
                # every run that analysed data (the hourly runs of the week the clock skips have no capture: counted)
                "monitoringExecutions": [
                    {k: e.get(k) for k in ("MonitoringScheduleName", "ScheduledTime", "MonitoringExecutionStatus",
                                           "ProcessingJobArn", "FailureReason", "violations") if k in e}
                    for e in self._monitoring() if e.get("FailureReason") != NO_DATA],
                "monitoringRunsWithoutData": sum(e.get("FailureReason") == NO_DATA for e in self._monitoring()),
                "deploys": self.deploys, "rollback": self.rollback or None,
                "alarmActions": self.emulation.get("alarmActions", [])}


def _jwt(claims: dict[str, Any]) -> str:
    """An unsigned GitHub Actions OIDC token with the claims the CI role's trust policy checks."""
    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class Demo:
    def __init__(self, stack: str = "prod", *, stack_file: Optional[Path] = None, project: Optional[str] = None,
                 keep: Optional[Path] = None, on_step: Optional[Callable[[str, str], None]] = None,
                 on_done: Optional[Callable[[StepResult], None]] = None, scenario: str = "default"):
        if scenario not in SCENARIOS:
            raise DemoError(f"unknown scenario {scenario!r}; allowed: {', '.join(SCENARIOS)}")
        self.scenario = scenario
        self.source = Path(stack_file) if stack_file else spec_mod.stack_file(stack)
        self.stack = spec_mod.stack_name_of(self.source)
        self.project_name = project
        self.keep = Path(keep).resolve() if keep else None
        self.on_step = on_step or (lambda key, title: None)
        self.on_done = on_done or (lambda step: None)
        self.executions: dict[str, Any] = {}

    # ---- plumbing ---------------------------------------------------------------------------------
    def _client(self, service: str, creds: Optional[dict[str, str]] = None):
        import boto3

        extra = {}
        if creds:
            extra = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                     "aws_session_token": creds["SessionToken"]}
        return boto3.client(service, region_name=self.spec.region, endpoint_url=self.endpoint, **extra)

    def _run(self, args: list[str], cwd: Path, what: str, env: Optional[dict[str, str]] = None,
             ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "PYTHONPATH": f"src{os.pathsep}.", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
        proc = subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                              timeout=900)
        if proc.returncode not in ok:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise DemoError(f"{what} failed (exit {proc.returncode}):\n{tail}")
        return proc

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

        spec, config = spec_mod.load_with_config(path=self.stack_path)
        return spec, apply(spec, config, endpoint=self.endpoint, state_dir=self.state_dir)

    def _ci_credentials(self) -> dict[str, str]:
        """What GitHub's OIDC gives the CI job on main: the CI role's credentials (AssumeRoleWithWebIdentity)."""
        role = self.outputs.get("projects", {}).get(self.project.name, {}).get("ciRoleArn")
        if not role:
            raise DemoError("the stack exported no CI role for the project (level 1+)")
        repository = self.spec.repository_of(self.project)
        token = _jwt({"iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com",
                      "sub": f"repo:{repository}:ref:refs/heads/main", "repository": repository,
                      "ref": "refs/heads/main"})
        sts = self._client("sts")
        return sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="github-actions",
                                                 WebIdentityToken=token)["Credentials"]

    def _wait(self, arn: str) -> Any:
        execution = self.server.gateway.pipelines.wait(arn, WAIT)
        self.executions[arn] = execution
        return execution

    def _summary(self, execution: Any) -> str:
        steps = ", ".join(f"{s.name} {s.status.lower()}" + (" (cache hit)" if s.cache_source else "")
                          for s in execution.steps.values())
        return f"{execution.status}: {steps}"

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
        return (f"{len(result.changes)} resources ({result.counts['created']} created), "
                f"{len(result.validated)} operations validated-not-emulated")

    def scaffold(self, r: DemoResult) -> str:
        from . import scaffold
        from .scaffold import context_for as scaffold_context

        self.repo = scaffold.bake(scaffold_context(self.spec, self.project), self.workdir / "projects", force=True)
        git = ["git", "-C", str(self.repo), "-c", "user.name=ladder demo", "-c", "user.email=demo@example.com"]
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial project"]):
            subprocess.run([*git, *args], check=True, capture_output=True)
        self.sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                                  text=True).stdout.strip()
        files = [p for p in self.repo.rglob("*") if p.is_file() and ".git" not in p.parts]
        return f"{self.repo.relative_to(self.workdir)} ({len(files)} files, level {self.spec.maturity}), " \
               f"commit {self.sha[:12]}"

    def train(self, r: DemoResult) -> str:
        creds = self._ci_credentials()
        env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
               "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_ENDPOINT_URL": self.endpoint,
               "GITHUB_SHA": self.sha, "AWS_REGION": self.spec.region}
        self.ci_env = env
        cmd = ["-m", "pipelines.run_pipeline", "--env", self.spec.environment, "--project", self.project.name]
        first = self._run([*cmd, "--json"], self.repo, "CI run without data", env=env, ok=(2,))
        refusal = (first.stderr or first.stdout).strip().splitlines()
        proc = self._run([*cmd, "--seed-sample-data", "--json"], self.repo, "CI run (seeded sample data)", env=env)
        started = json.loads(proc.stdout)
        arn = started["execution_arn"]
        execution = self._wait(arn)
        r.arns["trainingExecution"] = self.training_arn = arn
        if execution.status != "Succeeded":
            raise DemoError(f"training execution {execution.status}: {execution.failure}")
        r.notes.append(f"first CI run without data was refused: {refusal[0] if refusal else ''}"[:300])
        return f"code {self.sha[:12]} uploaded; {self._summary(execution)}"

    def register(self, r: DemoResult) -> str:
        execution = self.executions[r.arns["trainingExecution"]]
        summary = execution.summary()
        arn = summary["modelPackageArn"]
        if not arn:
            raise DemoError("the training execution registered no package")
        desc = self._client("sagemaker").describe_model_package(ModelPackageName=arn)
        if desc["ModelApprovalStatus"] != "PendingManualApproval":
            raise DemoError(f"the new package is {desc['ModelApprovalStatus']}, expected PendingManualApproval")
        meta = desc.get("CustomerMetadataProperties", {})
        if meta.get("CodeVersion") != self.sha:
            raise DemoError(f"the package records code version {meta.get('CodeVersion')!r}, CI built {self.sha}")
        metrics_uri = desc["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
        if execution.execution_id not in metrics_uri or "//" in metrics_uri.removeprefix("s3://"):
            raise DemoError(f"the package's metrics are not its own execution's: {metrics_uri}")
        bucket, key = metrics_uri.removeprefix("s3://").split("/", 1)
        report = json.loads(self._client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
        r.metrics["evaluation"] = _flat_metrics(report)
        self.package_arn = arn
        r.arns["modelPackage"] = arn
        self.group = desc["ModelPackageGroupName"]
        return (f"{arn.rsplit('/', 2)[-2]}/{arn.rsplit('/', 1)[-1]} PendingManualApproval; code {self.sha[:12]}, "
                f"data {meta.get('DataVersion')}; artefact sha256 {summary['modelArtifactSha256'][:12]}")

    def approve(self, r: DemoResult) -> str:
        from .deploy import latest_approved

        sm = self._client("sagemaker")
        sm.update_model_package(ModelPackageArn=self.package_arn, ModelApprovalStatus="Approved",
                                ApprovalDescription="approved in ladder demo")
        resolved = latest_approved(self.group, self.spec.region, client=sm)
        if resolved != self.package_arn:
            raise DemoError(f"--latest-approved resolved {resolved}, expected {self.package_arn}")
        report = self.server.gateway.report()
        delivered = [d for d in report["deliveries"] if d["detailType"] == "SageMaker Model Package State Change"
                     and d["status"] == "delivered"]
        dispatch = [x for x in report["received"] if "dispatches" in x["url"]]
        if not delivered:
            raise DemoError("the approval event reached no target")
        what = f"{len(delivered)} target(s) of the approval rule"
        if dispatch:
            payload = dispatch[-1]["body"]
            env = (payload.get("client_payload") or {}).get("environment") if isinstance(payload, dict) else None
            what += f"; repository_dispatch to {dispatch[-1]['url'].split('/repos/')[-1]} (environment {env})"
        return f"Approved; {what}"

    def deploy(self, r: DemoResult) -> str:
        from .deploy import check_served, package_metadata, write_arn

        code_version, baseline = package_metadata(self.package_arn, self.spec.region, client=self._client("sagemaker"))
        if not self.spec.has("monitoring"):
            baseline = None
        original = self.stack_path.read_text(encoding="utf-8")
        # what `ladder deploy` does: write the ARN (+ code version, + the package's baseline for the monitor),
        # apply (`pulumi up`), verify what serves
        updated = write_arn(self.stack_path, self.project.name, self.package_arn, code_version, baseline)
        self.spec, result = self._apply()
        self.project = self.spec.project(self.project.name)
        self.outputs = result.outputs
        endpoints = self._entries("aws-native:sagemaker:Endpoint", self.project.name)
        if not endpoints:
            raise DemoError("re-applying with the package ARN created no endpoint")
        self.endpoint_name = endpoints[0].inputs["endpointName"]
        clients = (self._client("sagemaker"), self._client("application-autoscaling"), self._client("cloudwatch"))
        verdict = check_served(updated, self.project.name, result.outputs, self.stack_path, original,
                               echo=lambda *_: None, clients=clients)
        r.deploys.append(verdict.to_json())
        desc = self._client("sagemaker").describe_endpoint(EndpointName=self.endpoint_name)
        if desc["EndpointStatus"] != "InService":
            raise DemoError(f"endpoint {self.endpoint_name} is {desc['EndpointStatus']}: {desc.get('FailureReason')}")
        r.arns["endpoint"] = desc["EndpointArn"]
        counts = result.counts
        r.resources["afterDeploy"] = len(result.changes) - counts["deleted"]
        r.resources["addedByDeploy"] = counts["created"]
        r.validated_only = sorted(set(r.validated_only) | {f"{t} {op}" for t, _, op in result.validated})
        return (f"endpoint {self.endpoint_name} InService, serving the package's own container; "
                f"+{counts['created']} created, {counts['unchanged']} unchanged, {counts['replaced']} replaced")

    def serve(self, r: DemoResult) -> str:
        env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": self.spec.region}
        out = self._run(["-m", "deploy.smoke_test", "--env", self.spec.environment, "--poll", "1",
                         "--timeout", "60"], self.repo, "the project's smoke test", env=env)
        rows = self._test_rows()
        runtime = self._client("sagemaker-runtime")
        labels = [int(float(row[0])) for row in rows]
        body = "\n".join(",".join(row[1:]) for row in rows).encode()
        answer = runtime.invoke_endpoint(EndpointName=self.endpoint_name, ContentType="text/csv",
                                         Accept="application/json", Body=body)
        preds = [int(p["label"]) for p in json.loads(answer["Body"].read())["predictions"]]
        accuracy = sum(p == y for p, y in zip(preds, labels, strict=True)) / len(labels)
        r.metrics["smokeTest"] = {"rows": len(labels), "accuracy": round(accuracy, 4)}
        if accuracy < 0.8:
            raise DemoError(f"accuracy {accuracy:.3f} on held-out data is too low for a model that passed its gate")
        return f"{out.stdout.strip().splitlines()[-1][:120]}; {len(labels)} held-out rows, accuracy {accuracy:.3f}"

    def canary(self, r: DemoResult) -> str:
        from .demo_canary import canary

        return canary(self, r)

    def _test_rows(self) -> list[list[str]]:
        """Held-out rows of the data the pipeline trained on (label first), from its own test split."""
        lines = self._split("test").decode().strip().splitlines()
        self.header = lines[0].split(",")
        return [line.split(",") for line in lines[1:]]

    def _split(self, name: str) -> bytes:
        """A split the first training execution's preprocess step wrote (its own execution-scoped output)."""
        execution = self.executions[self.training_arn]
        pre = execution.steps["preprocess"].properties
        uri = next(o["S3Output"]["S3Uri"] for o in pre["ProcessingOutputConfig"]["Outputs"] if o["OutputName"] == name)
        bucket, prefix = uri.removeprefix("s3://").split("/", 1)
        s3 = self._client("s3")
        key = next(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
                   if o["Key"].endswith(".csv"))
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def monitor(self, r: DemoResult) -> str:
        import pandas as pd

        self.new_data_version = self._land_new_data()  # the team's new labelled data lands before drift is seen
        self.deliveries_before = len(self.server.gateway.events.deliveries)
        rows = self._test_rows()
        frame = pd.DataFrame([[float(v) for v in row] for row in rows], columns=self.header)
        features = frame.columns[1:]
        shifted = frame.copy()
        shifted[features] = shifted[features] + 2.0 * frame[features].std()
        # The hour so far served the smoke test and the held-out rows (serve step): traffic like the training data.
        # Then an hour of shifted traffic. Model Monitor's hourly schedule analyses each hour's capture when the
        # sandbox clock passes the hour (services/sagemaker/monitor.py).
        control = self._monitoring_run()
        self._serve(shifted[features])
        drifted = self._monitoring_run()
        if control["status"] != "Completed":
            raise DemoError(f"the monitoring run over traffic like the training data ended {control['status']} "
                            f"({control.get('reason') or control['violations']}): a false alarm")
        if drifted["status"] != "CompletedWithViolations":
            raise DemoError(f"the monitoring run over shifted traffic ended {drifted['status']} "
                            f"({drifted.get('reason')}): the shift went unseen")
        self.monitoring_execution = drifted["execution"]
        captured = self.server.gateway.report()["endpoints"].get(self.endpoint_name, {}).get("captured", 0)
        kinds = drifted["violations"]
        r.metrics["monitor"] = {"control": control["status"], "shifted": drifted["status"],
                                "violations": kinds, "capturedRecords": captured}
        return (f"new data version {self.new_data_version} landed; {captured} captured requests; hourly data-quality "
                f"runs: traffic like the training data {control['status']}, shifted traffic {drifted['status']} "
                f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")

    def _serve(self, features) -> None:
        runtime = self._client("sagemaker-runtime")
        for start in range(0, len(features), 10):  # served (and captured) as production traffic would be
            chunk = features.iloc[start:start + 10]
            runtime.invoke_endpoint(EndpointName=self.endpoint_name, ContentType="text/csv",
                                    Body=chunk.to_csv(index=False, header=False).encode())

    def _monitoring_run(self) -> dict[str, Any]:
        """Advance the sandbox clock past the next full hour; the data-quality execution that ran then."""
        gw = self.server.gateway
        now = gw.scheduler.now()
        fired = gw.tick(3600 - now % 3600 + 1)
        schedules = (self.outputs.get("projects", {}).get(self.project.name, {}).get("monitoringSchedules") or {})
        wanted = schedules.get("DataQuality") or self.outputs.get("projects", {}).get(self.project.name, {}).get(
            "monitoringSchedule")
        runs = [f for f in fired if f.get("monitoringSchedule") and (wanted is None or f["schedule"] == wanted)]
        if not runs:
            raise DemoError(f"advancing the clock past the hour ran no data-quality monitoring execution: {fired}")
        run = runs[-1]
        name = str(run.get("execution") or "").rsplit("/", 1)[-1]
        execution = next((e for e in gw.report()["monitoring"]["executions"]
                          if str(e.get("ProcessingJobArn", "")).endswith(name)), {}) if name else {}
        kinds: dict[str, int] = {}
        for uri in execution.get("violations", []):
            bucket, key = uri.removeprefix("s3://").split("/", 1)
            try:
                doc = json.loads(self._client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
            except Exception:  # noqa: BLE001 - a clean run may write no violations file
                continue
            for v in doc.get("violations", []):
                kinds[v.get("constraint_check_type", "?")] = kinds.get(v.get("constraint_check_type", "?"), 0) + 1
        return {"status": run.get("status"), "execution": run.get("execution"), "reason": run.get("reason"),
                "violations": kinds}

    def _land_new_data(self) -> str:
        """New labelled data lands at a new data version, as the team's ingestion would write it."""
        from sklearn.datasets import load_breast_cancer

        import pandas as pd

        bunch = load_breast_cancer(as_frame=True)
        frame = pd.concat([bunch.target.rename("target"), bunch.data], axis=1).sample(frac=1.0, random_state=7)
        version = time.strftime("%Y-%m-%dT%H%M%S", time.gmtime(time.time() + 60))
        bucket = self.outputs["artifactBucket"]
        key = f"{self.project.name}/data/{version}/labelled.csv"
        self._client("s3").put_object(Bucket=bucket, Key=key, Body=frame.to_csv(index=False).encode())
        return version

    def signal(self, r: DemoResult) -> str:
        delivered = [d for d in self.server.gateway.events.deliveries[self.deliveries_before:]
                     if d["detailType"] == "SageMaker Processing Job State Change" and d["status"] == "delivered"]
        self.retraining = [d["execution"] for d in delivered if d.get("execution")]
        if not self.retraining:
            raise DemoError(f"the monitoring execution's completion event started no pipeline: {delivered}")
        rules = sorted({d["rule"] for d in delivered if d.get("execution")})
        r.arns["monitoringExecution"] = self.monitoring_execution
        return (f"{self.monitoring_execution.rsplit('/', 1)[-1]} CompletedWithViolations; its Processing Job State "
                f"Change event matched {', '.join(rules)}, which started the training pipeline as its role")

    def retrain(self, r: DemoResult) -> str:
        arn = self.retraining[0]
        execution = self._wait(arn)
        r.arns["retrainingExecution"] = arn
        if execution.status != "Succeeded":
            raise DemoError(f"retraining {execution.status}: {execution.failure}")
        hits = [s.name for s in execution.steps.values() if s.cache_source]
        if hits:
            raise DemoError(f"retraining reused cached steps {hits}: it retrained nothing")
        package = execution.summary()["modelPackageArn"]
        desc = self._client("sagemaker").describe_model_package(ModelPackageName=package)
        data_version = desc.get("CustomerMetadataProperties", {}).get("DataVersion")
        if data_version != self.new_data_version:
            raise DemoError(f"the retrained package records data {data_version!r}, the new data is "
                            f"{self.new_data_version!r}")
        r.arns["retrainedPackage"] = package
        return (f"trigger {execution.trigger}: {self._summary(execution)}; {package.rsplit('/', 1)[-1]} "
                f"{desc['ModelApprovalStatus']} on data {data_version}")

    def schedule(self, r: DemoResult) -> str:
        fired = self.server.gateway.tick(7 * 86400 + 60)
        runs = [f for f in fired if f.get("execution")]
        if not runs:
            raise DemoError(f"advancing the clock a week fired no training schedule: {fired}")
        execution = self._wait(runs[0]["execution"])
        r.arns["scheduledExecution"] = execution.arn
        if execution.status != "Succeeded":
            raise DemoError(f"scheduled training {execution.status}: {execution.failure}")
        return f"{runs[0]['schedule']} fired at {runs[0]['time'][:16]}: {self._summary(execution)}"

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
        self.server = MotoServer(workdir=str(workdir / ".ladder" / "emulation")).start()
        self.endpoint = self.server.endpoint
        # moto keeps its state per process, not per server: start from an empty emulated account
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST"),
                               timeout=30).close()
        try:
            with temporary_env({"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                                "AWS_DEFAULT_REGION": declared.region}):
                result.scenario = self.scenario
                for key, title in steps_for(declared.capabilities, self.scenario):
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
                result.emulation = self.server.gateway.report()
        finally:
            self.server.stop()
            if self.keep is None:
                shutil.rmtree(workdir, ignore_errors=True)
        skipped = [title for key, title in STEPS if (key, title) not in steps_for(declared.capabilities, self.scenario)]
        if skipped:
            result.notes.append(f"level {declared.maturity} stops before: {'; '.join(skipped)} (level 4)")
        return result


def _flat_metrics(report: dict[str, Any]) -> dict[str, float]:
    """{metric: value} from the registry's model-quality statistics (or the older {"metrics": ...} shape)."""
    out: dict[str, float] = {}
    for metrics in report.values():
        if isinstance(metrics, dict):
            for name, value in metrics.items():
                if isinstance(value, dict) and "value" in value:
                    out[name] = round(float(value["value"]), 4)
    return out
