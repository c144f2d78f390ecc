"""boto3 against the sandbox's moto server: clients, emulated-or-validated calls, input conversion.

Every AWS operation the sandbox performs goes through :meth:`Aws.call`:

* if moto implements the operation, it is sent to the moto server through a boto3 client (botocore validates
  the parameters client-side, moto answers with real ids and ARNs) -> ``emulated``;
* if moto lacks it, the parameters are checked with botocore's :class:`~botocore.validate.ParamValidator`
  against the operation's input shape and the call is recorded -> ``validated`` ("validated, not emulated").
  An invalid request raises :class:`RequestInvalid`; nothing is ever skipped silently.

:func:`to_api` converts Pulumi inputs (camelCase, as on the wire) into the API's parameters, guided by the
botocore input shape: member names are matched case-insensitively (``kmsMasterKeyId`` -> ``KMSMasterKeyID``),
a single object becomes a one-element list where the API wants a list, a map becomes ``[{Key, Value}]`` where
the API wants a tag/dimension list, numbers and strings are coerced to the shape's scalar type. A key that
matches no member is an error naming the path, never dropped.
"""

from __future__ import annotations

import functools
import importlib
import logging
import inspect
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing"}
ENDPOINT_ENV = "AWS_ENDPOINT_URL"

# boto3 service name -> moto package
MOTO_PACKAGES = {"application-autoscaling": "applicationautoscaling"}


class SandboxError(RuntimeError):
    """Base of the sandbox's errors (the CLI prints the message and exits 1)."""


class EmulatorUnavailable(SandboxError):
    """The moto endpoint does not answer (not started, died, or closed the connection mid-request)."""

    def __init__(self, endpoint: str, what: str, exc: BaseException):
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        super().__init__(f"the sandbox emulator at {endpoint} does not answer ({what}: {detail}); start it with "
                         f"`ladder sandbox serve` (or unset {ENDPOINT_ENV} to use an embedded one) and run the "
                         f"command again")


class RequestInvalid(SandboxError):
    """botocore rejects the parameters of an operation (emulated or validated-only)."""


class UnmappedType(SandboxError):
    """The program declares a resource type the sandbox has no handler for."""

    def __init__(self, type_: str, name: str = ""):
        self.type = type_
        where = f" (resource {name!r})" if name else ""
        super().__init__(f"the sandbox has no handler for resource type {type_}{where}; add one to "
                         f"modules/sandbox/handlers.py HANDLERS")


class UnmappedInput(SandboxError):
    """A Pulumi input the handler does not know how to send to the API (refused rather than dropped)."""


@dataclass(frozen=True)
class Op:
    """One AWS operation performed for a resource, and how it was realised."""

    service: str
    operation: str
    mode: str  # "emulated" | "validated"

    def __str__(self) -> str:
        return f"{self.service}:{self.operation} ({self.mode})"


# ---------------------------------------------------------------------------------------------------
# What moto implements
# ---------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _moto_methods(service: str) -> frozenset[str]:
    from moto.core.responses import BaseResponse

    package = MOTO_PACKAGES.get(service, service.replace("-", ""))
    try:
        module = importlib.import_module(f"moto.{package}.responses")
    except ImportError:
        return frozenset()
    names: set[str] = set()
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, BaseResponse) and obj is not BaseResponse:
            names.update(n for n, _ in inspect.getmembers(obj, callable) if not n.startswith("_"))
    return frozenset(names)


# moto's S3 dispatches on HTTP method + query string, not on method names; these are the S3 operations the
# sandbox uses, each exercised against moto by tests/test_sandbox.py.
S3_EMULATED = frozenset({
    "CreateBucket", "DeleteBucket", "HeadBucket", "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging",
    "PutBucketVersioning", "GetBucketVersioning", "PutBucketEncryption", "GetBucketEncryption",
    "DeleteBucketEncryption", "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
    "PutBucketOwnershipControls", "GetBucketOwnershipControls", "DeleteBucketOwnershipControls",
    "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", "PutBucketLifecycleConfiguration",
    "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle", "PutBucketLogging", "GetBucketLogging",
    "ListObjectVersions", "ListObjectsV2", "DeleteObjects", "DeleteObject", "PutObject", "GetObject",
})


def moto_supports(service: str, operation: str) -> bool:
    """Does the installed moto emulate ``service:operation``? (Its server dispatches to the same methods.)"""
    from botocore import xform_name

    if service == "s3":
        return operation in S3_EMULATED
    from .services.gateway import HOOKS  # what the sandbox's gateway emulates in front of moto (e.g. UpdateEndpoint)

    return (service, operation) in HOOKS or xform_name(operation) in _moto_methods(service)


# ---------------------------------------------------------------------------------------------------
# Parameter validation and conversion
# ---------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def service_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def input_shape(service: str, operation: str):
    return service_model(service).operation_model(operation).input_shape


def validate(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise :class:`RequestInvalid` if botocore's validator rejects ``params`` for the operation."""
    from botocore.validate import ParamValidator

    op = service_model(service).operation_model(operation)
    params = {**{m: "ladder-sandbox-token" for m in op.idempotent_members}, **params}  # botocore fills these
    report = ParamValidator().validate(params, op.input_shape)
    if report.has_errors():
        raise RequestInvalid(f"{service}:{operation}: botocore rejects the request:\n{report.generate_report()}")


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _pairs(shape) -> Optional[tuple[str, str]]:
    """For a list of {Key, Value}-like structures: the (key member, value member) names."""
    if shape.type_name != "list" or shape.member.type_name != "structure":
        return None
    names = list(shape.member.members)
    keys = [n for n in names if n.lower().endswith("key") or n.lower() == "name"]
    values = [n for n in names if n.lower().endswith("value")]
    if len(names) == 2 and len(keys) == 1 and len(values) == 1:
        return keys[0], values[0]
    return None


def to_api(value: Any, shape, path: str = "", renames: Optional[dict[str, str]] = None) -> Any:
    """Convert a Pulumi input value into the API value for ``shape`` (see the module docstring).

    ``renames`` maps a dotted camelCase path (``"target.sagemakerPipelineParameters.pipelineParameters"``,
    list indices omitted) to the API member name where the Terraform schema names it differently.
    """
    renames = renames or {}
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            value = value[0]  # a Terraform max-one list where the API has a single structure
        if not isinstance(value, dict):
            raise UnmappedInput(f"{path or '(value)'}: expected an object for {shape.name}, got {value!r}")
        members = {_norm(m): m for m in shape.members}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            sub = f"{path}.{key}" if path else key
            target = renames.get(sub) or members.get(_norm(key))
            if target is None or target not in shape.members:
                raise UnmappedInput(f"input {sub!r} has no counterpart in {shape.name} "
                                    f"(members: {', '.join(shape.members)})")
            converted = to_api(item, shape.members[target], sub, renames)
            if converted is not None:
                out[target] = converted
        return out
    if t == "list":
        pairs = _pairs(shape)
        if isinstance(value, dict) and pairs is not None:
            k, v = pairs
            return [{k: str(key), v: str(val)} for key, val in value.items()]
        if not isinstance(value, (list, tuple)):
            value = [value]  # Terraform's max-one blocks are objects; the API wants a one-element list
        return [to_api(item, shape.member, path, renames) for item in value]
    if t == "map":
        if not isinstance(value, dict):
            raise UnmappedInput(f"{path}: expected a map, got {value!r}")
        return {str(k): to_api(v, shape.value, path, renames) for k, v in value.items()}
    return scalar(value, t)


def scalar(value: Any, type_name: str) -> Any:
    if type_name in ("integer", "long"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return value
    if type_name in ("float", "double"):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value
    if type_name == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value
    if type_name == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, (int, float)):
            return str(value)
        return value
    return value


def integral(value: Any) -> Any:
    """Pulumi numbers arrive as floats; whole ones become ints (recursively)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------------

@dataclass
class Aws:
    """boto3 clients for one moto endpoint and region, plus the record of every operation performed."""

    endpoint: str
    region: str
    ops: list[tuple[str, Op]] = field(default_factory=list)  # (resource key, op)
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if "amazonaws.com" in self.endpoint:
            raise SandboxError(f"{ENDPOINT_ENV}={self.endpoint} is a real AWS endpoint; the sandbox only talks to "
                               f"a moto server (use `pulumi up` for AWS)")
        import boto3
        from botocore.config import Config

        self._session = boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region)
        self._config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"},
                              connect_timeout=5, read_timeout=60, max_pool_connections=32)
        self._clients: dict[str, Any] = {}
        logging.getLogger("botocore").setLevel(logging.WARNING)
        self._lock = threading.Lock()
        self._local = threading.local()

    def client(self, service: str):
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, endpoint_url=self.endpoint,
                                                              config=self._config)
            return self._clients[service]

    # the resource key ops are recorded against (set per thread by the engine)
    @property
    def current(self) -> str:
        return getattr(self._local, "key", "")

    @current.setter
    def current(self, key: str) -> None:
        self._local.key = key

    def record(self, op: Op) -> None:
        with self._lock:
            self.ops.append((self.current, op))

    def warn(self, message: str) -> None:
        with self._lock:
            if message not in self.warnings:
                self.warnings.append(message)

    def call(self, service: str, operation: str, params: Optional[dict[str, Any]] = None, *,
             missing_ok: Iterable[str] = (), retry_on: Iterable[str] = (), retry_for: float = 0.0,
             fallback: bool = True, emulate: bool = True) -> Optional[dict[str, Any]]:
        """Perform ``operation``: emulated in moto when it can be, else validated and recorded.

        Returns the response (emulated), or ``None`` (validated only, or a not-found error in ``missing_ok``).
        If moto crashes (HTTP 5xx) on a request botocore accepted, the operation is recorded as validated with a
        warning, unless ``fallback=False`` (data-plane calls whose result matters). ``emulate=False``: moto has the
        operation but would misrepresent this request (the caller says why in a warning): validate and record.
        """
        from botocore import xform_name
        from botocore.exceptions import ClientError, ParamValidationError

        params = {k: v for k, v in (params or {}).items() if v is not None}
        if not emulate or not moto_supports(service, operation):
            validate(service, operation, params)
            self.record(Op(service, operation, "validated"))
            return None
        retry_on = tuple(retry_on)
        method = getattr(self.client(service), xform_name(operation))
        deadline, attempts = time.monotonic() + retry_for, 0
        while True:
            try:
                response = method(**params)
                break
            except ParamValidationError as exc:
                raise RequestInvalid(f"{service}:{operation}: botocore rejects the request:\n{exc}") from None
            except _CONNECTION_ERRORS as exc:  # the emulator died or was never there: one clear error
                raise EmulatorUnavailable(self.endpoint, f"{service}:{operation}", exc) from None
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                attempts += 1
                if code in retry_on and (attempts == 1 or time.monotonic() < deadline):
                    self.warn(f"{self.current}: {service}:{operation} failed with {code} until it was retried: "
                              f"the program does not order it after what it needs (a missing depends_on?)")
                    time.sleep(0.1)
                    continue
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                crashed = status >= 500 or code in ("500", "InternalError", "InternalFailure")
                if fallback and (crashed or code in retry_on):
                    # botocore accepted the request (it validates before sending); moto crashed on it, or kept
                    # refusing it for an ordering the program does not declare
                    validate(service, operation, params)
                    self.record(Op(service, operation, "validated"))
                    why = f"HTTP {status or code}" if crashed else f"{code} after {retry_for:g}s of retries"
                    self.warn(f"{self.current}: moto did not emulate {service}:{operation} ({why}) on a request "
                              f"botocore accepts; recorded as validated, not emulated")
                    return None
                if code in missing_ok or any(m in str(exc) for m in missing_ok if " " in m):
                    self.record(Op(service, operation, "emulated"))
                    return None
                raise SandboxError(f"{service}:{operation} failed in the sandbox: {exc}") from None
        self.record(Op(service, operation, "emulated"))
        response.pop("ResponseMetadata", None)
        return response

    def account_id(self) -> str:
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except _CONNECTION_ERRORS as exc:
            raise EmulatorUnavailable(self.endpoint, "sts:GetCallerIdentity", exc) from None


def _connection_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return (BotoConnectionError, HTTPClientError, ConnectionError)


_CONNECTION_ERRORS = _connection_errors()


def endpoint_from_env() -> Optional[str]:
    return os.environ.get(ENDPOINT_ENV) or None
