"""An emulated SageMaker framework inference container (scikit-learn / XGBoost), run as its own process.

SageMaker starts a framework image as ``serve``: the inference toolkit imports the user module
``SAGEMAKER_PROGRAM`` from ``SAGEMAKER_SUBMIT_DIRECTORY`` (a directory, or an ``s3://`` archive it downloads first),
loads the model with the module's ``model_fn(model_dir)`` from ``/opt/ml/model``, answers ``GET /ping`` and
``POST /invocations`` with ``input_fn`` -> ``predict_fn`` -> ``output_fn``, using its defaults for whatever the
module does not define (https://github.com/aws/sagemaker-scikit-learn-container, sagemaker-inference-toolkit):

* ``input_fn``: text/csv -> a 2-D numpy array, application/json -> ``numpy.array(json.loads(body))``,
  application/x-npy -> ``numpy.load``; anything else: 415;
* ``predict_fn``: ``model.predict(data)``;
* ``output_fn``: application/json -> ``json.dumps(prediction.tolist())`` (the bare JSON list), text/csv -> CSV
  lines; the default accept type is application/json (``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``).

    python -m modules.sandbox.services.sagemaker.framework_serving --port 8080

reads the same environment the container would (``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``,
``SM_MODEL_DIR`` standing in for ``/opt/ml/model``). Standard library + numpy only, besides what the user module imports.

Errors raised by the user module's hooks differ by container (``SANDBOX_FRAMEWORK_CONTAINER``, set by the sandbox
from the image: ``sklearn`` or ``xgboost``):

* scikit-learn (sagemaker-containers' Flask worker): its Transformer maps only UnsupportedFormatError (415/406);
  any other exception is a 500;
* XGBoost (Multi Model Server + sagemaker-inference-toolkit): ``sagemaker_inference.errors.BaseInferenceToolkitError``
  is importable, and a raised instance is answered with its ``status_code`` and message (``Transformer.handle_error``);
  any other exception is a 500 with the message. The sandbox provides that module for xgboost images.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import sys
import tarfile
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 6 * 1024 * 1024  # InvokeEndpoint payload limit for real-time endpoints
FRAMEWORK = os.environ.get("SANDBOX_FRAMEWORK_CONTAINER", "")  # sklearn | xgboost (set by the sandbox from the image)
FLASK_500 = (b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
             b"<p>The server encountered an internal error and was unable to complete your request. Either the server "
             b"is overloaded or there is an error in the application.</p>\n")


class Handlers:
    def __init__(self, module, model_dir: str):
        import numpy as np

        self.np = np
        self.module = module
        if not hasattr(module, "model_fn"):
            raise RuntimeError("Please provide a model_fn implementation (the framework container requires one)")
        self.model = module.model_fn(model_dir)

    def input_fn(self, body: bytes, content_type: str):
        if hasattr(self.module, "input_fn"):
            return self.module.input_fn(body, content_type)
        np = self.np
        if content_type == "text/csv":
            return np.genfromtxt(io.StringIO(body.decode("utf-8")), delimiter=",", ndmin=2)
        if content_type == "application/json":
            return np.array(json.loads(body))
        if content_type == "application/x-npy":
            return np.load(io.BytesIO(body), allow_pickle=False)
        raise UnsupportedType(content_type)

    def predict_fn(self, data):
        if hasattr(self.module, "predict_fn"):
            return self.module.predict_fn(data, self.model)
        return self.model.predict(data)

    def output_fn(self, prediction, accept: str):
        if hasattr(self.module, "output_fn"):
            result = self.module.output_fn(prediction, accept)
            return (result if isinstance(result, tuple) else (result, accept))
        values = prediction.tolist() if hasattr(prediction, "tolist") else prediction
        if accept == "text/csv":
            rows = values if values and isinstance(values[0], list) else [[v] for v in values]
            return "\n".join(",".join(str(x) for x in row) for row in rows) + "\n", "text/csv"
        if accept in ("application/json", "*/*"):
            return json.dumps(values), "application/json"
        raise UnsupportedType(accept)


class UnsupportedType(ValueError):
    pass


class BaseInferenceToolkitError(Exception):
    """sagemaker_inference.errors.BaseInferenceToolkitError(status_code, message, phrase), as the toolkit defines it."""

    def __init__(self, status_code, message, phrase):
        self.status_code = status_code
        self.message = message
        self.phrase = phrase
        super().__init__(status_code, message, phrase)


def provide_inference_toolkit() -> None:
    """What the XGBoost image has installed: the sagemaker_inference.errors module the user module may import."""
    import types

    package = sys.modules.setdefault("sagemaker_inference", types.ModuleType("sagemaker_inference"))
    errors = types.ModuleType("sagemaker_inference.errors")
    errors.BaseInferenceToolkitError = BaseInferenceToolkitError
    package.errors = errors
    sys.modules["sagemaker_inference.errors"] = errors


def load_module(program: str, submit: str):
    """Import SAGEMAKER_PROGRAM from SAGEMAKER_SUBMIT_DIRECTORY (downloading an s3:// archive, as the toolkit does)."""
    directory = Path(submit)
    if submit.startswith("s3://"):
        import boto3

        bucket, key = submit[5:].split("/", 1)
        target = Path(tempfile.mkdtemp(prefix="code-"))
        data = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None).get_object(
            Bucket=bucket, Key=key)["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(target, filter="data")
        directory = target
    path = directory / program
    if not path.is_file():
        raise RuntimeError(f"{program} not found in {submit}")
    sys.path.insert(0, str(directory))
    spec = importlib.util.spec_from_file_location(Path(program).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_handler(handlers: Handlers, default_accept: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet; errors go to stderr below
            pass

        def _reply(self, status: int, body: bytes, content_type: str = "application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/ping":
                self._reply(200, b"")
            else:
                self._reply(404, b'{"error": "not found"}')

        def do_POST(self):
            if self.path != "/invocations":
                return self._reply(404, b'{"error": "not found"}')
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._reply(413, b'{"error": "payload too large"}')
            body = self.rfile.read(length)
            content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
            accept = (self.headers.get("Accept") or default_accept).split(",")[0].split(";")[0].strip()
            if accept == "*/*":
                accept = default_accept
            try:
                data = handlers.input_fn(body, content_type)
                result, out_type = handlers.output_fn(handlers.predict_fn(data), accept)
            except UnsupportedType as exc:
                return self._reply(415, json.dumps({"error": f"unsupported type {exc}"}).encode())
            except BaseInferenceToolkitError as exc:  # only importable by the user module in the xgboost image
                print(f"invocation failed: {exc.status_code} {exc.message}", file=sys.stderr, flush=True)
                return self._reply(int(exc.status_code), str(exc.message).encode(), "text/plain")
            except Exception as exc:  # noqa: BLE001 - a 500; the message reaches the caller only through the toolkit
                print(f"invocation failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                if FRAMEWORK == "sklearn":  # Flask's own answer to an unhandled exception; the log has the message
                    return self._reply(500, FLASK_500, "text/html; charset=utf-8")
                return self._reply(500, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
            payload = result.encode() if isinstance(result, str) else bytes(result)
            self._reply(200, payload, out_type or accept)

    return Handler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    program = os.environ.get("SAGEMAKER_PROGRAM")
    submit = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", str(Path(model_dir) / "code"))
    if not program:
        print("SAGEMAKER_PROGRAM is not set: the framework container has no user module to load", file=sys.stderr)
        return 1
    if FRAMEWORK == "xgboost":
        provide_inference_toolkit()
    try:
        handlers = Handlers(load_module(program, submit), model_dir)
    except Exception as exc:  # noqa: BLE001 - the container dies, /ping never answers
        print(f"model load failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(handlers, accept))
    print(f"serving on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
