"""Level 3 from the graph: approval events -> deploy trigger, and the endpoint only once a model is approved."""

from __future__ import annotations

import json

import pytest

from modules import plan, spec
from modules.components import deployment
from tests.helpers import as_list, config, policy, run, statements

ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-churn/3"
SLOT = __import__("modules.components.endpoint", fromlist=["slot"]).slot(ARN)  # model/config logical-name suffix
NETWORK = {"vpcId": "vpc-0123abcd", "subnetIds": ["subnet-0123abcd", "subnet-4567ef01"],
           "securityGroupIds": ["sg-0123abcd"]}

T_MODEL = "aws:sagemaker/model:Model"
T_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
T_ENDPOINT = "aws-native:sagemaker:Endpoint"  # RetainAllVariantProperties (components/endpoint.py)
T_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
T_TARGET = "aws:appautoscaling/target:Target"
T_SCALING = "aws:appautoscaling/policy:Policy"
T_RULE = "aws:cloudwatch/eventRule:EventRule"
T_EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
T_TOPIC = "aws:sns/topic:Topic"
T_ROLE = "aws:iam/role:Role"
T_POLICY = "aws:iam/rolePolicy:RolePolicy"
ENDPOINT_TYPES = {T_MODEL, T_CONFIG, T_ENDPOINT, T_ALARM, T_TARGET, T_SCALING}


def churn(serving: dict | None = None, **extra) -> list[dict]:
    return [{"name": "churn", "serving": {"modelPackageArn": ARN, **(serving or {})}, **extra}]


@pytest.fixture(scope="module")
def with_model() -> plan.Graph:
    return run(config(maturity=3, network=NETWORK,
                      projects=churn({"rollbackAlarms": ["team-sla-alarm"], "minInstances": 2, "maxInstances": 5,
                                      "dataCapturePercent": 20, "latencyLimitMs": 250,
                                      "targetInvocationsPerInstance": 70})
                      + [{"name": "fraud"}]))


@pytest.fixture(scope="module")
def without_model() -> plan.Graph:
    return run(config(maturity=3))


def types_under(graph: plan.Graph, component: str) -> set[str]:
    comp = next(r for r in graph.resources if not r.custom and r.name == component)
    return {r.type for r in graph.children(comp.urn)}


# ---- endpoint only with an approved model ---------------------------------------------------------

def test_endpoint_resources_only_with_an_arn(with_model, without_model):
    assert not ENDPOINT_TYPES & {r.type for r in without_model.resources}
    for project in ("churn", "fraud"):
        assert (f"{project}: endpoint waits for the first approved model (set serving.modelPackageArn or run "
                f"`ladder deploy`)") in without_model.notes
    assert ENDPOINT_TYPES <= types_under(with_model, "churn-endpoint")
    # fraud has no ARN in the same stack: no endpoint, but the note
    assert not any(r.name.startswith("fraud-endpoint") for r in with_model.resources)
    assert any(n.startswith("fraud: endpoint waits") for n in with_model.notes)
    assert not any(n.startswith("churn: endpoint waits") for n in with_model.notes)
    assert not any("'endpoint'" in n or "'approval_events'" in n for n in with_model.notes)  # implemented


def test_model_from_the_package_isolated_in_the_vpc(with_model):
    model = with_model.find(T_MODEL, f"churn-endpoint-model-{SLOT}")
    assert model.inputs["primaryContainer"] == {"modelPackageName": ARN}
    assert model.inputs["enableNetworkIsolation"] is True
    assert model.inputs["vpcConfig"] == {"subnets": NETWORK["subnetIds"],
                                         "securityGroupIds": NETWORK["securityGroupIds"]}
    assert model.inputs["executionRoleArn"].endswith(":role/acme-dev-churn-sagemaker")  # the project role
    assert "name" not in model.inputs  # auto-named: a new package replaces it create-before-delete


def test_network_isolation_can_be_switched_off_and_vpc_is_optional():
    g = run(config(maturity=3, projects=churn({"networkIsolation": False})))
    model = g.find(T_MODEL, f"churn-endpoint-model-{SLOT}")
    assert model.inputs["enableNetworkIsolation"] is False
    assert "vpcConfig" not in model.inputs


def test_endpoint_config_is_encrypted_and_captures_data(with_model):
    key_arn = with_model.outputs["kmsKeyArn"]
    bucket = with_model.outputs["artifactBucket"]
    cfg = with_model.find(T_CONFIG, f"churn-endpoint-config-{SLOT}")
    assert key_arn.startswith("arn:aws:kms:")
    assert cfg.inputs["kmsKeyArn"] == key_arn
    capture = cfg.inputs["dataCaptureConfig"]
    assert capture["enableCapture"] is True
    assert capture["kmsKeyId"] == key_arn
    assert capture["destinationS3Uri"] == f"s3://{bucket}/capture/churn/"
    assert capture["initialSamplingPercentage"] == 20
    assert sorted(o["captureMode"] for o in capture["captureOptions"]) == ["Input", "Output"]
    variant, = cfg.inputs["productionVariants"]
    assert variant["modelName"] == with_model.find(T_MODEL, f"churn-endpoint-model-{SLOT}").outputs["name"]
    assert variant["instanceType"] == "ml.m5.large" and variant["initialInstanceCount"] == 2


def test_endpoint_config_is_auto_named_create_before_delete_and_ignores_autoscaled_counts(with_model):
    cfg = with_model.find(T_CONFIG, f"churn-endpoint-config-{SLOT}")
    assert "name" not in cfg.inputs and "namePrefix" not in cfg.inputs
    assert cfg.delete_before_replace is False
    assert cfg.ignore_changes == ["productionVariants[*].initialInstanceCount"]
    endpoint = with_model.find(T_ENDPOINT, "churn-endpoint-endpoint")
    assert endpoint.inputs["endpointName"] == "acme-dev-churn"
    assert endpoint.inputs["endpointConfigName"] == cfg.outputs["name"]


def test_endpoint_update_keeps_the_instance_count_auto_scaling_reached(with_model):
    """pulumi-aws's UpdateEndpoint sends no RetainAllVariantProperties (terraform-provider-aws endpoint.go
    resourceEndpointUpdate): every deploy reset capacity to minInstances. The aws-native endpoint retains it."""
    endpoint = with_model.find(T_ENDPOINT, "churn-endpoint-endpoint")
    assert endpoint.inputs["retainAllVariantProperties"] is True
    assert endpoint.inputs["excludeRetainedVariantProperties"] == [{"variantPropertyType": "DataCaptureConfig"}]
    assert not with_model.by_type("aws:sagemaker/endpoint:Endpoint")


def test_every_alarm_is_wired_into_auto_rollback(with_model):
    endpoint = with_model.find(T_ENDPOINT, "churn-endpoint-endpoint")
    rollback = [a["alarmName"] for a in endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]]
    created = sorted(r.inputs["name"] for r in with_model.by_type(T_ALARM) if r.name.startswith("churn-"))
    assert created == ["acme-dev-churn-5xx-errors", "acme-dev-churn-model-latency"]
    assert sorted(rollback) == sorted(created + ["team-sla-alarm"])
    # the contract publishes the same list for the repository
    param = with_model.find("aws:ssm/parameter:Parameter", "churn-contract-rollback-alarms")
    assert param.inputs["value"].split(",") == rollback
    assert with_model.find("aws:ssm/parameter:Parameter", "churn-contract-endpoint-name").inputs["value"] == \
        "acme-dev-churn"


def test_alarms_measure_the_endpoint_and_notify_the_topic(with_model):
    topic_arn = with_model.find(T_TOPIC, "churn-approval-topic").outputs["arn"]
    by_metric = {r.inputs["metricName"]: r for r in with_model.by_type(T_ALARM) if r.name.startswith("churn-")}
    assert set(by_metric) == {"Invocation5XXErrors", "ModelLatency"}
    for alarm in by_metric.values():
        assert alarm.inputs["namespace"] == "AWS/SageMaker"
        assert alarm.inputs["dimensions"] == {"EndpointName": "acme-dev-churn", "VariantName": "AllTraffic"}
        assert alarm.inputs["actionsEnabled"] is True
        assert alarm.inputs["alarmActions"] == [topic_arn]
        assert alarm.inputs["comparisonOperator"] == "GreaterThanThreshold"
    assert by_metric["Invocation5XXErrors"].inputs["threshold"] == 0
    assert by_metric["ModelLatency"].inputs["threshold"] == 250 * 1000  # ms -> microseconds


def test_built_in_alarms_can_be_replaced_by_named_ones():
    g = run(config(maturity=3, projects=churn({"errorAlarm": False, "latencyAlarm": False,
                                               "rollbackAlarms": ["a", "b"]})))
    assert not g.by_type(T_ALARM)
    endpoint = g.find(T_ENDPOINT, "churn-endpoint-endpoint")
    assert [a["alarmName"] for a in endpoint.inputs["deploymentConfig"]["autoRollbackConfiguration"]["alarms"]] \
        == ["a", "b"]


def test_blue_green_policy_from_the_spec():
    g = run(config(maturity=3, projects=churn({
        "minInstances": 4, "maxInstances": 8,
        "trafficRouting": {"type": "CANARY", "canarySize": {"type": "INSTANCE_COUNT", "value": 2},
                           "waitIntervalInSeconds": 600},
        "terminationWaitInSeconds": 120, "maximumExecutionTimeoutInSeconds": 7200})))
    policy_ = g.find(T_ENDPOINT, "churn-endpoint-endpoint").inputs["deploymentConfig"]["blueGreenUpdatePolicy"]
    assert policy_["trafficRoutingConfiguration"] == {"type": "CANARY", "waitIntervalInSeconds": 600,
                                                      "canarySize": {"type": "INSTANCE_COUNT", "value": 2}}
    assert policy_["terminationWaitInSeconds"] == 120
    assert policy_["maximumExecutionTimeoutInSeconds"] == 7200


def test_autoscaling_bounds_follow_the_spec(with_model):
    target = with_model.find(T_TARGET, "churn-endpoint-scaling-target")
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (2, 5)
    assert target.inputs["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target.inputs["resourceId"] == "endpoint/acme-dev-churn/variant/AllTraffic"
    scaling = with_model.find(T_SCALING, "churn-endpoint-scaling-policy")
    conf = scaling.inputs["targetTrackingScalingPolicyConfiguration"]
    assert scaling.inputs["policyType"] == "TargetTrackingScaling"
    assert scaling.inputs["resourceId"] == target.inputs["resourceId"]
    assert conf["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"
    assert conf["targetValue"] == 70


def test_execution_role_may_describe_the_groups_packages_and_the_rollback_alarms(with_model):
    doc = policy(with_model.find(T_POLICY, "churn-endpoint-execution-policy"))
    by_sid = {s["Sid"]: s for s in statements(doc)}
    packages = by_sid["ReadProjectPackages"]
    assert "sagemaker:DescribeModelPackage" in as_list(packages["Action"])
    assert all("acme-dev-churn" in r for r in as_list(packages["Resource"]))
    alarms = by_sid["ReadRollbackAlarms"]
    assert as_list(alarms["Action"]) == ["cloudwatch:DescribeAlarms"]
    assert sorted(r.rsplit(":", 1)[-1] for r in as_list(alarms["Resource"])) == \
        ["acme-dev-churn-5xx-errors", "acme-dev-churn-model-latency", "team-sla-alarm"]
    for st in statements(doc):
        if st["Resource"] == "*":
            assert as_list(st["Action"]) == ["ecr:GetAuthorizationToken"]


# ---- approval events ------------------------------------------------------------------------------

def test_approval_rule_matches_the_projects_group_when_approved(without_model):
    for project in ("churn", "fraud"):
        rule = without_model.find(T_RULE, f"{project}-approval-rule")
        pattern = json.loads(rule.inputs["eventPattern"])
        assert pattern == {"source": ["aws.sagemaker"],
                           "detail-type": ["SageMaker Model Package State Change"],
                           "detail": {"ModelPackageGroupName": [f"acme-dev-{project}"],
                                      "ModelApprovalStatus": ["Approved"]}}
        assert pattern["detail"]["ModelPackageGroupName"] == [
            without_model.outputs["projects"][project]["modelPackageGroup"]]


def test_topic_is_encrypted_and_only_the_rule_may_publish_as_events(without_model):
    topic = without_model.find(T_TOPIC, "churn-approval-topic")
    assert topic.inputs["kmsMasterKeyId"] == without_model.outputs["kmsKeyArn"]
    rule_arn = without_model.find(T_RULE, "churn-approval-rule").outputs["arn"]
    doc = policy(without_model.find("aws:sns/topicPolicy:TopicPolicy", "churn-approval-topic-policy"))
    events = [s for s in statements(doc) if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert [s["Sid"] for s in events] == ["ApprovalRulePublishes", "MonitorFailureRulePublishes"]
    assert all(s["Action"] == "sns:Publish" and s["Resource"] == topic.outputs["arn"] for s in events)
    assert events[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}
    # only the level-4 failed-monitoring rule of this project, by exact ARN, from this account
    assert events[1]["Condition"]["ArnEquals"] == {
        "aws:SourceArn": rule_arn.replace("acme-dev-churn-model-approved", "acme-dev-churn-monitor-failed")}
    notify = without_model.find(T_EVENT_TARGET, "churn-approval-notify")
    assert notify.inputs["arn"] == topic.outputs["arn"] and notify.inputs["rule"] == "acme-dev-churn-model-approved"


def _trigger_role_policy(graph: plan.Graph, project: str = "churn") -> list[dict]:
    return statements(policy(graph.find(T_POLICY, f"{project}-approval-dispatch-policy")))


def test_github_trigger_dispatches_model_approved_with_the_package_arn(without_model):
    g = without_model
    dest = g.find("aws:cloudwatch/eventApiDestination:EventApiDestination", "churn-approval-github-dispatch")
    assert dest.inputs["httpMethod"] == "POST"
    # the PLATFORM repository (mlops:github.platformRepository) receives it, not the project's
    assert dest.inputs["invocationEndpoint"] == "https://api.github.com/repos/acme-ml/mlops-platform/dispatches"
    conn = g.find("aws:cloudwatch/eventConnection:EventConnection", "churn-approval-github-connection")
    assert dest.inputs["connectionArn"] == conn.outputs["arn"]
    assert conn.inputs["authorizationType"] == "API_KEY"
    assert conn.inputs["authParameters"] == plan.REDACTED  # the missing-token placeholder is shown as a secret
    assert deployment.TOKEN_PLACEHOLDER not in json.dumps(conn.inputs)
    assert any("mlops:githubToken" in n and n.startswith("churn:") for n in g.notes)
    target = g.find(T_EVENT_TARGET, "churn-approval-dispatch")
    assert target.inputs["arn"] == dest.outputs["arn"]
    transformer = target.inputs["inputTransformer"]
    assert transformer["inputPaths"] == {"arn": "$.detail.ModelPackageArn"}
    body = json.loads(transformer["inputTemplate"].replace("<arn>", ARN))
    assert body["event_type"] == "model-approved"
    assert body["client_payload"] == {"environment": "dev", "project": "churn", "model_package_arn": ARN}
    assert not g.by_type("aws:codebuild/project:Project")


def test_github_token_comes_from_the_secret_config():
    cfg = config(maturity=3, projects=[{"name": "churn"}])
    cfg["mlops:githubToken"] = "ghp_exampletoken"
    s = spec.from_config(cfg, source="<test>", stack="test")
    assert "githubToken" not in s.model_dump(by_alias=True)  # a secret never lands in the spec
    g = plan.run_program(s, cfg, secret_keys=["mlops:githubToken"])
    conn = g.find("aws:cloudwatch/eventConnection:EventConnection", "churn-approval-github-connection")
    assert conn.inputs["authParameters"] == "[secret]"  # shown as Pulumi shows secrets (tests/test_secrets.py)
    assert "ghp_exampletoken" not in json.dumps(g.to_json(full=True))
    assert not any("githubToken" in n for n in g.notes)


def test_github_trigger_role_may_only_invoke_that_destination(without_model):
    g = without_model
    dest_arn = g.find("aws:cloudwatch/eventApiDestination:EventApiDestination",
                      "churn-approval-github-dispatch").outputs["arn"]
    sts = _trigger_role_policy(g)
    assert [(as_list(s["Action"]), as_list(s["Resource"]), s["Effect"]) for s in sts] == \
        [(["events:InvokeApiDestination"], [dest_arn], "Allow")]
    role = g.find(T_ROLE, "churn-approval-dispatch-role")
    assert role.inputs["name"] == "acme-dev-churn-approval-dispatch"  # says what it is for (was ...-churn-deploy)
    trust = statements(json.loads(role.inputs["assumeRolePolicy"]))[0]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"]["ArnEquals"]["aws:SourceArn"] == g.find(T_RULE, "churn-approval-rule").outputs["arn"]
    assert g.find(T_EVENT_TARGET, "churn-approval-dispatch").inputs["roleArn"] == role.outputs["arn"]


# ---- validation ---------------------------------------------------------------------------------

BAD = [
    ({"environment": "prod", "maturity": 3, "projects": [{"name": "churn", "serving": {"minInstances": 1}}]},
     "mlops:projects[0].serving.minInstances", "need minInstances >= 2"),
    ({"projects": [{"name": "churn", "serving": {"errorAlarm": False, "latencyAlarm": False}}]},
     "mlops:projects[0].serving.rollbackAlarms", "at least one alarm"),
    ({"projects": [{"name": "churn", "serving": {"rollbackAlarms": [f"a{i}" for i in range(9)]}}]},
     "mlops:projects[0].serving.rollbackAlarms", "AWS allows 1-10"),
    ({"projects": [{"name": "churn", "serving": {"rollbackAlarms": ["x", "x"]}}]},
     "mlops:projects[0].serving.rollbackAlarms", "unique"),
    ({"projects": [{"name": "churn", "serving": {"trafficRouting": {"type": "CANARY"}}}]},
     "mlops:projects[0].serving.trafficRouting.canarySize", "required when trafficRouting.type is CANARY"),
    ({"projects": [{"name": "churn", "serving": {"trafficRouting": {
        "type": "ALL_AT_ONCE", "linearStepSize": {"type": "CAPACITY_PERCENT", "value": 20}}}}]},
     "mlops:projects[0].serving.trafficRouting.linearStepSize", "only allowed when trafficRouting.type is LINEAR"),
    ({"projects": [{"name": "churn", "serving": {"trafficRouting": {
        "type": "CANARY", "canarySize": {"type": "CAPACITY_PERCENT", "value": 80}}}}]},
     "mlops:projects[0].serving.trafficRouting.canarySize.value", "AWS allows 1-50%"),
    ({"projects": [{"name": "churn", "serving": {"trafficRouting": {
        "type": "LINEAR", "linearStepSize": {"type": "CAPACITY_PERCENT", "value": 5}}}}]},
     "mlops:projects[0].serving.trafficRouting.linearStepSize.value", "AWS allows 10-50%"),
    ({"projects": [{"name": "churn", "serving": {"trafficRouting": {
        "type": "CANARY", "canarySize": {"type": "INSTANCE_COUNT", "value": 0}}}}]},
     "mlops:projects[0].serving.trafficRouting.canarySize.value", "greater than or equal to 1"),
    ({"projects": [{"name": "churn", "serving": {"minInstances": 2, "maxInstances": 4, "trafficRouting": {
        "type": "CANARY", "canarySize": {"type": "INSTANCE_COUNT", "value": 2}}}}]},
     "mlops:projects[0].serving.trafficRouting.canarySize.value", "more than 50% of minInstances"),
    ({"projects": [{"name": "churn", "serving": {"trafficRouting": {"type": "BLUE"}}}]},
     "mlops:projects[0].serving.trafficRouting.type", "'BLUE' is not allowed"),
    ({"projects": [{"name": "churn", "deploy": {"trigger": "jenkins"}}]},
     "mlops:projects[0].deploy.trigger", "'jenkins' is not allowed; allowed: 'github'"),
    ({"projects": [{"name": "churn", "deploy": {"trigger": "codebuild"}}]},
     "mlops:projects[0].deploy.trigger", "only validated the request and never deployed"),
    ({"projects": [{"name": "churn", "serving": {"latencyLimitMs": 0}}]},
     "mlops:projects[0].serving.latencyLimitMs", "greater than 0"),
    ({"projects": [{"name": "churn", "serving": {"dataCapturePercent": 0}}]},
     "mlops:projects[0].serving.dataCapturePercent", "greater than or equal to 1"),
    ({"projects": [{"name": "churn", "serving": {"dataCapturePercent": 101}}]},
     "mlops:projects[0].serving.dataCapturePercent", "less than or equal to 100"),
    ({"projects": [{"name": "churn", "serving": {"maximumExecutionTimeoutInSeconds": 60}}]},
     "mlops:projects[0].serving.maximumExecutionTimeoutInSeconds", "greater than or equal to 600"),
]


@pytest.mark.parametrize("overrides,path,words", BAD, ids=[f"{b[1].rsplit('.', 1)[-1]}:{b[2][:24]}" for b in BAD])
def test_bad_serving_and_deploy_specs(overrides, path, words):
    with pytest.raises(spec.SpecError) as info:
        spec.from_config(config(**overrides), source="stacks/Pulumi.bad.yaml")
    lines = str(info.value).splitlines()
    assert any(line.startswith(f"stacks/Pulumi.bad.yaml: {path}:") and words in line for line in lines), lines


def test_valid_guardrails_are_accepted():
    s = spec.from_config(config(environment="prod", maturity=3, projects=[{"name": "churn", "serving": {
        "minInstances": 2, "maxInstances": 4, "rollbackAlarms": [f"a{i}" for i in range(8)],
        "trafficRouting": {"type": "CANARY", "canarySize": {"type": "INSTANCE_COUNT", "value": 1}}}}]))
    assert s.projects[0].serving.builtin_alarms + len(s.projects[0].serving.rollback_alarms) == 10
    # a single-instance prod is only rejected when the endpoint capability is on
    spec.from_config(config(environment="prod", maturity=2, projects=[{"name": "churn"}]))


# ---- monotonicity ---------------------------------------------------------------------------------

@pytest.mark.parametrize("projects", [None, churn(), churn(deploy={"trigger": "github"})],
                         ids=["no-arn", "arn", "arn-github"])
def test_level_3_only_adds(projects):
    extra = {"projects": projects} if projects is not None else {}
    g2, g3 = run(config(maturity=2, **extra)), run(config(maturity=3, **extra))
    diff = plan.compare(g2, g3)
    assert diff.removed == [] and diff.changed == []
    assert len(diff.added) > 0
    added_types = {r.type for r in diff.added}
    assert T_RULE in added_types
    assert (T_ENDPOINT in added_types) is (projects is not None)


def test_sample_stacks_plan_at_level_3_and_above():
    staging = plan.plan(stack="staging")
    assert staging.find(T_RULE, "churn-approval-rule")
    assert any(n.startswith("churn: endpoint waits") for n in staging.notes)
    prod = plan.plan(stack="prod")
    assert prod.find(T_RULE, "churn-approval-rule")


def test_a_package_promoted_from_staging_is_readable_by_the_prod_role():
    staging_arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn/7"
    g = run(config(environment="prod", maturity=3, projects=[
        {"name": "churn", "serving": {"modelPackageArn": staging_arn, "minInstances": 2, "maxInstances": 3}}]))
    doc = policy(g.find(T_POLICY, "churn-endpoint-execution-policy"))
    resources = next(s for s in statements(doc) if s["Sid"] == "ReadProjectPackages")["Resource"]
    assert "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-staging-churn/*" in resources
    assert any(r.endswith("model-package/acme-prod-churn/*") for r in resources)


def test_a_model_in_the_vpc_has_its_network_permissions_at_level_3():
    """The endpoint's model runs in the spec's subnets: the execution role can make ENIs there, from level 3."""
    from tests.helpers import config as base_config, run as run_cfg, policy as doc_of, statements as sts

    cfg = base_config(maturity=3, network={"vpcId": "vpc-0a1b2c3d", "subnetIds": ["subnet-0a1b2c3d"],
                                           "securityGroupIds": ["sg-0a1b2c3d"]},
                      projects=[{"name": "churn", "serving": {
                          "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-dev-churn/1"}}])
    g = run_cfg(cfg)
    model = g.by_type("aws:sagemaker/model:Model")[0]
    assert model.inputs["vpcConfig"]["subnets"] == ["subnet-0a1b2c3d"]
    net = doc_of(g.find("aws:iam/rolePolicy:RolePolicy", "foundation-execution-network-policy"))
    create = next(s for s in sts(net) if s["Sid"] == "NetworkInterfacesInTheSubnets")
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0a1b2c3d" in create["Resource"]
    assert "*" not in create["Resource"]
