"""The sandbox's Model Monitor analyzer as functions (services/sagemaker/modelmonitor/): statistics, suggested
constraints and the six violation types against a baseline, model-quality metrics, capture reading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modules.sandbox.services.sagemaker.modelmonitor import dataquality as dq
from modules.sandbox.services.sagemaker.modelmonitor import modelquality as mq

from tests.helpers import synthetic_rows

RNG = np.random.default_rng(11)


rows = synthetic_rows  # tests/helpers.py


BASE_STATS, BASE_CONSTRAINTS = dq.suggest_baseline(rows(2000))


def violations_of(current):
    _, found, distances = dq.check(dq.frame_of(current), BASE_STATS, BASE_CONSTRAINTS)
    return {(v["feature_name"], v["constraint_check_type"]) for v in found}, distances


def test_baseline_of_headerless_csv_names_columns_by_position_and_suggests_constraints():
    stats, constraints = dq.suggest_baseline("1.5,3,x\n2.5,4,y\n,5,x\n")
    assert [f["name"] for f in stats["features"]] == ["_c0", "_c1", "_c2"]  # as the analyzer names headerless CSV
    assert [f["inferred_type"] for f in stats["features"]] == ["Fractional", "Integral", "String"]
    num = stats["features"][1]["numerical_statistics"]
    assert (num["common"], num["mean"], num["min"], num["max"]) == ({"num_present": 3, "num_missing": 0}, 4.0, 3.0, 5.0)
    assert len(num["distribution"]["kll"]["buckets"]) == 10  # "materialized in 10 buckets"
    assert stats["features"][2]["string_statistics"]["distribution"]["categorical"]["buckets"][0] == \
        {"value": "x", "count": 2.0}
    by = {f["name"]: f for f in constraints["features"]}
    assert by["_c0"]["completeness"] == pytest.approx(2 / 3) and by["_c1"]["num_constraints"]["is_non_negative"]
    assert by["_c2"]["string_constraints"]["domains"] == ["x", "y"]
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_method"] == "Robust"


def test_same_distribution_is_no_drift():
    found, distances = violations_of(rows(500))
    assert found == set() and set(distances) == {"_c0", "_c1", "_c2"} and max(distances.values()) < 0.1


def test_numeric_shift_is_baseline_drift_on_that_feature_only():
    found, distances = violations_of(rows(500, shift=1.0))
    assert found == {("_c0", "baseline_drift_check")} and distances["_c0"] > 0.3


def test_categorical_share_shift_is_drift_and_an_unknown_value_breaks_the_domain():
    found, distances = violations_of(rows(500, weights=[0.8, 0.1, 0.1]))
    assert found == {("_c2", "baseline_drift_check")} and distances["_c2"] > 0.4
    found, _ = violations_of(rows(500, cats=("a", "b", "c", "zzz")))
    assert ("_c2", "categorical_values_check") in found


def test_missing_values_break_completeness():
    found, _ = violations_of(rows(500, missing=0.3))
    assert ("_c1", "completeness_check") in found and ("_c0", "completeness_check") not in found


def test_extra_and_missing_columns_and_wrong_types():
    found, _ = violations_of(rows(300, width=4))
    assert ("_c3", "extra_column_check") in found
    found, _ = violations_of([r[:2] for r in rows(300)])
    assert ("_c2", "missing_column_check") in found
    found, _ = violations_of([["x", "1.5", "a"]] + rows(300))
    assert {("_c0", "data_type_check"), ("_c1", "data_type_check")} <= found  # Integral baseline, 1.5 is Fractional


def test_simple_method_flags_a_small_window_that_robust_allows():
    small = rows(12, shift=0.5)
    simple = json.loads(json.dumps(BASE_CONSTRAINTS))
    simple["monitoring_config"]["distribution_constraints"]["comparison_method"] = "Simple"
    _, robust_found, distances = dq.check(dq.frame_of(small), BASE_STATS, BASE_CONSTRAINTS)
    _, simple_found, _ = dq.check(dq.frame_of(small), BASE_STATS, simple)
    assert 0.1 < distances["_c0"] < 0.47  # above the threshold, below the KS critical value for n=12
    assert ("_c0", "baseline_drift_check") in {(v["feature_name"], v["constraint_check_type"]) for v in simple_found}
    assert "_c0" not in {v["feature_name"] for v in robust_found if v["constraint_check_type"] == "baseline_drift_check"}


def test_binary_classification_metrics_match_the_documented_example():
    # model-monitor-model-quality-metrics.html: confusion {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    stats = mq.statistics("BinaryClassification", ["0", "0", "0", "1"], ["", "", "", ""],
                          ["0.1", "0.7", "0.8", "0.9"])
    m = stats["binary_classification_metrics"]
    assert m["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    assert (m["recall"]["value"], m["precision"]["value"], m["accuracy"]["value"]) == (1.0, pytest.approx(1 / 3), 0.5)
    assert m["f1"]["value"] == pytest.approx(0.5) and m["f2"]["value"] == pytest.approx(0.7142857142857143)
    assert m["f0_5"]["value"] == pytest.approx(0.3846153846153846) and m["auc"]["value"] == 1.0
    assert m["f1_best_constant_classifier"]["value"] == pytest.approx(0.4)
    assert m["precision_best_constant_classifier"]["value"] == 0.25
    assert m["false_positive_rate"]["value"] == pytest.approx(2 / 3)


def test_a_compacted_kll_sketch_weighs_its_higher_levels():
    # level 0 holds 2 items of weight 1, level 1 holds 2 items of weight 2: the CDF is 1/6, 2/6, 4/6, 1
    feature = {"name": "_c0", "inferred_type": "Fractional", "numerical_statistics": {
        "common": {"num_present": 6, "num_missing": 0},
        "distribution": {"kll": {"sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": [[1.0, 2.0], [3.0, 4.0]]}}}}}
    values, weights = dq.sketch_values(feature)
    assert values.tolist() == [1.0, 2.0, 3.0, 4.0] and weights.tolist() == [1.0, 1.0, 2.0, 2.0]
    # the current data is the same distribution written out: no distance; unweighted it would be 1/6
    assert dq.linf_numeric(values, np.array([1.0, 2.0, 3.0, 3.0, 4.0, 4.0]), weights) == pytest.approx(0.0)
    assert dq.linf_numeric(values, np.array([1.0, 2.0, 3.0, 3.0, 4.0, 4.0])) == pytest.approx(1 / 6)


def test_captured_output_comes_first_so_a_label_free_baseline_does_not_line_up(tmp_path):
    """model-monitor-create-baseline.html: the prediction/output column(s) are the 1st column(s) of the baseline and
    the schemas must match exactly - with Input+Output capture, a baseline of the features alone is off by one."""
    from modules.sandbox.services.sagemaker.modelmonitor import capture

    lines = [{"captureData": {"endpointInput": {"observedContentType": "text/csv", "data": "0.5,x\n1.5,y",
                                                "encoding": "CSV"},
                              "endpointOutput": {"observedContentType": "application/json", "data": "[0, 1]",
                                                 "encoding": "JSON"}},
              "eventMetadata": {"eventId": "e1"}, "eventVersion": "0"},
             {"captureData": {"endpointInput": {"observedContentType": "text/csv", "data": "2.5,z", "encoding": "CSV"}},
              "eventMetadata": {"eventId": "e2"}, "eventVersion": "0"}]
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    assert capture.monitored_rows(tmp_path) == [["0", "0.5", "x"], ["1", "1.5", "y"], ["2.5", "z"]]
    assert capture.monitored_rows(tmp_path, ("endpointInput",)) == [["0.5", "x"], ["1.5", "y"], ["2.5", "z"]]
    lines[1]["eventMetadata"]["inferenceTime"] = "2026-12-02T03:00:01Z"  # downloaded, but after the window's end
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    capture.WINDOW.update({"start_time": "2026-12-02T02:00:00Z", "end_time": "2026-12-02T03:00:00Z"})
    try:
        assert capture.monitored_rows(tmp_path) == [["0", "0.5", "x"], ["1", "1.5", "y"]]
    finally:
        capture.WINDOW.clear()
    served = [[str(int(RNG.random() > 0.5)), f"{RNG.normal():.3f}", str(RNG.choice(["x", "y"]))] for _ in range(300)]
    label_free = dq.suggest_baseline([r[1:] for r in served])
    _, found, _ = dq.check(dq.frame_of(served), *label_free)
    assert ("_c2", "extra_column_check") in {(v["feature_name"], v["constraint_check_type"]) for v in found}
    output_first = dq.suggest_baseline(served)
    assert dq.check(dq.frame_of(served), *output_first)[1] == []


def test_model_quality_reads_the_projects_json_predictions_by_jsonpath(tmp_path):
    """The generated project's container answers {"predictions": [{"label", "score"}...]} (one per input row)."""
    from modules.sandbox.services.sagemaker.modelmonitor import capture

    body = json.dumps({"predictions": [{"label": 1, "score": 0.9}, {"label": 0, "score": 0.2}]})
    record = {"captureData": {"endpointInput": {"observedContentType": "text/csv", "data": "1,2\n3,4", "encoding": "CSV"},
                              "endpointOutput": {"observedContentType": "application/json", "data": body,
                                                 "encoding": "JSON"}},
              "eventMetadata": {"eventId": "e1"}, "eventVersion": "0"}
    (tmp_path / "c.jsonl").write_text(json.dumps(record))
    outs = list(capture.outputs(tmp_path))
    assert outs == [("e1", 2, "application/json", body)]
    predicted, probs, actual = mq.merge_records(outs, {"e1": ["1", "1"]}, inference_attribute="$.predictions[*].label",
                                                probability_attribute="$.predictions[*].score")
    assert (predicted, probs, actual) == (["1", "0"], ["0.9", "0.2"], ["1", "1"])
    assert capture.monitored_rows(tmp_path) == [["1", "0.9", "1", "2"], ["0", "0.2", "3", "4"]]  # outputs first


# ---- every problem type the template serves (issue 15): captured JSON answers, categorical and missing values ----

def _capture(tmp_path, records):
    """Capture files as the endpoint writes them: one record per InvokeEndpoint (Input and Output)."""
    lines = []
    for i, (ctype, request, answer) in enumerate(records):
        lines.append({"captureData": {
            "endpointInput": {"observedContentType": ctype, "mode": "INPUT", "data": request,
                              "encoding": "JSON" if "json" in ctype else "CSV"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                               "data": json.dumps(answer), "encoding": "JSON"}},
            "eventMetadata": {"eventId": f"e{i}", "inferenceTime": "2026-12-02T00:00:00Z"}, "eventVersion": "0"})
    (tmp_path / "capture.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    return tmp_path


def test_regression_answers_become_one_output_column_and_model_quality_reads_predictions_value(tmp_path):
    """Regression answers {"predictions": [{"value": y}]}: data quality sees value then the features (the
    baseline's layout, model-monitor-create-baseline.html); model quality locates the prediction with the JSONPath
    inference attribute predictions[*].value (model-monitor-model-quality-schedule.html)."""
    from modules.sandbox.services.sagemaker.modelmonitor import capture

    root = _capture(tmp_path, [("text/csv", "1.5,pro\n2.5,", {"predictions": [{"value": 10.0}, {"value": 20.5}]}),
                               ("text/csv", "3.5,basic", {"predictions": [{"value": 31.0}]})])
    assert capture.monitored_rows(root) == [["10.0", "1.5", "pro"], ["20.5", "2.5", ""], ["31.0", "3.5", "basic"]]
    predicted, probs, actual = mq.merge_records(capture.outputs(root), {"e0": ["11", "19"], "e1": ["30"]},
                                                inference_attribute="predictions[*].value", probability_attribute=None)
    assert predicted == ["10.0", "20.5", "31.0"] and probs == [None] * 3
    m = mq.statistics("Regression", actual, predicted, probs)["regression_metrics"]
    assert m["mae"]["value"] == pytest.approx((1 + 1.5 + 1) / 3) and set(m) == {"mae", "mse", "rmse", "r2"}


def test_multiclass_answers_with_text_classes_are_read_by_predictions_label(tmp_path):
    from modules.sandbox.services.sagemaker.modelmonitor import capture

    answer = {"predictions": [{"label": "high", "score": 0.7}, {"label": "low", "score": 0.5},
                              {"label": "mid", "score": 0.9}]}
    root = _capture(tmp_path, [("application/json", json.dumps({"instances": [[1, "a"], [2, "b"], [3, None]]}),
                                answer)])
    assert capture.monitored_rows(root) == [["high", "0.7", "1", "a"], ["low", "0.5", "2", "b"],
                                            ["mid", "0.9", "3", ""]]
    predicted, _, actual = mq.merge_records(capture.outputs(root), {"e0": ["high", "mid", "mid"]},
                                            inference_attribute="predictions[*].label", probability_attribute=None)
    m = mq.statistics("MulticlassClassification", actual, predicted, [None] * 3)["multiclass_classification_metrics"]
    assert m["accuracy"]["value"] == pytest.approx(2 / 3)
    assert m["confusion_matrix"]["mid"] == {"high": 0, "low": 1, "mid": 1}


def _served(n, plans=("basic", "pro"), missing=0.0, seed=1):
    """Captured rows of a binary model: label, score, a numerical and a categorical feature (empty = missing)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        plan = "" if rng.random() < missing else str(rng.choice(plans))
        rows.append([str(int(rng.random() > 0.5)), f"{rng.random():.3f}", f"{rng.normal(40, 5):.1f}", plan])
    return rows


def test_a_categorical_feature_with_missing_values_is_string_typed_and_constrains_completeness():
    stats, constraints = dq.suggest_baseline(_served(1000, missing=0.1))
    plan = {f["name"]: f for f in stats["features"]}["_c3"]
    assert plan["inferred_type"] == "String"
    assert 0.85 < plan["string_statistics"]["common"]["num_present"] / 1000 < 0.95
    by = {f["name"]: f for f in constraints["features"]}
    assert by["_c3"]["string_constraints"]["domains"] == ["basic", "pro"]
    assert 0.85 < by["_c3"]["completeness"] < 0.95
    same = {(v["feature_name"], v["constraint_check_type"]) for v in
            dq.check(dq.frame_of(_served(400, missing=0.05, seed=2)), stats, constraints)[1]}
    assert same == set()
    more_missing = {(v["feature_name"], v["constraint_check_type"]) for v in
                    dq.check(dq.frame_of(_served(400, missing=0.5, seed=2)), stats, constraints)[1]}
    assert ("_c3", "completeness_check") in more_missing


def test_a_complete_categorical_shift_is_drift_with_distance_one():
    stats, constraints = dq.suggest_baseline(_served(1000))
    _, found, distances = dq.check(dq.frame_of(_served(300, plans=("enterprise",), seed=3)), stats, constraints)
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in found}
    assert ("_c3", "baseline_drift_check") in checks and ("_c3", "categorical_values_check") in checks
    assert distances["_c3"] == pytest.approx(1.0)
    assert not {c for c in checks if c[0] == "_c2"}  # the numerical feature did not move
