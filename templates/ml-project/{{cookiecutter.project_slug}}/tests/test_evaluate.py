import json
import shutil
import tarfile

from {{ cookiecutter.__package_name }} import evaluate


def test_evaluation_json_shape(model_dir, splits, tmp_path):
    assert evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(splits / "test"),
                          "--output-dir", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert {"auc", "accuracy", "f1"} <= set(report["metrics"])
    for metric in report["metrics"].values():
        assert set(metric) == {"value"} and 0.0 <= metric["value"] <= 1.0
    assert report["metrics"]["auc"]["value"] > 0.9


def test_reads_sagemaker_model_archive(model_dir, splits, tmp_path):
    packed = tmp_path / "packed"
    packed.mkdir()
    with tarfile.open(packed / "model.tar.gz", "w:gz") as tar:
        tar.add(model_dir / "model.joblib", arcname="model.joblib")
    path = evaluate.run(packed, splits / "test", tmp_path / "out")
    direct = evaluate.run(model_dir, splits / "test", tmp_path / "direct")
    assert json.loads(path.read_text()) == json.loads(direct.read_text())
    shutil.rmtree(packed)
