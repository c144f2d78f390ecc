"""`ladder demo`: the whole lifecycle offline on an embedded moto server (slow: runs once, asserts much)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modules.cli import app
from modules.demo import STEPS, Demo, DemoError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    before = {p: p.read_text() for p in (REPO / "stacks").glob("*.yaml")}
    keep = tmp_path_factory.mktemp("demo") / "kept"
    result = CliRunner().invoke(app, ["demo", "--keep", str(keep), "--json"])
    after = {p: p.read_text() for p in (REPO / "stacks").glob("*.yaml")}
    return result, keep, before, after


@pytest.mark.slow
def test_demo_runs_every_step_and_exits_0(demo_run):
    result, _, _, _ = demo_run
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["step"] for s in data["steps"]] == [key for key, _ in STEPS]
    assert data["stack"] == "prod" and data["project"] == "churn"


@pytest.mark.slow
def test_demo_outcomes_are_real(demo_run):
    data = json.loads(demo_run[0].stdout)
    assert data["resources"]["provisioned"] > 30
    assert data["resources"]["addedByDeploy"] > 10  # model, endpoint config, endpoint, alarms, monitoring...
    # moto lacks monitoring schedules; the sandbox's gateway emulates them (services/sagemaker/monitor.py)
    assert not any("MonitoringSchedule" in v for v in data["validatedOnly"])
    assert "model-package/acme-prod-churn/1" in data["arns"]["modelPackage"]
    assert data["arns"]["endpoint"].endswith(":endpoint/acme-prod-churn")
    assert data["metrics"]["evaluation"]["auc"] >= 0.85  # passed the prod gate
    assert data["metrics"]["smokeTest"]["accuracy"] >= 0.8  # through the sandbox endpoint, the package's container
    monitor = data["metrics"]["monitor"]
    assert (monitor["control"], monitor["shifted"]) == ("Completed", "CompletedWithViolations")
    assert monitor["violations"]["baseline_drift_check"] > 0 and monitor["capturedRecords"] > 0
    statuses = [e["MonitoringExecutionStatus"] for e in data["monitoringExecutions"]]
    assert statuses == ["Completed", "CompletedWithViolations"]  # the hours without traffic are counted apart
    assert data["monitoringRunsWithoutData"] > 100  # a week of hourly runs with no capture fail as on AWS


@pytest.mark.slow
def test_demo_executions_are_real_pipeline_runs(demo_run):
    """Every training ran the registered definition: CI, the monitor's event rule and the schedule, in that order;
    every step ran (no stale cache hit) and each registered its own package pending approval."""
    data = json.loads(demo_run[0].stdout)
    runs = data["executions"]
    assert [e["trigger"] for e in runs] == ["ci", "event", "schedule"]
    for e in runs:
        assert e["status"] == "Succeeded"
        assert [s["name"] for s in e["steps"]] == ["preprocess", "train", "evaluate", "baseline", "gate", "register"]
        assert not any(s["cacheHit"] for s in e["steps"])
        assert e["modelPackageArn"] and len(e["modelArtifactSha256"]) == 64
    assert len({e["modelPackageArn"] for e in runs}) == 3
    assert len({e["modelArtifactSha256"] for e in runs}) == 3
    assert runs[0]["parameters"]["CodeVersion"] != "initial"  # CI passed its commit SHA
    assert runs[1]["parameters"]["CodeVersion"] == runs[0]["parameters"]["CodeVersion"]  # deploy pinned it
    retrain = next(s for s in data["steps"] if s["step"] == "retrain")
    assert "PendingManualApproval on data 20" in retrain["detail"]  # the new data version, not the seeded sample


@pytest.mark.slow
def test_demo_events_are_delivered_not_set_by_hand(demo_run):
    data = json.loads(demo_run[0].stdout)
    kinds = {(d["detailType"], d["rule"]) for d in data["deliveries"] if d["status"] == "delivered"}
    assert ("SageMaker Model Package State Change", "acme-prod-churn-model-approved") in kinds
    # the monitor's own outcome, not a person or a project script, starts the retraining
    assert ("SageMaker Processing Job State Change", "acme-prod-churn-retrain") in kinds
    (dispatch,) = data["dispatches"]
    assert dispatch["url"] == "https://api.github.com/repos/acme-ml/mlops-platform/dispatches"  # the platform deploys
    assert dispatch["headers"]["Authorization"] == "[secret]"
    assert dispatch["body"]["client_payload"]["environment"] == "prod"
    assert data["invocations"]["total"] > 10
    assert not any("set the alarm state" in n for n in data["notes"])


@pytest.mark.slow
def test_demo_never_touches_the_repository(demo_run):
    _, keep, before, after = demo_run
    assert before == after
    kept_stack = (keep / "stacks" / "Pulumi.prod.yaml").read_text()
    assert "modelPackageArn" in kept_stack  # the deploy step wrote the ARN into the copy
    assert (keep / "projects" / "churn" / ".git").is_dir()  # CI built from a commit
    assert (keep / ".ladder" / "sandbox" / "prod.json").exists()


@pytest.mark.slow
def test_bad_canary_is_rolled_back_by_its_alarm_and_the_deploy_fails(tmp_path):
    """The rollback drill: nothing is set by hand - the 5XX alarm is evaluated from the green fleet's errors."""
    result = CliRunner().invoke(app, ["demo", "--scenario", "bad-canary", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["step"] for s in data["steps"]][-2:] == ["serve", "canary"]
    rollback = data["rollback"]
    assert rollback["deploy"].startswith("deploy failed: endpoint acme-prod-churn was rolled back")
    assert "acme-prod-churn-5xx-errors" in rollback["deploy"]
    update = rollback["update"]
    assert update["outcome"] == "rolled back" and update["serving"] == update["from"] != update["to"]
    assert any(k.startswith("green:5") for k in data["invocations"]["byFleetAndStatus"])
    assert data["deploys"][0]["ok"] is True  # the first (good) deploy verified


def test_unknown_scenario_is_refused_with_the_allowed_ones():
    result = CliRunner().invoke(app, ["demo", "--scenario", "chaos"])
    assert result.exit_code == 2 and "allowed: default, bad-canary" in " ".join(result.output.split())


@pytest.mark.slow
def test_demo_at_level_3_stops_after_serving():
    result = Demo("staging").run()
    assert [s.key for s in result.steps] == ["provision", "scaffold", "train", "register", "approve", "deploy",
                                             "serve", "schedule"]
    assert any("level 3 stops before" in n for n in result.notes)
    assert result.arns["endpoint"].endswith(":endpoint/acme-staging-churn")


def test_demo_refuses_a_level_without_endpoints(tmp_path):
    with pytest.raises(DemoError, match="needs level 3"):
        Demo("dev").run()


def test_demo_refuses_a_non_empty_keep_dir(tmp_path):
    (tmp_path / "x").write_text("mine")
    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path)])
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert (tmp_path / "x").read_text() == "mine"
