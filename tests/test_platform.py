"""The program under mocks: resource sets per level, monotonicity, naming/tags, and the graph itself."""

from __future__ import annotations

import json

import pytest

from modules import levels, plan, spec
from tests.helpers import config, run

LEVEL0_TYPES = {
    "aws:kms/key:Key", "aws:kms/alias:Alias", "aws:s3/bucket:Bucket", "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
}
LEVEL1_ADDS = {"aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
               "aws:iam/openIdConnectProvider:OpenIdConnectProvider"}


@pytest.fixture(scope="module")
def graphs() -> dict[int, plan.Graph]:
    return {n: run(config(maturity=n)) for n in range(levels.MAX_LEVEL + 1)}


def custom_types(graph: plan.Graph) -> set[str]:
    return {r.type for r in graph.resources if r.custom}


def test_level0_is_the_shared_foundation(graphs):
    g = graphs[0]
    assert custom_types(g) == LEVEL0_TYPES
    assert len(g.by_type("aws:s3/bucket:Bucket")) == 2  # artifacts + access logs
    assert [r.name for r in g.by_type("aws:iam/role:Role")] == ["foundation-execution-role"]
    assert {r.type for r in g.resources if not r.custom} == {"mlops:foundation:Foundation"}


def test_level1_adds_registry_and_ci_identity_per_project(graphs):
    g = graphs[1]
    assert custom_types(g) == LEVEL0_TYPES | LEVEL1_ADDS
    assert sorted(r.name for r in g.by_type("aws:ecr/repository:Repository")) == ["churn-delivery-ecr",
                                                                                 "fraud-delivery-ecr"]
    roles = sorted(r.name for r in g.by_type("aws:iam/role:Role"))
    assert roles == ["churn-delivery-ci-role", "foundation-execution-role", "fraud-delivery-ci-role"]
    assert len(g.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 1  # shared, once


def test_existing_oidc_provider_is_reused_not_created():
    arn = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
    g = run(config(maturity=1, github={"org": "acme-ml", "oidcProviderArn": arn}))
    assert not g.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    for role in g.by_type("aws:iam/role:Role"):
        if role.name.endswith("ci-role"):
            assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"]["Federated"] == arn


@pytest.mark.parametrize("n", range(levels.MAX_LEVEL))
def test_raising_the_level_only_adds(graphs, n):
    """Every URN at level n exists at n+1 with identical inputs (the maturity tag aside)."""
    diff = plan.compare(graphs[n], graphs[n + 1])
    assert diff.removed == []
    assert [a.urn for a, _ in diff.changed] == []
    assert len(graphs[n + 1].resources) >= len(graphs[n].resources)


def test_monotonicity_check_can_fail(graphs):
    g0 = graphs[0]
    tampered = plan.Graph(g0.stack, g0.environment, g0.maturity, [
        plan.Resource(**{**r.__dict__, "inputs": {**r.inputs, "description": "changed"}}) if r.type ==
        "aws:kms/key:Key" else r for r in g0.resources])
    assert [a.name for a, _ in plan.compare(g0, tampered).changed] == ["foundation-kms-key"]


def test_feature_override_switches_a_capability_off():
    g = run(config(maturity=1, features={"container_registry": False}))
    assert not g.by_type("aws:ecr/repository:Repository")
    assert g.by_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")


def _taggable(type_: str) -> bool:
    import inspect

    import pulumi_aws
    import pulumi_aws_native

    if type_.startswith("pulumi:"):
        return False  # providers
    package = pulumi_aws_native if type_.startswith("aws-native:") else pulumi_aws
    module, cls = type_.split(":")[1].split("/")[0], type_.split(":")[2]
    klass = getattr(getattr(package, module), cls)
    return "tags" in inspect.signature(klass._internal_init).parameters


def test_every_taggable_resource_is_tagged():
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/1"
    g = run(config(maturity=levels.MAX_LEVEL, environment="prod", projects=[
        {"name": "churn", "training": {"schedule": "rate(1 day)"},
         "serving": {"minInstances": 2, "maxInstances": 4, "modelPackageArn": arn}}]))
    checked = 0
    for r in g.resources:
        if not r.custom or not _taggable(r.type):
            continue
        tags = r.inputs.get("tags")
        if isinstance(tags, list):  # aws-native: [{key, value}, ...]
            tags = {t["key"]: t["value"] for t in tags}
        assert tags, f"{r.name} ({r.type}) has no tags"
        assert tags["mlops:environment"] == "prod"
        assert tags["mlops:maturity"] == str(levels.MAX_LEVEL)
        assert tags["mlops:owner"] == "ml-platform@example.com"
        assert tags["mlops:project"] in {"shared", "churn"}
        checked += 1
    assert checked >= 20


def test_physical_names_follow_the_naming_helper(graphs):
    g = graphs[1]
    assert g.find("aws:iam/role:Role", "foundation-execution-role").inputs["name"] == "acme-dev-sagemaker-execution"
    assert g.find("aws:iam/role:Role", "churn-delivery-ci-role").inputs["name"] == "acme-dev-churn-ci"
    assert g.find("aws:ecr/repository:Repository", "churn-delivery-ecr").inputs["name"] == "acme-dev-churn"
    bucket = g.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket")
    assert bucket.inputs["bucketPrefix"] == "acme-dev-artifacts-"
    assert len(bucket.outputs["bucket"]) <= 63


def test_components_parent_their_children(graphs):
    g = graphs[1]
    comps = {r.urn: r for r in g.resources if not r.custom}
    for r in g.resources:
        if r.custom:
            assert r.parent in comps, r.name
            assert r.name.startswith(comps[r.parent].name + "-"), r.name
            assert comps[r.parent].type.startswith("mlops:")


def test_stateful_resources_are_retained_and_protected_in_prod():
    for env, protected in (("dev", False), ("prod", True)):
        g = run(config(maturity=1, environment=env))
        for name, type_ in (("foundation-kms-key", "aws:kms/key:Key"),
                            ("foundation-artifact-bucket", "aws:s3/bucket:Bucket"),
                            ("churn-delivery-ecr", "aws:ecr/repository:Repository")):
            r = g.find(type_, name)
            assert r.retain_on_delete, name
            assert r.protect is protected, (env, name)


def test_outputs_are_known_values(graphs):
    out = graphs[1].outputs
    assert out["artifactBucket"].startswith("acme-dev-artifacts-")
    assert out["executionRoleArn"].endswith(":role/acme-dev-sagemaker-execution")
    assert out["projects"]["churn"]["ciRoleArn"].endswith(":role/acme-dev-churn-ci")


def test_json_shape():
    g = run(config(maturity=1))
    data = json.loads(json.dumps(g.to_json()))
    assert set(data) == {"stack", "environment", "maturity", "resources", "monitors"}
    assert data["maturity"] == 1 and data["environment"] == "dev" and data["monitors"] == []  # level 1: none
    for item in data["resources"]:
        assert set(item) == {"urn", "type", "name", "parent", "inputs"}
        assert item["urn"].startswith("urn:pulumi:test::mlops-ladder::")
    kms = next(i for i in data["resources"] if i["type"] == "aws:kms/key:Key")
    assert kms["inputs"]["enableKeyRotation"] is True  # camelCase, as the program sent it


def test_no_global_state_leaks_between_runs():
    a = run(config(maturity=0), stack="one")
    b = run(config(maturity=1), stack="two")
    a2 = run(config(maturity=0), stack="one")
    assert all(r.urn.startswith("urn:pulumi:two::") for r in b.resources)
    assert [r.urn for r in a.resources] == [r.urn for r in a2.resources]
    assert len(b.resources) > len(a.resources)


def test_program_error_is_reported_not_swallowed(tmp_path):
    bad = tmp_path / "prog.py"
    bad.write_text("raise RuntimeError('boom from program')\n")
    s = spec.from_config(config())
    with pytest.raises(plan.ProgramError, match="boom from program"):
        plan.run_program(s, config(), program=bad)
    # and the runtime is usable again afterwards
    assert run(config(maturity=0)).resources


def test_sample_stacks_plan():
    for name in ("dev", "staging", "prod"):
        g = plan.plan(stack=name)
        assert g.stack == name and g.by_type("aws:kms/key:Key")
