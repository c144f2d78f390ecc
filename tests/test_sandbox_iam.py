"""IAM in the sandbox: GitHub OIDC trust is evaluated on the token's claims (services/sts.py)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.helpers import Sandbox, github_token

HOST = "token.actions.githubusercontent.com"


def token(sub: str, aud: str = "sts.amazonaws.com") -> str:
    return github_token(sub, aud)


@pytest.fixture(scope="module")
def iam_env(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    iam, sts = box.client("iam"), box.client("sts")
    provider = iam.create_open_id_connect_provider(Url=f"https://{HOST}", ClientIDList=["sts.amazonaws.com"],
                                                   ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]

    def role(name, operator, sub):
        conditions = {"StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"}}
        conditions.setdefault(operator, {})[f"{HOST}:sub"] = sub
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": conditions}]}
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    yield sts, role
    box.stop()


def assume(sts, arn, sub, aud="sts.amazonaws.com"):
    return sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="gh", WebIdentityToken=token(sub, aud))


def test_ci_role_pinned_to_main_admits_main_only(iam_env):
    sts, role = iam_env
    arn = role("pinned-ci", "StringEquals", "repo:acme-ml/churn:ref:refs/heads/main")
    assert assume(sts, arn, "repo:acme-ml/churn:ref:refs/heads/main")["Credentials"]["AccessKeyId"]
    for sub in ("repo:acme-ml/churn:pull_request", "repo:acme-ml/churn:ref:refs/heads/feature",
                "repo:evil/churn:ref:refs/heads/main"):
        with pytest.raises(ClientError, match="AccessDenied"):
            assume(sts, arn, sub)
    with pytest.raises(ClientError, match="aud"):
        assume(sts, arn, "repo:acme-ml/churn:ref:refs/heads/main", aud="someone-else")


def test_wildcard_trust_admits_every_branch_and_pull_request(iam_env):
    """The defect the review found: repo:<o>/<r>:* trusts any branch, pull request and environment."""
    sts, role = iam_env
    arn = role("wildcard-ci", "StringLike", "repo:acme-ml/churn:*")
    assert assume(sts, arn, "repo:acme-ml/churn:pull_request")["Credentials"]["AccessKeyId"]


def test_deploy_role_trusts_its_environment(iam_env):
    sts, role = iam_env
    arn = role("deploy-prod", "StringEquals", "repo:acme-ml/platform:environment:prod")
    assert assume(sts, arn, "repo:acme-ml/platform:environment:prod")
    with pytest.raises(ClientError, match="AccessDenied"):
        assume(sts, arn, "repo:acme-ml/platform:environment:staging")
