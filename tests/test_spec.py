"""Spec validation: valid specs load with defaults; every bad spec gives its one clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules import levels, spec
from tests.helpers import config


def test_sample_stacks_are_valid():
    for name, level in (("dev", 2), ("staging", 3), ("prod", 4)):
        s = spec.load(stack=name)
        assert s.maturity == level
        assert s.environment == name
        assert s.projects, name


def test_defaults_live_in_the_spec():
    s = spec.from_config(config(projects=[{"name": "churn"}]))
    p = s.projects[0]
    assert p.training.instance_type == "ml.m5.xlarge"
    assert p.training.quality_gate.metric == "auc" and p.training.quality_gate.min == 0.8
    assert p.training.code_version == "initial"
    assert (p.serving.min_instances, p.serving.max_instances) == (1, 2)
    assert p.monitoring.schedule == "daily"
    assert s.repository_of(p) == "acme-ml/churn"


@pytest.mark.parametrize("value,expected", [
    (0, 0), ("4", 4), ("automated-training", 2), ("Automated Training", 2), ("devops", 1), ("level-3", 3),
    ("full_automation", 4),
])
def test_maturity_accepts_numbers_and_names(value, expected):
    assert spec.from_config(config(maturity=value)).maturity == expected


def test_repository_override_and_capabilities():
    s = spec.from_config(config(projects=[{"name": "churn", "repository": "other/churn-repo"}],
                                features={"training_schedule": False}))
    assert s.repository_of(s.projects[0]) == "other/churn-repo"
    assert "training_schedule" not in s.capabilities and "training_pipeline" in s.capabilities


BAD_SPECS = [
    # (overrides, key path in the message, words in the message)
    ({"maturity": 5}, "mlops:maturity", "out of range; allowed: 0-4"),
    ({"maturity": "expert"}, "mlops:maturity", "not a maturity level"),
    ({"environment": "test"}, "mlops:environment", "'dev', 'staging' or 'prod'"),
    ({"projcts": []}, "mlops:projcts", "did you mean 'projects'"),
    ({"projects": [{"name": "churn", "trainng": {}}]}, "mlops:projects[0].trainng", "did you mean 'training'"),
    ({"projects": [{"name": "churn", "training": {"instanceTyp": "ml.m5.large"}}]},
     "mlops:projects[0].training.instanceTyp", "did you mean 'instanceType'"),
    ({"projects": [{"name": "churn"}, {"name": "churn"}]}, "mlops:projects[1].name", "duplicate project name"),
    ({"projects": [{"name": "Churn_Model"}]}, "mlops:projects[0].name", "not DNS-safe"),
    ({"projects": [{"name": "x" * 50}]}, "mlops:projects[0].name", "AWS allows 63"),
    ({"org": "a" * 20, "projects": [{"name": "p" * 30}]}, "mlops:projects[0].name", "too long"),
    ({"projects": [{"name": "churn", "training": {"instanceType": "m5.xlarge"}}]},
     "mlops:projects[0].training.instanceType", "expected ml.<family>.<size>"),
    ({"projects": [{"name": "churn", "serving": {"instanceType": "ml.m5"}}]},
     "mlops:projects[0].serving.instanceType", "expected ml.<family>.<size>"),
    ({"projects": [{"name": "churn", "training": {"schedule": "every week"}}]},
     "mlops:projects[0].training.schedule", "rate(<n> minutes|hours|days)"),
    ({"projects": [{"name": "churn", "training": {"schedule": "rate(1 days)"}}]},
     "mlops:projects[0].training.schedule", "write 'rate(1 day)'"),
    ({"projects": [{"name": "churn", "training": {"schedule": "rate(0 hours)"}}]},
     "mlops:projects[0].training.schedule", "positive"),
    ({"projects": [{"name": "churn", "training": {"schedule": "cron(0 12 * * *)"}}]},
     "mlops:projects[0].training.schedule", "needs 6 fields"),
    ({"projects": [{"name": "churn", "training": {"schedule": "cron(0 12 * * MON *)"}}]},
     "mlops:projects[0].training.schedule", "exactly one of day-of-month and day-of-week must be '?'"),
    ({"projects": [{"name": "churn", "training": {"qualityGate": {"metric": "auc", "min": 1.5}}}]},
     "mlops:projects[0].training.qualityGate.min", "allowed 0 <= min <= 1"),
    ({"projects": [{"name": "churn", "training": {"qualityGate": {"metric": "rmse"}}}]},
     "mlops:projects[0].training.qualityGate.max", "required: a gate needs exactly one bound"),
    ({"projects": [{"name": "churn", "training": {"qualityGate": {"metric": "mse", "max": 1}}}]},
     "mlops:projects[0].training.qualityGate.metric", "'mse' is not allowed"),
    ({"projects": [{"name": "churn", "monitoring": {"driftThreshold": 0}}]},
     "mlops:projects[0].monitoring.driftThreshold", "greater than 0"),
    ({"projects": [{"name": "churn", "serving": {"minInstances": 4, "maxInstances": 2}}]},
     "mlops:projects[0].serving.minInstances", "greater than maxInstances"),
    ({"features": {"monitoring": True}}, "mlops:features.monitoring", "requires 'endpoint'"),
    ({"features": {"foundation": False}}, "mlops:features.foundation", "cannot be switched off"),
    ({"features": {"model_registry": False}}, "mlops:features.model_registry", "requires 'model_registry'"),
    ({"features": {"endpont": True}}, "mlops:features.endpont", "did you mean 'endpoint'"),
    ({"github": None, "maturity": 1}, "mlops:github", "required at level 1+"),
    ({"registry": 1}, "mlops:registry", "unknown key"),
    ({"projects": [{"name": "churn", "registry": {"shareWith": ["1234"]}}]},
     "mlops:projects[0].registry.shareWith", "12 digits"),
    ({"network": {"vpcId": "vpc-12345678", "subnetIds": [], "securityGroupIds": ["sg-12345678"]}},
     "mlops:network.subnetIds", "at least 1"),
    ({"aws:region": "moon-1"}, "aws:region", "not an AWS region"),
]


@pytest.mark.parametrize("overrides,path,words", BAD_SPECS, ids=[b[1] + ":" + b[2][:20] for b in BAD_SPECS])
def test_bad_spec_gives_one_clear_message(overrides, path, words):
    cfg = config()
    for key, value in overrides.items():
        full = key if ":" in key else f"mlops:{key}"
        if value is None:
            cfg.pop(full)
        else:
            cfg[full] = value
    with pytest.raises(spec.SpecError) as info:
        spec.from_config(cfg, source="stacks/Pulumi.bad.yaml")
    lines = str(info.value).splitlines()
    matching = [line for line in lines if line.startswith(f"stacks/Pulumi.bad.yaml: {path}")]
    assert matching, lines
    assert any(words in line for line in matching), lines


def test_every_problem_is_reported_at_once():
    cfg = config(maturity=9, environment="qa")
    with pytest.raises(spec.SpecError) as info:
        spec.from_config(cfg)
    paths = [p.path for p in info.value.problems]
    assert "mlops:maturity" in paths and "mlops:environment" in paths


def test_missing_file_names_known_stacks(tmp_path):
    with pytest.raises(spec.SpecError) as info:
        spec.load(stack="nope")
    assert "no such stack file" in str(info.value) and "dev" in str(info.value)


def test_invalid_yaml(tmp_path: Path):
    f = tmp_path / "Pulumi.broken.yaml"
    f.write_text("config: [unclosed\n")
    with pytest.raises(spec.SpecError) as info:
        spec.load(path=f)
    assert "not valid YAML" in str(info.value)


def test_pulumi_config_roundtrip():
    cfg = config()
    wire = spec.config_to_pulumi(cfg)
    assert all(isinstance(v, str) for v in wire.values())
    assert spec.from_config(spec.config_from_pulumi(wire)) == spec.from_config(cfg)


def test_levels_table_is_consistent():
    assert [lv.number for lv in levels.LEVELS] == list(range(levels.MAX_LEVEL + 1))
    for cap in levels.CAPABILITIES:
        for req in cap.requires:
            assert levels.CAPABILITY_BY_KEY[req].min_level <= cap.min_level, (cap.key, req)
    for n in range(levels.MAX_LEVEL + 1):
        assert levels.capability_problems(n, {}) == []
        if n:
            assert levels.default_capabilities(n - 1) < levels.default_capabilities(n)
