"""Baseline in Model Monitor's format from the data contract, and the drift check: none on the training data,
drift on shifted numerical and categorical data, incomplete columns when more values are missing."""

import json

import numpy as np
import pandas as pd
import pytest
from test_inference import synthetic

from monitoring import baseline, drift

LABEL = baseline.contract_schema.load()["label"]  # the package's data contract (schema.json)


@pytest.fixture(scope="module")
def train_frame(splits):
    return pd.read_csv(splits / "train" / "train.csv")


@pytest.fixture(scope="module")
def baseline_files(splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline")
    return baseline.run(splits / "train" / "train.csv", out, threshold=0.1)


def test_statistics_format(baseline_files, train_frame):
    stats = json.loads(baseline_files[0].read_text())
    assert stats["version"] == 0.0
    assert stats["dataset"]["item_count"] == len(train_frame)
    names = [f["name"] for f in stats["features"]]
    assert names == [c for c in train_frame.columns if c != LABEL]  # label dropped: the endpoint sees features only
    for feature in stats["features"]:  # the bundled samples are numerical
        assert feature["inferred_type"] in ("Integral", "Fractional")
        numerical = feature["numerical_statistics"]
        present = int(train_frame[feature["name"]].notna().sum())
        assert numerical["common"] == {"num_present": present, "num_missing": len(train_frame) - present}
        assert numerical["min"] <= numerical["mean"] <= numerical["max"]
        assert set(numerical) >= {"sum", "std_dev", "distribution"}
        kll = numerical["distribution"]["kll"]
        assert sum(b["count"] for b in kll["buckets"]) == present
        assert kll["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
        assert len(kll["sketch"]["data"][0]) == present


def test_constraints_format(baseline_files):
    stats = json.loads(baseline_files[0].read_text())["features"][0]
    constraints = json.loads(baseline_files[1].read_text())
    assert constraints["version"] == 0.0
    feature = constraints["features"][0]
    assert feature["inferred_type"] == stats["inferred_type"] and feature["completeness"] == 1.0
    assert feature["num_constraints"] == {"is_non_negative": stats["numerical_statistics"]["min"] >= 0}
    assert constraints["monitoring_config"]["evaluate_constraints"] == "Enabled"
    assert constraints["monitoring_config"]["distribution_constraints"] == {
        "perform_comparison": "Enabled", "comparison_threshold": 0.1, "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1, "categorical_drift_method": "LInfinity"}


def test_types_and_negative_values():
    frame = pd.DataFrame({"n": [1, 2, 3], "x": [-0.5, 1.5, 2.0], "s": ["a", "b", "a"]})
    stats = baseline.statistics(frame)
    assert [f["inferred_type"] for f in stats["features"]] == ["Integral", "Fractional", "String"]
    constraints = baseline.constraints(stats)["features"]
    assert constraints[1]["num_constraints"] == {"is_non_negative": False}
    assert constraints[2]["string_constraints"] == {"domains": ["a", "b"]}


def test_no_drift_on_the_training_data(baseline_files, train_frame):
    stats = json.loads(baseline_files[0].read_text())
    report = drift.check(stats, train_frame, threshold=0.1)
    assert not report["drifted"]
    assert max(f["distance"] for f in report["features"].values()) == 0.0


def test_no_drift_on_the_held_out_split(baseline_files, splits):
    stats = json.loads(baseline_files[0].read_text())
    report = drift.check(stats, pd.read_csv(splits / "test" / "test.csv"), threshold=0.1)
    assert not report["drifted"], report["drifted_features"]


def test_drift_on_shifted_data(baseline_files, train_frame):
    stats = json.loads(baseline_files[0].read_text())
    first, last = stats["features"][0]["name"], stats["features"][-1]["name"]
    shifted = train_frame.copy()
    for column in (first, last):
        shifted[column] = shifted[column] + shifted[column].std()
    report = drift.check(stats, shifted, threshold=0.1)
    assert report["drifted"]
    assert report["drifted_features"] == [first, last]
    assert report["features"][first]["distance"] > 0.3


def test_linf_distance():
    base = np.arange(100.0)
    assert drift.linf_distance(base, base) == 0.0
    assert drift.linf_distance(base, base + 1000) == 1.0
    assert drift.linf_distance(base, base + 50) == pytest.approx(0.5)


def test_cli_headerless_data_and_exit_codes(baseline_files, train_frame, tmp_path):
    statistics_path = str(baseline_files[0])
    features = train_frame.drop(columns=[LABEL])
    features.to_csv(tmp_path / "same.csv", header=False, index=False)
    assert drift.main(["--baseline", statistics_path, "--data", str(tmp_path / "same.csv"), "--no-header"]) == 0
    (features * 1.5).to_csv(tmp_path / "scaled.csv", index=False)
    report_path = tmp_path / "report.json"
    assert drift.main(["--baseline", statistics_path, "--data", str(tmp_path / "scaled.csv"),
                       "--output", str(report_path)]) == 1
    assert json.loads(report_path.read_text())["drifted"] is True
    features.iloc[:, :3].to_csv(tmp_path / "narrow.csv", index=False)
    assert drift.main(["--baseline", statistics_path, "--data", str(tmp_path / "narrow.csv")]) == 2


# ---- local tools only: the retraining loop's signal is Model Monitor's own execution, not these ----

def test_drift_and_baseline_need_no_aws_and_publish_nothing(baseline_files, splits, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # any AWS call would fail
    assert drift.main(["--baseline", str(baseline_files[0]), "--data", str(splits / "test" / "test.csv")]) == 0
    assert baseline.main(["--data", str(splits / "train" / "train.csv"), "--output-dir", str(tmp_path / "b")]) == 0
    with pytest.raises(SystemExit) as exc:  # the hand-run publish path into the loop is gone
        drift.main(["--baseline", str(baseline_files[0]), "--data", str(splits / "test" / "test.csv"), "--publish"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:  # so is the hand upload of a baseline: the pipeline computes it
        baseline.main(["--data", str(splits / "train" / "train.csv"), "--output-dir", str(tmp_path / "c"), "--upload"])
    assert exc.value.code == 2


def test_drift_score_is_above_the_threshold_exactly_when_a_feature_drifted():
    def report(*features):
        return {"threshold": 0.1, "features": {f"f{i}": {"distance": d, "limit": lim, "drifted": d > lim}
                                              for i, (d, lim) in enumerate(features)}}

    small_window = report((0.16, 0.2), (0.05, 0.2))  # raw distance above 0.1, below the critical value
    assert drift.drift_score(small_window) <= 0.1
    drifted = report((0.25, 0.2), (0.05, 0.2))
    assert drift.drift_score(drifted) > 0.1
    large_window = report((0.12, 0.1))  # critical value below the threshold: the raw distance
    assert drift.drift_score(large_window) == pytest.approx(0.12)


# ---- categorical columns and missing values (the data contract) ----

@pytest.fixture(scope="module")
def contract_data(tmp_path_factory):
    """A labelled CSV (label not first, an id column, categorical columns of letters and of digits, missing
    values), its contract and the baseline built from them."""
    out = tmp_path_factory.mktemp("contract")
    frame, signal = synthetic(600, seed=5)
    frame.insert(0, "customer_id", [f"c{i}" for i in range(len(frame))])
    frame["target"] = (signal > 0).astype(int)
    frame.to_csv(out / "train.csv", index=False)
    contract = {"version": 1, "problem_type": "binary", "label": "target", "categorical": ["plan", "region"],
                "drop": ["customer_id"]}
    (out / "schema.json").write_text(json.dumps(contract))
    stats_path, constraints_path = baseline.run(out / "train.csv", out / "baseline", threshold=0.1,
                                                schema_path=out / "schema.json")
    return out, frame, json.loads(stats_path.read_text()), json.loads(constraints_path.read_text())


def test_baseline_follows_the_contract(contract_data):
    _, frame, stats, constraints = contract_data
    by_name = {f["name"]: f for f in stats["features"]}
    assert list(by_name) == ["age", "plan", "income", "region"]  # CSV order, no label, no id
    assert by_name["region"]["inferred_type"] == "String"  # digits, but declared categorical
    buckets = by_name["region"]["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"] for b in buckets} == {"1", "2", "north"}
    assert by_name["region"]["string_statistics"]["common"]["num_missing"] == int(frame["region"].isna().sum()) > 0
    assert by_name["income"]["numerical_statistics"]["common"]["num_missing"] == int(frame["income"].isna().sum())
    completeness = {f["name"]: f["completeness"] for f in constraints["features"]}
    assert completeness["age"] == 1.0 and completeness["region"] == pytest.approx(1 - frame["region"].isna().mean())
    assert {f["name"]: f.get("string_constraints") for f in constraints["features"]}["plan"] == {
        "domains": ["a", "b", "c"]}


def _report(contract_data, frame, tmp_path):
    out = contract_data[0]
    frame.to_csv(tmp_path / "new.csv", index=False)
    code = drift.main(["--baseline", str(out / "baseline" / "statistics.json"), "--data", str(tmp_path / "new.csv"),
                       "--output", str(tmp_path / "report.json")])
    return code, json.loads((tmp_path / "report.json").read_text()) if code in (0, 1) else None


def test_no_drift_on_new_data_of_the_same_kind(contract_data, tmp_path):
    frame, _ = synthetic(300, seed=6)
    code, report = _report(contract_data, frame, tmp_path)
    assert code == 0, report
    assert report["drifted_features"] == [] and report["incomplete_features"] == []
    assert report["features"]["plan"]["type"] == "categorical" and report["features"]["plan"]["distance"] < 0.1


def test_a_complete_categorical_shift_is_drift_on_that_column(contract_data, tmp_path, capsys):
    frame, _ = synthetic(300, seed=6)
    frame["plan"] = "enterprise"  # a category the baseline never saw, on every row
    code, report = _report(contract_data, frame, tmp_path)
    assert code == 1
    assert report["drifted_features"] == ["plan"]
    assert report["features"]["plan"]["distance"] == pytest.approx(1.0)
    assert "DRIFT plan (categorical)" in capsys.readouterr().out


def test_a_share_shift_between_known_categories_is_drift(contract_data, tmp_path):
    frame, _ = synthetic(300, seed=6)
    frame["region"] = np.where(frame["region"].isna(), None, "north")
    _, report = _report(contract_data, frame, tmp_path)
    assert report["drifted_features"] == ["region"]
    assert 0.5 < report["features"]["region"]["distance"] < 0.8  # share of "north": about 1/3 -> 1


def test_more_missing_values_than_the_baseline_is_an_incomplete_column(contract_data, tmp_path, capsys):
    frame, _ = synthetic(300, seed=6)
    frame.loc[: len(frame) // 2, "region"] = None
    code, report = _report(contract_data, frame, tmp_path)
    assert code == 1 and report["incomplete_features"] == ["region"] and report["drifted_features"] == []
    assert report["features"]["region"]["missing_share"] > 0.5 > report["features"]["region"]["baseline_missing_share"]
    assert "MISSING region" in capsys.readouterr().out
    frame, _ = synthetic(300, seed=6)
    frame["age"] = np.nan  # a numerical column: missing values are not part of its distribution, but are counted
    code, report = _report(contract_data, frame, tmp_path)
    assert code == 1 and report["incomplete_features"] == ["age"]


def test_headerless_capture_keeps_categories_as_text(contract_data, tmp_path):
    out = contract_data[0]
    frame, _ = synthetic(300, seed=6)
    frame.to_csv(tmp_path / "captured.csv", header=False, index=False)
    assert drift.main(["--baseline", str(out / "baseline" / "statistics.json"), "--data",
                       str(tmp_path / "captured.csv"), "--no-header"]) == 0


def test_bad_inputs_are_one_error_naming_the_column(contract_data, tmp_path, capsys):
    out = contract_data[0]
    frame, _ = synthetic(50, seed=6)
    frame["income"] = "lots"
    frame.to_csv(tmp_path / "text.csv", index=False)
    assert drift.main(["--baseline", str(out / "baseline" / "statistics.json"), "--data",
                       str(tmp_path / "text.csv")]) == 2
    assert "column 'income' is numerical" in capsys.readouterr().err
    pd.DataFrame({"age": [1], "plan": ["x"]}).to_csv(tmp_path / "labelless.csv", index=False)
    assert baseline.main(["--data", str(tmp_path / "labelless.csv"), "--output-dir", str(tmp_path / "b"),
                          "--schema", str(out / "schema.json")]) == 2
    assert "no label column 'target'" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
