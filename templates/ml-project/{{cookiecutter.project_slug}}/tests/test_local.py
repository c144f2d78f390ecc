import json

import pytest

from {{ cookiecutter.__package_name }} import config, local


def test_train_local_writes_model_and_passes_the_gate(tmp_path):
    assert local.main(["--build-dir", str(tmp_path), "--input-dir", str(tmp_path / "absent")]) == 0
    assert (tmp_path / "model" / "model.joblib").exists()
    assert (tmp_path / "model" / "code" / "inference.py").exists()
    assert (tmp_path / "manifest" / "manifest.json").exists()
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    value = report["binary_classification_metrics"][config.QUALITY_GATE_METRIC]["value"]
    assert value >= config.QUALITY_GATE_MIN


def test_gate_fails_below_minimum(tmp_path, capsys):
    assert local.main(["--build-dir", str(tmp_path), "--input-dir", str(tmp_path / "absent"),
                       "--gate-min", "1.01"]) == 1
    assert "quality gate FAILED" in capsys.readouterr().err


def test_check_gate():
    report = {"binary_classification_metrics": {"auc": {"value": 0.75, "standard_deviation": "NaN"}}}
    assert local.check_gate(report, "auc", 0.7) == 0.75
    with pytest.raises(local.GateError, match="FAILED"):
        local.check_gate(report, "auc", 0.8)
    with pytest.raises(local.GateError, match="missing"):
        local.check_gate(report, "f1", 0.1)
