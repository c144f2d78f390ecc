"""Run the real Pulumi program (``__main__.py``) offline under ``pulumi.runtime.set_mocks``.

The result is the resource graph the program declares: every component and custom resource with its URN,
type, logical name, parent and inputs exactly as the program sent them (camelCase, as on the wire), plus
resource options (protect, retainOnDelete, ignoreChanges) and the stack outputs.

No AWS credentials, no network: provider invokes (caller identity, partition) are answered by the mocks.
The same runner drives the sandbox engine with a different :class:`pulumi.runtime.Mocks`.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import runpy
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from . import spec as spec_mod
from .spec import REPO_ROOT, StackSpec

PROJECT = "mlops-ladder"
MAIN = REPO_ROOT / "__main__.py"
PLAN_ACCOUNT = "123456789012"


class ProgramError(RuntimeError):
    """The program failed while running under mocks (the message is the program's)."""


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    inputs: dict[str, Any]
    custom: bool = True
    id: Optional[str] = None
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


@dataclass
class Graph:
    stack: str
    environment: str
    maturity: int
    resources: list[Resource]
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def by_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def get(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == urn]

    def find(self, type_: str, name: str) -> Resource:
        for r in self.resources:
            if r.type == type_ and r.name == name:
                return r
        raise KeyError(f"{type_} {name}")

    def monitors(self) -> list[dict[str, Any]]:
        """Every Model Monitor schedule of the stack: {schedule, type, jobDefinition, scheduleExpression, project}."""
        out = []
        for r in self.by_type("aws:sagemaker/monitoringSchedule:MonitoringSchedule"):
            config = r.inputs.get("monitoringScheduleConfig") or {}
            tags = r.inputs.get("tags") or {}
            out.append({"schedule": r.inputs.get("name"), "type": config.get("monitoringType"),
                        "jobDefinition": config.get("monitoringJobDefinitionName"),
                        "scheduleExpression": (config.get("scheduleConfig") or {}).get("scheduleExpression"),
                        "project": tags.get("mlops:project") if isinstance(tags, dict) else None})
        return sorted(out, key=lambda m: (str(m["project"]), str(m["schedule"])))

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        resources = []
        for r in self.resources:
            item = {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs}
            if full:
                item.update({k: v for k, v in asdict(r).items() if k not in item})
            resources.append(item)
        return {"stack": self.stack, "environment": self.environment, "maturity": self.maturity,
                "resources": resources, "monitors": self.monitors()}


# ---------------------------------------------------------------------------------------------------
# Mocks
# ---------------------------------------------------------------------------------------------------

def _import_pulumi():
    import pulumi  # noqa: F401  (slow import kept out of module import)
    from pulumi.runtime import mocks, settings, stack
    from pulumi.runtime.sync_await import _sync_await

    return mocks, settings, stack, _sync_await


def physical_name(type_: str, name: str, inputs: dict[str, Any]) -> str:
    """The name AWS would know the resource by; auto-named resources get Pulumi's random-looking suffix."""
    for key in ("name", "bucket", "pipelineName", "modelPackageGroupName", "functionName", "topicName", "jobDefinitionName",
                "endpointName"):
        if isinstance(inputs.get(key), str) and inputs[key]:
            return inputs[key]
    if isinstance(inputs.get("bucketPrefix"), str):
        return inputs["bucketPrefix"] + hashlib.sha1(f"{type_}::{name}".encode()).hexdigest()[:26]
    digest = hashlib.sha1(f"{type_}::{name}".encode()).hexdigest()[:7]
    return f"{name}-{digest}"


# ARN formats AWS uses for the types we create ({r} region, {a} account, {n} physical name).
ARN_FORMATS = {
    "aws:s3/bucket:Bucket": "arn:aws:s3:::{n}",
    "aws:iam/role:Role": "arn:aws:iam::{a}:role/{n}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "arn:aws:cloudwatch:{r}:{a}:alarm:{n}",
    "aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{r}:{a}:rule/{n}",
    "aws:cloudwatch/eventConnection:EventConnection": "arn:aws:events:{r}:{a}:connection/{n}/plan",
    "aws:cloudwatch/eventApiDestination:EventApiDestination": "arn:aws:events:{r}:{a}:api-destination/{n}/plan",
    "aws:cloudwatch/dashboard:Dashboard": "arn:aws:cloudwatch::{a}:dashboard/{n}",
    "aws:sns/topic:Topic": "arn:aws:sns:{r}:{a}:{n}",
    "aws:ssm/parameter:Parameter": "arn:aws:ssm:{r}:{a}:parameter{n}",
    "aws:scheduler/schedule:Schedule": "arn:aws:scheduler:{r}:{a}:schedule/default/{n}",
    "aws:ecr/repository:Repository": "arn:aws:ecr:{r}:{a}:repository/{n}",
    "aws:codebuild/project:Project": "arn:aws:codebuild:{r}:{a}:project/{n}",
    "aws:logs/logGroup:LogGroup": "arn:aws:logs:{r}:{a}:log-group:{n}",
    "aws:sagemaker/pipeline:Pipeline": "arn:aws:sagemaker:{r}:{a}:pipeline/{n}",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "arn:aws:sagemaker:{r}:{a}:model-package-group/{n}",
    "aws:sagemaker/model:Model": "arn:aws:sagemaker:{r}:{a}:model/{n}",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "arn:aws:sagemaker:{r}:{a}:endpoint-config/{n}",
    "aws:sagemaker/endpoint:Endpoint": "arn:aws:sagemaker:{r}:{a}:endpoint/{n}",
    "aws-native:sagemaker:Endpoint": "arn:aws:sagemaker:{r}:{a}:endpoint/{n}",
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": "arn:aws:sagemaker:{r}:{a}:monitoring-schedule/{n}",
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition":
        "arn:aws:sagemaker:{r}:{a}:data-quality-job-definition/{n}",
    "aws-native:sagemaker:ModelQualityJobDefinition": "arn:aws:sagemaker:{r}:{a}:model-quality-job-definition/{n}",
    "aws-native:sagemaker:ModelBiasJobDefinition": "arn:aws:sagemaker:{r}:{a}:model-bias-job-definition/{n}",
    "aws-native:sagemaker:ModelExplainabilityJobDefinition":
        "arn:aws:sagemaker:{r}:{a}:model-explainability-job-definition/{n}",
}


def plan_arn(type_: str, physical: str, region: str, account: str = PLAN_ACCOUNT, partition: str = "aws") -> str:
    """The ARN AWS would give the resource (generic ``<service>:<kind>/<name>`` for types not in the table)."""
    fmt = ARN_FORMATS.get(type_)
    if fmt is not None:
        return fmt.format(r=region, a=account, n=physical).replace("arn:aws:", f"arn:{partition}:", 1)
    module = type_.split(":")[1].split("/")[0] if ":" in type_ else "unknown"
    kind = type_.rsplit(":", 1)[-1]
    if module == "iam":
        return f"arn:{partition}:iam::{account}:{kind[0].lower() + kind[1:]}/{physical}"
    service = {"cloudwatch": "events" if "Event" in kind else "cloudwatch"}.get(module, module)
    return f"arn:{partition}:{service}:{region}:{account}:{kind.lower()}/{physical}"


def _partition(region: str) -> str:
    """The region's partition as the provider's getPartition answers it (aws-cn, aws-us-gov, ...; botocore data)."""
    from .validation import partition_of

    return partition_of(region) or "aws"


class PlanMocks:
    """Deterministic outputs for a plan: inputs echoed back plus the ids and ARNs AWS would return."""

    def __init__(self, region: str = "us-east-1", account: str = PLAN_ACCOUNT):
        self.region = region
        self.account = account
        self.partition = _partition(region)

    def new_resource(self, args) -> tuple[str, dict]:
        physical = physical_name(args.typ, args.name, args.inputs)
        outputs = dict(args.inputs)
        outputs.setdefault("arn", plan_arn(args.typ, physical, self.region, self.account, self.partition))
        kind = args.typ.rsplit(":", 1)[-1]
        if args.typ == "aws:s3/bucket:Bucket":
            outputs.setdefault("bucket", physical)
            outputs["bucketRegionalDomainName"] = f"{physical}.s3.{self.region}.amazonaws.com"
        elif args.typ == "aws:kms/key:Key":
            key_id = hashlib.sha1(args.name.encode()).hexdigest()[:8] + "-plan-key"
            outputs["keyId"] = key_id
            outputs["arn"] = f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{key_id}"
        elif args.typ == "aws:ecr/repository:Repository":
            outputs["repositoryUrl"] = f"{self.account}.dkr.ecr.{self.region}.amazonaws.com/{physical}"
            outputs["registryId"] = self.account
        elif args.typ.startswith("aws-native:sagemaker:") and args.typ.endswith("JobDefinition"):
            outputs["jobDefinitionArn"] = outputs["arn"]  # aws-native's output name for job definitions
        elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(args.inputs.get("url", "")).removeprefix("https://")
            outputs["arn"] = f"arn:{self.partition}:iam::{self.account}:oidc-provider/{host}"
        if args.typ.startswith("aws-native:"):  # aws-native names its ARN output after the type: endpointArn, ...
            outputs.setdefault(kind[0].lower() + kind[1:] + "Arn", outputs["arn"])
        outputs.setdefault("name", physical)
        outputs["tagsAll"] = dict(args.inputs.get("tags") or {})
        resource_id = physical if kind not in ("Key",) else outputs.get("keyId", physical)
        return resource_id, outputs

    def call(self, args) -> tuple[dict, list]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": f"arn:{self.partition}:iam::{self.account}:user/plan",
                    "userId": "AIDAPLAN", "id": self.account}, []
        if args.token == "aws:index/getPartition:getPartition":
            cn = self.partition == "aws-cn"
            return {"partition": self.partition, "dnsSuffix": "amazonaws.com.cn" if cn else "amazonaws.com",
                    "id": self.partition, "reverseDnsPrefix": "cn.com.amazonaws" if cn else "com.amazonaws"}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com"}, []
        raise ProgramError(f"the offline engine has no answer for the provider function {args.token}")


def _make_monitor(mocks_impl, secrets: frozenset[str] = frozenset()):
    mocks, _, _, _ = _import_pulumi()
    from pulumi.runtime import rpc
    from pulumi.runtime.sync_await import _ensure_event_loop

    class Adapter(mocks.Mocks):
        def new_resource(self, args):
            return mocks_impl.new_resource(args)

        def call(self, args):
            return mocks_impl.call(args)

    class RecordingMonitor(mocks.MockMonitor):
        def __init__(self):
            super().__init__(Adapter())
            self.order: list[Resource] = []
            self.by_urn: dict[str, Resource] = {}
            self.stack_urn: Optional[str] = None

        def RegisterResource(self, request):
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = urn
                return super().RegisterResource(request)
            _ensure_event_loop()
            inputs = rpc.deserialize_properties(request.object)
            res = Resource(
                urn=urn, type=request.type, name=request.name,
                parent=request.parent if request.parent and request.parent != self.stack_urn else None,
                inputs=_plain(inputs, secrets), custom=bool(request.custom),
                protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=list(request.ignoreChanges), delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=list(request.replaceOnChanges), dependencies=list(request.dependencies),
            )
            if request.custom:
                response = super().RegisterResource(request)
                reg = self.resources[urn]
                res.id = reg.id
                res.outputs = _plain(reg.state, secrets)
            else:
                from pulumi.runtime.proto import resource_pb2

                response = resource_pb2.RegisterResourceResponse(urn=urn)
            self.order.append(res)
            self.by_urn[urn] = res
            return response

        def RegisterResourceOutputs(self, request):
            _ensure_event_loop()
            if request.urn in self.by_urn:
                self.by_urn[request.urn].outputs = _plain(rpc.deserialize_properties(request.outputs), secrets)
            return super().RegisterResourceOutputs(request)

    return Adapter(), RecordingMonitor()


SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
REDACTED = "[secret]"
MIN_SCRUB = 8  # secret values at least this long are also scrubbed where they appear unmarked (substring)


def _plain(value: Any, secrets: frozenset[str] = frozenset()) -> Any:
    """Strip Pulumi wire artefacts (secrets markers, unknowns) into JSON-able values.

    A secret-marked value that holds a secret config value (``secrets``) becomes ``[secret]``, as
    ``pulumi preview`` shows it; other secret-marked values (pulumi-aws marks e.g. every SSM parameter value
    secret) are names the checks need and are unwrapped.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            inner = _plain(value.get("value"), secrets)
            return REDACTED if secrets and _holds_secret(inner, secrets) else inner
        return {k: _plain(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, secrets) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _holds_secret(value: Any, secrets: frozenset[str]) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(s == text or (len(s) >= MIN_SCRUB and s in text) for s in secrets)


def scrub(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` with every occurrence of a secret (marked or not) replaced by ``[secret]``."""
    long = [s for s in secrets if len(s) >= MIN_SCRUB]
    if not secrets:
        return value
    if isinstance(value, str):
        if value in secrets:
            return REDACTED
        for s in long:
            value = value.replace(s, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, secrets) for v in value]
    return value


def is_encrypted(value: Any) -> bool:
    """A Pulumi-encrypted config value (``key: {secure: v1:...}`` in a stack file): only the CLI can read it."""
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def secret_config(config: dict[str, Any], secret_keys: list[str] | None = None) -> tuple[list[str], list[str], list[str]]:
    """(secret keys, their plain-text values, notes) for a structured stack config.

    The keys of ``spec.SECRET_KEYS`` are secret wherever they come from; ``secret_keys`` are the ones the
    caller knows are secret (the Pulumi CLI's decrypted ``secure`` values). A secret key given in clear text
    in the stack file gets a note. Encrypted values are ciphertext (never a token) and are not collected.
    """
    keys = list(dict.fromkeys([*(secret_keys or []),
                               *(f"{spec_mod.NAMESPACE}:{k}" for k in spec_mod.SECRET_KEYS
                                 if f"{spec_mod.NAMESPACE}:{k}" in config)]))
    values: list[str] = []
    notes: list[str] = []
    for key in keys:
        value = config.get(key)
        if value is None or is_encrypted(value):
            continue
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=False)
        values.append(text)
        if isinstance(value, str):
            values.append(json.dumps(value)[1:-1])  # as it appears inside JSON documents
        if key not in (secret_keys or []):
            notes.append(f"{key} is stored in clear text in the stack file; keep it encrypted: "
                         f"`pulumi config set --secret {key} <value>` (the plan shows it as {REDACTED})")
    return keys, [v for v in values if v], notes


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for the block (re-entrant; the previous state is restored after).

    Importing the typed SDKs and registering the resources allocate a few million long-lived objects (classes,
    ``typing`` generics, Outputs); CPython's generational collector then runs full collections that traverse all
    of them again and again and free almost nothing: about a fifth of a fresh-process ``ladder plan`` (three full
    collections, 0.23 s of 1.16 s measured with gc.callbacks), and 2x the time of a 20-project plan in one process.
    Reference counting still frees everything acyclic; the cycles left behind (~28,000 objects per prod plan) are
    collected by the first automatic collection after the block.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def temporary_env(overrides: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after."""
    saved = {k: os.environ.get(k) for k in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_program(spec: StackSpec, config: dict[str, Any], mocks_impl=None, *, program: Path = MAIN,
                secret_keys: list[str] | None = None) -> Graph:
    """Run ``program`` with ``config`` (structured stack config) under mocks; return the graph.

    Resets Pulumi's global state before and after, so runs in one process never leak into each other.
    """
    mocks, settings, stack_mod, _sync_await = _import_pulumi()
    import pulumi
    from pulumi.runtime import config as pconfig

    mocks_impl = mocks_impl or PlanMocks(region=spec.region)
    secret_keys, secret_values, secret_notes = secret_config(config, secret_keys)
    secrets = frozenset(secret_values)
    # the missing-token placeholder stands where the token would be: shown as [secret] too, like any value the
    # program marks secret (`pulumi preview` never prints one); the plan's notes say a placeholder is used
    from .components.deployment import TOKEN_PLACEHOLDER

    adapter, monitor = _make_monitor(mocks_impl, secrets | {TOKEN_PLACEHOLDER})
    error: list[BaseException] = []
    outputs: dict[str, Any] = {}

    def program_fn():
        try:
            runpy.run_path(str(program), run_name="__main__")
        except BaseException as exc:  # noqa: BLE001 - reported below with the program's message
            error.append(exc)
            return None
        root = settings.get_root_resource()

        async def collect():
            resolved = await pulumi.Output.from_input(dict(root.outputs)).future()
            outputs.update(_plain(resolved or {}))

        return collect()

    env = {"LADDER_STACK_SOURCE": spec.source, "PULUMI_CONFIG": "{}"}
    with temporary_env(env), gc_paused():
        settings.reset_options(project=PROJECT, stack=spec.stack, preview=False)
        pconfig.set_all_config(spec_mod.config_to_pulumi(config), secret_keys)
        mocks.set_mocks(adapter, project=PROJECT, stack=spec.stack, preview=False, monitor=monitor)
        try:
            _sync_await(stack_mod.run_pulumi_func(program_fn))
        except Exception as exc:  # noqa: BLE001
            error.append(exc)
        finally:
            settings.reset_options()
            pconfig.set_all_config({}, [])
    if error:
        exc = error[0]
        message = scrub(str(exc), secrets)  # a provider or sandbox error may quote the request it refused
        if isinstance(exc, ProgramError) and message == str(exc):
            raise exc
        raise ProgramError(message or type(exc).__name__) from (None if secrets else exc)
    notes = [*secret_notes, *(str(n) for n in outputs.get("notes", []) or [])]
    resources = sorted(monitor.order, key=lambda r: r.urn)
    if secrets:  # belt and braces: a secret the program used without marking it still never leaves the run
        for r in resources:
            r.inputs, r.outputs = scrub(r.inputs, secrets), scrub(r.outputs, secrets)
        outputs, notes = scrub(outputs, secrets), scrub(notes, secrets)
    return Graph(stack=spec.stack, environment=spec.environment, maturity=spec.maturity,
                 resources=resources, outputs=outputs, notes=notes)


def plan(stack: str | None = None, path: str | Path | None = None, *, maturity: int | None = None,
         mocks_impl=None) -> Graph:
    """Load + validate the stack (SpecError on bad input, before anything registers), then run the program."""
    overrides = {"mlops:maturity": maturity} if maturity is not None else None
    spec, config = spec_mod.load_with_config(stack, path, overrides=overrides)
    return run_program(spec, config, mocks_impl)



@dataclass
class Comparison:
    added: list[Resource]
    removed: list[Resource]
    changed: list[tuple[Resource, Resource]]


def compare(a: Graph, b: Graph, *, ignore_tag_keys: tuple[str, ...] = ("mlops:maturity",)) -> Comparison:
    """What ``b`` adds, removes and changes relative to ``a`` (tags listed in ignore_tag_keys excluded)."""
    amap = {r.urn: r for r in a.resources}
    bmap = {r.urn: r for r in b.resources}
    changed = []
    for urn in amap.keys() & bmap.keys():
        if normalized_inputs(amap[urn], ignore_tag_keys) != normalized_inputs(bmap[urn], ignore_tag_keys):
            changed.append((amap[urn], bmap[urn]))
    return Comparison(added=[r for u, r in bmap.items() if u not in amap],
                      removed=[r for u, r in amap.items() if u not in bmap],
                      changed=sorted(changed, key=lambda p: p[0].urn))


def normalized_inputs(r: Resource, ignore_tag_keys: tuple[str, ...] = ("mlops:maturity",)) -> str:
    inputs = json.loads(json.dumps(r.inputs))
    for key in ("tags", "tagsAll"):
        if isinstance(inputs.get(key), dict):
            for t in ignore_tag_keys:
                inputs[key].pop(t, None)
        elif isinstance(inputs.get(key), list):  # aws-native: [{key, value}, ...]
            inputs[key] = [t for t in inputs[key] if not (isinstance(t, dict) and t.get("key") in ignore_tag_keys)]
    return json.dumps(inputs, sort_keys=True)
