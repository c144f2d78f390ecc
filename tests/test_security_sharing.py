"""Registry sharing and promotion grant exactly the shared artefacts (issue 14, Build 2).

SageMaker reads a package's ``ModelDataUrl`` as the model's execution role, so a prod endpoint serving a
package registered in staging's group must be able to read staging's ``<project>/pipelines/`` prefix and decrypt
with staging's key (through S3). Across accounts both sides are needed: the source's bucket and key policies
admit the consumer account, and the consumer role's identity policy allows it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
The consumer side is evaluated here with the sandbox's identity-policy evaluator (moto's statement evaluator,
modules/sandbox/services/iam.py); resource policies are not evaluated by the sandbox, so the source side is
asserted on the planned documents.
"""

from __future__ import annotations

import json

import pytest

from modules.components.registry import promoted_artefact_statements
from modules.sandbox.services.iam import decide
from tests.helpers import config, policy, run, statements

T_POLICY = "aws:iam/rolePolicy:RolePolicy"
STAGING = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn/7"
OTHER_ACCOUNT = "arn:aws:sagemaker:us-east-1:210987654321:model-package/acme-staging-churn/3"
STAGING_BUCKET = "arn:aws:s3:::acme-staging-artifacts-20261202000000000000000001"
MODEL = f"{STAGING_BUCKET}/churn/pipelines/acme-staging-churn-training/exec1/train/job/output/model.tar.gz"


def _prod(arn: str, **extra):
    return run(config(environment="prod", maturity=3, projects=[
        {"name": "churn", "serving": {"modelPackageArn": arn, "minInstances": 2, "maxInstances": 3, **extra}}]))


def _role_docs(g, role_name: str = "acme-prod-churn-sagemaker") -> list[dict]:
    return [policy(r) for r in g.by_type(T_POLICY) if r.inputs.get("role") in (role_name, f"{role_name}-id")
            or r.inputs.get("role", "").endswith(role_name)]


@pytest.fixture(scope="module")
def promoted():
    return _prod(STAGING)


def test_the_prod_role_reads_the_promoted_model_artefact_and_nothing_else_of_staging(promoted):
    docs = _role_docs(promoted)
    assert docs, [r.inputs.get("role") for r in promoted.by_type(T_POLICY)]
    assert decide(docs, "s3:GetObject", MODEL)
    # the shared artefacts only: not staging's step code, data or another project's models, and no writes
    assert not decide(docs, "s3:GetObject", f"{STAGING_BUCKET}/churn/code/abc/preprocess.py")
    assert not decide(docs, "s3:GetObject", f"{STAGING_BUCKET}/churn/data/v1/train.csv")
    assert not decide(docs, "s3:GetObject", f"{STAGING_BUCKET}/fraud/pipelines/x/model.tar.gz")
    assert not decide(docs, "s3:PutObject", MODEL)
    assert not decide(docs, "s3:GetObject", "arn:aws:s3:::acme-dev-artifacts-1/churn/pipelines/x/model.tar.gz")


def test_the_prod_role_decrypts_staging_key_only_through_s3_by_its_alias(promoted):
    doc = policy(promoted.find(T_POLICY, "churn-endpoint-execution-policy"))
    (st,) = [s for s in statements(doc) if s["Sid"].startswith("DecryptPromotedModelArtefacts")]
    assert st["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert st["Resource"] == "arn:aws:kms:us-east-1:123456789012:key/*"
    assert st["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                               "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/acme-staging-data"}}
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    docs = _role_docs(promoted)
    assert decide(docs, "kms:Decrypt", key, {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                             "kms:ResourceAliases": "alias/acme-staging-data"})
    # moto's evaluator does not implement the ForAnyValue: set operators (it passes them): the alias condition is
    # asserted on the document above, the kms:ViaService one is evaluated here
    assert not decide([doc], "kms:Decrypt", key, {"kms:ViaService": "ec2.us-east-1.amazonaws.com",
                                                  "kms:ResourceAliases": "alias/acme-staging-data"})


def test_a_package_of_the_stack_own_group_adds_no_foreign_grant():
    g = _prod("arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/2")
    doc = policy(g.find(T_POLICY, "churn-endpoint-execution-policy"))
    assert not [s for s in statements(doc) if "Promoted" in s["Sid"]]
    assert not decide(_role_docs(g), "s3:GetObject", MODEL)


def test_another_account_source_is_granted_in_its_partition_and_account():
    g = _prod(OTHER_ACCOUNT)
    doc = policy(g.find(T_POLICY, "churn-endpoint-execution-policy"))
    st = next(s for s in statements(doc) if s["Sid"].startswith("DecryptPromotedModelArtefacts"))
    assert st["Resource"] == "arn:aws:kms:us-east-1:210987654321:key/*"
    assert promoted_artefact_statements(("arn:aws-cn:sagemaker:cn-north-1:210987654321", "acme-staging-churn"),
                                        "acme", "churn")[0]["Resource"].startswith("arn:aws-cn:s3:::")


def test_a_group_not_named_by_ladder_is_a_plan_note_not_a_guess():
    g = _prod("arn:aws:sagemaker:us-east-1:210987654321:model-package/their-registry/3")
    doc = policy(g.find(T_POLICY, "churn-endpoint-execution-policy"))
    assert not [s for s in statements(doc) if "Promoted" in s["Sid"]]
    assert any("their-registry is not a ladder group" in n for n in g.notes), g.notes


CONSUMER = "210987654321"


@pytest.fixture(scope="module")
def sharing():
    return run(config(environment="staging", maturity=2, projects=[
        {"name": "churn", "registry": {"shareWith": [CONSUMER]}}, {"name": "fraud"}]))


def test_the_source_bucket_policy_admits_the_consumer_to_the_shared_prefix_only(sharing):
    bucket = sharing.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket")
    doc = policy(sharing.find("aws:s3/bucketPolicy:BucketPolicy", "foundation-artifact-bucket-policy"))
    shared = [s for s in statements(doc) if s["Effect"] == "Allow"]
    assert shared == [{"Sid": "SharedModelArtefactsChurn", "Effect": "Allow",
                       "Principal": {"AWS": [f"arn:aws:iam::{CONSUMER}:root"]}, "Action": "s3:GetObject",
                       "Resource": f"{bucket.outputs['arn']}/churn/pipelines/*"}]
    # the TLS-only deny still covers everything
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements(doc))


def test_the_source_key_policy_lets_the_consumer_decrypt_only_through_s3(sharing):
    key = sharing.by_type("aws:kms/key:Key")[0]
    doc = json.loads(key.inputs["policy"])
    (st,) = [s for s in statements(doc) if s.get("Sid") == "SharedModelArtefactsDecryptThroughS3"]
    assert st["Principal"] == {"AWS": [f"arn:aws:iam::{CONSUMER}:root"]}
    assert st["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert st["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}


def test_no_share_no_foreign_principal():
    g = run(config(environment="staging", maturity=2))
    doc = policy(g.find("aws:s3/bucketPolicy:BucketPolicy", "foundation-artifact-bucket-policy"))
    assert [s["Effect"] for s in statements(doc)] == ["Deny"]
    key_doc = json.loads(g.by_type("aws:kms/key:Key")[0].inputs["policy"])
    assert CONSUMER not in json.dumps(key_doc)
