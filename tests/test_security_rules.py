"""The security rules (modules/policies/rules_security.py): a violating and a compliant fixture each."""

from __future__ import annotations

import json

import pytest

from modules.policies import rules

GITHUB = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::123456789012:oidc-provider/{GITHUB}"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def trust(op: str, sub: str) -> dict:
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}, op: {f"{GITHUB}:sub": sub}}}]})}


def run(rule_id: str, type_: str, props: dict) -> list[str]:
    return rules.run_resource_rule(rules.RULE_BY_ID[rule_id], type_, props)


@pytest.mark.parametrize("op,sub", [("StringLike", "repo:acme-ml/churn:*"),
                                    ("StringEquals", "repo:acme-ml/churn:pull_request"),
                                    ("StringLike", "repo:acme-ml/churn:ref:refs/heads/*")])
def test_unpinned_github_trust_is_flagged(op, sub):
    assert run("LADDER-SEC-001", ROLE, trust(op, sub))


@pytest.mark.parametrize("sub", ["repo:acme-ml/churn:ref:refs/heads/main", "repo:acme-ml/platform:environment:prod"])
def test_pinned_github_trust_passes(sub):
    assert run("LADDER-SEC-001", ROLE, trust("StringEquals", sub)) == []


def grant(condition: dict | None) -> dict:
    st = {"Sid": "Grant", "Effect": "Allow", "Action": ["kms:CreateGrant"], "Resource": "arn:aws:kms:us-east-1:1:key/k"}
    if condition is not None:
        st["Condition"] = condition
    return {"policy": json.dumps({"Version": "2012-10-17", "Statement": [st]})}


def test_create_grant_without_condition_is_flagged():
    assert run("LADDER-SEC-002", ROLE_POLICY, grant(None))
    assert run("LADDER-SEC-002", ROLE_POLICY, grant({"Bool": {"kms:GrantIsForAWSResource": "false"}}))


def test_create_grant_for_aws_resources_passes():
    assert run("LADDER-SEC-002", ROLE_POLICY, grant({"Bool": {"kms:GrantIsForAWSResource": "true"}})) == []


def _stack(tags: dict, resource: str):
    from types import SimpleNamespace as NS

    role = NS(resource_type=ROLE, props={"name": "r", "id": "r", "tags": tags}, urn="u:role", name="role")
    pol = NS(resource_type=ROLE_POLICY, urn="u:pol", name="pol", props={"role": "r", "policy": json.dumps({
        "Statement": [{"Sid": "W", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": resource}]})})
    return rules.run_stack_rule(rules.RULE_BY_ID["LADDER-SEC-003"], [role, pol])


@pytest.mark.parametrize("resource", ["arn:aws:s3:::b/*", "arn:aws:s3:::b/fraud/*", "arn:aws:s3:::*/churn/*",
                                      "arn:aws:s3:::b/churnx/*"])
def test_project_role_writing_outside_its_prefix_is_flagged(resource):
    assert _stack({"mlops:project": "churn"}, resource)


@pytest.mark.parametrize("resource", ["arn:aws:s3:::b/churn/*", "arn:aws:s3:::b/capture/churn/*"])
def test_project_role_writing_inside_its_prefix_passes(resource):
    assert _stack({"mlops:project": "churn"}, resource) == []


CODEBUILD = "aws:codebuild/project:Project"


def test_secret_in_plain_config_is_flagged():
    env = {"environmentVariables": [{"name": "GITHUB_TOKEN", "value": "x", "type": "PLAINTEXT"}]}
    assert run("LADDER-SEC-004", CODEBUILD, {"environment": env})
    assert run("LADDER-SEC-004", "aws:ssm/parameter:Parameter", {"value": "github_pat_" + "a" * 30})


def test_secret_from_a_secret_store_passes():
    env = {"environmentVariables": [{"name": "GITHUB_TOKEN", "value": "/gh/token", "type": "PARAMETER_STORE"},
                                    {"name": "STACK", "value": "dev"}]}
    assert run("LADDER-SEC-004", CODEBUILD, {"environment": env}) == []
    conn = {"authParameters": {"apiKey": {"key": "Authorization", "value": "Bearer ghp_" + "a" * 36}}}
    assert run("LADDER-SEC-004", "aws:cloudwatch/eventConnection:EventConnection", conn) == []
