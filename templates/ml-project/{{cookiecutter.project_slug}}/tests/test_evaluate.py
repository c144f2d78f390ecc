import json
import tarfile

import numpy as np
import pandas as pd
import pytest
from conftest import METRIC, PROBLEM_TYPES

from {{ cookiecutter.__package_name }} import evaluate, predictor, preprocess, train

# the platform spec's vocabulary per problem type, plus Model Monitor's own names where they differ
VOCABULARY = {
    "binary": {"auc", "accuracy", "f1", "precision", "recall", "log_loss"},
    "multiclass": {"accuracy", "f1_macro", "f1_weighted", "weighted_f1", "log_loss"},
    "regression": {"r2", "rmse", "mae", "mape", "mse"},
}


@pytest.fixture()
def trained(tmp_path, contract_file, own_csv):
    """problem_type, own=False -> (splits dir, model dir) trained with this project's framework."""
    def make(problem_type: str, own: bool = False):
        if own:
            data, contract, _ = own_csv(problem_type)
        else:
            data, contract = None, contract_file(problem_type)
        out = tmp_path / f"{problem_type}-{own}"
        preprocess.run(data, out / "data", sample_fallback=not own, schema_path=contract)
        train.run(out / "data" / "train", out / "model", metric=METRIC[problem_type])
        return out / "data", out / "model"
    return make


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_evaluation_json_has_the_problem_types_group(problem_type, trained, tmp_path):
    splits, model = trained(problem_type)
    assert evaluate.main(["--model-dir", str(model), "--test-dir", str(splits / "test"),
                          "--output-dir", str(tmp_path / "e")]) == 0
    report = json.loads((tmp_path / "e" / "evaluation.json").read_text())
    group = evaluate.GROUPS[problem_type]
    assert set(report) == {"version", "dataset", group}  # Model Monitor's model-quality statistics format
    metrics = report[group]
    assert set(metrics) - {"confusion_matrix"} == VOCABULARY[problem_type]
    for name in VOCABULARY[problem_type]:
        assert set(metrics[name]) == {"value", "standard_deviation"}
        # fewer than 200 test rows: no standard deviation, as Model Monitor reports it
        assert metrics[name]["standard_deviation"] == "NaN"
    items = report["dataset"]["item_count"]
    assert items == len(pd.read_csv(splits / "test" / "test.csv")) < 200
    if problem_type == "regression":
        assert "confusion_matrix" not in metrics
        assert metrics["rmse"]["value"] == pytest.approx(metrics["mse"]["value"] ** 0.5)
        assert 0.3 < metrics["r2"]["value"] < 1.0 and metrics["mape"]["value"] > 0
    else:
        matrix = metrics["confusion_matrix"]
        assert sum(n for row in matrix.values() for n in row.values()) == items
        assert set(matrix) == ({"0", "1"} if problem_type == "binary" else {"0", "1", "2"})
        assert metrics["accuracy"]["value"] > 0.85 and 0 < metrics["log_loss"]["value"] < 0.5
    if problem_type == "multiclass":
        assert metrics["weighted_f1"] == metrics["f1_weighted"]
    for name in VOCABULARY[problem_type]:
        assert evaluate.metric_value(report, name) == metrics[name]["value"]


def test_metric_values_match_scikit_learn_on_own_data(trained):
    from sklearn.metrics import f1_score, mean_absolute_error, roc_auc_score

    for problem_type in PROBLEM_TYPES:
        splits, model = trained(problem_type, own=True)
        loaded = predictor.load(model)
        test = pd.read_csv(splits / "test" / "test.csv", dtype={"plan": str, "region": str})
        values = evaluate.metric_values(loaded, test)
        scores = loaded.scores(test)
        if problem_type == "binary":
            assert values["auc"] == pytest.approx(roc_auc_score(test["outcome"], scores[:, 1]))
        elif problem_type == "multiclass":
            predicted = [loaded.classes[i] for i in scores.argmax(axis=1)]
            assert values["f1_macro"] == pytest.approx(f1_score(test["outcome"], predicted, average="macro"))
        else:
            assert values["mae"] == pytest.approx(mean_absolute_error(test["outcome"], scores))


def test_standard_deviation_over_five_80_percent_samples(model_dir):
    frame = preprocess.load_bundled_dataset()
    frame = pd.concat([frame] * (1 + 200 // len(frame)), ignore_index=True)  # wine has 178 rows: >= 200 needed
    with evaluate.open_model(model_dir) as loaded:
        report = evaluate.compute_metrics(loaded, frame)
    group = report[evaluate.GROUPS[loaded.problem_type]]
    deviations = [m["standard_deviation"] for name, m in group.items() if name != "confusion_matrix"]
    assert all(isinstance(d, float) and d >= 0.0 for d in deviations) and max(deviations) > 0


def test_reads_sagemaker_model_archive_with_its_own_predictor(model_dir, splits, tmp_path):
    packed = tmp_path / "packed"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as tar:  # SM_MODEL_DIR packed, as SageMaker does
        for path in sorted(model_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                tar.add(path, arcname=path.relative_to(model_dir).as_posix())
    archived = evaluate.run(packed, splits / "test", tmp_path / "out")
    direct = evaluate.run(model_dir, splits / "test", tmp_path / "direct")
    assert json.loads(archived.read_text()) == json.loads(direct.read_text())


def test_metric_value_finds_the_group_and_names_what_is_missing():
    report = {"regression_metrics": {"rmse": {"value": 3.5, "standard_deviation": "NaN"}}}
    assert evaluate.metric_value(report, "rmse") == 3.5
    with pytest.raises(KeyError):
        evaluate.metric_value(report, "auc")
    with pytest.raises(KeyError, match="no metric group"):
        evaluate.metric_value({"version": 0.0}, "auc")


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_baseline_dataset_is_each_training_row_as_the_endpoint_captures_it(problem_type, trained, tmp_path):
    """Model Monitor reads captured output then input: [label, score | value, *features], no header, no true
    label, a missing value an empty cell."""
    splits, model = trained(problem_type, own=True)
    evaluate.run(model, splits / "test", tmp_path / "evaluation", splits / "baseline", tmp_path / "baseline")
    lines = (tmp_path / "baseline" / evaluate.BASELINE_FILE).read_text().splitlines()
    features = (splits / "baseline" / "baseline.csv").read_text().splitlines()
    assert len(lines) == len(features)  # no header line
    outputs = 1 if problem_type == "regression" else 2
    loaded = predictor.load(model)
    frame = pd.read_csv(splits / "baseline" / "baseline.csv", header=None, names=loaded.features,
                        dtype={"plan": str, "region": str})
    served = loaded.predict(frame.head(20))  # what the endpoint answers
    for line, answer, request in zip(lines[:20], served, features[:20], strict=True):
        values = line.split(",")
        assert ",".join(values[outputs:]) == request  # the request, cell for cell (empty = missing)
        if problem_type == "regression":
            assert float(values[0]) == pytest.approx(answer["value"])
        else:
            assert values[0] == str(answer["label"]) and float(values[1]) == pytest.approx(answer["score"])
    assert any(cell == "" for line in lines for cell in line.split(","))
    assert np.isfinite([float(line.split(",")[outputs - 1]) for line in lines]).all()


def test_a_test_label_the_training_split_never_saw_is_one_clear_error(model_dir, splits, tmp_path, capsys):
    loaded = predictor.load(model_dir)
    test = pd.read_csv(splits / "test" / "test.csv")
    if loaded.problem_type == "regression":
        test[loaded.schema["label"]] = "n/a"  # not a number
    else:
        test.loc[0, loaded.schema["label"]] = 99
    (tmp_path / "t").mkdir()
    test.to_csv(tmp_path / "t" / "test.csv", index=False)
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(tmp_path / "t"),
                          "--output-dir", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert f"evaluate: error: label column {loaded.schema['label']!r}" in err and not (tmp_path / "e").exists()


def test_mape_with_a_zero_target_is_nan_and_as_the_gate_one_clear_error(trained, tmp_path, capsys):
    """scikit-learn's mape divides by max(|y|, eps): one 0 target gave ~1e15, a meaningless value."""
    splits, model = trained("regression")
    test = pd.read_csv(splits / "test" / "test.csv")
    test.loc[:2, "target"] = 0
    (tmp_path / "t").mkdir()
    test.to_csv(tmp_path / "t" / "test.csv", index=False)
    args = ["--model-dir", str(model), "--test-dir", str(tmp_path / "t"), "--output-dir", str(tmp_path / "e")]
    assert evaluate.main([*args, "--gate-metric", "mape"]) == 2
    err = capsys.readouterr().err
    assert "label column 'target': 3 test target(s) are 0" in err and "mape is undefined when a target is 0; use mae or rmse" in err
    assert not (tmp_path / "e").exists()
    assert evaluate.main([*args, "--gate-metric", "rmse"]) == 0
    metrics = json.loads((tmp_path / "e" / "evaluation.json").read_text())["regression_metrics"]
    assert metrics["mape"] == {"value": "NaN", "standard_deviation": "NaN"}
    assert isinstance(metrics["rmse"]["value"], float) and metrics["mae"]["value"] > 0


def test_a_gate_metric_undefined_on_the_test_split_fails_evaluate_not_the_pipelines_comparison(trained, tmp_path,
                                                                                                capsys):
    """auc on a test split of one class is "NaN": handed to the pipeline's numeric gate it is a string."""
    splits, model = trained("binary")
    test = pd.read_csv(splits / "test" / "test.csv")
    test = test[test["target"] == 1]
    (tmp_path / "t").mkdir()
    test.to_csv(tmp_path / "t" / "test.csv", index=False)
    args = ["--model-dir", str(model), "--test-dir", str(tmp_path / "t"), "--output-dir", str(tmp_path / "e")]
    assert evaluate.main([*args, "--gate-metric", "auc"]) == 2
    err = capsys.readouterr().err
    assert "the quality gate metric auc is undefined (NaN)" in err and "single class 1" in err, err
    assert not (tmp_path / "e").exists()
    assert evaluate.main([*args, "--gate-metric", "accuracy"]) == 0
    metrics = json.loads((tmp_path / "e" / "evaluation.json").read_text())["binary_classification_metrics"]
    assert metrics["auc"]["value"] == "NaN" and metrics["accuracy"]["value"] > 0.5
