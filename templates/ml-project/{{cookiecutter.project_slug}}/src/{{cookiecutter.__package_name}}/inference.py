"""Serving hooks of SageMaker's framework (scikit-learn) container, shipped INSIDE model.tar.gz.

train.py copies this file to <model-dir>/code/inference.py, so the registered package carries its own code:
the package's container runs with SAGEMAKER_PROGRAM=inference.py and SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code
(a network-isolated endpoint cannot download code from S3, and rollback loads exactly the code it was trained
with). Standard library + numpy/pandas/joblib only: nothing else of this package is imported.

The answers are the same bodies the project's own container (serving/app.py) gives:

- request  text/csv (one row of features per line, no header) or application/json ({"instances": [[...], ...]},
  {"instances": [{"feature": value, ...}, ...]} or a bare list of either)
- response application/json {"predictions": [{"label": 0|1, "score": p}, ...]} (the default), or
  text/csv "label,score" lines when the request's Accept is text/csv

The container calls model_fn(model_dir) once, then input_fn -> predict_fn -> output_fn per request; output_fn
returns (body, content type), which the container turns into the response.
"""

import csv
import io
import json
import math
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

MODEL_FILE = "model.joblib"
CSV, JSON = "text/csv", "application/json"


def model_fn(model_dir):
    return joblib.load(Path(model_dir) / MODEL_FILE)


def _names(model) -> list:
    return list(getattr(model, "feature_names_in_", []))


def _finite(values: list) -> list:
    for row in values:
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"features must be finite numbers, got {value!r}")
    return values


def _reject_constant(name):
    raise ValueError(f"{name} is not a number JSON allows; features must be finite numbers")


def input_fn(body, content_type):
    """The request as rows of numbers (lists) or records (dicts); ValueError for anything else."""
    kind = (content_type or JSON).split(";")[0].strip().lower()
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else str(body)
    if kind == CSV:
        rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
        if not rows:
            raise ValueError("no rows in the request")
        return _finite([[float(cell) for cell in row] for row in rows])
    if kind == JSON:
        payload = json.loads(text, parse_constant=_reject_constant)
        if isinstance(payload, dict):
            payload = payload.get("instances", payload.get("inputs"))
        if not isinstance(payload, list) or not payload:
            raise ValueError('JSON must be {"instances": [...]} or a non-empty list')
        if all(isinstance(r, dict) for r in payload):
            return payload
        if all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in payload):
            payload = [payload]  # a single row
        if not all(isinstance(r, list) for r in payload):
            raise ValueError("instances must be lists of numbers or objects of feature -> number")
        return _finite(payload)
    raise ValueError(f"unsupported content type {kind!r}; use text/csv or application/json")


def predict_fn(data, model):
    """[(label, score), ...]: the positive-class probability and the label at 0.5, as serving/app.py."""
    names = _names(model)
    if data and isinstance(data[0], dict):
        missing = sorted(set(names) - set().union(*(r.keys() for r in data)))
        if missing:
            raise ValueError(f"missing features: {missing[:5]}")
        frame = pd.DataFrame.from_records(data)[names].astype(float)
    else:
        widths = {len(row) for row in data}
        if names and widths != {len(names)}:
            raise ValueError(f"expected {len(names)} features per row, got {sorted(widths)[:5]}")
        frame = pd.DataFrame(data, columns=names or None, dtype=float)
    if not np.isfinite(frame.to_numpy(dtype=float)).all():
        raise ValueError("features must be finite numbers")
    scores = model.predict_proba(frame)[:, 1]
    labels = (scores >= 0.5).astype(int)
    return [(int(label), float(score)) for label, score in zip(labels, scores, strict=True)]


def output_fn(prediction, accept):
    """(body, content type): JSON by default, "label,score" CSV lines when text/csv is accepted."""
    if CSV in (accept or ""):
        return "".join(f"{label},{score:.6f}\n" for label, score in prediction), CSV
    # serialised as serving/app.py's JSONResponse does (Starlette: compact separators, no NaN)
    body = {"predictions": [{"label": label, "score": score} for label, score in prediction]}
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")), JSON
