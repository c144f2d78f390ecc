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
CODE_ROOT = "s3://acme-dev-artifacts/churn/code/"
OUT_ROOT = "s3://acme-dev-artifacts/churn/pipelines/acme-dev-churn-training"


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


def resolve(expr, parameters: dict | None = None, execution_id: str = "exec-1"):
    """The value SageMaker would give an expression in one execution (Parameters, Execution, Std:Join); step
    properties stay as their {"Get": ...} reference."""
    if isinstance(expr, dict) and set(expr) == {"Get"}:
        ref = expr["Get"]
        if ref.startswith("Parameters."):
            return (parameters or {})[ref.split(".", 1)[1]]
        if ref == "Execution.PipelineExecutionId":
            return execution_id
        return expr
    if isinstance(expr, dict) and set(expr) == {"Std:Join"}:
        parts = [resolve(v, parameters, execution_id) for v in expr["Std:Join"]["Values"]]
        if all(isinstance(p, str) for p in parts):
            return expr["Std:Join"]["On"].join(parts)
        return {"Std:Join": {"On": expr["Std:Join"]["On"], "Values": parts}}
    return expr


def defaults(d: dict) -> dict:
    return {p["Name"]: p["DefaultValue"] for p in d["Parameters"]}


def output_uris(steps: dict) -> list:
    outs = [o["S3Output"]["S3Uri"] for n in ("preprocess", "baseline", "evaluate")
            for o in steps[n]["Arguments"]["ProcessingOutputConfig"]["Outputs"]]
    return outs + [steps["train"]["Arguments"]["OutputDataConfig"]["S3OutputPath"]]


def code_uris(steps: dict) -> list:
    refs = [i["S3Input"]["S3Uri"] for n in ("preprocess", "evaluate")
            for i in steps[n]["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"]
    return refs + [steps["train"]["Arguments"]["HyperParameters"]["sagemaker_submit_directory"]]


# ---------------------------------------------------------------------------------------------------------------
# shape
# ---------------------------------------------------------------------------------------------------------------

def test_parses_with_the_declared_parameters():
    d = definition()
    assert d["Version"] == "2020-12-01"
    params = {p["Name"]: p for p in d["Parameters"]}
    # no ModelApprovalStatus parameter: whoever may start the pipeline must not be able to register Approved
    assert list(params) == ["CodeVersion", "InputDataUrl", "TrainingInstanceType", "ProcessingInstanceType"]
    assert params["CodeVersion"]["DefaultValue"] == "initial"
    assert params["InputDataUrl"]["DefaultValue"] == "s3://acme-dev-artifacts/churn/data/"
    assert params["TrainingInstanceType"]["DefaultValue"] == "ml.m5.xlarge"
    assert params["ProcessingInstanceType"]["DefaultValue"] == "ml.m5.large"
    assert all(p["Type"] == "String" for p in params.values())
    # no default experiment config: it needs sagemaker:CreateExperiment/CreateTrial, which the role lacks
    assert d.get("PipelineExperimentConfig") is None


def test_exactly_the_seven_steps_with_their_types():
    d = definition()
    steps = steps_by_name(d)
    assert {n: s["Type"] for n, s in steps.items()} == {
        "preprocess": "Processing", "baseline": "Processing", "train": "Training", "evaluate": "Processing",
        "gate": "Condition", "register": "RegisterModel", "fail": "Fail",
    }
    assert [s["Name"] for s in d["Steps"]] == ["preprocess", "train", "evaluate", "baseline", "gate"]
    gate = steps["gate"]["Arguments"]
    assert [s["Name"] for s in gate["IfSteps"]] == ["register"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["fail"]


def test_data_dependencies_chain_the_steps():
    steps = steps_by_name(definition())
    pre = steps["preprocess"]["Arguments"]
    assert "Parameters.InputDataUrl" in gets(pre["ProcessingInputs"])
    assert [o["OutputName"] for o in pre["ProcessingOutputConfig"]["Outputs"]] == ["train", "validation", "test",
                                                                                "manifest", "baseline"]
    baseline = steps["baseline"]["Arguments"]  # Model Monitor's analyzer on evaluate's baseline dataset
    assert gets(baseline["ProcessingInputs"]) == [
        "Steps.evaluate.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"]
    assert steps["preprocess"]["PropertyFiles"] == [
        {"PropertyFileName": "DataManifest", "OutputName": "manifest", "FilePath": "manifest.json"}]
    assert pre["AppSpecification"]["ContainerArguments"][-2:] == ["--input-uri", {"Get": "Parameters.InputDataUrl"}]

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
    assert [o["OutputName"] for o in evaluate["ProcessingOutputConfig"]["Outputs"]] == ["evaluation", "baseline"]
    assert inputs["baseline_features"] == {
        "Get": "Steps.preprocess.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"}

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
    assert resolve(hp["sagemaker_submit_directory"], {"CodeVersion": "abc123"}) == CODE_ROOT + "abc123/sourcedir.tar.gz"
    assert {c["ChannelName"] for c in train["InputDataConfig"]} == {"train", "validation"}
    assert resolve(train["OutputDataConfig"]["S3OutputPath"], execution_id="e7") == f"{OUT_ROOT}/e7/train"
    assert train["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert "sagemaker-scikit-learn:1.9-0-cpu-py3" in train["AlgorithmSpecification"]["TrainingImage"]  # SUPPORTED_FRAMEWORKS
    assert train["RoleArn"] == BASE.role_arn


# ---------------------------------------------------------------------------------------------------------------
# gate and registration
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric,threshold", [("f1", 0.7), ("auc", 0.8), ("rmse_inv", 3)])
def test_condition_uses_the_spec_metric_and_threshold(metric, threshold):
    steps = steps_by_name(definition(metric=metric, threshold=threshold))
    (condition,) = steps["gate"]["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    # Model Monitor model-quality statistics format (what the registry's ModelQuality.Statistics holds)
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == f"binary_classification_metrics.{metric}.value"
    assert condition["RightValue"] == float(threshold)
    message = steps["fail"]["Arguments"]["ErrorMessage"]
    assert metric in message and f"{float(threshold):g}" in message


# The condition step compares with GreaterThanOrEqualTo (min: higher-is-better) or LessThanOrEqualTo (max:
# lower-is-better), on the problem type's group of Model Monitor's model-quality statistics
# (docs: Pipelines "Condition step"; model-monitor-model-quality-metrics.html for the groups).
@pytest.mark.parametrize("problem_type,metric,bound,kind,group", [
    ("regression", "rmse", "max", "LessThanOrEqualTo", "regression_metrics"),
    ("regression", "r2", "min", "GreaterThanOrEqualTo", "regression_metrics"),
    ("multiclass", "f1_weighted", "min", "GreaterThanOrEqualTo", "multiclass_classification_metrics"),
    ("multiclass", "log_loss", "max", "LessThanOrEqualTo", "multiclass_classification_metrics"),
    ("binary", "log_loss", "max", "LessThanOrEqualTo", "binary_classification_metrics"),
])
def test_gate_direction_and_group_follow_the_problem_type(problem_type, metric, bound, kind, group):
    steps = steps_by_name(definition(metric=metric, threshold=0.4, bound=bound, problem_type=problem_type))
    (condition,) = steps["gate"]["Arguments"]["Conditions"]
    assert condition["Type"] == kind
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == f"{group}.{metric}.value"
    assert condition["RightValue"] == 0.4
    op = "<=" if bound == "max" else ">="
    assert steps["gate"]["Description"] == f"{metric} {op} 0.4"
    message = steps["fail"]["Arguments"]["ErrorMessage"]
    assert f"{metric} {op} 0.4 required" in message
    assert ("above" if bound == "max" else "below") in message


def test_gate_inputs_change_the_definition_cache_key():
    from modules import definition_cache

    keys = {definition_cache.key(replace(BASE, **o)) for o in
            ({}, {"bound": "max"}, {"problem_type": "regression"}, {"threshold": 0.81})}
    assert len(keys) == 4


def test_register_targets_the_group_pending_manual_approval_as_a_literal():
    d = definition(model_package_group="acme-dev-fraud")
    register = steps_by_name(d)["register"]["Arguments"]
    assert register["ModelPackageGroupName"] == "acme-dev-fraud"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert "ModelApprovalStatus" not in defaults(d)


def test_metrics_uri_is_the_evaluate_steps_own_output_with_one_slash():
    d = definition()
    steps = steps_by_name(d)
    stats = steps["register"]["Arguments"]["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert stats["ContentType"] == "application/json"
    (own,) = [o for o in steps["evaluate"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
              if o["OutputName"] == "evaluation"]
    assert stats["S3Uri"] == {"Std:Join": {"On": "/", "Values": [
        {"Get": "Steps.evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"}, "evaluation.json"]}}
    # substitute the step's own output URI for the property reference, per execution
    for execution in ("e1", "e2"):
        out = resolve(own["S3Output"]["S3Uri"], execution_id=execution)
        uri = "/".join([out, "evaluation.json"])
        assert uri == f"{OUT_ROOT}/{execution}/evaluate/evaluation/evaluation.json"
        assert "//" not in uri.removeprefix("s3://")


def test_registered_package_carries_its_own_inference_code():
    d = definition()
    register = steps_by_name(d)["register"]["Arguments"]
    container = register["InferenceSpecification"]["Containers"][0]
    train_image = steps_by_name(d)["train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert container["Image"] == train_image  # sklearn: one framework image for training and serving
    # network-isolated containers cannot reach S3: the code is inside model.tar.gz (train.py puts it in code/)
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert container["ModelDataUrl"] == {"Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}
    assert "s3://" not in json.dumps(container["Environment"])


def test_package_metadata_records_code_data_and_execution():
    register = steps_by_name(definition())["register"]["Arguments"]
    meta = register["CustomerMetadataProperties"]
    manifest = {"Get": "Steps.preprocess.PropertyFiles.DataManifest"}
    assert meta == {
        "CodeVersion": {"Get": "Parameters.CodeVersion"},
        "DataVersion": {"Std:JsonGet": {"Path": "data_version", "PropertyFile": manifest}},
        "DataUri": {"Std:JsonGet": {"Path": "data_uri", "PropertyFile": manifest}},
        "PipelineExecutionArn": {"Get": "Execution.PipelineExecutionArn"},
    }


@pytest.mark.parametrize("instance_type", ["ml.c5.large", "ml.m5.2xlarge"])
def test_inference_instance_types_come_from_the_spec(instance_type):
    spec = steps_by_name(definition(serving_instance_type=instance_type))["register"]["Arguments"][
        "InferenceSpecification"]
    assert spec["SupportedRealtimeInferenceInstanceTypes"] == [instance_type]
    assert "SupportedTransformInstanceTypes" not in spec  # none invented


def test_xgboost_uses_the_xgboost_images_for_the_region():
    from modules.pipeline_definition import SUPPORTED_FRAMEWORKS

    version = SUPPORTED_FRAMEWORKS["xgboost"]["version"]
    assert version == "3.2-0"  # the newest in the SDK's image_uri_config/xgboost.json, training and inference
    steps = steps_by_name(definition(framework="xgboost", framework_version=version, region="eu-west-1"))
    image = steps["train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    assert image.endswith(".dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0")
    assert steps["register"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"] == image
    assert steps["evaluate"]["Arguments"]["AppSpecification"]["ImageUri"] == image


# ---------------------------------------------------------------------------------------------------------------
# code references, outputs, caching, retries, KMS
# ---------------------------------------------------------------------------------------------------------------

def test_every_code_reference_is_under_the_code_version_parameter():
    d = definition(code_version="v42")
    assert defaults(d)["CodeVersion"] == "v42"
    prefix = "s3://acme-dev-artifacts/churn/code/v42/"
    steps = steps_by_name(d)
    for ref in code_uris(steps):
        assert ref["Std:Join"]["Values"][:2] == [CODE_ROOT, {"Get": "Parameters.CodeVersion"}], ref
    code_refs = [resolve(r, defaults(d)) for r in code_uris(steps)]
    assert code_refs == [prefix + "preprocess.py", prefix + "evaluate.py", prefix + "sourcedir.tar.gz"]
    for n, script in (("preprocess", "preprocess.py"), ("evaluate", "evaluate.py")):
        assert steps[n]["Arguments"]["AppSpecification"]["ContainerEntrypoint"] == [
            "python3", f"/opt/ml/processing/input/code/{script}"]
    # every s3:// string is ours: code only as the code root (joined with the version), data and outputs under
    # the project
    for s in strings(d):
        if s.startswith("s3://"):
            assert s.startswith("s3://acme-dev-artifacts/churn/"), s
            if "/code/" in s:
                assert s == CODE_ROOT, s
    # nothing the SDK would have invented: no default bucket, no local paths, no placeholder
    text = json.dumps(d)
    for forbidden in ("sagemaker-us-east-1", "file://", "offline-placeholder", "/code/initial/"):
        assert forbidden not in text


def test_a_code_change_between_two_runs_gives_different_code_uris():
    """CI passes its git SHA as CodeVersion: two commits never read the same step code (the old definition
    read code/initial/ on every run)."""
    steps = steps_by_name(definition())
    first = [resolve(r, {"CodeVersion": "1111111"}) for r in code_uris(steps)]
    second = [resolve(r, {"CodeVersion": "2222222"}) for r in code_uris(steps)]
    assert all(a != b for a, b in zip(first, second, strict=True))
    assert all("/code/1111111/" in a for a in first) and all("/code/2222222/" in b for b in second)


def test_two_executions_never_share_an_output():
    steps = steps_by_name(definition())
    outs = output_uris(steps)
    assert len(outs) == 9  # preprocess x5 (with the baseline features), baseline, train, evaluate x2
    for o in outs:
        assert o["Std:Join"]["Values"][:2] == [OUT_ROOT, {"Get": "Execution.PipelineExecutionId"}], o
    first = {resolve(o, execution_id="a1b2") for o in outs}
    second = {resolve(o, execution_id="c3d4") for o in outs}
    assert len(first) == 9 and not first & second
    assert f"{OUT_ROOT}/a1b2/preprocess/train" in first and f"{OUT_ROOT}/a1b2/train" in first
    assert all(not u.endswith("/") and "//" not in u.removeprefix("s3://") for u in first)


def test_job_steps_do_not_cache_unless_asked_and_retry():
    steps = steps_by_name(definition())
    for name in ("preprocess", "train", "evaluate"):
        assert steps[name].get("CacheConfig", {}).get("Enabled") is not True, name
        kinds = [set(p["ExceptionType"]) for p in steps[name]["RetryPolicies"]]
        assert {"Step.THROTTLING", "Step.SERVICE_FAULT"} in kinds, name
        assert any("SageMaker.CAPACITY_ERROR" in k for k in kinds), name
    assert steps["register"]["RetryPolicies"][0]["ExceptionType"] == ["Step.THROTTLING", "Step.SERVICE_FAULT"]


def test_opt_in_caching_keys_on_the_code_version_and_the_data_url():
    """SageMaker's cache key is the step's arguments (docs: "Default cache key attributes by pipeline step
    type"): a cached step must take CodeVersion and InputDataUrl (directly or through an upstream output)."""
    steps = steps_by_name(definition(cache_steps=True))
    for name in ("preprocess", "train", "evaluate"):
        assert steps[name]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}, name
        refs = gets(steps[name]["Arguments"])
        assert "Parameters.CodeVersion" in refs, name
    assert "Parameters.InputDataUrl" in gets(steps["preprocess"]["Arguments"]["ProcessingInputs"])


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
                         ("artifact_bucket", "Not_A_Bucket"), ("role_arn", "my-role"), ("code_version", "a/b"),
                         ("serving_instance_type", "m5.large"), ("cache_steps", "yes"), ("bound", "above"),
                         ("problem_type", "ranking")):
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
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), PYTHONDONTWRITEBYTECODE="1",
               LADDER_NO_CACHE="1")  # the SDK itself builds (a warm definition cache would not import it)
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
    monkeypatch.setenv("LADDER_NO_CACHE", "1")  # the SDK builds, not the definition cache
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
        assert json.loads(described["PipelineDefinition"])["Steps"][4]["Name"] == "gate"


def _concrete(expr, parameters: dict):
    """A step's arguments as one execution would send them: parameters and execution variables resolved, step
    properties and JsonGet replaced by values of their kind."""
    if isinstance(expr, dict):
        if set(expr) == {"Get"}:
            ref = expr["Get"]
            if ref.startswith("Parameters."):
                return parameters[ref.split(".", 1)[1]]
            if ref == "Execution.PipelineExecutionId":
                return "exec123"
            if ref == "Execution.PipelineExecutionArn":
                return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/p/execution/exec123"
            return "s3://acme-dev-artifacts/churn/pipelines/p/exec123/x"
        if set(expr) == {"Std:JsonGet"}:
            return "2026-12-01"
        if set(expr) == {"Std:Join"}:
            return expr["Std:Join"]["On"].join(str(_concrete(v, parameters)) for v in expr["Std:Join"]["Values"])
        return {k: _concrete(v, parameters) for k, v in expr.items()}
    if isinstance(expr, list):
        return [_concrete(v, parameters) for v in expr]
    return expr


@pytest.mark.parametrize("step,operation,name_key", [
    ("preprocess", "CreateProcessingJob", "ProcessingJobName"),
    ("evaluate", "CreateProcessingJob", "ProcessingJobName"),
    ("train", "CreateTrainingJob", "TrainingJobName"),
    ("register", "CreateModelPackage", None),
])
def test_each_steps_request_is_valid_for_the_sagemaker_api(step, operation, name_key):
    """What the pipeline sends per step, validated against botocore's SageMaker model (types, enums, lengths):
    e.g. CustomerMetadataProperties values must be strings, the approval status one of the enum."""
    import boto3
    from botocore.validate import validate_parameters

    d = definition(kms_key_arn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k", serving_instance_type="ml.c5.large")
    args = _concrete(steps_by_name(d)[step]["Arguments"], {**defaults(d), "CodeVersion": "0123abc"})
    if name_key:
        args[name_key] = f"pipelines-exec123-{step}"
    model = boto3.session.Session(region_name="us-east-1").client("sagemaker")._service_model
    validate_parameters(args, model.operation_model(operation).input_shape)  # raises ParamValidationError
