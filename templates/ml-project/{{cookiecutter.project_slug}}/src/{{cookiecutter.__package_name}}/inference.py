"""Serving hooks of SageMaker's framework containers (scikit-learn, XGBoost), shipped INSIDE model.tar.gz.

train.py copies this file and predictor.py to <model-dir>/code/, so the registered package carries its own code:
the package's container runs with SAGEMAKER_PROGRAM=inference.py and SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code,
where the container imports this file as the top-level module `inference`; predictor.py is then loaded from the
file next to it (inside this package it is the sibling module). The project's own container (serving/app.py) calls the same functions: one
validation code path, the same bodies.

Requests are validated against the resolved schema training wrote (<model-dir>/schema.json, predictor.load):

- application/json {"instances": [...]} (or "inputs", or a bare list) of
  - records by name {"age": 41, "plan": "pro"}: numerical columns take a number or null, categorical columns a
    string or null; null (and "" for a categorical column) is a missing value, imputed by the model; every feature
    must be present; a key that is no feature is refused (a column of the contract's `drop` list is ignored);
  - lists of values in schema order (same types), or one flat list for one row;
- text/csv, one row per line in schema order, an optional header row (then columns are matched by name); an empty
  cell is a missing value; a numerical cell must be a finite number; a categorical cell is taken as text, so
  `3` in a categorical column is the category "3". In JSON a number in a categorical column is refused: send "3".

Anything else is a RequestError (a ValueError) naming the column and the row: a missing, unknown or wrongly typed
column, NaN / Infinity (not JSON, and not a value a model can score: send null or an empty cell), numbers beyond
+-1.8e308, invalid UTF-8, JSON nested too deeply; an unsupported content type has status 415.

Answers (output_fn): application/json {"predictions": [...]} with one object per row - binary and multiclass
{"label": <class>, "score": p}, regression {"value": y} - or, when Accept is text/csv, "label,score" lines
(classification) or "value" lines (regression). JSON never holds NaN/Infinity.

Error status in the framework containers: the XGBoost container (Multi Model Server + sagemaker-inference-toolkit)
answers a raised BaseInferenceToolkitError with its status_code and message, so RequestError derives from it where
that package is installed: the client gets the 4xx and the column. The scikit-learn container's Flask server
(sagemaker-containers) answers any exception from a hook with 500 (its Transformer maps only
UnsupportedFormatError): the message is logged to CloudWatch, the caller sees ModelError 500. The project's own
container (serving/app.py) always answers 4xx with the message.
"""

import csv
import importlib.util
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

_SIBLING = Path(__file__).with_name("predictor.py")

try:  # inside the package
    from . import predictor as _predictor
except ImportError:  # the framework container imports code/inference.py as a top-level module: the file next to it
    _predictor = sys.modules.get("predictor")
    if _predictor is None or Path(getattr(_predictor, "__file__", "")).resolve() != _SIBLING.resolve():
        _spec = importlib.util.spec_from_file_location("predictor", _SIBLING)
        _predictor = importlib.util.module_from_spec(_spec)
        sys.modules["predictor"] = _predictor
        _spec.loader.exec_module(_predictor)

try:  # the XGBoost framework container's inference toolkit: a raised instance is answered with its status
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:
    class _ToolkitError(Exception):
        def __init__(self, status_code, message, phrase):
            super().__init__(message)
            self.status_code, self.message, self.phrase = status_code, message, phrase

CSV, JSON = "text/csv", "application/json"
PHRASES = {400: "Bad Request", 413: "Payload Too Large", 415: "Unsupported Media Type"}
SHOWN = 10  # feature names listed in an error message


class RequestError(ValueError, _ToolkitError):
    """A request the schema refuses: status 400 (415 for an unsupported content type); the message names the column."""

    def __init__(self, message: str, status: int = 400):
        _ToolkitError.__init__(self, status, message, PHRASES.get(status, "Bad Request"))
        self.args = (message,)
        self.status_code, self.message = status, message

    def __str__(self):
        return self.message


class _Constant:
    """NaN / Infinity / -Infinity met while parsing JSON: refused where the column is known."""

    def __init__(self, name):
        self.name = name


class Request:
    """A parsed request: records (dicts by name) or rows (values in schema order); text=True for CSV cells."""

    def __init__(self, rows: list, records: bool, text: bool):
        self.rows, self.records, self.text = rows, records, text


def model_fn(model_dir):
    """The trained model and its resolved schema (predictor.Predictor)."""
    return _predictor.load(model_dir)


def _kind(content_type) -> str:
    return (content_type or JSON).split(";")[0].strip().lower() or JSON


def input_fn(body, content_type):
    """The request parsed (not yet checked against the schema, which predict_fn has); RequestError otherwise."""
    kind = _kind(content_type)
    if kind not in (CSV, JSON):
        raise RequestError(f"unsupported content type {kind!r}; use text/csv or application/json", status=415)
    try:
        text = bytes(body).decode("utf-8") if isinstance(body, (bytes, bytearray, memoryview)) else str(body)
    except UnicodeDecodeError as exc:
        raise RequestError(f"the body must be UTF-8 text: {exc}") from None
    return _parse_csv(text) if kind == CSV else _parse_json(text)


def _parse_csv(text: str) -> Request:
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise RequestError(f"malformed CSV: {exc}") from None
    if not rows:
        raise RequestError("no rows in the request")
    return Request(rows, records=False, text=True)


def _parse_json(text: str) -> Request:
    try:
        payload = json.loads(text, parse_constant=_Constant)
    except RecursionError:
        raise RequestError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # also integers over Python's 4300-digit limit
        raise RequestError(f"invalid JSON: {str(exc)[:200]}") from None
    if isinstance(payload, dict):
        payload = payload.get("instances", payload.get("inputs"))
    if not isinstance(payload, list) or not payload:
        raise RequestError('JSON must be {"instances": [...]} (records by name or lists of values) or a non-empty list')
    if all(isinstance(row, dict) for row in payload):
        return Request(payload, records=True, text=False)
    if not any(isinstance(row, (list, dict)) for row in payload):
        payload = [payload]  # one flat row
    if not all(isinstance(row, list) for row in payload):
        raise RequestError("instances must all be records (objects by column name) or all lists of values")
    return Request(payload, records=False, text=False)


def _names(schema: dict) -> list:
    return [f["name"] for f in schema["features"]]


def _listed(names: list) -> str:
    return ", ".join(names[:SHOWN]) + (", ..." if len(names) > SHOWN else "")


def _records(data: Request, schema: dict) -> list:
    """The rows as dicts: records as sent, CSV rows under a header by name, positional rows by schema order."""
    names = _names(schema)
    rows = data.rows
    if data.records:
        return rows
    if data.text and rows[0][0].strip() in names:  # a header row
        header = [c.strip() for c in rows[0]]
        if len(rows) == 1:
            raise RequestError("no rows in the request (only a header)")
        for i, row in enumerate(rows[1:]):
            if len(row) != len(header):
                raise RequestError(f"row {i} has {len(row)} values; the header has {len(header)} columns")
        return [dict(zip(header, row, strict=True)) for row in rows[1:]]
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise RequestError(f"row {i} has {len(row)} values; the schema has {len(names)} columns in this order: "
                               f"{_listed(names)}")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _describe(value) -> str:
    if isinstance(value, _Constant):
        return value.name
    return type(value).__name__ if not isinstance(value, str) else repr(value[:40])


def _number(value, name: str, row: int, text: bool) -> float:
    where = f"column {name!r} (row {row}) is numerical"
    if text:
        cell = value.strip()
        if not cell:
            return math.nan
        try:
            number = float(cell)
        except ValueError:
            raise RequestError(f"{where}: {value[:40]!r} is not a number (an empty cell is a missing value)") from None
    else:
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RequestError(f"{where}: got {_describe(value)}; send a number, or null for a missing value")
        try:
            number = float(value)
        except OverflowError:
            raise RequestError(f"{where}: {str(value)[:20]}... is beyond +-1.8e308") from None
    if not math.isfinite(number):
        raise RequestError(f"{where}: {str(value)[:40]} is not a finite number; send "
                           f"{'an empty cell' if text else 'null'} for a missing value")
    return number


def _category(value, name: str, row: int, text: bool):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return value
    raise RequestError(f"column {name!r} (row {row}) is categorical: got {_describe(value)}; send the category as "
                       f"a string (e.g. \"3\"), or null for a missing value")


def to_frame(data: Request, schema: dict) -> pd.DataFrame:
    """The request as predictor.predict takes it: the schema's columns in order, numerical float (NaN missing),
    categorical object (None missing). RequestError naming the column and row for anything else."""
    names = _names(schema)
    known, ignored = set(names), set(schema.get("drop") or [])
    label = schema.get("label")
    records = _records(data, schema)
    for i, record in enumerate(records):
        unknown = [k for k in record if k not in known and k not in ignored]
        if unknown:
            hint = " (the label, which the model predicts)" if unknown[0] == label else ""
            raise RequestError(f"unknown column {str(unknown[0])[:60]!r}{hint} in row {i}; the schema's columns "
                               f"are {_listed(names)}")
        missing = [n for n in names if n not in record]
        if missing:
            raise RequestError(f"missing column {missing[0]!r} in row {i} (send null for a missing value); the "
                               f"schema's columns are {_listed(names)}")
    columns = {}
    for feature in schema["features"]:
        name = feature["name"]
        if feature["type"] == "categorical":
            columns[name] = pd.Series([_category(r[name], name, i, data.text) for i, r in enumerate(records)],
                                      dtype=object)
        else:
            columns[name] = pd.Series(np.array([_number(r[name], name, i, data.text) for i, r in enumerate(records)],
                                               dtype=float))
    return pd.DataFrame(columns, columns=names)


def predict_fn(data: Request, model) -> list:
    """[{"label", "score"} | {"value"}, ...]: one prediction per row (predictor.Predictor.predict)."""
    return model.predict(to_frame(data, model.schema))


def output_fn(prediction: list, accept):
    """(body, content type): JSON by default, CSV lines when the request's Accept names text/csv."""
    if CSV in (accept or "").lower():
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for p in prediction:
            writer.writerow([repr(float(p["value"]))] if "value" in p else [p["label"], f"{float(p['score']):.6f}"])
        return out.getvalue(), CSV
    body = {"predictions": prediction}
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")), JSON


def invoke(model, body, content_type, accept=JSON):
    """input_fn -> predict_fn -> output_fn, as the container calls them: (body, content type)."""
    return output_fn(predict_fn(input_fn(body, content_type), model), accept)
