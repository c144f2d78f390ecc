"""Level 2 training pipeline in the program: definition, schedule, permissions, and no side effects."""

from __future__ import annotations

import json
import socket

import boto3
import pytest
from moto import mock_aws

from modules import plan, spec
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
    # the project's own execution role, not the shared level-0 one
    role = g.find("aws:iam/role:Role", "churn-execution-role")
    assert role.inputs["name"] == "acme-dev-churn-sagemaker"
    assert p.inputs["roleArn"] == role.outputs["arn"]


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
    assert f"binary_classification_metrics.{metric}.value" in text
    assert gate["Arguments"]["Conditions"][0]["Type"] == "GreaterThanOrEqualTo"
    assert gate["Arguments"]["Conditions"][0]["RightValue"] == threshold
    assert [s["Name"] for s in gate["Arguments"]["ElseSteps"]] == ["fail"]


def test_register_targets_the_group_pending_approval(g):
    defn = definition(g, "churn")
    params = {p["Name"]: p for p in defn["Parameters"]}
    assert "ModelApprovalStatus" not in params
    register = [s for n, s in steps_by_name(defn).items() if s["Type"] == "RegisterModel"]
    assert register, "no RegisterModel step"
    args = register[0]["Arguments"]
    assert args["ModelPackageGroupName"] == "acme-dev-churn"
    assert args["ModelApprovalStatus"] == "PendingManualApproval"
    spec = args["InferenceSpecification"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == ["ml.m5.large"]  # tests.helpers: serving default
    assert "evaluation.json" in json.dumps(args["ModelMetrics"])


def test_step_code_comes_from_the_versioned_code_prefix(g):
    bucket = g.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket").outputs["bucket"]
    defn = definition(g, "churn")
    text = json.dumps(defn)
    assert {"Get": "Parameters.CodeVersion"} in steps_by_name(defn)["train"]["Arguments"]["HyperParameters"][
        "sagemaker_submit_directory"]["Std:Join"]["Values"]
    assert f'"s3://{bucket}/churn/code/"' in text
    assert "file://" not in text and "/tmp/" not in text


def test_code_version_flows_from_the_spec():
    g = run(config(maturity=2, projects=[{"name": "churn", "training": {"codeVersion": "v2025.1",
                                                                          "schedule": "rate(1 day)"}}]))
    defn = definition(g, "churn")
    assert {p["Name"]: p["DefaultValue"] for p in defn["Parameters"]}["CodeVersion"] == "v2025.1"
    params = {r.inputs["name"]: r.inputs["value"] for r in g.by_type("aws:ssm/parameter:Parameter")}
    assert params["/mlops/dev/churn/code-prefix"].endswith("/churn/code/v2025.1/")
    assert params["/mlops/dev/churn/code-root"].endswith("/churn/code/")
    assert params["/mlops/dev/churn/data-prefix"].endswith("/churn/data/")
    # the schedule runs the spec's version explicitly
    (schedule,) = g.by_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["target"]["sagemakerPipelineParameters"]["pipelineParameters"] == [
        {"name": "CodeVersion", "value": "v2025.1"}]


def test_schedule_role_may_only_start_this_pipeline(g):
    schedules = {r.name: r for r in g.by_type("aws:scheduler/schedule:Schedule")}
    assert set(schedules) == {"churn-training-schedule"}  # fraud declares no schedule in tests.helpers.BASE
    s = schedules["churn-training-schedule"]
    assert s.inputs["scheduleExpression"] == "rate(7 days)"
    assert s.inputs["state"] == "ENABLED"
    # no approval status (the pipeline declares none): only the code version the platform pins
    assert s.inputs["target"]["sagemakerPipelineParameters"]["pipelineParameters"] == [
        {"name": "CodeVersion", "value": "initial"}]
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
    assert by_sid["SeedSampleData"]["Resource"].endswith("/churn/data/sample-*")
    assert by_sid["ListStepCodeAndData"]["Condition"] == {"StringLike": {"s3:prefix": ["churn/code/*",
                                                                                       "churn/data/*"]}}
    assert by_sid["RunThisPipeline"]["Resource"][0].endswith(":pipeline/acme-dev-churn-training")


def test_contract_publishes_the_pipeline_name(g):
    params = {r.inputs["name"]: r.inputs["value"] for r in g.by_type("aws:ssm/parameter:Parameter")}
    assert params["/mlops/dev/churn/pipeline-name"] == "acme-dev-churn-training"
    assert params["/mlops/dev/fraud/pipeline-name"] == "acme-dev-fraud-training"


@mock_aws
def test_moto_accepts_the_definition_and_role_as_the_program_passes_them(g):
    iam = boto3.client("iam", region_name="us-east-1")
    role = g.find("aws:iam/role:Role", "churn-execution-role")
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


def test_project_execution_role_touches_only_its_prefixes(g):
    role = g.find("aws:iam/role:Role", "churn-execution-role")
    (trust,) = statements(policy(role, "assumeRolePolicy"))
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    doc = policy(g.find("aws:iam/rolePolicy:RolePolicy", "churn-execution-policy"))
    by_sid = {s["Sid"]: s for s in statements(doc)}
    bucket_arn = g.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket").outputs["arn"]
    assert by_sid["ReadWriteProjectPrefixes"]["Resource"] == [
        f"{bucket_arn}/churn/*", f"{bucket_arn}/capture/churn/*", f"{bucket_arn}/monitoring/churn/*"]
    assert by_sid["ListProjectPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == [
        "churn/*", "capture/churn/*", "monitoring/churn/*"]
    assert by_sid["GrantKeyToAwsServicesOnly"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert by_sid["PassOnlyItselfToSageMaker"]["Resource"] == "arn:aws:iam::123456789012:role/acme-dev-churn-sagemaker"
    assert not any("kms:CreateGrant" in as_list(s["Action"]) for s in statements(doc) if "Condition" not in s)
    # the training extension sits on the project role
    ext = g.find("aws:iam/rolePolicy:RolePolicy", "churn-training-execution-policy")
    assert ext.inputs["role"] == role.outputs["name"]


def test_shared_role_creates_grants_only_for_aws_services(g):
    doc = policy(g.find("aws:iam/rolePolicy:RolePolicy", "foundation-execution-policy"))
    grants = [s for s in statements(doc) if "kms:CreateGrant" in as_list(s["Action"])]
    assert grants and all(s["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}} for s in grants)


def test_contract_publishes_the_project_role(g):
    params = {r.inputs["name"]: r.inputs["value"] for r in g.by_type("aws:ssm/parameter:Parameter")}
    assert params["/mlops/dev/churn/execution-role-arn"] == g.find("aws:iam/role:Role",
                                                                   "churn-execution-role").outputs["arn"]
    assert params["/mlops/dev/fraud/execution-role-arn"].endswith(":role/acme-dev-fraud-sagemaker")


def test_partition_comes_from_the_provider(monkeypatch):
    """No hard-coded arn:aws: in the roles' policies: ARNs take the provider's partition (GovCloud, China)."""
    original = plan.PlanMocks.call

    def other_partition(self, args):
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws-test", "dnsSuffix": "example.com", "id": "aws-test",
                    "reverseDnsPrefix": "com.example"}, []
        return original(self, args)

    monkeypatch.setattr(plan.PlanMocks, "call", other_partition)
    g = run(config(maturity=2))
    names = ("churn-execution-policy", "churn-training-execution-policy", "churn-training-ci-policy",
             "churn-training-schedule-policy", "foundation-execution-policy")
    # ARNs the offline engine gives created resources are its own (arn:aws:...); everything built is ours
    made = [str(r.outputs.get("arn")) for r in g.resources if str(r.outputs.get("arn", "")).startswith("arn:")]
    for name in names:
        text = g.find("aws:iam/rolePolicy:RolePolicy", name).inputs["policy"]
        for arn in sorted(made, key=len, reverse=True):
            text = text.replace(arn, "")
        assert "arn:aws:" not in text, name
        assert "arn:aws-test:" in text, name


# ---- spec: training.cacheSteps and the project role's name -------------------------------------------------

def test_cache_steps_opt_in_turns_caching_on():
    g = run(config(maturity=2, projects=[{"name": "solo", "training": {"cacheSteps": True}}]))
    steps = steps_by_name(definition(g, "solo"))
    assert all(steps[n]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"} for n in ("preprocess", "train",
                                                                                            "evaluate"))
    g = run(config(maturity=2, projects=[{"name": "solo"}]))
    assert not any(s.get("CacheConfig", {}).get("Enabled") for s in steps_by_name(definition(g, "solo")).values())


@pytest.mark.parametrize("maturity,training,trigger", [
    (2, {"cacheSteps": True, "schedule": "rate(1 day)"}, "training.schedule"),
    (4, {"cacheSteps": True}, "retraining loop"),
])
def test_cache_steps_is_refused_where_runs_repeat_their_parameters(maturity, training, trigger):
    project = {"name": "solo", "training": training}
    if maturity == 4:
        project["serving"] = {"modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-solo/1"}
    with pytest.raises(spec.SpecError) as err:
        spec.from_config(config(maturity=maturity, projects=[project]), source="stacks/Pulumi.x.yaml")
    (problem,) = [p for p in err.value.problems if p.path.endswith("cacheSteps")]
    assert problem.path == "mlops:projects[0].training.cacheSteps"
    assert trigger in problem.message and "arguments" in problem.message


def test_project_execution_role_name_is_derived_once_and_length_checked():
    from modules.naming import Naming

    derived = Naming("acme", "dev").project_names("churn")["execution role"]
    assert (derived.value, derived.kind) == ("acme-dev-churn-sagemaker", "iam_role")
    long = Naming("acme", "dev").project_names("p" + "x" * 45)["execution role"]
    assert long.length == 65 and not long.ok  # IAM role names: at most 64 characters
