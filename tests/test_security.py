"""Security properties of the level 0-1 resources, read from the planned graph."""

from __future__ import annotations

import pytest

from modules import plan
from tests.helpers import as_list, config, policy, run, statements


@pytest.fixture(scope="module")
def g() -> plan.Graph:
    return run(config(maturity=1))


def companions(g: plan.Graph, bucket_name: str, type_: str) -> list[plan.Resource]:
    bucket = g.find("aws:s3/bucket:Bucket", bucket_name)
    return [r for r in g.by_type(type_) if r.inputs.get("bucket") == bucket.id]


def test_kms_key_rotates_and_has_an_explicit_policy(g):
    key = g.find("aws:kms/key:Key", "foundation-kms-key")
    assert key.inputs["enableKeyRotation"] is True
    doc = policy(key)
    sts = statements(doc)
    root = [s for s in sts if s["Principal"].get("AWS", "").endswith(":root")]
    assert root and root[0]["Action"] == "kms:*"
    services = [s for s in sts if "Service" in s["Principal"]]
    assert services and all("aws:SourceAccount" in s["Condition"]["StringEquals"] for s in services)


@pytest.mark.parametrize("bucket", ["foundation-artifact-bucket", "foundation-log-bucket"])
def test_buckets_are_locked_down(g, bucket):
    (pab,) = companions(g, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert pab.inputs[flag] is True, flag
    (ver,) = companions(g, bucket, "aws:s3/bucketVersioning:BucketVersioning")
    assert ver.inputs["versioningConfiguration"]["status"] == "Enabled"
    (own,) = companions(g, bucket, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert own.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    (pol,) = companions(g, bucket, "aws:s3/bucketPolicy:BucketPolicy")
    deny = [s for s in statements(policy(pol)) if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    arn = g.find("aws:s3/bucket:Bucket", bucket).outputs["arn"]
    assert set(deny[0]["Resource"]) == {arn, f"{arn}/*"}
    (life,) = companions(g, bucket, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    aborts = [r for r in life.inputs["rules"] if r.get("abortIncompleteMultipartUpload")]
    assert aborts and aborts[0]["status"] == "Enabled"


def test_artifact_bucket_uses_the_kms_key_with_bucket_key_and_logs_access(g):
    (enc,) = companions(g, "foundation-artifact-bucket",
                        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    rule = enc.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == \
        g.find("aws:kms/key:Key", "foundation-kms-key").outputs["arn"]
    assert rule["bucketKeyEnabled"] is True
    (log,) = companions(g, "foundation-artifact-bucket", "aws:s3/bucketLogging:BucketLogging")
    assert log.inputs["targetBucket"] == g.find("aws:s3/bucket:Bucket", "foundation-log-bucket").id


def _all_policy_docs(g: plan.Graph) -> list[tuple[str, dict]]:
    docs = [(r.name, policy(r)) for r in g.by_type("aws:iam/rolePolicy:RolePolicy")]
    return docs


def test_no_wildcard_actions_and_no_admin(g):
    for name, doc in _all_policy_docs(g):
        for st in statements(doc):
            for action in as_list(st["Action"]):
                assert action != "*" and not action.endswith(":*"), (name, action)
    for role in g.by_type("aws:iam/role:Role"):
        assert "managedPolicyArns" not in role.inputs


def test_execution_role_is_scoped_to_bucket_key_and_itself(g):
    bucket_arn = g.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket").outputs["arn"]
    key_arn = g.find("aws:kms/key:Key", "foundation-kms-key").outputs["arn"]
    role = g.find("aws:iam/role:Role", "foundation-execution-role")
    trust = statements(policy(role, "assumeRolePolicy"))
    assert trust[0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    doc = policy(g.find("aws:iam/rolePolicy:RolePolicy", "foundation-execution-policy"))
    by_sid = {s["Sid"]: s for s in statements(doc)}
    assert by_sid["ListArtifactBucket"]["Resource"] == bucket_arn
    assert by_sid["ReadWriteArtifacts"]["Resource"] == f"{bucket_arn}/*"
    assert by_sid["UseDataKey"]["Resource"] == key_arn
    passrole = [s for s in statements(doc) if "iam:PassRole" in as_list(s["Action"])]
    assert len(passrole) == 1
    assert passrole[0]["Resource"] == role.outputs["arn"]
    star = [s for s in statements(doc) if s["Resource"] == "*"]
    assert [s["Sid"] for s in star] == ["PublishSageMakerMetrics"] and star[0]["Condition"]


def test_ci_role_trusted_only_by_github_oidc_for_its_repository(g):
    provider = g.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")[0]
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    for project in ("churn", "fraud"):
        role = g.find("aws:iam/role:Role", f"{project}-delivery-ci-role")
        (st,) = statements(policy(role, "assumeRolePolicy"))
        assert st["Principal"] == {"Federated": provider.outputs["arn"]}
        assert st["Action"] == "sts:AssumeRoleWithWebIdentity"
        # pinned to main: repo:<o>/<r>:* would trust every branch, pull request and environment
        assert st["Condition"] == {"StringEquals": {
            "token.actions.githubusercontent.com:sub": f"repo:acme-ml/{project}:ref:refs/heads/main",
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}
        doc = policy(g.find("aws:iam/rolePolicy:RolePolicy", f"{project}-delivery-ci-policy"))
        repo_arn = g.find("aws:ecr/repository:Repository", f"{project}-delivery-ecr").outputs["arn"]
        push = next(s for s in statements(doc) if s["Sid"] == "PushProjectImages")
        assert push["Resource"] == repo_arn
        other = "fraud" if project == "churn" else "churn"
        assert f"/{other}" not in str(doc)


def test_ecr_repositories_are_hardened(g):
    key_arn = g.find("aws:kms/key:Key", "foundation-kms-key").outputs["arn"]
    for repo in g.by_type("aws:ecr/repository:Repository"):
        assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
        assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}]
        assert repo.inputs.get("forceDelete") is False
    lifecycles = g.by_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(lifecycles) == len(g.by_type("aws:ecr/repository:Repository"))
    assert all(policy(lp)["rules"] for lp in lifecycles)
