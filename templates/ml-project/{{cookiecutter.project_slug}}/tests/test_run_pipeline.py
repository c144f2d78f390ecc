"""run_pipeline against moto: contract in SSM, code upload at an immutable version, data check, execution."""

import io
import json
import subprocess
import tarfile

import boto3
import pytest
from moto import mock_aws

from pipelines import run_pipeline

ENV, PROJECT, REGION = "{{ cookiecutter.environment }}", "{{ cookiecutter.project_slug }}", "{{ cookiecutter.aws_region }}"
BUCKET = "acme-artifacts"
CODE_ROOT = f"s3://{BUCKET}/{PROJECT}/code/"
DATA_PREFIX = f"s3://{BUCKET}/{PROJECT}/data/"
PIPELINE = f"{ENV}-{PROJECT}-training"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
DEFINITION = {
    "Version": "2020-12-01",
    "Parameters": [{"Name": "CodeVersion", "Type": "String", "DefaultValue": "initial"},
                   {"Name": "InputDataUrl", "Type": "String", "DefaultValue": DATA_PREFIX}],
    "Steps": [],
}


@pytest.fixture()
def platform(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        contract = {
            "artifact-bucket": BUCKET, "code-prefix": CODE_ROOT + "initial/", "code-root": CODE_ROOT,
            "data-prefix": DATA_PREFIX, "execution-role-arn": ROLE,
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


def s3():
    return boto3.client("s3", region_name=REGION)


def keys(prefix=""):
    return {o["Key"] for o in s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}


def executions(sm):
    return sm.list_pipeline_executions(PipelineName=PIPELINE)["PipelineExecutionSummaries"]


def add_data(version="2026-12-01"):
    s3().put_object(Bucket=BUCKET, Key=f"{PROJECT}/data/{version}/part.csv", Body=b"target,a\n1,0.5\n")


def test_uploads_code_at_the_version_and_starts_an_execution_with_it(platform, capsys):
    add_data()
    assert run_pipeline.main(["--code-version", "abc123", "--input-data-url", DATA_PREFIX,
                              "--param", "Unknown=1"]) == 0
    prefix = f"{PROJECT}/code/abc123/"
    assert {prefix + n for n in ("preprocess.py", "train.py", "evaluate.py", "inference.py",
                                 "sourcedir.tar.gz")} <= keys(prefix)
    body = s3().get_object(Bucket=BUCKET, Key=prefix + "sourcedir.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert {"train.py", "inference.py"} <= set(tar.getnames())
    (execution,) = executions(platform)
    params = platform.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"])["PipelineParameters"]
    assert sorted(params, key=lambda p: p["Name"]) == [{"Name": "CodeVersion", "Value": "abc123"},
                                                        {"Name": "InputDataUrl", "Value": DATA_PREFIX}]
    output = capsys.readouterr()
    assert f"started {execution['PipelineExecutionArn']}" in output.out
    assert "'Unknown'" in output.err  # undeclared parameters are reported, not passed


def test_code_version_defaults_to_github_sha_then_git_head(platform, monkeypatch, tmp_path):
    add_data()
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)
    assert run_pipeline.main([]) == 0
    assert keys(f"{PROJECT}/code/{'f' * 40}/")
    monkeypatch.delenv("GITHUB_SHA")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
           "PATH": "/usr/bin:/bin"}
    (repo / "src" / "a.py").write_text("x = 1\n")
    for cmd in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "c"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert run_pipeline.resolve_code_version(None, {}, repo) == head
    (repo / "src" / "a.py").write_text("x = 2\n")  # uncommitted: HEAD no longer names this code
    with pytest.raises(run_pipeline.RunError, match="uncommitted"):
        run_pipeline.resolve_code_version(None, {}, repo)
    with pytest.raises(run_pipeline.RunError, match="no code version"):
        run_pipeline.resolve_code_version(None, {}, tmp_path / "not-a-repo")
    with pytest.raises(run_pipeline.RunError, match="path segment"):
        run_pipeline.resolve_code_version("a/b", {}, repo)


def test_a_version_is_immutable(platform, tmp_path, capsys):
    add_data()
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('v1')\n")
    first = run_pipeline.upload_code(s3(), CODE_ROOT, "v1", code)
    assert len(first["uploaded"]) == 2 and not first["unchanged"]
    again = run_pipeline.upload_code(s3(), CODE_ROOT, "v1", code)  # same code: reproducible archive, no write
    assert not again["uploaded"] and len(again["unchanged"]) == 2
    (code / "train.py").write_text("print('changed')\n")
    with pytest.raises(run_pipeline.RunError, match="immutable"):
        run_pipeline.upload_code(s3(), CODE_ROOT, "v1", code)
    body = s3().get_object(Bucket=BUCKET, Key=f"{PROJECT}/code/v1/train.py")["Body"].read()
    assert body == b"print('v1')\n"  # nothing overwritten
    assert run_pipeline.source_archive([code / "train.py"]) == run_pipeline.source_archive([code / "train.py"])


def test_an_empty_data_prefix_is_refused_with_the_upload_command(platform, capsys):
    assert run_pipeline.main(["--code-version", "abc123"]) == 2
    err = capsys.readouterr().err
    assert f"aws s3 cp <file.csv> s3://{BUCKET}/{PROJECT}/data/<version>/" in err
    assert "No S3 objects found" in err and "--seed-sample-data" in err
    assert executions(platform) == [] and not keys(f"{PROJECT}/code/")  # nothing started, nothing uploaded


def test_seed_sample_data_uploads_the_bundled_sample_first(platform, capsys):
    assert run_pipeline.main(["--code-version", "abc123", "--seed-sample-data", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["seeded"] == f"s3://{BUCKET}/{PROJECT}/data/sample-1/sample.csv"
    body = s3().get_object(Bucket=BUCKET, Key=f"{PROJECT}/data/sample-1/sample.csv")["Body"].read().decode()
    from {{ cookiecutter.__package_name }} import schema  # the sample's label is named as the data contract's

    assert body.splitlines()[0].startswith(f"{schema.load()['label']},") and len(body.splitlines()) > 100
    assert result["code_version"] == "abc123" and result["parameters"]["CodeVersion"] == "abc123"
    assert result["execution_arn"] == executions(platform)[0]["PipelineExecutionArn"]


def test_missing_contract_is_a_clear_error(platform, capsys):
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=f"/mlops/{ENV}/{PROJECT}/pipeline-name")
    assert run_pipeline.main(["--code-version", "abc123"]) == 2
    assert f"/mlops/{ENV}/{PROJECT}/pipeline-name" in capsys.readouterr().err
    assert executions(platform) == []


def test_s3_uris_are_checked():
    with pytest.raises(run_pipeline.ContractError):
        run_pipeline.split_s3_uri("/not/s3")
    assert run_pipeline.split_s3_uri("s3://b/p/q") == ("b", "p/q/")
    assert run_pipeline.main(["--input-data-url", "/tmp/data", "--code-version", "x"]) == 2
