"""Model Monitor in the sandbox (services/sagemaker/monitor.py, monitor_api.py, modelmonitor/): schedules run on the
sandbox clock over the capture files, produce the analyzer's reports, metrics and the processing-job event."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest
from botocore.exceptions import ClientError

from modules.sandbox.services.sagemaker.modelmonitor import dataquality as dq
from tests.helpers import Sandbox, fresh, synthetic_rows

REGION = "us-east-1"
BUCKET = "mon-bucket"
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
DATA_NS, MODEL_NS = "aws/sagemaker/Endpoints/data-metrics", "aws/sagemaker/Endpoints/model-metrics"
RNG = np.random.default_rng(7)


rows = synthetic_rows  # tests/helpers.py


# ---- in the sandbox --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def box(tmp_path_factory):
    b = Sandbox(tmp_path_factory)
    yield b
    b.stop()


@pytest.fixture
def env(box):
    fresh(box.server)  # moto and the emulation (clock included) start over
    s3, sm = box.client("s3"), box.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET)
    role = box.role("monitor", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                                 "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}])
    return Env(box, s3, sm, role)


class Env:
    def __init__(self, box, s3, sm, role):
        self.box, self.s3, self.sm, self.role, self.gw = box, s3, sm, role, box.server.gateway

    def endpoint(self, name):
        """An endpoint record with data capture (its container need not run: capture is written below)."""
        self.sm.create_model(ModelName=name, ExecutionRoleArn=self.role, PrimaryContainer={"Image": "x/y:1"})
        self.sm.create_endpoint_config(EndpointConfigName=f"{name}-c", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
            DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                               "DestinationS3Uri": f"s3://{BUCKET}/capture/proj",
                               "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
        self.sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c")

    def capture(self, endpoint, data, outputs=None, ids=None):
        """Capture files as SageMaker writes them, in the current sandbox hour's folder; returns the event ids."""
        now = datetime.fromtimestamp(self.gw.scheduler.now(), timezone.utc)
        ids = ids or [str(uuid.uuid4()) for _ in data]
        lines = []
        for i, row in enumerate(data):
            record = {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                                        "data": ",".join(row), "encoding": "CSV"}},
                      "eventMetadata": {"eventId": ids[i], "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
                      "eventVersion": "0"}
            if outputs is not None:
                record["captureData"]["endpointOutput"] = {"observedContentType": "text/csv", "mode": "OUTPUT",
                                                           "data": outputs[i], "encoding": "CSV"}
            lines.append(json.dumps(record))
        key = f"capture/proj/{endpoint}/AllTraffic/{now:%Y/%m/%d/%H}/{now:%M-%S}-{uuid.uuid4()}.jsonl"
        self.s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())
        return ids

    def baseline(self, data, prefix="proj/baseline"):
        stats, constraints = dq.suggest_baseline(data)
        self.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/statistics.json", Body=json.dumps(stats).encode())
        self.s3.put_object(Bucket=BUCKET, Key=f"{prefix}/constraints.json", Body=json.dumps(constraints).encode())

    def data_quality(self, name, endpoint, baseline="proj/baseline", env=None):
        self.sm.create_data_quality_job_definition(
            JobDefinitionName=name, RoleArn=self.role,
            DataQualityAppSpecification={"ImageUri": ANALYZER, "Environment": env or {}},
            DataQualityBaselineConfig={"ConstraintsResource": {"S3Uri": f"s3://{BUCKET}/{baseline}/constraints.json"},
                                       "StatisticsResource": {"S3Uri": f"s3://{BUCKET}/{baseline}/statistics.json"}},
            DataQualityJobInput={"EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input"}},
            DataQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
                "S3Uri": f"s3://{BUCKET}/monitoring/proj/data-quality", "LocalPath": "/opt/ml/processing/output"}}]},
            JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}},
            NetworkConfig={"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": True},
            StoppingCondition={"MaxRuntimeInSeconds": 3600})
        return self.sm.create_monitoring_schedule(MonitoringScheduleName=name, MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": name,
            "MonitoringType": "DataQuality"})["MonitoringScheduleArn"]

    def next_hour(self):
        """Advance the sandbox clock past the next full hour: the hourly schedule runs over the hour captured."""
        now = self.gw.scheduler.now()
        fired = self.gw.tick(3600 - now % 3600 + 60)
        return [f for f in fired if "monitoringSchedule" in f]

    def executions(self, schedule):
        return self.sm.list_monitoring_executions(MonitoringScheduleName=schedule)["MonitoringExecutionSummaries"]

    def report(self, execution, name):
        job = execution["ProcessingJobArn"].rsplit("/", 1)[-1]
        out = self.sm.describe_processing_job(ProcessingJobName=job)["ProcessingOutputConfig"]["Outputs"][0]
        bucket, key = out["S3Output"]["S3Uri"][5:].split("/", 1)
        return json.loads(self.s3.get_object(Bucket=bucket, Key=f"{key}/{name}")["Body"].read())


def metric_values(env, namespace, name, dims):
    cw = env.box.client("cloudwatch")
    found = cw.list_metrics(Namespace=namespace, MetricName=name)["Metrics"]
    return found, [m for m in found if sorted((d["Name"], d["Value"]) for d in m["Dimensions"]) == sorted(dims)]


def test_hourly_run_over_the_previous_hour_without_drift_writes_the_reports_where_sagemaker_does(env):
    env.endpoint("ep")
    env.baseline(rows(1000))
    arn = env.data_quality("dq", "ep")
    env.capture("ep", rows(300))
    scheduled = (env.gw.scheduler.now() // 3600 + 1) * 3600
    assert env.executions("dq") == []
    fired = env.next_hour()
    hour = datetime.fromtimestamp(scheduled, timezone.utc)
    assert fired == [{"schedule": "dq", "monitoringSchedule": "dq", "time": hour.isoformat(), "status": "Completed",
                      "processingJob": fired[0]["processingJob"], "execution": fired[0]["processingJob"]}]
    (execution,) = env.executions("dq")
    assert execution["MonitoringExecutionStatus"] == "Completed" and execution["EndpointName"] == "ep"
    assert execution["ScheduledTime"].timestamp() == scheduled
    job = env.sm.describe_processing_job(ProcessingJobName=execution["ProcessingJobArn"].rsplit("/", 1)[-1])
    assert job["ProcessingJobStatus"] == "Completed" and job["MonitoringScheduleArn"] == arn
    assert job["ExitMessage"] == "Completed: Job completed successfully with no violations."
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        f"s3://{BUCKET}/monitoring/proj/data-quality/ep/dq/{hour:%Y/%m/%d/%H}"
    assert job["Environment"]["start_time"] == f"{datetime.fromtimestamp(scheduled - 3600, timezone.utc):%Y-%m-%dT%H}:00:00Z"
    stats = env.report(execution, "statistics.json")
    assert stats["dataset"]["item_count"] == 300 and [f["name"] for f in stats["features"]] == ["_c0", "_c1", "_c2"]
    assert env.report(execution, "constraint_violations.json") == {"violations": []}
    summary = env.sm.describe_monitoring_schedule(MonitoringScheduleName="dq")["LastMonitoringExecutionSummary"]
    assert summary["MonitoringExecutionStatus"] == "Completed"
    assert env.next_hour()[0]["status"] == "Failed"  # the next hour captured nothing
    assert env.executions("dq")[0]["FailureReason"] == "Job inputs had no data"
    assert "ProcessingJobArn" not in env.executions("dq")[0]  # no processing job is started for no data


def test_numeric_drift_publishes_the_drift_metric_that_drives_an_alarm(env):
    env.endpoint("ep")
    env.baseline(rows(1000))
    env.data_quality("dq", "ep")
    cw = env.box.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="drift", Namespace=DATA_NS, MetricName="feature_baseline_drift__c0",
                        Dimensions=[{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "dq"}],
                        Statistic="Maximum", Period=3600, EvaluationPeriods=1, Threshold=0.2,
                        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    env.capture("ep", rows(300, shift=1.5))
    assert env.next_hour()[0]["status"] == "CompletedWithViolations"
    (execution,) = env.executions("dq")
    violations = env.report(execution, "constraint_violations.json")["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [("_c0", "baseline_drift_check")]
    job = env.sm.describe_processing_job(ProcessingJobName=execution["ProcessingJobArn"].rsplit("/", 1)[-1])
    assert job["ExitMessage"] == "CompletedWithViolations: Job completed successfully with 1 violations."
    dims = [("Endpoint", "ep"), ("MonitoringSchedule", "dq")]
    _, matching = metric_values(env, DATA_NS, "feature_baseline_drift__c0", dims)
    assert matching, "feature_baseline_drift__c0 with dimensions Endpoint and MonitoringSchedule"
    for name in ("feature_non_null__c1", "feature_completeness__c2", "feature_baseline_drift__c2", "feature_data__c0"):
        assert metric_values(env, DATA_NS, name, dims)[1], name
    assert cw.describe_alarms(AlarmNames=["drift"])["MetricAlarms"][0]["StateValue"] == "ALARM"


def test_categorical_shift_and_missing_values_in_the_sandbox(env):
    env.endpoint("ep")
    env.baseline(rows(1000))
    env.data_quality("dq", "ep")
    env.capture("ep", rows(300, weights=[0.9, 0.05, 0.05], missing=0.4))
    env.next_hour()
    found = {(v["feature_name"], v["constraint_check_type"])
             for v in env.report(env.executions("dq")[0], "constraint_violations.json")["violations"]}
    assert found == {("_c2", "baseline_drift_check"), ("_c1", "completeness_check")}


def test_execution_whose_baseline_is_missing_fails_with_the_input_error_and_emits_the_event(env):
    env.endpoint("ep")
    env.data_quality("dq", "ep", baseline="proj/no-baseline-yet")
    env.capture("ep", rows(50))
    assert env.next_hour()[0]["status"] == "Failed"
    (execution,) = env.executions("dq")
    assert execution["MonitoringExecutionStatus"] == "Failed"
    assert f'No S3 objects found under S3 URL "s3://{BUCKET}/proj/no-baseline-yet/constraints.json"' in \
        execution["FailureReason"]
    job = env.sm.describe_processing_job(ProcessingJobName=execution["ProcessingJobArn"].rsplit("/", 1)[-1])
    assert job["ProcessingJobStatus"] == "Failed" and "No S3 objects found" in job["FailureReason"]


def test_completion_with_violations_is_the_event_a_retraining_rule_matches(env):
    events, sns = env.box.client("events"), env.box.client("sns")
    topic = sns.create_topic(Name="retrain")["TopicArn"]
    env.endpoint("ep")
    env.baseline(rows(1000))
    arn = env.data_quality("dq", "ep")
    events.put_rule(Name="violations", EventPattern=json.dumps({
        "source": ["aws.sagemaker"], "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {"MonitoringScheduleArn": [arn], "ProcessingJobStatus": ["Completed"],
                   "ExitMessage": [{"prefix": "CompletedWithViolations"}]}}))
    events.put_targets(Rule="violations", Targets=[{"Id": "t", "Arn": topic}])
    env.capture("ep", rows(200))
    env.next_hour()
    assert [d for d in env.gw.events.deliveries if d["rule"] == "violations"] == []  # no drift: no match
    env.capture("ep", rows(200, shift=2.0))
    env.next_hour()
    (delivery,) = [d for d in env.gw.events.deliveries if d["rule"] == "violations"]
    assert (delivery["status"], delivery["detailType"], delivery["target"]) == \
        ("delivered", "SageMaker Processing Job State Change", topic)


def test_model_quality_merges_ground_truth_and_publishes_its_metrics(env):
    env.endpoint("ep")
    labels = ["1", "0", "1", "1", "0", "0", "1", "0"]
    probs = ["0.9", "0.2", "0.4", "0.8", "0.7", "0.1", "0.6", "0.3"]
    ids = env.capture("ep", rows(8), outputs=probs)
    now = datetime.fromtimestamp(env.gw.scheduler.now(), timezone.utc)
    truth = "\n".join(json.dumps({"groundTruthData": {"data": label, "encoding": "CSV"}, "eventMetadata": {"eventId": i},
                                  "eventVersion": "0"}) for i, label in zip(ids, labels, strict=True))
    env.s3.put_object(Bucket=BUCKET, Key=f"proj/ground-truth/{now:%Y/%m/%d/%H}/gt.jsonl", Body=truth.encode())
    constraints = {"version": 0.0, "binary_classification_constraints": {
        "accuracy": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}}}
    env.s3.put_object(Bucket=BUCKET, Key="proj/mq/constraints.json", Body=json.dumps(constraints).encode())
    env.sm.create_model_quality_job_definition(
        JobDefinitionName="mq", RoleArn=env.role,
        ModelQualityAppSpecification={"ImageUri": ANALYZER, "ProblemType": "BinaryClassification"},
        ModelQualityBaselineConfig={"ConstraintsResource": {"S3Uri": f"s3://{BUCKET}/proj/mq/constraints.json"}},
        ModelQualityJobInput={"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input",
                                                "ProbabilityAttribute": "0", "ProbabilityThresholdAttribute": 0.5},
                              "GroundTruthS3Input": {"S3Uri": f"s3://{BUCKET}/proj/ground-truth"}},
        ModelQualityJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
            "S3Uri": f"s3://{BUCKET}/monitoring/proj/model-quality", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}})
    env.sm.create_monitoring_schedule(MonitoringScheduleName="mq", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "mq",
        "MonitoringType": "ModelQuality"})
    assert env.next_hour()[0]["status"] == "CompletedWithViolations"
    (execution,) = env.executions("mq")
    metrics = env.report(execution, "statistics.json")["binary_classification_metrics"]
    # predicted 1 for p >= 0.5: 0.9 0.8 0.7 0.6 -> TP 3 (0.9, 0.8, 0.6), FP 1 (0.7), FN 1 (0.4), TN 3
    assert metrics["confusion_matrix"] == {"0": {"0": 3, "1": 1}, "1": {"0": 1, "1": 3}}
    assert metrics["accuracy"]["value"] == 0.75 and metrics["auc"]["value"] == pytest.approx(0.875)
    violations = env.report(execution, "constraint_violations.json")["violations"]
    assert [(v["metric_name"], v["constraint_check_type"]) for v in violations] == [("accuracy", "LessThanThreshold")]
    dims = [("Endpoint", "ep"), ("MonitoringSchedule", "mq")]
    cw = env.box.client("cloudwatch")
    for name in ("accuracy", "precision", "recall", "f1", "auc"):
        assert metric_values(env, MODEL_NS, name, dims)[1], name
    stats = cw.get_metric_statistics(Namespace=MODEL_NS, MetricName="accuracy", Statistics=["Maximum"], Period=3600,
                                     Dimensions=[{"Name": k, "Value": v} for k, v in dims],
                                     StartTime=execution["ScheduledTime"].replace(hour=0),
                                     EndTime=execution["ScheduledTime"].replace(hour=23))
    assert [p["Maximum"] for p in stats["Datapoints"]] == [0.75]


def test_baselining_job_with_the_analyzer_image_writes_the_baseline_the_monitor_reads(env):
    from sagemaker.core.model_monitor import model_monitoring as sdk  # the SDK's own environment names

    from modules.sandbox.services.sagemaker.jobs import JobContext, run_processing

    train = rows(400)  # headerless, label excluded, in the capture's column order
    env.s3.put_object(Bucket=BUCKET, Key="proj/train/train.csv", Body="\n".join(",".join(r) for r in train).encode())
    request = {"RoleArn": env.role, "AppSpecification": {"ImageUri": ANALYZER},
               "ProcessingInputs": [{"InputName": "baseline_dataset_input", "S3Input": {
                   "S3Uri": f"s3://{BUCKET}/proj/train/", "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                   "S3DataType": "S3Prefix", "S3InputMode": "File"}}],
               "ProcessingOutputConfig": {"Outputs": [{"OutputName": "monitoring_output", "S3Output": {
                   "S3Uri": f"s3://{BUCKET}/proj/baseline", "LocalPath": "/opt/ml/processing/output",
                   "S3UploadMode": "EndOfJob"}}]},
               "Environment": {sdk._DATASET_FORMAT_ENV_NAME: json.dumps({"csv": {"header": False}}),
                               sdk._DATASET_SOURCE_PATH_ENV_NAME: "/opt/ml/processing/input/baseline_dataset_input",
                               sdk._OUTPUT_PATH_ENV_NAME: "/opt/ml/processing/output",
                               sdk._PUBLISH_CLOUDWATCH_METRICS_ENV_NAME: "Disabled"}}
    ctx = JobContext(s3=env.box.client("s3"), sts=env.box.client("sts"), endpoint=env.box.server.endpoint,
                     region=REGION, workdir=env.gw.workdir / "sagemaker")
    run_processing(ctx, "baseline-job", request)
    stats = json.loads(env.s3.get_object(Bucket=BUCKET, Key="proj/baseline/statistics.json")["Body"].read())
    constraints = json.loads(env.s3.get_object(Bucket=BUCKET, Key="proj/baseline/constraints.json")["Body"].read())
    assert stats == dq.suggest_baseline(train)[0] and [f["name"] for f in constraints["features"]] == ["_c0", "_c1", "_c2"]
    env.endpoint("ep")
    env.data_quality("dq", "ep")  # reads the baseline the job wrote
    env.capture("ep", rows(300))
    assert env.next_hour()[0]["status"] == "Completed"  # capture's columns match the baseline's: nothing missing


def test_api_validates_and_answers_like_sagemaker(env):
    env.endpoint("ep")

    def code(fn, **kw):
        with pytest.raises(ClientError) as exc:
            fn(**kw)
        return exc.value.response["Error"]["Code"]

    inline = {"MonitoringInputs": [{"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input"}}],
              "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                  "S3Uri": f"s3://{BUCKET}/out", "LocalPath": "/opt/ml/processing/output"}}]},
              "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                        "VolumeSizeInGB": 30}},
              "MonitoringAppSpecification": {"ImageUri": ANALYZER}, "RoleArn": env.role}
    create = env.sm.create_monitoring_schedule
    assert code(create, MonitoringScheduleName="bad", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "rate(1 hour)"}, "MonitoringJobDefinition": inline}) == \
        "ValidationException"
    assert code(create, MonitoringScheduleName="nodef", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "nope",
        "MonitoringType": "DataQuality"}) == "ResourceNotFound"
    create(MonitoringScheduleName="inl", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinition": inline})
    assert code(create, MonitoringScheduleName="inl", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinition": inline}) == \
        "ResourceInUse"
    desc = env.sm.describe_monitoring_schedule(MonitoringScheduleName="inl")
    assert (desc["MonitoringScheduleStatus"], desc["MonitoringType"], desc["EndpointName"]) == \
        ("Scheduled", "DataQuality", "ep")
    listed = env.sm.list_monitoring_schedules(EndpointName="ep")["MonitoringScheduleSummaries"]
    assert [s["MonitoringScheduleName"] for s in listed] == ["inl"]
    assert env.sm.list_monitoring_schedules(EndpointName="other")["MonitoringScheduleSummaries"] == []
    env.sm.stop_monitoring_schedule(MonitoringScheduleName="inl")
    env.capture("ep", rows(20))
    assert env.next_hour() == []  # a stopped schedule does not run
    env.sm.start_monitoring_schedule(MonitoringScheduleName="inl")
    env.capture("ep", rows(20))
    assert env.next_hour()[0]["status"] == "Completed"  # no baseline configured: statistics only
    env.sm.delete_monitoring_schedule(MonitoringScheduleName="inl")
    assert code(env.sm.describe_monitoring_schedule, MonitoringScheduleName="inl") == "ResourceNotFound"


def test_sandbox_engine_sends_monitoring_calls_to_the_gateway():
    from modules.sandbox.aws import moto_supports

    for op in ("CreateMonitoringSchedule", "DescribeMonitoringSchedule", "ListMonitoringExecutions",
               "DeleteMonitoringSchedule", "CreateModelQualityJobDefinition", "CreateDataQualityJobDefinition"):
        assert moto_supports("sagemaker", op), op


@pytest.mark.slow
def test_loop_segment_served_traffic_to_alarm_with_nothing_set_by_hand(env):
    """A served endpoint's own capture (written by the sandbox endpoint, in sandbox time) -> the hourly monitor ->
    feature_baseline_drift metric -> alarm -> "CloudWatch Alarm State Change" delivered to a rule's target."""
    from tests.test_sandbox_endpoints import BUCKET as SERVE_BUCKET
    from tests.test_sandbox_endpoints import INSIDE, MODEL_FN_ONLY, deploy

    box = env.box
    env.s3.create_bucket(Bucket=SERVE_BUCKET)
    role = box.role("serve", [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                               "Resource": ["arn:aws:s3:::*"]}])
    env.role = role
    deploy(box.client, role, "served", code=MODEL_FN_ONLY, env_vars=INSIDE, capture={
        "EnableCapture": True, "InitialSamplingPercentage": 100, "DestinationS3Uri": f"s3://{BUCKET}/capture/proj",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]})
    # the baseline as the monitor sees served traffic: the model's output column first, then the features
    env.baseline([[str(int(x > 1.5)), f"{x:.3f}"] for x in RNG.normal(1.5, 0.5, 500)])
    env.data_quality("dq", "served")
    cw, events, sns = box.client("cloudwatch"), box.client("events"), box.client("sns")
    topic = sns.create_topic(Name="drift")["TopicArn"]
    alarm = cw.put_metric_alarm(
        AlarmName="served-drift", Namespace=DATA_NS, MetricName="feature_baseline_drift__c1", Statistic="Maximum",
        Dimensions=[{"Name": "Endpoint", "Value": "served"}, {"Name": "MonitoringSchedule", "Value": "dq"}],
        Period=3600, EvaluationPeriods=1, Threshold=0.3, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching")
    assert alarm["ResponseMetadata"]["HTTPStatusCode"] == 200
    events.put_rule(Name="on-drift", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": ["served-drift"], "state": {"value": ["ALARM"]}}}))
    events.put_targets(Rule="on-drift", Targets=[{"Id": "t", "Arn": topic}])
    runtime = box.client("sagemaker-runtime")
    for x in RNG.normal(4.0, 0.5, 40):  # shifted traffic, one record per request
        runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Body=f"{x:.3f}".encode())
    assert env.gw.endpoints.live["served"].captured == 40
    assert env.next_hour()[0]["status"] == "CompletedWithViolations"
    stats = env.report(env.executions("dq")[0], "statistics.json")
    assert stats["dataset"]["item_count"] == 40 and stats["features"][1]["numerical_statistics"]["mean"] > 3
    assert stats["features"][0]["numerical_statistics"]["mean"] == 1.0  # the captured prediction, all class 1
    violations = env.report(env.executions("dq")[0], "constraint_violations.json")["violations"]
    assert {v["constraint_check_type"] for v in violations} == {"baseline_drift_check"}  # columns line up
    assert cw.describe_alarms(AlarmNames=["served-drift"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert [(d["rule"], d["status"]) for d in env.gw.events.deliveries if d["rule"] == "on-drift"] == \
        [("on-drift", "delivered")]


def test_bias_schedule_is_described_but_never_run_and_says_so(env):
    env.endpoint("ep")
    env.sm.create_model_bias_job_definition(
        JobDefinitionName="bias", RoleArn=env.role,
        ModelBiasAppSpecification={"ImageUri": "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing",
                                   "ConfigUri": f"s3://{BUCKET}/clarify/analysis_config.json"},
        ModelBiasJobInput={"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input"},
                           "GroundTruthS3Input": {"S3Uri": f"s3://{BUCKET}/proj/ground-truth"}},
        ModelBiasJobOutputConfig={"MonitoringOutputs": [{"S3Output": {
            "S3Uri": f"s3://{BUCKET}/monitoring/proj/bias", "LocalPath": "/opt/ml/processing/output"}}]},
        JobResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}})
    env.sm.create_monitoring_schedule(MonitoringScheduleName="bias", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinitionName": "bias",
        "MonitoringType": "ModelBias"})
    assert env.sm.describe_monitoring_schedule(MonitoringScheduleName="bias")["MonitoringType"] == "ModelBias"
    env.capture("ep", rows(10))
    (fired,) = env.next_hour()
    assert fired["status"] == "not emulated" and "Clarify" in fired["reason"]
    assert env.executions("bias") == []  # no execution is invented
    assert env.gw.report()["monitoring"]["notRun"][0]["monitoringType"] == "ModelBias"


def test_analyzer_error_is_the_failure_reason(env):
    env.endpoint("ep")
    env.baseline(rows(100))
    env.data_quality("dq", "ep")
    now = datetime.fromtimestamp(env.gw.scheduler.now(), timezone.utc)
    env.s3.put_object(Bucket=BUCKET, Key=f"capture/proj/ep/AllTraffic/{now:%Y/%m/%d/%H}/bad.jsonl", Body=b"{not json\n")
    assert env.next_hour()[0]["status"] == "Failed"
    (execution,) = env.executions("dq")
    assert execution["FailureReason"].startswith("AlgorithmError: bad.jsonl line 1: not JSON")



def test_now_runs_once_at_creation_over_the_offset_window(env):
    env.endpoint("ep")
    env.baseline(rows(500))
    env.data_quality("dq", "ep")  # defines the job; the hourly schedule "dq" is not the one under test
    env.capture("ep", rows(100, shift=2.0))  # this hour: inside [now - 1h, now]
    env.sm.create_monitoring_schedule(MonitoringScheduleName="once", MonitoringScheduleConfig={
        "ScheduleConfig": {"ScheduleExpression": "NOW", "DataAnalysisStartTime": "-PT1H", "DataAnalysisEndTime": "-PT0H"},
        "MonitoringJobDefinitionName": "dq", "MonitoringType": "DataQuality"})
    (execution,) = env.executions("once")  # ran at creation, before any tick
    assert execution["MonitoringExecutionStatus"] == "CompletedWithViolations"
    env.next_hour()
    assert len(env.executions("once")) == 1  # NOW is one time only


def test_a_long_tick_evaluates_the_alarm_when_the_run_publishes(env):
    env.endpoint("ep")
    env.baseline(rows(500))
    env.data_quality("dq", "ep")
    cw, events = env.box.client("cloudwatch"), env.box.client("events")
    cw.put_metric_alarm(
        AlarmName="d", Namespace=DATA_NS, MetricName="feature_baseline_drift__c0", Statistic="Maximum", Period=3600,
        EvaluationPeriods=1, Threshold=0.2, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        Dimensions=[{"Name": "Endpoint", "Value": "ep"}, {"Name": "MonitoringSchedule", "Value": "dq"}])
    topic = env.box.client("sns").create_topic(Name="t")["TopicArn"]
    events.put_rule(Name="alarmed", EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail": {
        "alarmName": ["d"], "state": {"value": ["ALARM"]}}}))
    events.put_targets(Rule="alarmed", Targets=[{"Id": "t", "Arn": topic}])
    env.capture("ep", rows(200, shift=2.0))
    env.gw.tick(3 * 86400)  # one call: the hourly runs happen inside it, each evaluated as its metrics arrive
    statuses = [e["MonitoringExecutionStatus"] for e in env.executions("dq")]
    assert statuses.count("CompletedWithViolations") == 1 and len(statuses) == 72
    assert [d["rule"] for d in env.gw.events.deliveries if d["rule"] == "alarmed"] == ["alarmed"]
    assert cw.describe_alarms(AlarmNames=["d"])["MetricAlarms"][0]["StateValue"] == "OK"  # the datapoint aged out
