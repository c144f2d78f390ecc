"""Cross-field rules of a stack spec (what pydantic's per-field validation cannot see): capabilities and their
prerequisites, unique names, repositories, network, serving, training and monitoring combinations. Each rule returns
:class:`~modules.spec.Problem` entries naming the key path; :func:`modules.spec.from_config` raises them together."""

from __future__ import annotations

import difflib

from . import levels
from .naming import LIMITS
from .spec import PROBLEM_TYPES, Problem, Project, Serving, StackSpec, Training
from .validation import endpoint_problems, validate_model_package_arn, validate_oidc_provider_arn

def semantic_problems(spec: StackSpec) -> list[Problem]:
    problems: list[Problem] = []
    # features
    feats = {}
    for key, on in spec.features.items():
        if key not in levels.CAPABILITY_BY_KEY:
            allowed = sorted(levels.CAPABILITY_BY_KEY)
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(Problem(f"mlops:features.{key}", f"unknown capability{hint} allowed: {', '.join(allowed)}"))
        else:
            feats[key] = on
    for key, message in levels.capability_problems(spec.maturity, feats):
        problems.append(Problem(f"mlops:features.{key}", message))
    caps = levels.enabled_capabilities(spec.maturity, feats)
    if "ci_identity" in caps and spec.github is None and any(p.repository is None for p in spec.projects):
        problems.append(Problem("mlops:github.org", "required at level 1+ (CI identity) unless every project sets "
                                                    "'repository: <owner>/<name>'"))
    if "approval_events" in caps and (spec.github is None or not spec.github.platform_repository):
        problems.append(Problem("mlops:github.platformRepository", "required at level 3+ (approval events): "
                                "<owner>/<name> of the platform repository; approvals dispatch 'model-approved' to "
                                "it and its deploy workflow assumes this stack's platform-deploy role"))
    if spec.github is not None and spec.github.oidc_provider_arn:
        problems.extend(_check("mlops:github.oidcProviderArn", validate_oidc_provider_arn,
                               spec.github.oidc_provider_arn, spec.region))
    if spec.policy_exceptions:  # waivers only for rules that exist (the pack is imported only when needed)
        from .policies.runner import exception_problems

        problems.extend(exception_problems(spec))
    # names
    naming = spec.naming
    for role, derived in naming.shared_names().items():
        if not derived.ok:
            problems.append(Problem("mlops:org", f"the {role} name {derived.value!r} would be {derived.length} "
                                                 f"characters; AWS allows {LIMITS[derived.kind]}; shorten mlops:org"))
    seen: dict[str, int] = {}
    for i, project in enumerate(spec.projects):
        path = f"mlops:projects[{i}]"
        if project.name in seen:
            problems.append(Problem(f"{path}.name", f"duplicate project name {project.name!r} "
                                                    f"(also mlops:projects[{seen[project.name]}]); names must be unique"))
        seen.setdefault(project.name, i)
        for role, derived in naming.project_names(project.name).items():
            if not derived.ok:
                problems.append(Problem(
                    f"{path}.name",
                    f"{project.name!r} is too long: the {role} name {derived.value!r} would be {derived.length} "
                    f"characters; AWS allows {LIMITS[derived.kind]}"))
                break
        if project.serving.min_instances > project.serving.max_instances:
            problems.append(Problem(f"{path}.serving.minInstances",
                                    f"{project.serving.min_instances} is greater than maxInstances "
                                    f"({project.serving.max_instances}); need minInstances <= maxInstances"))
        problems.extend(_monitoring_problems(project, f"{path}.monitoring"))
        problems.extend(_training_problems(caps, project.training, f"{path}.training"))
        if project.serving.model_package_arn:
            problems.extend(_check(f"{path}.serving.modelPackageArn", validate_model_package_arn,
                                   project.serving.model_package_arn, spec.region))
        if project.serving.previous_model_package_arn:
            problems.extend(_check(f"{path}.serving.previousModelPackageArn", validate_model_package_arn,
                                   project.serving.previous_model_package_arn, spec.region))
            if not project.serving.model_package_arn:
                problems.append(Problem(f"{path}.serving.previousModelPackageArn",
                                        "set without serving.modelPackageArn; the previous package is only kept as the "
                                        "rollback target of a served one (`ladder deploy` writes both)"))
        problems.extend(_serving_problems(spec, caps, project.serving, f"{path}.serving"))
    return problems


def _check(path: str, validator, *args) -> list[Problem]:
    try:
        validator(*args)
    except ValueError as exc:
        return [Problem(path, str(exc))]
    return []


def _serving_problems(spec: StackSpec, caps: frozenset[str], serving: Serving, path: str) -> list[Problem]:
    """Endpoint rules AWS would only reject at deploy time (validation.endpoint_problems)."""
    prod_endpoint = "endpoint" in caps and spec.environment == "prod"
    return [Problem(p, m) for p, m in endpoint_problems(serving, prod_endpoint=prod_endpoint, path=path)]


def _training_problems(caps: frozenset[str], training: Training, path: str) -> list[Problem]:
    """cacheSteps only where every run passes new arguments: SageMaker keys a step's cache on its arguments
    (AppSpecification, Environment, ProcessingInputs / AlgorithmSpecification, HyperParameters, InputDataConfig...;
    docs: "Default cache key attributes by pipeline step type"), not on the S3 objects they name. A schedule or
    the retraining loop starts the pipeline with the same parameters every time, so it would hit the cache."""
    if not training.cache_steps:
        return []
    triggers = []
    if "training_schedule" in caps and training.schedule:
        triggers.append(f"training.schedule ({training.schedule})")
    if "retraining_loop" in caps:
        triggers.append("the level-4 retraining loop")
    if not triggers:
        return []
    return [Problem(f"{path}.cacheSteps",
                    f"true is not allowed with {' and '.join(triggers)}: those runs start the pipeline with the same "
                    f"parameters every time and SageMaker's step cache keys on the step's arguments, not on the S3 "
                    f"contents, so they would re-register the cached model; allowed: false (the default), or switch "
                    f"the schedule/retraining off")]


def _monitoring_problems(project: Project, path: str) -> list[Problem]:
    monitoring, problems = project.monitoring, []
    metric = project.training.quality_gate.metric
    if (monitoring.model_quality or monitoring.bias is not None) and metric not in PROBLEM_TYPES:
        key = "modelQuality" if monitoring.model_quality else "bias"
        problems.append(Problem(f"{path}.{key}", f"needs a problem type, taken from training.qualityGate.metric; "
                                                 f"{metric!r} has none; allowed metrics: {', '.join(PROBLEM_TYPES)}"))
    return problems


