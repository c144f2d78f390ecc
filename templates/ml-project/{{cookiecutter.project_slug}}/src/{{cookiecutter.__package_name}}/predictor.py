"""The trained model behind one interface, for serving, evaluation and local runs.

train.py copies this file (with inference.py) into <model-dir>/code/, so the model artefact carries the code
that turns a frame of features into predictions - the endpoint, evaluate.py and `make serve-local` all use it.
Standard library + numpy/pandas/joblib only; xgboost is imported only for an xgboost model.

    predictor = load(model_dir)        # model.joblib (scikit-learn Pipeline) or xgboost-model.json, + schema.json
    predictor.schema                   # the resolved schema training wrote (features, categories, classes)
    predictor.predict(frame)           # [{"label": c, "score": p}, ...] | [{"value": y}, ...]

The frame's columns are the schema's feature names; numerical values are numbers (NaN = missing), categorical
values strings (None/NaN = missing). Missing values are imputed by the model (scikit-learn) or routed by
xgboost's own missing-value handling; an unknown category is ignored (all its one-hot columns 0).
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

SCHEMA_FILE = "schema.json"
SKLEARN_FILE = "model.joblib"
XGBOOST_FILE = "xgboost-model.json"
CLASSIFICATION = ("binary", "multiclass")


class SchemaError(ValueError):
    """The features do not fit the schema; the message names the column."""


def read_schema(model_dir) -> dict:
    path = Path(model_dir) / SCHEMA_FILE
    if not path.exists():
        raise FileNotFoundError(f"no {SCHEMA_FILE} in {model_dir}: train.py writes it next to the model")
    return json.loads(path.read_text())


def feature_names(schema: dict) -> list:
    return [f["name"] for f in schema["features"]]


def normalise(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """The features in schema order: numerical columns float (NaN for missing), categorical columns object (str,
    NaN for missing). SchemaError naming the column when one is absent or a numerical value is not a number."""
    missing = [f["name"] for f in schema["features"] if f["name"] not in frame.columns]
    if missing:
        raise SchemaError(f"missing feature column(s) {missing}; expected {feature_names(schema)}")
    out = {}
    for feature in schema["features"]:
        name, column = feature["name"], frame[feature["name"]]
        if feature["type"] == "categorical":
            out[name] = pd.Series([np.nan if _missing(v) else str(v) for v in column], dtype=object,
                                  index=frame.index)
            continue
        try:
            if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                values = column.astype(float)  # already numbers (NaN = missing): no per-cell conversion
            else:
                values = pd.to_numeric(column.map(lambda v: np.nan if _missing(v) else v), errors="raise")
                values = values.astype(float)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"column {name!r} is numerical: {exc}") from None
        if np.isinf(values.to_numpy()).any():
            raise SchemaError(f"column {name!r} is numerical: infinite values are not allowed")
        out[name] = values
    return pd.DataFrame(out, index=frame.index)


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def encoded_names(schema: dict) -> list:
    """xgboost's input columns: each numerical feature, and per categorical feature one column per category
    learned on the training split (<name>=<category>), in schema order."""
    names = []
    for feature in schema["features"]:
        if feature["type"] == "categorical":
            names += [f"{feature['name']}={c}" for c in feature["categories"]]
        else:
            names.append(feature["name"])
    return names


def encode(frame: pd.DataFrame, schema: dict) -> np.ndarray:
    """The xgboost matrix: numerical values as they are (NaN kept: xgboost learns a default direction for
    missing values), categorical features one-hot over the schema's categories; a missing categorical value is
    NaN in all its columns, an unknown one 0 in all of them."""
    frame = normalise(frame, schema)
    blocks = []
    for feature in schema["features"]:
        column = frame[feature["name"]]
        if feature["type"] != "categorical":
            blocks.append(column.to_numpy(dtype=float).reshape(-1, 1))
            continue
        categories = list(feature["categories"])
        values = column.to_numpy(dtype=object)
        block = np.zeros((len(values), len(categories)), dtype=float)
        for j, category in enumerate(categories):
            block[:, j] = values == category
        block[column.isna().to_numpy()] = np.nan
        blocks.append(block)
    if not blocks:
        return np.zeros((len(frame), 0))
    return np.hstack(blocks)


class Predictor:
    """A trained model and its resolved schema."""

    def __init__(self, schema: dict, model, framework: str):
        self.schema = schema
        self.model = model
        self.framework = framework
        self.problem_type = schema["problem_type"]
        self.features = feature_names(schema)
        self.classes = list(schema.get("classes") or [])

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Classification: probabilities, shape (rows, classes) in schema["classes"] order; regression: values."""
        frame = normalise(frame, self.schema)
        if self.framework == "xgboost":
            import xgboost

            matrix = xgboost.DMatrix(encode(frame, self.schema), missing=np.nan)
            raw = np.asarray(self.model.predict(matrix), dtype=float)
            if self.problem_type == "binary":
                return np.column_stack([1.0 - raw, raw])
            if self.problem_type == "multiclass":  # float32 from xgboost: rows summing to 1 in float64
                return raw / raw.sum(axis=1, keepdims=True)
            return raw
        if self.problem_type in CLASSIFICATION:
            probabilities = np.asarray(self.model.predict_proba(frame), dtype=float)
            known = [_scalar(c) for c in self.model.classes_]
            if known != self.classes:  # the estimator's column order is the schema's (both sorted)
                raise ValueError(f"model classes {known} differ from the schema's {self.classes}")
            return probabilities
        return np.asarray(self.model.predict(frame), dtype=float)

    def predict(self, frame: pd.DataFrame) -> list:
        """One dict per row: binary {"label", "score": p(positive class = classes[1])}; multiclass {"label",
        "score": p(label)}; regression {"value"}."""
        scores = self.scores(frame)
        if self.problem_type == "regression":
            return [{"value": float(v)} for v in scores]
        if self.problem_type == "binary":
            return [{"label": self.classes[int(p >= 0.5)], "score": float(p)} for p in scores[:, 1]]
        best = scores.argmax(axis=1)
        return [{"label": self.classes[int(i)], "score": float(row[i])} for i, row in zip(best, scores, strict=True)]


def _scalar(value):
    return value.item() if hasattr(value, "item") else value


def load(model_dir) -> Predictor:
    """The model in model_dir (model.joblib or xgboost-model.json) with its schema.json."""
    model_dir = Path(model_dir)
    schema = read_schema(model_dir)
    if (model_dir / XGBOOST_FILE).exists():
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(str(model_dir / XGBOOST_FILE))
        return Predictor(schema, booster, "xgboost")
    if (model_dir / SKLEARN_FILE).exists():
        import joblib

        return Predictor(schema, joblib.load(model_dir / SKLEARN_FILE), "sklearn")
    raise FileNotFoundError(f"neither {SKLEARN_FILE} nor {XGBOOST_FILE} in {model_dir}")
