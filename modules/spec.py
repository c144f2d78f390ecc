"""The typed stack spec: the ``mlops:*`` keys of ``stacks/Pulumi.<stack>.yaml``.

Validated once, up front. Bad input never becomes a half-built graph: :class:`SpecError` carries one
:class:`Problem` per mistake (file, key path, what is allowed) and the CLI exits 2 with all of them.
Defaults live here, not in components.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from . import levels
from .naming import Naming
from .problem_types import (  # noqa: F401  (the vocabulary, re-exported: spec.GATE_METRICS, ...)
    _COLUMN_FORBIDDEN, GATE_METRICS, METRICS, MONITOR_METRICS, MONITOR_PROBLEM_TYPES, NON_NEGATIVE_METRICS,
    PROBLEM_TYPES, UNIT_METRICS, describe_vocabulary, infer_problem_type,
)
from .validation import (YamlProblem, namespace_warnings, non_finite_paths, parse_stack_yaml,
                         region_problem, shown, validate_github_owner, validate_github_repository,
                         validate_instance_type, validate_model_package_arn, validate_oidc_provider_arn,
                         validate_s3_uri, validate_schedule, validate_tag_value)

from .paths import REPO_ROOT, project_root

STACKS_DIR = REPO_ROOT / "stacks"  # the bundled sample stacks
NAMESPACE = "mlops"

SLUG_RE = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")
ACCOUNT_RE = re.compile(r"^\d{12}$")
# mlops:* keys that hold secrets: read by the components via pulumi.Config, not part of the spec.
SECRET_KEYS = ("githubToken",)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str


class SpecError(ValueError):
    """One or more problems in a stack spec; ``str()`` gives one line per problem."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {_cut(p.path, 200)}: {_cut(p.message, 1000)}" for p in problems))


def _cut(text: str, limit: int) -> str:
    """Messages stay readable whatever the input (a 10 MB value is not repeated)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              allow_inf_nan=False)  # .inf/.nan: AWS APIs and plan --json take finite numbers


class QualityGate(_Model):
    """``{metric, min | max}``: exactly one bound, on the metric's side (checked with the problem type in
    spec_checks, which names the key): ``min`` for higher-is-better metrics, ``max`` for lower-is-better ones."""

    metric: Literal[METRICS] = "auc"  # type: ignore[valid-type]
    min: Optional[float] = Field(None, description="higher-is-better metric: it must be >= min to register the model")
    max: Optional[float] = Field(None, description="lower-is-better metric: it must be <= max to register the model")

    @property
    def bound(self) -> str:
        """"min" or "max": the bound that is set (validation guarantees exactly one)."""
        return "max" if self.max is not None and self.min is None else "min"

    @property
    def threshold(self) -> float:
        value = self.max if self.bound == "max" else self.min
        return float(value if value is not None else 0.0)

    @property
    def operator(self) -> str:
        return "<=" if self.bound == "max" else ">="

    def describe(self) -> str:
        """``"auc >= 0.8"``: the condition a model must meet to be registered."""
        return f"{self.metric} {self.operator} {self.threshold:g}"


class Training(_Model):
    instance_type: str = "ml.m5.xlarge"
    processing_instance_type: str = "ml.m5.large"
    schedule: Optional[str] = None
    quality_gate: QualityGate = QualityGate(metric="auc", min=0.8)
    code_version: str = Field("initial", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    # Opt-in step caching (P30D) on preprocess/train/evaluate; refused with a schedule or the retraining loop
    # (see _training_problems): SageMaker's cache key is the step's arguments, not the S3 contents.
    cache_steps: bool = False

    _v_it = field_validator("instance_type")(classmethod(lambda cls, v: validate_instance_type(v, "training")))
    _v_pit = field_validator("processing_instance_type")(
        classmethod(lambda cls, v: validate_instance_type(v, "processing")))
    _v_sched = field_validator("schedule")(classmethod(lambda cls, v: None if v is None else validate_schedule(v)))


class CapacitySize(_Model):
    type: Literal["INSTANCE_COUNT", "CAPACITY_PERCENT"] = "CAPACITY_PERCENT"
    value: int = Field(..., ge=1)


class TrafficRouting(_Model):
    """Blue/green traffic shifting of an endpoint update (SageMaker deployment guardrails)."""

    type: Literal["ALL_AT_ONCE", "CANARY", "LINEAR"] = "ALL_AT_ONCE"
    canary_size: Optional[CapacitySize] = None
    linear_step_size: Optional[CapacitySize] = None
    wait_interval_in_seconds: int = Field(300, ge=0, le=3600)


class Serving(_Model):
    instance_type: str = "ml.m5.large"
    min_instances: int = Field(1, ge=1, le=100)
    max_instances: int = Field(2, ge=1, le=100)
    model_package_arn: Optional[str] = None  # structure: validation.validate_model_package_arn; region: below
    # The package served before (written by `ladder deploy`): its model and endpoint config stay declared, so an
    # auto-rollback to them never finds them deleted by the `pulumi up` that replaced them.
    previous_model_package_arn: Optional[str] = None
    autoscaling: bool = True  # False deregisters the scalable target (step 1 of an instance-type change)
    network_isolation: bool = True
    data_capture_percent: int = Field(100, ge=1, le=100)
    latency_limit_ms: float = Field(1000, gt=0, description="ModelLatency alarm threshold (milliseconds)")
    target_invocations_per_instance: float = Field(100, gt=0)
    error_alarm: bool = True      # built-in rollback alarm: Invocation5XXErrors > 0
    latency_alarm: bool = True    # built-in rollback alarm: ModelLatency > latencyLimitMs
    rollback_alarms: list[str] = Field(default_factory=list, description="extra CloudWatch alarm names")
    traffic_routing: TrafficRouting = TrafficRouting()
    termination_wait_in_seconds: int = Field(300, ge=0, le=3600)
    maximum_execution_timeout_in_seconds: int = Field(3600, ge=600, le=28800)

    _v_it = field_validator("instance_type")(classmethod(lambda cls, v: validate_instance_type(v, "endpoint")))
    _v_arn = field_validator("model_package_arn", "previous_model_package_arn")(
        classmethod(lambda cls, v: None if v is None else validate_model_package_arn(v, None)))

    @field_validator("rollback_alarms")
    @classmethod
    def _alarm_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not isinstance(name, str) or not name.strip() or len(name) > 255:
                raise ValueError(f"{name!r} is not a CloudWatch alarm name (1-255 characters)")
        if len(set(v)) != len(v):
            raise ValueError("alarm names must be unique")
        return v

    @property
    def builtin_alarms(self) -> int:
        return int(self.error_alarm) + int(self.latency_alarm)


class Deploy(_Model):
    # Only "github": the approval dispatches `model-approved` to the platform repository, whose deploy workflow
    # runs `ladder deploy` -> `pulumi up`. "codebuild" was refused when it was found to only validate the request.
    trigger: str = "github"

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, v: str) -> str:
        if v != "github":
            raise ValueError(f"{shown(v)} is not allowed; allowed: 'github' (the approval dispatches 'model-approved' "
                             f"to the platform repository, whose deploy workflow runs `ladder deploy` and `pulumi up`; "
                             f"a CodeBuild trigger only validated the request and never deployed, so it was removed)")
        return v


class Baseline(_Model):
    """Model Monitor baseline files; default: the pipeline's output ``s3://<bucket>/<project>/baseline/``."""

    statistics_uri: Optional[str] = None
    constraints_uri: Optional[str] = None

    _v_uri = field_validator("statistics_uri", "constraints_uri")(
        classmethod(lambda cls, v: None if v is None else validate_s3_uri(v, obj=True)))


class ClarifyMonitor(_Model):
    """A bias or explainability monitor (SageMaker Clarify). Its analysis configuration names the label, the
    facets and the SHAP baseline, which only the project's data contract knows (issue 15): the project writes it
    to ``analysisConfigUri`` (default ``s3://<bucket>/<project>/monitoring/config/<kind>/analysis_config.json``)."""

    analysis_config_uri: Optional[str] = None
    constraints_uri: Optional[str] = None  # a baseline's constraints (the Clarify check's output), optional

    _v_uri = field_validator("analysis_config_uri", "constraints_uri")(
        classmethod(lambda cls, v: None if v is None else validate_s3_uri(v, obj=True)))


class Monitoring(_Model):
    schedule: Literal["hourly", "daily"] = "daily"
    drift_threshold: float = Field(0.1, gt=0.0, le=1.0)
    instance_type: str = "ml.m5.large"
    baseline: Baseline = Baseline()
    # Model quality: predictions compared with the labels the project writes to s3://<bucket>/ground-truth/<p>/;
    # ProblemType from the project's problemType, the alarm's metric and bound from training.qualityGate (monitor_signals).
    model_quality: bool = False
    bias: Optional[ClarifyMonitor] = None            # given (even {}): a model-bias monitor
    explainability: Optional[ClarifyMonitor] = None  # given (even {}): a model-explainability monitor

    _v_it = field_validator("instance_type")(classmethod(lambda cls, v: validate_instance_type(v, "processing")))

    @property
    def enabled_types(self) -> tuple[str, ...]:
        """Model Monitor types this spec asks for (DataQuality always), in the API's MonitoringType spelling."""
        kinds = ["DataQuality"]
        if self.model_quality:
            kinds.append("ModelQuality")
        if self.bias is not None:
            kinds.append("ModelBias")
        if self.explainability is not None:
            kinds.append("ModelExplainability")
        return tuple(kinds)


class Registry(_Model):
    share_with: list[str] = Field(default_factory=list)

    @field_validator("share_with")
    @classmethod
    def _accounts(cls, v: list[str]) -> list[str]:
        for acct in v:
            if not ACCOUNT_RE.match(str(acct)):
                raise ValueError(f"{acct!r} is not an AWS account id (12 digits)")
        return v


def _column_name(name: str) -> str:
    if not isinstance(name, str) or not name or len(name) > 255 or name != name.strip():
        raise ValueError(f"{shown(name)} is not a column name; allowed: 1-255 characters, no leading or trailing "
                         f"spaces (as the CSV header names the column)")
    if _COLUMN_FORBIDDEN.search(name):
        raise ValueError(f"{shown(name)} is not a column name the generated repository can hold; allowed: no quotes, "
                         f"backslashes, control characters or template delimiters ({{{{ }}}} {{% %}} {{# #}})")
    return name


class Data(_Model):
    """The project's data contract (issue 15): the label by name, categorical columns (encoded inside the model
    pipeline) and columns dropped before training (ids); every other CSV column is a numerical feature. Rendered
    into the generated repository's schema.json, which preprocess, train, evaluate, serving and drift read."""

    label: str
    categorical: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)

    _v_label = field_validator("label")(classmethod(lambda cls, v: _column_name(v)))

    @field_validator("categorical", "drop")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in v:
            _column_name(name)
            if name in seen:
                raise ValueError(f"{shown(name)} is listed twice; allowed: each column once")
            seen.add(name)
        return v


class Project(_Model):
    name: str
    repository: Optional[str] = None
    framework: Literal["sklearn", "xgboost"] = "sklearn"
    # Resolved after validation: the given value, else inferred from training.qualityGate.metric
    # (infer_problem_type); `problem_type_given` tells which.
    problem_type: Optional[Literal[PROBLEM_TYPES]] = None  # type: ignore[valid-type]
    data: Optional[Data] = None  # absent: the template's bundled sample data of the problem type (label "target")
    training: Training = Training()
    serving: Serving = Serving()
    deploy: Deploy = Deploy()
    monitoring: Monitoring = Monitoring()
    registry: Registry = Registry()

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG_RE.match(v):
            raise ValueError(f"{v!r} is not DNS-safe; allowed: lowercase letters, digits and '-', starting with a "
                             f"letter and not ending with '-'")
        return v

    @field_validator("repository")
    @classmethod
    def _repo(cls, v: Optional[str]) -> Optional[str]:
        return None if v is None else validate_github_repository(v)

    @model_validator(mode="after")
    def _resolve_problem_type(self) -> "Project":
        if self.problem_type is None:  # frozen model: set once, here, before anyone reads it
            object.__setattr__(self, "problem_type", infer_problem_type(self.training.quality_gate.metric))
        return self

    @property
    def problem_type_given(self) -> bool:
        """True when the spec says problemType (then the gate metric is checked against it)."""
        return "problem_type" in self.model_fields_set

    @property
    def monitor_problem_type(self) -> str:
        """Model Monitor's ProblemType for this project (MONITOR_PROBLEM_TYPES)."""
        return MONITOR_PROBLEM_TYPES[self.problem_type]

    @property
    def label(self) -> str:
        return self.data.label if self.data is not None else "target"


class GitHub(_Model):
    org: str
    oidc_provider_arn: Optional[str] = None  # partition checked against the region below
    # <owner>/<name> of the platform repository (this program's): approvals dispatch to it, and the stack's
    # platform-deploy role trusts its deploy workflow in the GitHub environment of this stack (required at level 3+)
    platform_repository: Optional[str] = None

    _v_org = field_validator("org")(classmethod(lambda cls, v: validate_github_owner(v)))
    _v_platform = field_validator("platform_repository")(
        classmethod(lambda cls, v: None if v is None else validate_github_repository(v)))
    _v_oidc = field_validator("oidc_provider_arn")(
        classmethod(lambda cls, v: None if v is None else validate_oidc_provider_arn(v, None)))


class Network(_Model):
    vpc_id: str = Field(..., pattern=r"^vpc-[0-9a-f]{8,17}$")
    subnet_ids: list[str] = Field(..., min_length=1, max_length=16)
    security_group_ids: list[str] = Field(..., min_length=1, max_length=5)

    @field_validator("subnet_ids")
    @classmethod
    def _subnets(cls, v: list[str]) -> list[str]:
        for s in v:
            if not re.match(r"^subnet-[0-9a-f]{8,17}$", s):
                raise ValueError(f"{s!r} is not a subnet id (subnet-<hex>)")
        return v

    @field_validator("security_group_ids")
    @classmethod
    def _sgs(cls, v: list[str]) -> list[str]:
        for s in v:
            if not re.match(r"^sg-[0-9a-f]{8,17}$", s):
                raise ValueError(f"{s!r} is not a security group id (sg-<hex>)")
        return v


class PolicyException(_Model):
    """A waived policy violation: ``ladder check`` lists it as waived (with the reason) instead of failing."""

    rule: str = Field(..., min_length=1, description="a rule id of the policy pack, e.g. LADDER-S3-008")
    resource: str = Field(..., min_length=1, description="the resource's logical name or URN")
    reason: str = Field(..., min_length=1, description="why the violation is accepted (required)")

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a reason is required: say why this violation is accepted")
        return v


class StackSpec(_Model):
    """The whole ``mlops:`` namespace of one stack, plus the region and where it came from."""

    stack: str = Field("dev", exclude=True)
    source: str = Field("<config>", exclude=True)
    region: str = Field("us-east-1", exclude=True)
    warnings: tuple[str, ...] = Field((), exclude=True)  # near-miss namespaces (the CLI prints them)
    environment: Literal["dev", "staging", "prod"]
    maturity: int
    owner: str
    org: str = Field("mlops", pattern=r"^[a-z][a-z0-9-]{0,19}$")
    github: Optional[GitHub] = None
    features: dict[str, bool] = Field(default_factory=dict)
    network: Optional[Network] = None
    projects: list[Project] = Field(default_factory=list)
    policy_exceptions: list[PolicyException] = Field(default_factory=list)

    @field_validator("maturity", mode="before")
    @classmethod
    def _level(cls, v: Any) -> int:
        return levels.parse_level(v)

    @field_validator("owner")
    @classmethod
    def _owner(cls, v: str) -> str:
        return validate_tag_value(v)

    # ---- derived views used by the platform ---------------------------------------------------
    @property
    def naming(self) -> Naming:
        return Naming(self.org, self.environment)

    @property
    def capabilities(self) -> frozenset[str]:
        return levels.enabled_capabilities(self.maturity, self.features)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def repository_of(self, project: Project) -> str:
        if project.repository:
            return project.repository
        owner = self.github.org if self.github is not None else self.org
        return f"{owner}/{project.name}"

    def project(self, name: str) -> Project:
        for p in self.projects:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.projects) or "(none)"
        raise KeyError(f"unknown project {name!r} in stack {self.stack!r}; known projects: {known}")


# ---------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------

def stack_file(stack: str, root: Path | None = None) -> Path:
    return (root or project_root()) / "stacks" / f"Pulumi.{stack}.yaml"  # a checkout in the cwd first


def stack_name_of(path: Path) -> str:
    m = re.match(r"^Pulumi\.(.+)\.ya?ml$", path.name)
    return m.group(1) if m else path.stem


def read_config(path: Path) -> dict[str, Any]:
    """The ``config:`` map of a Pulumi stack file (structured values as YAML gives them).

    Read as Pulumi reads it: UTF-8, duplicate keys refused; too deep, too large or non-finite values are refused
    too (validation.parse_stack_yaml). Every failure is one SpecError naming the file.
    """
    try:
        exists = path.is_file()
    except (OSError, ValueError) as exc:
        raise SpecError(str(path)[:300], [Problem("(file)", f"not a usable path: {exc}")]) from None
    if not exists:
        known = sorted(stack_name_of(p) for p in path.parent.glob("Pulumi.*.yaml")) if path.parent.is_dir() else []
        hint = f"; known stacks: {', '.join(known)}" if known else ""
        what = "is a directory, not a stack file" if path.is_dir() else "no such stack file"
        raise SpecError(str(path), [Problem("(file)", f"{what}{hint}")])
    try:
        doc = parse_stack_yaml(path.read_bytes())
    except OSError as exc:
        raise SpecError(str(path), [Problem("(file)", f"cannot read: {exc.strerror or exc}")]) from None
    except YamlProblem as exc:
        raise SpecError(str(path), [Problem(exc.where, exc.message)]) from None
    doc = {} if doc is None else doc
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise SpecError(str(path), [Problem("config", "expected a mapping under 'config:'")])
    config = dict(doc.get("config") or {})
    bad = non_finite_paths(config)
    if bad:
        raise SpecError(str(path), [Problem(p, "not a finite number (.inf/.nan); allowed: finite numbers, as JSON "
                                               "and the AWS APIs take them") for p in bad[:20]])
    return config


def load(stack: str | None = None, path: str | Path | None = None, *, root: Path | None = None,
         overrides: dict[str, Any] | None = None) -> StackSpec:
    """Load and validate a stack by name (``stacks/Pulumi.<name>.yaml``) or by file path."""
    return load_with_config(stack, path, root=root, overrides=overrides)[0]


def load_with_config(stack: str | None = None, path: str | Path | None = None, *, root: Path | None = None,
                     overrides: dict[str, Any] | None = None) -> tuple[StackSpec, dict[str, Any]]:
    """The validated spec and the structured config it came from (what the program runs with), read once."""
    if path is None and stack is None:
        raise ValueError("give a stack name or a stack file")
    p = Path(path) if path is not None else stack_file(stack, root)
    config = read_config(p)
    if overrides:
        config.update(overrides)
    try:
        source = str(p.relative_to(Path.cwd()))
    except ValueError:
        source = str(p)
    return from_config(config, source=source, stack=stack or stack_name_of(p)), config


def config_to_pulumi(config: dict[str, Any]) -> dict[str, str]:
    """Encode a structured stack config the way the Pulumi CLI hands it to a program (strings, JSON objects)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, (dict, list)):
            out[key] = json.dumps(value, sort_keys=False)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def config_from_pulumi(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                out[key] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        out[key] = value
    return out


def from_config(config: dict[str, Any], *, source: str = "<config>", stack: str = "dev") -> StackSpec:
    """Validate a stack's config map (``{"aws:region": .., "mlops:maturity": .., ...}``)."""
    problems: list[Problem] = []
    body: dict[str, Any] = {}
    warnings = namespace_warnings(config, NAMESPACE)
    for key, value in config.items():
        ns, _, name = str(key).partition(":")
        if ns == NAMESPACE and name in SECRET_KEYS:
            continue  # secrets (pulumi config set --secret) are read by the program, never kept in the spec
        if ns == NAMESPACE and name:
            body[name] = value
        elif ns == NAMESPACE:
            problems.append(Problem(str(key), "expected 'mlops:<key>'"))
    region = config.get("aws:region")
    if region is None:
        problems.append(Problem("aws:region", "required; the AWS region of this stack, e.g. us-east-1"))
    elif region_problem(region):
        problems.append(Problem("aws:region", region_problem(region)))
        region = None
    body.update(stack=stack, source=source, region=str(region or "us-east-1"))
    try:
        spec = StackSpec.model_validate(body)
    except ValidationError as exc:
        problems.extend(_problems_from_pydantic(exc))
        raise SpecError(source, problems + [Problem(k, w) for k, w in warnings]) from None
    from .spec_checks import semantic_problems  # cross-field rules (their own module; they import the models)

    problems.extend(semantic_problems(spec))
    if problems:
        raise SpecError(source, problems + [Problem(k, w) for k, w in warnings])
    return spec.model_copy(update={"warnings": tuple(f"{source}: {k}: {w}" for k, w in warnings)})


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = f"{NAMESPACE}:"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("" if i == 0 else ".") + str(part)
    return out


def _unwrap(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp


def _model_at(loc: tuple[Any, ...]) -> Any:
    tp: Any = StackSpec
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(part, int):
            args = typing.get_args(tp)
            tp = args[0] if args else None
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if (f.alias or n) == part or n == part), None)
            tp = field.annotation if field else None
        else:
            return None
    return _unwrap(tp)


def _problems_from_pydantic(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = sorted((f.alias or n) for n, f in model.model_fields.items()
                             if not f.exclude) if model else []
            key = str(loc[-1])[:100]
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(Problem(_fmt_loc(loc), f"unknown key{hint} allowed: {', '.join(allowed)}"))
            continue
        msg = err["msg"]
        msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
        if err["type"] == "missing":
            msg = "required"
        elif err["type"] == "literal_error":
            msg = f"{shown(err.get('input'))} is not allowed; {msg[0].lower()}{msg[1:]}"
        elif err["type"] == "string_pattern_mismatch":
            msg = f"{shown(err.get('input'))} does not match the pattern {err['ctx']['pattern']}"
        elif err["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            msg = f"{shown(err.get('input'))} is out of range; {msg[0].lower()}{msg[1:]}"
        problems.append(Problem(_fmt_loc(loc), msg))
    return problems


def from_pulumi() -> StackSpec:
    """The spec of the running Pulumi program (``pulumi up`` or the offline engines), from its config."""
    import pulumi
    from pulumi.runtime import config as pconfig

    raw: dict[str, str] = {}
    raw.update(pconfig.get_config_env())
    raw.update(pconfig.CONFIG.get())
    stack = pulumi.get_stack()
    source = os.environ.get("LADDER_STACK_SOURCE") or f"stacks/Pulumi.{stack}.yaml"
    return from_config(config_from_pulumi(raw), source=source, stack=stack)

