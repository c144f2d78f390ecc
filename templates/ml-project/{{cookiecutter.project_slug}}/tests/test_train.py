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


def test_model_fn_loads_what_train_wrote(splits, tmp_path):
    """The registered model serves from SageMaker's scikit-learn image, which calls train.model_fn."""
    train.run(splits / "train", tmp_path / "model", splits / "validation")
    model = train.model_fn(str(tmp_path / "model"))
    features = pd.read_csv(next((splits / "test").glob("*.csv"))).iloc[:5, 1:]
    assert len(model.predict(features.to_numpy())) == 5
