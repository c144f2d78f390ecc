"""run_pipeline against moto: contract in SSM, code upload to S3, pipeline execution started."""

import json
import tarfile

import boto3
import pytest
from moto import mock_aws

from pipelines import run_pipeline

ENV, PROJECT, REGION = "{{ cookiecutter.environment }}", "{{ cookiecutter.project_slug }}", "{{ cookiecutter.aws_region }}"
BUCKET = "acme-artifacts"
CODE_PREFIX = f"s3://{BUCKET}/{PROJECT}/code/v1/"
PIPELINE = f"{ENV}-{PROJECT}-training"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "InputDataUrl", "Type": "String", "DefaultValue": f"s3://{BUCKET}/data/"}],
    "Steps": [],
}


@pytest.fixture()
def platform(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        contract = {
            "artifact-bucket": BUCKET, "code-prefix": CODE_PREFIX, "execution-role-arn": ROLE,
            "model-package-group": f"{ENV}-{PROJECT}", "pipeline-name": PIPELINE,
            "ecr-repository": f"{ENV}-{PROJECT}", "contract-version": "1",
        }
        for name, value in contract.items():
            ssm.put_parameter(Name=f"/mlops/{ENV}/{PROJECT}/{name}", Value=value, Type="String")
        kwargs = {} if REGION == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": REGION}}
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET, **kwargs)
        sm = boto3.client("sagemaker", region_name=REGION)
        sm.create_pipeline(PipelineName=PIPELINE, RoleArn=ROLE, PipelineDefinition=json.dumps(DEFINITION))
        yield sm


def test_uploads_code_and_starts_an_execution(platform, tmp_path, capsys):
    assert run_pipeline.main(["--input-data-url", f"s3://{BUCKET}/raw/", "--param", "Unknown=1"]) == 0
    s3 = boto3.client("s3", region_name=REGION)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    prefix = f"{PROJECT}/code/v1/"
    assert {prefix + n for n in ("preprocess.py", "train.py", "evaluate.py", "sourcedir.tar.gz")} <= keys
    s3.download_file(BUCKET, prefix + "sourcedir.tar.gz", str(tmp_path / "src.tar.gz"))
    with tarfile.open(tmp_path / "src.tar.gz") as tar:
        assert "train.py" in tar.getnames()

    executions = platform.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]
    assert len(executions) == 1
    arn = executions[0]["PipelineExecutionArn"]
    params = platform.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert params == [{"Name": "InputDataUrl", "Value": f"s3://{BUCKET}/raw/"}]
    output = capsys.readouterr()
    assert f"started {arn}" in output.out
    assert "'Unknown'" in output.err  # undeclared parameters are reported, not passed


def test_missing_contract_is_a_clear_error(platform, capsys):
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=f"/mlops/{ENV}/{PROJECT}/pipeline-name")
    assert run_pipeline.main([]) == 2
    assert f"/mlops/{ENV}/{PROJECT}/pipeline-name" in capsys.readouterr().err
    assert platform.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"] == []


def test_code_prefix_must_be_s3():
    with pytest.raises(run_pipeline.ContractError):
        run_pipeline.split_s3_uri("/not/s3")
    assert run_pipeline.split_s3_uri("s3://b/p/q") == ("b", "p/q/")
