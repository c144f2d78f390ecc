"""The endpoint component's shape in the plan (components/endpoint.py): per-package model/config slots, the
previous package kept declared, retained variant properties, autoscaling switch, spec errors."""

from __future__ import annotations

import pytest

from modules import spec
from modules.components.endpoint import instance_type_procedure, slot
from tests.helpers import config, run

CURRENT = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-churn/4"
PREVIOUS = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-churn/3"
T_MODEL = "aws:sagemaker/model:Model"
T_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
T_ENDPOINT = "aws-native:sagemaker:Endpoint"
T_TARGET = "aws:appautoscaling/target:Target"


def graph(**serving):
    return run(config(maturity=3, projects=[{"name": "churn", "serving": serving}]))


def test_previous_package_keeps_its_model_and_config_declared_and_the_endpoint_serves_the_current():
    g = graph(modelPackageArn=CURRENT, previousModelPackageArn=PREVIOUS)
    packages = {r.name: r.inputs["primaryContainer"]["modelPackageName"] for r in g.by_type(T_MODEL)}
    assert packages == {f"churn-endpoint-model-{slot(CURRENT)}": CURRENT,
                        f"churn-endpoint-model-{slot(PREVIOUS)}": PREVIOUS}
    current = g.find(T_CONFIG, f"churn-endpoint-config-{slot(CURRENT)}")
    assert g.find(T_CONFIG, f"churn-endpoint-config-{slot(PREVIOUS)}")
    endpoint = g.find(T_ENDPOINT, "churn-endpoint-endpoint")
    assert endpoint.inputs["endpointConfigName"] == current.outputs["name"]


def test_slots_are_stable_so_moving_a_package_to_previous_changes_nothing():
    first = graph(modelPackageArn=PREVIOUS)
    second = graph(modelPackageArn=CURRENT, previousModelPackageArn=PREVIOUS)
    name = f"churn-endpoint-config-{slot(PREVIOUS)}"
    assert first.find(T_CONFIG, name).inputs == second.find(T_CONFIG, name).inputs


def test_autoscaling_false_removes_the_scalable_target_and_keeps_the_endpoint():
    on, off = graph(modelPackageArn=CURRENT), graph(modelPackageArn=CURRENT, autoscaling=False)
    assert on.by_type(T_TARGET) and not off.by_type(T_TARGET)
    assert off.find(T_ENDPOINT, "churn-endpoint-endpoint").inputs == on.find(T_ENDPOINT, "churn-endpoint-endpoint").inputs


def test_previous_without_a_current_package_is_a_spec_error_naming_the_key():
    with pytest.raises(spec.SpecError) as err:
        spec.from_config(config(maturity=3, projects=[{"name": "churn", "serving": {
            "previousModelPackageArn": PREVIOUS}}]), source="<test>")
    assert "mlops:projects[0].serving.previousModelPackageArn" in str(err.value)


def test_instance_type_procedure_names_both_steps():
    text = instance_type_procedure("churn", "prod", "ml.m5.large", "ml.m5.xlarge")
    assert "1. set serving.autoscaling: false" in text and "2. set serving.instanceType: ml.m5.xlarge" in text
    assert "endpoint-scaling-update.html" in text
