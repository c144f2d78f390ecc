"""The SageMaker pipeline definition builder (modules/pipeline_definition.py): shape, gate, registration, code
references, determinism, offline build, and acceptance by the SageMaker API (moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from modules.pipeline_definition import PipelineInputs, build_definition

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
BASE = PipelineInputs(
    project="churn", pipeline_name="acme-dev-churn-training", region="us-east-1",
    artifact_bucket="acme-dev-artifacts", role_arn=f"arn:aws:iam::{ACCOUNT}:role/acme-dev-sagemaker-execution",
    model_package_group="acme-dev-churn",
)
CODE_PREFIX = "s3://acme-dev-artifacts/churn/code/initial/"


def definition(**overrides) -> dict:
    return json.loads(build_definition(replace(BASE, **overrides)))


def steps_by_name(d: dict) -> dict[str, dict]:
    """Every step, flattened out of condition branches."""
    found: dict[str, dict] = {}

    def walk(steps):
        for step in steps:
            assert step["Name"] not in found, f"duplicate step {step['Name']}"
            found[step["Name"]] = step
            if step["Type"] == "Condition":
                walk(step["Arguments"]["IfSteps"])
                walk(step["Arguments"]["ElseSteps"])

    walk(d["Steps"])
    return found


def gets(obj) -> list[str]:
    """Every {"Get": ...} reference in a JSON tree."""
    out: list[str] = []
    if isinstance(obj, dict):
        if set(obj) == {"Get"}:
            out.append(obj["Get"])
        for v in obj.values():
            out.extend(gets(v))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(gets(v))
    return out


def strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    return []


# ---------------------------------------------------------------------------------------------------------------
# shape
# ---------------------------------------------------------------------------------------------------------------

def test_parses_with_the_declared_parameters():
    d = definition()
    assert d["Version"] == "2020-12-01"
    params = {p["Name"]: p for p in d["Parameters"]}
    assert set(params) == {"InputDataUrl", "TrainingInstanceType", "ProcessingInstanceType", "ModelApprovalStatus"}
    assert params["InputDataUrl"]["DefaultValue"] == "s3://acme-dev-artifacts/churn/data/raw/"
    assert params["TrainingInstanceType"]["DefaultValue"] == "ml.m5.xlarge"
    assert params["ProcessingInstanceType"]["DefaultValue"] == "ml.m5.large"
    assert params["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"


def test_exactly_the_six_steps_with_their_types():
    d = definition()
    steps = steps_by_name(d)
    assert {n: s["Type"] for n, s in steps.items()} == {
        "preprocess": "Processing", "train": "Training", "evaluate": "Processing",
        "gate": "Condition", "register": "RegisterModel", "fail": "Fail",
    }
    assert [s["Name"] for s in d["Steps"]] == ["preprocess", "train", "evaluate", "gate"]
    gate = steps["gate"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["register"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["fail"]


def test_data_dependencies_chain_the_steps():
    steps = steps_by_name(definition())
    pre = steps["preprocess"]["Arguments"]
    assert "Parameters.InputDataUrl" in gets(pre["ProcessingInputs"])
    assert [o["OutputName"] for o in pre["ProcessingOutputConfig"]["Outputs"]] == ["train", "validation", "test"]

    train = steps["train"]["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]}
    assert channels == {
        "train": {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
        "validation": {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri"},
    }

    evaluate = steps["evaluate"]["Arguments"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluate["ProcessingInputs"]}
    assert inputs["model"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["test"] == {"Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}
    assert steps["evaluate"]["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}]
    assert [o["OutputName"] for o in evaluate["ProcessingOutputConfig"]["Outputs"]] == ["evaluation"]

    condition = steps["gate"]["Arguments"]["Conditions"][0]
    assert condition["LeftValue"]["Std:JsonGet"]["PropertyFile"] == {"Get": "Steps.evaluate.PropertyFiles.EvaluationReport"}

    register = steps["register"]["Arguments"]
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    # nothing references a step that does not exist, and no step references itself
    for name, step in steps.items():
        for ref in gets(step.get("Arguments", {})):
            if ref.startswith("Steps."):
                assert ref.split(".")[1] in steps and ref.split(".")[1] != name, (name, ref)


def test_script_mode_training_with_sm_channels():
    train = steps_by_name(definition())["train"]["Arguments"]
    hp = train["HyperParameters"]
    assert hp["sagemaker_program"] == "train.py"
    assert hp["sagemaker_submit_directory"] == CODE_PREFIX + "sourcedir.tar.gz"
    assert {c["ChannelName"] for c in train["InputDataConfig"]} == {"train", "validation"}
    assert train["OutputDataConfig"]["S3OutputPath"] == "s3://acme-dev-artifacts/churn/pipelines/acme-dev-churn-training/train/"
    assert train["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert "sagemaker-scikit-learn:1.2-1-cpu-py3" in train["AlgorithmSpecification"]["TrainingImage"]
    assert train["RoleArn"] == BASE.role_arn


# ---------------------------------------------------------------------------------------------------------------
# gate and registration
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric,threshold", [("f1", 0.7), ("auc", 0.8), ("rmse_inv", 3)])
def test_condition_uses_the_spec_metric_and_threshold(metric, threshold):
    steps = steps_by_name(definition(metric=metric, threshold=threshold))
    (condition,) = steps["gate"]["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == f"metrics.{metric}.value"
    assert condition["RightValue"] == float(threshold)
    message = steps["fail"]["Arguments"]["ErrorMessage"]
    assert metric in message and f"{float(threshold):g}" in message


def test_register_targets_the_group_pending_manual_approval_with_metrics():
    d = definition(model_package_group="acme-dev-fraud")
    register = steps_by_name(d)["register"]["Arguments"]
    assert register["ModelPackageGroupName"] == "acme-dev-fraud"
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert {p["Name"]: p["DefaultValue"] for p in d["Parameters"]}["ModelApprovalStatus"] == "PendingManualApproval"
    stats = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert stats["ContentType"] == "application/json"
    assert stats["S3Uri"] == {"Std:Join": {"On": "/", "Values": [
        {"Get": "Steps.evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"}, "evaluation.json"]}}
    container = register["InferenceSpecification"]["Containers"][0]
    train_image = steps_by_name(d)["train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert container["Image"] == train_image  # sklearn: one framework image for training and serving
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == CODE_PREFIX + "sourcedir.tar.gz"


def test_xgboost_uses_the_xgboost_images_for_the_region():
    steps = steps_by_name(definition(framework="xgboost", framework_version="1.7-1", region="eu-west-1"))
    image = steps["train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith(".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1")
    assert steps["register"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"] == image
    assert steps["evaluate"]["Arguments"]["AppSpecification"]["ImageUri"] == image


# ---------------------------------------------------------------------------------------------------------------
# code references, outputs, caching, retries, KMS
# ---------------------------------------------------------------------------------------------------------------

def test_every_code_reference_is_under_the_versioned_code_prefix():
    d = definition(code_version="v42")
    prefix = "s3://acme-dev-artifacts/churn/code/v42/"
    steps = steps_by_name(d)
    code_refs = [i["S3Input"]["S3Uri"] for n in ("preprocess", "evaluate")
                 for i in steps[n]["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"]
    code_refs.append(steps["train"]["Arguments"]["HyperParameters"]["sagemaker_submit_directory"])
    assert code_refs == [prefix + "preprocess.py", prefix + "evaluate.py", prefix + "sourcedir.tar.gz"]
    for n, script in (("preprocess", "preprocess.py"), ("evaluate", "evaluate.py")):
        assert steps[n]["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == [
            "python3", f"/opt/ml/processing/input/code/{script}"]
    # every s3:// string is ours: code under the versioned prefix, data and outputs under the project
    for s in strings(d):
        if s.startswith("s3://"):
            assert s.startswith("s3://acme-dev-artifacts/churn/"), s
            if "/code/" in s:
                assert s.startswith(prefix), s
    # nothing the SDK would have invented: no default bucket, no local paths, no placeholder
    text = json.dumps(d)
    for forbidden in ("sagemaker-us-east-1", "file://", "offline-placeholder", "/code/initial/"):
        assert forbidden not in text


def test_outputs_are_under_the_pipelines_prefix():
    steps = steps_by_name(definition())
    prefix = "s3://acme-dev-artifacts/churn/pipelines/acme-dev-churn-training/"
    outs = [o["S3Output"]["S3Uri"] for n in ("preprocess", "evaluate")
            for o in steps[n]["Arguments"]["ProcessingOutputConfig"]["Outputs"]]
    outs.append(steps["train"]["Arguments"]["OutputDataConfig"]["S3OutputPath"])
    assert len(outs) == 5 and all(o.startswith(prefix) for o in outs)


def test_job_steps_cache_and_retry():
    steps = steps_by_name(definition())
    for name in ("preprocess", "train", "evaluate"):
        assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, name
        kinds = [set(p["ExceptionType"]) for p in steps[name]["RetryPolicies"]]
        assert {"Step.THROTTLING", "Step.SERVICE_FAULT"} in kinds, name
        assert any("SageMaker.CAPACITY_ERROR" in k for k in kinds), name
    assert steps["register"]["RetryPolicies"][0]["ExceptionType"] == ["Step.THROTTLING", "Step.SERVICE_FAULT"]


def test_kms_key_encrypts_outputs_and_volumes_only_when_given():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    steps = steps_by_name(definition(kms_key_arn=key))
    for n in ("preprocess", "evaluate"):
        args = steps[n]["Arguments"]
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
        assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert steps["train"]["Arguments"]["OutputDataConfig"]["KmsKeyId"] == key
    assert steps["train"]["Arguments"]["ResourceConfig"]["VolumeKmsKeyId"] == key
    plain = json.dumps(definition())
    assert "KmsKeyId" not in plain and "arn:aws:kms" not in plain


def test_invalid_inputs_are_rejected_with_a_clear_error():
    for field, value in (("framework", "tensorflow"), ("metric", "auc; drop"), ("threshold", float("nan")),
                         ("artifact_bucket", "Not_A_Bucket"), ("role_arn", "my-role"), ("code_version", "a/b")):
        with pytest.raises(ValueError, match=field):
            build_definition(replace(BASE, **{field: value}))


# ---------------------------------------------------------------------------------------------------------------
# determinism, isolation between projects, offline build
# ---------------------------------------------------------------------------------------------------------------

def test_deterministic_and_projects_do_not_leak_into_each_other():
    build_definition.cache_clear()
    first = build_definition(BASE)
    other = build_definition(replace(BASE, project="fraud", pipeline_name="acme-dev-fraud-training",
                                     model_package_group="acme-dev-fraud", metric="f1", threshold=0.7))
    build_definition.cache_clear()
    again = build_definition(BASE)
    assert first == again
    assert "fraud" not in first and "churn" not in other
    assert json.dumps(json.loads(first), sort_keys=True, separators=(",", ":")) == first  # canonical form


_OFFLINE_SCRIPT = textwrap.dedent("""
    import json, os, socket, sys, threading
    sys.path.insert(0, sys.argv[1])
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network blocked by test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    import boto3
    from modules.pipeline_definition import PipelineInputs, build_definition
    out = []
    for project in ("churn", "fraud"):
        out.append(build_definition(PipelineInputs(
            project=project, pipeline_name=f"acme-dev-{project}-training", region="eu-west-1",
            artifact_bucket="acme-dev-artifacts", role_arn="arn:aws:iam::123456789012:role/exec",
            model_package_group=f"acme-dev-{project}", framework="xgboost", framework_version="1.7-1",
            kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k")))
    for t in threading.enumerate():
        if t is not threading.main_thread():
            t.join(5)
    print(json.dumps({"attempts": attempts, "threads": [t.name for t in threading.enumerate()],
                      "default_session": boto3.DEFAULT_SESSION is not None,
                      "validate_role": os.environ.get("SAGEMAKER_VALIDATE_ROLE"),
                      "definitions": out}))
""")


def test_builds_offline_without_credentials_or_region_in_a_fresh_process(tmp_path):
    """Fresh interpreter (so the SDK import itself is covered), no AWS_* variables, no ~/.aws, every socket
    call refused: the build works, nothing even tried to connect, no telemetry thread was started."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-c", _OFFLINE_SCRIPT, str(ROOT)], env=env, capture_output=True, check=False,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["threads"] == ["MainThread"]
    assert result["default_session"] is False  # boto3's default session is left as it was
    assert result["validate_role"] is None      # the env switch is scoped to the build
    churn, fraud = (json.loads(d) for d in result["definitions"])
    assert steps_by_name(churn)["register"]["Arguments"]["ModelPackageGroupName"] == "acme-dev-churn"
    assert steps_by_name(fraud)["register"]["Arguments"]["ModelPackageGroupName"] == "acme-dev-fraud"


def test_socket_blocked_build_in_process(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network call while building: {args[:2]!r}")

    import socket

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
                "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    build_definition.cache_clear()
    d = json.loads(build_definition(replace(BASE, region="ap-southeast-2", project="offline",
                                            pipeline_name="acme-dev-offline-training")))
    assert "ap-southeast-2" in steps_by_name(d)["train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]


def test_an_sdk_attempt_to_call_aws_fails_loudly():
    """The offline sessions refuse to send: if an SDK change made the build call AWS, it would raise, not connect."""
    from modules.pipeline_definition import OfflineViolation, _session

    client = _session("us-east-1").sagemaker_client
    with pytest.raises(OfflineViolation, match="tried to call AWS"):
        client.list_pipelines()


# ---------------------------------------------------------------------------------------------------------------
# the SageMaker API accepts it (moto)
# ---------------------------------------------------------------------------------------------------------------

def test_moto_create_pipeline_accepts_and_returns_the_definition():
    import boto3
    from moto import mock_aws

    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role_arn = iam.create_role(
            RoleName="acme-dev-sagemaker-execution",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        inputs = replace(BASE, role_arn=role_arn, metric="f1", threshold=0.7,
                         kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k")
        body = build_definition(inputs)
        sm = boto3.client("sagemaker", region_name="us-east-1")
        arn = sm.create_pipeline(PipelineName=inputs.pipeline_name, PipelineDefinition=body,
                                 RoleArn=role_arn)["PipelineArn"]
        assert arn.endswith(f":pipeline/{inputs.pipeline_name}")
        described = sm.describe_pipeline(PipelineName=inputs.pipeline_name)
        assert described["PipelineDefinition"] == body
        assert described["RoleArn"] == role_arn
        assert json.loads(described["PipelineDefinition"])["Steps"][3]["Name"] == "gate"
