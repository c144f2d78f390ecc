"""Sandbox state and lifecycle: ``apply`` (idempotent) and ``destroy`` (leaves nothing).

State lives in ``.ladder/sandbox/<stack>.json`` (under the repo root, or ``state_dir``): per resource its
type, logical name, URN, inputs and their hash, the id and outputs moto returned, and how it was realised
(``emulated`` in moto, or ``validated`` by botocore only), plus the server it lives in.

moto keeps everything in the memory of the server process. The state therefore records the endpoint and a
token that ``apply`` also writes into the server (SSM parameter ``/ladder-sandbox/<stack>/server``). If the
token is not there (an embedded server that stopped with its command, a restarted ``ladder sandbox serve``),
the state is *stale*: ``apply`` says so and starts from nothing, ``destroy`` just removes the file.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from .. import spec as spec_mod
from ..spec import REPO_ROOT, StackSpec
from .aws import Aws, SandboxError
from .engine import EMULATED, VALIDATED, Entry, EventFn, SandboxMocks, deletion_order, delete_entry
from .handlers import Ctx
from .server import sandbox_endpoint

STATE_DIR = Path(".ladder") / "sandbox"
STATE_VERSION = 1


def sentinel_name(stack: str) -> str:
    return f"/ladder-sandbox/{stack}/server"


def state_path(stack: str, state_dir: str | Path | None = None) -> Path:
    base = Path(state_dir) if state_dir is not None else REPO_ROOT / STATE_DIR
    return base / f"{stack}.json"


@dataclass
class State:
    stack: str
    region: str
    endpoint: str = ""
    embedded: bool = False
    token: str = ""
    updated: float = 0.0
    resources: dict[str, Entry] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Optional["State"]:
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise SandboxError(f"{path}: not a sandbox state file ({exc}); delete it to start over") from None
        if raw.get("version") != STATE_VERSION:
            raise SandboxError(f"{path}: state version {raw.get('version')!r}, expected {STATE_VERSION}")
        resources = {k: Entry(**v) for k, v in raw.get("resources", {}).items()}
        return cls(stack=raw["stack"], region=raw["region"], endpoint=raw.get("endpoint", ""),
                   embedded=bool(raw.get("embedded")), token=raw.get("token", ""), updated=raw.get("updated", 0.0),
                   resources=resources)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"version": STATE_VERSION, "stack": self.stack, "region": self.region, "endpoint": self.endpoint,
               "embedded": self.embedded, "token": self.token, "updated": self.updated,
               "resources": {k: asdict(e) for k, e in sorted(self.resources.items())}}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=False, default=str))
        os.replace(tmp, path)


@dataclass
class Change:
    action: str  # created | updated | replaced | unchanged | deleted
    type: str
    name: str
    realised: str = EMULATED
    ops: list[str] = field(default_factory=list)


@dataclass
class Result:
    stack: str
    endpoint: str
    embedded: bool
    state_file: str
    changes: list[Change] = field(default_factory=list)
    stale: bool = False
    messages: list[str] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def of(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {a: len(self.of(a)) for a in ("created", "updated", "replaced", "unchanged", "deleted")}

    @property
    def validated(self) -> list[tuple[str, str, str]]:
        """(type, name, operation) for every operation that was validated by botocore, not emulated."""
        out = []
        for c in self.changes:
            for op in c.ops:
                if op.endswith(f"({VALIDATED})"):
                    out.append((c.type, c.name, op.rsplit(" ", 1)[0]))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "endpoint": self.endpoint, "embedded": self.embedded,
                "stateFile": self.state_file, "stale": self.stale, "counts": self.counts,
                "changes": [asdict(c) for c in self.changes if c.action != "unchanged"],
                "unchanged": len(self.of("unchanged")),
                "validatedNotEmulated": [{"type": t, "name": n, "operation": o} for t, n, o in self.validated],
                "messages": self.messages, "outputs": self.outputs, "seconds": round(self.seconds, 3)}


# ---------------------------------------------------------------------------------------------------
# server liveness
# ---------------------------------------------------------------------------------------------------

def _server_has(aws: Aws, stack: str, token: str) -> bool:
    if not token:
        return False
    resp = aws.call("ssm", "GetParameter", {"Name": sentinel_name(stack)}, missing_ok=("ParameterNotFound",))
    return bool(resp) and resp["Parameter"]["Value"] == token


def _mark_server(aws: Aws, stack: str, token: str) -> None:
    aws.call("ssm", "PutParameter", {"Name": sentinel_name(stack), "Value": token, "Type": "String",
                                     "Overwrite": True, "Description": "mlops-ladder sandbox state token"})


def _unmark_server(aws: Aws, stack: str) -> None:
    aws.call("ssm", "DeleteParameter", {"Name": sentinel_name(stack)}, missing_ok=("ParameterNotFound",))


def _embedded_note(url: str) -> str:
    return (f"no AWS_ENDPOINT_URL: used an embedded moto server ({url}) that stops with this command, so what "
            f"it created is gone with it. For a sandbox that lasts, run `ladder sandbox serve` and export "
            f"AWS_ENDPOINT_URL=http://127.0.0.1:5000")


# ---------------------------------------------------------------------------------------------------
# apply / destroy
# ---------------------------------------------------------------------------------------------------

def apply(spec: StackSpec, config: dict[str, Any], *, endpoint: Optional[str] = None,
          state_dir: str | Path | None = None, on_event: Optional[EventFn] = None) -> Result:
    """Run the program against moto; create/update/replace/delete so moto matches it; save the state."""
    from ..plan import ProgramError, run_program

    started = time.perf_counter()
    path = state_path(spec.stack, state_dir)
    state = State.load(path)
    with sandbox_endpoint(endpoint) as ep:
        aws = Aws(ep.url, spec.region)
        result = Result(stack=spec.stack, endpoint=ep.url, embedded=ep.embedded, state_file=str(path))
        if ep.embedded:
            result.messages.append(_embedded_note(ep.url))
        previous: dict[str, Entry] = {}
        if state is not None and state.resources:
            if _server_has(aws, spec.stack, state.token):
                previous = state.resources
            else:
                result.stale = True
                where = "an embedded server that has stopped" if state.embedded else f"a server ({state.endpoint}) " \
                        f"that no longer holds them"
                result.messages.append(f"the state file listed {len(state.resources)} resources in {where}; "
                                       f"starting from nothing")
        token = state.token if (state is not None and not result.stale and state.token) else uuid.uuid4().hex
        mocks = SandboxMocks(aws, spec.region, previous, on_event=on_event)
        graph = None
        try:
            try:
                graph = run_program(spec, config, mocks)
            except ProgramError:
                if mocks.errors:
                    raise mocks.errors[0] from None
                raise
            mocks.attach_graph(graph)
            deleted = mocks.delete_undeclared()
            _mark_server(aws, spec.stack, token)
        finally:
            new_state = State(stack=spec.stack, region=spec.region, endpoint=ep.url, embedded=ep.embedded,
                              token=token, updated=time.time(), resources=mocks.live)
            if mocks.live or graph is None:
                new_state.save(path)
            elif path.exists():
                path.unlink()
        for key, action in sorted(mocks.declared.items()):
            entry = mocks.live.get(key)
            if entry is not None:
                result.changes.append(Change(action, entry.type, entry.name, entry.realised,
                                             entry.ops if action != "unchanged" else []))
        for entry in deleted:
            result.changes.append(Change("deleted", entry.type, entry.name, entry.realised, _ops_of(aws, entry.key)))
        result.messages.extend(f"warning: {w}" for w in aws.warnings)
        result.outputs = graph.outputs if graph is not None else {}
        result.messages.extend(f"note: {n}" for n in (graph.notes if graph is not None else []))
    result.seconds = time.perf_counter() - started
    return result


def _ops_of(aws: Aws, key: str) -> list[str]:
    return [str(op) for k, op in aws.ops if k == key]


def load_stack(stack: Optional[str] = None, path: str | Path | None = None, *,
               maturity: Optional[int] = None) -> tuple[StackSpec, dict[str, Any]]:
    """The validated spec and raw config of a stack (SpecError on bad input), as ``plan.plan`` loads them."""
    overrides = {"mlops:maturity": maturity} if maturity is not None else None
    return spec_mod.load_with_config(stack, path, overrides=overrides)


def apply_stack(stack: Optional[str] = None, path: str | Path | None = None, **kwargs) -> Result:
    spec, config = load_stack(stack, path)
    return apply(spec, config, **kwargs)


def destroy(stack: str, *, region: Optional[str] = None, endpoint: Optional[str] = None,
            state_dir: str | Path | None = None, on_event: Optional[EventFn] = None) -> Result:
    """Delete everything the state lists, dependents first; remove the state file."""
    started = time.perf_counter()
    path = state_path(stack, state_dir)
    state = State.load(path)
    with sandbox_endpoint(endpoint) as ep:
        result = Result(stack=stack, endpoint=ep.url, embedded=ep.embedded, state_file=str(path))
        if state is None:
            result.messages.append(f"no sandbox state for stack {stack!r} ({path}); nothing to destroy")
            return result
        aws = Aws(ep.url, region or state.region)
        if not _server_has(aws, stack, state.token):
            result.stale = True
            where = "an embedded server that has stopped" if state.embedded else f"{state.endpoint}, which no " \
                    f"longer holds them"
            result.messages.append(f"the state listed {len(state.resources)} resources in {where}; nothing to "
                                   f"delete, state file removed")
            path.unlink()
            return result
        ctx = Ctx(aws, state.region)
        remaining = dict(state.resources)
        try:
            for key in deletion_order(state.resources):
                entry = remaining[key]
                delete_entry(ctx, entry)
                remaining.pop(key)
                result.changes.append(Change("deleted", entry.type, entry.name, entry.realised, _ops_of(aws, key)))
                if on_event:
                    on_event("deleted", key, entry.type, entry.name)
            aws.current = ""
            _unmark_server(aws, stack)
        finally:
            if remaining:
                state.resources = remaining
                state.save(path)
            elif path.exists():
                path.unlink()
    result.seconds = time.perf_counter() - started
    return result
