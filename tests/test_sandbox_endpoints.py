"""Endpoints in the sandbox serve the registered container (services/sagemaker/endpoints.py, framework_serving.py)."""

from __future__ import annotations

import io
import json
import pickle
import tarfile

import pytest
from botocore.exceptions import ClientError

from tests.helpers import FRAMEWORK_IMAGE as IMAGE
from tests.helpers import SAGEMAKER_TRUST as TRUST
from tests.helpers import Sandbox

REGION = "us-east-1"
BUCKET = "serve-bucket"
MODEL_FN_ONLY = """
import pickle, pathlib
def model_fn(model_dir):
    return pickle.loads((pathlib.Path(model_dir) / "model.pkl").read_bytes())
"""
WITH_OUTPUT_FN = MODEL_FN_ONLY + """
import json
def output_fn(prediction, accept):
    return json.dumps({"predictions": [{"label": int(p)} for p in prediction]}), "application/json"
"""


def _model_bytes():
    from sklearn.linear_model import LogisticRegression

    return pickle.dumps(LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]))


def archive(code: str | None, files: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        if files is None:
            files = {"model.pkl": _model_bytes(), **({"code/inference.py": code.encode()} if code else {})}
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    box.client("s3").create_bucket(Bucket=BUCKET)
    role = box.role("serve", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                               "Resource": f"arn:aws:s3:::{BUCKET}/*"}])
    yield box.server, box.client, role
    box.stop()


def deploy(client, role, name, *, code, env_vars, isolated=True, capture=None):
    s3, sm = client("s3"), client("sagemaker")
    s3.put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=archive(code))
    if code is None:
        s3.put_object(Bucket=BUCKET, Key=f"{name}/sourcedir.tar.gz",
                      Body=archive(None, files={"inference.py": MODEL_FN_ONLY.encode()}))
    sm.create_model(ModelName=name, ExecutionRoleArn=role, EnableNetworkIsolation=isolated, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz", "Environment": env_vars})
    config = {"EndpointConfigName": f"{name}-config", "ProductionVariants": [{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]}
    if capture:
        config["DataCaptureConfig"] = capture
    sm.create_endpoint_config(**config)
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    return sm.describe_endpoint(EndpointName=name)


INSIDE = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}


def test_framework_container_answers_its_default_output_a_bare_json_list(env):
    srv, client, role = env
    desc = deploy(client, role, "bare", code=MODEL_FN_ONLY, env_vars=INSIDE)
    assert desc["EndpointStatus"] == "InService"
    rt = client("sagemaker-runtime")
    answer = rt.invoke_endpoint(EndpointName="bare", ContentType="text/csv", Body=b"0.0\n3.0\n")
    assert json.loads(answer["Body"].read()) == [0, 1]  # not {"predictions": ...}: a smoke test expecting that fails
    assert answer["InvokedProductionVariant"] == "AllTraffic"


def test_inference_handlers_inside_the_artefact_decide_the_response(env):
    srv, client, role = env
    deploy(client, role, "handlers", code=WITH_OUTPUT_FN, env_vars=INSIDE)
    answer = client("sagemaker-runtime").invoke_endpoint(EndpointName="handlers", ContentType="text/csv", Body=b"3.0\n")
    assert json.loads(answer["Body"].read()) == {"predictions": [{"label": 1}]}


def test_isolated_model_loading_code_from_s3_never_passes_ping(env):
    """EnableNetworkIsolation: the container cannot reach S3, so SAGEMAKER_SUBMIT_DIRECTORY=s3://... never loads."""
    srv, client, role = env
    desc = deploy(client, role, "isolated-s3", code=None, env_vars={
        "SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/isolated-s3/sourcedir.tar.gz"})
    assert desc["EndpointStatus"] == "Failed"
    assert "ping health check" in desc["FailureReason"]
    with pytest.raises(ClientError, match="not found"):
        client("sagemaker-runtime").invoke_endpoint(EndpointName="isolated-s3", ContentType="text/csv", Body=b"1\n")


def test_same_code_from_s3_loads_when_the_model_is_not_isolated(env):
    srv, client, role = env
    desc = deploy(client, role, "open-s3", code=None, isolated=False, env_vars={
        "SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/open-s3/sourcedir.tar.gz"})
    assert desc["EndpointStatus"] == "InService", desc.get("FailureReason")


def test_container_error_is_a_model_error_and_capture_writes_jsonl(env):
    srv, client, role = env
    deploy(client, role, "captured", code=MODEL_FN_ONLY, env_vars=INSIDE, capture={
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{BUCKET}/capture/p",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
    rt = client("sagemaker-runtime")
    with pytest.raises(ClientError) as err:
        rt.invoke_endpoint(EndpointName="captured", ContentType="text/csv", Body=b"not,a,number,row\n")
    assert err.value.response["Error"]["Code"] == "ModelError"
    rt.invoke_endpoint(EndpointName="captured", ContentType="text/csv", Body=b"2.5\n")
    keys = [o["Key"] for o in client("s3").list_objects_v2(Bucket=BUCKET, Prefix="capture/p/captured/AllTraffic/")["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(".jsonl")  # errors are not captured
    record = json.loads(client("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().splitlines()[0])
    assert record["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                      "data": "2.5\n", "encoding": "CSV"}
    assert record["captureData"]["endpointOutput"]["data"] == "[1]"
    assert record["eventVersion"] == "0" and record["eventMetadata"]["eventId"]


def test_delete_endpoint_stops_its_container(env):
    srv, client, role = env
    deploy(client, role, "doomed", code=MODEL_FN_ONLY, env_vars=INSIDE)
    process = srv.gateway.endpoints.live["doomed"].variants["AllTraffic"].process
    client("sagemaker").delete_endpoint(EndpointName="doomed")
    assert process.wait(timeout=10) is not None and "doomed" not in srv.gateway.endpoints.live


def test_invocations_publish_endpoint_metrics_that_drive_the_5xx_alarm(env):
    srv, client, role = env
    cw = client("cloudwatch")
    deploy(client, role, "watched", code=MODEL_FN_ONLY, env_vars=INSIDE)
    dims = [{"Name": "EndpointName", "Value": "watched"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cw.put_metric_alarm(AlarmName="watched-5xx", Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors",
                        Dimensions=dims, Statistic="Sum", Period=60, EvaluationPeriods=1, DatapointsToAlarm=1,
                        Threshold=0, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    rt = client("sagemaker-runtime")
    rt.invoke_endpoint(EndpointName="watched", ContentType="text/csv", Body=b"1.0\n")
    assert cw.describe_alarms(AlarmNames=["watched-5xx"])["MetricAlarms"][0]["StateValue"] == "OK"
    with pytest.raises(ClientError):
        rt.invoke_endpoint(EndpointName="watched", ContentType="text/csv", Body=b"x,y\n")  # the container's 500
    assert cw.describe_alarms(AlarmNames=["watched-5xx"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/SageMaker", Dimensions=dims)["Metrics"]}
    assert {"Invocations", "Invocation5XXErrors", "ModelLatency"} <= names


def test_capture_needs_the_model_role_to_write_the_destination(env):
    srv, client, _ = env
    iam = client("iam")
    role = iam.create_role(RoleName="no-capture", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName="no-capture", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))
    deploy(client, role, "uncaptured", code=MODEL_FN_ONLY, env_vars=INSIDE, capture={
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{BUCKET}/capture/q",
        "CaptureOptions": [{"CaptureMode": "Input"}]})
    answer = client("sagemaker-runtime").invoke_endpoint(EndpointName="uncaptured", ContentType="text/csv", Body=b"1\n")
    assert json.loads(answer["Body"].read()) == [0]  # the invocation is served ...
    listed = client("s3").list_objects_v2(Bucket=BUCKET, Prefix="capture/q/")
    assert listed.get("KeyCount", 0) == 0  # ... its capture is lost
    assert "s3:PutObject" in srv.gateway.endpoints.log[-1]["captureFailed"]
