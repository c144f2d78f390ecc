"""Policy-pack rules for training pipelines and IAM quotas (level 2); standard library only (see rules.py).

Each rule is a :class:`~modules.policies.rules.Rule`; ``RULES`` here is appended to ``rules.RULES``.

IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): the inline policies of
one role total at most 10,240 characters, a managed policy at most 6,144, a role trust policy at most 2,048
(default); "IAM doesn't count white space when calculating the size of a policy against these limits".
Over a quota ``PutRolePolicy`` / ``CreatePolicy`` / ``CreateRole`` fail with LimitExceeded (or MalformedPolicy)
in the middle of ``pulumi up``; the offline engines accept them, so the pack counts.

Pipeline rules read the SageMaker pipeline definition JSON (DESIGN 6b, 8): the register step's approval status
is the literal ``PendingManualApproval`` (a parameter would let whoever starts the pipeline register Approved);
every job output is under the execution id (else overlapping runs overwrite each other and every package's
metrics point at one object); a cached step takes a pipeline parameter in its code location (SageMaker's cache
key is the step's arguments, not the S3 contents, so a fixed code URI + caching returns the old result forever).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Iterator

from .rules import (
    MANDATORY, T_PIPELINE, T_POLICY, T_ROLE, T_ROLE_POLICY, Rule, as_list, get, of_type, policy_doc, refers,
)

INLINE_LIMIT = 10_240
MANAGED_LIMIT = 6_144
TRUST_LIMIT = 2_048
APPROVAL = "PendingManualApproval"
EXECUTION_ID = {"Get": "Execution.PipelineExecutionId"}
IAM_QUOTAS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
CACHE_KEYS = ("https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-caching.html "
              "(Default cache key attributes by pipeline step type)")


def policy_size(value: Any) -> int | None:
    """Characters IAM counts for a policy document: its JSON without white space (None when not JSON)."""
    doc = policy_doc(value)
    if doc is None:
        return None
    text = value if isinstance(value, str) else json.dumps(doc)
    return sum(1 for ch in text if not ch.isspace())


# ---- IAM quotas ---------------------------------------------------------------------------------------------

def _role_keys(role: Any) -> list[Any]:
    return [k for k in (get(role.props, "name"), get(role.props, "id")) if k]


def stack_inline_policy_total(resources: Sequence[Any]) -> Iterator[tuple[Any, str]]:
    for role in of_type(resources, T_ROLE):
        keys = _role_keys(role)
        sizes = [(get(p.props, "name") or p.name, policy_size(get(p.props, "policy")))
                 for p in of_type(resources, T_ROLE_POLICY)
                 if any(refers(p, "role", role, k) for k in keys or [None])]
        sizes += [(get(i, "name") or "inline", policy_size(get(i, "policy")))
                  for i in as_list(get(role.props, "inlinePolicies"))]
        total = sum(size or 0 for _, size in sizes)
        if total > INLINE_LIMIT:
            parts = ", ".join(f"{name} {size}" for name, size in sorted(sizes, key=lambda s: -(s[1] or 0))[:6])
            yield role, (f"inline policies total {total} characters (without white space) on role "
                         f"{keys[0] if keys else role.name}; IAM allows {INLINE_LIMIT} per role ({parts}): split "
                         f"them over per-project roles or managed policies")


def check_managed_policy_size(props: Mapping[str, Any]) -> Iterator[str]:
    size = policy_size(get(props, "policy"))
    if size is not None and size > MANAGED_LIMIT:
        yield f"managed policy is {size} characters (without white space); IAM allows {MANAGED_LIMIT}"


def check_trust_policy_size(props: Mapping[str, Any]) -> Iterator[str]:
    size = policy_size(get(props, "assumeRolePolicy"))
    if size is not None and size > TRUST_LIMIT:
        yield f"trust policy is {size} characters (without white space); IAM allows {TRUST_LIMIT} by default"


# ---- pipeline definitions -----------------------------------------------------------------------------------

def _steps(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    doc = policy_doc(get(props, "pipelineDefinition"))
    out: list[Mapping[str, Any]] = []

    def walk(steps: Any) -> None:
        for step in as_list(steps):
            if isinstance(step, Mapping):
                out.append(step)
                walk(get(step, "Arguments", "IfSteps"))
                walk(get(step, "Arguments", "ElseSteps"))

    walk(doc.get("Steps") if doc else None)
    return out


def _contains(expr: Any, needle: Any) -> bool:
    if expr == needle:
        return True
    if isinstance(expr, Mapping):
        return any(_contains(v, needle) for v in expr.values())
    if isinstance(expr, list):
        return any(_contains(v, needle) for v in expr)
    return False


def _parameter_refs(expr: Any) -> list[str]:
    if isinstance(expr, Mapping):
        ref = expr.get("Get")
        found = [ref] if isinstance(ref, str) and ref.startswith("Parameters.") else []
        return found + [r for v in expr.values() for r in _parameter_refs(v)]
    if isinstance(expr, list):
        return [r for v in expr for r in _parameter_refs(v)]
    return []


def check_approval_literal(props: Mapping[str, Any]) -> Iterator[str]:
    for step in _steps(props):
        if get(step, "Type") != "RegisterModel":
            continue
        status = get(step, "Arguments", "ModelApprovalStatus")
        if status != APPROVAL:
            yield (f"step {get(step, 'Name', default='?')}: ModelApprovalStatus is {json.dumps(status)}; it must be "
                   f"the literal {APPROVAL!r} (a parameter or Approved lets whoever starts the pipeline skip the "
                   f"human approval)")


def _outputs(step: Mapping[str, Any]) -> list[tuple[str, Any]]:
    args = get(step, "Arguments", default={})
    if get(step, "Type") == "Processing":
        return [(get(o, "OutputName", default="?"), get(o, "S3Output", "S3Uri"))
                for o in as_list(get(args, "ProcessingOutputConfig", "Outputs"))]
    if get(step, "Type") == "Training":
        return [("OutputDataConfig", get(args, "OutputDataConfig", "S3OutputPath"))]
    return []


def check_outputs_execution_scoped(props: Mapping[str, Any]) -> Iterator[str]:
    for step in _steps(props):
        for name, uri in _outputs(step):
            if uri is not None and not _contains(uri, EXECUTION_ID):
                yield (f"step {get(step, 'Name', default='?')}: output {name} ({json.dumps(uri)[:120]}) is not under "
                       f"the execution id (Execution.PipelineExecutionId): every run writes the same prefix")


def _code_locations(step: Mapping[str, Any]) -> list[Any]:
    args = get(step, "Arguments", default={})
    if get(step, "Type") == "Processing":
        return [get(i, "S3Input", "S3Uri") for i in as_list(get(args, "ProcessingInputs"))
                if get(i, "InputName") == "code"]
    if get(step, "Type") == "Training":
        return [get(args, "HyperParameters", "sagemaker_submit_directory")]
    return []


def check_cached_steps_key_on_code_version(props: Mapping[str, Any]) -> Iterator[str]:
    for step in _steps(props):
        if get(step, "CacheConfig", "Enabled") is not True:
            continue
        locations = [c for c in _code_locations(step) if c is not None]
        if not locations or not all(_parameter_refs(c) for c in locations):
            yield (f"step {get(step, 'Name', default='?')} caches, but its code location "
                   f"({json.dumps(locations)[:120] if locations else 'none'}) takes no pipeline parameter: the cache "
                   f"key is the step's arguments, so new code under the same URI returns the cached result")


# refs name scanner ids only (none of these has one); the AWS documents are IAM_QUOTAS and CACHE_KEYS above.
RULES: tuple[Rule, ...] = (
    Rule("LADDER-QUOTA-001", "Inline policies of one role total at most 10,240 characters",
         "IAM counts every inline policy of a role against one 10,240-character quota (white space not counted); "
         "past it PutRolePolicy fails with LimitExceeded during pulumi up",
         MANDATORY, T_ROLE, stack_inline_policy_total, (), "stack"),
    Rule("LADDER-QUOTA-002", "Managed policies are at most 6,144 characters",
         "IAM refuses a managed policy document over 6,144 characters (white space not counted)",
         MANDATORY, T_POLICY, check_managed_policy_size, ()),
    Rule("LADDER-QUOTA-003", "Role trust policies are at most 2,048 characters",
         "IAM's default quota for a role trust policy is 2,048 characters (white space not counted)",
         MANDATORY, T_ROLE, check_trust_policy_size, ()),
    Rule("LADDER-PIPE-001", "Pipelines register models as the literal PendingManualApproval",
         "approval is human: a status parameter lets anyone allowed to start the pipeline register Approved, "
         "which fires the deployment",
         MANDATORY, T_PIPELINE, check_approval_literal, ()),
    Rule("LADDER-PIPE-002", "Pipeline step outputs are execution-scoped",
         "outputs without the execution id are shared by every run: overlapping runs overwrite each other and "
         "each package's metrics point at the object the last run wrote",
         MANDATORY, T_PIPELINE, check_outputs_execution_scoped, ()),
    Rule("LADDER-PIPE-003", "Cached pipeline steps key on a code version",
         "SageMaker's step cache keys on the step's arguments, not on S3 contents: a cached step whose code URI "
         "takes no parameter returns the old result for new code",
         MANDATORY, T_PIPELINE, check_cached_steps_key_on_code_version, ()),
)
