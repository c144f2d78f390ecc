"""The sandbox executes pipeline definitions as SageMaker would (modules/sandbox/services/sagemaker).

These tests use small hand-written definitions in SageMaker's definition schema, so each emulated rule is pinned
independently of the platform's own pipeline (tests/test_sandbox_training.py runs that one end to end).
"""

from __future__ import annotations

import io
import json
import tarfile

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.helpers import FRAMEWORK_IMAGE as IMAGE
from tests.helpers import SAGEMAKER_TRUST as TRUST
from tests.helpers import Sandbox

REGION = "us-east-1"
V = "2012-10-17"
BUCKET = "exec-bucket"
PIPELINE = "acme-dev-p-training"

PROCESS = """
import argparse, json, pathlib, sys
p = argparse.ArgumentParser(); p.add_argument("--input"); p.add_argument("--output"); p.add_argument("--value")
a = p.parse_args()
rows = sorted(x.name for x in pathlib.Path(a.input).rglob("*.csv"))
out = pathlib.Path(a.output); out.mkdir(parents=True, exist_ok=True)
(out / "report.json").write_text(json.dumps({"metrics": {"score": {"value": float(a.value)}}, "files": rows}))
print("processed", rows)
"""
TRAIN = """
import json, os, pathlib, sys
model = pathlib.Path(os.environ["SM_MODEL_DIR"])
data = sorted(p.name for p in pathlib.Path(os.environ["SM_CHANNEL_TRAIN"]).rglob("*"))
(model / "model.txt").write_text(json.dumps({"argv": sys.argv[1:], "data": data, "code": "VERSION"}))
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    yield box
    box.stop()


@pytest.fixture(scope="module")
def server(sandbox):
    return sandbox.server


@pytest.fixture(scope="module")
def aws(sandbox):
    client = sandbox.client
    s3, iam, sm = client("s3"), client("iam"), client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    role = sandbox.role("exec", [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{BUCKET}/p/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        {"Effect": "Allow", "Action": "sagemaker:CreateModelPackage", "Resource": "arn:aws:sagemaker:*:*:model-package/g/*"}])
    sm.create_model_package_group(ModelPackageGroupName="g")
    return {"s3": s3, "iam": iam, "sm": sm, "role": role, "client": client}


def put(aws, key, body):
    aws["s3"].put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


def upload_code(aws, version, marker="v"):
    put(aws, f"p/code/{version}/process.py", PROCESS)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = TRAIN.replace("VERSION", marker).encode()
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    put(aws, f"p/code/{version}/sourcedir.tar.gz", buf.getvalue())


def join(*values):
    return {"Std:Join": {"On": "", "Values": list(values)}}


def definition(role, *, cache=False, threshold=0.5, value="0.9", extra_params=()):
    code = join(f"s3://{BUCKET}/p/code/", {"Get": "Parameters.CodeVersion"})
    out = join(f"s3://{BUCKET}/p/pipelines/{PIPELINE}/", {"Get": "Execution.PipelineExecutionId"})
    cache_config = {"Enabled": True, "ExpireAfter": "P30D"} if cache else {"Enabled": False}
    process = {
        "Name": "process", "Type": "Processing", "CacheConfig": cache_config,
        "PropertyFiles": [{"PropertyFileName": "Report", "OutputName": "report", "FilePath": "report.json"}],
        "Arguments": {
            "RoleArn": role,
            "AppSpecification": {"ImageUri": IMAGE,
                                 "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/process.py"],
                                 "ContainerArguments": ["--input", "/opt/ml/processing/input/data", "--output",
                                                        "/opt/ml/processing/report", "--value", value]},
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                      "VolumeSizeInGB": 30}},
            "ProcessingInputs": [
                {"InputName": "data", "S3Input": {"S3Uri": {"Get": "Parameters.InputDataUrl"},
                                                  "LocalPath": "/opt/ml/processing/input/data", "S3DataType": "S3Prefix",
                                                  "S3InputMode": "File"}},
                {"InputName": "code", "S3Input": {"S3Uri": join(code, "/process.py"),
                                                  "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
                                                  "S3InputMode": "File"}}],
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "report", "S3Output": {
                "S3Uri": join(out, "/process/report"), "LocalPath": "/opt/ml/processing/report",
                "S3UploadMode": "EndOfJob"}}]}}}
    train = {
        "Name": "train", "Type": "Training", "CacheConfig": cache_config,
        "Arguments": {
            "RoleArn": role,
            "AlgorithmSpecification": {"TrainingImage": IMAGE,
                                       "TrainingInputMode": "File"},
            "HyperParameters": {"sagemaker_program": "train.py",
                                "sagemaker_submit_directory": join(code, "/sourcedir.tar.gz"), "alpha": "0.5"},
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": {"Get": "Steps.process.ProcessingOutputConfig.Outputs['report'].S3Output.S3Uri"}}}}],
            "OutputDataConfig": {"S3OutputPath": join(out, "/train")},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}}}
    register = {
        "Name": "register", "Type": "RegisterModel",
        "Arguments": {"ModelPackageGroupName": "g", "ModelApprovalStatus": "PendingManualApproval",
                      "InferenceSpecification": {"Containers": [{"Image": "img", "ModelDataUrl": {
                          "Get": "Steps.train.ModelArtifacts.S3ModelArtifacts"}}],
                          "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
                      "CustomerMetadataProperties": {"CodeVersion": {"Get": "Parameters.CodeVersion"},
                                                     "PipelineExecutionArn": {"Get": "Execution.PipelineExecutionArn"}}}}
    gate = {"Name": "gate", "Type": "Condition", "Arguments": {
        "Conditions": [{"Type": "GreaterThanOrEqualTo", "RightValue": threshold, "LeftValue": {"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.process.PropertyFiles.Report"}, "Path": "metrics.score.value"}}}],
        "IfSteps": [register],
        "ElseSteps": [{"Name": "fail", "Type": "Fail", "Arguments": {"ErrorMessage": "score below the gate"}}]}}
    params = [{"Name": "CodeVersion", "Type": "String", "DefaultValue": "v1"},
              {"Name": "InputDataUrl", "Type": "String", "DefaultValue": f"s3://{BUCKET}/p/data/"}, *extra_params]
    return json.dumps({"Version": "2020-12-01", "Parameters": params, "Steps": [process, train, gate]})


def create(aws, doc, name=PIPELINE):
    try:
        aws["sm"].delete_pipeline(PipelineName=name)
    except ClientError:
        pass
    aws["sm"].create_pipeline(PipelineName=name, PipelineDefinition=doc, RoleArn=aws["role"])


def run(server, aws, name=PIPELINE, **params):
    arn = aws["sm"].start_pipeline_execution(
        PipelineName=name, PipelineParameters=[{"Name": k, "Value": v} for k, v in params.items()])["PipelineExecutionArn"]
    execution = server.gateway.pipelines.wait(arn, 120)
    return arn, execution


def steps(aws, arn):
    listed = aws["sm"].list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")
    return {s["StepName"]: s for s in listed["PipelineExecutionSteps"]}


def model_text(aws, arn):
    package = steps(aws, arn)["register"]["Metadata"]["RegisterModel"]["Arn"]
    uri = aws["sm"].describe_model_package(ModelPackageName=package)["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, key = uri[5:].split("/", 1)
    with tarfile.open(fileobj=io.BytesIO(aws["s3"].get_object(Bucket=bucket, Key=key)["Body"].read())) as tar:
        return json.loads(tar.extractfile("model.txt").read())


def test_execution_runs_every_step_and_registers_pending_package(server, aws):
    upload_code(aws, "v1")
    put(aws, "p/data/2026-01/a.csv", "y,x\n1,2\n")
    create(aws, definition(aws["role"]))
    arn, execution = run(server, aws)
    assert execution.status == "Succeeded", execution.failure
    assert aws["sm"].describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Succeeded"
    listed = steps(aws, arn)
    assert [listed[n]["StepStatus"] for n in ("process", "train", "gate", "register")] == ["Succeeded"] * 4
    assert "fail" not in listed  # the branch not taken is not run
    assert listed["gate"]["Metadata"]["Condition"]["Outcome"] == "True"
    package = aws["sm"].describe_model_package(ModelPackageName=listed["register"]["Metadata"]["RegisterModel"]["Arn"])
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    assert package["CustomerMetadataProperties"] == {"CodeVersion": "v1", "PipelineExecutionArn": arn}
    model = model_text(aws, arn)
    assert model["argv"] == ["--alpha", "0.5"]  # user hyperparameters as --name value, sagemaker_* withheld
    assert model["data"] == ["report.json"]      # the channel holds what the processing step uploaded


def test_code_version_change_yields_a_different_artefact(server, aws):
    upload_code(aws, "v1", marker="old")
    upload_code(aws, "v2", marker="new")
    put(aws, "p/data/2026-01/a.csv", "y,x\n1,2\n")
    create(aws, definition(aws["role"]))
    first, _ = run(server, aws, CodeVersion="v1")
    second, _ = run(server, aws, CodeVersion="v2")
    assert model_text(aws, first)["code"] == "old" and model_text(aws, second)["code"] == "new"


def test_unchanged_code_and_data_hit_the_cache_when_caching_is_on(server, aws):
    upload_code(aws, "v1")
    create(aws, definition(aws["role"], cache=True))
    first, _ = run(server, aws)
    second, execution = run(server, aws)
    listed = steps(aws, second)
    assert listed["process"]["CacheHitResult"]["SourcePipelineExecutionArn"] == first
    assert listed["train"]["CacheHitResult"]["SourcePipelineExecutionArn"] == first
    # a new code version changes the processing inputs (the cache key): the steps run again
    upload_code(aws, "v3")
    third, _ = run(server, aws, CodeVersion="v3")
    assert "CacheHitResult" not in steps(aws, third)["process"]


def test_caching_off_reruns_every_step(server, aws):
    upload_code(aws, "v1")
    create(aws, definition(aws["role"], cache=False))
    run(server, aws)
    second, _ = run(server, aws)
    assert all("CacheHitResult" not in s for s in steps(aws, second).values())


def test_overlapping_executions_keep_separate_outputs(server, aws):
    upload_code(aws, "v1")
    create(aws, definition(aws["role"]))
    sm = aws["sm"]
    arns = [sm.start_pipeline_execution(PipelineName=PIPELINE)["PipelineExecutionArn"] for _ in range(2)]
    runs = [server.gateway.pipelines.wait(a, 120) for a in arns]
    assert [r.status for r in runs] == ["Succeeded", "Succeeded"]
    artefacts = [r.summary()["modelArtifact"] for r in runs]
    assert artefacts[0] != artefacts[1]
    assert all(r.execution_id in a for r, a in zip(runs, artefacts, strict=True))


def test_gate_below_threshold_fails_with_the_fail_step_message(server, aws):
    upload_code(aws, "v1")
    create(aws, definition(aws["role"], value="0.1"))
    arn, execution = run(server, aws)
    assert execution.status == "Failed" and execution.failure == "score below the gate"
    listed = steps(aws, arn)
    assert listed["fail"]["StepStatus"] == "Failed" and "register" not in listed
    desc = aws["sm"].describe_pipeline_execution(PipelineExecutionArn=arn)
    assert desc["PipelineExecutionStatus"] == "Failed"


def test_empty_input_prefix_fails_as_sagemaker_does(server, aws):
    upload_code(aws, "v1")
    create(aws, definition(aws["role"]))
    arn, execution = run(server, aws, InputDataUrl=f"s3://{BUCKET}/p/nothing-here/")
    assert execution.status == "Failed"
    assert 'No S3 objects found under S3 URL "s3://exec-bucket/p/nothing-here/"' in steps(aws, arn)["process"]["FailureReason"]


def test_undeclared_and_empty_parameters_are_refused(server, aws):
    create(aws, definition(aws["role"]))
    with pytest.raises(ClientError, match="ModelApprovalStatus"):
        aws["sm"].start_pipeline_execution(PipelineName=PIPELINE, PipelineParameters=[
            {"Name": "ModelApprovalStatus", "Value": "Approved"}])
    with pytest.raises(ClientError, match="too short"):
        aws["sm"].start_pipeline_execution(PipelineName=PIPELINE, PipelineParameters=[
            {"Name": "CodeVersion", "Value": ""}])


def test_job_role_without_write_access_fails_the_step(server, aws):
    iam = aws["iam"]
    role = iam.create_role(RoleName="read-only", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="read-only", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}))
    upload_code(aws, "v1")
    create(aws, definition(role))
    arn, execution = run(server, aws)
    assert execution.status == "Failed"
    reason = steps(aws, arn)["process"]["FailureReason"]
    assert "not authorized to perform: s3:PutObject" in reason and "p/pipelines/" in reason


def test_role_sagemaker_cannot_assume_fails_the_step(server, aws):
    iam = aws["iam"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="wrong-trust", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    create(aws, definition(role))
    arn, execution = run(server, aws)
    assert "cannot assume the role" in steps(aws, arn)["process"]["FailureReason"]


def test_caller_with_role_credentials_is_held_to_its_policies(server, aws):
    """A caller holding credentials of a role (here via STS AssumeRole) is evaluated against that role's policies:
    a CI role allowed only to start the pipeline cannot register or approve a package."""
    iam = aws["iam"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    ci = iam.create_role(RoleName="acme-dev-p-ci", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="acme-dev-p-ci", PolicyName="p", PolicyDocument=json.dumps({"Version": V, "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:StartPipelineExecution", "sagemaker:DescribePipelineExecution",
                                       "sagemaker:ListPipelineExecutionSteps"],
         "Resource": [f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}",
                      f"arn:aws:sagemaker:{REGION}:123456789012:pipeline/{PIPELINE}/*"]}]}))
    creds = aws["client"]("sts").assume_role(RoleArn=ci, RoleSessionName="ci")["Credentials"]
    sm = boto3.client("sagemaker", region_name=REGION, endpoint_url=server.endpoint, aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    upload_code(aws, "v1")
    create(aws, definition(aws["role"]))
    arn = sm.start_pipeline_execution(PipelineName=PIPELINE)["PipelineExecutionArn"]
    execution = server.gateway.pipelines.wait(arn, 120)
    assert execution.trigger == "ci" and execution.status == "Succeeded"
    package = execution.summary()["modelPackageArn"]
    with pytest.raises(ClientError, match="AccessDenied"):
        sm.update_model_package(ModelPackageArn=package, ModelApprovalStatus="Approved")
    with pytest.raises(ClientError, match="AccessDenied"):
        sm.create_model_package(ModelPackageGroupName="g", ModelApprovalStatus="Approved", InferenceSpecification={
            "Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]})
    with pytest.raises(ClientError, match="AccessDenied"):
        sm.start_pipeline_execution(PipelineName="other-pipeline")


def test_approval_keeps_the_package_metadata(server, aws):
    """UpdateModelPackage changes only the CustomerMetadataProperties it is given (moto drops the rest)."""
    sm = aws["sm"]
    arn = sm.create_model_package(ModelPackageGroupName="g", ModelApprovalStatus="PendingManualApproval",
                                  CustomerMetadataProperties={"CodeVersion": "abc", "DataVersion": "v1"},
                                  InferenceSpecification={"Containers": [{"Image": "img"}],
                                                          "SupportedContentTypes": ["text/csv"],
                                                          "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "CodeVersion": "abc", "DataVersion": "v1"}
    sm.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"Reviewer": "me"},
                            CustomerMetadataPropertiesToRemove=["DataVersion"])
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"] == {
        "CodeVersion": "abc", "Reviewer": "me"}
