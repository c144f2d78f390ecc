"""Policy-pack rules LADDER-SEC-006 (a project registers only in its own group) and LADDER-SEC-007 (a shared
registry grants its artefacts' prefix and key): a violating and a compliant fixture each, and the planned stacks
(including the pre-fix stack: a group shared with no bucket or key grant, issue 14 Why 6)."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace as NS

import pytest

from modules.policies import rules
from modules.policies.runner import evaluate
from tests.helpers import config, run

ROLE, ROLE_POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
CONSUMER = "210987654321"


def _doc(*sts) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(sts)})


def _register(resource, action="sagemaker:CreateModelPackage"):
    role = NS(resource_type=ROLE, props={"name": "r", "id": "r", "tags": {"mlops:project": "churn"}}, urn="u:r",
              name="role")
    pol = NS(resource_type=ROLE_POLICY, urn="u:p", name="pol", props={"role": "r", "policy": _doc(
        {"Sid": "Register", "Effect": "Allow", "Action": action, "Resource": resource})})
    return rules.run_stack_rule(rules.RULE_BY_ID["LADDER-SEC-006"], [role, pol])


@pytest.mark.parametrize("resource", [
    "arn:aws:sagemaker:us-east-1:1:model-package/*",
    "arn:aws:sagemaker:us-east-1:1:model-package/acme-dev-fraud/*",
    "arn:aws:sagemaker:us-east-1:1:model-package-group/acme-dev-*",
    "*",
])
def test_a_project_role_registering_outside_its_group_is_flagged(resource):
    assert _register(resource)
    assert _register(resource, "sagemaker:UpdateModelPackage")  # approving in another group too


@pytest.mark.parametrize("resource", ["arn:aws:sagemaker:us-east-1:1:model-package/acme-dev-churn/*",
                                      "arn:aws-cn:sagemaker:cn-north-1:1:model-package-group/acme-prod-churn"])
def test_a_project_role_registering_in_its_own_group_passes(resource):
    assert _register(resource) == []
    # describing another group (a promoted package) is no write
    assert _register("arn:aws:sagemaker:us-east-1:1:model-package/acme-staging-churn/*",
                     "sagemaker:DescribeModelPackage") == []


def _share(bucket_statements, key_statements):
    mpg = NS(resource_type="aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", urn="u:g", name="share",
             props={"resourcePolicy": _doc({"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{CONSUMER}:root"]},
                                            "Action": "sagemaker:DescribeModelPackage", "Resource": "*"})})
    bucket = NS(resource_type="aws:s3/bucketPolicy:BucketPolicy", urn="u:b", name="bp",
                props={"policy": _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, *bucket_statements)})
    key = NS(resource_type="aws:kms/key:Key", urn="u:k", name="key", props={"policy": _doc(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
         "Resource": "*"}, *key_statements)})
    return rules.run_stack_rule(rules.RULE_BY_ID["LADDER-SEC-007"], [mpg, bucket, key])


READ = {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{CONSUMER}:root"]}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/churn/pipelines/*"}
DECRYPT = {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{CONSUMER}:root"]},
           "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
           "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}


def test_a_registry_shared_without_bucket_and_key_grants_is_flagged():
    assert len(_share([], [])) == 2
    assert _share([{**READ, "Resource": "arn:aws:s3:::b/*"}], [DECRYPT])  # the whole bucket is no shared prefix
    assert _share([READ], [{k: v for k, v in DECRYPT.items() if k != "Condition"}])  # decrypt outside S3


def test_a_registry_shared_with_its_prefix_and_key_passes():
    assert _share([READ], [DECRYPT]) == []


def _sec(graph, rule_id: str) -> list:
    return [v for v in evaluate(graph.resources, rules=[rules.RULE_BY_ID[rule_id]])]


def test_a_planned_shared_registry_passes_and_the_pre_fix_stack_is_flagged():
    g = run(config(environment="staging", maturity=2, projects=[
        {"name": "churn", "registry": {"shareWith": [CONSUMER]}}, {"name": "fraud"}]))
    assert _sec(g, "LADDER-SEC-007") == [] and _sec(g, "LADDER-SEC-006") == []
    old = copy.deepcopy(g)  # the stack before the fix: only the group was shared
    for r in old.resources:
        if r.type == "aws:s3/bucketPolicy:BucketPolicy":
            doc = json.loads(r.inputs["policy"])
            doc["Statement"] = [s for s in doc["Statement"] if not s.get("Sid", "").startswith("SharedModel")]
            r.inputs["policy"] = r.outputs["policy"] = json.dumps(doc)
        if r.type == "aws:kms/key:Key":
            doc = json.loads(r.inputs["policy"])
            doc["Statement"] = [s for s in doc["Statement"] if not s.get("Sid", "").startswith("SharedModel")]
            r.inputs["policy"] = r.outputs["policy"] = json.dumps(doc)
    found = _sec(old, "LADDER-SEC-007")
    assert len(found) == 2 and all(CONSUMER in v.message for v in found), found


def test_the_planned_registering_roles_pass_and_a_widened_one_is_flagged():
    g = run(config(maturity=2))
    assert _sec(g, "LADDER-SEC-006") == []
    wide = copy.deepcopy(g)
    (pol,) = [r for r in wide.resources if r.name == "churn-training-execution-policy"]
    doc = json.loads(pol.inputs["policy"])
    for st in doc["Statement"]:
        if st.get("Sid") == "RegisterIntoProjectGroup":
            st["Resource"] = "arn:aws:sagemaker:us-east-1:123456789012:model-package/*"
    pol.inputs["policy"] = json.dumps(doc)
    if pol.outputs:
        pol.outputs["policy"] = pol.inputs["policy"]
    assert _sec(wide, "LADDER-SEC-006")
