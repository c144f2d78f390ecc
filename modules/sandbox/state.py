"""Sandbox state and lifecycle: ``apply`` (idempotent) and ``destroy`` (leaves nothing).

State lives in ``.ladder/sandbox/<stack>.json`` (under the repo root, or ``state_dir``): per resource its
type, logical name, URN, inputs and their hash, the id and outputs moto returned, and how it was realised
(``emulated`` in moto, or ``validated`` by botocore only), plus the server it lives in.

moto keeps everything in the memory of the server process. The state therefore records the endpoint and a
token that ``apply`` also writes into the server (SSM parameter ``/ladder-sandbox/<stack>/server``). If the
token is not there (an embedded server that stopped with its command, a restarted ``ladder sandbox serve``),
the state is *stale*: ``apply`` says so and starts from nothing, ``destroy`` just removes the file.

Write-ahead: before ``apply`` creates anything it saves the state header and puts the token into the server,
and every resource is appended to ``<stack>.json.journal`` (one fsync'd JSON line) the moment it exists in moto.
A run that is interrupted (Ctrl-C), killed or fails therefore leaves a state that lists everything it created:
the next ``apply`` converges on it and ``destroy`` removes it. ``<stack>.lock`` (an OS lock, released when the
process dies) refuses a second concurrent apply/destroy of the same state.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from .. import spec as spec_mod
from ..files import atomic_write
from ..paths import state_root
from ..spec import StackSpec
from .aws import Aws, EmulatorUnavailable, SandboxError
from .engine import EMULATED, SUPERSEDED, VALIDATED, Entry, EventFn, SandboxMocks, deletion_order, delete_entry
from .handlers import Ctx
from .server import sandbox_endpoint

STATE_DIR = Path(".ladder") / "sandbox"
STATE_VERSION = 1


def sentinel_name(stack: str) -> str:
    return f"/ladder-sandbox/{stack}/server"


def state_path(stack: str, state_dir: str | Path | None = None) -> Path:
    base = Path(state_dir) if state_dir is not None else state_root() / STATE_DIR
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
        """The state file plus its journal (what an interrupted run recorded); SandboxError when malformed."""
        journal = journal_path(path)
        if not path.exists() and not journal.exists():
            return None
        raw: Any = {}
        if path.exists():
            try:
                raw = json.loads(path.read_bytes().decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise SandboxError(f"{path}: not a sandbox state file ({str(exc)[:200]}); delete it to start over "
                                   f"(what it listed stays in the emulator until the server restarts)") from None
            if not isinstance(raw, dict):
                raise _malformed(path, "(file)", f"expected a JSON object, got {type(raw).__name__}")
            if raw.get("version") != STATE_VERSION:
                raise SandboxError(f"{path}: state version {str(raw.get('version'))[:40]!r}, expected "
                                   f"{STATE_VERSION}; delete it to start over")
        state = cls._from_doc(path, raw)
        if journal.exists():
            state._replay(journal)
        return state

    @classmethod
    def _from_doc(cls, path: Path, raw: dict[str, Any]) -> "State":
        head: dict[str, Any] = {}
        for key, kind, default in (("stack", str, ""), ("region", str, ""), ("endpoint", str, ""),
                                   ("embedded", bool, False), ("token", str, ""), ("updated", (int, float), 0.0)):
            value = raw.get(key, default)
            if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
                raise _malformed(path, key, f"expected {_kind(kind)}, got {type(value).__name__}")
            head[key] = value
        resources = raw.get("resources", {})
        if not isinstance(resources, dict):
            raise _malformed(path, "resources", f"expected an object of resources, got {type(resources).__name__}")
        state = cls(**head)
        for key, value in resources.items():
            state.resources[key] = _entry(path, f"resources.{key}", value)
        return state

    def _replay(self, journal: Path) -> None:
        lines = journal.read_bytes().split(b"\n")
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                if n >= len(lines) - 1:
                    break  # a torn last line: the process died while writing it
                raise _malformed(journal, f"line {n}", "not a JSON record") from None
            if not isinstance(record, dict) or record.get("op") not in ("begin", "put", "del"):
                raise _malformed(journal, f"line {n}", "expected {op: begin|put|del, ...}")
            if record["op"] == "begin":
                head = State._from_doc(journal, {k: v for k, v in record.items() if k != "op"})
                self.stack, self.region = head.stack or self.stack, head.region or self.region
                self.endpoint, self.embedded, self.token = head.endpoint, head.embedded, head.token
            elif record["op"] == "put":
                entry = _entry(journal, f"line {n}", record.get("entry"))
                self.resources[entry.key] = entry
            else:
                self.resources.pop(str(record.get("key")), None)

    def doc(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "stack": self.stack, "region": self.region, "endpoint": self.endpoint,
                "embedded": self.embedded, "token": self.token, "updated": self.updated,
                "resources": {k: asdict(e) for k, e in sorted(self.resources.items())}}

    def save(self, path: Path) -> None:
        """Atomically (temp file, fsync, rename) write the state; the journal it absorbs is removed."""
        atomic_write(path, json.dumps(self.doc(), indent=1, sort_keys=False, default=str))
        journal_path(path).unlink(missing_ok=True)


def _kind(kind: Any) -> str:
    return {str: "a string", bool: "true/false", dict: "an object", list: "a list"}.get(kind, "a number")


def _malformed(path: Path, where: str, what: str) -> SandboxError:
    return SandboxError(f"{path}: {where}: {what}; this is not a sandbox state file ladder wrote - delete it to "
                        f"start over (what it listed stays in the emulator until the server restarts)")


ENTRY_FIELDS = {"key": str, "type": str, "name": str, "inputs_hash": str, "id": str, "inputs": dict, "outputs": dict,
                "realised": str, "ops": list, "urn": str, "deps": list, "seq": int, "untagged_hash": str}
ENTRY_REQUIRED = ("key", "type", "name", "inputs_hash", "id", "inputs", "outputs")


def _entry(path: Path, where: str, value: Any) -> Entry:
    if not isinstance(value, dict):
        raise _malformed(path, where, f"expected a resource object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(ENTRY_FIELDS))
    if unknown:
        raise _malformed(path, where, f"unknown field(s) {', '.join(unknown)[:200]}")
    for name in ENTRY_REQUIRED:
        if name not in value:
            raise _malformed(path, where, f"missing field {name!r}")
    for name, kind in ENTRY_FIELDS.items():
        if name in value and (not isinstance(value[name], kind) or (kind is int and isinstance(value[name], bool))):
            raise _malformed(path, f"{where}.{name}", f"expected {_kind(kind)}, got {type(value[name]).__name__}")
    if not all(isinstance(x, str) for x in value.get("ops", []) + value.get("deps", [])):
        raise _malformed(path, where, "ops and deps must be lists of strings")
    return Entry(**value)


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def lock_path(path: Path) -> Path:
    return path.with_name(path.stem + ".lock")


class Journal:
    """The write-ahead journal of one apply: each change is one fsync'd JSON line, appended as it happens."""

    def __init__(self, path: Path):
        self.state_path = path
        self.path = journal_path(path)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=False, default=str) + "\n"
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())

    def record(self, key: str, entry: Optional[Entry]) -> None:
        self.append({"op": "put", "entry": asdict(entry)} if entry is not None else {"op": "del", "key": key})

    def checkpoint(self, state: "State") -> None:
        """Save the whole state and drop the journal (serialised with appends from other threads)."""
        with self._lock:
            state.save(self.state_path)


class StateLock:
    """An exclusive OS lock on ``<stack>.lock`` for one apply/destroy; a second one fails at once (SandboxError)."""

    def __init__(self, path: Path, stack: str):
        self.path = lock_path(path)
        self.stack = stack
        self._fh = None

    def __enter__(self) -> "StateLock":
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip()[:80] or "another process"
            fh.close()
            raise SandboxError(f"stack {self.stack!r} is being applied or destroyed by {holder} (lock {self.path}); "
                               f"wait for it to finish, then run the command again") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"ladder pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc) -> None:
        import fcntl

        if self._fh is not None:
            self._fh.truncate(0)
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


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
    failed: list[str] = field(default_factory=list)  # destroy: resources the emulator could not delete (kept)

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
                "messages": self.messages, "outputs": self.outputs, "failed": self.failed,
                "seconds": round(self.seconds, 3)}


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
    """Run the program against moto; create/update/replace/delete so moto matches it; save the state.

    Write-ahead (module docstring): the token is in the server and every change in the journal before the
    program moves on, so an interrupted or failed run converges on the next ``apply``.
    """
    path = state_path(spec.stack, state_dir)
    with StateLock(path, spec.stack):
        return _apply(spec, config, path, endpoint, on_event)


def _apply(spec: StackSpec, config: dict[str, Any], path: Path, endpoint: Optional[str],
           on_event: Optional[EventFn]) -> Result:
    from ..plan import ProgramError, run_program

    started = time.perf_counter()
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
        journal = Journal(path)
        # write-ahead: the state names this server and token before anything is created in it
        journal.checkpoint(State(stack=spec.stack, region=spec.region, endpoint=ep.url, embedded=ep.embedded,
                                 token=token, updated=time.time(), resources=dict(previous)))
        _mark_server(aws, spec.stack, token)
        mocks = SandboxMocks(aws, spec.region, previous, on_event=on_event, on_record=journal.record)
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
        except BaseException:
            mocks.cancel()  # what is being created now finishes and is journaled before the state is saved
            raise
        finally:
            new_state = State(stack=spec.stack, region=spec.region, endpoint=ep.url, embedded=ep.embedded,
                              token=token, updated=time.time(), resources=dict(mocks.live))
            if mocks.live or graph is None:
                journal.checkpoint(new_state)
            else:
                path.unlink(missing_ok=True)
                journal.path.unlink(missing_ok=True)
        for key, action in sorted(mocks.declared.items()):
            entry = mocks.live.get(key)
            if entry is not None:
                result.changes.append(Change(action, entry.type, entry.name, entry.realised,
                                             entry.ops if action != "unchanged" else []))
        for entry in deleted:
            if SUPERSEDED in entry.key:
                continue  # the original of a create-before-delete replacement: part of its "replaced" change
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
    """Delete everything the state lists, dependents first; remove the state file.

    A resource the emulator refuses to delete is kept in the state and listed in ``Result.failed`` (the others
    are still deleted); resources that were only validated (moto lacks their operations) are listed as such.
    """
    path = state_path(stack, state_dir)
    with StateLock(path, stack):
        return _destroy(stack, path, region, endpoint, on_event)


def _destroy(stack: str, path: Path, region: Optional[str], endpoint: Optional[str],
             on_event: Optional[EventFn]) -> Result:
    started = time.perf_counter()
    state = State.load(path)
    with sandbox_endpoint(endpoint) as ep:
        result = Result(stack=stack, endpoint=ep.url, embedded=ep.embedded, state_file=str(path))
        if state is None:
            result.messages.append(f"no sandbox state for stack {stack!r} ({path}); nothing to destroy")
            return result
        aws = Aws(ep.url, region or state.region or "us-east-1")
        if not _server_has(aws, stack, state.token):
            result.stale = True
            where = "an embedded server that has stopped" if state.embedded else f"{state.endpoint}, which no " \
                    f"longer holds them"
            result.messages.append(f"the state listed {len(state.resources)} resources in {where}; nothing to "
                                   f"delete, state file removed")
            path.unlink(missing_ok=True)
            journal_path(path).unlink(missing_ok=True)
            return result
        ctx = Ctx(aws, state.region)
        journal = Journal(path)
        remaining = dict(state.resources)
        listed = dict(state.resources)
        try:
            for key in deletion_order(listed):
                entry = remaining[key]
                try:
                    delete_entry(ctx, entry)
                except EmulatorUnavailable:
                    raise
                except SandboxError as exc:
                    result.failed.append(f"{entry.type} {entry.name} ({entry.id}): {str(exc)[:300]}")
                    continue
                remaining.pop(key)
                journal.record(key, None)
                result.changes.append(Change("deleted", entry.type, entry.name, entry.realised, _ops_of(aws, key)))
                if on_event:
                    on_event("deleted", key, entry.type, entry.name)
            aws.current = ""
            if not remaining:
                _unmark_server(aws, stack)
        finally:
            if remaining:
                state.resources = remaining
                journal.checkpoint(state)
            else:
                path.unlink(missing_ok=True)
                journal.path.unlink(missing_ok=True)
        validated = sorted(f"{e.name} ({e.type.rsplit(':', 1)[-1]})" for e in listed.values()
                           if e.realised == VALIDATED and e.key not in remaining)
        if validated:
            result.messages.append(f"{len(validated)} resource(s) were validated by botocore, not emulated: moto held "
                                   f"only part of them (or nothing), so their deletion was validated and recorded: "
                                   f"{', '.join(validated)}")
        if result.failed:
            result.messages.append(f"the emulator could not delete {len(result.failed)} resource(s); they stay in "
                                   f"{path}: " + "; ".join(result.failed))
    result.seconds = time.perf_counter() - started
    return result
