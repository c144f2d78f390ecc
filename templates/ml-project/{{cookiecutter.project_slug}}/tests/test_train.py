import ast
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import METRIC, OWN_CONTRACT, PROBLEM_TYPES

from {{ cookiecutter.__package_name }} import config, predictor, preprocess, train

MODEL_FILE = {"sklearn": train.MODEL_FILE, "xgboost": train.XGBOOST_FILE}[config.FRAMEWORK]


def trained(tmp_path, data, contract):
    """preprocess + train (this project's framework) on data under a contract file: (splits dir, model dir)."""
    preprocess.run(data, tmp_path / "data", sample_fallback=data is None, schema_path=contract)
    problem = json.loads(contract.read_text())["problem_type"]
    train.run(tmp_path / "data" / "train", tmp_path / "model", tmp_path / "data" / "validation",
              metric=METRIC[problem])
    return tmp_path / "data", tmp_path / "model"


def test_script_mode_env_vars(splits, tmp_path, monkeypatch):
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(splits / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(splits / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "model"))
    # SageMaker passes hyperparameters as flags, sometimes ones the script does not know
    assert train.main(["--C", "0.5", "--n-estimators", "50", "--unknown-flag", "x"]) == 0
    assert (tmp_path / "model" / MODEL_FILE).stat().st_size > 0
    assert json.loads((tmp_path / "model" / "schema.json").read_text())["problem_type"] == config.PROBLEM_TYPE


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_each_problem_type_trains_on_its_bundled_sample(problem_type, contract_file, tmp_path, capsys):
    splits, model = trained(tmp_path, None, contract_file(problem_type))
    assert (model / MODEL_FILE).stat().st_size > 0
    resolved = json.loads((model / "schema.json").read_text())
    frame = pd.read_csv(splits / "train" / "train.csv")
    assert [f["name"] for f in resolved["features"]] == list(frame.columns[1:])  # CSV order, label excluded
    assert all(f["type"] == "numerical" for f in resolved["features"])
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("validation:")]
    assert len(line) == 1 and line[0].startswith(f"validation:{METRIC[problem_type]}=")
    value = float(line[0].split("=")[1])
    test = pd.read_csv(splits / "test" / "test.csv")
    answers = predictor.load(model).predict(test.drop(columns=["target"]))
    assert len(answers) == len(test)
    if problem_type == "regression":
        assert value < 65 and set(answers[0]) == {"value"}  # rmse; the diabetes target's std is 77
    else:
        assert value > 0.9 and set(answers[0]) == {"label", "score"}
        assert resolved["classes"] == ([0, 1] if problem_type == "binary" else [0, 1, 2])
        accuracy = np.mean([a["label"] == y for a, y in zip(answers, test["target"], strict=True)])
        assert accuracy > 0.85


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_own_data_with_categories_and_missing_values(problem_type, own_csv, tmp_path):
    csv, contract, _ = own_csv(problem_type)
    splits, model = trained(tmp_path, csv, contract)
    resolved = json.loads((model / "schema.json").read_text())
    assert resolved["label"] == "outcome" and resolved["drop"] == ["customer_id"]
    assert [(f["name"], f["type"]) for f in resolved["features"]] == [
        ("tenure", "numerical"), ("plan", "categorical"), ("monthly_charges", "numerical"), ("region", "categorical")]
    assert resolved["features"][1]["categories"] == ["basic", "plus", "pro"]  # learned on the training split
    if problem_type == "multiclass":
        assert resolved["classes"] == ["high", "low", "mid"]
    loaded = predictor.load(model)
    rows = pd.DataFrame({"tenure": [5.0, np.nan, 30.0], "plan": ["basic", None, "enterprise"],
                         "monthly_charges": [80.0, 60.0, np.nan], "region": [None, "east", "west"]})
    answers = loaded.predict(rows)  # missing numbers and categories, an unknown category: all answered
    assert len(answers) == 3
    if problem_type == "regression":
        assert all(np.isfinite(a["value"]) for a in answers)
    else:
        assert all(a["label"] in resolved["classes"] and 0.0 <= a["score"] <= 1.0 for a in answers)
    test = pd.read_csv(splits / "test" / "test.csv", dtype={"plan": str, "region": str})
    scores = loaded.scores(test)
    if problem_type == "binary":
        from sklearn.metrics import roc_auc_score

        assert roc_auc_score(test["outcome"], scores[:, 1]) > 0.85
    elif problem_type == "multiclass":
        assert np.allclose(scores.sum(axis=1), 1.0) and scores.shape[1] == 3
    else:
        assert np.corrcoef(scores, test["outcome"])[0, 1] > 0.8


def test_sklearn_model_imputes_and_encodes_inside_the_pipeline_or_xgboost_keeps_native_json(own_csv, tmp_path):
    csv, contract, _ = own_csv("binary")
    _, model = trained(tmp_path, csv, contract)
    if config.FRAMEWORK == "sklearn":
        import joblib

        pipeline = joblib.load(model / train.MODEL_FILE)
        columns = pipeline.named_steps["columns"]
        kinds = {name: [type(s).__name__ for _, s in steps.steps] for name, steps, _ in columns.transformers}
        assert kinds == {"numerical": ["SimpleImputer", "StandardScaler"],
                         "categorical": ["SimpleImputer", "OneHotEncoder"]}
        assert type(pipeline.named_steps["model"]).__name__ == "LogisticRegression"
    else:
        document = json.loads((model / train.XGBOOST_FILE).read_text())  # xgboost's own JSON model format
        assert "learner" in document and not (model / train.MODEL_FILE).exists()
        width = len(predictor.encoded_names(json.loads((model / "schema.json").read_text())))
        assert width == 2 + 3 + 4  # tenure, monthly_charges, plan one-hot (3), region one-hot (4)


def test_unknown_framework_and_missing_channel_are_errors(tmp_path, monkeypatch, splits):
    monkeypatch.delenv("SM_CHANNEL_TRAIN", raising=False)
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    with pytest.raises(SystemExit):
        train.main([])
    with pytest.raises(FileNotFoundError):
        train.run(tmp_path / "nothing", tmp_path / "model")
    with pytest.raises(ValueError, match="framework"):
        train.run(splits / "train", tmp_path / "m", framework="pytorch")


def test_model_dir_carries_its_own_serving_code(model_dir, splits):
    """model.tar.gz is SM_MODEL_DIR packed: it must hold code/inference.py and code/predictor.py, which the
    registered package runs (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) - an isolated endpoint cannot fetch
    code from S3 - and the resolved schema."""
    code = model_dir / train.CODE_DIR
    assert sorted(p.name for p in code.iterdir() if p.suffix == ".py") == ["inference.py", "predictor.py"]
    assert (model_dir / "schema.json").is_file()
    tree = ast.parse((code / "predictor.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))  # no relative import
    assert imported <= {"json", "math", "pathlib", "joblib", "numpy", "pandas", "xgboost"}, imported
    # load it as the serving container does: from code/ alone, not from this package
    spec = importlib.util.spec_from_file_location("standalone_predictor", code / "predictor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    label = json.loads((model_dir / "schema.json").read_text())["label"]
    features = pd.read_csv(splits / "test" / "test.csv").drop(columns=[label]).head(5)
    assert module.load(model_dir).predict(features) == predictor.load(model_dir).predict(features)


def test_xgboost_is_a_dependency_of_xgboost_projects_only(splits, tmp_path):
    """xgboost is imported lazily: a scikit-learn project neither declares nor imports it."""
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert ('"xgboost-cpu==' in pyproject) == (config.FRAMEWORK == "xgboost")
    for name in [m for m in sys.modules if m == "xgboost" or m.startswith("xgboost.")]:
        del sys.modules[name]
    train.run(splits / "train", tmp_path / "m")
    predictor.load(tmp_path / "m").predict(pd.read_csv(splits / "test" / "test.csv").iloc[:3, 1:])
    assert ("xgboost" in sys.modules) == (config.FRAMEWORK == "xgboost")


def test_predictor_names_the_column_on_bad_features(model_dir, splits):
    loaded = predictor.load(model_dir)
    first = loaded.schema["features"][0]["name"]
    frame = pd.read_csv(splits / "test" / "test.csv").head(2)
    with pytest.raises(predictor.SchemaError, match=repr(first)):
        loaded.predict(frame.drop(columns=[first]))
    numerical = next(f["name"] for f in loaded.schema["features"] if f["type"] == "numerical")
    frame[numerical] = frame[numerical].astype(object)
    frame.loc[frame.index[0], numerical] = "abc"
    with pytest.raises(predictor.SchemaError, match=repr(numerical)):
        loaded.predict(frame)


def test_label_values_are_json_scalars(own_csv, tmp_path):
    csv, contract, _ = own_csv("binary")
    _, model = trained(tmp_path, csv, contract)
    answers = predictor.load(model).predict(pd.DataFrame({c: [None] for c in ("plan", "region")} |
                                                         {"tenure": [1.0], "monthly_charges": [1.0]}))
    assert json.loads(json.dumps(answers)) == answers and type(answers[0]["label"]) is int
    assert OWN_CONTRACT["label"] == json.loads((model / "schema.json").read_text())["label"]


def test_a_validation_label_training_never_saw_is_one_clear_error_exit_2(splits, tmp_path, capsys):
    """Was an uncaught ValueError (traceback, exit 1) from the validation metric."""
    contract = json.loads((splits / "train" / "schema.json").read_text())
    label = contract["label"]
    validation = pd.read_csv(splits / "validation" / "validation.csv")
    if contract["problem_type"] == "regression":
        validation[label] = validation[label].astype(object)
        validation.loc[0, label] = "unknown"
    else:
        validation.loc[0, label] = 99
    (tmp_path / "v").mkdir()
    validation.to_csv(tmp_path / "v" / "validation.csv", index=False)
    code = train.main(["--train", str(splits / "train"), "--validation", str(tmp_path / "v"),
                       "--model-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and f"train: error: label column {label!r}" in err and "Traceback" not in err, err


def test_pandas_na_strings_are_values_a_category_NA_and_a_class_None(own_csv, tmp_path):
    """Serving and drift read "NA" as text; preprocess/train/evaluate read it as missing with pandas' defaults: a
    category "NA" became a missing value and rows of a class "None" were left out as unlabelled."""
    from {{ cookiecutter.__package_name }} import evaluate

    csv, contract, raw = own_csv("multiclass")
    missing = int(raw["plan"].isna().sum())
    raw["plan"] = raw["plan"].replace({"plus": "NA"})
    raw["outcome"] = raw["outcome"].replace({"mid": "None"})
    raw.to_csv(csv, index=False)
    assert "NA" in csv.read_text() and ",None," in csv.read_text()
    written = preprocess.run(csv, tmp_path / "data", schema_path=contract)
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["missing_cells"]["plan"] == missing and manifest["rows"]["unlabelled"] == 0  # empty cells only
    train.run(tmp_path / "data" / "train", tmp_path / "model", tmp_path / "data" / "validation")
    resolved = json.loads((tmp_path / "model" / "schema.json").read_text())
    assert next(f for f in resolved["features"] if f["name"] == "plan")["categories"] == ["NA", "basic", "pro"]
    assert resolved["classes"] == ["None", "high", "low"]
    report = json.loads(evaluate.run(tmp_path / "model", tmp_path / "data" / "test", tmp_path / "e").read_text())
    matrix = report["multiclass_classification_metrics"]["confusion_matrix"]
    assert set(matrix) == {"None", "high", "low"} and sum(matrix["None"].values()) > 0
    frame = pd.read_csv(tmp_path / "data" / "test" / "test.csv", keep_default_na=False, na_values=[""])
    assert "None" in {row["label"] for row in predictor.load(tmp_path / "model").predict(frame)}
