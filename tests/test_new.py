"""`ladder new`: the template is filled from the stack's spec."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from modules.cli import app

runner = CliRunner()


def test_new_fills_the_template_from_the_spec(tmp_path: Path):
    result = runner.invoke(app, ["new", "fraud", "--stack", "dev", "-o", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    ctx = data["context"]
    assert ctx == {"project_name": "fraud", "project_slug": "fraud", "maturity_level": 2, "framework": "sklearn",
                   "aws_region": "us-east-1", "environment": "dev", "github_repository": "acme-ml/fraud",
                   "problem_type": "binary", "quality_gate_metric": "f1", "quality_gate_bound": "min",
                   "quality_gate_threshold": 0.7, "data_label": "target", "data_categorical": "[]",
                   "data_drop": "[]", "drift_threshold": 0.1}
    root = tmp_path / "fraud"
    assert Path(data["path"]) == root
    # the level shapes the tree: level 2 has pipelines, no deploy/monitoring
    assert (root / "pipelines" / "run_pipeline.py").exists()
    assert not (root / "deploy").exists() and not (root / "monitoring").exists()
    text = "\n".join(p.read_text() for p in root.rglob("*.py"))
    assert "0.7" in text and "f1" in text
    assert "acme-ml/fraud" in (root / "README.md").read_text() or "acme-ml/fraud" in text


def test_new_at_level4_has_monitoring(tmp_path: Path):
    result = runner.invoke(app, ["new", "churn", "--stack", "prod", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "churn" / "monitoring" / "drift.py").exists()
    # deploys run in the platform repository: the project has CI only, and no platform secret
    assert sorted(p.name for p in (tmp_path / "churn" / ".github" / "workflows").iterdir()) == ["ci.yml"]


def test_new_refuses_non_empty_target_without_force(tmp_path: Path):
    target = tmp_path / "churn"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["new", "churn", "--stack", "dev", "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    result = runner.invoke(app, ["new", "churn", "--stack", "dev", "-o", str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    assert (target / "keep.txt").read_text() == "mine" and (target / "pyproject.toml").exists()


def test_new_unknown_project_lists_known_ones(tmp_path: Path):
    result = runner.invoke(app, ["new", "nope", "--stack", "dev", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "known projects: churn, fraud" in result.output
    assert not any(tmp_path.iterdir())


def test_new_with_level0_stack_file(tmp_path: Path):
    f = tmp_path / "Pulumi.solo.yaml"
    f.write_text(yaml.safe_dump({"config": {"aws:region": "eu-west-1", "mlops:environment": "dev",
                                            "mlops:maturity": 0, "mlops:owner": "me",
                                            "mlops:projects": [{"name": "solo"}]}}))
    out = tmp_path / "out"
    result = runner.invoke(app, ["new", "solo", "--stack-file", str(f), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["context"]["maturity_level"] == 0 and data["context"]["aws_region"] == "eu-west-1"
    assert not (out / "solo" / "serving").exists()


def _stack(tmp_path: Path, project: dict) -> Path:
    f = tmp_path / "Pulumi.mixed.yaml"
    f.write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", "mlops:environment": "dev",
                                            "mlops:maturity": 0, "mlops:owner": "me", "mlops:projects": [project]}}))
    return f


def test_new_passes_problem_type_gate_and_data_contract(tmp_path: Path):
    """What the spec says reaches the template as P15's context keys (JSON lists as strings)."""
    f = _stack(tmp_path, {"name": "demand", "framework": "xgboost",
                          "training": {"qualityGate": {"metric": "rmse", "max": 55}},
                          "data": {"label": "units", "categorical": ["store", "weekday"], "drop": ["row_id"]}})
    result = runner.invoke(app, ["new", "demand", "--stack-file", str(f), "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    ctx = json.loads(result.output)["context"]
    assert {k: ctx[k] for k in ("framework", "problem_type", "quality_gate_metric", "quality_gate_bound",
                                "quality_gate_threshold", "data_label")} == {
        "framework": "xgboost", "problem_type": "regression", "quality_gate_metric": "rmse",
        "quality_gate_bound": "max", "quality_gate_threshold": 55.0, "data_label": "units"}
    assert json.loads(ctx["data_categorical"]) == ["store", "weekday"] and json.loads(ctx["data_drop"]) == ["row_id"]
    state = json.loads((tmp_path / "out" / "demand" / ".cruft.json").read_text())["context"]["cookiecutter"]
    # the platform's pins: the xgboost image for framework_image_version, both library minors
    from modules.pipeline_definition import SUPPORTED_FRAMEWORKS

    assert state["framework_image_version"] == SUPPORTED_FRAMEWORKS["xgboost"]["version"] == "3.2-0"
    assert state["xgboost_version"] == SUPPORTED_FRAMEWORKS["xgboost"]["library"]
    assert state["sklearn_version"] == SUPPORTED_FRAMEWORKS["sklearn"]["library"]
    assert (state["problem_type"], state["quality_gate_bound"], state["quality_gate_threshold"]) == \
        ("regression", "max", "55.0")


def test_framework_context_pins_follow_the_chosen_framework():
    from modules import scaffold

    assert scaffold.framework_context("sklearn") == {"framework_image_version": "1.9-0", "sklearn_version": "1.9",
                                                     "xgboost_version": "3.2"}
    assert scaffold.framework_context("xgboost")["framework_image_version"] == "3.2-0"
    assert scaffold.framework_context("tensorflow") == {}
