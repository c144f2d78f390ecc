"""``SandboxMocks``: a Pulumi Mocks implementation that realises every declared resource in moto.

``modules.plan.run_program`` runs the real ``__main__.py`` with these mocks. For each custom resource Pulumi
registers, :meth:`SandboxMocks.new_resource` looks the type up in :data:`~modules.sandbox.handlers.HANDLERS`
and, against the previous state:

* same inputs as recorded            -> ``unchanged``: return the recorded id and outputs, no AWS call;
* only ``tags`` changed, retaggable   -> ``updated``: tags applied in place;
* other inputs changed, or a resource it depends on was replaced in this run -> ``replaced``: delete the old
  one, create the new one;
* not in the state                   -> ``created``.

The returned outputs are moto's (ids, ARNs, URLs), so every reference between resources carries a real
emulated value. Component resources (``mlops:*``) and providers need no handler. Provider functions
(caller identity, partition, region) are answered from moto (``sts:GetCallerIdentity``).

Pulumi calls ``new_resource`` from worker threads, in dependency order (a resource registers only once the
outputs it consumes are resolved), so the engine is thread-safe and records a completion sequence.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from ..plan import REDACTED, SECRET_SIG  # Pulumi's secret marker and how secrets are shown: defined once
from .aws import Aws, SandboxError, integral
from .handlers import Ctx, Request, handler_for

EMULATED = "emulated"
SUPERSEDED = "~superseded~"  # state key of a resource replaced create-before-delete, until it is deleted
VALIDATED = "validated"

# on_event(action, key, type, name) - action: created/updated/replaced/unchanged/deleted
EventFn = Callable[[str, str, str, str], None]
# on_record(key, entry): the write-ahead journal - entry as it now exists in moto, or None once it is deleted.
# Called as soon as each AWS change is made (before Pulumi hears of it), so a run that dies anywhere leaves a
# state that lists everything it created.
RecordFn = Callable[[str, Optional["Entry"]], None]


@dataclass
class Entry:
    """One realised resource, as kept in the state file."""

    key: str
    type: str
    name: str
    inputs_hash: str  # of the real input values; ``inputs`` below has secrets redacted
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    realised: str = EMULATED  # "emulated" | "validated" (at least one operation was validated only)
    ops: list[str] = field(default_factory=list)
    urn: str = ""
    deps: list[str] = field(default_factory=list)  # keys of the resources this one depends on
    seq: int = 0
    untagged_hash: str = ""  # hash of the inputs without tags (tags-only changes are updated in place)

    @property
    def tags(self) -> dict[str, str]:
        raw = self.inputs.get("tags") or {}
        if isinstance(raw, list):  # aws-native: [{key, value}, ...]
            return {str(t.get("key")): str(t.get("value")) for t in raw if isinstance(t, dict)}
        return dict(raw)


def plain(value: Any) -> Any:
    """Unwrap Pulumi secret markers (``{sig: secret, value: ...}``) into their values, recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def redact(value: Any) -> Any:
    """Secret-marked values replaced by ``[secret]`` (what the state file keeps)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            return REDACTED
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def _stored_outputs(outputs: dict[str, Any], stored_inputs: dict[str, Any], inputs: dict[str, Any]) -> dict:
    """Outputs for the state file: inputs echoed in them are kept redacted where the input was secret."""
    out = dict(outputs)
    for key, value in stored_inputs.items():
        if key in out and value != inputs.get(key):
            out[key] = value
    return out


def resource_key(type_: str, name: str) -> str:
    return f"{type_}::{name}"


def inputs_hash(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(integral(inputs), sort_keys=True, default=str).encode()).hexdigest()


def _without_tags(inputs: dict[str, Any]) -> str:
    return inputs_hash({k: v for k, v in inputs.items() if k not in ("tags", "tagsAll")})


class SandboxMocks:
    """Pulumi mocks that create, keep, update or replace resources in moto (see the module docstring)."""

    def __init__(self, aws: Aws, region: str, previous: Optional[dict[str, Entry]] = None, *,
                 on_event: Optional[EventFn] = None, on_record: Optional[RecordFn] = None):
        self.aws = aws
        self.on_record = on_record
        self.ctx = Ctx(aws, region)
        self.region = region
        self.previous = dict(previous or {})
        self.live: dict[str, Entry] = dict(self.previous)  # what exists in moto now
        self.declared: dict[str, str] = {}                  # key -> action in this run
        self.replaced: set[str] = set()
        self.errors: list[BaseException] = []
        self.on_event = on_event
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._cancelled = False
        self._seq = max([e.seq for e in self.previous.values()], default=0)

    # ---- Pulumi Mocks interface ---------------------------------------------------------------------
    def new_resource(self, args) -> tuple[str, dict]:
        with self._lock:
            if self._cancelled:
                raise SandboxError(f"not creating {args.name!r}: the apply was interrupted")
            self._inflight += 1
        try:
            return self._new_resource(args)
        except BaseException as exc:  # noqa: BLE001 - kept so apply() can re-raise the original error
            with self._lock:
                self.errors.append(exc)
            raise
        finally:
            with self._lock:
                self._inflight -= 1
                self._idle.notify_all()

    def cancel(self, timeout: float = 120.0) -> None:
        """Start nothing new; wait until the resources being created now are created and recorded (Ctrl-C and
        failures land in the main thread while Pulumi's workers are still calling AWS)."""
        with self._lock:
            self._cancelled = True
            self._idle.wait_for(lambda: self._inflight == 0, timeout=timeout)

    def call(self, args) -> tuple[dict, list]:
        token = args.token
        try:
            if token == "aws:index/getCallerIdentity:getCallerIdentity":
                self.aws.current = "(invoke getCallerIdentity)"
                ident = self.aws.call("sts", "GetCallerIdentity")
                return {"accountId": ident["Account"], "arn": ident["Arn"], "userId": ident["UserId"],
                        "id": ident["Account"]}, []
            if token == "aws:index/getPartition:getPartition":
                return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                        "reverseDnsPrefix": "com.amazonaws"}, []
            if token == "aws:index/getRegion:getRegion":
                return {"name": self.region, "region": self.region, "id": self.region,
                        "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}, []
            # Anything else: the offline plan's deterministic answers (it raises for unknown functions).
            from ..plan import PlanMocks

            return PlanMocks(region=self.region, account=self.ctx.account).call(args)
        except BaseException as exc:  # noqa: BLE001
            with self._lock:
                self.errors.append(exc)
            raise

    # ---- realisation ----------------------------------------------------------------------------------
    def _new_resource(self, args) -> tuple[str, dict]:
        if not args.custom or args.typ.startswith("mlops:"):
            return args.name, dict(args.inputs)  # components: nothing to create
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider", dict(args.inputs)
        key = resource_key(args.typ, args.name)
        handler = handler_for(args.typ, args.name)
        inputs = integral(plain(dict(args.inputs)))
        stored = integral(redact(dict(args.inputs)))  # secrets never reach the state file
        digest = inputs_hash(inputs)
        self.aws.current = key
        with self._lock:
            if key in self.declared:
                raise SandboxError(f"two resources of type {args.typ} are named {args.name!r}; the sandbox keys "
                                   f"resources by type and logical name")
            self.declared[key] = "pending"
            old = self.live.get(key)
        dep_replaced = bool(old and any(d in self.replaced for d in old.deps))

        if old is not None and old.inputs_hash == digest and not dep_replaced:
            self._done(key, "unchanged", old)
            return old.id, old.outputs

        mark = len(self.aws.ops)
        untagged = _without_tags(inputs)
        if (old is not None and not dep_replaced and handler.retag is not None
                and old.untagged_hash == untagged):
            handler.retag(self.ctx, old.id, old.outputs, old.tags, dict(inputs.get("tags") or {}))
            outputs = dict(old.outputs, tags=inputs.get("tags"), tagsAll=dict(inputs.get("tags") or {}))
            entry = self._entry(key, args, digest, stored, old.id, outputs, old.ops + self._ops_since(mark, key))
            entry.deps, entry.untagged_hash = old.deps, untagged
            self._done(key, "updated", entry)
            return entry.id, entry.outputs

        action = "created"
        if old is not None and handler.update is not None and not dep_replaced:
            # in place, as the provider updates it (e.g. UpdateEndpoint); None: the change needs a replacement
            realised = handler.update(self.ctx, old.id, old.outputs, old.inputs, Request(args.typ, args.name, inputs))
            if realised is not None:
                entry = self._entry(key, args, digest, stored, realised.id,
                                    _stored_outputs(realised.outputs, stored, inputs),
                                    old.ops + self._ops_since(mark, key))
                entry.deps, entry.untagged_hash = old.deps, untagged
                self._done(key, "updated", entry)
                return entry.id, realised.outputs
        if old is not None and handler.create_before_delete:
            # Pulumi's default replacement: create the new one now, delete the old one once the program is done
            # (after everything that used it moved on - e.g. the endpoint to a new config)
            superseded = replace(old, key=f"{key}{SUPERSEDED}{old.id}")
            with self._lock:
                self.live.pop(key, None)
                self.live[superseded.key] = superseded
            self._record(superseded.key, superseded)
            action = "replaced"
        elif old is not None:
            handler.delete(self.ctx, old.id, old.outputs)
            with self._lock:
                self.replaced.add(key)
                self.live.pop(key, None)
            self._record(key, None)
            action = "replaced"
            mark = len(self.aws.ops)
        realised = handler.create(self.ctx, Request(args.typ, args.name, inputs))
        entry = self._entry(key, args, digest, stored, realised.id, _stored_outputs(realised.outputs, stored, inputs),
                            self._ops_since(mark, key))
        entry.untagged_hash = untagged
        self._done(key, action, entry)
        return entry.id, realised.outputs  # this run gets the real values; the state keeps them redacted

    def _ops_since(self, mark: int, key: str) -> list[str]:
        with self._lock:
            return [str(op) for k, op in self.aws.ops[mark:] if k == key]

    def _entry(self, key, args, digest, inputs, id_, outputs, ops) -> Entry:
        realised = VALIDATED if any(o.endswith(f"({VALIDATED})") for o in ops) else EMULATED
        return Entry(key=key, type=args.typ, name=args.name, inputs_hash=digest, id=str(id_), inputs=inputs,
                     outputs=outputs, realised=realised, ops=ops)

    def _done(self, key: str, action: str, entry: Entry) -> None:
        with self._lock:
            self._seq += 1
            if action != "unchanged":
                entry.seq = self._seq
            self.live[key] = entry
            self.declared[key] = action
        if action != "unchanged":
            self._record(key, entry)
        if self.on_event:
            self.on_event(action, key, entry.type, entry.name)

    def _record(self, key: str, entry: Optional[Entry]) -> None:
        if self.on_record is not None:
            self.on_record(key, entry)

    # ---- after the program ran -------------------------------------------------------------------------
    def attach_graph(self, graph) -> None:
        """Record URNs and dependencies (as keys) from the plan graph of this run."""
        by_urn = {r.urn: resource_key(r.type, r.name) for r in graph.resources if r.custom}
        for r in graph.resources:
            key = by_urn.get(r.urn)
            if key in self.live:
                self.live[key].urn = r.urn
                self.live[key].deps = sorted({by_urn[d] for d in r.dependencies if d in by_urn and by_urn[d] != key})

    def delete_undeclared(self) -> list[Entry]:
        """Delete what the state has but this run did not declare (dependents first)."""
        gone = {k: e for k, e in self.live.items() if k not in self.declared}
        deleted = []
        for key in deletion_order(gone):
            entry = gone[key]
            delete_entry(self.ctx, entry)
            with self._lock:
                self.live.pop(key, None)
            self._record(key, None)
            deleted.append(entry)
            if self.on_event:
                self.on_event("deleted", key, entry.type, entry.name)
        return deleted


def delete_entry(ctx: Ctx, entry: Entry) -> None:
    ctx.aws.current = entry.key
    handler_for(entry.type, entry.name).delete(ctx, entry.id, entry.outputs)


def deletion_order(entries: dict[str, Entry]) -> list[str]:
    """Reverse dependency order: a resource goes only after everything depending on it (ties: newest first)."""
    remaining = dict(entries)
    order: list[str] = []
    while remaining:
        needed = {d for e in remaining.values() for d in e.deps if d in remaining}
        ready = [k for k in remaining if k not in needed]
        if not ready:  # a cycle cannot come from Pulumi; fall back to newest first
            ready = list(remaining)
        ready.sort(key=lambda k: (-remaining[k].seq, k))
        take = ready[0]
        order.append(take)
        remaining.pop(take)
    return order

