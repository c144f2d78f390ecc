"""Level 2 training pipeline in the program: definition, schedule, permissions, and no side effects."""

from __future__ import annotations

import json
import socket

import boto3
import pytest
from moto import mock_aws

from modules import plan
from tests.helpers import as_list, config, policy, run, statements


@pytest.fixture(scope="module")
def g() -> plan.Graph:
    return run(config(maturity=2))


def definition(g: plan.Graph, project: str) -> dict:
    return json.loads(g.find("aws:sagemaker/pipeline:Pipeline", f"{project}-training-pipeline")
                      .inputs["pipelineDefinition"])


def steps_by_name(defn: dict) -> dict[str, dict]:
    out = {}
    for step in defn["Steps"]:
        out[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step.get("Arguments", {}).get(branch, []):
                out[inner["Name"]] = inner
    return out


def test_one_pipeline_per_project_named_by_the_helper(g):
    pipes = {r.name: r for r in g.by_type("aws:sagemaker/pipeline:Pipeline")}
    assert set(pipes) == {"churn-training-pipeline", "fraud-training-pipeline"}
    p = pipes["churn-training-pipeline"]
    assert p.inputs["pipelineName"] == "acme-dev-churn-training"
    assert p.inputs["roleArn"] == g.find("aws:iam/role:Role", "foundation-execution-role").outputs["arn"]


def test_definition_has_the_steps_in_order(g):
    steps = steps_by_name(definition(g, "churn"))
    assert {"preprocess", "train", "evaluate", "gate", "register", "fail"} <= set(steps)
    assert steps["preprocess"]["Type"] == "Processing"
    assert steps["train"]["Type"] == "Training"
    assert steps["evaluate"]["Type"] == "Processing"
    assert steps["gate"]["Type"] == "Condition"
    assert steps["fail"]["Type"] == "Fail"
    text = json.dumps(steps["train"])
    assert "Steps.preprocess" in text  # train consumes preprocess outputs
    assert "Steps.train" in json.dumps(steps["evaluate"])  # evaluate consumes the model


@pytest.mark.parametrize("project,metric,threshold", [("churn", "auc", 0.8), ("fraud", "f1", 0.7)])
def test_gate_uses_the_spec_metric_and_threshold(g, project, metric, threshold):
    gate = steps_by_name(definition(g, project))["gate"]
    text = json.dumps(gate["Arguments"]["Conditions"])
    assert f"metrics.{metric}.value" in text
    assert gate["Arguments"]["Conditions"][0]["Type"] == "GreaterThanOrEqualTo"
    assert gate["Arguments"]["Conditions"][0]["RightValue"] == threshold
    assert [s["Name"] for s in gate["Arguments"]["ElseSteps"]] == ["fail"]


def test_register_targets_the_group_pending_approval(g):
    defn = definition(g, "churn")
    params = {p["Name"]: p for p in defn["Parameters"]}
    assert params["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
    register = [s for n, s in steps_by_name(defn).items() if s["Type"] == "RegisterModel"]
    assert register, "no RegisterModel step"
    args = register[0]["Arguments"]
    assert args["ModelPackageGroupName"] == "acme-dev-churn"
    assert args["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert "evaluation.json" in json.dumps(args["ModelMetrics"])


def test_step_code_comes_from_the_versioned_code_prefix(g):
    bucket = g.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket").outputs["bucket"]
    text = json.dumps(definition(g, "churn"))
    prefix = f"s3://{bucket}/churn/code/initial/"
    assert prefix in text
    assert "file://" not in text and "/tmp/" not in text


def test_code_version_flows_from_the_spec():
    g = run(config(maturity=2, projects=[{"name": "churn", "training": {"codeVersion": "v2025.1"}}]))
    assert "/churn/code/v2025.1/" in g.find("aws:sagemaker/pipeline:Pipeline", "churn-training-pipeline") \
        .inputs["pipelineDefinition"]
    params = {r.inputs["name"]: r.inputs["value"] for r in g.by_type("aws:ssm/parameter:Parameter")}
    assert params["/mlops/dev/churn/code-prefix"].endswith("/churn/code/v2025.1/")


def test_schedule_role_may_only_start_this_pipeline(g):
    schedules = {r.name: r for r in g.by_type("aws:scheduler/schedule:Schedule")}
    assert set(schedules) == {"churn-training-schedule"}  # fraud declares no schedule in tests.helpers.BASE
    s = schedules["churn-training-schedule"]
    assert s.inputs["scheduleExpression"] == "rate(7 days)"
    assert s.inputs["state"] == "ENABLED"
    assert s.inputs["target"]["sagemakerPipelineParameters"]["pipelineParameters"] == [
        {"name": "ModelApprovalStatus", "value": "PendingManualApproval"}]
    pipe = g.find("aws:sagemaker/pipeline:Pipeline", "churn-training-pipeline")
    assert s.inputs["target"]["arn"] == pipe.outputs["arn"]
    role = g.find("aws:iam/role:Role", "churn-training-schedule-role")
    assert s.inputs["target"]["roleArn"] == role.outputs["arn"]
    (trust,) = statements(policy(role, "assumeRolePolicy"))
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    start, decrypt = statements(policy(g.find("aws:iam/rolePolicy:RolePolicy", "churn-training-schedule-policy")))
    assert start["Action"] == "sagemaker:StartPipelineExecution"
    assert start["Resource"] == "arn:aws:sagemaker:us-east-1:123456789012:pipeline/acme-dev-churn-training"
    key_arn = g.find("aws:kms/key:Key", "foundation-kms-key").outputs["arn"]
    assert decrypt["Action"] == "kms:Decrypt" and decrypt["Resource"] == key_arn
    assert s.inputs["kmsKeyArn"] == key_arn


def test_no_schedule_without_a_schedule_expression(g):
    assert not [r for r in g.resources if r.name.startswith("fraud-training-schedule")]
    g2 = run(config(maturity=2, projects=[{"name": "solo"}]))
    assert not g2.by_type("aws:scheduler/schedule:Schedule")
    assert any("runs on demand only" in n for n in g2.notes)


def test_execution_role_extension_is_project_scoped(g):
    doc = policy(g.find("aws:iam/rolePolicy:RolePolicy", "churn-training-execution-policy"))
    for st in statements(doc):
        for action in as_list(st["Action"]):
            assert action != "*" and not action.endswith(":*")
    reg = next(s for s in statements(doc) if s["Sid"] == "RegisterIntoProjectGroup")
    assert all("acme-dev-churn" in r for r in reg["Resource"])


def test_ci_role_may_upload_code_and_start_only_its_pipeline(g):
    doc = policy(g.find("aws:iam/rolePolicy:RolePolicy", "churn-training-ci-policy"))
    by_sid = {s["Sid"]: s for s in statements(doc)}
    assert by_sid["UploadStepCode"]["Resource"].endswith("/churn/code/*")
    assert by_sid["RunThisPipeline"]["Resource"][0].endswith(":pipeline/acme-dev-churn-training")


def test_contract_publishes_the_pipeline_name(g):
    params = {r.inputs["name"]: r.inputs["value"] for r in g.by_type("aws:ssm/parameter:Parameter")}
    assert params["/mlops/dev/churn/pipeline-name"] == "acme-dev-churn-training"
    assert params["/mlops/dev/fraud/pipeline-name"] == "acme-dev-fraud-training"


@mock_aws
def test_moto_accepts_the_definition_and_role_as_the_program_passes_them(g):
    iam = boto3.client("iam", region_name="us-east-1")
    role = g.find("aws:iam/role:Role", "foundation-execution-role")
    arn = iam.create_role(RoleName=role.inputs["name"],
                          AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"])["Role"]["Arn"]
    sm = boto3.client("sagemaker", region_name="us-east-1")
    for pipe in g.by_type("aws:sagemaker/pipeline:Pipeline"):
        sm.create_pipeline(PipelineName=pipe.inputs["pipelineName"],
                           PipelineDisplayName=pipe.inputs["pipelineDisplayName"],
                           PipelineDefinition=pipe.inputs["pipelineDefinition"], RoleArn=arn)
        described = sm.describe_pipeline(PipelineName=pipe.inputs["pipelineName"])
        assert json.loads(described["PipelineDefinition"]) == json.loads(pipe.inputs["pipelineDefinition"])


def test_plan_makes_no_network_call_at_all(monkeypatch):
    """Block every socket (not just non-loopback) while the level-2 program runs."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call during plan: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    g = run(config(maturity=2, projects=[{"name": "offline", "training": {"schedule": "rate(1 day)"}}]))
    assert g.by_type("aws:sagemaker/pipeline:Pipeline")


def test_definitions_are_deterministic():
    a = run(config(maturity=2))
    b = run(config(maturity=2))
    da = {r.name: r.inputs["pipelineDefinition"] for r in a.by_type("aws:sagemaker/pipeline:Pipeline")}
    db = {r.name: r.inputs["pipelineDefinition"] for r in b.by_type("aws:sagemaker/pipeline:Pipeline")}
    assert da == db
