"""Validation matches what AWS (and GitHub) accept: each case was accepted by the old validator and AWS refuses it.

Sources are cited in modules/validation.py (EventBridge Scheduler schedule types, botocore's SageMaker model,
S3 bucket naming rules, the TagValue shape, GitHub naming rules).
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from typer.testing import CliRunner

from modules import spec, validation
from modules.cli import app
from tests.helpers import config


def problems(cfg) -> str:
    with pytest.raises(spec.SpecError) as info:
        spec.from_config(cfg, source="stacks/Pulumi.x.yaml")
    return str(info.value)


def with_project(**sections):
    cfg = config()
    cfg["mlops:projects"] = [dict({"name": "churn"}, **sections)]
    return cfg


# ---- EventBridge Scheduler: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html -----------

@pytest.mark.parametrize("expr, words", [
    ("cron(99 99 ? * MON *)", "minutes '99'"),        # minutes 0-59
    ("cron(0 24 ? * MON *)", "hours '24'"),            # hours 0-23
    ("cron(0 0 32 * ? *)", "day-of-month '32'"),       # day of month 1-31
    ("cron(0 0 0 * ? *)", "day-of-month '0'"),
    ("cron(0 0 ? FOO MON *)", "month 'FOO'"),          # 1-12 or JAN-DEC
    ("cron(0 0 ? 13 MON *)", "month '13'"),
    ("cron(0 0 ? * MOX *)", "day-of-week 'MOX'"),      # 1-7 or SUN-SAT
    ("cron(0 0 ? * 8 *)", "day-of-week '8'"),
    ("cron(0 0 ? * MON 1900)", "year '1900'"),         # 1970-2199
    ("cron(0 0 ? * MON 2200)", "year '2200'"),
    ("cron(0 0 * * * *)", "exactly one of day-of-month and day-of-week"),
    ("cron(0 0 ? * ? *)", "exactly one of day-of-month and day-of-week"),
    ("cron(0 0 ? L MON *)", "month 'L'"),                # L only in day-of-month/day-of-week
    ("cron(0 0 ? * 3#1,6#3 *)", "one expression only"),
    ("cron(0 0 ? * 3#6 *)", "#<1-5>"),
    ("cron(0 0 ? * MON,,TUE *)", "empty list item"),
    ("cron(0 0 ? * MON)", "needs 6 fields"),
    ("rate(0 days)", "positive"),
    ("rate(1 days)", "rate(1 day)"),
])
def test_schedules_aws_refuses_are_refused(expr, words):
    with pytest.raises(ValueError) as info:
        validation.validate_schedule(expr)
    assert words in str(info.value)
    assert "allowed" in str(info.value) or "write" in str(info.value) or "exactly" in str(info.value) \
        or "needs" in str(info.value) or "one expression" in str(info.value)


@pytest.mark.parametrize("expr", [
    "cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)", "cron(0 9 ? * 2#1 *)",
    "cron(0 0 L * ? *)", "cron(0 0 ? * 6L 2030)", "cron(0 0 3W * ? *)", "cron(0 0 1 JAN,JUL ? 1970-2199)",
    "rate(1 day)", "rate(7 days)", "rate(5 minutes)", "rate(1 hour)",
])
def test_documented_schedule_examples_are_accepted(expr):
    assert validation.validate_schedule(expr) == expr


def test_bad_cron_in_a_spec_names_the_key_and_what_is_allowed():
    text = problems(with_project(training={"schedule": "cron(99 99 ? * MON *)"}))
    assert "mlops:projects[0].training.schedule: 'cron(99 99 ? * MON *)': cron field minutes" in text
    assert "allowed: 0-59" in text


OLD_INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.[0-9]*x?large$|^ml\.[a-z][a-z0-9-]*\.(medium|small|micro|nano|metal)$")


# ---- instance types from botocore's enums, per use ------------------------------------------------------------

@pytest.mark.parametrize("section, key, value, words", [
    ("training", "instanceType", "ml.m5.3xlarge", "not a SageMaker training instance type"),
    ("training", "instanceType", "ml.t2.medium", "only a endpoint"),        # an endpoint type, not for training
    ("serving", "instanceType", "ml.c5n.xlarge", "not a SageMaker endpoint instance type"),  # training only
    ("training", "processingInstanceType", "ml.p3dn.24xlarge", "not a SageMaker processing instance type"),
    ("monitoring", "instanceType", "ml.foo.large", "processing instance type"),
])
def test_instance_types_are_checked_against_botocore_for_their_use(section, key, value, words):
    assert OLD_INSTANCE_TYPE_RE.match(value)  # the old pattern accepted every one of them
    text = problems(with_project(**{section: {key: value}}))
    assert f"mlops:projects[0].{section}.{key}: '{value}'" in text
    assert words in text and "botocore" in text


def test_instance_type_enums_are_the_service_models():
    assert "ml.p4d.24xlarge" in validation.instance_types("training")
    assert "ml.c5n.xlarge" not in validation.instance_types("endpoint")
    assert "ml.t2.medium" in validation.instance_types("endpoint")
    assert "ml.t2.medium" not in validation.instance_types("training")


# ---- regions, partitions, ARNs ------------------------------------------------------------------------------

def test_unknown_region_is_refused_with_the_known_ones():
    cfg = config(**{"aws:region": "us-east-9"})
    text = problems(cfg)
    assert "aws:region: 'us-east-9' is not an AWS region botocore knows" in text and "us-east-1" in text


ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/3"


@pytest.mark.parametrize("arn, words", [
    ("arn:aws:sagemaker:eu-west-1:111122223333:model-package/churn/3", "is in region eu-west-1"),
    ("arn:aws-cn:sagemaker:us-east-1:111122223333:model-package/churn/3", "partition aws-cn"),
    ("arn:aws:sagemaker:us-east-1:111122223333:model-package/" + "g" * 64 + "/3", "1-63 letters"),
    ("arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/0", "positive whole number"),
    ("arn:aws:sagemaker:us-east-1:111122223333:model-package/-churn/3", "1-63 letters"),
    ("arn:aws:sagemaker:us-east-1:111122223333:model/churn", "not a model package ARN"),
])
def test_model_package_arns_aws_would_refuse(arn, words):
    text = problems(with_project(serving={"modelPackageArn": arn}))
    assert "mlops:projects[0].serving.modelPackageArn" in text and words in text


def test_a_model_package_of_the_stack_region_is_accepted():
    s = spec.from_config(with_project(serving={"modelPackageArn": ARN}), source="<t>")
    assert s.projects[0].serving.model_package_arn == ARN


def test_oidc_provider_arn_must_be_in_the_stack_partition():
    cfg = config(github={"org": "acme-ml",
                         "oidcProviderArn": "arn:aws-us-gov:iam::111122223333:oidc-provider/"
                                            "token.actions.githubusercontent.com"})
    text = problems(cfg)
    assert "mlops:github.oidcProviderArn" in text and "partition aws-us-gov" in text and "arn:aws:" in text
    cfg["aws:region"] = "us-gov-west-1"
    assert spec.from_config(cfg, source="<t>").github.oidc_provider_arn.startswith("arn:aws-us-gov:")


# ---- finite numbers: plan --json stays valid JSON ---------------------------------------------------------------

@pytest.mark.parametrize("section, key", [("serving", "latencyLimitMs"), ("serving", "targetInvocationsPerInstance"),
                                          ("monitoring", "driftThreshold")])
@pytest.mark.parametrize("value", [float("inf"), float("nan"), float("-inf")])
def test_non_finite_numbers_are_refused(section, key, value):
    text = problems(with_project(**{section: {key: value}}))
    assert f"mlops:projects[0].{section}.{key}" in text


def test_plan_json_with_an_inf_threshold_is_exit_2_not_invalid_json(tmp_path):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config:\n  aws:region: us-east-1\n  mlops:environment: dev\n  mlops:maturity: 0\n"
                    "  mlops:owner: me\n  mlops:projects:\n    - name: churn\n      serving: {latencyLimitMs: .inf}\n")
    result = CliRunner().invoke(app, ["plan", "--stack-file", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "latencyLimitMs" in result.output and "finite" in result.output
    assert not result.stdout.strip() or json.loads(result.stdout)


# ---- tags, GitHub names, S3 URIs, waivers -------------------------------------------------------------------

@pytest.mark.parametrize("owner", ["ml\x00team", "team\nplatform", "a\tb", "x" * 257, "ops#1", ""])
def test_owner_tag_values_aws_refuses(owner):
    text = problems(config(owner=owner))
    assert "mlops:owner" in text and "tag value" in text


def test_owner_tag_value_accepts_unicode_letters_and_spaces():
    assert spec.from_config(config(owner="Équipe Données ML"), source="<t>").owner == "Équipe Données ML"


@pytest.mark.parametrize("repo", ["acme--ml/churn", "-acme/churn", "acme-/churn", "a" * 40 + "/churn", "acme/..",
                                  "acme/" + "r" * 101, "acme/ch urn", "acme/churn/x"])
def test_github_repositories_github_refuses(repo):
    text = problems(with_project(repository=repo))
    assert "mlops:projects[0].repository" in text


@pytest.mark.parametrize("org", ["acme--ml", "-acme", "acme-", "a" * 40])
def test_github_orgs_github_refuses(org):
    text = problems(config(github={"org": org}))
    assert "mlops:github.org" in text and "single hyphens" in text


@pytest.mark.parametrize("uri, words", [
    ("s3://my..bucket/churn/statistics.json", "adjacent periods"),
    ("s3://192.168.1.1/churn/statistics.json", "IP address"),
    ("s3://xn--bucket/churn/statistics.json", "reserved"),
    ("s3://bucket-s3alias/churn/statistics.json", "reserved"),
    ("s3://my-bucket/churn//statistics.json", "empty path segment"),
    ("s3://my-bucket/churn/stat\x01.json", "control characters"),
    ("s3://my-bucket/" + "k" * 1100, "1-1024 bytes"),
])
def test_s3_uris_aws_refuses(uri, words):
    text = problems(with_project(monitoring={"baseline": {"statisticsUri": uri}}))
    assert "mlops:projects[0].monitoring.baseline.statisticsUri" in text and words in text


def test_waiver_for_a_rule_that_does_not_exist_is_a_spec_error():
    cfg = copy.deepcopy(config())
    cfg["mlops:policyExceptions"] = [{"rule": "LADDER-NOPE-001", "resource": "x", "reason": "why not"}]
    text = problems(cfg)
    assert "mlops:policyExceptions[0].rule: unknown rule id 'LADDER-NOPE-001'" in text
