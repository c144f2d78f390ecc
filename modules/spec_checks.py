"""Cross-field rules of a stack spec (what pydantic's per-field validation cannot see): capabilities and their
prerequisites, unique names, repositories, network, serving, training and monitoring combinations. Each rule returns
:class:`~modules.spec.Problem` entries naming the key path; :func:`modules.spec.from_config` raises them together."""

from __future__ import annotations

import difflib

from . import levels
from .naming import LIMITS
from .spec import (GATE_METRICS, MONITOR_METRICS, NON_NEGATIVE_METRICS, UNIT_METRICS, Problem, Project, Serving,
                   StackSpec, Training, describe_vocabulary, infer_problem_type)
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
        problems.extend(_gate_problems(project, path))
        problems.extend(_data_problems(project, f"{path}.data"))
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


def _gate_problems(project: Project, path: str) -> list[Problem]:
    """training.qualityGate against the project's problem type: a metric of its vocabulary, exactly one bound, on
    the metric's side (min: higher is better, max: lower is better), in the metric's range."""
    gate, kind = project.training.quality_gate, project.problem_type
    key = f"{path}.training.qualityGate"
    vocab = GATE_METRICS[kind]
    allowed = f"allowed for problemType {kind}: {describe_vocabulary(kind)}"
    if gate.metric not in vocab:
        if "quality_gate" not in project.training.model_fields_set:
            return [Problem(key, f"required for problemType {kind}: the default gate (auc, min 0.8) is a binary "
                                 f"metric; {allowed}")]
        return [Problem(f"{key}.metric", f"{gate.metric!r} is not a {kind} metric (problemType: {kind}; "
                                         f"{gate.metric} is a {infer_problem_type(gate.metric)} metric); {allowed}")]
    side = vocab[gate.metric]
    other = "max" if side == "min" else "min"
    op = ">=" if side == "min" else "<="
    sense = f"{'higher' if side == 'min' else 'lower'}-is-better (the model registers when {gate.metric} {op} {side})"
    given = {b for b in ("min", "max") if getattr(gate, b) is not None}
    if given == {"min", "max"}:
        return [Problem(f"{key}.{other}", f"not allowed together with {side}: give exactly one bound; {gate.metric} "
                                          f"is {sense}")]
    if not given:
        return [Problem(f"{key}.{side}", f"required: a gate needs exactly one bound; {gate.metric} is {sense}")]
    if other in given:
        return [Problem(f"{key}.{other}", f"not allowed: {gate.metric} is {sense}; use {side}; "
                                          f"{allowed}")]
    value = float(getattr(gate, side))
    if gate.metric in UNIT_METRICS and not 0.0 <= value <= 1.0:
        return [Problem(f"{key}.{side}", f"{value:g} is out of range; {gate.metric} lies in [0, 1]: allowed "
                                         f"0 <= {side} <= 1")]
    if gate.metric == "r2" and value > 1.0:
        return [Problem(f"{key}.{side}", f"{value:g} is out of range; r2 is at most 1 (a perfect fit): allowed "
                                         f"{side} <= 1")]
    if gate.metric in NON_NEGATIVE_METRICS and value < 0.0:
        return [Problem(f"{key}.{side}", f"{value:g} is out of range; {gate.metric} is never negative: allowed "
                                         f"{side} >= 0")]
    return []


def _data_problems(project: Project, path: str) -> list[Problem]:
    """A column is the label, categorical or dropped: one of them (duplicates within a list: spec.Data)."""
    data, problems = project.data, []
    if data is None:
        return problems
    for key, names in (("categorical", data.categorical), ("drop", data.drop)):
        if data.label in names:
            problems.append(Problem(f"{path}.{key}", f"{data.label!r} is the label (data.label); allowed: the other "
                                                     f"columns (a column is the label, categorical or dropped)"))
    both = [n for n in data.categorical if n in data.drop]
    if both:
        problems.append(Problem(f"{path}.drop", f"{', '.join(map(repr, both))} also in data.categorical; a dropped "
                                                f"column is not a feature, so it cannot be categorical too"))
    return problems


def _monitoring_problems(project: Project, path: str) -> list[Problem]:
    """Model quality: the alarm watches the gate's metric as Model Monitor publishes it (MONITOR_METRICS); a gate
    metric Model Monitor does not compute has nothing to alarm on. Bias and explainability (SageMaker Clarify)
    take every problem type: BiasConfig's label_values_or_threshold is a positive value for binary, positive
    categories for multiclass and "one threshold that defines the exclusive lower bound of positive values" for
    regression (sagemaker.core.clarify.BiasConfig); what the analysis needs is the project's analysis config."""
    monitoring, problems = project.monitoring, []
    gate = project.training.quality_gate
    if monitoring.model_quality and gate.metric in GATE_METRICS[project.problem_type] \
            and MONITOR_METRICS.get(gate.metric) is None:
        published = [m for m in GATE_METRICS[project.problem_type] if MONITOR_METRICS.get(m)]
        problems.append(Problem(f"{path}.modelQuality",
                                f"true needs a gate metric Model Monitor publishes: its model-quality job computes "
                                f"no {gate.metric!r}, so no alarm could watch it; allowed: false, or a "
                                f"training.qualityGate.metric among {', '.join(published)} "
                                f"(problemType {project.problem_type})"))
    return problems
