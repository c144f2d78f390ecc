import json

import joblib
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import train


def test_script_mode_env_vars(splits, tmp_path, monkeypatch):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(splits / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(splits / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    # SageMaker passes hyperparameters as flags, sometimes ones the script does not know
    assert train.main(["--C", "0.5", "--unknown-flag", "x"]) == 0
    model = joblib.load(tmp_path / "model" / train.MODEL_FILE)
    x, y = train.read_channel(splits / "validation")
    assert (model.predict(x) == y).mean() > 0.9


def test_cli_fallbacks(splits, tmp_path, monkeypatch):
    for var in ("SM_CHANNEL_TRAIN", "SM_CHANNEL_VALIDATION", "SM_MODEL_DIR"):
        monkeypatch.delenv(var, raising=False)
    train.main(["--train", str(splits / "train"), "--model-dir", str(tmp_path)])
    assert list(joblib.load(tmp_path / train.MODEL_FILE).feature_names_in_)[0] == "mean_radius"


def test_missing_channel_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SM_CHANNEL_TRAIN", raising=False)
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    with pytest.raises(SystemExit):
        train.main([])
    with pytest.raises(FileNotFoundError):
        train.run(tmp_path / "nothing", tmp_path / "model")


def test_model_dir_carries_its_own_inference_code(splits, tmp_path):
    """model.tar.gz is SM_MODEL_DIR packed: it must hold code/inference.py, which the registered package runs
    (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) - an isolated endpoint cannot fetch code from S3."""
    import ast
    import importlib.util

    train.run(splits / "train", tmp_path / "model", splits / "validation")
    code = tmp_path / "model" / train.CODE_DIR
    assert sorted(p.name for p in code.iterdir()) == ["inference.py"]
    # load it as the serving container does: from code/ alone, not from this package
    spec = importlib.util.spec_from_file_location("inference", code / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tree = ast.parse((code / "inference.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))  # no relative import
    assert imported <= {"csv", "io", "json", "math", "pathlib", "joblib", "numpy", "pandas"}, imported
    model = module.model_fn(str(tmp_path / "model"))
    features = pd.read_csv(next((splits / "test").glob("*.csv"))).iloc[:5, 1:]
    body = "\n".join(",".join(str(v) for v in row) for row in features.to_numpy().tolist())
    prediction = module.predict_fn(module.input_fn(body, "text/csv"), model)
    answer, content_type = module.output_fn(prediction, "application/json")
    assert content_type == "application/json" and len(json.loads(answer)["predictions"]) == 5
