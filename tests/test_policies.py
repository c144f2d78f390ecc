"""The policy pack: every rule fires on a violating resource and passes a compliant one; sample stacks are
clean; waivers stay visible; `ladder check` exit codes and JSON; the CrossGuard entry point constructs."""

from __future__ import annotations

import copy
import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer
import yaml
from typer.testing import CliRunner

from modules import plan, spec
from modules.plan import Graph, Resource
from modules.policies import pack, rules, runner
from modules.policies.rules import RULE_BY_ID, RULES

from .helpers import BASE

PACK_DIR = Path(__file__).resolve().parent.parent / "modules" / "policies"

# ---------------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------------

TAGS = {"mlops:environment": "prod", "mlops:project": "churn", "mlops:maturity": "4",
        "mlops:owner": "ml-platform@example.com"}
KEY = "arn:aws:kms:us-east-1:123456789012:key/plan-key"


def tags(**kw: str) -> dict[str, str]:
    out = dict(TAGS)
    out.update({f"mlops:{k}": v for k, v in kw.items()})
    return out


_TYPES = {
    "bucket": "aws:s3/bucket:Bucket", "pab": "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "versioning": "aws:s3/bucketVersioning:BucketVersioning",
    "sse": "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "bucketpolicy": "aws:s3/bucketPolicy:BucketPolicy",
    "lifecycle": "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "logging": "aws:s3/bucketLogging:BucketLogging", "key": "aws:kms/key:Key", "role": "aws:iam/role:Role",
    "rolepolicy": "aws:iam/rolePolicy:RolePolicy", "attachment": "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "oidc": "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "ecr": "aws:ecr/repository:Repository",
    "ecrlifecycle": "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "epconfig": "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "endpoint": "aws:sagemaker/endpoint:Endpoint", "model": "aws:sagemaker/model:Model",
    "native_endpoint": "aws-native:sagemaker:Endpoint",  # what the program declares (components/endpoint.py)
    "pipeline": "aws:sagemaker/pipeline:Pipeline", "mpg": "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "mpgpolicy": "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",
    "dqjob": "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
    "schedule_mon": "aws:sagemaker/monitoringSchedule:MonitoringSchedule", "topic": "aws:sns/topic:Topic",
    "topicpolicy": "aws:sns/topicPolicy:TopicPolicy", "alarm": "aws:cloudwatch/metricAlarm:MetricAlarm",
    "ssm": "aws:ssm/parameter:Parameter", "schedule": "aws:scheduler/schedule:Schedule",
    "eventrule": "aws:cloudwatch/eventRule:EventRule",
    "mqjob": "aws-native:sagemaker:ModelQualityJobDefinition", "biasjob": "aws-native:sagemaker:ModelBiasJobDefinition",
    "explainjob": "aws-native:sagemaker:ModelExplainabilityJobDefinition",
}
_counter = iter(range(10**6))


def R(kind: str, logical: str | None = None, **props: Any) -> Resource:
    """A custom resource as the plan records it (inputs; outputs = inputs, as the plan mocks echo them)."""
    type_ = _TYPES[kind]
    name = logical or f"{kind}-{next(_counter)}"
    return Resource(urn=f"urn:pulumi:test::mlops-ladder::{type_}::{name}", type=type_, name=name, parent=None,
                    inputs=copy.deepcopy(props), outputs=copy.deepcopy(props))


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "arn:aws:s3:::b1/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


DENY_HTTP = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::b1", "arn:aws:s3:::b1/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
PAB_ON = dict(blockPublicAcls=True, blockPublicPolicy=True, ignorePublicAcls=True, restrictPublicBuckets=True)
SERVICE_TRUST = doc({"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                     "Action": "sts:AssumeRole"})
GITHUB = "token.actions.githubusercontent.com"


def bucket(name: str = "b1", **props: Any) -> Resource:
    return R("bucket", f"{name}-bucket", bucket=name, tags=TAGS, forceDestroy=False, **props)


def sse(name: str = "b1", algo: str = "aws:kms") -> Resource:
    default = {"sseAlgorithm": algo, **({"kmsMasterKeyId": KEY} if algo == "aws:kms" else {})}
    return R("sse", bucket=name, rules=[{"applyServerSideEncryptionByDefault": default}])


def web_identity(condition: dict[str, Any] | None) -> str:
    st = {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{GITHUB}"},
          "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition is not None:
        st["Condition"] = condition
    return doc(st)


DQ_OK = dict(
    name="jd", tags=TAGS, roleArn="arn:aws:iam::123456789012:role/x",
    dataQualityJobInput={"endpointInput": {"endpointName": "ep"}},
    dataQualityJobOutputConfig={"kmsKeyId": KEY, "monitoringOutputs": {"s3Output": {"s3Uri": "s3://b1/mon"}}},
    jobResources={"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGb": 20,
                                    "volumeKmsKeyId": KEY}},
    networkConfig={"enableInterContainerTrafficEncryption": True, "enableNetworkIsolation": True},
)


def dq(**changes: Any) -> Resource:
    props = copy.deepcopy(DQ_OK)
    for path, value in changes.items():
        cur = props
        keys = path.split("__")
        for k in keys[:-1]:
            cur = cur[k]
        cur[keys[-1]] = value
    return R("dqjob", **props)


EPC_OK = dict(name="epc", tags=TAGS, kmsKeyArn=KEY,
              productionVariants=[{"variantName": "AllTraffic", "modelName": "m", "initialInstanceCount": 2,
                                   "instanceType": "ml.m5.large"}],
              dataCaptureConfig={"enableCapture": True, "initialSamplingPercentage": 100, "kmsKeyId": KEY,
                                 "destinationS3Uri": "s3://b1/capture",
                                 "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}]})


def epc(**changes: Any) -> Resource:
    props = copy.deepcopy(EPC_OK)
    props.update(changes)
    return R("epconfig", **{k: v for k, v in props.items() if v is not None})


ROLLBACK = {"autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-5xx"}]},
            "blueGreenUpdatePolicy": {"trafficRoutingConfiguration": {"type": "ALL_AT_ONCE",
                                                                      "waitIntervalInSeconds": 300}}}
PIPELINE_DEF = {"Version": "2020-12-01", "Steps": [
    {"Name": "Train", "Type": "Training", "Arguments": {"OutputDataConfig": {"S3OutputPath": "s3://b1/m",
                                                                            "KmsKeyId": KEY},
                                                      "ResourceConfig": {"VolumeKmsKeyId": KEY}}},
    {"Name": "Preprocess", "Type": "Processing",
     "Arguments": {"ProcessingOutputConfig": {"Outputs": [], "KmsKeyId": KEY},
                   "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": KEY}}}},
]}
PIPELINE_BAD = copy.deepcopy(PIPELINE_DEF)
del PIPELINE_BAD["Steps"][0]["Arguments"]["OutputDataConfig"]["KmsKeyId"]


@dataclass
class Case:
    rule: str
    bad: list[Resource]
    good: list[Resource]


def C(rule: str, bad: Resource | list[Resource], good: Resource | list[Resource]) -> Case:
    return Case(rule, bad if isinstance(bad, list) else [bad], good if isinstance(good, list) else [good])


CASES: list[Case] = [
    # S3
    C("LADDER-S3-001", [bucket()], [bucket(), R("pab", bucket="b1", **PAB_ON)]),
    C("LADDER-S3-002", [bucket(), R("versioning", bucket="b1", versioningConfiguration={"status": "Suspended"})],
      [bucket(), R("versioning", bucket="b1", versioningConfiguration={"status": "Enabled"})]),
    C("LADDER-S3-003", [bucket(), sse("other-bucket")], [bucket(), sse("b1")]),
    C("LADDER-S3-004", [bucket(), sse("b1", "AES256")],
      [bucket(), sse("b1"), bucket("logs"), sse("logs", "AES256"),
       R("logging", bucket="b1", targetBucket="logs", targetPrefix="s3/")]),
    C("LADDER-S3-005", [bucket(), R("bucketpolicy", bucket="b1", policy=doc({**DENY_HTTP, "Effect": "Allow"}))],
      [bucket(), R("bucketpolicy", bucket="b1", policy=doc(DENY_HTTP))]),
    C("LADDER-S3-006", R("bucketpolicy", bucket="b1", policy=doc(allow("s3:GetObject", Principal="*"))),
      R("bucketpolicy", bucket="b1", policy=doc(allow("s3:PutObject",
                                                      Principal={"Service": "logging.s3.amazonaws.com"})))),
    C("LADDER-S3-007", [bucket(), R("lifecycle", bucket="b1", rules=[{"id": "x", "status": "Disabled"}])],
      [bucket(), R("lifecycle", bucket="b1", rules=[{"id": "x", "status": "Enabled"}])]),
    C("LADDER-S3-008", [bucket()], [bucket(), R("logging", bucket="b1", targetBucket="logs")]),
    C("LADDER-S3-009", R("pab", bucket="b1", **{**PAB_ON, "restrictPublicBuckets": False}),
      R("pab", bucket="b1", **PAB_ON)),
    C("LADDER-S3-010", R("bucket", bucket="b1", tags=TAGS, forceDestroy=True), bucket()),
    # KMS
    C("LADDER-KMS-001", R("key", enableKeyRotation=False, tags=TAGS), R("key", enableKeyRotation=True, tags=TAGS)),
    C("LADDER-KMS-002", R("key", policy=doc(allow("kms:Decrypt", "*", Principal={"AWS": "*"}))),
      R("key", policy=doc(allow("kms:*", "*", Principal={"AWS": "arn:aws:iam::123456789012:root"})))),
    C("LADDER-KMS-003", R("key", enableKeyRotation=True), R("key", policy=doc(allow("kms:*", "*")))),
    C("LADDER-KMS-004", R("key", deletionWindowInDays=7), R("key", deletionWindowInDays=30)),
    # IAM
    C("LADDER-IAM-001", R("role", assumeRolePolicy=doc({"Effect": "Allow", "Principal": {"AWS": "*"},
                                                        "Action": "sts:AssumeRole"})),
      R("role", assumeRolePolicy=SERVICE_TRUST)),
    C("LADDER-IAM-002", R("role", assumeRolePolicy=doc({"Effect": "Allow",
                                                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                        "Action": "sts:AssumeRole"})),
      R("role", assumeRolePolicy=SERVICE_TRUST)),
    C("LADDER-IAM-003", [R("role", assumeRolePolicy=web_identity(None)),
                         R("role", assumeRolePolicy=web_identity({"StringLike": {f"{GITHUB}:sub": "repo:*",
                                                                                 f"{GITHUB}:aud": "sts.amazonaws.com"}}))],
      R("role", assumeRolePolicy=web_identity({"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                                               "StringLike": {f"{GITHUB}:sub": "repo:acme-ml/churn:*"}}))),
    C("LADDER-IAM-004", [R("rolepolicy", role="r", policy=doc(allow("s3:*"))),
                         R("role", assumeRolePolicy=SERVICE_TRUST,
                           inlinePolicies=[{"name": "x", "policy": doc(allow("*", "*"))}])],
      R("rolepolicy", role="r", policy=doc(allow(["s3:GetObject", "s3:PutObject"])))),
    C("LADDER-IAM-005", R("rolepolicy", role="r", policy=doc(allow("iam:PassRole", "*"))),
      R("rolepolicy", role="r", policy=doc(allow("iam:PassRole", "arn:aws:iam::123456789012:role/x",
                                                 Condition={"StringEquals": {
                                                     "iam:PassedToService": "sagemaker.amazonaws.com"}})))),
    C("LADDER-IAM-006", R("rolepolicy", role="r", policy=doc(allow("s3:GetObject", "*"))),
      R("rolepolicy", role="r", policy=doc(allow("ecr:GetAuthorizationToken", "*")))),
    C("LADDER-IAM-007", [R("role", assumeRolePolicy=SERVICE_TRUST,
                           managedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"]),
                         R("attachment", role="r", policyArn="arn:aws:iam::aws:policy/PowerUserAccess")],
      R("attachment", role="r", policyArn="arn:aws:iam::aws:policy/AmazonSageMakerReadOnly")),
    C("LADDER-IAM-008", R("role", assumeRolePolicy=SERVICE_TRUST, maxSessionDuration=43200),
      R("role", assumeRolePolicy=SERVICE_TRUST, maxSessionDuration=3600)),
    # ECR
    C("LADDER-ECR-001", R("ecr", name="r", imageScanningConfiguration={"scanOnPush": False}),
      R("ecr", name="r", imageScanningConfiguration={"scanOnPush": True})),
    C("LADDER-ECR-002", R("ecr", name="r", imageTagMutability="MUTABLE"),
      R("ecr", name="r", imageTagMutability="IMMUTABLE")),
    C("LADDER-ECR-003", R("ecr", name="r", encryptionConfigurations=[{"encryptionType": "AES256"}]),
      R("ecr", name="r", encryptionConfigurations=[{"encryptionType": "KMS", "kmsKey": KEY}])),
    C("LADDER-ECR-004", [R("ecr", name="r")], [R("ecr", name="r"), R("ecrlifecycle", repository="r", policy="{}")]),
    # OIDC
    C("LADDER-OIDC-001", R("oidc", url=f"https://{GITHUB}", clientIdLists=["sts.amazonaws.com", "other-app"]),
      R("oidc", url=f"https://{GITHUB}", clientIdLists=["sts.amazonaws.com"])),
    # SageMaker
    C("LADDER-SM-001", epc(kmsKeyArn=None), epc()),
    C("LADDER-SM-002", epc(dataCaptureConfig={**EPC_OK["dataCaptureConfig"], "kmsKeyId": None}), epc()),
    C("LADDER-SM-003", epc(dataCaptureConfig=None), epc()),
    C("LADDER-SM-004", epc(productionVariants=[{**EPC_OK["productionVariants"][0], "initialInstanceCount": 1}]),
      epc()),
    C("LADDER-SM-005", R("endpoint", name="ep", endpointConfigName="epc", tags=tags(maturity="3")),
      R("endpoint", name="ep", endpointConfigName="epc", tags=tags(maturity="3"), deploymentConfig=ROLLBACK)),
    C("LADDER-SM-006", R("model", executionRoleArn="arn:aws:iam::1:role/x", enableNetworkIsolation=False),
      R("model", executionRoleArn="arn:aws:iam::1:role/x", enableNetworkIsolation=True)),
    C("LADDER-SM-007", R("pipeline", pipelineName="p", pipelineDefinition=json.dumps(PIPELINE_BAD),
                         roleArn="arn:aws:iam::1:role/x"),
      R("pipeline", pipelineName="p", pipelineDefinition=json.dumps(PIPELINE_DEF), roleArn="arn:aws:iam::1:role/x")),
    C("LADDER-SM-008", R("mpgpolicy", modelPackageGroupName="g",
                         resourcePolicy=doc(allow(["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
                                                  Principal={"AWS": "arn:aws:iam::210987654321:root"}))),
      R("mpgpolicy", modelPackageGroupName="g",
        resourcePolicy=doc(allow(["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
                                 Principal={"AWS": "arn:aws:iam::210987654321:root"})))),
    C("LADDER-SM-009", dq(dataQualityJobOutputConfig__kmsKeyId=None), dq()),
    C("LADDER-SM-010", dq(jobResources__clusterConfig__volumeKmsKeyId=None), dq()),
    C("LADDER-SM-011", dq(networkConfig__enableInterContainerTrafficEncryption=False), dq()),
    C("LADDER-SM-012", dq(networkConfig__enableNetworkIsolation=False), dq()),
    C("LADDER-SM-013", R("schedule_mon", name="s", monitoringScheduleConfig={"monitoringJobDefinitionName": "jd",
                                                                             "monitoringType": "DataQuality"}),
      R("schedule_mon", name="s", monitoringScheduleConfig={"monitoringJobDefinitionName": "jd",
                                                            "monitoringType": "DataQuality",
                                                            "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"}})),
    C("LADDER-SM-014", [R("endpoint", name="ep", tags=TAGS, deploymentConfig=ROLLBACK),
                        dq(dataQualityJobInput={"endpointInput": {"endpointName": "other"}}),
                        R("schedule_mon", name="s", monitoringScheduleConfig={"monitoringJobDefinitionName": "jd"})],
      [R("endpoint", name="ep", tags=TAGS, deploymentConfig=ROLLBACK), dq(),
       R("schedule_mon", name="s", monitoringScheduleConfig={"monitoringJobDefinitionName": "jd"})]),
    # SNS / CloudWatch / EventBridge / Scheduler / SSM
    C("LADDER-SNS-001", R("topic", name="t"), R("topic", name="t", kmsMasterKeyId=KEY)),
    C("LADDER-SNS-002", R("topicpolicy", arn="arn:aws:sns:us-east-1:1:t",
                          policy=doc(allow("SNS:Publish", "arn:aws:sns:us-east-1:1:t", Principal={"AWS": "*"}))),
      R("topicpolicy", arn="arn:aws:sns:us-east-1:1:t",
        policy=doc(allow("SNS:Publish", "arn:aws:sns:us-east-1:1:t", Principal={"Service": "events.amazonaws.com"})))),
    C("LADDER-CW-001", [R("alarm", actionsEnabled=False, alarmActions=["arn:aws:sns:us-east-1:1:t"]),
                        R("alarm", actionsEnabled=True, alarmActions=[])],
      R("alarm", actionsEnabled=True, alarmActions=["arn:aws:sns:us-east-1:1:t"])),
    C("LADDER-EVT-001", R("eventrule", state="DISABLED", eventPattern="{}"),
      R("eventrule", state="ENABLED", eventPattern="{}")),
    C("LADDER-EVT-002", R("eventrule", eventPattern=json.dumps({"source": ["aws.sagemaker"]})),
      R("eventrule", eventPattern=json.dumps({"source": ["aws.sagemaker"],
                                              "detail-type": ["SageMaker Model Package State Change"],
                                              "detail": {"ModelPackageGroupName": ["g"]}}))),
    C("LADDER-SCH-001", R("schedule", scheduleExpression="rate(7 days)", target={}),
      R("schedule", scheduleExpression="rate(7 days)", kmsKeyArn=KEY, target={})),
    C("LADDER-SCH-002", R("schedule", target={"arn": "arn:p", "roleArn": "arn:r"}),
      R("schedule", target={"arn": "arn:p", "roleArn": "arn:r", "retryPolicy": {"maximumRetryAttempts": 3}})),
    C("LADDER-SSM-001", R("ssm", name="/mlops/dev/churn/x", type="SecureString", value="v"),
      R("ssm", name="/mlops/dev/churn/x", type="SecureString", value="v", keyId=KEY)),
    C("LADDER-SSM-002", R("ssm", name="/mlops/dev/churn/github-token", type="String", value="v"),
      R("ssm", name="/mlops/dev/churn/artifact-bucket", type="String", value="v")),
    # tags
    C("LADDER-TAG-001", [R("topic", name="t", kmsMasterKeyId=KEY, tags={"mlops:environment": "prod"}),
                         R("ssm", name="/x", type="String", tags=tags(maturity="7")),
                         R("mpg", modelPackageGroupName="g")],
      [R("topic", name="t", kmsMasterKeyId=KEY, tags=TAGS), R("mpg", modelPackageGroupName="g", tags=TAGS),
       R("schedule", target={})]),  # schedules take no tags
]


# ---- rules_training: IAM quotas and pipeline definitions -----------------------------------------------------

def _big_policy(chars: int) -> str:
    """A policy document of about ``chars`` characters without white space (IAM's count)."""
    resources = [f"arn:aws:s3:::bucket/prefix-{i:05d}/*" for i in range(chars // 36)]
    return doc(allow("s3:GetObject", resources))


def _role(name: str, trust: str = SERVICE_TRUST) -> Resource:
    return R("role", f"{name}-role", name=name, id=name, assumeRolePolicy=trust, tags=TAGS, maxSessionDuration=3600)


def _pipeline(**changes: Any) -> Resource:
    out = {"Std:Join": {"On": "/", "Values": ["s3://b1/p/pipelines/x", {"Get": "Execution.PipelineExecutionId"},
                                             "train"]}}
    code = {"Std:Join": {"On": "", "Values": ["s3://b1/p/code/", {"Get": "Parameters.CodeVersion"}, "/e.py"]}}
    definition = {"Version": "2020-12-01", "Parameters": [{"Name": "CodeVersion", "Type": "String"}], "Steps": [
        {"Name": "train", "Type": "Training", "CacheConfig": {"Enabled": False},
         "Arguments": {"OutputDataConfig": {"S3OutputPath": out, "KmsKeyId": KEY},
                       "HyperParameters": {"sagemaker_submit_directory": code}}},
        {"Name": "evaluate", "Type": "Processing", "CacheConfig": {"Enabled": changes.get("cache", False)},
         "Arguments": {"ProcessingInputs": [{"InputName": "code",
                                             "S3Input": {"S3Uri": changes.get("code", code)}}],
                       "ProcessingOutputConfig": {"Outputs": [
                           {"OutputName": "evaluation", "S3Output": {"S3Uri": changes.get("out", out)}}]}}},
        {"Name": "gate", "Type": "Condition", "Arguments": {"IfSteps": [
            {"Name": "register", "Type": "RegisterModel",
             "Arguments": {"ModelApprovalStatus": changes.get("status", "PendingManualApproval")}}],
            "ElseSteps": []}},
    ]}
    return R("pipeline", pipelineName="p", roleArn="arn:aws:iam::123456789012:role/r",
             pipelineDefinition=json.dumps(definition), tags=TAGS)


_TYPES.setdefault("policy", "aws:iam/policy:Policy")
TRAINING_CASES: list[Case] = [
    C("LADDER-QUOTA-001",
      [_role("shared"), R("rolepolicy", role="shared", name="a", policy=_big_policy(6000)),
       R("rolepolicy", role="shared", name="b", policy=_big_policy(6000))],
      [_role("one"), R("rolepolicy", role="one", name="a", policy=_big_policy(6000)),
       _role("two"), R("rolepolicy", role="two", name="b", policy=_big_policy(6000))]),
    C("LADDER-QUOTA-002", R("policy", "managed", name="m", policy=_big_policy(7000), tags=TAGS),
      R("policy", "managed", name="m", policy=_big_policy(5000), tags=TAGS)),
    C("LADDER-QUOTA-003", _role("wide", trust=_big_policy(2500)), _role("narrow")),
    C("LADDER-PIPE-001", [_pipeline(status={"Get": "Parameters.ModelApprovalStatus"}), _pipeline(status="Approved")],
      _pipeline()),
    C("LADDER-PIPE-002", _pipeline(out="s3://b1/p/pipelines/x/evaluate/evaluation/"), _pipeline()),
    C("LADDER-PIPE-003", _pipeline(cache=True, code="s3://b1/p/code/initial/e.py"), _pipeline(cache=True)),
]
CASES.extend(TRAINING_CASES)
_GRANT = {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": KEY}
_PUT = {"Effect": "Allow", "Action": "s3:PutObject"}
CASES.extend([  # rules_security (more fixtures: tests/test_security_rules.py)
    C("LADDER-SEC-004", R("ssm", name="/mlops/dev/churn/endpoint", type="String", keyId=KEY, tags=TAGS,
                          value="x", description="token ghp_" + "A" * 36),
      R("ssm", name="/mlops/dev/churn/endpoint", type="String", keyId=KEY, tags=TAGS, value="x")),
    C("LADDER-SEC-003",
      [R("role", "churn-role", name="churn", id="churn", assumeRolePolicy=SERVICE_TRUST, maxSessionDuration=3600,
         tags={**TAGS, "mlops:project": "churn"}),
       R("rolepolicy", role="churn", name="w", policy=doc({**_PUT, "Resource": "arn:aws:s3:::b1/fraud/*"}))],
      [R("role", "churn-role", name="churn", id="churn", assumeRolePolicy=SERVICE_TRUST, maxSessionDuration=3600,
         tags={**TAGS, "mlops:project": "churn"}),
       R("rolepolicy", role="churn", name="w", policy=doc({**_PUT, "Resource": "arn:aws:s3:::b1/churn/*"}))]),
    C("LADDER-SEC-001", _role("ci", web_identity({"StringLike": {f"{GITHUB}:sub": "repo:acme-ml/churn:*",
                                                                f"{GITHUB}:aud": "sts.amazonaws.com"}})),
      _role("ci", web_identity({"StringEquals": {f"{GITHUB}:sub": "repo:acme-ml/churn:ref:refs/heads/main",
                                                 f"{GITHUB}:aud": "sts.amazonaws.com"}}))),
    C("LADDER-SEC-005", _role("deploy", web_identity({"StringEquals": {
        f"{GITHUB}:sub": "repo:acme-ml/mlops-platform:environment:staging", f"{GITHUB}:aud": "sts.amazonaws.com"}})),
      _role("deploy", web_identity({"StringEquals": {
          f"{GITHUB}:sub": "repo:acme-ml/mlops-platform:environment:prod", f"{GITHUB}:aud": "sts.amazonaws.com"}}))),
    C("LADDER-SEC-002", [R("rolepolicy", role="one", name="g", policy=doc(_GRANT))],
      [_role("one"), R("rolepolicy", role="one", name="g", policy=doc(
          {**_GRANT, "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}))]),
    C("LADDER-SEC-006", [R("role", "churn-role", name="churn", id="churn", assumeRolePolicy=SERVICE_TRUST,
                           maxSessionDuration=3600, tags={**TAGS, "mlops:project": "churn"}),
                         R("rolepolicy", role="churn", name="r", policy=doc(allow(
                             "sagemaker:CreateModelPackage", "arn:aws:sagemaker:us-east-1:1:model-package/acme-dev-fraud/*")))],
      [R("role", "churn-role", name="churn", id="churn", assumeRolePolicy=SERVICE_TRUST, maxSessionDuration=3600,
         tags={**TAGS, "mlops:project": "churn"}),
       R("rolepolicy", role="churn", name="r", policy=doc(allow(
           "sagemaker:CreateModelPackage", "arn:aws:sagemaker:us-east-1:1:model-package/acme-dev-churn/*")))]),
    C("LADDER-SEC-007", [R("mpgpolicy", modelPackageGroupName="g", resourcePolicy=doc(allow(
        "sagemaker:DescribeModelPackage", "*", Principal={"AWS": "arn:aws:iam::210987654321:root"}))),
                         R("bucketpolicy", bucket="b1", policy=doc(DENY_HTTP))],
      [R("mpgpolicy", modelPackageGroupName="g", resourcePolicy=doc(allow(
          "sagemaker:DescribeModelPackage", "*", Principal={"AWS": "arn:aws:iam::210987654321:root"}))),
       R("bucketpolicy", bucket="b1", policy=doc(DENY_HTTP, allow(
           "s3:GetObject", "arn:aws:s3:::b1/churn/pipelines/*", Principal={"AWS": "arn:aws:iam::210987654321:root"}))),
       R("key", policy=doc(allow(["kms:Decrypt"], "*", Principal={"AWS": "arn:aws:iam::210987654321:root"},
                                 Condition={"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})))]),
])


NATIVE_TAGS = [{"key": k, "value": v} for k, v in TAGS.items()]


def native_job(kind: str = "mqjob", **changes: Any) -> Resource:
    """An aws-native monitor job definition (Cloud Control property names, tags a {key, value} list)."""
    prefix = {"mqjob": "modelQuality", "biasjob": "modelBias", "explainjob": "modelExplainability"}[kind]
    props: dict[str, Any] = {
        "jobDefinitionName": "jd", "tags": copy.deepcopy(NATIVE_TAGS), "roleArn": "arn:aws:iam::123456789012:role/x",
        f"{prefix}JobOutputConfig": {"kmsKeyId": KEY, "monitoringOutputs": [{"s3Output": {"s3Uri": "s3://b1/m"}}]},
        "jobResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large",
                                           "volumeSizeInGb": 20, "volumeKmsKeyId": KEY}},
        "networkConfig": {"enableInterContainerTrafficEncryption": True, "enableNetworkIsolation": True}}
    for path, value in changes.items():
        cur = props
        keys = path.replace("PREFIX", prefix).split("__")
        for k in keys[:-1]:
            cur = cur[k]
        cur[keys[-1]] = value
    return R(kind, **props)


_MODEL_METRICS = dict(name="q", tags=TAGS, namespace="aws/sagemaker/Endpoints/model-metrics", metricName="auc",
                      alarmActions=["arn:aws:sns:us-east-1:123456789012:t"], actionsEnabled=True)
CASES.extend([  # rules_monitoring (the graph's own job definitions: tests/test_monitoring_loop.py)
    C("LADDER-MON-001", [native_job(PREFIXJobOutputConfig__kmsKeyId=None), native_job("biasjob",
                         PREFIXJobOutputConfig__kmsKeyId="")], [native_job(), native_job("biasjob")]),
    C("LADDER-MON-002", native_job("explainjob", jobResources__clusterConfig__volumeKmsKeyId=None),
      native_job("explainjob")),
    C("LADDER-MON-003", native_job(networkConfig__enableInterContainerTrafficEncryption=False), native_job()),
    C("LADDER-MON-004", native_job("biasjob", networkConfig__enableNetworkIsolation=None), native_job("biasjob")),
    C("LADDER-MON-005", native_job(tags=NATIVE_TAGS[:2]), native_job()),
    C("LADDER-MON-006", R("alarm", **_MODEL_METRICS, treatMissingData="notBreaching",
                          insufficientDataActions=["arn:aws:sns:us-east-1:123456789012:t"]),
      [R("alarm", **_MODEL_METRICS, treatMissingData="missing",
         insufficientDataActions=["arn:aws:sns:us-east-1:123456789012:t"]),
       R("alarm", **{**_MODEL_METRICS, "namespace": "AWS/SageMaker"}, treatMissingData="notBreaching")]),
    C("LADDER-MON-007", [R("alarm", **{**_MODEL_METRICS, "metricName": "rmse"}, comparisonOperator="LessThanThreshold"),
                         R("alarm", **_MODEL_METRICS, comparisonOperator="GreaterThanThreshold")],
      [R("alarm", **{**_MODEL_METRICS, "metricName": "rmse"}, comparisonOperator="GreaterThanThreshold"),
       R("alarm", **{**_MODEL_METRICS, "metricName": "weighted_f1"}, comparisonOperator="LessThanThreshold"),
       R("alarm", **{**_MODEL_METRICS, "namespace": "AWS/SageMaker", "metricName": "Invocations"},
         comparisonOperator="GreaterThanThreshold")]),
])


def test_iam_counts_policy_size_without_white_space():
    from modules.policies import rules_training

    compact = doc(allow("s3:GetObject"))
    spaced = json.dumps(json.loads(compact), indent=8)
    assert rules_training.policy_size(spaced) == rules_training.policy_size(compact) == len(compact.replace(" ", ""))


def test_twelve_level4_projects_stay_within_the_iam_quotas():
    """Per-project execution roles: the shared role held every project's policies and passed 10,240
    characters at 4 level-4 projects; now each role's total is constant whatever the project count."""
    projects = [{"name": f"proj{i:02d}", "training": {"schedule": "rate(7 days)"},
                 "serving": {"modelPackageArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/"
                                                f"acme-prod-proj{i:02d}/1", "minInstances": 2}}
                for i in range(12)]
    cfg = {**copy.deepcopy(BASE), "mlops:environment": "prod", "mlops:maturity": 4, "mlops:projects": projects}
    graph = plan.run_program(spec.from_config(cfg, source="<test>", stack="prod"), cfg)
    quota = [RULE_BY_ID[r] for r in ("LADDER-QUOTA-001", "LADDER-QUOTA-002", "LADDER-QUOTA-003")]
    assert runner.evaluate(graph.resources, rules=quota) == []
    roles = [r for r in graph.by_type("aws:iam/role:Role") if r.name.endswith("-execution-role")
             and r.name != "foundation-execution-role"]
    assert len(roles) == 12
    from modules.policies.rules_training import policy_size

    for role in roles:
        total = sum(policy_size(p.inputs["policy"]) for p in graph.by_type("aws:iam/rolePolicy:RolePolicy")
                    if p.inputs["role"] == role.inputs["name"])
        assert 0 < total <= 10_240, (role.name, total)


def fired(resources: list[Resource], rule_id: str) -> list[runner.Violation]:
    return [v for v in runner.evaluate(resources, rules=[RULE_BY_ID[rule_id]]) if v.rule == rule_id]


# ---------------------------------------------------------------------------------------------------
# Every rule: violating -> fires, compliant -> passes; every rule has a case
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_fires_on_violation(case: Case):
    found = fired(case.bad, case.rule)
    assert found, f"{case.rule} did not fire on {[r.inputs for r in case.bad]}"
    rule = RULE_BY_ID[case.rule]
    for v in found:
        assert v.severity == rule.severity and v.refs == list(rule.refs) and v.message
        assert v.urn in {r.urn for r in case.bad}, "violations name the offending resource"
    if len(case.bad) > 1 and rule.scope == "resource":  # every listed bad resource is caught
        assert {v.urn for v in found} == {r.urn for r in case.bad}


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_passes_compliant(case: Case):
    assert fired(case.good, case.rule) == []


def test_every_rule_has_a_case_and_a_policy():
    assert len(CASES) == len({c.rule for c in CASES}), "one case per rule"
    assert {c.rule for c in CASES} == set(RULE_BY_ID)
    assert [p.name for p in pack.build_policies()] == [r.id for r in RULES]


def test_rule_metadata():
    assert len(RULES) >= 25
    for r in RULES:
        assert r.id.startswith("LADDER-") and r.severity in ("mandatory", "advisory")
        assert r.title and r.why and r.scope in ("resource", "stack")
        for ref in r.refs:
            assert ref.startswith(("CKV_AWS_", "CKV2_AWS_", "cfn-nag ", "AWS Config ")), ref
    assert {r.severity for r in RULES} == {"mandatory", "advisory"}
    assert any(r.scope == "stack" for r in RULES)


# ---------------------------------------------------------------------------------------------------
# Level / environment from tags; unknowns never pass
# ---------------------------------------------------------------------------------------------------

def test_level_and_environment_gates_come_from_tags():
    no_rollback_l2 = R("endpoint", name="ep", tags=tags(maturity="2"))
    assert fired([no_rollback_l2], "LADDER-SM-005") == []
    assert fired([R("endpoint", name="ep")], "LADDER-SM-005"), "untagged resources get the strictest bar"
    single = [{**EPC_OK["productionVariants"][0], "initialInstanceCount": 1}]
    assert fired([epc(productionVariants=single, tags=tags(environment="staging"))], "LADDER-SM-004") == []
    unmonitored = R("endpoint", name="ep", tags=tags(environment="staging"), deploymentConfig=ROLLBACK)
    assert fired([unmonitored], "LADDER-SM-014") == []
    assert fired([R("endpoint", name="ep", tags=tags(maturity="3"), deploymentConfig=ROLLBACK)],
                 "LADDER-SM-014") == []


def test_unknown_values_are_violations_not_passes():
    from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE

    key = R("key", enableKeyRotation=UNKNOWN_BOOLEAN_VALUE, tags=TAGS)
    found = fired([key], "LADDER-KMS-001")
    assert found and "cannot be evaluated" in found[0].message
    b = bucket()
    b.outputs["bucket"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert fired([b, R("pab", bucket="b1", **PAB_ON)], "LADDER-S3-001")


def test_stack_rules_join_by_property_dependency_when_the_engine_gives_one():
    # CrossGuard hands property dependencies; a companion that depends on another bucket does not count.
    b1, b2 = bucket("b1"), bucket("b2")
    pab = R("pab", bucket="b1", **PAB_ON)
    prs = runner.stack_resources([b1, b2, pab])
    by = {p.urn: p for p in prs}
    by[pab.urn].property_dependencies = {"bucket": [by[b2.urn]]}
    offenders = {r.urn for r, _ in rules.run_stack_rule(RULE_BY_ID["LADDER-S3-001"], prs)}
    assert offenders == {b1.urn}


def test_taggable_table_matches_pulumi_aws():
    import importlib
    import inspect

    for type_ in sorted(rules.TAGGABLE | rules.NOT_TAGGABLE):
        module, cls = type_.split(":")[1].split("/")[0], type_.rsplit(":", 1)[-1]
        resource = getattr(importlib.import_module(f"pulumi_aws.{module}"), cls)
        has_tags = "tags" in inspect.signature(resource._internal_init).parameters
        assert has_tags == (type_ in rules.TAGGABLE), type_
    assert rules.is_taggable("aws:sqs/queue:Queue") and not rules.is_taggable("aws:sqs/queuePolicy:QueuePolicy")


# ---------------------------------------------------------------------------------------------------
# Sample stacks
# ---------------------------------------------------------------------------------------------------

SAMPLE_STACKS = sorted(p.name.split(".")[1] for p in (PACK_DIR.parent.parent / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("stack", SAMPLE_STACKS)
def test_sample_stacks_have_no_mandatory_violation(stack: str):
    report = runner.run_checks(plan.plan(stack=stack), spec.load(stack=stack))
    assert report.resources > 20 and report.rules == len(RULES)
    assert report.mandatory == [], "\n".join(f"{v.rule} {v.name}: {v.message}" for v in report.mandatory)


def test_checks_see_the_sample_resources():
    """Guard against a clean report because nothing was looked at: break dev and the rules notice."""
    graph = plan.plan(stack="dev")
    kept = [r for r in graph.resources if r.type != _TYPES["pab"]]
    for r in kept:
        if r.type == _TYPES["key"]:
            r.inputs["enableKeyRotation"] = False
    found = {(v.rule, v.name) for v in runner.evaluate(kept)}
    assert ("LADDER-KMS-001", "foundation-kms-key") in found
    assert ("LADDER-S3-001", "foundation-artifact-bucket") in found
    assert ("LADDER-S3-001", "foundation-log-bucket") in found


# ---------------------------------------------------------------------------------------------------
# Exceptions (waivers)
# ---------------------------------------------------------------------------------------------------

def _spec(exceptions: list[dict[str, Any]]) -> spec.StackSpec:
    cfg = copy.deepcopy(BASE)
    cfg["mlops:policyExceptions"] = exceptions
    return spec.from_config(cfg, source="<test>", stack="test")


def _graph(resources: list[Resource]) -> Graph:
    return Graph(stack="test", environment="dev", maturity=2, resources=resources)


def test_waived_violation_is_listed_with_reason_and_does_not_fail():
    key = R("key", "data-key", enableKeyRotation=False, tags=TAGS, policy=doc(allow("kms:*", "*")))
    s = _spec([{"rule": "LADDER-KMS-001", "resource": "data-key", "reason": "imported key, rotated by the HSM team"}])
    report = runner.run_checks(_graph([key]), s)
    assert report.passed and report.mandatory == []
    (waived,) = report.waived
    assert waived.rule == "LADDER-KMS-001" and waived.name == "data-key"
    assert waived.reason == "imported key, rotated by the HSM team"
    assert report.to_json()["summary"]["waived"] == 1
    # the same violation without the waiver fails, and a waiver by URN works too
    assert not runner.run_checks(_graph([key]), _spec([])).passed
    by_urn = _spec([{"rule": "LADDER-KMS-001", "resource": key.urn, "reason": "r"}])
    assert runner.run_checks(_graph([key]), by_urn).passed


def test_waiver_for_another_rule_or_resource_does_not_hide_a_violation():
    key = R("key", "data-key", enableKeyRotation=False, tags=TAGS, policy=doc(allow("kms:*", "*")))
    s = _spec([{"rule": "LADDER-KMS-004", "resource": "data-key", "reason": "r"},
               {"rule": "LADDER-KMS-001", "resource": "other-key", "reason": "r"}])
    report = runner.run_checks(_graph([key]), s)
    assert not report.passed and [v.rule for v in report.mandatory] == ["LADDER-KMS-001"]
    assert len(report.notes) == 2 and all("matched no violation" in n for n in report.notes)


@pytest.mark.parametrize("entry", [{"rule": "LADDER-KMS-001", "resource": "k", "reason": ""},
                                   {"rule": "LADDER-KMS-001", "resource": "k", "reason": "   "},
                                   {"rule": "LADDER-KMS-001", "resource": "k"}])
def test_exception_without_reason_is_a_spec_error(entry):
    with pytest.raises(spec.SpecError) as err:
        _spec([entry])
    assert "policyExceptions" in str(err.value) and "reason" in str(err.value)


def test_exception_with_unknown_rule_fails_clearly():
    # refused when the spec is validated (ladder validate, plan, up), before any check runs
    with pytest.raises(spec.SpecError) as err:
        _spec([{"rule": "LADDER-S3-0001", "resource": "x", "reason": "typo"}])
    text = str(err.value)
    assert "mlops:policyExceptions[0].rule" in text and "unknown rule id 'LADDER-S3-0001'" in text
    assert "did you mean 'LADDER-S3-001'" in text


def test_pack_honours_waivers_from_policy_config():
    s = _spec([{"rule": "LADDER-KMS-001", "resource": "data-key", "reason": "hsm"}])
    config = runner.policy_pack_config(s)
    assert config == {"LADDER-KMS-001": {"exceptions": [{"resource": "data-key", "reason": "hsm"}]}}
    policy = next(p for p in pack.build_policies() if p.name == "LADDER-KMS-001")
    key = R("key", "data-key", enableKeyRotation=False)
    from pulumi_policy import ResourceValidationArgs

    def run(cfg):
        seen: list[str] = []
        args = ResourceValidationArgs(key.type, key.inputs, key.urn, key.name, None, None, cfg)
        policy.validate(args, lambda msg, urn=None: seen.append(msg))
        return seen

    assert run({}) == ["[LADDER-KMS-001] enableKeyRotation must be true (CKV_AWS_7)"]
    assert run(config["LADDER-KMS-001"]) == []


# ---------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------

@pytest.fixture
def app() -> typer.Typer:
    from modules import cli

    if any((c.name or c.callback.__name__) == "check" for c in cli.app.registered_commands):
        return cli.app  # wired by the integrator
    from modules.policies.cli import register

    fresh = typer.Typer()

    @fresh.callback()
    def _group() -> None:  # keep `check` a subcommand
        pass

    register(fresh)
    return fresh


def invoke(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, list(args))


def test_cli_check_dev_passes(app):
    result = invoke(app, "check", "--stack", "dev")
    assert result.exit_code == 0, result.output
    assert "check stack dev" in result.output and "passed" in result.output


def test_cli_check_json_shape(app):
    result = invoke(app, "check", "--stack", "prod", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"stack", "environment", "maturity", "passed", "summary", "violations", "notes"}
    assert data["stack"] == "prod" and data["maturity"] == 4 and data["passed"] is True
    assert set(data["summary"]) == {"mandatory", "advisory", "waived", "rules", "resources"}
    assert data["summary"]["rules"] == len(RULES) and data["summary"]["mandatory"] == 0


def _insecure_plan(monkeypatch, extra: list[Resource]):
    from modules import console

    real = console.plan_graph

    def fake(stack, stack_file, maturity=None):
        graph = real(stack, stack_file, maturity)
        graph.resources.extend(extra)
        return graph

    monkeypatch.setattr(console, "plan_graph", fake)


def test_cli_check_insecure_graph_exits_1(app, monkeypatch, tmp_path):
    _insecure_plan(monkeypatch, [R("key", "rogue-key", enableKeyRotation=False, tags=TAGS,
                                   policy=doc(allow("kms:*", "*")))])
    result = invoke(app, "check", "--stack", "dev")
    assert result.exit_code == 1, result.output
    assert "rogue-key" in result.output and "LADDER-KMS-001" in result.output and "mandatory" in result.output
    data = json.loads(invoke(app, "check", "--stack", "dev", "--json").output)
    assert data["passed"] is False and data["summary"]["mandatory"] == 1
    (v,) = [v for v in data["violations"] if v["severity"] == "mandatory"]
    assert {"rule", "severity", "title", "message", "urn", "name", "type", "refs", "waived", "reason"} <= set(v)
    assert v["rule"] == "LADDER-KMS-001" and v["refs"] == ["CKV_AWS_7"] and v["name"] == "rogue-key"


def test_cli_advisory_only_exits_0(app, monkeypatch):
    _insecure_plan(monkeypatch, [R("key", "short-window-key", enableKeyRotation=True, tags=TAGS,
                                   deletionWindowInDays=7, policy=doc(allow("kms:*", "*")))])
    result = invoke(app, "check", "--stack", "dev", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["passed"] is True and data["summary"]["mandatory"] == 0
    assert [v["rule"] for v in data["violations"] if v["name"] == "short-window-key"] == ["LADDER-KMS-004"]


def _stack_file(tmp_path: Path, exceptions: list[dict[str, Any]]) -> Path:
    cfg = yaml.safe_load((PACK_DIR.parent.parent / "stacks" / "Pulumi.dev.yaml").read_text())
    cfg["config"]["mlops:policyExceptions"] = exceptions
    path = tmp_path / "Pulumi.waived.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_cli_waived_violation_shown_with_reason(app, monkeypatch, tmp_path):
    _insecure_plan(monkeypatch, [R("key", "rogue-key", enableKeyRotation=False, tags=TAGS,
                                   policy=doc(allow("kms:*", "*")))])
    path = _stack_file(tmp_path, [{"rule": "LADDER-KMS-001", "resource": "rogue-key",
                                   "reason": "legacy key, rotation handled by the HSM"}])
    result = invoke(app, "check", "--stack-file", str(path))
    assert result.exit_code == 0, result.output
    assert "waived" in result.output and "legacy key, rotation handled by the HSM" in result.output
    out = tmp_path / "waivers.json"
    assert invoke(app, "check", "--stack-file", str(path), "--write-policy-config", str(out)).exit_code == 0
    assert json.loads(out.read_text())["LADDER-KMS-001"]["exceptions"][0]["resource"] == "rogue-key"


def test_cli_spec_errors_exit_2(app, tmp_path):
    unknown = _stack_file(tmp_path, [{"rule": "LADDER-NOPE-001", "resource": "x", "reason": "r"}])
    result = invoke(app, "check", "--stack-file", str(unknown))
    assert result.exit_code == 2
    assert "unknown rule id 'LADDER-NOPE-001'" in result.output
    no_reason = _stack_file(tmp_path, [{"rule": "LADDER-KMS-001", "resource": "x", "reason": ""}])
    result = invoke(app, "check", "--stack-file", str(no_reason))
    assert result.exit_code == 2 and "policyExceptions[0].reason" in result.output
    assert invoke(app, "check", "--stack", "no-such-stack").exit_code == 2


def test_cli_lists_rules(app):
    data = json.loads(invoke(app, "check", "--rules", "--json").output)
    assert [r["id"] for r in data] == [r.id for r in RULES]


# ---------------------------------------------------------------------------------------------------
# The CrossGuard entry point
# ---------------------------------------------------------------------------------------------------

def test_pack_main_constructs_policy_pack_without_an_engine(monkeypatch):
    import pulumi_policy.policy as pp

    ns = runpy.run_path(str(PACK_DIR / "__main__.py"), run_name="pack_under_test")  # imports; serves nothing
    captured: dict[str, Any] = {}
    server = mock.MagicMock()
    server.add_insecure_port.return_value = 54321
    monkeypatch.setattr(pp.grpc, "server", lambda *a, **k: server)
    monkeypatch.setattr(pp.analyzer_pb2_grpc, "add_AnalyzerServicer_to_server",
                        lambda servicer, srv: captured.update(servicer=servicer))

    def stop(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(pp.time, "sleep", stop)
    monkeypatch.setattr(pp.sys, "stdout", mock.MagicMock())
    ns["main"]()
    server.start.assert_called_once()
    server.stop.assert_called_once_with(0)
    info = captured["servicer"].GetAnalyzerInfo(None, None)
    assert info.name == "mlops-ladder"
    assert [p.name for p in info.policies] == [r.id for r in RULES]
    levels = {p.name: p.enforcementLevel for p in info.policies}
    from pulumi.runtime.proto import analyzer_pb2

    assert levels["LADDER-KMS-001"] == analyzer_pb2.MANDATORY and levels["LADDER-S3-007"] == analyzer_pb2.ADVISORY


def test_pack_files():
    meta = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"] == "python" and meta["description"]
    assert "pulumi-policy" in (PACK_DIR / "requirements.txt").read_text()
    # rules.py stays importable in the pack's own interpreter: standard library only
    source = (PACK_DIR / "rules.py").read_text()
    assert "import pydantic" not in source and "from .." not in source and "import pulumi\n" not in source


# ---------------------------------------------------------------------------------------------------
# Later levels as the components build them (an approved model package deploys the endpoint)
# ---------------------------------------------------------------------------------------------------

def _deployed(stack: str) -> tuple[Graph, spec.StackSpec]:
    cfg = yaml.safe_load((PACK_DIR.parent.parent / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    cfg["mlops:projects"][0].setdefault("serving", {})["modelPackageArn"] = (
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/acme-{stack}-churn/1")
    s = spec.from_config(cfg, source="<test>", stack=stack)
    return plan.run_program(s, cfg), s


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_deployed_endpoints_pass_the_pack(stack: str):
    graph, s = _deployed(stack)
    types = {r.type for r in graph.resources}
    assert {_TYPES["native_endpoint"], _TYPES["epconfig"], _TYPES["model"], _TYPES["alarm"]} <= types
    report = runner.run_checks(graph, s)
    assert report.mandatory == [], "\n".join(f"{v.rule} {v.name}: {v.message}" for v in report.mandatory)


def test_prod_endpoint_without_its_monitoring_schedule_is_caught():
    graph, _ = _deployed("prod")
    assert graph.by_type(_TYPES["schedule_mon"]), "level 4 provisions a Model Monitor schedule"
    kept = [r for r in graph.resources if r.type != _TYPES["schedule_mon"]]
    found = [v for v in runner.evaluate(kept) if v.rule == "LADDER-SM-014"]
    assert [v.type for v in found] == [_TYPES["native_endpoint"]]


def test_aws_native_endpoint_is_held_to_the_rollback_rule_with_its_list_tags():
    """aws-native tags are [{key, value}]: a level-3 native endpoint without rollback alarms is caught."""
    native_tags = [{"key": k, "value": v} for k, v in tags(maturity="3").items()]
    bare = R("native_endpoint", endpointName="ep", endpointConfigName="epc", tags=native_tags)
    assert fired([bare], "LADDER-SM-005")
    assert not fired([R("native_endpoint", endpointName="ep", endpointConfigName="epc", tags=native_tags,
                        deploymentConfig=ROLLBACK)], "LADDER-SM-005")
