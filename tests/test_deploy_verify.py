"""Deploys verify themselves against the sandbox (modules/deploy_verify.py, deploy.check_served/_preflight).

Each test fails on the old behaviour: the old endpoint (pulumi-aws, one model/config replaced per deploy) deleted
the config a rollback returned to, reset capacity to minInstances on every update, and `ladder deploy` reported
success whatever served.
"""

from __future__ import annotations

import threading
import urllib.request

import boto3
import pytest
import yaml

from modules import deploy
from modules import spec as spec_mod
from modules.components.endpoint import slot
from modules.sandbox import state as sandbox
from modules.sandbox.server import MotoServer
from tests.helpers import BASE, SERVE_CODE, approved_package, sandbox_env

REGION = "us-east-1"
ENDPOINT = "acme-dev-churn"
BROKEN = SERVE_CODE + """
def predict_fn(data, model):
    raise RuntimeError("the new model cannot predict")
"""


@pytest.fixture(scope="module")
def server():
    with MotoServer() as srv, sandbox_env(srv.endpoint):
        yield srv


@pytest.fixture
def env(server, tmp_path):
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"), timeout=30)

    def client(service):
        return boto3.client(service, region_name=REGION, endpoint_url=server.endpoint)

    stack = tmp_path / "Pulumi.dev.yaml"
    cfg = dict(BASE, **{"mlops:maturity": 2, "mlops:projects": [
        {"name": "churn", "training": {"qualityGate": {"metric": "auc", "min": 0.8}},
         "serving": {"trafficRouting": {"type": "CANARY", "canarySize": {"type": "CAPACITY_PERCENT", "value": 50},
                                        "waitIntervalInSeconds": 600}}}]})
    stack.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    first = apply(stack, tmp_path)
    bucket = first.outputs["artifactBucket"]
    cfg["mlops:maturity"] = 3
    stack.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    return client, stack, bucket, tmp_path


def apply(stack, state_dir):
    s, cfg = spec_mod.load_with_config(None, stack)
    result = sandbox.apply(s, cfg, state_dir=state_dir)
    assert not result.failed
    return result


def ship(client, stack, state_dir, arn, traffic=False):
    """What `ladder deploy` does, with the sandbox apply for `pulumi up`: write, (traffic while it bakes), verify."""
    original = stack.read_text()
    updated = deploy.write_arn(stack, "churn", arn)
    stop = threading.Event()

    def serve():  # production traffic while the update bakes
        rt = client("sagemaker-runtime")
        while not stop.is_set():
            try:
                rt.invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=b"3.0\n")
            except Exception:  # noqa: BLE001 - errors of the canary are the point
                pass

    worker = threading.Thread(target=serve, daemon=True)
    if traffic:
        worker.start()
    try:
        result = apply(stack, state_dir)
    finally:
        stop.set()
        if traffic:
            worker.join(timeout=30)
    clients = (client("sagemaker"), client("application-autoscaling"), client("cloudwatch"))
    return deploy.check_served(updated, "churn", result.outputs, stack, original, echo=lambda *_: None,
                               clients=clients), result


def test_a_good_deploy_is_verified_and_keeps_the_previous_package_declared(env):
    client, stack, bucket, state_dir = env
    first = approved_package(client, bucket, "churn", "acme-dev-churn", version_key="a")
    verdict, _ = ship(client, stack, state_dir, first)
    assert verdict.ok and verdict.serving_package == first
    second = approved_package(client, bucket, "churn", "acme-dev-churn", version_key="b")
    verdict, result = ship(client, stack, state_dir, second)
    assert verdict.ok and verdict.serving_package == second
    serving = yaml.safe_load(stack.read_text())["config"]["mlops:projects"][0]["serving"]
    assert (serving["modelPackageArn"], serving["previousModelPackageArn"]) == (second, first)
    names = {c.name for c in result.changes if c.action == "created"}
    assert f"churn-endpoint-config-{slot(second)}" in names
    assert f"churn-endpoint-config-{slot(first)}" not in names  # the previous pair was kept, not recreated


@pytest.mark.slow
def test_a_rollback_is_detected_reported_and_the_previous_config_still_serves(env):
    client, stack, bucket, state_dir = env
    good = approved_package(client, bucket, "churn", "acme-dev-churn", version_key="good")
    assert ship(client, stack, state_dir, good)[0].ok
    before = stack.read_text()
    bad = approved_package(client, bucket, "churn", "acme-dev-churn", code=BROKEN, version_key="bad")
    with pytest.raises(deploy.DeployError, match="rolled back") as failure:
        ship(client, stack, state_dir, bad, traffic=True)
    assert "acme-dev-churn-5xx-errors" in str(failure.value)
    assert stack.read_text() == before  # the declared state is what serves again
    sm = client("sagemaker")
    desc = sm.describe_endpoint(EndpointName=ENDPOINT)
    assert desc["EndpointStatus"] == "InService"
    config = sm.describe_endpoint_config(EndpointConfigName=desc["EndpointConfigName"])  # exists: not deleted
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == good
    answer = client("sagemaker-runtime").invoke_endpoint(EndpointName=ENDPOINT, ContentType="text/csv", Body=b"3.0\n")
    assert answer["Body"].read() == b"[1]"  # the good model answers


def test_capacity_reached_by_auto_scaling_survives_a_deploy(env):
    client, stack, bucket, state_dir = env
    assert ship(client, stack, state_dir, approved_package(client, bucket, "churn", "acme-dev-churn",
                                                            version_key="one"))[0].ok
    sm = client("sagemaker")
    sm.update_endpoint_weights_and_capacities(  # what Application Auto Scaling does on a scale-out
        EndpointName=ENDPOINT, DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}])
    assert ship(client, stack, state_dir, approved_package(client, bucket, "churn", "acme-dev-churn",
                                                            version_key="two"))[0].ok
    assert sm.describe_endpoint(EndpointName=ENDPOINT)["ProductionVariants"][0]["DesiredInstanceCount"] == 2


def test_instance_type_change_of_an_auto_scaled_endpoint_is_refused_with_the_procedure(env):
    client, stack, bucket, state_dir = env
    assert ship(client, stack, state_dir, approved_package(client, bucket, "churn", "acme-dev-churn"))[0].ok
    doc = yaml.safe_load(stack.read_text())
    doc["config"]["mlops:projects"][0]["serving"]["instanceType"] = "ml.m5.xlarge"
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))
    original = stack.read_text()
    s = spec_mod.load(path=stack)
    with pytest.raises(deploy.DeployError, match="Two steps") as refused:
        deploy._preflight(s, "churn", stack, echo=lambda *_: None)
    assert refused.value.code == 2 and "serving.autoscaling: false" in str(refused.value)
    assert stack.read_text() == original  # refused before anything is written
    # without the preflight, the update fails as AWS fails it
    with pytest.raises(Exception, match="instance type of production variant AllTraffic"):
        apply(stack, state_dir)
    # the procedure works: autoscaling off (target deregistered), then the new type with autoscaling on
    doc["config"]["mlops:projects"][0]["serving"].update({"instanceType": "ml.m5.large", "autoscaling": False})
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))
    apply(stack, state_dir)
    doc["config"]["mlops:projects"][0]["serving"].update({"instanceType": "ml.m5.xlarge", "autoscaling": True})
    stack.write_text(yaml.safe_dump(doc, sort_keys=False))
    apply(stack, state_dir)
    sm = client("sagemaker")
    config = sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(EndpointName=ENDPOINT)[
        "EndpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"


def test_deploy_pins_the_packages_baseline_for_the_monitor(tmp_path):
    """The monitor must compare traffic with the baseline of the model that serves (DriftCheckBaselines)."""
    text = yaml.safe_dump({"config": dict(BASE, **{"mlops:maturity": 4, "mlops:environment": "prod"})}, sort_keys=False)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/7"
    stats, cons = "s3://b/churn/pipelines/x/baseline/statistics.json", "s3://b/churn/pipelines/x/baseline/constraints.json"
    out = yaml.safe_load(deploy.rewrite_arn(text, "churn", arn, baseline=(stats, cons)))
    churn = out["config"]["mlops:projects"][0]
    assert churn["monitoring"]["baseline"] == {"statisticsUri": stats, "constraintsUri": cons}
    assert churn["serving"]["modelPackageArn"] == arn


def test_an_endpoint_stack_without_the_output_to_check_is_not_verified(tmp_path):
    """Unknown is not success: a level-3 stack whose outputs lack the endpoint config fails the verification."""
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump({"config": dict(BASE, **{"mlops:maturity": 3})}, sort_keys=False))
    s = spec_mod.load(path=stack)
    with pytest.raises(deploy.DeployError, match="not verified") as failure:
        deploy.check_served(s, "churn", {"projects": {"churn": {}}}, stack, echo=lambda *_: None, clients=(None,) * 3)
    assert failure.value.code == 1
