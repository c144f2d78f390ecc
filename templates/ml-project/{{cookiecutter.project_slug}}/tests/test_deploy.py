"""deploy/request.py (request validation) and deploy/smoke_test.py against moto.

The platform's Pulumi program owns the model, endpoint config and endpoint; here the endpoint the platform
would create is created directly in moto. moto has model packages and groups, SSM, describe_endpoint and
sagemaker-runtime invoke_endpoint (static answers, queued through moto's
/moto-api/static/sagemaker/endpoint-results).
"""

import io
import json
import tarfile

import boto3
import pytest
import requests
from moto import mock_aws

from deploy import request, smoke_test

ENV, PROJECT, REGION = "{{ cookiecutter.environment }}", "{{ cookiecutter.project_slug }}", "{{ cookiecutter.aws_region }}"
GROUP = f"acme-{ENV}-{PROJECT}-models"
OTHER_GROUP = f"acme-{ENV}-someone-else-models"
ENDPOINT = f"acme-{ENV}-{PROJECT}-endpoint"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
GOOD_ANSWER = json.dumps({"predictions": [{"label": 1, "score": 0.93}]})


@pytest.fixture()
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        for name, value in {"endpoint-name": ENDPOINT, "execution-role-arn": ROLE,
                            "model-package-group": GROUP}.items():
            ssm.put_parameter(Name=f"/mlops/{ENV}/{PROJECT}/{name}", Value=value, Type="String")
        sm = boto3.client("sagemaker", region_name=REGION)
        for group in (GROUP, OTHER_GROUP):
            sm.create_model_package_group(ModelPackageGroupName=group)
        yield sm


def model_package(sm, status="Approved", group=GROUP) -> str:
    return sm.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1",
                            "ModelDataUrl": "s3://acme-artifacts/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"]},
    )["ModelPackageArn"]


BINARY_SCHEMA = {"version": 1, "problem_type": "binary", "label": "target", "drop": [], "classes": [0, 1],
                 "features": [{"name": "age", "type": "numerical"},
                              {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]}]}


def model_artefact(schema: dict, url: str = "s3://acme-artifacts/model.tar.gz") -> None:
    """model.tar.gz as training packs it: the model files and schema.json at the archive's root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = json.dumps(schema).encode()
        info = tarfile.TarInfo("./schema.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    bucket, key = url[5:].split("/", 1)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def platform_endpoint(sm, arn: str, schema: dict = BINARY_SCHEMA) -> None:
    """What the platform's `pulumi up` creates from the package (model, endpoint config, endpoint)."""
    model_artefact(schema)
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": arn})
    sm.create_endpoint_config(EndpointConfigName="c1", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m1", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="c1")


def queue_endpoint_answer(body: str) -> None:
    """moto's documented way to set what sagemaker-runtime invoke_endpoint returns."""
    requests.post("http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results", json={
        "region": REGION,
        "results": [{"Body": body, "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic",
                     "CustomAttributes": ""}]}, timeout=5).raise_for_status()


# --- request validation -------------------------------------------------------------------------------

def test_approved_package_passes_and_prints_the_ladder_command(aws, capsys):
    arn = model_package(aws)
    assert request.main(["--env", ENV, "--model-package-arn", arn]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"ladder deploy --stack {ENV} --project {PROJECT} --model-package-arn {arn}"
    assert f"group {GROUP}" in err and "Approved" in err


@pytest.mark.parametrize("tool", [request, smoke_test])
def test_the_environment_is_always_named(tool, capsys):
    # one repository serves staging and prod: no environment is baked in as a default
    with pytest.raises(SystemExit) as exit_info:
        tool.main(["--model-package-arn", "arn:x"] if tool is request else [])
    assert exit_info.value.code == 2 and "--env" in capsys.readouterr().err


def test_stack_defaults_to_the_environment_and_can_be_named(aws, capsys):
    arn = model_package(aws)
    assert request.main(["--env", ENV, "--model-package-arn", arn, "--stack", "platform-blue"]) == 0
    assert capsys.readouterr().out.startswith("ladder deploy --stack platform-blue ")


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_unapproved_packages_fail(aws, capsys, status):
    arn = model_package(aws, status=status)
    assert request.main(["--env", ENV, "--model-package-arn", arn]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"error: model package {arn} is {status}, not Approved" in err


def test_package_of_another_group_fails(aws, capsys):
    arn = model_package(aws, group=OTHER_GROUP)
    assert request.main(["--env", ENV, "--model-package-arn", arn]) == 2
    err = capsys.readouterr().err
    assert f"is in group '{OTHER_GROUP}', not in {PROJECT}'s model package group {GROUP} ({ENV})" in err


@pytest.mark.parametrize("arn", [
    "not-an-arn",
    "",
    "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/x",         # the group, not a package
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/unversioned",     # not in a group
    "arn:aws:sagemaker:us-east-1:12345:model-package/g/1",                    # bad account
    "arn:aws:s3:us-east-1:123456789012:model-package/g/1",                    # wrong service
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1; rm -rf /",   # trailing junk
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1\n",          # trailing newline
])
def test_malformed_arns_fail(monkeypatch, capsys, arn):
    # rejected before any AWS call, so no emulator: AWS_ENDPOINT_URL is a closed port, a call would fail
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert request.main(["--env", ENV, "--model-package-arn", arn]) == 2
    assert "is not a model package ARN of the form arn:aws:sagemaker:" in capsys.readouterr().err


def test_package_in_another_region_fails(monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    arn = f"arn:aws:sagemaker:ap-south-2:123456789012:model-package/{GROUP}/1"
    assert request.main(["--env", ENV, "--model-package-arn", arn]) == 2
    assert f"is in ap-south-2; {PROJECT} is deployed in {REGION}" in capsys.readouterr().err


def test_unknown_package_in_the_group_fails(aws, capsys):
    arn = model_package(aws).rsplit("/", 1)[0] + "/99"
    assert request.main(["--env", ENV, "--model-package-arn", arn]) == 2
    assert f"model package {arn} cannot be described" in capsys.readouterr().err


def test_missing_contract_fails(aws, capsys):
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=f"/mlops/{ENV}/{PROJECT}/model-package-group")
    assert request.main(["--env", ENV, "--model-package-arn", model_package(aws)]) == 2
    assert f"/mlops/{ENV}/{PROJECT}/model-package-group not found in SSM" in capsys.readouterr().err


def test_promotion_accepts_a_package_registered_in_the_source_environment(aws, capsys):
    # the target stack publishes its own group; the package was registered (and approved) in ENV
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/mlops/prod-like/{PROJECT}/model-package-group", Value=OTHER_GROUP, Type="String")
    arn = model_package(aws)
    assert request.main(["--model-package-arn", arn, "--env", "prod-like", "--source-env", ENV]) == 0
    assert capsys.readouterr().out.startswith(f"ladder deploy --stack prod-like --project {PROJECT} ")
    # ... but not one from a group neither environment publishes
    foreign = "acme-x-foreign-models"
    aws.create_model_package_group(ModelPackageGroupName=foreign)
    foreign_arn = model_package(aws, group=foreign)
    assert request.main(["--model-package-arn", foreign_arn, "--env", "prod-like", "--source-env", ENV]) == 2
    assert f"{OTHER_GROUP} (prod-like), {GROUP} ({ENV})" in capsys.readouterr().err


def test_unreadable_source_contract_is_named_in_the_error(aws, capsys, monkeypatch):
    real = request.contract_group

    def contract_group(ssm, environment, project=PROJECT):
        if environment == ENV:
            raise PermissionError("AccessDeniedException")
        return real(ssm, environment, project)

    monkeypatch.setattr(request, "contract_group", contract_group)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/mlops/prod-like/{PROJECT}/model-package-group", Value=OTHER_GROUP, Type="String")
    assert request.main(["--model-package-arn", model_package(aws), "--env", "prod-like", "--source-env", ENV]) == 2
    assert f"(access denied to /mlops/{ENV}/{PROJECT}/model-package-group)" in capsys.readouterr().err


def test_contract_group_maps_access_denied(aws):
    from botocore.stub import Stubber

    ssm = boto3.client("ssm", region_name=REGION)
    with Stubber(ssm) as stub:
        stub.add_client_error("get_parameter", service_error_code="AccessDeniedException")
        with pytest.raises(PermissionError):
            request.contract_group(ssm, ENV)
    assert request.contract_group(ssm, "nowhere") is None


# --- smoke test ---------------------------------------------------------------------------------------

def test_smoke_test_passes_against_an_in_service_endpoint(aws, capsys):
    platform_endpoint(aws, model_package(aws))
    queue_endpoint_answer(GOOD_ANSWER)
    assert smoke_test.main(["--env", ENV, "--poll", "0"]) == 0
    assert "smoke test passed" in capsys.readouterr().out


def test_smoke_test_fails_on_a_malformed_answer(aws, capsys):
    platform_endpoint(aws, model_package(aws))
    queue_endpoint_answer(json.dumps({"predictions": [{"label": 7, "score": 2}]}))
    assert smoke_test.main(["--env", ENV, "--poll", "0"]) == 1
    assert "malformed prediction" in capsys.readouterr().err


MULTICLASS_SCHEMA = {**BINARY_SCHEMA, "problem_type": "multiclass", "classes": ["high", "low", "mid"]}
REGRESSION_SCHEMA = {k: v for k, v in BINARY_SCHEMA.items() if k != "classes"} | {"problem_type": "regression"}


@pytest.mark.parametrize("schema,answer,passes", [
    (MULTICLASS_SCHEMA, {"label": "mid", "score": 0.6}, True),
    (MULTICLASS_SCHEMA, {"label": "other", "score": 0.6}, False),  # not one of the schema's classes
    (REGRESSION_SCHEMA, {"value": 151.5}, True),
    (REGRESSION_SCHEMA, {"label": 1, "score": 0.9}, False),
    (BINARY_SCHEMA, {"label": 1, "score": 0.93}, True),
    (BINARY_SCHEMA, {"value": 0.93}, False),
])
def test_smoke_test_accepts_the_problem_types_answer_shape(aws, capsys, schema, answer, passes):
    """The request and the expected answer follow the schema inside the deployed model.tar.gz (moto answers one
    body per distinct request, so each answer is its own test)."""
    platform_endpoint(aws, model_package(aws), schema)
    queue_endpoint_answer(json.dumps({"predictions": [answer]}))
    assert smoke_test.main(["--env", ENV, "--poll", "0"]) == (0 if passes else 1)
    if not passes:
        assert f"for a {schema['problem_type']} model" in capsys.readouterr().err


def test_the_request_follows_the_schema():
    # not the bundled sample's columns: a synthetic row, categorical values from the schema's categories
    assert smoke_test.sample_payload(2, BINARY_SCHEMA) == "0.0,basic\n0.0,basic\n"


def test_smoke_test_without_a_readable_schema_says_how_to_pass_one(aws, capsys, tmp_path):
    platform_endpoint(aws, model_package(aws))
    boto3.client("s3", region_name=REGION).delete_object(Bucket="acme-artifacts", Key="model.tar.gz")
    assert smoke_test.main(["--env", ENV, "--poll", "0"]) == 1
    assert "pass --schema" in capsys.readouterr().err
    (tmp_path / "schema.json").write_text(json.dumps(REGRESSION_SCHEMA))
    queue_endpoint_answer(json.dumps({"predictions": [{"value": 3.5}]}))
    assert smoke_test.main(["--env", ENV, "--poll", "0", "--schema", str(tmp_path / "schema.json")]) == 0


def test_smoke_test_fails_without_endpoint_name(aws, capsys):
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=f"/mlops/{ENV}/{PROJECT}/endpoint-name")
    assert smoke_test.main(["--env", ENV]) == 1
    assert "endpoint-name" in capsys.readouterr().err


class FakeSageMaker:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def describe_endpoint(self, EndpointName):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"EndpointName": EndpointName, "EndpointStatus": status, "FailureReason": "boom"}


def test_wait_until_in_service():
    sleeps = []
    description = smoke_test.wait_in_service(FakeSageMaker(["Creating", "Updating", "InService"]), "e",
                                             poll=5, sleep=sleeps.append)
    assert description["EndpointStatus"] == "InService" and sleeps == [5, 5]


def test_wait_fails_on_failed_or_timeout():
    with pytest.raises(smoke_test.SmokeTestError, match="Failed: boom"):
        smoke_test.wait_in_service(FakeSageMaker(["Creating", "Failed"]), "e", sleep=lambda s: None)
    ticks = iter(range(100))
    with pytest.raises(smoke_test.SmokeTestError, match="still Creating"):
        smoke_test.wait_in_service(FakeSageMaker(["Creating"]), "e", timeout=3, poll=1,
                                   sleep=lambda s: None, clock=lambda: next(ticks))


def test_sample_payload_is_a_row_of_the_bundled_data_the_model_accepts(model_dir):
    from {{ cookiecutter.__package_name }} import inference

    schema = json.loads((model_dir / "schema.json").read_text())
    payload = smoke_test.sample_payload(3, schema)
    assert payload == smoke_test.sample_payload(3)  # the bundled schema is the trained one
    model = inference.model_fn(str(model_dir))
    answer, _ = inference.invoke(model, payload, "text/csv")
    smoke_test.check_predictions(answer, 3, schema)
