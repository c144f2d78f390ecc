"""FastAPI app implementing the SageMaker inference container contract.

- GET  /ping         200 when the model is loaded (SageMaker's health check), 503 otherwise
- POST /invocations  text/csv or application/json, validated against the model's schema; answers
                     {"predictions": [...]} ({"label", "score"} per row for classification, {"value"} for
                     regression), or CSV lines when the request's Accept header is text/csv.

Parsing, validation and the answer are inference.py's (input_fn -> predict_fn -> output_fn, the hooks the
package's framework container calls), so both containers accept the same requests and answer the same bytes;
see inference.py for the request formats. The model (predictor.load: model.joblib or xgboost-model.json and
schema.json, written by train.py) is loaded from $MODEL_DIR, default /opt/ml/model, where SageMaker extracts
model.tar.gz.

Every malformed request is a 4xx naming the reason, never a 500: 400 for a missing, unknown or wrongly typed
column (the message names the column and the row), NaN/Infinity or overflowing (1e400) numbers, invalid UTF-8,
too deep JSON; 415 for another content type; 413 for bodies over $SERVING_MAX_BODY_BYTES. The default, 6291456
bytes (6 MB), is SageMaker's real-time InvokeEndpoint payload limit (Body: "Maximum length of 6291456",
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html), so what passes here
also fits through the endpoint. 503 while no model can be loaded.
"""

import os

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from {{ cookiecutter.__package_name }} import inference

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


class ModelHolder:
    """Loads the model once, on first use, from $MODEL_DIR."""

    def __init__(self):
        self.model = None
        self.error = None

    def get(self):
        if self.model is None:
            path = os.environ.get("MODEL_DIR", DEFAULT_MODEL_DIR)
            try:
                self.model = inference.model_fn(path)
                self.error = None
            except (OSError, ValueError, KeyError) as exc:  # missing or unreadable model or schema
                self.error = f"cannot load the model from {path}: {exc}"
        return self.model


holder = ModelHolder()
app = FastAPI(title="{{ cookiecutter.project_name }} inference")


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
    try:
        body = await read_body(request, max_body_bytes())
        data = inference.input_fn(body, request.headers.get("content-type", inference.JSON))
        answer, kind = inference.output_fn(inference.predict_fn(data, model), request.headers.get("accept", ""))
    except BadRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    except inference.RequestError as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code)
    return Response(answer, media_type=kind)
