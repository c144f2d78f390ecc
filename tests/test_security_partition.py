"""ARNs take their partition from the provider, and kms:CreateGrant carries its condition everywhere (issue 14, Build 2).

The offline engine answers ``aws:getPartition`` as the provider does for the stack's region (botocore's
partition data: ``cn-north-1`` is ``aws-cn``, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html),
so any ARN the program hard-codes as ``arn:aws:`` shows up in a China-region plan.
"""

from __future__ import annotations

import json

import pytest

from modules import plan
from modules.policies.rules import IAM_DOC_TYPES, actions, allows, policy_documents, statements
from tests.helpers import config, run

CN_PACKAGE = "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/acme-staging-churn/7"


def _level4(region: str, package: str):
    return run(config(**{"aws:region": region}, environment="prod", maturity=4, projects=[
        {"name": "churn", "registry": {"shareWith": ["210987654321"]},
         "training": {"schedule": "rate(7 days)", "qualityGate": {"metric": "auc", "min": 0.8}},
         "serving": {"modelPackageArn": package, "minInstances": 2, "maxInstances": 3},
         "monitoring": {"schedule": "hourly", "driftThreshold": 0.1}}]))


@pytest.fixture(scope="module")
def china() -> plan.Graph:
    return _level4("cn-north-1", CN_PACKAGE)


def test_the_offline_provider_answers_the_region_partition():
    assert plan.PlanMocks("cn-north-1").partition == "aws-cn"
    assert plan.PlanMocks("us-gov-west-1").partition == "aws-us-gov"
    assert plan.PlanMocks("eu-west-1").partition == "aws"
    assert plan.plan_arn("aws:iam/role:Role", "r", "cn-north-1", partition="aws-cn").startswith("arn:aws-cn:iam::")


def test_no_arn_in_a_china_region_plan_hard_codes_the_aws_partition(china):
    text = json.dumps(china.to_json(full=True)) + json.dumps(china.outputs)
    assert "arn:aws-cn:iam::" in text and "arn:aws-cn:s3:::" in text and "arn:aws-cn:kms:" in text
    assert "arn:aws:" not in text, text[max(0, text.find("arn:aws:") - 300):text.find("arn:aws:") + 100]


def _for_aws_resource(st) -> bool:
    return str((st.get("Condition") or {}).get("Bool", {}).get("kms:GrantIsForAWSResource")).lower() == "true"


def _iam_documents(g: plan.Graph):
    for r in g.resources:
        if r.type in IAM_DOC_TYPES:
            for label, doc in policy_documents(r.type, r.inputs):
                yield r, label, doc


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_create_grant_is_for_aws_resources_only(stack):
    g = plan.plan(stack=stack)
    grants = []
    for r, label, doc in _iam_documents(g):
        for st in statements(doc):
            if allows(st) and any(a.lower() in ("kms:creategrant", "kms:*", "*") for a in actions(st)):
                grants.append((r.name, label, st))
    assert grants, "the project roles need kms:CreateGrant (SageMaker grants the key to the job volumes)"
    for name, label, st in grants:
        assert _for_aws_resource(st), (name, label, st)


def test_create_grant_condition_also_in_a_china_region_plan(china):
    grants = [st for _, _, doc in _iam_documents(china) for st in statements(doc)
              if allows(st) and "kms:CreateGrant" in actions(st)]
    assert grants and all(_for_aws_resource(st) for st in grants)
