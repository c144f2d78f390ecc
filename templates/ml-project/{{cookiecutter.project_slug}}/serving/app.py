"""FastAPI app implementing the SageMaker inference container contract.

- GET  /ping         200 when the model is loaded (SageMaker's health check), 503 otherwise
- POST /invocations  text/csv (one row of features per line, no label, optional header) or
                     application/json ({"instances": [[...], ...]} or [{"feature": value, ...}, ...]);
                     answers {"predictions": [{"label": 0|1, "score": p}, ...]}, or CSV "label,score" lines
                     when the request's Accept header is text/csv.

The model (model.joblib written by train.py) is loaded from $MODEL_DIR, default /opt/ml/model, where
SageMaker extracts model.tar.gz.

Every malformed request is a 4xx with the reason, never a 500: non-numeric, null, NaN/Infinity or overflowing
(1e400) features, invalid UTF-8, too deep JSON, and bodies over $SERVING_MAX_BODY_BYTES (413). The default,
6291456 bytes (6 MB), is SageMaker's real-time InvokeEndpoint payload limit (Body: "Maximum length of 6291456",
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html), so what passes here
also fits through the endpoint.
"""

import csv
import io
import json
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

MODEL_FILE = "model.joblib"
DEFAULT_MODEL_DIR = "/opt/ml/model"
MAX_BODY_ENV = "SERVING_MAX_BODY_BYTES"
DEFAULT_MAX_BODY = 6291456  # SageMaker real-time InvokeEndpoint payload limit (6 MB), see the module docstring


class BadRequest(ValueError):
    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def max_body_bytes():
    raw = os.environ.get(MAX_BODY_ENV, "")
    try:
        value = int(raw) if raw.strip() else DEFAULT_MAX_BODY
    except ValueError:
        value = DEFAULT_MAX_BODY
    return value if value > 0 else DEFAULT_MAX_BODY


def _reject_constant(name):
    raise BadRequest(f"{name} is not a number JSON allows; features must be finite numbers")


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
    try:
        rows = [row for row in csv.reader(io.StringIO(body)) if row and any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise BadRequest(f"malformed CSV: {exc}") from exc
    if rows and rows[0] and rows[0][0].strip() in names:  # tolerate a header row
        header, rows = [c.strip() for c in rows[0]], rows[1:]
        return parse_records([dict(zip(header, row, strict=False)) for row in rows], names)
    try:
        values = [[float(cell) for cell in row] for row in rows]
    except ValueError as exc:
        raise BadRequest(f"CSV must hold numbers only: {str(exc)[:200]}") from exc
    return to_frame(values, names)


def parse_records(records: list, names: list) -> pd.DataFrame:
    if not records:
        raise BadRequest("no rows in the request")
    missing = sorted(set(names) - set().union(*(r.keys() for r in records))) if records else []
    if missing:
        raise BadRequest(f"missing features: {missing[:5]}{'...' if len(missing) > 5 else ''}")
    bad = [(i, k) for i, r in enumerate(records) for k in names
           if isinstance(r.get(k), bool) or not isinstance(r.get(k), (int, float, str))]
    if bad:
        i, k = bad[0]
        raise BadRequest(f"feature {k!r} of record {i} is {type(records[i].get(k)).__name__}; features must be numbers")
    try:
        return finite(pd.DataFrame.from_records(records)[names].astype(float))
    except (ValueError, TypeError, OverflowError, KeyError) as exc:
        raise BadRequest(f"features must be numbers: {str(exc)[:200]}") from exc


def to_frame(values: list, names: list) -> pd.DataFrame:
    if not values:
        raise BadRequest("no rows in the request")
    bad = {len(row) for row in values if len(row) != len(names)}
    if bad:
        raise BadRequest(f"expected {len(names)} features per row, got {sorted(bad)[:5]}")
    return finite(pd.DataFrame(values, columns=names, dtype=float))


def finite(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame, or BadRequest naming the first NaN / Infinity / overflowing value (the model cannot score it)."""
    mask = ~np.isfinite(frame.to_numpy(dtype=float))
    if mask.any():
        row, col = (int(i[0]) for i in np.nonzero(mask))
        raise BadRequest(f"row {row}, feature {frame.columns[col]!r} is {frame.iat[row, col]!r}; features must be "
                         f"finite numbers (no NaN, Infinity, null or values beyond +-1.8e308)")
    return frame


def parse_json(body: bytes, names: list) -> pd.DataFrame:
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except BadRequest:
        raise
    except RecursionError as exc:
        raise BadRequest("invalid JSON: nested too deeply") from exc
    except ValueError as exc:  # also invalid UTF-8 and integers over Python's 4300-digit limit
        raise BadRequest(f"invalid JSON: {str(exc)[:200]}") from exc
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
    if any(isinstance(v, (bool, str, list, dict)) or v is None for row in payload for v in row):
        raise BadRequest("instances must be lists of numbers (no strings, null, booleans or nested lists)")
    try:
        values = [[float(v) for v in row] for row in payload]
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadRequest(f"features must be finite numbers: {str(exc)[:200]}") from exc
    return to_frame(values, names)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (by Content-Length, or while it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BadRequest(f"request body of {int(declared)} bytes is over the {limit}-byte limit ({MAX_BODY_ENV}; "
                         f"SageMaker real-time endpoints accept at most 6291456)", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"request body is over the {limit}-byte limit ({MAX_BODY_ENV}; SageMaker real-time "
                             f"endpoints accept at most 6291456)", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


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
    names = feature_names(model)
    try:
        body = await read_body(request, max_body_bytes())
        if content_type == "text/csv":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRequest(f"CSV must be UTF-8 text: {exc}") from exc
            frame = parse_csv(text, names)
        elif content_type == "application/json":
            frame = parse_json(body, names)
        else:
            return JSONResponse({"error": f"unsupported content type {content_type!r}; "
                                          "use text/csv or application/json"}, status_code=415)
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    scores = model.predict_proba(frame)[:, 1]
    labels = (scores >= 0.5).astype(int)
    if "text/csv" in request.headers.get("accept", ""):
        lines = "".join(f"{label},{score:.6f}\n" for label, score in zip(labels, scores, strict=True))
        return Response(lines, media_type="text/csv")
    predictions = [{"label": int(label), "score": float(score)} for label, score in zip(labels, scores, strict=True)]
    return {"predictions": predictions}
