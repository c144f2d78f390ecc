"""The sandbox: the real program applied into moto (one ThreadedMotoServer per module), observed with boto3."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
import typer
from typer.testing import CliRunner

from modules import plan as plan_mod
from modules import spec as spec_mod
from modules.sandbox import state as sandbox
from modules.sandbox.aws import Aws, RequestInvalid, UnmappedInput, UnmappedType, moto_supports
from modules.sandbox.cli import register
from modules.sandbox.engine import SandboxMocks
from modules.sandbox.handlers import HANDLERS, Ctx, Request
from modules.sandbox.server import MotoServer
from tests.helpers import approved_package, config, sandbox_env

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint():
    with MotoServer() as server, sandbox_env(server.endpoint):
        yield server.endpoint


def reset_moto(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).read()


@pytest.fixture(autouse=True)
def _fresh_moto(endpoint):
    reset_moto(endpoint)
    yield


@pytest.fixture
def aws(endpoint):
    def client(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    return client


def apply(cfg, tmp_path, stack="test", **kw):
    s = spec_mod.from_config(cfg, source="<test>", stack=stack)
    return sandbox.apply(s, cfg, state_dir=tmp_path, **kw)


def names(result, action):
    return sorted(c.name for c in result.of(action))


# ---------------------------------------------------------------------------------------------------
# each level applies into moto and is observable with boto3
# ---------------------------------------------------------------------------------------------------

def _buckets(aws):
    return {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}


def test_level0_foundation_is_real_in_moto(tmp_path, aws):
    result = apply(config(maturity=0), tmp_path)
    assert result.counts["created"] >= 17 and not result.of("replaced")
    s3, kms, iam = aws("s3"), aws("kms"), aws("iam")

    artifact = result.outputs["artifactBucket"]
    assert artifact.startswith("acme-dev-artifacts-") and len(artifact) == len("acme-dev-artifacts-") + 26
    assert artifact in _buckets(aws)
    assert any(b.startswith("acme-dev-access-logs-") for b in _buckets(aws))
    assert s3.get_bucket_versioning(Bucket=artifact)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=artifact)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    # the reference between resources carries moto's real key ARN
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == result.outputs["kmsKeyArn"]
    pab = s3.get_public_access_block(Bucket=artifact)["PublicAccessBlockConfiguration"]
    assert pab == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                   "RestrictPublicBuckets": True}
    assert s3.get_bucket_ownership_controls(Bucket=artifact)["OwnershipControls"]["Rules"][0][
        "ObjectOwnership"] == "BucketOwnerEnforced"
    # moto applies policies without their conditions (a TLS-only Deny would deny everything): the full policy is
    # validated and recorded, moto holds the rest, and the run says so
    state_doc = json.loads(Path(result.state_file).read_text())["resources"]
    full = json.loads(state_doc["aws:s3/bucketPolicy:BucketPolicy::foundation-artifact-bucket-policy"]["inputs"][
        "policy"])
    assert any(st.get("Sid") == "DenyInsecureTransport" for st in full["Statement"])
    assert ("aws:s3/bucketPolicy:BucketPolicy", "foundation-artifact-bucket-policy", "s3:PutBucketPolicy") in \
        result.validated
    assert any("DenyInsecureTransport" in m for m in result.messages)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=artifact)["Rules"]
    assert {r["ID"] for r in rules} >= {"abort-incomplete-uploads", "expire-noncurrent-versions"}

    key_id = result.outputs["kmsKeyArn"].rsplit("/", 1)[1]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    assert "alias/acme-dev-data" in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}

    role = iam.get_role(RoleName="acme-dev-sagemaker-execution")["Role"]
    assert role["Arn"] == result.outputs["executionRoleArn"]
    assert iam.list_role_policies(RoleName="acme-dev-sagemaker-execution")["PolicyNames"] == ["foundation"]
    doc = iam.get_role_policy(RoleName="acme-dev-sagemaker-execution", PolicyName="foundation")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert any(f"arn:aws:s3:::{artifact}" in json.dumps(st["Resource"]) for st in doc["Statement"])


def test_level1_delivery_is_real_in_moto(tmp_path, aws):
    result = apply(config(maturity=1), tmp_path)
    ecr, iam = aws("ecr"), aws("iam")
    repos = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    assert set(repos) == {"acme-dev-churn", "acme-dev-fraud"}
    churn = repos["acme-dev-churn"]
    assert churn["imageTagMutability"] == "IMMUTABLE"
    assert churn["imageScanningConfiguration"]["scanOnPush"] is True
    assert churn["encryptionConfiguration"]["encryptionType"] == "KMS"
    assert churn["repositoryUri"] == result.outputs["projects"]["churn"]["ecrRepositoryUrl"]
    assert json.loads(ecr.get_lifecycle_policy(repositoryName="acme-dev-churn")["lifecyclePolicyText"])["rules"]

    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert [p["Arn"] for p in providers] == [result.outputs["githubOidcProviderArn"]]
    trust = iam.get_role(RoleName="acme-dev-churn-ci")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"]["Federated"] == providers[0]["Arn"]
    assert "delivery" in iam.list_role_policies(RoleName="acme-dev-churn-ci")["PolicyNames"]


def test_level2_registry_contract_pipeline_are_real_in_moto(tmp_path, aws):
    result = apply(config(maturity=2), tmp_path)
    types = {c.type for c in result.changes}
    sm, ssm = aws("sagemaker"), aws("ssm")
    groups = {g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]}
    assert groups == {"acme-dev-churn", "acme-dev-fraud"}

    params = {p["Name"]: p["Value"] for p in
              ssm.get_parameters_by_path(Path="/mlops/dev/churn", Recursive=True)["Parameters"]}
    assert params["/mlops/dev/churn/artifact-bucket"] == result.outputs["artifactBucket"]
    assert params["/mlops/dev/churn/artifact-bucket"] in _buckets(aws)
    assert params["/mlops/dev/churn/kms-key-arn"] == result.outputs["kmsKeyArn"]
    assert params["/mlops/dev/churn/model-package-group"] == "acme-dev-churn"

    assert {"aws:sagemaker/pipeline:Pipeline", "aws:scheduler/schedule:Schedule"} <= types
    pipeline = sm.describe_pipeline(PipelineName="acme-dev-churn-training")
    assert pipeline["RoleArn"] == result.outputs["projects"]["churn"]["executionRoleArn"]  # the project role
    definition = json.loads(pipeline["PipelineDefinition"])
    assert result.outputs["artifactBucket"] in json.dumps(definition)  # a real emulated name, not a plan one
    schedule = aws("scheduler").get_schedule(Name="acme-dev-churn-training")
    assert schedule["ScheduleExpression"] == "rate(7 days)"
    assert schedule["Target"]["Arn"].endswith(":pipeline/acme-dev-churn-training")


def test_level4_serving_and_monitoring_from_the_real_program(tmp_path, aws):
    _, cfg = sandbox.load_stack("prod")
    cfg = json.loads(json.dumps(cfg))
    first = apply(cfg, tmp_path, stack="prod")  # level 2 first: the registry exists before a package is approved
    # CreateModel fails on AWS for a package that does not exist: register and approve a real one first
    package = approved_package(aws, first.outputs["artifactBucket"], "churn", "acme-prod-churn")
    cfg["mlops:projects"][0]["serving"]["modelPackageArn"] = package  # an approved model: the endpoint exists
    result = apply(cfg, tmp_path, stack="prod")
    types = {c.type for c in result.changes}
    assert {"aws-native:sagemaker:Endpoint", "aws:sagemaker/monitoringSchedule:MonitoringSchedule"} <= types
    assert aws("sagemaker").describe_endpoint(EndpointName="acme-prod-churn")["EndpointStatus"] == "InService"
    sm = aws("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName="acme-prod-churn")
    config_ = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert config_["DataCaptureConfig"]["EnableCapture"] is True
    assert config_["KmsKeyId"] == result.outputs["kmsKeyArn"]
    model = sm.describe_model(ModelName=config_["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == package
    # moto accepts DeploymentConfig (botocore validated it on the way) but does not keep it: read what the
    # sandbox sent from its state, and check every rollback alarm exists in moto
    state = sandbox.State.load(sandbox.state_path("prod", tmp_path))
    (sent,) = [e for e in state.resources.values() if e.type == "aws-native:sagemaker:Endpoint"]
    rollback = sent.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]
    alarms = {a["AlarmName"] for a in aws("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert rollback and {a["alarmName"] for a in rollback} <= alarms
    targets = aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [t["ResourceId"] for t in targets] == ["endpoint/acme-prod-churn/variant/AllTraffic"]
    assert sm.list_data_quality_job_definitions()["JobDefinitionSummaries"]
    # the sandbox's gateway emulates monitoring schedules (services/sagemaker/monitor.py): sent, not only validated
    assert not any(op == "sagemaker:CreateMonitoringSchedule" for _, _, op in result.validated)
    assert apply(cfg, tmp_path, stack="prod").counts["created"] == 0
    sandbox.destroy("prod", state_dir=tmp_path)
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_models()["Models"] == []


# ---------------------------------------------------------------------------------------------------
# lifecycle: idempotent, minimal changes, removals, down
# ---------------------------------------------------------------------------------------------------

def test_second_apply_creates_nothing(tmp_path, aws):
    first = apply(config(maturity=2), tmp_path)
    buckets = _buckets(aws)
    second = apply(config(maturity=2), tmp_path)
    assert second.counts == {"created": 0, "updated": 0, "replaced": 0,
                             "unchanged": first.counts["created"], "deleted": 0}
    assert _buckets(aws) == buckets
    assert second.outputs == first.outputs
    assert not second.stale


def test_raising_the_level_only_adds(tmp_path, aws):
    level1 = apply(config(maturity=1), tmp_path)
    level2 = apply(config(maturity=2), tmp_path)
    cfg1, cfg2 = config(maturity=1), config(maturity=2)
    expected = plan_mod.compare(plan_mod.run_program(spec_mod.from_config(cfg1, stack="test"), cfg1),
                                plan_mod.run_program(spec_mod.from_config(cfg2, stack="test"), cfg2))
    assert names(level2, "created") == sorted(r.name for r in expected.added if r.custom)
    assert not level2.of("replaced") and not level2.of("deleted")
    # the maturity tag changed on everything that existed: tags are updated in place, ids kept
    assert {c.name for c in level2.of("updated")} | {c.name for c in level2.of("unchanged")} == \
        {c.name for c in level1.changes}
    assert level2.outputs["artifactBucket"] == level1.outputs["artifactBucket"]
    tags = {t["Key"]: t["Value"] for t in aws("iam").list_role_tags(RoleName="acme-dev-churn-ci")["Tags"]}
    assert tags["mlops:maturity"] == "2"


def test_level_3_to_4_retags_every_service_in_place(tmp_path, aws):
    """The maturity tag changes on every level-3 resource: each service's tag API updates it, nothing is replaced."""
    projects = [{"name": "churn", "training": {"schedule": "rate(7 days)"}}]
    level2 = apply(config(maturity=2, projects=projects), tmp_path)
    package = approved_package(aws, level2.outputs["artifactBucket"], "churn", "acme-dev-churn")
    projects[0]["serving"] = {"modelPackageArn": package}
    level3 = apply(config(maturity=3, projects=projects), tmp_path)
    level4 = apply(config(maturity=4, projects=projects), tmp_path)
    assert not level4.of("replaced") and not level4.of("deleted")
    updated = {c.type for c in level4.of("updated")}
    assert {"aws:sns/topic:Topic", "aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/metricAlarm:MetricAlarm",
            "aws-native:sagemaker:Endpoint", "aws:ssm/parameter:Parameter", "aws:kms/key:Key",
            "aws:ecr/repository:Repository", "aws:iam/role:Role"} <= updated
    state = {e.name: e for e in sandbox.State.load(sandbox.state_path("test", tmp_path)).resources.values()}
    arn = {name: e.outputs.get("arn") or e.outputs["endpointArn"] for name, e in state.items()
           if "arn" in e.outputs or "endpointArn" in e.outputs}

    def maturity(tags, key="Key", value="Value"):
        return {t[key]: t[value] for t in tags}["mlops:maturity"]

    assert maturity(aws("sns").list_tags_for_resource(ResourceArn=arn["churn-approval-topic"])["Tags"]) == "4"
    assert maturity(aws("events").list_tags_for_resource(ResourceARN=arn["churn-approval-rule"])["Tags"]) == "4"
    alarm = next(n for n in arn if n.startswith("churn-endpoint-alarm"))
    assert maturity(aws("cloudwatch").list_tags_for_resource(ResourceARN=arn[alarm])["Tags"]) == "4"
    assert maturity(aws("sagemaker").list_tags(ResourceArn=arn["churn-endpoint-endpoint"])["Tags"]) == "4"
    assert maturity(aws("ssm").list_tags_for_resource(ResourceType="Parameter", ResourceId="/mlops/dev/churn/region")
                    ["TagList"]) == "4"
    key_id = state["foundation-kms-key"].id
    assert maturity(aws("kms").list_resource_tags(KeyId=key_id)["Tags"], "TagKey", "TagValue") == "4"
    assert maturity(aws("ecr").list_tags_for_resource(resourceArn=arn["churn-delivery-ecr"])["tags"]) == "4"
    assert level3.outputs["artifactBucket"] == level4.outputs["artifactBucket"]
    # moto has no tagging for Application Auto Scaling: validated, recorded, not a replacement
    assert ("aws:appautoscaling/target:Target", "churn-endpoint-scaling-target",
            "application-autoscaling:TagResource") in level4.validated


def test_changed_project_setting_replaces_only_what_changed(tmp_path, aws):
    apply(config(maturity=2), tmp_path)
    projects = config()["mlops:projects"]
    projects[0]["training"]["codeVersion"] = "v2"
    changed = apply(config(maturity=2, projects=projects), tmp_path)
    replaced = names(changed, "replaced")
    assert "churn-contract-code-prefix" in replaced
    assert all(n.startswith("churn-") for n in replaced), replaced
    assert not changed.of("created") and not changed.of("deleted")
    value = aws("ssm").get_parameter(Name="/mlops/dev/churn/code-prefix")["Parameter"]["Value"]
    assert value.endswith("/churn/code/v2/")


def test_removed_project_is_deleted(tmp_path, aws):
    apply(config(maturity=1), tmp_path)
    projects = config()["mlops:projects"][:1]
    result = apply(config(maturity=1, projects=projects), tmp_path)
    deleted = names(result, "deleted")
    assert deleted and all(n.startswith("fraud-") for n in deleted)
    assert not result.of("created") and not result.of("replaced")
    assert [r["repositoryName"] for r in aws("ecr").describe_repositories()["repositories"]] == ["acme-dev-churn"]
    assert "acme-dev-fraud-ci" not in {r["RoleName"] for r in aws("iam").list_roles()["Roles"]}


def test_secrets_stay_out_of_the_state_file(tmp_path, aws):
    result = apply(config(maturity=2), tmp_path)
    doc = json.loads(Path(result.state_file).read_text())
    entry = doc["resources"]["aws:ssm/parameter:Parameter::churn-contract-artifact-bucket"]
    assert entry["inputs"]["value"] == "[secret]" and entry["outputs"]["value"] == "[secret]"  # pulumi-aws: secret
    assert entry["realised"] == "emulated" and entry["ops"] == ["ssm:PutParameter (emulated)"]
    real = aws("ssm").get_parameter(Name="/mlops/dev/churn/artifact-bucket")["Parameter"]["Value"]
    assert real == result.outputs["artifactBucket"]


def test_down_leaves_nothing(tmp_path, aws, endpoint):
    up = apply(config(maturity=2), tmp_path)
    artifact = up.outputs["artifactBucket"]
    s3 = aws("s3")
    s3.put_object(Bucket=artifact, Key="churn/code/initial/train.py", Body=b"1")
    s3.put_object(Bucket=artifact, Key="churn/code/initial/train.py", Body=b"2")  # versioned: 2 versions
    s3.delete_object(Bucket=artifact, Key="churn/code/initial/train.py")          # + a delete marker
    assert len(s3.list_object_versions(Bucket=artifact)["Versions"]) == 2
    state_file = Path(up.state_file)
    assert state_file.exists()

    down = sandbox.destroy("test", state_dir=tmp_path)
    assert down.counts["deleted"] == up.counts["created"]
    assert not state_file.exists()
    assert _buckets(aws) == set()
    assert not [r for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith("acme-dev")]
    assert aws("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert aws("ecr").describe_repositories()["repositories"] == []
    assert aws("ssm").get_parameters_by_path(Path="/", Recursive=True)["Parameters"] == []  # incl. sentinel
    kms = aws("kms")
    assert not [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/acme-dev-data"]
    key_id = up.outputs["kmsKeyArn"].rsplit("/", 1)[1]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"  # as in AWS
    # moto has no DeleteModelPackageGroup: whatever it keeps is accounted for as validated, not emulated
    left = {g["ModelPackageGroupName"] for g in
            aws("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]}
    recorded = {n for t, n, op in down.validated if op == "sagemaker:DeleteModelPackageGroup"}
    assert len(recorded) == len(left) == 2
    assert sandbox.destroy("test", state_dir=tmp_path).messages[0].startswith("no sandbox state")


def test_state_of_a_restarted_server_is_stale(tmp_path, aws, endpoint):
    first = apply(config(maturity=0), tmp_path)
    reset_moto(endpoint)  # what a restarted `ladder sandbox serve` looks like
    second = apply(config(maturity=0), tmp_path)
    assert second.stale and "starting from nothing" in " ".join(second.messages)
    assert second.counts["created"] == first.counts["created"]
    reset_moto(endpoint)
    down = sandbox.destroy("test", state_dir=tmp_path)
    assert down.stale and not Path(down.state_file).exists()


def test_embedded_server_when_no_endpoint(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    result = apply(config(maturity=0), tmp_path)
    assert result.embedded and result.counts["created"] > 0
    assert "embedded moto server" in result.messages[0]
    assert json.loads(Path(result.state_file).read_text())["embedded"] is True


# ---------------------------------------------------------------------------------------------------
# the handler table
# ---------------------------------------------------------------------------------------------------

def test_every_type_of_the_prod_stack_is_mapped():
    graph = plan_mod.plan(stack="prod")
    custom = {r.type for r in graph.resources if r.custom}
    assert custom, "the prod stack declares resources"
    assert custom - set(HANDLERS) == set()
    assert all(r.type.startswith("mlops:") for r in graph.resources if not r.custom)


def test_an_unmapped_type_is_an_error_naming_it(tmp_path, endpoint):
    program = tmp_path / "__main__.py"
    program.write_text("import pulumi_aws as aws\n"
                       "aws.sqs.Queue('jobs', name='jobs')\n")
    cfg = config(maturity=0)
    mocks = SandboxMocks(Aws(endpoint, REGION), REGION)
    with pytest.raises(plan_mod.ProgramError, match=r"aws:sqs/queue:Queue"):
        plan_mod.run_program(spec_mod.from_config(cfg, stack="test"), cfg, mocks, program=program)
    assert isinstance(mocks.errors[0], UnmappedType) and mocks.errors[0].type == "aws:sqs/queue:Queue"
    with pytest.raises(UnmappedType, match="no handler for resource type aws:foo/bar:Bar"):
        mocks.new_resource(SimpleNamespace(typ="aws:foo/bar:Bar", name="x", inputs={}, custom=True))


def test_an_input_the_handler_cannot_map_is_refused_not_dropped(endpoint):
    ctx = Ctx(Aws(endpoint, REGION), REGION)
    with pytest.raises(UnmappedInput, match="fancyNewField"):
        HANDLERS["aws:ssm/parameter:Parameter"].create(
            ctx, Request("aws:ssm/parameter:Parameter", "p", {"name": "/x", "type": "String", "value": "v",
                                                              "fancyNewField": 1}))


def test_validated_not_emulated(endpoint):
    assert moto_supports("sagemaker", "CreateMonitoringSchedule")  # the gateway answers it (services/sagemaker/monitor)
    assert not moto_supports("sagemaker", "CreateHub")
    aws = Aws(endpoint, REGION)
    aws.current = "hub"
    with pytest.raises(RequestInvalid, match=r"(?s)sagemaker:CreateHub: botocore rejects.*"
                                             r"Missing required parameter.*HubDescription"):
        aws.call("sagemaker", "CreateHub", {"HubName": "h"})
    with pytest.raises(RequestInvalid, match="HubDescription"):
        aws.call("sagemaker", "CreateHub", {"HubName": "h", "HubDescription": 5})
    assert aws.ops == []
    ok = aws.call("sagemaker", "CreateHub", {"HubName": "h", "HubDescription": "models"})
    assert ok is None
    assert [(k, str(op)) for k, op in aws.ops] == [("hub", "sagemaker:CreateHub (validated)")]


def test_an_undeclared_ordering_is_retried_then_recorded(endpoint, aws):
    s3 = aws("s3")
    for b in ("acme-src-bucket", "acme-log-bucket"):
        s3.create_bucket(Bucket=b)
    sandbox_aws = Aws(endpoint, REGION)
    sandbox_aws.current = "logging"
    params = {"Bucket": "acme-src-bucket", "BucketLoggingStatus": {"LoggingEnabled": {
        "TargetBucket": "acme-log-bucket", "TargetPrefix": "logs/"}}}
    # the target bucket's policy never arrives: retried, then validated (never skipped) with the reason
    assert sandbox_aws.call("s3", "PutBucketLogging", params, retry_on=("InvalidTargetBucketForLogging",),
                            retry_for=0.5) is None
    assert [str(op) for _, op in sandbox_aws.ops] == ["s3:PutBucketLogging (validated)"]
    assert any("missing depends_on" in w for w in sandbox_aws.warnings)
    assert any("InvalidTargetBucketForLogging after 0.5s" in w for w in sandbox_aws.warnings)


# Level 2-4 types the program declares as those levels land: create -> observe in moto -> delete -> gone.
TAGS = {"mlops:project": "churn"}
ROLE_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                               "Principal": {"Service": "sagemaker.amazonaws.com"}}]})


def test_level2_to_4_handlers_round_trip(endpoint, aws):
    sandbox_aws = Aws(endpoint, REGION)
    ctx = Ctx(sandbox_aws, REGION)
    made = []

    def mk(type_, name, inputs):
        sandbox_aws.current = name
        realised = HANDLERS[type_].create(ctx, Request(type_, name, inputs))
        made.append((type_, realised))
        return realised

    role = mk("aws:iam/role:Role", "role", {"name": "acme-dev-churn-deploy", "assumeRolePolicy": ROLE_DOC})
    key = mk("aws:kms/key:Key", "key", {"description": "k", "enableKeyRotation": True})
    mk("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "grp",
       {"modelPackageGroupName": "acme-dev-churn", "modelPackageGroupDescription": "d", "tags": TAGS})
    mk("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", "grp-share",
       {"modelPackageGroupName": "acme-dev-churn", "resourcePolicy": ROLE_DOC})
    mk("aws:sagemaker/pipeline:Pipeline", "pipeline", {
        "pipelineName": "acme-dev-churn-training", "pipelineDisplayName": "acme-dev-churn-training",
        "roleArn": role.outputs["arn"], "pipelineDefinition": json.dumps({"Version": "2020-12-01", "Steps": []})})
    topic = mk("aws:sns/topic:Topic", "topic", {"name": "acme-dev-churn-notifications", "displayName": "d",
                                                "kmsMasterKeyId": key.outputs["arn"], "tags": TAGS})
    mk("aws:sns/topicPolicy:TopicPolicy", "topic-policy", {"arn": topic.id, "policy": ROLE_DOC})
    mk("aws:sns/topicSubscription:TopicSubscription", "sub",
       {"topic": topic.id, "protocol": "email", "endpoint": "ml@example.com"})
    rule = mk("aws:cloudwatch/eventRule:EventRule", "rule", {
        "name": "acme-dev-churn-model-approved", "eventPattern": json.dumps({"source": ["aws.sagemaker"]}),
        "state": "ENABLED", "tags": TAGS})
    mk("aws:cloudwatch/eventTarget:EventTarget", "notify", {
        "rule": rule.outputs["name"], "targetId": "notify-people", "arn": topic.id,
        "inputTransformer": {"inputPaths": {"arn": "$.detail.ModelPackageArn"}, "inputTemplate": "\"<arn>\""}})
    conn = mk("aws:cloudwatch/eventConnection:EventConnection", "conn", {
        "name": "acme-dev-churn-github", "authorizationType": "API_KEY",
        "authParameters": {"apiKey": {"key": "Authorization", "value": "Bearer x"}}})
    dest = mk("aws:cloudwatch/eventApiDestination:EventApiDestination", "dest", {
        "name": "acme-dev-churn-github", "connectionArn": conn.outputs["arn"], "httpMethod": "POST",
        "invocationEndpoint": "https://api.github.com/repos/acme-ml/churn/dispatches",
        "invocationRateLimitPerSecond": 1.0})
    mk("aws:cloudwatch/eventTarget:EventTarget", "dispatch", {
        "rule": rule.outputs["name"], "targetId": "github-dispatch", "arn": dest.outputs["arn"],
        "roleArn": role.outputs["arn"], "httpTarget": {"headerParameters": {"Accept": "application/json"}},
        "retryPolicy": {"maximumRetryAttempts": 10.0, "maximumEventAgeInSeconds": 3600.0}})
    logs = mk("aws:cloudwatch/logGroup:LogGroup", "logs", {"name": "/aws/codebuild/acme-dev-churn-deploy",
                                                          "retentionInDays": 90.0, "tags": TAGS})
    mk("aws:codebuild/project:Project", "build", {
        "name": "acme-dev-churn-deploy", "serviceRole": role.outputs["arn"], "buildTimeout": 60.0,
        "source": {"type": "GITHUB", "location": "https://github.com/acme-ml/churn.git", "buildspec": "{}"},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {"computeType": "BUILD_GENERAL1_SMALL", "image": "aws/codebuild/standard:7.0",
                        "type": "LINUX_CONTAINER",
                        "environmentVariables": [{"name": "STAGE", "value": "dev", "type": "PLAINTEXT"}]},
        "logsConfig": {"cloudwatchLogs": {"status": "ENABLED", "groupName": logs.id}}, "tags": TAGS})
    model = mk("aws:sagemaker/model:Model", "model", {
        "executionRoleArn": role.outputs["arn"], "enableNetworkIsolation": True,
        "primaryContainer": {"modelPackageName":
                             "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-churn/1"}})
    config_ = mk("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "config", {
        "kmsKeyArn": key.outputs["arn"],
        "productionVariants": [{"variantName": "AllTraffic", "modelName": model.id, "instanceType": "ml.m5.large",
                                "initialInstanceCount": 1.0, "initialVariantWeight": 1.0}],
        "dataCaptureConfig": {"enableCapture": True, "initialSamplingPercentage": 100.0,
                              "destinationS3Uri": "s3://b/churn/capture", "kmsKeyId": key.outputs["arn"],
                              "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
                              "captureContentTypeHeader": {"csvContentTypes": ["text/csv"]}}})
    mk("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", {
        "name": "acme-dev-churn-5xx-errors", "namespace": "AWS/SageMaker", "metricName": "Invocation5XXErrors",
        "dimensions": {"EndpointName": "acme-dev-churn", "VariantName": "AllTraffic"}, "statistic": "Sum",
        "period": 60.0, "evaluationPeriods": 1.0, "comparisonOperator": "GreaterThanThreshold", "threshold": 0.0,
        "alarmActions": [topic.id], "okActions": [topic.id], "tags": TAGS})
    mk("aws:cloudwatch/metricAlarm:MetricAlarm", "drift", {
        "name": "acme-dev-churn-drift", "comparisonOperator": "GreaterThanThreshold", "evaluationPeriods": 1.0,
        "threshold": 0.1, "metricQueries": [{"id": "m1", "returnData": True, "metric": {
            "metricName": "feature_baseline_drift_x", "namespace": "aws/sagemaker/Endpoints/data-metrics",
            "period": 3600.0, "stat": "Maximum", "dimensions": {"Endpoint": "acme-dev-churn"}}}]})
    endpoint_ = mk("aws:sagemaker/endpoint:Endpoint", "endpoint", {
        "name": "acme-dev-churn", "endpointConfigName": config_.id,
        "deploymentConfig": {"blueGreenUpdatePolicy": {
            "trafficRoutingConfiguration": {"type": "CANARY", "waitIntervalInSeconds": 300.0,
                                            "canarySize": {"type": "CAPACITY_PERCENT", "value": 10.0}},
            "terminationWaitInSeconds": 120.0},
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "acme-dev-churn-5xx-errors"}]}}})
    resource_id = "endpoint/acme-dev-churn/variant/AllTraffic"
    scaling = {"serviceNamespace": "sagemaker", "scalableDimension": "sagemaker:variant:DesiredInstanceCount",
               "resourceId": resource_id}
    mk("aws:appautoscaling/target:Target", "target", {**scaling, "minCapacity": 1.0, "maxCapacity": 2.0})
    mk("aws:appautoscaling/policy:Policy", "policy", {
        **scaling, "name": "acme-dev-churn-invocations", "policyType": "TargetTrackingScaling",
        "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 70.0, "scaleInCooldown": 300.0,
            "predefinedMetricSpecification": {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}})
    dq = mk("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", "dq", {
        "name": "acme-dev-churn-data-quality", "roleArn": role.outputs["arn"],
        "dataQualityAppSpecification": {"imageUri": "1.dkr.ecr.us-east-1.amazonaws.com/model-monitor-analyzer"},
        "dataQualityJobInput": {"endpointInput": {"endpointName": endpoint_.id,
                                                  "localPath": "/opt/ml/processing/input"}},
        "dataQualityJobOutputConfig": {"monitoringOutputs": {"s3Output": {
            "s3Uri": "s3://b/reports", "localPath": "/opt/ml/processing/output"}}},  # TF object -> API list
        "jobResources": {"clusterConfig": {"instanceCount": 1.0, "instanceType": "ml.m5.large",
                                           "volumeSizeInGb": 20.0}},
        "stoppingCondition": {"maxRuntimeInSeconds": 1800.0}})
    mk("aws:sagemaker/monitoringSchedule:MonitoringSchedule", "schedule", {
        "name": "acme-dev-churn-data-quality",
        "monitoringScheduleConfig": {"monitoringJobDefinitionName": dq.id, "monitoringType": "DataQuality",
                                     "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}}})
    mk("aws:cloudwatch/dashboard:Dashboard", "dashboard",
       {"dashboardName": "acme-dev-churn", "dashboardBody": json.dumps({"widgets": []})})

    sm, events, cw = aws("sagemaker"), aws("events"), aws("cloudwatch")
    assert sm.describe_pipeline(PipelineName="acme-dev-churn-training")["RoleArn"] == role.outputs["arn"]
    ec = sm.describe_endpoint_config(EndpointConfigName=config_.id)
    assert ec["DataCaptureConfig"]["DestinationS3Uri"] == "s3://b/churn/capture"
    assert ec["ProductionVariants"][0]["ModelName"] == model.id
    assert sm.describe_endpoint(EndpointName="acme-dev-churn")["EndpointConfigName"] == config_.id
    assert {t["Id"] for t in events.list_targets_by_rule(Rule="acme-dev-churn-model-approved")["Targets"]} == \
        {"notify-people", "github-dispatch"}
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    assert alarms["acme-dev-churn-5xx-errors"]["Dimensions"] == [{"Name": "EndpointName", "Value": "acme-dev-churn"},
                                                                 {"Name": "VariantName", "Value": "AllTraffic"}]
    assert aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"][0]["MaxCapacity"] == 2
    assert sm.describe_data_quality_job_definition(JobDefinitionName=dq.id)["JobResources"]["ClusterConfig"][
        "VolumeSizeInGB"] == 20
    assert aws("codebuild").batch_get_projects(names=["acme-dev-churn-deploy"])["projects"][0]["timeoutInMinutes"] == 60
    validated = {str(op) for _, op in sandbox_aws.ops if op.mode == "validated"}
    assert validated == {"sagemaker:PutModelPackageGroupPolicy (validated)"}  # the schedule is emulated now
    assert sm.describe_monitoring_schedule(MonitoringScheduleName="acme-dev-churn-data-quality")[
        "MonitoringScheduleStatus"] == "Scheduled"

    for type_, realised in reversed(made):
        HANDLERS[type_].delete(ctx, realised.id, realised.outputs)
    assert sm.list_pipelines()["PipelineSummaries"] == []
    assert sm.list_endpoints()["Endpoints"] == [] and sm.list_endpoint_configs()["EndpointConfigs"] == []
    assert sm.list_models()["Models"] == []
    assert events.list_rules()["Rules"] == [] and events.list_connections()["Connections"] == []
    assert cw.describe_alarms()["MetricAlarms"] == [] and cw.list_dashboards()["DashboardEntries"] == []
    assert aws("sns").list_topics()["Topics"] == []
    assert aws("codebuild").list_projects()["projects"] == []
    assert aws("logs").describe_log_groups()["logGroups"] == []
    assert aws("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"] == []


# ---------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------

@pytest.fixture
def cli():
    app = typer.Typer()

    @app.command()
    def other() -> None:  # a second command so typer keeps sub-command names
        pass

    register(app)
    return app


def test_up_without_sandbox_points_to_pulumi(cli):
    result = CliRunner().invoke(cli, ["up", "--stack", "dev"])
    assert result.exit_code == 2
    assert "pulumi up --stack dev" in result.output
    result = CliRunner().invoke(cli, ["down", "--stack", "dev"])
    assert result.exit_code == 2 and "pulumi destroy" in result.output


def test_up_with_a_bad_spec_exits_2(cli, tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  mlops:environment: qa\n  mlops:maturity: 9\n  mlops:owner: x@example.com\n")
    result = CliRunner().invoke(cli, ["up", "--sandbox", "--stack-file", str(bad), "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "mlops:environment" in result.output or "environment" in result.output


def test_up_and_down_json(cli, tmp_path, aws):
    stack_file = tmp_path / "Pulumi.cli.yaml"
    stack_file.write_text(json.dumps({"config": config(maturity=1)}))
    runner = CliRunner()
    up = runner.invoke(cli, ["up", "--sandbox", "--stack-file", str(stack_file), "--state-dir", str(tmp_path),
                             "--json"])
    assert up.exit_code == 0, up.output
    data = json.loads(up.output)
    assert data["counts"]["created"] > 0 and data["embedded"] is False
    assert (tmp_path / "cli.json").exists()
    again = json.loads(runner.invoke(cli, ["up", "--sandbox", "--stack-file", str(stack_file), "--state-dir",
                                           str(tmp_path), "--json"]).output)
    assert again["counts"]["created"] == 0 and again["unchanged"] == data["counts"]["created"]
    down = runner.invoke(cli, ["down", "--sandbox", "--stack-file", str(stack_file), "--state-dir", str(tmp_path),
                               "--json"])
    assert down.exit_code == 0, down.output
    assert json.loads(down.output)["counts"]["deleted"] == data["counts"]["created"]
    assert not (tmp_path / "cli.json").exists()
    assert aws("ecr").describe_repositories()["repositories"] == []


def test_up_renders_summary(cli, tmp_path):
    stack_file = tmp_path / "Pulumi.rich.yaml"
    stack_file.write_text(json.dumps({"config": config(maturity=0)}))
    result = CliRunner().invoke(cli, ["up", "--sandbox", "--stack-file", str(stack_file), "--state-dir",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "sandbox up: stack rich" in result.output and "created" in result.output
    assert "validated, not emulated" in result.output


def test_sandbox_serve(cli, aws):
    from modules.sandbox.server import free_port

    port = free_port()
    result = CliRunner().invoke(cli, ["sandbox", "serve", "--port", str(port), "--stop-after", "0.3"])
    assert result.exit_code == 0, result.output
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in result.output and "stopped" in result.output
