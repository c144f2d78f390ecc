"""The `ladder` CLI through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from modules.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_help_explains_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for cmd in ("plan", "levels", "validate", "demo", "new", "check", "up", "down", "deploy", "promote"):
        assert cmd in result.output


def test_levels_table_and_json():
    result = invoke("levels")
    assert result.exit_code == 0 and "Automated" in result.output and "Full MLOps" in result.output
    data = json.loads(invoke("levels", "--json").output)
    assert [d["level"] for d in data] == [0, 1, 2, 3, 4]
    assert data[2]["google"].startswith("Level 1") and data[3]["microsoft"].startswith("Level 3")
    assert {a["capability"] for a in data[1]["adds"]} == {"container_registry", "ci_identity"}


def test_plan_tree():
    result = invoke("plan", "--stack", "dev")
    assert result.exit_code == 0, result.output
    assert "stack dev" in result.output and "foundation" in result.output and "churn-delivery" in result.output


def test_plan_json_shape():
    result = invoke("plan", "--stack", "dev", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["stack"] == "dev" and data["maturity"] == 2 and data["environment"] == "dev"
    assert {"urn", "type", "name", "parent", "inputs"} == set(data["resources"][0])


def test_compare_level_lists_what_changes():
    result = invoke("plan", "--stack", "dev", "--compare-level", "0", "--json")
    data = json.loads(result.output)
    assert data["from"] == 2 and data["to"] == 0
    removed = {r["name"] for r in data["removed"]}
    assert "churn-delivery-ecr" in removed and not data["added"]
    text = invoke("plan", "--stack", "dev", "--compare-level", "0").output
    assert "- aws:ecr/repository:Repository churn-delivery-ecr" in text


def _write(tmp_path: Path, config: dict) -> Path:
    f = tmp_path / "Pulumi.mine.yaml"
    f.write_text(yaml.safe_dump({"config": config}))
    return f


def test_stack_file_option(tmp_path):
    f = _write(tmp_path, {"aws:region": "eu-west-1", "mlops:environment": "staging", "mlops:maturity": 0,
                          "mlops:owner": "me@example.com"})
    data = json.loads(invoke("plan", "--stack-file", str(f), "--json").output)
    assert data["stack"] == "mine" and data["maturity"] == 0


def test_bad_spec_exits_2_with_every_problem(tmp_path):
    f = _write(tmp_path, {"aws:region": "us-east-1", "mlops:environment": "dev", "mlops:maturity": 7,
                          "mlops:owner": "me", "mlops:projects": [{"name": "Bad_Name"}]})
    result = invoke("plan", "--stack-file", str(f))
    assert result.exit_code == 2
    out = result.output
    assert "mlops:maturity" in out and "out of range" in out
    assert "mlops:projects[0].name" in out and "DNS-safe" in out
    assert str(f.name) in out


def test_unknown_stack_exits_2():
    result = invoke("plan", "--stack", "nope")
    assert result.exit_code == 2
    assert "no such stack file" in result.output


def test_validate():
    assert invoke("validate", "--stack", "prod").exit_code == 0
    data = json.loads(invoke("validate", "--stack", "prod", "--json").output)
    assert data["valid"] is True and data["spec"]["maturity"] == 4
