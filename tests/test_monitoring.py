"""Level 4: Model Monitor job definition + schedule (as real API requests), the retraining rule -> training
pipeline, dashboard, no monitoring without an endpoint, and 3 -> 4 only adds (model quality, bias, explainability,
the model-quality alarm and the violations pattern: tests/test_monitoring_loop.py)."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from modules import plan, spec
from modules.components import monitoring as mon
from tests.helpers import as_list, config, policy, run, statements

PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/1"
NETWORK = {"vpcId": "vpc-0a1b2c3d", "subnetIds": ["subnet-0a1b2c3d", "subnet-1a2b3c4d"],
           "securityGroupIds": ["sg-0a1b2c3d"]}

JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
COMPONENT = "mlops:monitoring:ProjectMonitoring"


def prod(maturity: int = 4, *, with_arn: bool = True, **monitoring: Any) -> dict[str, Any]:
    cfg = config(maturity=maturity, environment="prod")
    churn, fraud = cfg["mlops:projects"]
    churn["serving"] = {"minInstances": 2, **({"modelPackageArn": PACKAGE_ARN} if with_arn else {})}
    fraud["serving"] = {"minInstances": 2}
    if monitoring:
        churn["monitoring"] = monitoring
    return cfg


@pytest.fixture(scope="module")
def g3() -> plan.Graph:
    return run(prod(3))


@pytest.fixture(scope="module")
def g4() -> plan.Graph:
    return run(prod(4))


@pytest.fixture(scope="module")
def variant() -> plan.Graph:
    """Hourly, in a VPC, custom baseline files, model quality asked for."""
    cfg = prod(4, schedule="hourly", driftThreshold=0.25, instanceType="ml.m5.xlarge",
               baseline={"statisticsUri": "s3://acme-baselines/churn/v7/statistics.json",
                         "constraintsUri": "s3://acme-baselines/churn/v7/constraints.json"},
               modelQuality=True)
    cfg["mlops:network"] = NETWORK
    return run(cfg)


# ---------------------------------------------------------------------------------------------------
# The graph's inputs as the SageMaker API request, validated by botocore's service model
# ---------------------------------------------------------------------------------------------------

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
NAME_MEMBER = {"CreateDataQualityJobDefinition": "JobDefinitionName",
               "CreateMonitoringSchedule": "MonitoringScheduleName"}


def _to_api(value: Any, shape) -> Any:
    """camelCase wire inputs -> the API's shape (members matched case-insensitively: volumeSizeInGb ->
    VolumeSizeInGB); Pulumi's flattened one-item blocks become lists; unknown keys are kept, so they fail."""
    if shape.type_name == "structure" and isinstance(value, dict):
        members = {m.lower(): m for m in shape.members}
        out = {}
        for key, item in value.items():
            api_key = members.get(key.lower(), key[:1].upper() + key[1:])
            member = shape.members.get(api_key)
            out[api_key] = _to_api(item, member) if member is not None else item
        return out
    if shape.type_name == "list":
        return [_to_api(item, shape.member) for item in (value if isinstance(value, list) else [value])]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: _to_api(v, shape.value) for k, v in value.items()}
    if shape.type_name in ("integer", "long") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def api_request(resource: plan.Resource, operation: str) -> dict[str, Any]:
    inputs = copy.deepcopy(resource.inputs)
    name, tags = inputs.pop("name"), inputs.pop("tags", {})
    params = _to_api(inputs, SAGEMAKER.operation_model(operation).input_shape)
    params[NAME_MEMBER[operation]] = name
    params["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    return params


def _python_regex(pattern: str | None) -> re.Pattern | None:
    """The model's (Java) patterns in Python: Unicode classes approximated (\\p{L} -> \\w, \\p{Z} -> \\s, ...)."""
    if not pattern:
        return None
    for java, py in (("\\p{L}", "\\w"), ("\\p{Z}", "\\s"), ("\\p{N}", "\\d")):
        pattern = pattern.replace(java, py)
    return re.compile(pattern)


def _constraint_errors(value: Any, shape, path: str = "") -> list[str]:
    """What botocore's client-side validator leaves to the service: enums, max lengths, patterns, ranges."""
    errors: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += _constraint_errors(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} items > {meta['max']}")
        for i, item in enumerate(value):
            errors += _constraint_errors(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for k, v in value.items():
            errors += _constraint_errors(v, shape.value, f"{path}.{k}")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} not one of {len(shape.enum)} allowed values")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} characters > {meta['max']}")
        pattern = _python_regex(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "min" in meta and value < meta["min"] or "max" in meta and value > meta["max"]:
            errors.append(f"{path}: {value} outside {meta.get('min')}..{meta.get('max')}")
    return errors


def validate(params: dict[str, Any], operation: str) -> None:
    """Raise ParamValidationError / AssertionError unless ``params`` is a request the service would accept."""
    shape = SAGEMAKER.operation_model(operation).input_shape
    validate_parameters(params, shape)
    errors = _constraint_errors(params, shape)
    assert not errors, "\n".join(errors)


def one(graph: plan.Graph, type_: str, name: str) -> plan.Resource:
    return graph.find(type_, name)


def endpoint_name(graph: plan.Graph) -> str:
    (ep,) = [r for r in graph.resources if r.name == "churn-endpoint-endpoint"]
    name = ep.inputs.get("name") or ep.inputs.get("endpointName")
    assert name == "acme-prod-churn"
    return name


def pipeline_name(graph: plan.Graph) -> str:
    name = one(graph, "aws:sagemaker/pipeline:Pipeline", "churn-training-pipeline").inputs["pipelineName"]
    assert name == "acme-prod-churn-training"
    return name


# ---------------------------------------------------------------------------------------------------
# Job definition and schedule
# ---------------------------------------------------------------------------------------------------

def test_job_definition_is_a_valid_create_request(g4):
    job = one(g4, JOB, "churn-monitoring-data-quality-job")
    params = api_request(job, "CreateDataQualityJobDefinition")
    validate(params, "CreateDataQualityJobDefinition")
    bucket = g4.outputs["artifactBucket"]
    assert params["JobDefinitionName"] == "acme-prod-churn-data-quality"
    assert params["RoleArn"] == g4.outputs["projects"]["churn"]["executionRoleArn"]  # the project role
    assert params["DataQualityAppSpecification"]["ImageUri"] == \
        "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
    assert params["DataQualityAppSpecification"]["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert params["DataQualityJobInput"] == {"EndpointInput": {
        "EndpointName": endpoint_name(g4), "LocalPath": "/opt/ml/processing/input",
        "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}
    assert params["DataQualityBaselineConfig"] == {
        "StatisticsResource": {"S3Uri": f"s3://{bucket}/churn/baseline/statistics.json"},
        "ConstraintsResource": {"S3Uri": f"s3://{bucket}/churn/baseline/constraints.json"}}
    outputs = params["DataQualityJobOutputConfig"]["MonitoringOutputs"]
    assert [o["S3Output"]["S3Uri"] for o in outputs] == [f"s3://{bucket}/monitoring/churn/data-quality/"]
    cluster = params["JobResources"]["ClusterConfig"]
    assert (cluster["InstanceCount"], cluster["InstanceType"]) == (1, "ml.m5.large")
    assert 0 < params["StoppingCondition"]["MaxRuntimeInSeconds"] <= 3600


def test_schedule_is_a_valid_create_request(g4, variant):
    for graph, expression in ((g4, "cron(0 0 ? * * *)"), (variant, "cron(0 * ? * * *)")):
        schedule = one(graph, SCHEDULE, "churn-monitoring-data-quality-schedule")
        params = api_request(schedule, "CreateMonitoringSchedule")
        validate(params, "CreateMonitoringSchedule")
        job = one(graph, JOB, "churn-monitoring-data-quality-job")
        config_ = params["MonitoringScheduleConfig"]
        assert config_["MonitoringJobDefinitionName"] == job.inputs["name"]
        assert config_["MonitoringType"] == "DataQuality"
        assert config_["ScheduleConfig"] == {"ScheduleExpression": expression}
        assert params["MonitoringScheduleName"] == "acme-prod-churn-data-quality"


@pytest.mark.parametrize("breakage", [
    ("drop RoleArn", lambda p: p.pop("RoleArn")),
    ("instance type AWS does not have", lambda p: p["JobResources"]["ClusterConfig"].update(InstanceType="ml.m5.huge")),
    ("volume size as a string", lambda p: p["JobResources"]["ClusterConfig"].update(VolumeSizeInGB="30")),
    ("output not an S3 URI", lambda p: p["DataQualityJobOutputConfig"]["MonitoringOutputs"][0]["S3Output"]
     .update(S3Uri="/tmp/reports")),
    ("name with underscores", lambda p: p.update(JobDefinitionName="acme_prod_churn")),
    ("a key the API does not know", lambda p: p["NetworkConfig"].update(EnableEverything=True)),
])
def test_a_broken_job_definition_request_fails_validation(g4, breakage):
    params = api_request(one(g4, JOB, "churn-monitoring-data-quality-job"), "CreateDataQualityJobDefinition")
    validate(params, "CreateDataQualityJobDefinition")  # the unbroken request passes ...
    breakage[1](params)
    with pytest.raises((ParamValidationError, AssertionError)):  # ... and each breakage is caught
        validate(params, "CreateDataQualityJobDefinition")


def test_a_broken_schedule_request_fails_validation(g4):
    params = api_request(one(g4, SCHEDULE, "churn-monitoring-data-quality-schedule"), "CreateMonitoringSchedule")
    params["MonitoringScheduleConfig"]["MonitoringType"] = "DataDrift"
    with pytest.raises(AssertionError, match="MonitoringType"):
        validate(params, "CreateMonitoringSchedule")
    del params["MonitoringScheduleName"]
    with pytest.raises(ParamValidationError):
        validate(params, "CreateMonitoringSchedule")


def test_unknown_graph_inputs_do_not_slip_through(g4):
    job = copy.deepcopy(one(g4, JOB, "churn-monitoring-data-quality-job"))
    job.inputs["jobResources"]["clusterConfig"]["volumeEncrypted"] = True
    with pytest.raises(ParamValidationError, match="VolumeEncrypted"):
        validate(api_request(job, "CreateDataQualityJobDefinition"), "CreateDataQualityJobDefinition")


def test_output_and_volume_are_encrypted_with_the_stack_key_and_the_job_is_isolated(g4):
    key_arn = g4.outputs["kmsKeyArn"]
    assert key_arn.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    params = api_request(one(g4, JOB, "churn-monitoring-data-quality-job"), "CreateDataQualityJobDefinition")
    assert params["DataQualityJobOutputConfig"]["KmsKeyId"] == key_arn
    assert params["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key_arn
    assert params["NetworkConfig"] == {"EnableInterContainerTrafficEncryption": True,
                                       "EnableNetworkIsolation": True}


def test_vpc_custom_baseline_and_instance_type_from_the_spec(variant):
    params = api_request(one(variant, JOB, "churn-monitoring-data-quality-job"), "CreateDataQualityJobDefinition")
    validate(params, "CreateDataQualityJobDefinition")
    assert params["NetworkConfig"]["VpcConfig"] == {"SecurityGroupIds": NETWORK["securityGroupIds"],
                                                    "Subnets": NETWORK["subnetIds"]}
    assert params["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert params["DataQualityBaselineConfig"] == {
        "StatisticsResource": {"S3Uri": "s3://acme-baselines/churn/v7/statistics.json"},
        "ConstraintsResource": {"S3Uri": "s3://acme-baselines/churn/v7/constraints.json"}}
    assert params["JobResources"]["ClusterConfig"]["InstanceType"] == "ml.m5.xlarge"
    doc = policy(one(variant, ROLE_POLICY, "churn-monitoring-execution-policy"))
    read = next(s for s in statements(doc) if s["Sid"] == "ReadMonitorFiles")
    assert read["Action"] == "s3:GetObject"
    assert sorted(as_list(read["Resource"])) == ["arn:aws:s3:::acme-baselines/churn/v7/constraints.json",
                                                 "arn:aws:s3:::acme-baselines/churn/v7/statistics.json"]
    assert "ec2:" not in json.dumps(doc)  # the network permissions are the foundation's, at every level
    net = policy(one(variant, ROLE_POLICY, "foundation-execution-network-policy"))
    create = next(s for s in statements(net) if s["Sid"] == "NetworkInterfacesInTheSubnets")
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0a1b2c3d" in create["Resource"]
    assert "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0a1b2c3d" in create["Resource"]
    assert "*" not in create["Resource"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1"])
def test_analyzer_image_matches_the_sagemaker_sdk(region):
    from sagemaker.core import image_uris

    assert mon.analyzer_image_uri(region) == image_uris.retrieve(framework="model-monitor", region=region)


def test_region_without_an_analyzer_is_a_clear_error():
    with pytest.raises(ValueError, match="Model Monitor has no image in xx-nowhere-1"):
        mon.analyzer_image_uri("xx-nowhere-1")


def test_execution_role_gets_a_separate_monitoring_policy(g4):
    policy_res = one(g4, ROLE_POLICY, "churn-monitoring-execution-policy")
    assert policy_res.inputs["role"] == "acme-prod-churn-sagemaker"  # the project role
    assert policy_res.inputs["name"] == "monitoring-churn"
    by_sid = {s["Sid"]: s for s in statements(policy(policy_res))}
    assert by_sid["PullMonitorImages"]["Resource"] == \
        ["arn:aws:ecr:us-east-1:156813124566:repository/sagemaker-model-monitor-analyzer"]
    assert "PublishDriftScore" not in by_sid  # the monitor publishes its own metrics; nobody publishes DriftScore
    for st in by_sid.values():
        assert not any(a.endswith("*") for a in as_list(st["Action"])), st
    job = one(g4, JOB, "churn-monitoring-data-quality-job")
    assert policy_res.urn in job.dependencies  # the job exists only once its permissions do


# ---------------------------------------------------------------------------------------------------
# Drift alarm, the closed loop, the dashboard
# ---------------------------------------------------------------------------------------------------

def test_quality_alarm_notifies_the_project_topic_and_only_with_model_quality(g4, variant):
    assert not [r for r in g4.by_type(ALARM) if r.name.startswith("churn-monitoring")]  # no DriftScore alarm
    topic_arn = one(g4, "aws:sns/topic:Topic", "churn-approval-topic").outputs["arn"]
    i = one(variant, ALARM, "churn-monitoring-quality-alarm").inputs
    assert (i["namespace"], i["metricName"]) == ("aws/sagemaker/Endpoints/model-metrics", "auc")
    assert (i["period"], i["threshold"], i["actionsEnabled"]) == (3600, 0.8, True)
    assert i["alarmActions"] == [topic_arn] and i["treatMissingData"] == "missing"
    # the topic's policy lets exactly the project's alarms publish: this alarm must be one of them
    topic_policy = policy(one(g4, "aws:sns/topicPolicy:TopicPolicy", "churn-approval-topic-policy"))
    allowed = next(s for s in statements(topic_policy)
                   if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"})
    pattern = allowed["Condition"]["ArnLike"]["aws:SourceArn"]
    assert fnmatch.fnmatchcase(f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{i['name']}", pattern)


def test_alarm_rule_starts_exactly_the_training_pipeline(g4):
    schedule = one(g4, SCHEDULE, "churn-monitoring-data-quality-schedule")
    rule = one(g4, RULE, "churn-monitoring-retrain-rule")
    target = one(g4, TARGET, "churn-monitoring-retrain-target")
    role = one(g4, ROLE, "churn-monitoring-retrain-role")
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {"MonitoringScheduleArn": [schedule.outputs["arn"]], "ProcessingJobStatus": ["Completed"],
                   "ExitMessage": [{"prefix": "CompletedWithViolations"}]}}
    pipeline_arn = f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{pipeline_name(g4)}"
    assert target.inputs["rule"] == rule.inputs["name"] == "acme-prod-churn-retrain"
    assert target.inputs["arn"] == pipeline_arn
    assert target.inputs["roleArn"] == role.outputs["arn"]
    # no parameters: the pipeline's defaults (the deployed code version, the data prefix); approval is not one
    assert "sagemakerPipelineTarget" not in target.inputs
    # the role: trusted by EventBridge for this rule in this account, allowed one action on one pipeline
    assert role.inputs["name"] == "acme-prod-churn-retrain"
    trust = statements(policy(role, "assumeRolePolicy"))
    assert [s["Principal"] for s in trust] == [{"Service": "events.amazonaws.com"}]
    assert trust[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert trust[0]["Condition"]["ArnEquals"] == {"aws:SourceArn": rule.outputs["arn"]}
    role_policies = [r for r in g4.by_type(ROLE_POLICY) if r.inputs["role"] in (role.id, role.inputs["name"])]
    assert [r.name for r in role_policies] == ["churn-monitoring-retrain-policy"]
    allowed = statements(policy(role_policies[0]))
    assert [(s["Effect"], as_list(s["Action"]), as_list(s["Resource"])) for s in allowed] == [
        ("Allow", ["sagemaker:StartPipelineExecution"], [pipeline_arn])]


def test_dashboard_graphs_the_real_endpoint_and_pipeline(g4):
    board = one(g4, DASHBOARD, "churn-monitoring-dashboard")
    assert board.inputs["dashboardName"] == "acme-prod-churn"
    body = board.inputs["dashboardBody"]
    assert body == json.dumps(json.loads(body), sort_keys=True)
    endpoint, pipeline = endpoint_name(g4), pipeline_name(g4)
    seen: dict[str, set] = {}
    expressions = []
    for w in json.loads(body)["widgets"]:
        assert w["properties"]["region"] == "us-east-1"
        for metric in w["properties"]["metrics"]:
            if isinstance(metric[0], dict):
                expressions.append(metric[0]["expression"])
                continue
            names = [m for m in metric if isinstance(m, str)]
            namespace, name, dims = names[0], names[1], dict(zip(names[2::2], names[3::2], strict=True))
            seen.setdefault(namespace, set()).add(name)
            if namespace == "AWS/SageMaker":
                assert dims == {"EndpointName": endpoint, "VariantName": "AllTraffic"}
            elif namespace == "AWS/Sagemaker/ModelBuildingPipeline":
                assert dims == {"PipelineName": pipeline}
            else:
                pytest.fail(f"unexpected namespace {namespace}")
    assert seen["AWS/SageMaker"] == {"Invocations", "ModelLatency", "Invocation4XXErrors", "Invocation5XXErrors"}
    assert seen["AWS/Sagemaker/ModelBuildingPipeline"] == {"ExecutionStarted", "ExecutionSucceeded",
                                                            "ExecutionFailed"}
    assert "mlops/drift" not in seen
    schedule = one(g4, SCHEDULE, "churn-monitoring-data-quality-schedule").inputs["name"]
    assert expressions == [
        "SEARCH('{\"aws/sagemaker/Endpoints/data-metrics\",Endpoint,MonitoringSchedule} "
        f"MetricName=feature_baseline_drift Endpoint=\"{endpoint}\" MonitoringSchedule=\"{schedule}\"', "
        "'Maximum', 86400)"]


def test_outputs_name_the_level4_resources(g4):
    churn = g4.outputs["projects"]["churn"]
    assert churn["monitoringSchedule"] == "acme-prod-churn-data-quality"
    assert churn["dashboardName"] == "acme-prod-churn"
    assert churn["monitoringSchedules"] == {"DataQuality": "acme-prod-churn-data-quality"}
    assert churn["retrainRuleName"] == "acme-prod-churn-retrain" and "driftAlarmArn" not in churn


# ---------------------------------------------------------------------------------------------------
# No endpoint, no monitoring; model quality; switches; 3 -> 4
# ---------------------------------------------------------------------------------------------------

def test_no_monitoring_without_an_endpoint(g4):
    assert [r.name for r in g4.resources if r.type == COMPONENT] == ["churn-monitoring"]  # fraud has no endpoint
    assert not [r for r in g4.resources if r.name.startswith("fraud-monitoring")]
    assert "fraud: monitoring waits for the endpoint (no approved model yet)" in g4.notes
    g = run(prod(4, with_arn=False))
    level4 = {JOB, SCHEDULE, DASHBOARD, COMPONENT}
    assert not [r.name for r in g.resources if r.type in level4 or "monitoring" in r.name]
    for project in ("churn", "fraud"):
        assert f"{project}: monitoring waits for the endpoint (no approved model yet)" in g.notes


def test_model_quality_is_provisioned_through_aws_native(variant):
    import pulumi_aws

    assert not hasattr(pulumi_aws.sagemaker, "ModelQualityJobDefinition")  # hence pulumi-aws-native
    (job,) = variant.by_type("aws-native:sagemaker:ModelQualityJobDefinition")
    assert job.inputs["modelQualityAppSpecification"]["problemType"] == "BinaryClassification"
    providers = [r for r in variant.resources if r.type == "pulumi:providers:aws-native"]
    assert len(providers) <= 1  # one explicit provider per program (ctx.native_provider)
    assert sorted(r.inputs["monitoringScheduleConfig"]["monitoringType"] for r in variant.by_type(SCHEDULE)) == \
        ["DataQuality", "ModelQuality"]
    assert not [n for n in variant.notes if "not provisioned" in n and "model-quality" in n]


def test_capabilities_switch_parts_off():
    g = run(prod(4, modelQuality=True) | {"mlops:features": {"retraining_loop": False}})
    assert g.find(ALARM, "churn-monitoring-quality-alarm")
    assert not [r for r in g.resources if r.type in (RULE, TARGET) and r.name.startswith("churn-monitoring-retrain")]
    assert not [r for r in g.resources if r.name == "churn-monitoring-retrain-role"]
    # a failed monitoring run still notifies people: that is monitoring, not the retraining loop
    assert g.find(RULE, "churn-monitoring-failed-rule")
    g = run(prod(4) | {"mlops:features": {"monitoring": False, "drift_alarms": False, "retraining_loop": False}})
    assert [r.type for r in g.resources if r.parent and r.parent.endswith("::churn-monitoring")] == [DASHBOARD]
    widgets = json.loads(g.find(DASHBOARD, "churn-monitoring-dashboard").inputs["dashboardBody"])["widgets"]
    assert not [w for w in widgets if "SEARCH" in json.dumps(w)]  # no schedule, no per-feature graph


def test_raising_3_to_4_only_adds_monitoring(g3, g4):
    diff = plan.compare(g3, g4)
    assert diff.removed == []
    assert [a.urn for a, _ in diff.changed] == []
    assert diff.added, "level 4 adds nothing"
    component = one(g4, COMPONENT, "churn-monitoring")
    for r in diff.added:
        assert r.urn == component.urn or r.parent == component.urn, r.urn
    assert {r.type for r in diff.added} == {COMPONENT, JOB, SCHEDULE, RULE, TARGET, DASHBOARD, ROLE, ROLE_POLICY}


def test_monotonicity_check_sees_a_changed_level3_resource(g3, g4):
    tampered = copy.deepcopy(g4)
    ep = next(r for r in tampered.resources if r.name == "churn-endpoint-endpoint")
    ep.inputs["name"] = "something-else"
    assert [a.name for a, _ in plan.compare(g3, tampered).changed] == ["churn-endpoint-endpoint"]


# ---------------------------------------------------------------------------------------------------
# The spec's monitoring keys
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("monitoring, where, message", [
    ({"groundTruthPrefix": "s3://labels/churn/"}, "monitoring.groundTruthPrefix", "unknown key"),
    ({"problemType": "Regression"}, "monitoring.problemType", "unknown key"),
    ({"bias": {"analysisConfigUri": "labels/churn"}}, "monitoring.bias.analysisConfigUri", "is not an S3"),
    ({"baseline": {"statisticsUri": "s3://bucket/churn/baseline/"}}, "monitoring.baseline.statisticsUri",
     "is not an S3 object URI"),
    ({"baseline": {"constraintsUri": "https://x/constraints.json"}}, "monitoring.baseline.constraintsUri",
     "is not an S3 object URI"),
    ({"baseline": {"statistics": "s3://b/k.json"}}, "monitoring.baseline.statistics", "unknown key"),
    ({"instanceType": "m5.large"}, "monitoring.instanceType", "not a SageMaker processing instance"),
])
def test_bad_monitoring_settings_are_clear_errors(monitoring, where, message):
    with pytest.raises(spec.SpecError) as exc:
        spec.from_config(prod(4, **monitoring), source="stacks/Pulumi.prod.yaml")
    text = str(exc.value)
    assert f"stacks/Pulumi.prod.yaml: mlops:projects[0].{where}: " in text
    assert message in text


def test_monitoring_defaults():
    m = spec.from_config(prod(4)).projects[0].monitoring
    assert (m.schedule, m.drift_threshold, m.instance_type) == ("daily", 0.1, "ml.m5.large")
    assert (m.baseline.statistics_uri, m.baseline.constraints_uri, m.model_quality) == (None, None, False)
    assert mon.baseline_uris("b", "churn", m.baseline) == ("s3://b/churn/baseline/statistics.json",
                                                           "s3://b/churn/baseline/constraints.json")


def test_policy_pack_passes_the_monitoring_resources(g4, variant):
    from modules.policies import runner

    def mine(graph: plan.Graph) -> list:
        component = one(graph, COMPONENT, "churn-monitoring").urn
        urns = {r.urn for r in graph.resources if r.parent == component}
        return [v for v in runner.run_checks(graph).violations
                if v.urn in urns or "churn-endpoint-endpoint" in (v.name or "")]

    assert mine(g4) == []  # incl. "prod endpoint at level 4 has a Model Monitor schedule"
    assert mine(variant) == []  # in a VPC too (EC2 Describe* have no resource-level permissions)
    assert [v for v in runner.run_checks(variant).violations if v.severity == "mandatory"] == []


# ---------------------------------------------------------------------------------------------------
# Problem types (issue 15): Model Monitor's ProblemType, where it finds the prediction, the alarm's metric
# ---------------------------------------------------------------------------------------------------

# ModelQualityAppSpecification.ProblemType: BinaryClassification | MulticlassClassification | Regression; metric
# names per problem type as Model Monitor publishes them (model-monitor-model-quality-metrics.html: multiclass
# weighted_f1, regression rmse/mae/r2); a lower-is-better gate alarms above its max.
@pytest.mark.parametrize("project, problem, endpoint_input, alarm", [
    ({"training": {"qualityGate": {"metric": "rmse", "max": 3.5}}}, "Regression",
     {"inferenceAttribute": "predictions[*].value"}, ("rmse", "GreaterThanThreshold", 3.5)),
    ({"training": {"qualityGate": {"metric": "r2", "min": 0.4}}}, "Regression",
     {"inferenceAttribute": "predictions[*].value"}, ("r2", "LessThanThreshold", 0.4)),
    ({"problemType": "multiclass", "training": {"qualityGate": {"metric": "f1_weighted", "min": 0.7}}},
     "MulticlassClassification", {"inferenceAttribute": "predictions[*].label"},
     ("weighted_f1", "LessThanThreshold", 0.7)),
    ({"problemType": "multiclass", "training": {"qualityGate": {"metric": "accuracy", "min": 0.9}}},
     "MulticlassClassification", {"inferenceAttribute": "predictions[*].label"},
     ("accuracy", "LessThanThreshold", 0.9)),
    ({"training": {"qualityGate": {"metric": "auc", "min": 0.8}}}, "BinaryClassification",
     {"inferenceAttribute": "predictions[*].label", "probabilityAttribute": "predictions[*].score",
      "probabilityThresholdAttribute": 0.5}, ("auc", "LessThanThreshold", 0.8)),
], ids=["regression-rmse", "regression-r2", "multiclass-f1_weighted", "multiclass-accuracy", "binary-auc"])
def test_model_quality_follows_the_problem_type(project, problem, endpoint_input, alarm):
    cfg = prod(4, modelQuality=True)
    cfg["mlops:projects"][0].update(copy.deepcopy(project))
    g = run(cfg)
    (job,) = g.by_type("aws-native:sagemaker:ModelQualityJobDefinition")
    assert job.inputs["modelQualityAppSpecification"]["problemType"] == problem
    found = job.inputs["modelQualityJobInput"]["endpointInput"]
    attributes = {k: v for k, v in found.items() if k.endswith("Attribute")}
    assert attributes == endpoint_input  # a multiclass/regression monitor has no probability attribute
    i = one(g, ALARM, "churn-monitoring-quality-alarm").inputs
    assert (i["metricName"], i["comparisonOperator"], i["threshold"]) == alarm
    widgets = json.loads(one(g, DASHBOARD, "churn-monitoring-dashboard").inputs["dashboardBody"])["widgets"]
    assert any(alarm[0] in json.dumps(w["properties"]["metrics"]) for w in widgets)


def test_explainability_of_a_regression_model_locates_its_value():
    cfg = prod(4, explainability={})
    cfg["mlops:projects"][0]["training"] = {"qualityGate": {"metric": "mae", "max": 40}}
    (job,) = run(cfg).by_type("aws-native:sagemaker:ModelExplainabilityJobDefinition")
    found = job.inputs["modelExplainabilityJobInput"]["endpointInput"]
    assert found["inferenceAttribute"] == "predictions[*].value" and "probabilityAttribute" not in found


@pytest.mark.parametrize("gate", [{"metric": "mape", "max": 0.2}, {"metric": "log_loss", "max": 0.5},
                                  {"metric": "f1_macro", "min": 0.6}])
def test_model_quality_with_a_metric_model_monitor_does_not_publish_is_a_spec_error(gate):
    cfg = prod(4, modelQuality=True)
    cfg["mlops:projects"][0]["training"] = {"qualityGate": gate}
    if gate["metric"] == "f1_macro":
        cfg["mlops:projects"][0]["problemType"] = "multiclass"
    with pytest.raises(spec.SpecError) as exc:
        spec.from_config(cfg, source="stacks/Pulumi.prod.yaml")
    (line,) = str(exc.value).splitlines()
    assert line.startswith("stacks/Pulumi.prod.yaml: mlops:projects[0].monitoring.modelQuality: ")
    assert f"computes no {gate['metric']!r}" in line and "allowed: false" in line


def test_bias_is_accepted_for_every_problem_type():
    # Clarify's BiasConfig takes a label threshold for regression (sagemaker.core.clarify.BiasConfig docstring)
    cfg = prod(4, bias={})
    cfg["mlops:projects"][0]["training"] = {"qualityGate": {"metric": "rmse", "max": 50}}
    (job,) = run(cfg).by_type("aws-native:sagemaker:ModelBiasJobDefinition")
    assert job.inputs["modelBiasJobInput"]["endpointInput"]["inferenceAttribute"] == "predictions[*].value"
