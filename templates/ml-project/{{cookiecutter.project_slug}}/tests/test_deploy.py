"""deploy.py and smoke_test.py against moto.

moto has describe_endpoint, create_endpoint(_config), model packages and sagemaker-runtime
invoke_endpoint (static answers, queued through moto's /moto-api/static/sagemaker/endpoint-results), but
no UpdateEndpoint: the update path runs against moto with update_endpoint replaced by a recorder that
validates the request against botocore's service model.
"""

import json

import boto3
import pytest
import requests
from botocore.validate import validate_parameters
from moto import mock_aws

from deploy import deploy, smoke_test

ENV, PROJECT, REGION = "{{ cookiecutter.environment }}", "{{ cookiecutter.project_slug }}", "{{ cookiecutter.aws_region }}"
ENDPOINT = f"{ENV}-{PROJECT}"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
CAPTURE = {"EnableCapture": True, "InitialSamplingPercentage": 100,
           "DestinationS3Uri": "s3://acme-artifacts/capture/", "KmsKeyId": "alias/acme",
           "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}
GOOD_ANSWER = json.dumps({"predictions": [{"label": 1, "score": 0.93}]})


@pytest.fixture()
def aws(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        for name, value in {"endpoint-name": ENDPOINT, "execution-role-arn": ROLE,
                            "rollback-alarms": "a-5xx,a-latency"}.items():
            ssm.put_parameter(Name=f"/mlops/{ENV}/{PROJECT}/{name}", Value=value, Type="String")
        yield boto3.client("sagemaker", region_name=REGION)


def model_package(sm, status="Approved") -> str:
    if not sm.list_model_package_groups()["ModelPackageGroupSummaryList"]:
        sm.create_model_package_group(ModelPackageGroupName=PROJECT)
    arn = sm.create_model_package(
        ModelPackageGroupName=PROJECT, ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1",
                            "ModelDataUrl": "s3://acme-artifacts/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"]},
    )["ModelPackageArn"]
    return arn


def queue_endpoint_answer(body: str) -> None:
    """moto's documented way to set what sagemaker-runtime invoke_endpoint returns."""
    requests.post("http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results", json={
        "region": REGION,
        "results": [{"Body": body, "ContentType": "application/json", "InvokedProductionVariant": "AllTraffic",
                     "CustomAttributes": ""}]}, timeout=5).raise_for_status()


class RecordingSageMaker:
    """The moto client, with update_endpoint (missing in moto) validated and recorded."""

    def __init__(self, real):
        self.real, self.updates = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def update_endpoint(self, **request):
        shape = self.real.meta.service_model.operation_model("UpdateEndpoint").input_shape
        validate_parameters(request, shape)
        self.updates.append(request)
        return {"EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x"}


def test_first_deploy_creates_the_endpoint(aws):
    arn = model_package(aws)
    assert deploy.main(["--model-package-arn", arn]) == 0
    endpoint = aws.describe_endpoint(EndpointName=ENDPOINT)
    config = aws.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = aws.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    assert len(config["EndpointConfigName"]) <= 63


def test_update_keeps_capture_and_uses_blue_green_with_rollback(aws):
    aws.create_model(ModelName="old", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
    aws.create_endpoint_config(EndpointConfigName="old", DataCaptureConfig=CAPTURE, KmsKeyId="alias/acme",
                               ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "old",
                                                    "InstanceType": "ml.c5.large", "InitialInstanceCount": 2}])
    aws.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="old")
    sm = RecordingSageMaker(aws)
    result = deploy.deploy(sm, model_package(aws), ENDPOINT, ROLE, ["a-5xx"], stamp="20250101-000000")
    assert result["action"] == "updated"
    [update] = sm.updates
    assert update["RetainAllVariantProperties"] is True
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": "a-5xx"}]
    new = aws.describe_endpoint_config(EndpointConfigName=update["EndpointConfigName"])
    assert new["DataCaptureConfig"]["DestinationS3Uri"] == CAPTURE["DestinationS3Uri"]
    assert new["KmsKeyId"] == "alias/acme"
    assert new["ProductionVariants"][0]["InstanceType"] == "ml.c5.large"
    assert new["ProductionVariants"][0]["ModelName"] == result["model"]


def test_refuses_unapproved_packages(aws):
    arn = model_package(aws, status="PendingManualApproval")
    with pytest.raises(deploy.DeployError, match="PendingManualApproval"):
        deploy.deploy(aws, arn, ENDPOINT, ROLE)
    assert aws.list_endpoints()["Endpoints"] == []


def test_smoke_test_passes_against_an_in_service_endpoint(aws, capsys):
    deploy.main(["--model-package-arn", model_package(aws)])
    queue_endpoint_answer(GOOD_ANSWER)
    assert smoke_test.main(["--poll", "0"]) == 0
    assert "smoke test passed" in capsys.readouterr().out


def test_smoke_test_fails_on_a_malformed_answer(aws, capsys):
    deploy.main(["--model-package-arn", model_package(aws)])
    queue_endpoint_answer(json.dumps({"predictions": [{"label": 7, "score": 2}]}))
    assert smoke_test.main(["--poll", "0"]) == 1
    assert "malformed prediction" in capsys.readouterr().err


def test_smoke_test_fails_without_endpoint_name(aws, capsys):
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=f"/mlops/{ENV}/{PROJECT}/endpoint-name")
    assert smoke_test.main([]) == 1
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


def test_sample_payload_matches_the_training_features():
    from {{ cookiecutter.__package_name }}.preprocess import load_bundled_dataset

    row = smoke_test.sample_payload(1).strip().split(",")
    assert len(row) == load_bundled_dataset().shape[1] - 1
