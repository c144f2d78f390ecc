"""The deploy identity (issue 12, items 2/3/6): the platform-deploy role per stack, the approval dispatch to the
PLATFORM repository with the stack's environment, the spec keys that drive them, and the policy rule that keeps a
GitHub-environment trust on its own environment."""

from __future__ import annotations

import json
import re

import pytest

from modules import plan, spec
from modules.components import deployment
from modules.policies import rules
from tests.helpers import config, fresh, policy, sandbox_env, statements

ACCOUNT = "123456789012"
PLATFORM = "acme-ml/mlops-platform"
GITHUB = "token.actions.githubusercontent.com"
ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/acme-staging-churn/3"


@pytest.fixture(scope="module")
def graphs() -> dict[str, plan.Graph]:
    return {stack: plan.plan(stack=stack) for stack in ("staging", "prod")}


def role_and_policy(g: plan.Graph) -> tuple[plan.Resource, dict]:
    return g.find("aws:iam/role:Role", "platform-deploy-role"), policy(g.find("aws:iam/rolePolicy:RolePolicy",
                                                                              "platform-deploy-policy"))


# ---- a small IAM evaluator: the operators the role uses, with IAM's semantics ------------------------------
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
#  .../reference_policies_elements_condition_operators.html: a missing key fails StringEquals/StringLike/Bool;
#  Null "true" holds when the key is absent; explicit Deny wins; default deny.) moto's evaluator ignores Null and
#  ...IfExists, so it is not used here.
def _match(pattern: str, value: str, case: bool = True) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, value, 0 if case else re.I) is not None


def _condition_holds(cond: dict, ctx: dict[str, str]) -> bool:
    for op, block in (cond or {}).items():
        for key, expected in block.items():
            values = expected if isinstance(expected, list) else [expected]
            got = ctx.get(key)
            if op == "Null":
                if (got is None) != (str(values[0]).lower() == "true"):
                    return False
            elif got is None:
                return False
            elif op in ("StringEquals", "Bool", "ArnEquals"):
                if str(got) not in [str(v) for v in values]:
                    return False
            elif op in ("StringLike", "ArnLike"):
                if not any(_match(str(v), str(got)) for v in values):
                    return False
            else:
                raise AssertionError(f"operator {op} not evaluated by this test")
    return True


def allowed(doc: dict, action: str, resource: str, ctx: dict[str, str] | None = None) -> bool:
    ctx = ctx or {}
    verdict = False
    for st in statements(doc):
        acts = st.get("Action", st.get("NotAction"))
        acts = acts if isinstance(acts, list) else [acts]
        hit = any(_match(a, action, case=False) for a in acts)
        if "NotAction" in st:
            hit = not hit
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if not (hit and any(_match(r, resource) for r in res) and _condition_holds(st.get("Condition"), ctx)):
            continue
        if st["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def arn(service: str, resource: str, region: str = "us-east-1") -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def tag(env: str) -> dict[str, str]:
    return {"aws:ResourceTag/mlops:environment": env}


# ---- trust -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_deploy_role_trusts_only_the_platform_repository_in_its_environment(graphs, stack):
    g = graphs[stack]
    role, _ = role_and_policy(g)
    assert role.inputs["name"] == f"acme-{stack}-platform-deploy"
    (trust,) = statements(json.loads(role.inputs["assumeRolePolicy"]))
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Principal"] == {"Federated": g.outputs["githubOidcProviderArn"]}
    assert trust["Condition"] == {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com",
                                                   f"{GITHUB}:sub": f"repo:{PLATFORM}:environment:{stack}"}}
    assert g.outputs["platformDeployRoleArn"] == role.outputs["arn"]


def test_no_deploy_role_below_level_3():
    g = plan.plan(stack="dev")
    assert not [r for r in g.resources if r.name.startswith("platform-deploy")]


# ---- policy: pulumi up of this stack, nothing of another environment ---------------------------------------

def test_staging_policy_never_names_another_environment(graphs):
    _, doc = role_and_policy(graphs["staging"])
    text = json.dumps(doc)
    assert "acme-prod-" not in text and "acme-dev-" not in text and "/mlops/prod" not in text
    for st in statements(doc):
        if st["Effect"] != "Allow":
            continue
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert not any(a == "*" or a.endswith(":*") for a in acts), st["Sid"]
        for r in st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]:
            own = "acme-staging-" in r or "/mlops/staging/" in r
            tagged = "mlops:environment" in json.dumps(st.get("Condition", {}))
            read_only = r == "*" and all(a.lower() in rules.NO_RESOURCE_LEVEL for a in acts)
            fixed = r.endswith(("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint", f"oidc-provider/{GITHUB}"))
            scaling = r.endswith(":scalable-target/*")
            assert own or tagged or read_only or fixed or scaling, (st["Sid"], r)


@pytest.mark.parametrize("action, resource, ctx, expected", [
    # its own stack: what pulumi up does
    ("sagemaker:UpdateEndpoint", arn("sagemaker", "endpoint/acme-staging-churn"), tag("staging"), True),
    ("sagemaker:CreateModel", arn("sagemaker", "model/churn-endpoint-model-1a2b"),
     {"aws:RequestTag/mlops:environment": "staging"}, True),
    ("sagemaker:AddTags", arn("sagemaker", "model/churn-endpoint-model-1a2b"),
     {"aws:RequestTag/mlops:environment": "staging"}, True),
    ("sagemaker:DeleteEndpointConfig", arn("sagemaker", "endpoint-config/churn-endpoint-config-9"), tag("staging"),
     True),
    ("iam:PutRolePolicy", arn("iam", "role/acme-staging-churn-ci", ""), {}, True),
    ("s3:PutBucketPolicy", "arn:aws:s3:::acme-staging-artifacts-20261202", {}, True),
    ("events:PutTargets", arn("events", "rule/acme-staging-churn-model-approved"), {}, True),
    ("ssm:PutParameter", arn("ssm", "parameter/mlops/staging/churn/endpoint-name"), {}, True),
    ("kms:ScheduleKeyDeletion", arn("kms", "key/1234abcd"), tag("staging"), True),
    ("iam:PassRole", arn("iam", "role/acme-staging-churn-sagemaker", ""),
     {"iam:PassedToService": "sagemaker.amazonaws.com"}, True),
    # another environment's names and tagged resources
    ("sagemaker:UpdateEndpoint", arn("sagemaker", "endpoint/acme-prod-churn"), tag("prod"), False),
    ("sagemaker:DeleteModel", arn("sagemaker", "model/churn-endpoint-model-1a2b"), tag("prod"), False),
    ("sagemaker:AddTags", arn("sagemaker", "model/churn-endpoint-model-1a2b"),  # re-tag prod's model as staging
     {**tag("prod"), "aws:RequestTag/mlops:environment": "staging"}, False),
    ("iam:PutRolePolicy", arn("iam", "role/acme-prod-churn-ci", ""), {}, False),
    ("iam:UpdateAssumeRolePolicy", arn("iam", "role/some-other-team-role", ""), {}, False),
    ("s3:PutBucketPolicy", "arn:aws:s3:::acme-prod-artifacts-20261202", {}, False),
    ("ssm:PutParameter", arn("ssm", "parameter/mlops/prod/churn/endpoint-name"), {}, False),
    ("kms:ScheduleKeyDeletion", arn("kms", "key/1234abcd"), tag("prod"), False),
    ("kms:CreateGrant", arn("kms", "key/1234abcd"), tag("staging"), False),  # only for AWS resources
    ("iam:PassRole", arn("iam", "role/acme-prod-churn-sagemaker", ""),
     {"iam:PassedToService": "sagemaker.amazonaws.com"}, False),
    ("iam:PassRole", arn("iam", "role/acme-staging-churn-sagemaker", ""),
     {"iam:PassedToService": "ec2.amazonaws.com"}, False),
    # not even its own objects or itself; not the account's shared OIDC provider
    ("s3:PutObject", "arn:aws:s3:::acme-staging-artifacts-20261202/churn/model.tar.gz", {}, False),
    ("iam:PutRolePolicy", arn("iam", "role/acme-staging-platform-deploy", ""), {}, False),
    ("iam:PassRole", arn("iam", "role/acme-staging-platform-deploy", ""),
     {"iam:PassedToService": "sagemaker.amazonaws.com"}, False),
    ("iam:DeleteOpenIDConnectProvider", arn("iam", f"oidc-provider/{GITHUB}", ""), {}, False),
    ("sts:AssumeRole", arn("iam", "role/acme-staging-churn-ci", ""), {}, False),
])
def test_staging_deploy_role_can_deploy_staging_and_nothing_else(graphs, action, resource, ctx, expected):
    _, doc = role_and_policy(graphs["staging"])
    assert allowed(doc, action, resource, ctx) is expected


def test_prod_role_only_describes_the_staging_packages_it_promotes(graphs):
    _, doc = role_and_policy(graphs["prod"])
    staging = [st for st in statements(doc) if "acme-staging-" in json.dumps(st)]
    assert [st["Sid"] for st in staging] == ["DescribePromotedPackages"]
    assert staging[0]["Action"] == ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"]
    assert allowed(doc, "sagemaker:DescribeModelPackage", ARN, tag("staging"))
    assert not allowed(doc, "sagemaker:UpdateModelPackage", ARN, tag("staging"))
    assert allowed(doc, "sagemaker:UpdateEndpoint", arn("sagemaker", "endpoint/acme-prod-churn"), tag("prod"))


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_deploy_policy_fits_the_inline_quota(graphs, stack):
    _, doc = role_and_policy(graphs[stack])
    # IAM: a role's inline policies total at most 10,240 characters, whitespace not counted
    assert len(re.sub(r"\s", "", json.dumps(doc))) <= 10240


# ---- the approval dispatch goes to the platform repository with the stack's environment --------------------

@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_approval_dispatches_its_environment_to_the_platform_repository(graphs, stack):
    g = graphs[stack]
    dest = g.find("aws:cloudwatch/eventApiDestination:EventApiDestination", "churn-approval-github-dispatch")
    assert dest.inputs["invocationEndpoint"] == f"https://api.github.com/repos/{PLATFORM}/dispatches"
    target = g.find("aws:cloudwatch/eventTarget:EventTarget", "churn-approval-dispatch")
    body = json.loads(target.inputs["inputTransformer"]["inputTemplate"].replace("<arn>", ARN))
    assert body == {"event_type": "model-approved",
                    "client_payload": {"environment": stack, "project": "churn", "model_package_arn": ARN}}
    role = g.find("aws:iam/role:Role", "churn-approval-dispatch-role")
    assert role.inputs["name"] == f"acme-{stack}-churn-approval-dispatch"
    assert target.inputs["roleArn"] == role.outputs["arn"]
    assert not [r for r in g.resources if r.inputs.get("name") == f"acme-{stack}-churn-deploy"]


# ---- spec ---------------------------------------------------------------------------------------------

def _problems(cfg) -> list[str]:
    with pytest.raises(spec.SpecError) as info:
        spec.from_config(cfg, source="stacks/Pulumi.bad.yaml")
    return str(info.value).splitlines()


def test_platform_repository_is_required_at_level_3():
    lines = _problems(config(maturity=3, github={"org": "acme-ml"}))
    assert any(line.startswith("stacks/Pulumi.bad.yaml: mlops:github.platformRepository: required at level 3+")
               for line in lines), lines
    spec.from_config(config(maturity=2, github={"org": "acme-ml"}))  # not needed below level 3


@pytest.mark.parametrize("value", ["mlops-platform", "acme/", "acme-ml/mlops platform", "-x/y"])
def test_platform_repository_is_validated_like_other_repositories(value):
    lines = _problems(config(maturity=3, github={"org": "acme-ml", "platformRepository": value}))
    assert any("mlops:github.platformRepository:" in line for line in lines), lines


def test_codebuild_trigger_is_refused_with_the_reason():
    lines = _problems(config(maturity=3, projects=[{"name": "churn", "deploy": {"trigger": "codebuild"}}]))
    (line,) = [x for x in lines if "deploy.trigger" in x]
    assert line.startswith("stacks/Pulumi.bad.yaml: mlops:projects[0].deploy.trigger: 'codebuild' is not allowed; "
                           "allowed: 'github'")
    assert "never deployed" in line


def test_dispatch_helpers_agree_with_github_limits():
    # GitHub: client_payload has at most 10 top-level properties; event_type 1-100 characters
    # (https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event)
    body = json.loads(deployment.dispatch_template("staging", "churn").replace("<arn>", ARN))
    assert len(body["client_payload"]) <= 10 and 1 <= len(body["event_type"]) <= 100
    assert deployment.dispatch_url(PLATFORM) == f"https://api.github.com/repos/{PLATFORM}/dispatches"


# ---- policy rule: a GitHub-environment trust names the role's own environment -----------------------------

def _role(env_tag: str, sub: str) -> dict:
    return {"tags": {"mlops:environment": env_tag}, "assumeRolePolicy": json.dumps({"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x"},
                           "Action": "sts:AssumeRoleWithWebIdentity",
                           "Condition": {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com",
                                                          f"{GITHUB}:sub": sub}}}]})}


@pytest.mark.parametrize("env_tag, sub, flagged", [
    ("staging", f"repo:{PLATFORM}:environment:prod", True),
    ("prod", f"repo:{PLATFORM}:environment:staging", True),
    ("prod", f"repo:{PLATFORM}:environment:prod", False),
    ("staging", "repo:acme-ml/churn:ref:refs/heads/main", False),
])
def test_environment_trust_must_be_the_roles_own(env_tag, sub, flagged):
    found = rules.run_resource_rule(rules.RULE_BY_ID["LADDER-SEC-005"], "aws:iam/role:Role", _role(env_tag, sub))
    assert bool(found) is flagged, found


def test_evaluator_denies_by_default_and_lets_deny_win():
    # the evaluator above is a test tool: prove it denies by default and lets Deny win
    doc = {"Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
                         {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    assert allowed(doc, "s3:GetBucketPolicy", "arn:aws:s3:::b")
    assert not allowed(doc, "s3:GetObject", "arn:aws:s3:::b/k") and not allowed(doc, "s3:PutObject", "x")


# ---- the role as the sandbox realises it (moto IAM accepts the documents) ----------------------------------

@pytest.mark.slow
def test_sandbox_creates_the_deploy_role_with_its_trust_and_policy(tmp_path):
    import boto3

    from modules.sandbox import state as sandbox
    from modules.sandbox.server import MotoServer

    cfg = config(environment="staging", maturity=3, projects=[{"name": "churn"}])
    s = spec.from_config(cfg, source="<test>", stack="staging")
    with MotoServer() as server:
        fresh(server)  # moto keeps state per process
        with sandbox_env(server.endpoint):
            sandbox.apply(s, cfg, state_dir=tmp_path)
            iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            role = iam.get_role(RoleName="acme-staging-platform-deploy")["Role"]
            (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
            assert trust["Condition"]["StringEquals"][f"{GITHUB}:sub"] == f"repo:{PLATFORM}:environment:staging"
            doc = iam.get_role_policy(RoleName="acme-staging-platform-deploy",
                                      PolicyName="pulumi-up-this-stack")["PolicyDocument"]
            assert allowed(doc, "sagemaker:UpdateEndpoint", arn("sagemaker", "endpoint/acme-staging-churn"),
                           tag("staging"))
            assert not allowed(doc, "sagemaker:UpdateEndpoint", arn("sagemaker", "endpoint/acme-prod-churn"),
                               tag("prod"))
            assert iam.get_role(RoleName="acme-staging-churn-approval-dispatch")["Role"]["RoleName"]
            # an approval in staging's registry reaches the PLATFORM repository's dispatch with environment staging,
            # through the rule, target, role and API destination the stack declared
            sm = boto3.client("sagemaker", endpoint_url=server.endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            pkg = sm.create_model_package(
                ModelPackageGroupName="acme-staging-churn", ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
                                        "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
            sm.update_model_package(ModelPackageArn=pkg, ModelApprovalStatus="Approved")
            dispatches = [r for r in server.gateway.events.received if r["url"].endswith("/dispatches")]
            assert [d["github"] for d in dispatches] == [{
                "repository": PLATFORM, "status": 204, "message": "No Content", "event_type": "model-approved",
                "client_payload": {"environment": "staging", "project": "churn", "model_package_arn": pkg}}]


# ---- what `ladder deploy` reads before and after `pulumi up` (modules/deploy_verify.py) -----------------------
@pytest.mark.parametrize("action,resource,ctx", [
    ("sagemaker:DescribeEndpoint", arn("sagemaker", "endpoint/acme-staging-churn"), tag("staging")),
    ("sagemaker:DescribeEndpointConfig", arn("sagemaker", "endpoint-config/churn-endpoint-config-1a2b3c4d-7d2c198"),
     tag("staging")),
    ("sagemaker:DescribeModel", arn("sagemaker", "model/churn-endpoint-model-1a2b3c4d-40a1fc6"), tag("staging")),
    ("cloudwatch:DescribeAlarms", arn("cloudwatch", "alarm:acme-staging-churn-5xx-errors"), {}),
    ("application-autoscaling:DescribeScalableTargets", "*", {}),
])
def test_deploy_role_may_make_the_reads_of_the_deploy_verification(graphs, action, resource, ctx):
    """Without them the preflight is skipped and the rollback check cannot run on a real account."""
    _, doc = role_and_policy(graphs["staging"])
    assert allowed(doc, action, resource, ctx)
