"""EventBridge: events are matched against the rules' patterns and delivered to the rules' targets.

moto stores rules and targets and, for ``PutEvents``, delivers to a few target types (SQS, logs, buses); it never
sees the events AWS services emit and does not start SageMaker pipelines. Here every event - ``PutEvents`` entries
and the service events the sandbox's emulation produces (``SageMaker Model Package State Change`` on
CreateModelPackage/UpdateModelPackage, ``CloudWatch Alarm State Change`` when an alarm changes state) - goes to
:meth:`EventBus.emit`, which, for each ENABLED rule of the bus whose pattern matches (moto's implementation of
EventBridge content filtering: exact values, prefix, suffix, anything-but, numeric, exists, equals-ignore-case,
wildcard, ``$or``; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
delivers to every target:

* a SageMaker pipeline: ``StartPipelineExecution`` with the target's ``SageMakerPipelineParameters``, made *as the
  target's role* (its trust policy must admit events.amazonaws.com and its policies must allow the start; the
  gateway enforces the latter), so a retraining rule really starts the pipeline and the execution runs;
* an SNS topic: ``Publish`` of the (input-transformed) event;
* an API destination: the HTTP request EventBridge would send (method, endpoint, the connection's auth header,
  the input-transformed body) is recorded by a local receiver standing in for the endpoint - nothing leaves the
  machine; the auth value is kept redacted. For GitHub's ``repository_dispatch`` endpoint the receiver answers as
  GitHub does (:func:`github_dispatch`: 204, or 422 for a body GitHub rejects, which fails the delivery);
* anything else: recorded as "not emulated".

Every delivery is kept in :attr:`EventBus.deliveries` (what ``ladder demo --json`` reports).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from . import iam

REDACTED = "[secret]"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(source: str, detail_type: str, detail: dict[str, Any], *, account: str, region: str,
             resources: list[str] | None = None) -> dict[str, Any]:
    """An event as EventBridge delivers it (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html)."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": account, "time": _now(), "region": region, "resources": list(resources or []),
            "detail": detail}


def _path(event: dict[str, Any], path: str) -> Any:
    """A JSONPath of an input transformer (``$.detail.a.b``; ``$`` is the whole event)."""
    current: Any = event
    for part in [p for p in path.lstrip("$").split(".") if p]:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def transform(event: dict[str, Any], paths: dict[str, str], template: str) -> Any:
    """EventBridge input transformation (https://docs.aws.amazon.com/eventbridge/latest/userguide/
    eb-transform-target-input.html): ``<name>`` inside quotes takes the value as text, outside quotes as JSON; the
    result is parsed as JSON when it is JSON, else delivered as a string."""
    values = {name: _path(event, path) for name, path in paths.items()}

    def quoted(match: "re.Match[str]") -> str:
        value = values.get(match.group(1))
        text = value if isinstance(value, str) else json.dumps(value)
        return '"' + json.dumps(text)[1:-1] + '"' if match.group(0).startswith('"') else text

    rendered = re.sub(r'"<([A-Za-z0-9_.-]+)>"', quoted, template)
    rendered = re.sub(r"<([A-Za-z0-9_.-]+)>", lambda m: json.dumps(values.get(m.group(1))), rendered)
    try:
        return json.loads(rendered)
    except ValueError:
        return rendered


class EventBus:
    def __init__(self, client: Callable[..., Any], start_pipeline: Callable[..., str]):
        self.client = client
        self.start_pipeline = start_pipeline  # (pipeline_arn, params, role_arn, trigger, region) -> execution ARN
        self.deliveries: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []  # what the local API-destination receiver got
        self._lock = threading.Lock()

    def emit(self, event: dict[str, Any], bus: str = "default") -> list[dict[str, Any]]:
        """Deliver one event to every matching rule's targets; return the deliveries made."""
        from moto.events.models import events_backends

        backend = events_backends[event["account"]][event["region"]]
        target_bus = backend.event_buses.get(bus)
        made: list[dict[str, Any]] = []
        for rule in list(target_bus.rules.values()) if target_bus else []:
            if rule.state != "ENABLED" or not rule.event_pattern.get_pattern():
                continue
            if not rule.event_pattern.matches_event(event):
                continue
            for target in list(rule.targets):
                made.append(self._deliver(rule, target, event))
        with self._lock:
            self.deliveries.extend(made)
        return made

    # ---- targets ------------------------------------------------------------------------------------
    def _deliver(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        arn = target.get("Arn", "")
        record = {"time": time.time(), "rule": rule.name, "target": arn, "targetId": target.get("Id"),
                  "detailType": event.get("detail-type"), "source": event.get("source"), "status": "delivered"}
        try:
            if ":sagemaker:" in arn and ":pipeline/" in arn:
                record["execution"] = self._pipeline(rule, target, event)
            elif ":sns:" in arn:
                self.client("sns", event["region"]).publish(TopicArn=arn, Message=json.dumps(self._input(target, event)),
                                                            Subject=str(event.get("detail-type"))[:99])
            elif ":api-destination/" in arn:
                record["request"] = self._api_destination(target, event)
            else:
                record["status"] = "not emulated"
                record["reason"] = f"the sandbox does not deliver to {arn.split(':')[2] if ':' in arn else arn} targets"
        except Exception as exc:  # noqa: BLE001 - a failed delivery is recorded, as EventBridge records FailedInvocations
            record["status"], record["reason"] = "failed", f"{type(exc).__name__}: {exc}"
        return record

    def _input(self, target: dict[str, Any], event: dict[str, Any]) -> Any:
        if target.get("Input"):
            return json.loads(target["Input"])
        transformer = target.get("InputTransformer")
        if transformer:
            return transform(event, transformer.get("InputPathsMap") or {}, transformer.get("InputTemplate", ""))
        return event

    def _pipeline(self, rule: Any, target: dict[str, Any], event: dict[str, Any]) -> str:
        role = target.get("RoleArn") or ""
        if not role:
            raise PermissionError("a SageMaker pipeline target needs a RoleArn")
        if not iam.trusts_service(role, "events.amazonaws.com"):
            raise PermissionError(f"EventBridge cannot assume {role}: its trust policy does not allow "
                                  f"events.amazonaws.com")
        params = (target.get("SageMakerPipelineParameters") or {}).get("PipelineParameterList", [])
        trigger = "alarm" if event.get("source") == "aws.cloudwatch" else "event"
        return self.start_pipeline(target["Arn"], params, role, trigger, event["region"])

    def _api_destination(self, target: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        from moto.events.models import events_backends

        # EventBridge invokes an API destination as the target's role: it must trust events.amazonaws.com and allow
        # events:InvokeApiDestination on the destination (https://docs.aws.amazon.com/eventbridge/latest/userguide/
        # eb-api-destinations.html#eb-api-destination-permissions)
        role = target.get("RoleArn") or ""
        if role:
            if not iam.trusts_service(role, "events.amazonaws.com"):
                raise PermissionError(f"EventBridge cannot assume {role}: its trust policy does not allow "
                                      f"events.amazonaws.com")
            iam.require(role, "events:InvokeApiDestination", target["Arn"])
        backend = events_backends[event["account"]][event["region"]]
        name = target["Arn"].split(":api-destination/")[1].split("/")[0]
        destination = backend.destinations.get(name)
        if destination is None:
            raise LookupError(f"API destination {name} does not exist")
        connection = backend.connections.get(destination.connection_arn.split(":connection/")[1].split("/")[0])
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if connection is not None:
            params = connection.auth_parameters or {}
            api_key = params.get("ApiKeyAuthParameters") or {}
            if api_key.get("ApiKeyName"):
                headers[api_key["ApiKeyName"]] = REDACTED  # the secret value never leaves the emulator's memory
            for h in ((params.get("InvocationHttpParameters") or {}).get("HeaderParameters") or []):
                headers[h["Key"]] = REDACTED if h.get("IsValueSecret") else h.get("Value", "")
        request = {"method": destination.http_method, "url": destination.invocation_endpoint, "headers": headers,
                   "body": self._input(target, event), "receiver": "local (stands in for the endpoint; nothing sent)"}
        github = github_dispatch(request)
        if github is not None:
            request["github"] = github
        with self._lock:
            self.received.append(request)
        if github is not None and github["status"] != 204:
            # EventBridge counts a non-2xx answer as a failed invocation (4xx other than 401/407/409/429: no retry)
            raise RuntimeError(f"GitHub answered {github['status']} for the repository_dispatch to "
                               f"{github['repository']}: {github['message']}")
        return request


DISPATCH_URL = re.compile(r"^https://api\.github\.com/repos/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/dispatches$")


def github_dispatch(request: dict[str, Any]) -> dict[str, Any] | None:
    """What GitHub answers a "create a repository dispatch event" request (None: not such a request).

    https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event: POST, ``event_type`` a string
    of 1-100 characters, ``client_payload`` an object with at most 10 top-level properties, the whole payload under
    64 KB; 204 No Content when accepted, 422 Validation Failed otherwise. The receiver records the repository and
    the workflow inputs a ``repository_dispatch`` run would see (``github.event.action``,
    ``github.event.client_payload``).
    """
    match = DISPATCH_URL.match(str(request.get("url", "")))
    if match is None:
        return None
    out: dict[str, Any] = {"repository": match.group(1), "status": 204, "message": "No Content"}
    body = request.get("body")
    problems = []
    if request.get("method") != "POST":
        problems.append(f"method {request.get('method')} (repository_dispatch is POST)")
    if not isinstance(body, dict):
        problems.append("the body is not a JSON object")
        body = {}
    event_type = body.get("event_type")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= 100:
        problems.append("event_type must be a string of 1-100 characters")
    payload = body.get("client_payload", {})
    if not isinstance(payload, dict):
        problems.append("client_payload must be an object")
    elif len(payload) > 10:
        problems.append(f"client_payload has {len(payload)} top-level properties; at most 10")
    if len(json.dumps(body)) >= 64 * 1024:
        problems.append("the payload is 64 KB or more")
    if problems:
        out.update(status=422, message="Validation Failed: " + "; ".join(problems))
    else:
        out.update(event_type=event_type, client_payload=payload)
    return out


# ---- gateway hooks ----------------------------------------------------------------------------------
def put_events(gw, call):
    reply = gw.forward(call)
    if reply.status != 200:
        return reply
    account = gw.account_of(call)
    for entry in call.params.get("Entries", []):
        try:
            detail = json.loads(entry.get("Detail") or "{}")
        except ValueError:
            continue
        event = envelope(entry.get("Source", ""), entry.get("DetailType", ""), detail, account=account,
                         region=call.region, resources=entry.get("Resources"))
        bus = str(entry.get("EventBusName") or "default").rsplit("/", 1)[-1]
        gw.events.emit(event, bus)
    return reply


HOOKS = {("events", "PutEvents"): put_events}
