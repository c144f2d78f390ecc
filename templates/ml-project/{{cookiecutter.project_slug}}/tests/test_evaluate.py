import json
import shutil
import tarfile

from {{ cookiecutter.__package_name }} import evaluate


def test_evaluation_json_shape(model_dir, splits, tmp_path):
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(splits / "test"),
                          "--output-dir", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "evaluation.json").read_text())
    # Model Monitor's model-quality statistics format, what the registry's ModelQuality statistics hold
    metrics = report["binary_classification_metrics"]
    assert {"auc", "accuracy", "f1", "precision", "recall"} <= set(metrics)
    for name in ("auc", "accuracy", "f1", "precision", "recall"):
        assert set(metrics[name]) == {"value", "standard_deviation"} and 0.0 <= metrics[name]["value"] <= 1.0
    assert metrics["auc"]["value"] > 0.9
    matrix = metrics["confusion_matrix"]
    assert sum(matrix[a][p] for a in "01" for p in "01") == report["dataset"]["item_count"]
    # fewer than 200 test rows: no standard deviation, as Model Monitor reports it
    assert report["dataset"]["item_count"] < 200 and metrics["auc"]["standard_deviation"] == "NaN"
    assert evaluate.metric_value(report, "auc") == metrics["auc"]["value"]


def test_standard_deviation_over_five_80_percent_samples(model_dir):
    import pandas as pd

    from {{ cookiecutter.__package_name }} import preprocess

    frame = preprocess.load_bundled_dataset()  # 569 rows: >= 200, so Model Monitor would give a deviation
    x, y = frame.iloc[:, 1:], frame.iloc[:, 0]
    report = evaluate.compute_metrics(evaluate.load_model(model_dir), x, pd.Series(y))
    deviation = report["binary_classification_metrics"]["accuracy"]["standard_deviation"]
    assert isinstance(deviation, float) and 0.0 <= deviation < 0.05


def test_reads_sagemaker_model_archive(model_dir, splits, tmp_path):
    packed = tmp_path / "packed"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as tar:
        tar.add(model_dir / "model.joblib", arcname="model.joblib")
    path = evaluate.run(packed, splits / "test", tmp_path / "out")
    direct = evaluate.run(model_dir, splits / "test", tmp_path / "direct")
    assert json.loads(path.read_text()) == json.loads(direct.read_text())
    shutil.rmtree(packed)


def test_baseline_dataset_is_each_training_row_as_the_endpoint_captures_it(model_dir, splits, tmp_path):
    """Model Monitor reads captured output then input: [label, score, *features], no header, no true label."""
    import pandas as pd

    from {{ cookiecutter.__package_name }} import inference

    evaluate.run(model_dir, splits / "test", tmp_path / "evaluation", splits / "baseline", tmp_path / "baseline")
    lines = (tmp_path / "baseline" / evaluate.BASELINE_FILE).read_text().splitlines()
    features = pd.read_csv(splits / "baseline" / "baseline.csv", header=None)
    assert len(lines) == len(features)  # no header line
    model = inference.model_fn(model_dir)
    served = inference.predict_fn(features.values.tolist()[:20], model)  # what the endpoint answers
    for line, (label, score), row in zip(lines[:20], served, features.values.tolist()[:20], strict=True):
        values = line.split(",")
        assert int(values[0]) == label and abs(float(values[1]) - score) < 1e-12
        assert [float(v) for v in values[2:]] == [float(v) for v in row]  # the request, column for column
