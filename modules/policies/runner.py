"""Offline policy runner: the CrossGuard pack over the plan graph, with waivers from the stack spec.

``run_checks(graph, spec)`` builds pulumi_policy's own ``ResourceValidationArgs`` (inputs, behind the
unknown-checking proxy CrossGuard uses) for every custom resource and one ``StackValidationArgs`` (outputs,
with parents and dependencies) for the stack, calls every policy of :func:`pack.build_policies` and
collects the reported violations. A value the plan could not resolve never passes silently: the policy
that touched it reports a violation "cannot be evaluated".
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Optional

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from ..spec import Problem, SpecError, StackSpec
from . import pack
from .rules import MANDATORY, RULE_BY_ID, RULES, Rule


@dataclass
class Violation:
    rule: str
    severity: str
    title: str
    message: str
    urn: Optional[str]
    name: Optional[str]
    type: Optional[str]
    refs: list[str] = field(default_factory=list)
    waived: bool = False
    reason: Optional[str] = None

    @property
    def blocking(self) -> bool:
        return self.severity == MANDATORY and not self.waived

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    stack: str
    environment: str
    maturity: int
    violations: list[Violation]
    rules: int
    resources: int
    notes: list[str] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.blocking]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if not v.waived and v.severity != MANDATORY]

    @property
    def waived(self) -> list[Violation]:
        return [v for v in self.violations if v.waived]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack, "environment": self.environment, "maturity": self.maturity,
            "passed": self.passed,
            "summary": {"mandatory": len(self.mandatory), "advisory": len(self.advisory),
                        "waived": len(self.waived), "rules": self.rules, "resources": self.resources},
            "violations": [v.to_json() for v in self.violations],
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------------
# Building CrossGuard arguments from the graph
# ---------------------------------------------------------------------------------------------------

_NO_TIMEOUTS = PolicyCustomTimeouts(0, 0, 0)


def _opts(res) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=bool(res.protect), ignore_changes=list(res.ignore_changes),
                                 delete_before_replace=bool(res.delete_before_replace), aliases=[],
                                 custom_timeouts=_NO_TIMEOUTS, additional_secret_outputs=[], parent=res.parent)


def stack_resources(resources: Iterable[Any]) -> list[PolicyResource]:
    """``PolicyResource`` objects as CrossGuard builds them for stack policies (props = outputs)."""
    items = list(resources)
    by_urn: dict[str, PolicyResource] = {}
    for r in items:
        props = dict(r.outputs) if r.outputs else dict(r.inputs)
        by_urn[r.urn] = PolicyResource(r.type, unknown_checking_proxy(props), r.urn, r.name, _opts(r), None,
                                       None, [], {})
    for r in items:
        pr = by_urn[r.urn]
        pr.parent = by_urn.get(r.parent) if r.parent else None
        pr.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
    return list(by_urn.values())


def _violation(rule: Rule, text: str, res: Any) -> Violation:
    return Violation(rule=rule.id, severity=rule.severity, title=rule.title, message=_strip(rule, text),
                     urn=getattr(res, "urn", None), name=getattr(res, "name", None),
                     type=getattr(res, "type", None) or getattr(res, "resource_type", None), refs=list(rule.refs))


def _strip(rule: Rule, text: str) -> str:
    """Messages carry ``[id] ... (refs)`` for the Pulumi CLI; the report keeps those in their own fields."""
    prefix = f"[{rule.id}] "
    if text.startswith(prefix):
        text = text[len(prefix):]
    suffix = f" ({', '.join(rule.refs)})" if rule.refs else ""
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return text


def _await(result: Any) -> None:
    if result is not None and inspect.isawaitable(result):
        import asyncio

        asyncio.new_event_loop().run_until_complete(result)


def evaluate(resources: Iterable[Any], *, rules: Iterable[Rule] = RULES) -> list[Violation]:
    """Run the pack's policies over resources shaped like :class:`modules.plan.Resource`; no waivers."""
    items = [r for r in resources if getattr(r, "custom", True)]
    wanted = {r.id for r in rules}
    policies = [p for p in pack.build_policies() if p.name in wanted]
    out: list[Violation] = []
    for policy in policies:
        rule = RULE_BY_ID[policy.name]
        if isinstance(policy, ResourceValidationPolicy):
            for res in items:
                args = ResourceValidationArgs(res.type, unknown_checking_proxy(dict(res.inputs)), res.urn, res.name,
                                              _opts(res), None, {})
                found: list[str] = []
                try:
                    _await(policy.validate(args, lambda msg, urn=None, found=found: found.append(msg)))
                except UnknownValueError as exc:
                    found.append(f"cannot be evaluated: {exc.message}")
                out.extend(_violation(rule, text, res) for text in found)
        elif isinstance(policy, StackValidationPolicy):
            prs = stack_resources(items)
            by_urn = {r.urn: r for r in items}
            reported: list[tuple[str, Optional[str]]] = []
            try:
                def report(msg, urn=None, reported=reported):
                    reported.append((msg, urn))

                _await(policy.validate(StackValidationArgs(prs, {}), report))
            except UnknownValueError as exc:
                reported.append((f"cannot be evaluated: {exc.message}", None))
            out.extend(_violation(rule, msg, by_urn.get(urn) if urn else None) for msg, urn in reported)
    return out


# ---------------------------------------------------------------------------------------------------
# Waivers and the report
# ---------------------------------------------------------------------------------------------------

def exception_problems(spec: StackSpec) -> list[Problem]:
    problems = []
    known = sorted(RULE_BY_ID)
    for i, exc in enumerate(spec.policy_exceptions):
        if exc.rule not in RULE_BY_ID:
            close = difflib.get_close_matches(exc.rule, known, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            problems.append(Problem(f"mlops:policyExceptions[{i}].rule",
                                    f"unknown rule id {exc.rule!r}; {hint}`ladder check --rules` lists the rules "
                                    f"(ids look like LADDER-S3-001)"))
    return problems


def validate_exceptions(spec: StackSpec) -> None:
    """SpecError for exceptions that name unknown rules (reasons are enforced by the spec model)."""
    problems = exception_problems(spec)
    if problems:
        raise SpecError(spec.source, problems)


def apply_exceptions(violations: list[Violation], spec: Optional[StackSpec]) -> list[str]:
    """Mark waived violations (with the reason); return notes about exceptions that matched nothing."""
    notes = []
    for exc in (spec.policy_exceptions if spec is not None else []):
        hits = [v for v in violations if v.rule == exc.rule and exc.resource in (v.name, v.urn)]
        for v in hits:
            v.waived, v.reason = True, exc.reason
        if not hits:
            notes.append(f"policy exception {exc.rule} for {exc.resource!r} matched no violation; remove it")
    return notes


def run_checks(graph, spec: Optional[StackSpec] = None) -> Report:
    """Check a plan graph; waivers come from ``spec.policy_exceptions`` (unknown rule ids: SpecError)."""
    if spec is not None:
        validate_exceptions(spec)
    violations = evaluate(graph.resources)
    notes = apply_exceptions(violations, spec)
    violations.sort(key=lambda v: (v.urn or "", v.severity != MANDATORY, v.rule, v.message))
    return Report(stack=graph.stack, environment=graph.environment, maturity=graph.maturity, violations=violations,
                  rules=len(RULES), resources=sum(1 for r in graph.resources if r.custom), notes=notes)


def policy_pack_config(spec: StackSpec) -> dict[str, Any]:
    """The ``--policy-pack-config`` document that carries the stack's waivers to ``pulumi preview``."""
    validate_exceptions(spec)
    config: dict[str, Any] = {}
    for exc in spec.policy_exceptions:
        config.setdefault(exc.rule, {"exceptions": []})["exceptions"].append(
            {"resource": exc.resource, "reason": exc.reason})
    return config
