"""The rules of ``rules.py`` as pulumi_policy (CrossGuard) policies.

``build_policies()`` returns one ``ResourceValidationPolicy`` or ``StackValidationPolicy`` per rule; the
CrossGuard entry point (``__main__.py``) hands them to ``PolicyPack`` and the offline runner calls the very
same objects with ``ResourceValidationArgs`` / ``StackValidationArgs`` built from the plan graph.

Violation messages start with ``[<rule id>]`` and end with the well-known ids, so the Pulumi CLI output
names both. Waivers for ``pulumi preview --policy-pack`` come from the policy pack config
(``--policy-pack-config``; ``ladder check --write-policy-config`` writes it from the stack's
``mlops:policyExceptions``): ``{"<rule id>": {"exceptions": [{"resource": .., "reason": ..}]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .rules import MANDATORY, RULES, Rule, run_resource_rule, run_stack_rule

PACK_NAME = "mlops-ladder"
DESCRIPTION = ("mlops-ladder guardrails: S3/KMS/IAM/ECR/OIDC foundations and the SageMaker deployment and "
               "monitoring resources of levels 2-4, with checkov / cfn-nag / AWS Config ids.")

EXCEPTIONS_SCHEMA = PolicyConfigSchema(properties={
    "exceptions": {
        "type": "array",
        "description": "Waived resources (logical name or URN) with the reason, from mlops:policyExceptions.",
        "items": {"type": "object",
                  "properties": {"resource": {"type": "string"}, "reason": {"type": "string", "minLength": 1}},
                  "required": ["resource", "reason"]},
    },
})


def message(rule: Rule, text: str) -> str:
    refs = f" ({', '.join(rule.refs)})" if rule.refs else ""
    return f"[{rule.id}] {text}{refs}"


def waived(config: Mapping[str, Any], name: Optional[str], urn: Optional[str]) -> bool:
    for item in (config or {}).get("exceptions", []) or []:
        target = item.get("resource") if isinstance(item, Mapping) else None
        if target and str(item.get("reason") or "").strip() and target in (name, urn):
            return True
    return False


def _resource_validate(rule: Rule):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        messages = run_resource_rule(rule, args.resource_type, args.props)
        if messages and waived(args.get_config(), args.name, args.urn):
            return
        for text in messages:
            report_violation(message(rule, text), None)
    return validate


def _stack_validate(rule: Rule):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config = args.get_config()
        for resource, text in run_stack_rule(rule, args.resources):
            if resource is not None and waived(config, resource.name, resource.urn):
                continue
            report_violation(message(rule, text), resource.urn if resource is not None else None)
    return validate


def to_policy(rule: Rule) -> Policy:
    common: dict[str, Any] = dict(
        name=rule.id,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY if rule.severity == MANDATORY else EnforcementLevel.ADVISORY,
        severity=Severity.HIGH if rule.severity == MANDATORY else Severity.LOW,
        config_schema=EXCEPTIONS_SCHEMA,
        display_name=rule.title,
        tags=list(rule.refs) or None,
    )
    if rule.scope == "stack":
        return StackValidationPolicy(validate=_stack_validate(rule), **common)
    return ResourceValidationPolicy(validate=_resource_validate(rule), **common)


def build_policies() -> list[Policy]:
    return [to_policy(rule) for rule in RULES]
