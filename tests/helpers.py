"""Shared builders for tests: in-memory stack configs and plans."""

from __future__ import annotations

import copy
import json
from typing import Any

from modules import plan, spec

BASE: dict[str, Any] = {
    "aws:region": "us-east-1",
    "mlops:environment": "dev",
    "mlops:maturity": 2,
    "mlops:owner": "ml-platform@example.com",
    "mlops:org": "acme",
    "mlops:github": {"org": "acme-ml"},
    "mlops:projects": [
        {"name": "churn", "training": {"schedule": "rate(7 days)", "qualityGate": {"metric": "auc", "min": 0.8}}},
        {"name": "fraud", "training": {"qualityGate": {"metric": "f1", "min": 0.7}}},
    ],
}


def config(**overrides: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(BASE)
    for key, value in overrides.items():
        cfg[f"mlops:{key}" if ":" not in key else key] = value
    return cfg


def run(cfg: dict[str, Any], stack: str = "test") -> plan.Graph:
    s = spec.from_config(cfg, source="<test>", stack=stack)
    return plan.run_program(s, cfg)


def policy(resource: plan.Resource, key: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[key])


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    st = doc["Statement"]
    return st if isinstance(st, list) else [st]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def fresh(server) -> None:
    """Reset moto (state is per process, shared by every server in it) and the sandbox's emulation."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"), timeout=30).read()
