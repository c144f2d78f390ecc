"""The platform repository's deploy workflow (.github/workflows/deploy.yml) and `ladder verify-request`.

The workflow runs a job in the GitHub environment the approval names (allowlisted), assumes that environment's
platform-deploy role, validates the request with `ladder verify-request`, deploys with `ladder deploy` and
pushes the stack file; promotion to prod is a workflow_dispatch job in the `prod` environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from typer.testing import CliRunner

from modules import deploy_request, spec
from modules.cli import app
from modules.deploy import DeployError

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
BIN = Path(sys.executable).parent
REGION = "us-east-1"
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _tool(name: str) -> str:
    found = str(BIN / name) if (BIN / name).exists() else shutil.which(name)
    assert found, f"{name} is not installed: `pip install -e '.[dev]'` (pyproject dev extra)"
    return found


# ---- lint ---------------------------------------------------------------------------------------------

def test_workflow_passes_zizmor_and_actionlint():
    z = subprocess.run([_tool("zizmor"), "--offline", "--min-severity", "low", "--format", "plain", ".github"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert z.returncode == 0, z.stdout + z.stderr
    a = subprocess.run([_tool("actionlint"), str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert a.returncode == 0, a.stdout + a.stderr


def test_every_action_is_pinned_to_a_commit_sha(doc):
    uses = [step["uses"] for job in doc["jobs"].values() for step in job.get("steps", []) if "uses" in step]
    assert uses and all(SHA_PIN.match(u) for u in uses), uses
    text = WORKFLOW.read_text()
    assert all(re.search(re.escape(u) + r"  # v\d", text) for u in uses), "each pin names its version"


# ---- routing: the environment the approval names, allowlisted ------------------------------------------------

def deploying_stacks() -> set[str]:
    out = set()
    for path in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        s = spec.load(path=path)
        if s.has("approval_events"):
            assert s.stack == s.environment, "the workflow deploys stack <env> for environment <env>"
            out.add(s.environment)
    return out


def route_step(doc: dict) -> dict:
    (step,) = doc["jobs"]["route"]["steps"]
    return step


def test_allowlist_is_the_stacks_that_deploy(doc):
    assert set(route_step(doc)["env"]["ALLOWED"].split()) == deploying_stacks() == {"staging", "prod"}


def run_route(doc: dict, tmp_path: Path, **payload: str) -> tuple[int, dict[str, str]]:
    step = route_step(doc)
    out = tmp_path / "github_output"
    out.write_text("")
    env = {"PATH": os.environ["PATH"], "ALLOWED": step["env"]["ALLOWED"], "GITHUB_OUTPUT": str(out), **payload}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=30)
    return proc.returncode, dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)


ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn/3"


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_route_passes_a_deploying_environment_on(doc, tmp_path, environment):
    code, outputs = run_route(doc, tmp_path, ENVIRONMENT=environment, PROJECT="churn", MODEL_PACKAGE_ARN=ARN)
    assert code == 0
    assert outputs == {"environment": environment, "project": "churn", "model-package-arn": ARN}


@pytest.mark.parametrize("payload", [
    {"ENVIRONMENT": "dev"},                       # a stack that does not deploy
    {"ENVIRONMENT": "production"},                # not a stack: GitHub would create an unprotected environment
    {"ENVIRONMENT": ""},
    {"ENVIRONMENT": "staging prod"},
    {"ENVIRONMENT": "prod\nproject=evil"},        # no output injection
    {"PROJECT": "churn; rm -rf /"},
    {"PROJECT": "Churn"},
    {"MODEL_PACKAGE_ARN": ARN + "\nenvironment=prod"},
    {"MODEL_PACKAGE_ARN": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/acme-staging-churn"},
])
def test_route_refuses_anything_else(doc, tmp_path, payload):
    request = {"ENVIRONMENT": "staging", "PROJECT": "churn", "MODEL_PACKAGE_ARN": ARN, **payload}
    code, outputs = run_route(doc, tmp_path, **request)
    assert code != 0 and outputs == {}


def test_deploy_job_runs_in_the_routed_environment_with_its_role(doc):
    job = doc["jobs"]["deploy"]
    assert job["needs"] == "route"
    assert job["environment"] == "${{ needs.route.outputs.environment }}"
    assert job["env"]["STACK"] == "${{ needs.route.outputs.environment }}"
    assert doc["jobs"]["route"]["if"] == "github.event_name == 'repository_dispatch'"
    assert doc[True]["repository_dispatch"]["types"] == ["model-approved"]  # YAML 1.1: `on` is True


def test_prod_promotion_requires_the_prod_environment(doc):
    job = doc["jobs"]["promote-prod"]
    assert job["if"] == "github.event_name == 'workflow_dispatch'"
    assert job["environment"] == "prod" and job["env"]["STACK"] == "prod"
    inputs = doc[True]["workflow_dispatch"]["inputs"]
    assert inputs["model_package_arn"]["required"] is True and inputs["project"]["required"] is True


@pytest.mark.parametrize("name", ["deploy", "promote-prod"])
def test_jobs_validate_deploy_and_push_with_least_exposure(doc, name):
    job = doc["jobs"][name]
    assert doc["permissions"] == {} and job["permissions"] == {"contents": "write", "id-token": "write"}
    steps = job["steps"]
    assert steps[0]["with"] == {"persist-credentials": False}
    creds = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert creds["with"]["role-to-assume"] == "${{ vars.PLATFORM_DEPLOY_ROLE_ARN }}"  # an environment variable
    verify = next(s for s in steps if "ladder verify-request" in s.get("run", ""))
    assert '--stack "$STACK" --environment "$STACK"' in verify["run"]
    deploy = next(s for s in steps if "ladder deploy" in s.get("run", ""))
    assert '--stack "$STACK" --project "$PROJECT" --model-package-arn "$MODEL_PACKAGE_ARN"' in deploy["run"]
    push = next(s for s in steps if "authed push" in s.get("run", ""))
    order = [steps.index(s) for s in (creds, verify, deploy, push)]
    assert order == sorted(order)
    # secrets only in the deploy step; the push token only in the push step; nothing pasted into a script
    assert [s for s in steps if "secrets." in str(s.get("env", {}))] == [deploy]
    assert [s for s in steps if "github.token" in str(s)] == [push]
    assert all("${{" not in s.get("run", "") for s in steps)


# ---- ladder verify-request ---------------------------------------------------------------------------

@pytest.fixture()
def sm(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def package(sm, group: str, status: str = "Approved") -> str:
    try:
        sm.create_model_package_group(ModelPackageGroupName=group)
    except sm.exceptions.ClientError:
        pass
    return sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=status,
        InferenceSpecification={"Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-"
                                                         "scikit-learn:1.9-0-cpu-py3",
                                                "ModelDataUrl": f"s3://b/{group}/model.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]


def test_staging_approval_is_verified_for_staging(sm):
    arn = package(sm, "acme-staging-churn")
    result = CliRunner().invoke(app, ["verify-request", "--stack", "staging", "--environment", "staging",
                                      "--project", "churn", "--model-package-arn", arn])
    assert result.exit_code == 0, result.output
    assert "validated" in result.output and "Approved" in result.output


def test_an_approval_of_one_environment_is_refused_by_another_stack(sm):
    arn = package(sm, "acme-staging-churn")
    result = CliRunner().invoke(app, ["verify-request", "--stack", "prod", "--environment", "staging",
                                      "--project", "churn", "--model-package-arn", arn])
    assert result.exit_code == 2
    assert "the request is for environment 'staging', but stack 'prod' is environment 'prod'" in result.output


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_unapproved_packages_are_refused(sm, status):
    arn = package(sm, "acme-staging-churn", status)
    with pytest.raises(DeployError, match=f"is {status}, not Approved") as info:
        deploy_request.verify(spec.load("staging"), "churn", arn, "staging")
    assert info.value.code == 2


def test_prod_accepts_a_staging_package_but_not_a_dev_one(sm):
    prod = spec.load("prod")
    assert deploy_request.allowed_groups(prod, "churn") == {"prod": "acme-prod-churn", "staging": "acme-staging-churn"}
    assert deploy_request.verify(prod, "churn", package(sm, "acme-staging-churn"), "prod")["ModelApprovalStatus"] == \
        "Approved"
    with pytest.raises(DeployError, match="not in churn's model package group acme-prod-churn"):
        deploy_request.verify(prod, "churn", package(sm, "acme-dev-churn"), "prod")
    # staging promotes from nowhere: a prod package is not staging's
    with pytest.raises(DeployError, match=r"acme-staging-churn \(staging\)$"):
        deploy_request.verify(spec.load("staging"), "churn", package(sm, "acme-prod-churn"), "staging")


@pytest.mark.parametrize("arn, words", [
    ("arn:aws:sagemaker:eu-west-1:123456789012:model-package/acme-staging-churn/1", "is in region eu-west-1"),
    ("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/acme-staging-churn", "is not a model package"),
    ("arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn", "not a versioned model package"),
])
def test_malformed_or_foreign_arns_are_refused_before_any_aws_call(monkeypatch, arn, words):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a call would fail differently
    with pytest.raises(DeployError, match=words):
        deploy_request.verify(spec.load("staging"), "churn", arn, "staging")


def test_unknown_project_and_a_stack_without_endpoints_are_refused(sm):
    arn = package(sm, "acme-staging-churn")
    with pytest.raises(DeployError, match="unknown project 'fraud'"):
        deploy_request.verify(spec.load("staging"), "fraud", arn, "staging")
    with pytest.raises(DeployError, match="without the 'endpoint' capability"):
        deploy_request.verify(spec.load("dev"), "churn", arn, "dev")
