"""``ladder demo --scenario bad-canary``: the rollback drill.

After the default demo's deploy and smoke test, a regression reaches production the way real ones do: a commit to
the project's serving code (``src/<package>/inference.py``, shipped inside ``model.tar.gz``) that the training
pipeline cannot see - its evaluation scores the estimator directly, so the quality gate passes - but that breaks
every request the endpoint serves. CI trains the commit, a person approves the package, and ``ladder deploy``
ships it while production traffic flows:

* the endpoint updates blue/green (canary or all at once, as the spec says); the green fleet answers 5XX;
* the sandbox's CloudWatch evaluates the project's ``<endpoint>-5xx-errors`` rollback alarm from the endpoint's
  ``Invocation5XXErrors`` metric: ALARM during baking, so SageMaker (emulated) rolls all traffic back to the blue
  fleet; the update still ends ``InService``, which is all a provider waits for;
* the deploy's own verification sees the endpoint serving the previous config and fails, restoring the stack file;
* the previous model keeps serving: the project's smoke test passes again.

Nothing in this path is set by hand: the alarm state, the rollback and the failure all follow from the traffic.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from typing import Any

from .demo import DemoError  # demo.py imports this module lazily (inside its steps), so no import cycle

TITLE = "Rollback drill: a regressed serving change trips the 5XX alarm while it bakes; the deploy fails"

REGRESSION = '''

# --- a regression (ladder demo --scenario bad-canary): "only the first 10 features matter" ------------------
_predict_fn_before_regression = predict_fn


def predict_fn(data, model):
    """Keeps the first 10 features of each row - the model needs all of them, so every request fails (5XX)."""
    return _predict_fn_before_regression([row[:10] if isinstance(row, list) else row for row in data], model)
'''


def canary(demo, r) -> str:
    from .deploy import DeployError, check_served, package_code_version, write_arn

    # 1. the regressed commit
    inference = next(demo.repo.glob("src/*/inference.py"))
    inference.write_text(inference.read_text() + REGRESSION)
    git = ["git", "-C", str(demo.repo), "-c", "user.name=ladder demo", "-c", "user.email=demo@example.com"]
    subprocess.run([*git, "commit", "-q", "-am", "serving: predict on the 10 most important features"], check=True,
                   capture_output=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    # 2. CI trains it: the gate passes (the evaluation does not go through inference.py)
    env = dict(demo.ci_env, GITHUB_SHA=sha)
    proc = demo._run(["-m", "pipelines.run_pipeline", "--env", demo.spec.environment, "--project", demo.project.name,
                      "--json"], demo.repo, "CI run of the regressed commit", env=env)
    execution = demo._wait(json.loads(proc.stdout)["execution_arn"])
    if execution.status != "Succeeded":
        raise DemoError(f"training the regressed commit {execution.status}: {execution.failure}")
    package = execution.summary()["modelPackageArn"]

    # 3. approved (the event reaches the deploy trigger as in the approve step)
    sm = demo._client("sagemaker")
    sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved",
                            ApprovalDescription="approved in the rollback drill")

    # 4. `ladder deploy` with production traffic flowing while it bakes
    original = demo.stack_path.read_text(encoding="utf-8")
    code_version = package_code_version(package, demo.spec.region, client=sm)
    updated = write_arn(demo.stack_path, demo.project.name, package, code_version)
    rows = [",".join(row[1:]) for row in demo._test_rows()[:20]]
    stop, outcomes = threading.Event(), Counter()

    def production_traffic() -> None:
        runtime = demo._client("sagemaker-runtime")
        i = 0
        while not stop.is_set():
            try:
                runtime.invoke_endpoint(EndpointName=demo.endpoint_name, ContentType="text/csv",
                                        Body=(rows[i % len(rows)] + "\n").encode())
                outcomes["200"] += 1
            except Exception as exc:  # noqa: BLE001 - the canary's errors are what the drill measures
                outcomes[getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)] += 1
            i += 1

    worker = threading.Thread(target=production_traffic, daemon=True)
    worker.start()
    try:
        _, result = demo._apply()
    finally:
        stop.set()
        worker.join(timeout=60)
    clients = (sm, demo._client("application-autoscaling"), demo._client("cloudwatch"))
    try:
        check_served(updated, demo.project.name, result.outputs, demo.stack_path, original, echo=lambda *_: None,
                     clients=clients)
    except DeployError as exc:
        failure = str(exc)
    else:
        raise DemoError(f"the regressed package {package} was deployed and verified: the rollback alarm never tripped "
                     f"(traffic {dict(outcomes)})")
    if demo.stack_path.read_text(encoding="utf-8") != original:
        raise DemoError("the failed deploy left the stack file declaring the regressed package")

    # 5. the previous model still serves
    smoke = demo._run(["-m", "deploy.smoke_test", "--env", demo.spec.environment, "--poll", "1", "--timeout", "60"],
                      demo.repo, "the smoke test after the rollback",
                      env={"AWS_ENDPOINT_URL": demo.endpoint, "AWS_REGION": demo.spec.region})
    update = next((u for u in reversed(demo.server.gateway.report()["endpointUpdates"])
                   if u["endpoint"] == demo.endpoint_name), {})
    rollback = next((e for e in update.get("events", []) if e.get("event") == "rollback"), {})
    r.rollback = {"package": package, "codeVersion": sha, "deploy": failure, "traffic": dict(outcomes),
                  "update": update}
    r.arns["rolledBackPackage"] = package
    return (f"commit {sha[:12]} passed its gate and was approved; during baking {sum(outcomes.values())} requests "
            f"({dict(outcomes)}); {rollback.get('reason', 'rolled back')}; endpoint serves {update.get('serving')}; "
            f"the deploy failed: {failure.split(': ', 1)[-1][:160]}...; "
            f"{smoke.stdout.strip().splitlines()[-1][:80]}")


def summary(invocations: list[dict[str, Any]]) -> dict[str, Any]:
    """Invocations by fleet and status (what ``--json`` reports)."""
    counts = Counter(f"{i.get('fleet', 'blue')}:{i.get('status')}" for i in invocations if "status" in i)
    return {"total": sum(counts.values()), "byFleetAndStatus": dict(sorted(counts.items()))}
