"""Endpoint updates in the sandbox behave as SageMaker's deployment guardrails (services/sagemaker/deployments.py).

Rules: blue/green with baking and auto-rollback
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html); RetainAllVariantProperties
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html); an instance-type change of an
auto-scaled variant fails (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.helpers import FRAMEWORK_IMAGE as IMAGE
from tests.helpers import Sandbox
from tests.test_sandbox_endpoints import BUCKET, INSIDE, MODEL_FN_ONLY, archive

BROKEN = MODEL_FN_ONLY + """
def predict_fn(data, model):
    raise RuntimeError("this model cannot predict")
"""
ALARM = "ep-5xx"


@pytest.fixture()
def box(tmp_path_factory):
    box = Sandbox(tmp_path_factory)
    box.client("s3").create_bucket(Bucket=BUCKET)
    box.role_arn = box.role("bg", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                    "Resource": f"arn:aws:s3:::{BUCKET}/*"}])
    yield box
    box.stop()


def model(box, name, code, instance_type="ml.m5.large", count=1):
    s3, sm = box.client("s3"), box.client("sagemaker")
    s3.put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=archive(code))
    sm.create_model(ModelName=name, ExecutionRoleArn=box.role_arn, EnableNetworkIsolation=True, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz", "Environment": INSIDE})
    sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": count, "InstanceType": instance_type}])
    return f"{name}-config"


def policy(wait=300, routing="ALL_AT_ONCE", **extra):
    traffic = {"Type": routing, "WaitIntervalInSeconds": wait, **extra}
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": traffic, "TerminationWaitInSeconds": 60,
                                      "MaximumExecutionTimeoutInSeconds": 3600},
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]}}


def alarm(box):
    box.client("cloudwatch").put_metric_alarm(
        AlarmName=ALARM, Namespace="AWS/SageMaker", MetricName="Invocation5XXErrors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching", Dimensions=[{"Name": "EndpointName", "Value": "ep"},
                                                     {"Name": "VariantName", "Value": "AllTraffic"}])


def endpoint(box, config, deployment=None):
    sm = box.client("sagemaker")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName=config, DeploymentConfig=deployment or policy())
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"


def tick(box, seconds):
    box.server.gateway.tick(seconds)


def invoke(box, n=1):
    rt, outcomes = box.client("sagemaker-runtime"), []
    for _ in range(n):
        try:
            rt.invoke_endpoint(EndpointName="ep", ContentType="text/csv", Body=b"3.0\n")
            outcomes.append(200)
        except ClientError as exc:
            outcomes.append(exc.response["ResponseMetadata"]["HTTPStatusCode"])
    return outcomes


def test_update_bakes_then_serves_the_new_config_and_stops_the_blue_fleet(box):
    alarm(box)
    endpoint(box, model(box, "v1", MODEL_FN_ONLY))
    sm = box.client("sagemaker")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=model(box, "v2", MODEL_FN_ONLY), DeploymentConfig=policy())
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Updating"
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "v1-config"  # still baking
    assert invoke(box, 3) == [200, 200, 200]
    tick(box, 300)  # baking period over
    tick(box, 60)   # termination wait over
    desc = sm.describe_endpoint(EndpointName="ep")
    assert (desc["EndpointStatus"], desc["EndpointConfigName"]) == ("InService", "v2-config")
    history = box.server.gateway.report()["endpointUpdates"]
    assert history[-1]["outcome"] == "completed"
    assert box.server.gateway.endpoints.live["ep"].config == "v2-config"


def test_a_canary_that_trips_the_rollback_alarm_is_rolled_back_and_the_old_config_keeps_serving(box):
    alarm(box)
    endpoint(box, model(box, "good", MODEL_FN_ONLY))
    sm = box.client("sagemaker")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=model(box, "bad", BROKEN),
                       DeploymentConfig=policy(routing="CANARY", CanarySize={"Type": "CAPACITY_PERCENT", "Value": 50}))
    outcomes = invoke(box, 20)
    assert 424 in outcomes and 200 in outcomes  # half the traffic reaches the broken green fleet
    tick(box, 60)  # the 5XX alarm evaluates the minute of errors -> ALARM -> rollback during baking
    desc = sm.describe_endpoint(EndpointName="ep")
    assert (desc["EndpointStatus"], desc["EndpointConfigName"]) == ("InService", "good-config")
    assert invoke(box, 5) == [200] * 5  # all traffic back on the blue fleet
    update = box.server.gateway.report()["endpointUpdates"][-1]
    assert update["outcome"] == "rolled back" and update["serving"] == "good-config"
    assert any(e.get("alarms") == [ALARM] for e in update["events"])


def test_without_traffic_errors_the_same_update_completes(box):
    """The rollback above is caused by the alarm, not by the emulation: no traffic, no ALARM, no rollback."""
    alarm(box)
    endpoint(box, model(box, "good", MODEL_FN_ONLY))
    sm = box.client("sagemaker")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=model(box, "bad", BROKEN), DeploymentConfig=policy())
    tick(box, 300)
    tick(box, 60)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "bad-config"


def _scale_to(box, count):
    box.client("sagemaker").update_endpoint_weights_and_capacities(
        EndpointName="ep", DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": count}])


@pytest.mark.parametrize("retain,expected", [(True, 3), (False, 1)])
def test_retain_all_variant_properties_keeps_the_instance_count_auto_scaling_reached(box, retain, expected):
    endpoint(box, model(box, "v1", MODEL_FN_ONLY))
    _scale_to(box, 3)
    sm = box.client("sagemaker")
    assert sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=model(box, "v2", MODEL_FN_ONLY), DeploymentConfig=policy(0),
                       RetainAllVariantProperties=retain,
                       ExcludeRetainedVariantProperties=[{"VariantPropertyType": "DataCaptureConfig"}])
    tick(box, 60)
    variant = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]
    assert variant["DesiredInstanceCount"] == expected


def test_instance_type_change_of_an_auto_scaled_variant_fails_until_it_is_deregistered(box):
    endpoint(box, model(box, "v1", MODEL_FN_ONLY))
    aas = box.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/ep/variant/AllTraffic",
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount", MinCapacity=1, MaxCapacity=2)
    sm = box.client("sagemaker")
    bigger = model(box, "v2", MODEL_FN_ONLY, instance_type="ml.m5.xlarge")
    with pytest.raises(ClientError, match="instance type of production variant AllTraffic"):
        sm.update_endpoint(EndpointName="ep", EndpointConfigName=bigger, DeploymentConfig=policy(0))
    # changing only the model of the scaled variant is allowed (same guide page)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=model(box, "v3", MODEL_FN_ONLY), DeploymentConfig=policy(0))
    tick(box, 60)
    aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/ep/variant/AllTraffic",
                                   ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=bigger, DeploymentConfig=policy(0))
    tick(box, 60)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointConfigName"] == "v2-config"


def test_update_of_an_endpoint_that_is_updating_is_refused(box):
    endpoint(box, model(box, "v1", MODEL_FN_ONLY))
    sm = box.client("sagemaker")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName=model(box, "v2", MODEL_FN_ONLY), DeploymentConfig=policy())
    with pytest.raises(ClientError, match="in-progress"):
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="v1-config", DeploymentConfig=policy())
    assert json.dumps(box.server.gateway.report()["endpointUpdates"]) == "[]"
