"""Policy-pack rules for trust, least privilege and secrets; standard library only (see rules.py).

Each rule is a :class:`~modules.policies.rules.Rule`; ``RULES`` here is appended to ``rules.RULES``.
"""

from __future__ import annotations

from .rules import Rule  # noqa: F401

RULES: tuple[Rule, ...] = ()
