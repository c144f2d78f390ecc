"""The WSGI layer in front of moto: every request passes here first, so services can behave as AWS does.

moto's server (``DomainDispatcherApplication``) is wrapped; a request is identified as ``(service, operation)``
from its signature's credential scope and the protocol (``X-Amz-Target`` for the JSON protocols, the path for
sagemaker-runtime). For the operations listed in :data:`HOOKS` a service may

* refuse the request as AWS would (IAM for callers holding role credentials, input validation), or
* let moto store it and then act on it (a started pipeline execution runs), or
* answer itself where moto has no such operation (``ListPipelineExecutionSteps``).

Everything else goes to moto unchanged.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from . import iam
from .events import EventBus
from .scheduler import MAX_TICK, Scheduler
from .sagemaker.endpoints import EndpointRuntime
from .sagemaker.monitor import MonitorRuntime
from .sagemaker.pipelines import PipelineRuntime

log = logging.getLogger(__name__)

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
JSON_TARGETS = {"SageMaker": "sagemaker", "AWSEvents": "events", "GraniteServiceVersion20100801": "cloudwatch",
                "AmazonSSM": "ssm"}
DEFAULT_ACCOUNT = "123456789012"
CONTROL = "/_ladder/"
MONITOR_STOP = 60.0  # seconds after a monitoring execution's scheduled time the clock stops (its metrics are in)


@dataclass
class Call:
    service: str
    operation: str
    region: str
    access_key: str
    body: bytes
    environ: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def caller_role(self) -> Optional[str]:
        return iam.assumed_role_of(self.access_key)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]]

    @classmethod
    def json(cls, status: int, doc: dict[str, Any]) -> "Reply":
        return cls(status, json.dumps(doc, default=_json_default).encode(),
                   [("Content-Type", "application/x-amz-json-1.1")])

    @classmethod
    def error(cls, status: int, code: str, message: str) -> "Reply":
        return cls(status, json.dumps({"__type": code, "message": message}).encode(),
                   [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)])


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.timestamp() if hasattr(value, "timestamp") else value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def identify(environ: dict[str, Any], body: bytes) -> Optional[Call]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _SCOPE.search(auth)
    if not match:
        if b"Action=AssumeRoleWithWebIdentity" in body:  # unsigned, as AWS allows for this call
            return Call("sts", "AssumeRoleWithWebIdentity", "us-east-1", "", body, environ, {})
        return None
    access_key, region, signing = match.groups()
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target and "." in target:
        prefix, operation = target.split(".", 1)
        service = JSON_TARGETS.get(prefix)
        if service is None:
            return None
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return Call(service, operation, region, access_key, body, environ, params)
    path = environ.get("PATH_INFO", "")
    cbor = re.fullmatch(r"/service/GraniteServiceVersion20100801/operation/(\w+)", path)
    if cbor:  # CloudWatch over smithy-rpc-v2-cbor (botocore's default protocol for it)
        from .cloudwatch import decode_cbor

        try:
            params = decode_cbor(body)
        except Exception:  # noqa: BLE001 - undecodable: let moto answer
            params = {}
        return Call("cloudwatch", cbor.group(1), region, access_key, body, environ, params)
    if signing == "s3":
        return Call("s3", environ.get("REQUEST_METHOD", "GET"), region, access_key, body, environ,
                    {"path": path, "query": environ.get("QUERY_STRING", "")})
    if signing == "sagemaker" and re.fullmatch(r"/endpoints/[^/]+/invocations", path):
        return Call("sagemaker-runtime", "InvokeEndpoint", region, access_key, body, environ,
                    {"EndpointName": path.split("/")[2]})
    return None


class Gateway:
    """WSGI middleware: moto behind, the sandbox's service emulation in front."""

    def __init__(self, app: Callable, endpoint: str, workdir: Optional[Path] = None):
        self.app = app
        self.endpoint = endpoint
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="ladder-sandbox-"))
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.pipelines = PipelineRuntime(endpoint, self.workdir / "sagemaker", client=self.client)
        self.events = EventBus(self.client, self.start_pipeline_as)
        self.alarm_actions: list[dict[str, Any]] = []
        self.scheduler = Scheduler(self.start_pipeline_as)
        self.endpoints = EndpointRuntime(self.client, endpoint, self.workdir / "sagemaker", publish=self._publish,
                                         clock=self._now)
        self.monitor = MonitorRuntime(self)

    def _now(self) -> float:
        return self.scheduler.now()

    def _publish(self, region: str, namespace: str, data: list[dict[str, Any]]) -> None:
        from .cloudwatch import publish

        publish(self, DEFAULT_ACCOUNT, region, namespace, data)

    def shutdown(self) -> None:
        """Stop what the emulation runs (endpoint containers)."""
        self.endpoints.stop_all()

    def reset(self) -> None:
        self.pipelines = PipelineRuntime(self.endpoint, self.workdir / "sagemaker", client=self.client)
        self.events = EventBus(self.client, self.start_pipeline_as)
        self.alarm_actions = []
        self.scheduler = Scheduler(self.start_pipeline_as)
        self.endpoints.stop_all()
        self.endpoints = EndpointRuntime(self.client, self.endpoint, self.workdir / "sagemaker", publish=self._publish,
                                         clock=self._now)
        self.monitor = MonitorRuntime(self)

    def tick(self, seconds: float) -> list[dict[str, Any]]:
        """Advance the sandbox clock: schedules fire (see :mod:`.scheduler`), alarms are evaluated again, endpoint
        updates move on (baking periods, auto-rollback: :mod:`.sagemaker.deployments`)."""
        from moto.cloudwatch.models import cloudwatch_backends

        from .cloudwatch import evaluate
        from .sagemaker import deployments

        # The clock stops a minute after each monitoring execution falls due (.sagemaker.monitor: capture ->
        # analyzer -> metrics -> event), so the alarms on the metrics it publishes are evaluated then, as CloudWatch
        # evaluates them when the data arrives, not only at the end of a long tick.
        if not 0 < seconds <= MAX_TICK:
            raise ValueError(f"tick seconds must be in (0, {MAX_TICK}]")
        fired: list[dict[str, Any]] = []
        end = self.scheduler.now() + seconds
        for due in self.monitor.due_times(end):
            step = min(due + MONITOR_STOP, end) - self.scheduler.now()
            if step > 0:
                fired.extend(self.scheduler.tick(step))
            fired.extend(self.monitor.fired(e) for e in self.monitor.tick())
        if end - self.scheduler.now() > 0:
            fired.extend(self.scheduler.tick(end - self.scheduler.now()))
        fired.extend(self.monitor.fired(e) for e in self.monitor.tick())
        for account, regions in list(cloudwatch_backends.items()):
            for region in list(regions.keys()):
                evaluate(self, account, region)
        deployments.advance(self, self.scheduler.now())
        return fired

    def report(self) -> dict[str, Any]:
        """What the emulation did: executions, event deliveries, schedule firings, alarm actions."""
        return {"clockOffsetSeconds": self.scheduler.offset,
                "executions": [e.summary() for e in list(self.pipelines.executions.values())],
                "deliveries": list(self.events.deliveries), "received": list(self.events.received),
                "scheduled": list(self.scheduler.fired), "alarmActions": list(self.alarm_actions),
                "invocations": list(self.endpoints.log),
                "endpointUpdates": list(self.endpoints.history), "monitoring": self.monitor.report(),
                "endpoints": {n: {"config": e.config, "variants": sorted(e.variants), "captured": e.captured}
                              for n, e in list(self.endpoints.live.items())}}

    def start_pipeline_as(self, pipeline_arn: str, params: list[dict[str, Any]], role: str, trigger: str,
                          region: str) -> str:
        """StartPipelineExecution as ``role`` (a schedule's or a rule target's role), tagged with its trigger."""
        iam.require(role, "sagemaker:StartPipelineExecution", pipeline_arn)
        sm = self.client("sagemaker", region)
        headers = {"X-Ladder-Trigger": trigger, "X-Ladder-Caller": role}

        def add_headers(request, **_):
            for key, value in headers.items():
                request.headers[key] = value

        sm.meta.events.register_first("before-sign.sagemaker.StartPipelineExecution", add_headers)
        try:
            return sm.start_pipeline_execution(PipelineName=pipeline_arn.rsplit("/", 1)[-1],
                                               PipelineParameters=params)["PipelineExecutionArn"]
        finally:
            sm.meta.events.unregister("before-sign.sagemaker.StartPipelineExecution", add_headers)

    def client(self, service: str, region: str):
        """A boto3 client of the sandbox itself (the emulator's own credentials; used by the services)."""
        import boto3
        from botocore.config import Config

        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = boto3.session.Session().client(
                    service, region_name=region, endpoint_url=self.endpoint, aws_access_key_id="testing",
                    aws_secret_access_key="testing", aws_session_token="testing",
                    config=Config(retries={"max_attempts": 2}, max_pool_connections=20))
            return self._clients[key]

    # ---- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if environ.get("PATH_INFO", "") == "/moto-api/reset":
            self.reset()  # moto forgets everything: so does the emulation
        if environ.get("PATH_INFO", "").startswith(CONTROL):
            return self._send(self._control(environ, body), start_response)
        call = identify(environ, body)
        if call is not None and call.service in ("s3", "ssm") and call.caller_role:
            denied = self._data_plane(call)
            if denied is not None:
                return self._send(denied, start_response)
        hook = HOOKS.get((call.service, call.operation)) if call else None
        if hook is None:
            return self.app(environ, start_response)
        try:
            reply = hook(self, call)
        except Exception as exc:  # noqa: BLE001 - an emulation bug must not kill moto's worker thread
            log.exception("sandbox service hook failed")
            reply = Reply.error(500, "InternalFailure", f"sandbox emulation failed: {type(exc).__name__}: {exc}")
        return self._send(reply, start_response)

    def _data_plane(self, call: Call) -> Optional[Reply]:
        """S3/SSM requests signed with role credentials: the role's identity policies decide (see s3api)."""
        from .s3api import s3_action, ssm_action

        role = call.caller_role or ""
        if call.service == "s3":
            checked = s3_action(call.operation, call.params["path"], call.params["query"])
            if checked is None:
                return None
            action, resource, context = checked
            try:
                iam.require(role, action, resource, context)
            except iam.AccessDenied as exc:
                body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{exc}"
                        f"</Message><RequestId>sandbox</RequestId></Error>").encode()
                return Reply(403, body, [("Content-Type", "application/xml")])
            return None
        for action, resource in ssm_action(call.operation, call.params, call.region, self.account_of(call)):
            denied = self.authorize(call, action, resource)
            if denied is not None:
                return denied
        return None

    def _control(self, environ: dict[str, Any], body: bytes) -> Reply:
        """The sandbox's own loopback API: ``POST /_ladder/tick {"seconds": N}``, ``GET /_ladder/report``."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        try:
            if path == f"{CONTROL}tick" and method == "POST":
                seconds = float(json.loads(body or b"{}").get("seconds", 0))
                return Reply.json(200, {"fired": self.tick(seconds), "clockOffsetSeconds": self.scheduler.offset})
            if path == f"{CONTROL}report" and method == "GET":
                return Reply.json(200, self.report())
        except (ValueError, TypeError) as exc:
            return Reply.error(400, "ValidationException", str(exc))
        return Reply.error(404, "NotFound", f"no sandbox control operation {method} {path}")

    def forward(self, call: Call) -> Reply:
        """Let moto handle the request; return what it answered."""
        captured: dict[str, Any] = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        call.environ["wsgi.input"] = io.BytesIO(call.body)
        chunks = self.app(call.environ, capture)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return Reply(int(str(captured["status"]).split()[0]), data, list(captured["headers"]))

    @staticmethod
    def _send(reply: Reply, start_response: Callable) -> list[bytes]:
        headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(reply.body))))
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}
        start_response(f"{reply.status} {reason.get(reply.status, 'Status')}", headers)
        return [reply.body]

    # ---- helpers for hooks ------------------------------------------------------------------------
    json = staticmethod(Reply.json)
    error = staticmethod(Reply.error)
    reply = Reply

    @staticmethod
    def account_of(call: Call) -> str:
        role = call.caller_role
        return role.split(":")[4] if role else DEFAULT_ACCOUNT

    def authorize(self, call: Call, action: str, resource: str) -> Optional[Reply]:
        """AccessDeniedException when the caller holds role credentials whose policies do not allow it."""
        role = call.caller_role
        if role is None:
            return None
        try:
            iam.require(role, action, resource)
        except iam.AccessDenied as exc:
            return Reply.error(400, "AccessDeniedException", str(exc))
        return None


def _hooks() -> dict[tuple[str, str], Callable[["Gateway", Call], Reply]]:
    from . import cloudwatch, events, sts
    from .sagemaker import api, deployments, monitor_api

    return {**api.HOOKS, **deployments.HOOKS, **monitor_api.HOOKS, **events.HOOKS, **cloudwatch.HOOKS, **sts.HOOKS}


HOOKS = _hooks()
