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
    assert data["resources"]["afterDeploy"] == data["resources"]["provisioned"] + data["resources"]["addedByDeploy"]
    assert data["resources"]["addedByDeploy"] > 10  # model, endpoint config, endpoint, alarms, monitoring...
    assert any("MonitoringSchedule" in v for v in data["validatedOnly"])  # moto lacks it: validated, said so
    assert data["arns"]["modelPackage"].startswith("arn:aws:sagemaker:us-east-1:") and \
        "model-package/acme-prod-churn/" in data["arns"]["modelPackage"]
    assert data["arns"]["endpoint"].endswith(":endpoint/acme-prod-churn")
    assert ":pipeline/acme-prod-churn-training/execution/" in data["arns"]["retrainingExecution"]
    assert data["metrics"]["evaluation"]["auc"] >= 0.85  # passed the prod gate
    assert data["metrics"]["smokeTest"]["accuracy"] >= 0.8
    drift = data["metrics"]["drift"]
    assert drift["control"] <= drift["shifted"] and drift["shifted"] > drift["threshold"]
    assert any("moto does not evaluate CloudWatch alarms" in n for n in data["notes"])
    assert drift["control"] <= drift["threshold"]  # the published score agrees with the check: no false alarm


@pytest.mark.slow
def test_demo_never_touches_the_repository(demo_run):
    _, keep, before, after = demo_run
    assert before == after
    kept_stack = (keep / "stacks" / "Pulumi.prod.yaml").read_text()
    assert "modelPackageArn" in kept_stack  # the deploy step wrote the ARN into the copy
    assert (keep / "projects" / "churn" / "build" / "model" / "model.joblib").exists()
    assert (keep / ".ladder" / "sandbox" / "prod.json").exists()


@pytest.mark.slow
def test_demo_at_level_3_stops_after_serving():
    result = Demo("staging").run()
    assert [s.key for s in result.steps] == ["provision", "scaffold", "train", "upload", "register", "approve",
                                             "deploy", "serve"]
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
