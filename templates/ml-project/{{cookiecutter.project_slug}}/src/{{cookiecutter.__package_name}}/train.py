"""Train step in SageMaker script mode.

SageMaker sets SM_CHANNEL_TRAIN, SM_CHANNEL_VALIDATION and SM_MODEL_DIR and passes hyperparameters as
command-line flags; locally the same flags can be given explicitly:

    python train.py --train build/train --validation build/validation --model-dir build/model

The data contract comes with the train channel (train/schema.json, written by preprocess.py); the features are
resolved from the training split (schema.py): every column but the label and the dropped ones, categories as
seen in training. Per framework (config.FRAMEWORK) and problem type:

- sklearn: model.joblib, a Pipeline: ColumnTransformer (numerical: median SimpleImputer + StandardScaler;
  categorical: constant SimpleImputer + OneHotEncoder(handle_unknown="ignore")), then LogisticRegression
  (binary, multiclass) or Ridge (regression).
- xgboost: xgboost-model.json (the Booster in xgboost's native JSON format), trained on predictor.py's encoding
  (one-hot over the schema's categories; missing values left to xgboost's own missing-value handling).

Also written: <model-dir>/schema.json (the resolved schema) and <model-dir>/code/{inference.py, predictor.py},
so the model.tar.gz SageMaker packs from the model dir carries its own serving code (the registered package
runs SAGEMAKER_PROGRAM=inference.py from SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code). The validation
metric is printed as `validation:<gate metric>=<value>` for a SageMaker metric definition.

In the training job this file runs from sourcedir.tar.gz (every step file), so it imports its siblings.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

try:  # as a package module (tests, make train-local) or as a script next to its siblings (training job)
    from . import config, evaluate, predictor, schema
except ImportError:  # pragma: no cover - exercised by running the file as a script
    import config
    import evaluate
    import predictor
    import schema

MODEL_FILE = predictor.SKLEARN_FILE
XGBOOST_FILE = predictor.XGBOOST_FILE
CODE_DIR = "code"  # inside the model dir, i.e. /opt/ml/model/code once SageMaker extracts model.tar.gz
# what the serving container needs in code/: inference.py imports predictor.py and nothing else of this package
INFERENCE_FILES = ("inference.py", "predictor.py")


def read_contract(train_dir) -> dict:
    """The contract preprocess.py split the data under (train/schema.json), else the package's schema.json."""
    path = Path(train_dir) / schema.SCHEMA_FILE
    return schema.load(path if path.exists() else None)


def read_channel(directory, contract: dict) -> pd.DataFrame:
    """Every CSV in a channel directory, read under the contract (categorical columns as text)."""
    files = sorted(Path(directory).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {directory}")
    return pd.concat([schema.read_csv(f, contract) for f in files], ignore_index=True)


def split_xy(frame: pd.DataFrame, resolved: dict) -> tuple[pd.DataFrame, pd.Series]:
    return predictor.normalise(frame, resolved), frame[resolved["label"]].map(schema.json_scalar)


def build_sklearn(resolved: dict, c: float = 1.0, max_iter: int = 1000, alpha: float = 1.0):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numerical = [f["name"] for f in resolved["features"] if f["type"] == "numerical"]
    categorical = [f["name"] for f in resolved["features"] if f["type"] == "categorical"]
    columns = ColumnTransformer([
        ("numerical", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numerical),
        ("categorical", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                      OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    if resolved["problem_type"] == "regression":
        estimator = Ridge(alpha=alpha)
    else:
        estimator = LogisticRegression(C=c, max_iter=max_iter)
    return Pipeline([("columns", columns), ("model", estimator)])


def fit_xgboost(x: pd.DataFrame, y: pd.Series, resolved: dict, n_estimators: int = 300, max_depth: int = 4,
                learning_rate: float = 0.05, seed: int = 0):
    import xgboost  # only xgboost projects need it

    matrix = predictor.encode(x, resolved)
    params = {"n_estimators": n_estimators, "max_depth": max_depth, "learning_rate": learning_rate,
              "tree_method": "hist", "random_state": seed, "missing": np.nan, "n_jobs": 1}
    if resolved["problem_type"] == "regression":
        model = xgboost.XGBRegressor(objective="reg:squarederror", **params)
        model.fit(matrix, y.astype(float).to_numpy())
    else:
        index = {c: i for i, c in enumerate(resolved["classes"])}
        codes = y.map(index).to_numpy(dtype=int)
        objective = "binary:logistic" if resolved["problem_type"] == "binary" else "multi:softprob"
        model = xgboost.XGBClassifier(objective=objective, **params)
        model.fit(matrix, codes)
    return model.get_booster()


def run(train_dir, model_dir, validation_dir=None, framework: str = config.FRAMEWORK,
        metric: str = config.QUALITY_GATE_METRIC, hyperparameters: dict | None = None) -> Path:
    hp = dict(hyperparameters or {})
    contract = read_contract(train_dir)
    frame = read_channel(train_dir, contract)
    resolved = schema.resolve(frame, contract)
    x, y = split_xy(frame, resolved)
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    if framework == "xgboost":
        booster = fit_xgboost(x, y, resolved, **{k: hp[k] for k in ("n_estimators", "max_depth", "learning_rate")
                                                 if k in hp})
        path = model_dir / XGBOOST_FILE
        booster.save_model(str(path))
    elif framework == "sklearn":
        import joblib

        model = build_sklearn(resolved, **{k: hp[k] for k in ("c", "max_iter", "alpha") if k in hp}).fit(x, y)
        path = model_dir / MODEL_FILE
        joblib.dump(model, path)
    else:
        raise ValueError(f"framework must be sklearn or xgboost, got {framework!r}")
    schema.write(resolved, model_dir / schema.SCHEMA_FILE)
    print(f"train: {framework} {resolved['problem_type']} model ({len(frame)} rows, "
          f"{len(resolved['features'])} features) -> {path}")
    code = package_inference_code(model_dir)
    print(f"train: inference code -> {code}")
    if validation_dir and Path(validation_dir).is_dir() and any(Path(validation_dir).glob("*.csv")):
        validation = read_channel(validation_dir, contract)
        values = evaluate.metric_values(predictor.load(model_dir), validation)
        if metric in values:
            # printed in a form a SageMaker metric definition can match: validation:<metric>=(-?[0-9.]+)
            print(f"validation:{metric}={values[metric]:.6f}")
    return path


def package_inference_code(model_dir) -> Path:
    """Copy the serving hooks into <model_dir>/code/ (one artefact: model and the code that serves it)."""
    target = Path(model_dir) / CODE_DIR
    target.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    for name in INFERENCE_FILES:
        shutil.copyfile(here / name, target / name)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--framework", default=config.FRAMEWORK, choices=("sklearn", "xgboost"))
    parser.add_argument("--C", dest="c", type=float, default=None, help="sklearn classifiers: inverse regularisation")
    parser.add_argument("--max-iter", type=int, default=None, help="sklearn classifiers: solver iterations")
    parser.add_argument("--alpha", type=float, default=None, help="sklearn regression: Ridge regularisation")
    parser.add_argument("--n-estimators", type=int, default=None, help="xgboost: boosting rounds")
    parser.add_argument("--max-depth", type=int, default=None, help="xgboost: tree depth")
    parser.add_argument("--learning-rate", type=float, default=None, help="xgboost: shrinkage")
    args, _ = parser.parse_known_args(argv)  # SageMaker may pass extra flags
    if not args.train or not args.model_dir:
        parser.error("--train and --model-dir are required (or SM_CHANNEL_TRAIN and SM_MODEL_DIR)")
    names = ("c", "max_iter", "alpha", "n_estimators", "max_depth", "learning_rate")
    hp = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    try:
        run(args.train, args.model_dir, args.validation, framework=args.framework, hyperparameters=hp)
    except (schema.ContractError, predictor.SchemaError, evaluate.LabelError) as exc:
        print(f"train: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
