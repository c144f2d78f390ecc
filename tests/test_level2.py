"""Level 2: registry, training pipeline, schedule, contract - read from the planned graph."""

from __future__ import annotations


import pytest

from modules import plan
from tests.helpers import config, policy, run, statements


@pytest.fixture(scope="module")
def g() -> plan.Graph:
    return run(config(maturity=2))


def test_model_package_group_per_project(g):
    groups = {r.name: r for r in g.by_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")}
    assert set(groups) == {"churn-registry-group", "fraud-registry-group"}
    assert groups["churn-registry-group"].inputs["modelPackageGroupName"] == "acme-dev-churn"
    assert groups["churn-registry-group"].inputs["modelPackageGroupDescription"]
    assert groups["churn-registry-group"].inputs["tags"]["mlops:project"] == "churn"
    assert not g.by_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")


def test_registry_shared_read_only_with_consumer_accounts():
    cfg = config(maturity=2, projects=[{"name": "churn", "registry": {"shareWith": ["111122223333"]}}])
    g = run(cfg)
    (pol,) = g.by_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
    (st,) = statements(policy(pol, "resourcePolicy"))
    assert st["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert all(a.startswith(("sagemaker:Describe", "sagemaker:List")) for a in st["Action"])
    assert pol.inputs["modelPackageGroupName"] == "acme-dev-churn"


def test_contract_parameters_are_as_documented(g):
    params = {r.inputs["name"]: r.inputs["value"] for r in g.by_type("aws:ssm/parameter:Parameter")}
    bucket = g.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket").outputs["bucket"]
    churn = {k.removeprefix("/mlops/dev/churn/"): v for k, v in params.items() if k.startswith("/mlops/dev/churn/")}
    expected = {"artifact-bucket", "code-prefix", "code-root", "data-prefix", "execution-role-arn", "kms-key-arn",
                "model-package-group", "ecr-repository", "region", "contract-version"}
    assert expected <= set(churn)
    assert churn["artifact-bucket"] == bucket
    assert churn["code-prefix"] == f"s3://{bucket}/churn/code/initial/"
    assert churn["code-root"] == f"s3://{bucket}/churn/code/"
    assert churn["data-prefix"] == f"s3://{bucket}/churn/data/"
    assert churn["model-package-group"] == "acme-dev-churn"
    assert churn["ecr-repository"] == "acme-dev-churn"
    assert churn["contract-version"] == "1"
    assert churn["execution-role-arn"].endswith(":role/acme-dev-churn-sagemaker")  # the project's own role
    for r in g.by_type("aws:ssm/parameter:Parameter"):
        assert r.inputs["type"] == "String"


def test_contract_stays_when_the_schedule_is_switched_off():
    # contract is level 2 and only depends on the foundation; turning the schedule off keeps it
    g = run(config(maturity=2, features={"training_schedule": False}))
    assert g.by_type("aws:ssm/parameter:Parameter")
    assert not g.by_type("aws:scheduler/schedule:Schedule")
