"""FastAPI app implementing the SageMaker inference container contract.

- GET  /ping         200 when the model is loaded (SageMaker's health check), 503 otherwise
- POST /invocations  text/csv (one row of features per line, no label, optional header) or
                     application/json ({"instances": [[...], ...]} or [{"feature": value, ...}, ...]);
                     answers {"predictions": [{"label": 0|1, "score": p}, ...]}, or CSV "label,score" lines
                     when the request's Accept header is text/csv.

The model (model.joblib written by train.py) is loaded from $MODEL_DIR, default /opt/ml/model, where
SageMaker extracts model.tar.gz.
"""

import csv
import io
import json
import os
from pathlib import Path

import joblib
import pandas as pd
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

MODEL_FILE = "model.joblib"
DEFAULT_MODEL_DIR = "/opt/ml/model"


class BadRequest(ValueError):
    pass


class ModelHolder:
    """Loads the model once, on first use, from $MODEL_DIR."""

    def __init__(self):
        self.model = None
        self.error = None

    def get(self):
        if self.model is None:
            path = Path(os.environ.get("MODEL_DIR", DEFAULT_MODEL_DIR)) / MODEL_FILE
            try:
                self.model = joblib.load(path)
                self.error = None
            except (OSError, ValueError) as exc:  # missing or unreadable model
                self.error = f"cannot load {path}: {exc}"
        return self.model


holder = ModelHolder()
app = FastAPI(title="{{ cookiecutter.project_name }} inference")


def feature_names(model) -> list:
    return list(getattr(model, "feature_names_in_", []))


def parse_csv(body: str, names: list) -> pd.DataFrame:
    rows = [row for row in csv.reader(io.StringIO(body)) if row and any(cell.strip() for cell in row)]
    if rows and rows[0] and rows[0][0].strip() in names:  # tolerate a header row
        header, rows = [c.strip() for c in rows[0]], rows[1:]
        return parse_records([dict(zip(header, row, strict=False)) for row in rows], names)
    try:
        values = [[float(cell) for cell in row] for row in rows]
    except ValueError as exc:
        raise BadRequest(f"CSV must hold numbers only: {exc}") from exc
    return to_frame(values, names)


def parse_records(records: list, names: list) -> pd.DataFrame:
    missing = sorted(set(names) - set().union(*(r.keys() for r in records))) if records else []
    if missing:
        raise BadRequest(f"missing features: {missing[:5]}{'...' if len(missing) > 5 else ''}")
    try:
        return pd.DataFrame.from_records(records)[names].astype(float)
    except ValueError as exc:
        raise BadRequest(f"features must be numbers: {exc}") from exc


def to_frame(values: list, names: list) -> pd.DataFrame:
    if not values:
        raise BadRequest("no rows in the request")
    bad = {len(row) for row in values if len(row) != len(names)}
    if bad:
        raise BadRequest(f"expected {len(names)} features per row, got {sorted(bad)}")
    return pd.DataFrame(values, columns=names, dtype=float)


def parse_json(body: bytes, names: list) -> pd.DataFrame:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if isinstance(payload, dict):
        payload = payload.get("instances", payload.get("inputs"))
    if not isinstance(payload, list) or not payload:
        raise BadRequest('JSON must be {"instances": [...]} or a non-empty list')
    if all(isinstance(r, dict) for r in payload):
        return parse_records(payload, names)
    if all(isinstance(r, (int, float)) for r in payload):  # a single row
        payload = [payload]
    if not all(isinstance(r, list) for r in payload):
        raise BadRequest("instances must be lists of numbers or objects of feature -> number")
    try:
        return to_frame([[float(v) for v in row] for row in payload], names)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"features must be numbers: {exc}") from exc


@app.get("/ping")
def ping():
    if holder.get() is None:
        return JSONResponse({"status": "unhealthy", "error": holder.error}, status_code=503)
    return {"status": "healthy"}


@app.post("/invocations")
async def invocations(request: Request):
    model = holder.get()
    if model is None:
        return JSONResponse({"error": holder.error}, status_code=503)
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = await request.body()
    names = feature_names(model)
    try:
        if content_type == "text/csv":
            frame = parse_csv(body.decode("utf-8"), names)
        elif content_type == "application/json":
            frame = parse_json(body, names)
        else:
            return JSONResponse({"error": f"unsupported content type {content_type!r}; "
                                          "use text/csv or application/json"}, status_code=415)
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    scores = model.predict_proba(frame)[:, 1]
    labels = (scores >= 0.5).astype(int)
    if "text/csv" in request.headers.get("accept", ""):
        lines = "".join(f"{label},{score:.6f}\n" for label, score in zip(labels, scores, strict=True))
        return Response(lines, media_type="text/csv")
    predictions = [{"label": int(label), "score": float(score)} for label, score in zip(labels, scores, strict=True)]
    return {"predictions": predictions}
