"""Policy-pack rules for trust and least privilege; standard library only (see rules.py).

Each rule is a :class:`~modules.policies.rules.Rule`; ``RULES`` here is appended to ``rules.RULES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

from .rules import (IAM_DOC_TYPES, MANDATORY, T_ROLE, Rule, _action_matches, _per_type, _sid, actions, allows,
                    as_list, policy_doc, policy_documents, statements)

GITHUB_HOST = "token.actions.githubusercontent.com"


def _conditions(st: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    out = []
    cond = st.get("Condition") or {}
    if isinstance(cond, Mapping):
        for op, block in cond.items():
            if isinstance(block, Mapping):
                for k, v in block.items():
                    out.append((str(op), str(k), [str(x) for x in as_list(v)]))
    return out


def check_github_trust_pinned(props: Mapping[str, Any]) -> Iterator[str]:
    """GitHub OIDC trust admits exactly ``repo:<o>/<r>:ref:refs/heads/<branch>`` or ``...:environment:<env>``."""
    for i, st in enumerate(statements(policy_doc(props.get("assumeRolePolicy")))):
        if not allows(st) or not any(_action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions(st)):
            continue
        subs = [(op, vals) for op, k, vals in _conditions(st) if k == f"{GITHUB_HOST}:sub"]
        for op, vals in subs:
            for v in vals:
                parts = v.split(":", 2)
                pinned = (len(parts) == 3 and parts[0] == "repo" and "*" not in v and "?" not in v
                          and (parts[2].startswith("ref:refs/heads/") or parts[2].startswith("environment:")))
                if not pinned:
                    yield (f"trust {_sid(st, i)} sub {v!r} ({op}) is not pinned to a branch ref or a GitHub "
                           f"environment: any branch or pull request of the repository could assume the role")


def check_create_grant_for_aws_resource(type_: str):
    def check(props: Mapping[str, Any]) -> Iterator[str]:
        for label, doc in policy_documents(type_, props):
            for i, st in enumerate(statements(doc)):
                if not allows(st) or not any(_action_matches(a, "kms:CreateGrant") for a in actions(st)):
                    continue
                ok = any(k.lower() == "kms:grantisforawsresource" and op.startswith("Bool") and vals == ["true"]
                         for op, k, vals in _conditions(st))
                if not ok:
                    yield (f"{label} {_sid(st, i)} allows kms:CreateGrant without Bool kms:GrantIsForAWSResource "
                           f"= true: the role can grant the key to any principal")
    return check


RULES: tuple[Rule, ...] = (
    Rule("LADDER-SEC-001", "GitHub OIDC trust is pinned to a branch ref or a GitHub environment",
         "repo:<o>/<r>:* trusts every branch, pull request and environment: any branch could ship to prod",
         MANDATORY, T_ROLE, check_github_trust_pinned),  # GitHub docs: about-security-hardening-with-openid-connect
    Rule("LADDER-SEC-002", "kms:CreateGrant only with kms:GrantIsForAWSResource",
         "without the condition a role can grant the stack key to anyone",
         MANDATORY, IAM_DOC_TYPES, _per_type(check_create_grant_for_aws_resource)),  # AWS KMS conditions-kms
)
