"""`ladder deploy` / `ladder promote`: registry lookup against moto, stack-file rewrite, promotion."""

from __future__ import annotations

import difflib
from pathlib import Path

import boto3
import pytest
import typer
import yaml
from moto import mock_aws
from typer.testing import CliRunner

from modules import deploy, spec

STACKS = Path(__file__).resolve().parent.parent / "stacks"
REGION = "us-east-1"
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn/3"


@pytest.fixture()
def app() -> typer.Typer:
    a = typer.Typer()
    deploy.register(a)
    return a


@pytest.fixture()
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


def invoke(app, *args: str):
    return CliRunner().invoke(app, list(args))


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"]


def register_packages(sm, group: str, statuses: list[str]) -> list[str]:
    sm.create_model_package_group(ModelPackageGroupName=group)
    arns = []
    for status in statuses:
        arn = sm.create_model_package(
            ModelPackageGroupName=group, ModelPackageDescription=f"{status} package",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",
                                "ModelDataUrl": f"s3://bucket/{group}/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
        )["ModelPackageArn"]
        if status != "PendingManualApproval":
            sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
        arns.append(arn)
    return arns


# ---- --latest-approved against moto ----------------------------------------------------------------

def test_latest_approved_is_the_newest_approved_never_pending_or_rejected(aws):
    arns = register_packages(aws, "acme-staging-churn",
                             ["Approved", "Approved", "PendingManualApproval", "Rejected"])
    assert deploy.latest_approved("acme-staging-churn", REGION) == arns[1]
    aws.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Rejected")
    assert deploy.latest_approved("acme-staging-churn", REGION) == arns[0]


def test_deploy_latest_approved_writes_the_arn_and_keeps_the_file(app, aws, stacks):
    arns = register_packages(aws, "acme-staging-churn", ["Approved", "Approved", "PendingManualApproval"])
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_text()
    result = invoke(app, "deploy", "--stack-file", str(path), "--project", "churn", "--latest-approved")
    assert result.exit_code == 0, result.output
    assert arns[1] in result.output
    after = path.read_text()
    # one line changed: the serving mapping gained the ARN; comments, order and style are untouched
    assert changed_lines(before, after) == [
        "-       serving: {instanceType: ml.m5.large, minInstances: 1, maxInstances: 2}",
        f'+       serving: {{instanceType: ml.m5.large, minInstances: 1, maxInstances: 2, modelPackageArn: "{arns[1]}"}}',
    ]
    assert "# Staging: level 3" in after
    assert spec.load(path=path).projects[0].serving.model_package_arn == arns[1]
    # not the repository's stack file: nothing is deployed, the next step is printed
    assert "pulumi up --stack staging" in result.output


def test_deploy_fails_clearly_without_an_approved_package(app, aws, stacks):
    register_packages(aws, "acme-staging-churn", ["PendingManualApproval", "Rejected"])
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_text()
    result = invoke(app, "deploy", "--stack-file", str(path), "--project", "churn", "--latest-approved")
    assert result.exit_code == 1
    assert "no Approved model package in group 'acme-staging-churn'" in result.output
    assert path.read_text() == before


def test_deploy_fails_clearly_when_the_group_does_not_exist(app, aws, stacks):
    result = invoke(app, "deploy", "--stack-file", str(stacks / "Pulumi.staging.yaml"), "--project", "churn",
                    "--latest-approved")
    assert result.exit_code == 1
    assert "acme-staging-churn" in result.output


# ---- explicit ARN, errors ----------------------------------------------------------------------------

def test_deploy_explicit_arn_creates_serving_when_missing(app, stacks):
    path = stacks / "Pulumi.dev.yaml"
    before = path.read_text()
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-fraud/2"
    result = invoke(app, "deploy", "--stack-file", str(path), "--project", "fraud", "--model-package-arn", arn,
                    "--no-up")
    assert result.exit_code == 0, result.output
    after = path.read_text()
    assert changed_lines(before, after) == ["+       serving:", f'+         modelPackageArn: "{arn}"']
    fraud = yaml.safe_load(after)["config"]["mlops:projects"][1]
    assert list(fraud) == ["name", "framework", "training", "serving"]
    assert "next: `pulumi up --stack dev`" in result.output
    # re-deploying replaces the value in place
    arn2 = arn[:-1] + "5"
    assert invoke(app, "deploy", "-f", str(path), "-p", "fraud", "--model-package-arn", arn2, "--no-up").exit_code == 0
    # ... and keeps the package served until now declared: its model and config are the rollback target
    assert changed_lines(after, path.read_text()) == [f'-         modelPackageArn: "{arn}"',
                                                      f'+         modelPackageArn: "{arn2}"',
                                                      f'+         previousModelPackageArn: "{arn}"']


def test_unknown_project_lists_the_known_ones(app, stacks):
    path = stacks / "Pulumi.dev.yaml"
    result = invoke(app, "deploy", "-f", str(path), "-p", "nope", "--model-package-arn", ARN)
    assert result.exit_code == 2
    assert "unknown project 'nope'" in result.output and "churn, fraud" in result.output


@pytest.mark.parametrize("args", [[], ["--model-package-arn", ARN, "--latest-approved"]], ids=["none", "both"])
def test_exactly_one_package_source(app, stacks, args):
    result = invoke(app, "deploy", "-f", str(stacks / "Pulumi.staging.yaml"), "-p", "churn", *args)
    assert result.exit_code == 2
    assert "exactly one of --model-package-arn" in result.output


def test_an_invalid_arn_is_rejected_and_the_file_restored(app, stacks):
    path = stacks / "Pulumi.staging.yaml"
    before = path.read_text()
    result = invoke(app, "deploy", "-f", str(path), "-p", "churn", "--model-package-arn", "arn:aws:s3:::bucket/x")
    assert result.exit_code == 2
    assert "modelPackageArn" in result.output
    assert path.read_text() == before


def test_repository_stack_without_the_cli_prints_the_exact_command(monkeypatch):
    monkeypatch.setattr(deploy.shutil, "which", lambda name: None)
    lines: list[str] = []
    ran = deploy.pulumi_up("staging", spec.stack_file("staging"), lines.append)
    assert ran is None  # no update ran: no outputs to verify
    assert lines == ["next: `pulumi up --stack staging` (the Pulumi CLI is not installed here, so nothing was "
                     "deployed yet)"]


# ---- promote ---------------------------------------------------------------------------------------

def test_promote_copies_the_staging_arn_to_prod(app, stacks):
    staging, prod = stacks / "Pulumi.staging.yaml", stacks / "Pulumi.prod.yaml"
    assert invoke(app, "deploy", "-f", str(staging), "-p", "churn", "--model-package-arn", ARN,
                  "--no-up").exit_code == 0
    before = prod.read_text()
    result = invoke(app, "promote", "--project", "churn", "--from", "staging", "--to", "prod",
                    "--stacks-dir", str(stacks))
    assert result.exit_code == 0, result.output
    assert changed_lines(before, prod.read_text()) == [
        "-       serving: {instanceType: ml.m5.large, minInstances: 2, maxInstances: 4}",
        f'+       serving: {{instanceType: ml.m5.large, minInstances: 2, maxInstances: 4, modelPackageArn: "{ARN}"}}',
    ]
    assert spec.load(path=prod).projects[0].serving.model_package_arn == ARN
    assert "pulumi up --stack prod" in result.output


def test_promote_refuses_without_a_source_arn(app, stacks):
    prod = stacks / "Pulumi.prod.yaml"
    before = prod.read_text()
    result = invoke(app, "promote", "--project", "churn", "--from", "staging", "--to", "prod",
                    "--stacks-dir", str(stacks))
    assert result.exit_code == 1
    assert "has no serving.modelPackageArn in stack staging" in result.output
    assert prod.read_text() == before


def test_promote_unknown_project(app, stacks):
    result = invoke(app, "promote", "--project", "fraud", "--from", "staging", "--to", "prod", "--stacks-dir",
                    str(stacks))
    assert result.exit_code == 2
    assert "unknown project 'fraud'; known projects: churn" in result.output


def test_stack_names_resolve_in_the_platform_checkout_of_the_working_directory(app, stacks, monkeypatch):
    """An installed `ladder` run inside a platform checkout (the generated deploy workflow) edits that checkout."""
    (stacks.parent / "Pulumi.yaml").write_text("name: mlops-ladder\nruntime: python\n")
    monkeypatch.chdir(stacks.parent)
    assert deploy.project_root() == stacks.parent
    result = invoke(app, "deploy", "--stack", "staging", "-p", "churn", "--model-package-arn", ARN, "--no-up")
    assert result.exit_code == 0, result.output
    assert spec.load(path=stacks / "Pulumi.staging.yaml").projects[0].serving.model_package_arn == ARN
    assert spec.load(stack="staging").projects[0].serving.model_package_arn == ARN  # --stack: the checkout's too
    assert spec.load(stack="staging", root=spec.REPO_ROOT).projects[0].serving.model_package_arn is None  # repo untouched
    result = invoke(app, "promote", "-p", "churn", "--from", "staging", "--to", "prod")
    assert result.exit_code == 0, result.output
    assert spec.load(path=stacks / "Pulumi.prod.yaml").projects[0].serving.model_package_arn == ARN


def test_deploy_pins_training_code_version_to_the_packages_own_code(app, aws, stacks):
    """Scheduled and drift-triggered retraining run the pipeline's default CodeVersion (training.codeVersion):
    deploying a package pins it to the code that package was trained with (CustomerMetadataProperties)."""
    aws.create_model_package_group(ModelPackageGroupName="acme-staging-churn")
    sha = "0123456789abcdef0123456789abcdef01234567"
    arn = aws.create_model_package(
        ModelPackageGroupName="acme-staging-churn", ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"CodeVersion": sha},
        InferenceSpecification={"Containers": [{"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]
    path = stacks / "Pulumi.staging.yaml"
    result = invoke(app, "deploy", "--stack-file", str(path), "--project", "churn", "--latest-approved")
    assert result.exit_code == 0, result.output
    project = spec.load(path=path).projects[0]
    assert project.serving.model_package_arn == arn and project.training.code_version == sha
    assert f"training.codeVersion = {sha}" in result.output
