"""The ONE table of maturity levels and capabilities.

Everything that depends on "what does level N provision" reads this module: the platform composes
components from :func:`enabled_capabilities`, the spec validates ``features:`` overrides against
:data:`CAPABILITIES`, and ``ladder levels`` prints :data:`LEVELS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Level:
    number: int
    slug: str
    name: str
    microsoft: str
    google: str
    meaning: str


@dataclass(frozen=True)
class Capability:
    key: str
    min_level: int
    scope: str  # "shared" (once per stack) or "project" (per project)
    provisions: str
    requires: tuple[str, ...] = field(default_factory=tuple)
    optional: bool = True  # False: cannot be switched off by a features: override


LEVELS: tuple[Level, ...] = (
    Level(0, "manual", "Manual (no MLOps)", "Level 0: No MLOps", "Level 0: manual process",
          "Models are trained by hand in notebooks; the platform gives them a secure place to work."),
    Level(1, "devops", "DevOps, no MLOps", "Level 1: DevOps but no MLOps", "-",
          "Application code is built and tested in CI; training is still manual."),
    Level(2, "automated-training", "Automated training", "Level 2: Automated training",
          "Level 1: ML pipeline automation",
          "Training runs as a pipeline on a schedule; every model lands in a registry behind a quality gate."),
    Level(3, "automated-deployment", "Automated model deployment", "Level 3: Automated model deployment",
          "Level 2: CI/CD pipeline automation",
          "An approved model deploys itself to a monitored, self-healing endpoint and is promoted across stages."),
    Level(4, "full-automation", "Full MLOps automated operations", "Level 4: Full MLOps automated operations",
          "-",
          "Production is watched for drift; alarms retrain the model and the loop closes without people."),
)

CAPABILITIES: tuple[Capability, ...] = (
    # level 0 - shared foundation
    Capability("foundation", 0, "shared",
               "KMS key (rotation), artifact bucket (versioned, SSE-KMS, public access blocked, TLS-only, "
               "lifecycle, access logs), SageMaker execution role (least privilege)", optional=False),
    # level 1
    Capability("container_registry", 1, "project", "ECR repository (scan on push, immutable tags, KMS, lifecycle)",
               ("foundation",)),
    Capability("ci_identity", 1, "project",
               "CI role trusted only by GitHub OIDC for the project's repository (+ the shared OIDC provider)",
               ("foundation",)),
    # level 2
    Capability("model_registry", 2, "project", "SageMaker model package group (registry)", ("foundation",)),
    Capability("training_pipeline", 2, "project",
               "SageMaker pipeline: preprocess -> train -> evaluate -> quality gate -> register",
               ("model_registry",)),
    Capability("training_schedule", 2, "project", "EventBridge Scheduler schedule starting the pipeline",
               ("training_pipeline",)),
    Capability("project_contract", 2, "project", "SSM parameters /mlops/<env>/<project>/* (the project contract)",
               ("foundation",)),
    # level 3
    Capability("approval_events", 3, "project",
               "Approval event rule -> SNS topic + repository_dispatch to the platform repository, whose deploy "
               "workflow assumes the stack's platform-deploy role (GitHub OIDC, its environment)",
               ("model_registry",)),
    Capability("endpoint", 3, "project",
               "Real-time endpoint from the approved package: KMS, data capture, blue/green with auto-rollback "
               "alarms, autoscaling", ("model_registry",)),
    # level 4
    Capability("monitoring", 4, "project",
               "Model Monitor jobs and schedules: data quality; model quality, bias, explainability as asked",
               ("endpoint",)),
    Capability("drift_alarms", 4, "project",
               "Model-quality alarm (the gate metric on ground truth) notifying the project's SNS topic",
               ("monitoring", "approval_events")),
    Capability("retraining_loop", 4, "project",
               "Monitor violations / quality alarm -> EventBridge rule -> retraining pipeline run",
               ("drift_alarms", "training_pipeline")),
    Capability("dashboard", 4, "project", "CloudWatch dashboard per project", ("endpoint",)),
)

CAPABILITY_BY_KEY: dict[str, Capability] = {c.key: c for c in CAPABILITIES}
MAX_LEVEL = LEVELS[-1].number


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


LEVEL_ALIASES: dict[str, int] = {}
for _lvl in LEVELS:
    LEVEL_ALIASES[_lvl.slug] = _lvl.number
    LEVEL_ALIASES[_norm(_lvl.name)] = _lvl.number
    LEVEL_ALIASES[f"level-{_lvl.number}"] = _lvl.number


def parse_level(value: object) -> int:
    """Accept 0..4 (int or digit string) or a level name ("automated-training", "Level 2")."""
    if isinstance(value, bool):
        raise ValueError("maturity must be a level number 0-4 or a level name")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        number = int(value)
    elif isinstance(value, str) and _norm(value) in LEVEL_ALIASES:
        return LEVEL_ALIASES[_norm(value)]
    else:
        names = ", ".join(f"{lv.number}={lv.slug}" for lv in LEVELS)
        raise ValueError(f"{value!r} is not a maturity level; allowed: 0-{MAX_LEVEL} or a name ({names})")
    if not 0 <= number <= MAX_LEVEL:
        raise ValueError(f"level {number} is out of range; allowed: 0-{MAX_LEVEL}")
    return number


def level(number: int) -> Level:
    return LEVELS[number]


def default_capabilities(maturity: int) -> set[str]:
    return {c.key for c in CAPABILITIES if c.min_level <= maturity}


def capability_problems(maturity: int, overrides: dict[str, bool]) -> list[tuple[str, str]]:
    """Return (feature key, message) for every override that contradicts the level or another capability."""
    problems: list[tuple[str, str]] = []
    enabled = default_capabilities(maturity)
    for key, on in overrides.items():
        cap = CAPABILITY_BY_KEY[key]
        if not on and not cap.optional:
            problems.append((key, f"'{key}' is part of every level and cannot be switched off"))
        elif on:
            enabled.add(key)
        else:
            enabled.discard(key)
    for key in sorted(enabled, key=lambda k: CAPABILITY_BY_KEY[k].min_level):
        cap = CAPABILITY_BY_KEY[key]
        for req in cap.requires:
            if req not in enabled:
                req_cap = CAPABILITY_BY_KEY[req]
                why = (f"it is off at level {maturity} (needs level {req_cap.min_level})"
                       if req_cap.min_level > maturity else "it is switched off")
                where = key if key in overrides else req
                problems.append((where, f"'{key}' requires '{req}', but {why}; raise mlops:maturity or "
                                        f"set features.{req}: true"))
    return problems


def enabled_capabilities(maturity: int, overrides: dict[str, bool] | None = None) -> frozenset[str]:
    enabled = default_capabilities(maturity)
    for key, on in (overrides or {}).items():
        (enabled.add if on else enabled.discard)(key)
    return frozenset(enabled)
