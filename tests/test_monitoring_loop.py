"""Issue 13, platform side: the monitor is the signal (no DriftScore, no script), the baseline comes from the
pipeline in the capture's format, model quality / bias / explainability through pulumi-aws-native, the plan
lists every monitor, the policy pack covers the new job definitions, the sandbox realises them."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.validate import ParamValidator

from modules import plan, spec
from modules.components import monitoring as mon
from modules.pipeline_definition import (BASELINE_ENVIRONMENT, OUTPUT_BASELINE, OUTPUT_BASELINE_DATA,
                                         PipelineInputs, build_definition)
from modules.policies import runner
from modules.policies.rules import RULE_BY_ID, run_resource_rule
from modules.sandbox.aws import input_shape
from modules.sandbox.handlers import HANDLERS, Request, params_for
from tests.helpers import config, policy, run, statements

PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-prod-churn/1"
ACCOUNT, REGION = "123456789012", "us-east-1"
NATIVE = {"ModelQuality": "aws-native:sagemaker:ModelQualityJobDefinition",
          "ModelBias": "aws-native:sagemaker:ModelBiasJobDefinition",
          "ModelExplainability": "aws-native:sagemaker:ModelExplainabilityJobDefinition"}
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RULE = "aws:cloudwatch/eventRule:EventRule"
ALL = {"schedule": "hourly", "modelQuality": True, "bias": {},
       "explainability": {"analysisConfigUri": "s3://acme-clarify/churn/shap/analysis_config.json"}}


def level4(**monitoring: Any) -> dict[str, Any]:
    cfg = config(maturity=4, environment="prod")
    churn = cfg["mlops:projects"][0]
    churn["serving"] = {"minInstances": 2, "modelPackageArn": PACKAGE_ARN}
    cfg["mlops:projects"][1]["serving"] = {"minInstances": 2}
    if monitoring:
        churn["monitoring"] = monitoring
    return cfg


@pytest.fixture(scope="module")
def full() -> plan.Graph:
    return run(level4(**ALL))


@pytest.fixture(scope="module")
def default() -> plan.Graph:
    return run(level4())


def native(graph: plan.Graph, kind: str) -> plan.Resource:
    found = graph.by_type(NATIVE[kind])
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def bucket_of(graph: plan.Graph) -> str:
    r = graph.find("aws:s3/bucket:Bucket", "foundation-artifact-bucket")
    return plan.physical_name(r.type, r.name, r.inputs)


# ---- spec -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("monitoring, where, message", [
    ({"bias": True}, "monitoring.bias", "valid dictionary"),
    ({"explainability": {"analysisConfigUri": "s3://acme-clarify/"}}, "explainability.analysisConfigUri", "object"),
    ({"modelQuality": "sometimes"}, "monitoring.modelQuality", "boolean"),
    ({"bias": {"facet": "age"}}, "monitoring.bias.facet", "allowed: analysisConfigUri, constraintsUri"),
    ({"groundTruthPrefix": "s3://acme-labels/churn/"}, "monitoring.groundTruthPrefix", "unknown key"),
])
def test_monitoring_keys_are_validated_with_clear_errors(monitoring, where, message):
    with pytest.raises(spec.SpecError) as exc:
        spec.from_config(level4(**monitoring), source="stacks/Pulumi.prod.yaml")
    text = str(exc.value)
    assert "stacks/Pulumi.prod.yaml: mlops:projects[0]." in text and where in text and message in text, text


def test_monitor_types_follow_the_spec():
    m = spec.from_config(level4(**ALL)).projects[0].monitoring
    assert m.enabled_types == ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")
    assert spec.from_config(level4()).projects[0].monitoring.enabled_types == ("DataQuality",)


# ---- plan: every enabled monitor is listed ------------------------------------------------------------

def test_plan_lists_every_monitor_type_the_spec_enables(full, default):
    listed = {(m["project"], m["type"]): m for m in full.monitors()}
    assert set(listed) == {("churn", t) for t in ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability")}
    for m in listed.values():
        assert m["schedule"] == m["jobDefinition"] and m["scheduleExpression"] == "cron(0 * ? * * *)"
    assert full.to_json()["monitors"] == full.monitors()
    note = next(n for n in full.notes if "Model Monitor hourly" in n)
    for kind in ("DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"):
        assert kind in note
    assert "retraining on data-quality violations or the model-quality alarm" in note
    assert [m["type"] for m in default.monitors()] == ["DataQuality"]
    assert any("baseline" in n and "ladder deploy" in n for n in default.notes)  # the schedule waits for one


def test_schedules_name_their_job_definitions(full):
    names = {r.inputs["monitoringScheduleConfig"]["monitoringType"]: r for r in full.by_type(SCHEDULE)}
    for kind in NATIVE:
        assert names[kind].inputs["monitoringScheduleConfig"]["monitoringJobDefinitionName"] == \
            native(full, kind).inputs["jobDefinitionName"]


# ---- the aws-native job definitions: valid API requests, encrypted, isolated, the project's role ---------

@pytest.mark.parametrize("kind", sorted(NATIVE))
def test_native_job_definition_is_a_valid_create_request(full, kind):
    """The Cloud Control inputs map one to one onto Create<Kind>JobDefinition (what the sandbox sends)."""
    r = native(full, kind)
    req = Request(r.type, r.name, r.inputs)
    params = params_for(req, "sagemaker", f"Create{kind}JobDefinition", ignore=("jobDefinitionName", "endpointName"),
                        extra={"JobDefinitionName": r.inputs["jobDefinitionName"]})
    report = ParamValidator().validate(params, input_shape("sagemaker", f"Create{kind}JobDefinition"))
    assert not report.has_errors(), report.generate_report()
    role = full.find("aws:iam/role:Role", "churn-execution-role").inputs["name"]
    assert params["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role}"
    prefix = kind[0].lower() + kind[1:]
    out = params[f"{kind}JobOutputConfig"]
    assert out["KmsKeyId"].startswith("arn:aws:kms:") and params["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"]
    assert params["NetworkConfig"] == {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": True}
    assert out["MonitoringOutputs"][0]["S3Output"]["S3Uri"] == \
        f"s3://{bucket_of(full)}/monitoring/churn/{mon.MONITOR_TYPES[kind][1]}/"
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    assert tags["mlops:project"] == "churn" and tags["mlops:maturity"] == "4"
    assert r.inputs[f"{prefix}JobInput"]["endpointInput"]["endpointName"] == "acme-prod-churn"


def test_model_quality_reads_the_ground_truth_prefix_with_the_gate_problem_type(full):
    inputs = native(full, "ModelQuality").inputs
    assert inputs["modelQualityAppSpecification"]["problemType"] == "BinaryClassification"  # auc gate
    assert inputs["modelQualityAppSpecification"]["imageUri"] == mon.analyzer_image_uri(REGION)
    gt = f"s3://{bucket_of(full)}/ground-truth/churn/"
    assert inputs["modelQualityJobInput"]["groundTruthS3Input"] == {"s3Uri": gt}
    assert native(full, "ModelBias").inputs["modelBiasJobInput"]["groundTruthS3Input"] == {"s3Uri": gt}
    endpoint = inputs["modelQualityJobInput"]["endpointInput"]
    assert (endpoint["startTimeOffset"], endpoint["endTimeOffset"]) == ("-PT2H", "-PT1H")
    # read-only access to exactly that prefix, on the project's execution role
    doc = policy(full.find("aws:iam/rolePolicy:RolePolicy", "churn-monitoring-execution-policy"))
    sids = {s["Sid"]: s for s in statements(doc)}
    assert sids["ReadGroundTruth"]["Action"] == "s3:GetObject"
    assert sids["ReadGroundTruth"]["Resource"].endswith(f":{bucket_of(full)}/ground-truth/churn/*")
    assert "PublishDriftScore" not in sids  # nobody publishes a platform-owned drift metric any more


def test_clarify_monitors_use_the_clarify_image_and_the_project_config(full):
    bias, explain = native(full, "ModelBias").inputs, native(full, "ModelExplainability").inputs
    assert bias["modelBiasAppSpecification"]["imageUri"] == mon.clarify_image_uri(REGION)
    assert bias["modelBiasAppSpecification"]["configUri"] == \
        f"s3://{bucket_of(full)}/churn/monitoring/config/ModelBias/analysis_config.json"
    assert explain["modelExplainabilityAppSpecification"]["configUri"] == ALL["explainability"]["analysisConfigUri"]
    assert "acme-clarify/churn/shap/analysis_config.json" in json.dumps(
        policy(full.find("aws:iam/rolePolicy:RolePolicy", "churn-monitoring-execution-policy")))


def test_model_quality_alarm_watches_the_gate_metric_and_does_not_hide_silence(full):
    alarm = full.find(ALARM, "churn-monitoring-quality-alarm").inputs
    assert (alarm["namespace"], alarm["metricName"]) == ("aws/sagemaker/Endpoints/model-metrics", "auc")
    assert alarm["dimensions"] == {"Endpoint": "acme-prod-churn", "MonitoringSchedule": "acme-prod-churn-quality"}
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 0.8)
    assert alarm["period"] == 3600 and alarm["treatMissingData"] == "missing"
    topic = "arn:aws:sns:us-east-1:123456789012:acme-prod-churn-notifications"
    assert alarm["alarmActions"] == alarm["okActions"] == alarm["insufficientDataActions"] == [topic]


def test_no_drift_score_alarm_and_no_model_quality_alarm_without_model_quality(default):
    assert not [a for a in default.by_type(ALARM) if "mlops/drift" in json.dumps(a.inputs)]
    assert not [a for a in default.by_type(ALARM) if a.name.startswith("churn-monitoring")]
    assert any("no model-quality alarm" in n for n in default.notes)


# ---- the retraining rule: its pattern, its role ---------------------------------------------------------

def _matcher(graph: plan.Graph):
    from moto.events.models import EventPattern  # the sandbox's EventBridge matcher

    return EventPattern.load(graph.find(RULE, "churn-monitoring-retrain-rule").inputs["eventPattern"])


def _alarm_event(name: str, state: str) -> dict[str, Any]:
    return {"version": "0", "id": "1", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": ACCOUNT, "region": REGION, "time": "2026-12-02T00:00:00Z",
            "resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"],
            "detail": {"alarmName": name, "state": {"value": state}, "previousState": {"value": "OK"}}}


DQ_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/acme-prod-churn-data-quality"


@pytest.mark.parametrize("event, matches", [
    (mon.violations_event(DQ_ARN, exit_message="CompletedWithViolations: Job completed successfully with 3 "
                                               "violations.", account=ACCOUNT, region=REGION), True),
    (mon.violations_event(DQ_ARN, exit_message="Completed: Job completed successfully with no violations.",
                          account=ACCOUNT, region=REGION), False),
    (mon.violations_event(DQ_ARN, exit_message="CompletedWithViolations: x", status="Failed", account=ACCOUNT,
                          region=REGION), False),
    (mon.violations_event(DQ_ARN.replace("churn", "fraud"), exit_message="CompletedWithViolations: x",
                          account=ACCOUNT, region=REGION), False),  # another schedule's violations
    (mon.violations_event(DQ_ARN.replace("data-quality", "bias"), exit_message="CompletedWithViolations: x",
                          account=ACCOUNT, region=REGION), False),  # bias drift notifies, it does not retrain
    (_alarm_event("acme-prod-churn-model-quality", "ALARM"), True),
    (_alarm_event("acme-prod-churn-model-quality", "OK"), False),
    (_alarm_event("acme-prod-churn-model-quality", "INSUFFICIENT_DATA"), False),  # a silent monitor: notify only
    (_alarm_event("acme-prod-churn-latency", "ALARM"), False),
])
def test_retraining_pattern_matches_violations_and_the_quality_alarm_only(full, event, matches):
    assert _matcher(full).matches_event(event) is matches


def test_without_model_quality_the_rule_matches_data_quality_violations(default):
    rule = json.loads(default.find(RULE, "churn-monitoring-retrain-rule").inputs["eventPattern"])
    assert rule == mon.retraining_pattern([DQ_ARN])
    assert _matcher(default).matches_event(mon.violations_event(
        DQ_ARN, exit_message="CompletedWithViolations: 1 violation", account=ACCOUNT, region=REGION))


def test_retraining_role_may_only_start_that_pipeline(full):
    doc = policy(full.find("aws:iam/rolePolicy:RolePolicy", "churn-monitoring-retrain-policy"))
    assert statements(doc) == [{"Sid": "StartThisPipelineOnly", "Effect": "Allow",
                                "Action": "sagemaker:StartPipelineExecution",
                                "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/acme-prod-churn-training"}]
    trust = statements(policy(full.find("aws:iam/role:Role", "churn-monitoring-retrain-role"), "assumeRolePolicy"))
    assert trust[0]["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(":rule/acme-prod-churn-retrain")
    target = full.find("aws:cloudwatch/eventTarget:EventTarget", "churn-monitoring-retrain-target").inputs
    assert target["arn"].endswith(":pipeline/acme-prod-churn-training") and "input" not in target


# ---- policy pack ------------------------------------------------------------------------------------

def test_the_full_monitoring_stack_passes_the_policy_pack(full):
    s = spec.from_config(level4(**ALL))
    report = runner.run_checks(full, s)
    assert report.mandatory == [], "\n".join(f"{v.rule} {v.name}: {v.message}" for v in report.mandatory)
    mine = [v for v in report.violations if v.rule.startswith("LADDER-MON")]
    assert mine == [], mine


@pytest.mark.parametrize("rule, breakage", [
    ("LADDER-MON-001", lambda i, p: i[f"{p}JobOutputConfig"].pop("kmsKeyId")),
    ("LADDER-MON-002", lambda i, p: i["jobResources"]["clusterConfig"].pop("volumeKmsKeyId")),
    ("LADDER-MON-003", lambda i, p: i["networkConfig"].update(enableInterContainerTrafficEncryption=False)),
    ("LADDER-MON-004", lambda i, p: i["networkConfig"].pop("enableNetworkIsolation")),
    ("LADDER-MON-005", lambda i, p: i.update(tags=[t for t in i["tags"] if t["key"] != "mlops:owner"])),
])
@pytest.mark.parametrize("kind", sorted(NATIVE))
def test_monitor_rules_fail_a_violating_job_definition(full, rule, breakage, kind):
    r = native(full, kind)
    assert run_resource_rule(RULE_BY_ID[rule], r.type, r.inputs) == []
    broken = copy.deepcopy(r.inputs)
    breakage(broken, kind[0].lower() + kind[1:])
    messages = run_resource_rule(RULE_BY_ID[rule], r.type, broken)
    assert len(messages) == 1, messages


@pytest.mark.parametrize("treatment, actions, fails", [
    ("missing", True, False), ("notBreaching", True, True), ("missing", False, True), ("breaching", True, False)])
def test_monitor_alarm_rule_refuses_hidden_silence(full, treatment, actions, fails):
    alarm = copy.deepcopy(full.find(ALARM, "churn-monitoring-quality-alarm").inputs)
    alarm["treatMissingData"] = treatment
    if not actions:
        alarm.pop("insufficientDataActions")
    assert bool(run_resource_rule(RULE_BY_ID["LADDER-MON-006"], ALARM, alarm)) is fails


# ---- the pipeline's baseline step -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(build_definition(PipelineInputs(
        project="churn", pipeline_name="acme-prod-churn-training", region=REGION, artifact_bucket="acme-bucket",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/acme-prod-churn-sagemaker", model_package_group="acme-prod-churn",
        kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k")))


def test_baseline_step_is_what_suggest_baseline_runs(definition):
    from sagemaker.core.model_monitor.dataset_format import DatasetFormat
    from sagemaker.core.model_monitor.model_monitoring import ModelMonitor

    step = next(s for s in definition["Steps"] if s["Name"] == "baseline")
    args = step["Arguments"]
    assert step["Type"] == "Processing" and args["AppSpecification"] == {"ImageUri": mon.analyzer_image_uri(REGION)}
    # the SDK's own environment for DefaultModelMonitor.suggest_baseline on a headerless CSV dataset
    sdk_env = ModelMonitor._generate_env_map(
        env=None, output_path="/opt/ml/processing/output", enable_cloudwatch_metrics=False,
        dataset_format=DatasetFormat.csv(header=False),
        dataset_source_container_path="/opt/ml/processing/input/baseline_dataset_input")
    assert args["Environment"] == sdk_env == BASELINE_ENVIRONMENT
    (source,) = args["ProcessingInputs"]
    assert source["InputName"] == "baseline_dataset_input"
    assert source["S3Input"]["S3Uri"] == {  # evaluate's dataset: the model's output, then the features
        "Get": f"Steps.evaluate.ProcessingOutputConfig.Outputs['{OUTPUT_BASELINE_DATA}'].S3Output.S3Uri"}
    evaluate = next(s for s in definition["Steps"] if s["Name"] == "evaluate")["Arguments"]
    features = next(i for i in evaluate["ProcessingInputs"] if i["InputName"] == "baseline_features")
    assert features["S3Input"]["S3Uri"] == {
        "Get": f"Steps.preprocess.ProcessingOutputConfig.Outputs['{OUTPUT_BASELINE_DATA}'].S3Output.S3Uri"}
    assert evaluate["AppSpecification"]["ContainerArguments"][-4:] == [
        "--baseline-features-dir", "/opt/ml/processing/baseline_features", "--baseline-dir", "/opt/ml/processing/baseline"]
    (output,) = args["ProcessingOutputConfig"]["Outputs"]
    assert {"Get": "Execution.PipelineExecutionId"} in output["S3Output"]["S3Uri"]["Std:Join"]["Values"]
    assert args["ProcessingOutputConfig"]["KmsKeyId"] and args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
    assert args["NetworkConfig"] == {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": True}


def test_registered_package_carries_the_baseline(definition):
    gate = next(s for s in definition["Steps"] if s["Name"] == "gate")
    (register,) = [s for s in gate["Arguments"]["IfSteps"] if s["Type"] == "RegisterModel"]
    dq = register["Arguments"]["DriftCheckBaselines"]["ModelDataQuality"]
    ref = {"Get": f"Steps.baseline.ProcessingOutputConfig.Outputs['{OUTPUT_BASELINE}'].S3Output.S3Uri"}
    for key, file in (("Statistics", "statistics.json"), ("Constraints", "constraints.json")):
        assert dq[key]["S3Uri"] == {"Std:Join": {"On": "/", "Values": [ref, file]}}
    # what `ladder deploy` reads back from DescribeModelPackage to pin monitoring.baseline
    described = {"DriftCheckBaselines": {"ModelDataQuality": {
        "Statistics": {"S3Uri": "s3://b/churn/pipelines/p/e1/baseline/statistics.json"},
        "Constraints": {"S3Uri": "s3://b/churn/pipelines/p/e1/baseline/constraints.json"}}}}
    assert mon.package_baseline_uris(described) == ("s3://b/churn/pipelines/p/e1/baseline/statistics.json",
                                                    "s3://b/churn/pipelines/p/e1/baseline/constraints.json")
    assert mon.package_baseline_uris({}) is None


# ---- the baseline's format is the capture's ---------------------------------------------------------------

@pytest.fixture(scope="module")
def baked_run(tmp_path_factory):
    """The generated repository trained locally (preprocess -> train -> evaluate, as the pipeline lays it out), the
    capture of its smoke-test payload as the endpoint writes it (Input and Output), and the baked modules."""
    from modules.scaffold import bake

    root = bake({"project_name": "Churn Model", "environment": "prod", "aws_region": REGION,
                 "maturity_level": 4}, tmp_path_factory.mktemp("baked"))
    build = tmp_path_factory.mktemp("build")
    env = {"PYTHONPATH": f"{root / 'src'}:{root}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "churn_model.local", "--build-dir", str(build)], cwd=root, check=True,
                   capture_output=True, env=env)
    sys.path[:0] = [str(root / "src"), str(root)]
    try:
        smoke = _load(root / "deploy" / "smoke_test.py", "baked_smoke_test")
        inference = _load(root / "src" / "churn_model" / "inference.py", "baked_inference")
        payload = smoke.sample_payload(50)  # from the package's contract and bundled sample (imports churn_model)
        model = inference.model_fn(build / "model")
        rows = inference.input_fn(payload, "text/csv")
        body, ctype = inference.output_fn(inference.predict_fn(rows, model), "application/json")
    finally:
        del sys.path[:2]
    captured = tmp_path_factory.mktemp("capture") / "capture.jsonl"
    captured.write_text(json.dumps({  # SageMaker's capture record for one InvokeEndpoint
        "captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": payload,
                                          "encoding": "CSV"},
                        "endpointOutput": {"observedContentType": ctype, "mode": "OUTPUT", "data": body,
                                           "encoding": "JSON"}},
        "eventMetadata": {"eventId": "e1", "inferenceTime": "2026-12-02T00:00:00Z"}, "eventVersion": "0"}) + "\n")
    return build, captured.parent


def _load(path: Path, name: str):
    loader = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def _structural(violations: list[dict[str, str]]) -> set[str]:
    return {v["constraint_check_type"] for v in violations} & {"missing_column_check", "extra_column_check",
                                                               "data_type_check"}


def test_baseline_dataset_has_the_columns_the_endpoint_captures_for_the_smoke_payload(baked_run):
    from modules.sandbox.services.sagemaker.modelmonitor import capture, dataquality

    build, captured = baked_run
    dataset = build / "baseline-dataset" / "baseline.csv"
    lines = dataset.read_text().splitlines()
    assert len(lines) == len((build / "baseline" / "baseline.csv").read_text().splitlines())  # no header
    stats, constraints = dataquality.suggest_baseline(dataset, header=False)  # the baseline step's analysis
    frame = dataquality.frame_of(capture.monitored_rows(captured))  # the monitor's view of the capture
    assert [f["name"] for f in stats["features"]] == list(frame.columns) == [f"_c{i}" for i in range(32)]
    assert {f["name"]: f["inferred_type"] for f in stats["features"]}["_c0"] == "Integral"  # the predicted label
    _, violations, _ = dataquality.check(frame, stats, constraints)
    assert _structural(violations) == set(), violations


def test_the_old_baseline_formats_would_not_match_the_capture(baked_run):
    """The issue's defect (a header row and the true label) and a features-only baseline: both off the capture."""
    from modules.sandbox.services.sagemaker.modelmonitor import capture, dataquality

    build, captured = baked_run
    frame = dataquality.frame_of(capture.monitored_rows(captured))
    for dataset, header in ((build / "train" / "train.csv", True), (build / "baseline" / "baseline.csv", False)):
        stats, constraints = dataquality.suggest_baseline(dataset, header=header)
        assert _structural(dataquality.check(frame, stats, constraints)[1]), dataset


# ---- sandbox: the new types are realised ------------------------------------------------------------------

def test_sandbox_has_a_handler_for_every_native_monitor_type(full):
    for kind, type_ in NATIVE.items():
        handler = HANDLERS[type_]
        assert handler.service == "sagemaker" and f"Create{kind}JobDefinition" in handler.notes
    declared = {r.type for r in full.resources if r.custom}
    assert set(NATIVE.values()) <= declared
    assert not [t for t in declared if t not in HANDLERS and not t.startswith("pulumi:providers:")]


def test_ground_truth_and_baseline_locations_are_one_helper_each():
    assert mon.ground_truth_prefix("b", "churn") == "s3://b/ground-truth/churn/"
    baseline = spec.Baseline()
    assert mon.baseline_uris("b", "churn", baseline) == ("s3://b/churn/baseline/statistics.json",
                                                         "s3://b/churn/baseline/constraints.json")
    assert Path(mon.__file__).name == "monitoring.py"


@pytest.fixture(scope="module")
def sandbox():
    from modules.sandbox.aws import Aws
    from modules.sandbox.handlers import Ctx
    from modules.sandbox.server import MotoServer

    with MotoServer() as server:
        yield server, Ctx(Aws(server.endpoint, REGION), REGION)


@pytest.fixture(scope="module")
def sandbox_ctx(sandbox):
    return sandbox[1]


def test_sandbox_creates_describes_and_deletes_the_native_job_definitions_and_their_schedules(full, sandbox_ctx):
    ctx = sandbox_ctx
    sm = ctx.aws.client("sagemaker")
    schedules = {r.inputs["monitoringScheduleConfig"]["monitoringType"]: r for r in full.by_type(SCHEDULE)}
    for kind, type_ in NATIVE.items():
        r = native(full, kind)
        ctx.aws.current = r.name
        realised = HANDLERS[type_].create(ctx, Request(type_, r.name, r.inputs))
        name = r.inputs["jobDefinitionName"]
        assert realised.id == name and realised.outputs["jobDefinitionArn"].endswith(f"-job-definition/{name}")
        described = getattr(sm, f"describe_{mon.MONITOR_TYPES[kind][1].replace('-', '_')}_job_definition")(
            JobDefinitionName=name)
        assert described["RoleArn"] == r.inputs["roleArn"]
        assert described["NetworkConfig"]["EnableNetworkIsolation"] is True
        s = schedules[kind]
        ctx.aws.current = s.name
        HANDLERS[SCHEDULE].create(ctx, Request(SCHEDULE, s.name, s.inputs))
        got = sm.describe_monitoring_schedule(MonitoringScheduleName=s.inputs["name"])
        assert got["MonitoringScheduleConfig"]["MonitoringType"] == kind
        assert got["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == name
    ops = {str(op) for _, op in ctx.aws.ops}
    for kind in NATIVE:
        assert f"sagemaker:Create{kind}JobDefinition (emulated)" in ops
    for kind, type_ in NATIVE.items():
        HANDLERS[SCHEDULE].delete(ctx, schedules[kind].inputs["name"], {})
        name = native(full, kind).inputs["jobDefinitionName"]
        HANDLERS[type_].delete(ctx, name, {})
        HANDLERS[type_].delete(ctx, name, {})  # already gone: tolerated


def test_in_the_sandbox_a_violations_event_starts_retraining_as_the_rule_role_and_only_that_pipeline(default, sandbox):
    """The platform's rule, role, policy and target realised in the emulator; EventBridge delivers SageMaker's
    event to the pipeline as the rule's role (its trust and its one permission are evaluated)."""
    server, ctx = sandbox
    _realise_the_loop(default, server, ctx)
    events = server.gateway.events
    before = len(events.deliveries)
    clean = mon.violations_event(DQ_ARN, exit_message="Completed: Job completed successfully with no violations.",
                                 account=ACCOUNT, region=REGION)
    assert events.emit(clean) == []  # a clean run starts nothing
    drifted = mon.violations_event(DQ_ARN, exit_message="CompletedWithViolations: Job completed successfully with "
                                                        "2 violations.", account=ACCOUNT, region=REGION)
    (delivery,) = events.emit(drifted)
    assert delivery["rule"] == "acme-prod-churn-retrain" and delivery["status"] == "delivered", delivery
    assert delivery["execution"].startswith(
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/acme-prod-churn-training/execution/")
    assert len(events.deliveries) == before + 1
    # least privilege: the same role pointed at another pipeline is refused by its policy
    sm = ctx.aws.client("events")
    target = sm.list_targets_by_rule(Rule="acme-prod-churn-retrain")["Targets"][0]
    sm.put_targets(Rule="acme-prod-churn-retrain", Targets=[
        {**target, "Arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/acme-prod-fraud-training"}])
    (refused,) = events.emit(drifted)
    assert refused["status"] == "failed" and "StartPipelineExecution" in refused["reason"], refused


LOOP = (("aws:iam/role:Role", "churn-monitoring-retrain-role"),
        ("aws:iam/rolePolicy:RolePolicy", "churn-monitoring-retrain-policy"),
        ("aws:sagemaker/pipeline:Pipeline", "churn-training-pipeline"),
        (RULE, "churn-monitoring-retrain-rule"), ("aws:cloudwatch/eventTarget:EventTarget", "churn-monitoring-retrain-target"))


def _realise_the_loop(graph: plan.Graph, server, ctx, extra: tuple = ()) -> None:
    """A fresh emulator with the graph's retraining rule, its role and policy, the pipeline (+ ``extra``)."""
    from tests.helpers import fresh

    fresh(server)
    for type_, name in (*LOOP, *extra):
        inputs = dict(graph.find(type_, name).inputs)
        if type_ == "aws:iam/rolePolicy:RolePolicy":
            inputs["role"] = graph.find("aws:iam/role:Role", "churn-monitoring-retrain-role").inputs["name"]
        ctx.aws.current = name
        HANDLERS[type_].create(ctx, Request(type_, name, inputs))


def test_in_the_sandbox_the_model_quality_alarm_feeds_the_same_rule_and_silence_only_notifies(full, sandbox):
    """The quality alarm, evaluated by the emulated CloudWatch from Model Monitor's model-metrics: below the gate
    it goes ALARM and its state-change event starts retraining through the retraining rule; no data at all
    (treatMissingData=missing) is INSUFFICIENT_DATA - notified to the topic, no retraining."""
    server, ctx = sandbox
    _realise_the_loop(full, server, ctx, extra=((ALARM, "churn-monitoring-quality-alarm"),))
    ctx.aws.client("sns").create_topic(Name="acme-prod-churn-notifications")
    cw = ctx.aws.client("cloudwatch")
    state = lambda: cw.describe_alarms(AlarmNames=["acme-prod-churn-model-quality"])["MetricAlarms"][0]  # noqa: E731
    gw = server.gateway
    gw.tick(2 * 3600)
    assert state()["StateValue"] == "INSUFFICIENT_DATA"  # the monitor published nothing: seen, not OK
    assert not [d for d in gw.events.deliveries if d.get("execution")]
    dims = [{"Name": "Endpoint", "Value": "acme-prod-churn"}, {"Name": "MonitoringSchedule",
                                                                "Value": "acme-prod-churn-quality"}]
    from datetime import datetime, timezone

    def publish(value: float) -> None:  # as Model Monitor publishes at the end of an execution (sandbox clock)
        now = datetime.fromtimestamp(gw.scheduler.now(), tz=timezone.utc)
        cw.put_metric_data(Namespace="aws/sagemaker/Endpoints/model-metrics",
                           MetricData=[{"MetricName": "auc", "Value": value, "Dimensions": dims, "Timestamp": now}])

    publish(0.95)
    assert state()["StateValue"] == "OK"
    gw.tick(3600)
    publish(0.61)
    assert state()["StateValue"] == "ALARM"
    started = [d for d in gw.events.deliveries if d.get("execution")]
    assert [(d["rule"], d["detailType"], d["status"]) for d in started] == [
        ("acme-prod-churn-retrain", "CloudWatch Alarm State Change", "delivered")]
    assert {a["state"] for a in gw.alarm_actions if a["alarm"] == "acme-prod-churn-model-quality"} >= {
        "INSUFFICIENT_DATA", "OK", "ALARM"}  # every transition reaches the project topic
