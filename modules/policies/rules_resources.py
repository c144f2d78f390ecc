"""Resource rules: one resource's props at a time (part of the rule table in :mod:`.rules`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Callable, Iterator

from .rules import (
    ENVIRONMENTS, TAG_KEYS, _action_matches, _sid, actions, allows, as_list, at_least, env_of, get, policy_doc,
    policy_documents, principals, resources, statements, tags_of, truthy, wildcard_principal
)

# ---------------------------------------------------------------------------------------------------
# Resource rules
# ---------------------------------------------------------------------------------------------------

def _no_wildcard_allow(label: str) -> Callable[[Mapping[str, Any]], Iterator[str]]:
    def check(props: Mapping[str, Any]) -> Iterator[str]:
        key = "resourcePolicy" if "resourcePolicy" in props else "policy"
        doc = policy_doc(get(props, key))
        if get(props, key) is not None and doc is None:
            yield f"the {label} is not a JSON policy document"
        for i, st in enumerate(statements(doc)):
            if allows(st) and wildcard_principal(st) and not st.get("Condition"):
                yield f"{_sid(st, i)} allows any principal ('*') without a condition"
    return check


def check_pab_flags(props: Mapping[str, Any]) -> Iterator[str]:
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        if not truthy(get(props, flag)):
            yield f"{flag} must be true"


def check_bucket_force_destroy(props: Mapping[str, Any]) -> Iterator[str]:
    if truthy(get(props, "forceDestroy")):
        yield "forceDestroy is true: deleting the stack would delete every object (models, data, logs)"


def check_kms_rotation(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "enableKeyRotation")):
        yield "enableKeyRotation must be true"


def check_kms_deletion_window(props: Mapping[str, Any]) -> Iterator[str]:
    days = get(props, "deletionWindowInDays")
    if days is not None and float(days) < 30:
        yield f"deletionWindowInDays is {days}; keep the 30-day maximum so a mistaken deletion can be undone"


def check_kms_policy_defined(props: Mapping[str, Any]) -> Iterator[str]:
    if policy_doc(get(props, "policy")) is None:
        yield "no explicit key policy; the default policy hands the key to every IAM principal of the account"


def check_trust_no_wildcard(props: Mapping[str, Any]) -> Iterator[str]:
    for i, st in enumerate(statements(policy_doc(get(props, "assumeRolePolicy")))):
        if allows(st) and wildcard_principal(st):
            yield f"trust {_sid(st, i)} lets any principal ('*') assume the role"


_ACCOUNT_ROOT = re.compile(r"^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:root)$")


def check_trust_no_account_root(props: Mapping[str, Any]) -> Iterator[str]:
    for i, st in enumerate(statements(policy_doc(get(props, "assumeRolePolicy")))):
        if not allows(st):
            continue
        for p in principals(st):
            if _ACCOUNT_ROOT.match(p):
                yield f"trust {_sid(st, i)} lets every principal of account {p} assume the role"


_SUB_OK = re.compile(r"^repo:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(:.+)?$")


def check_oidc_trust_scoped(props: Mapping[str, Any]) -> Iterator[str]:
    for i, st in enumerate(statements(policy_doc(get(props, "assumeRolePolicy")))):
        if not allows(st) or not any(_action_matches(a, "sts:AssumeRoleWithWebIdentity") for a in actions(st)):
            continue
        cond = st.get("Condition") or {}
        keys: dict[str, list[str]] = {}
        if isinstance(cond, Mapping):
            for block in cond.values():
                if isinstance(block, Mapping):
                    for k, v in block.items():
                        keys.setdefault(str(k), []).extend(str(x) for x in as_list(v))
        aud = [v for k, vals in keys.items() if k.endswith(":aud") for v in vals]
        sub = [v for k, vals in keys.items() if k.endswith(":sub") for v in vals]
        if not aud:
            yield f"trust {_sid(st, i)} (web identity) has no ':aud' condition"
        if not sub:
            yield f"trust {_sid(st, i)} (web identity) has no ':sub' condition: any repository could assume it"
        for s in sub:
            if "github" in json.dumps(dict(keys)) and not _SUB_OK.match(s):
                yield f"trust {_sid(st, i)} sub {s!r} is not scoped to one repository (repo:<owner>/<name>:...)"


def check_no_star_actions(type_: str) -> Callable[[Mapping[str, Any]], Iterator[str]]:
    def check(props: Mapping[str, Any]) -> Iterator[str]:
        for label, doc in policy_documents(type_, props):
            for i, st in enumerate(statements(doc)):
                if not allows(st):
                    continue
                if st.get("NotAction") is not None:
                    yield f"{label} {_sid(st, i)} uses NotAction with Allow (grants everything else)"
                for a in actions(st):
                    if a == "*" or a.endswith(":*"):
                        yield f"{label} {_sid(st, i)} allows the wildcard action {a!r}"
    return check


def check_passrole_star(type_: str) -> Callable[[Mapping[str, Any]], Iterator[str]]:
    def check(props: Mapping[str, Any]) -> Iterator[str]:
        for label, doc in policy_documents(type_, props):
            for i, st in enumerate(statements(doc)):
                if allows(st) and any(_action_matches(a, "iam:PassRole") for a in actions(st)) \
                        and "*" in resources(st):
                    yield f"{label} {_sid(st, i)} allows iam:PassRole on '*' (any role, including admin roles)"
    return check


# Actions that have no resource-level permissions: "*" is the only possible Resource for them.
NO_RESOURCE_LEVEL = frozenset(a.lower() for a in (
    "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", "sts:GetCallerIdentity",
    "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "logs:DescribeLogGroups",
    "sagemaker:ListModelPackageGroups", "sagemaker:ListPipelines", "sagemaker:ListEndpoints",
    "kms:ListAliases", "s3:ListAllMyBuckets", "sagemaker:Search",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    # the platform-deploy role's reads (Service Authorization Reference: these list no resource type)
    "kms:CreateKey", "ssm:DescribeParameters", "iam:ListOpenIDConnectProviders", "sagemaker:ListModelPackages",
    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DescribeScalingActivities",
    # Cloud Control API (list_cloudcontrol): no resource types
    "cloudformation:CreateResource", "cloudformation:GetResource", "cloudformation:UpdateResource",
    "cloudformation:DeleteResource", "cloudformation:GetResourceRequestStatus", "cloudformation:ListResources",
))


def check_star_resource(type_: str) -> Callable[[Mapping[str, Any]], Iterator[str]]:
    def check(props: Mapping[str, Any]) -> Iterator[str]:
        for label, doc in policy_documents(type_, props):
            for i, st in enumerate(statements(doc)):
                if allows(st) and "*" in resources(st):
                    scoped = [a for a in actions(st) if a.lower() not in NO_RESOURCE_LEVEL]
                    if scoped:
                        yield (f"{label} {_sid(st, i)} grants {', '.join(sorted(scoped))} on Resource '*'; "
                               f"scope it to ARNs")
    return check


ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")


def check_no_admin_policy(props: Mapping[str, Any]) -> Iterator[str]:
    arns = as_list(get(props, "managedPolicyArns")) + as_list(get(props, "policyArn"))
    for arn in arns:
        if any(str(arn).endswith(f":policy/{name}") for name in ADMIN_POLICIES):
            yield f"attaches the AWS managed policy {str(arn).rsplit('/', 1)[-1]}"


def check_session_duration(props: Mapping[str, Any]) -> Iterator[str]:
    seconds = get(props, "maxSessionDuration")
    if seconds is not None and float(seconds) > 3600:
        yield f"maxSessionDuration is {int(float(seconds))}s; keep CI and job sessions at one hour or less"


def check_ecr_scan(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "imageScanningConfiguration", "scanOnPush")):
        yield "imageScanningConfiguration.scanOnPush must be true"


def check_ecr_immutable(props: Mapping[str, Any]) -> Iterator[str]:
    if str(get(props, "imageTagMutability", default="MUTABLE")).upper() not in ("IMMUTABLE",
                                                                               "IMMUTABLE_WITH_EXCLUSION"):
        yield f"imageTagMutability is {get(props, 'imageTagMutability', default='MUTABLE (default)')}; use IMMUTABLE"


def check_ecr_kms(props: Mapping[str, Any]) -> Iterator[str]:
    configs = as_list(get(props, "encryptionConfigurations"))
    if not any(str(get(c, "encryptionType", default="")).upper() == "KMS" for c in configs):
        yield "encryptionConfigurations must use encryptionType KMS (with the stack's key)"


def check_oidc_provider(props: Mapping[str, Any]) -> Iterator[str]:
    url = str(get(props, "url", default=""))
    if not url.startswith("https://"):
        yield f"url {url!r} is not https"
    clients = [str(c) for c in as_list(get(props, "clientIdLists"))]
    if not clients:
        yield "clientIdLists is empty"
    if "token.actions.githubusercontent.com" in url and clients != ["sts.amazonaws.com"]:
        yield f"the GitHub provider must trust only the audience sts.amazonaws.com, not {clients}"


def check_endpoint_config_kms(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "kmsKeyArn"):
        yield "kmsKeyArn is not set: the ML storage volumes of the endpoint are not encrypted with our key"


def check_data_capture_kms(props: Mapping[str, Any]) -> Iterator[str]:
    capture = get(props, "dataCaptureConfig")
    if capture is not None and get(capture, "enableCapture", default=True) is not False \
            and not get(capture, "kmsKeyId"):
        yield "dataCaptureConfig.kmsKeyId is not set: captured requests and predictions land unencrypted by our key"
    if get(props, "asyncInferenceConfig") is not None and not get(props, "asyncInferenceConfig", "outputConfig",
                                                                  "kmsKeyId"):
        yield "asyncInferenceConfig.outputConfig.kmsKeyId is not set"


def check_data_capture_on_at_l4(props: Mapping[str, Any]) -> Iterator[str]:
    if not at_least(props, 4):
        return
    capture = get(props, "dataCaptureConfig")
    if capture is None or get(capture, "enableCapture") is False:
        yield "level 4 endpoints need dataCaptureConfig enabled: Model Monitor has nothing to compare otherwise"


def check_prod_instance_count(props: Mapping[str, Any]) -> Iterator[str]:
    if env_of(props) not in (None, "prod"):
        return
    for i, variant in enumerate(as_list(get(props, "productionVariants"))):
        if get(variant, "serverlessConfig") is not None:
            continue
        count = get(variant, "initialInstanceCount")
        if count is None or float(count) < 2:
            name = get(variant, "variantName", default=str(i))
            yield f"production variant {name} has initialInstanceCount {count}; prod needs >= 2 (one per AZ)"


def check_endpoint_rollback(props: Mapping[str, Any]) -> Iterator[str]:
    if not at_least(props, 3):
        return
    alarms = as_list(get(props, "deploymentConfig", "autoRollbackConfiguration", "alarms"))
    if not [a for a in alarms if get(a, "alarmName")]:
        yield ("deploymentConfig.autoRollbackConfiguration.alarms is empty: a bad model is not rolled back "
               "(level 3+ deploys without people watching)")


def check_model_isolation(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "enableNetworkIsolation")):
        yield "enableNetworkIsolation must be true: the model container needs no network"


def check_pipeline(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "roleArn"):
        yield "roleArn is not set"
    raw = get(props, "pipelineDefinition")
    if raw is None:
        return
    doc = policy_doc(raw)
    if doc is None:
        yield "pipelineDefinition is not JSON"
        return
    for step in as_list(doc.get("Steps")):
        name, kind, args = get(step, "Name", default="?"), get(step, "Type"), get(step, "Arguments", default={})
        if kind == "Training":
            if not get(args, "OutputDataConfig", "KmsKeyId"):
                yield f"step {name}: OutputDataConfig.KmsKeyId is not set (model artifacts)"
            if not get(args, "ResourceConfig", "VolumeKmsKeyId"):
                yield f"step {name}: ResourceConfig.VolumeKmsKeyId is not set"
        elif kind == "Processing":
            if get(args, "ProcessingOutputConfig") is not None and not get(args, "ProcessingOutputConfig",
                                                                             "KmsKeyId"):
                yield f"step {name}: ProcessingOutputConfig.KmsKeyId is not set"
            if not get(args, "ProcessingResources", "ClusterConfig", "VolumeKmsKeyId"):
                yield f"step {name}: ProcessingResources.ClusterConfig.VolumeKmsKeyId is not set"


READ_ONLY_PREFIXES = ("describe", "list", "get", "search", "batchdescribe")


def check_registry_sharing(props: Mapping[str, Any]) -> Iterator[str]:
    raw = get(props, "resourcePolicy")
    doc = policy_doc(raw)
    if doc is None:
        yield "resourcePolicy is not a JSON policy document"
        return
    for i, st in enumerate(statements(doc)):
        if not allows(st):
            continue
        if wildcard_principal(st):
            yield f"{_sid(st, i)} shares the registry with any principal ('*')"
        for a in actions(st):
            verb = a.split(":", 1)[-1].lower()
            if "*" in a or not verb.startswith(READ_ONLY_PREFIXES):
                yield f"{_sid(st, i)} grants {a!r}; consumer accounts get read-only access"


def check_dq_output_kms(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "dataQualityJobOutputConfig", "kmsKeyId"):
        yield "dataQualityJobOutputConfig.kmsKeyId is not set (monitoring reports)"


def check_dq_volume_kms(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "jobResources", "clusterConfig", "volumeKmsKeyId"):
        yield "jobResources.clusterConfig.volumeKmsKeyId is not set"


def check_dq_traffic_encryption(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "networkConfig", "enableInterContainerTrafficEncryption")):
        yield "networkConfig.enableInterContainerTrafficEncryption must be true"


def check_dq_isolation(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "networkConfig", "enableNetworkIsolation")):
        yield "networkConfig.enableNetworkIsolation must be true: the analysis container needs no network"


def check_monitoring_schedule(props: Mapping[str, Any]) -> Iterator[str]:
    config = get(props, "monitoringScheduleConfig")
    if not get(config, "scheduleConfig", "scheduleExpression"):
        yield "monitoringScheduleConfig.scheduleConfig.scheduleExpression is not set: the monitor never runs"
    if not get(config, "monitoringJobDefinitionName") and get(config, "monitoringJobDefinition") is None:
        yield "monitoringScheduleConfig names no job definition"


def check_topic_kms(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set: notifications (model names, metrics) are stored unencrypted by our key"


def check_alarm_actions(props: Mapping[str, Any]) -> Iterator[str]:
    if get(props, "actionsEnabled") is False or str(get(props, "actionsEnabled", default="true")).lower() == "false":
        yield "actionsEnabled is false: the alarm fires and nobody (and nothing) reacts"
    if not as_list(get(props, "alarmActions")):
        yield "alarmActions is empty: route the alarm to the project's SNS topic (or a retraining trigger)"


SECRET_NAME = re.compile(r"(password|passwd|secret|token|api[-_]?key|credential|private[-_]?key)", re.I)


def check_ssm_cmk(props: Mapping[str, Any]) -> Iterator[str]:
    if str(get(props, "type", default="")) == "SecureString" and not get(props, "keyId"):
        yield "SecureString parameter without keyId: encrypted with the AWS managed key, not ours"


def check_ssm_secret_names(props: Mapping[str, Any]) -> Iterator[str]:
    name = str(get(props, "name", default=""))
    if SECRET_NAME.search(name) and str(get(props, "type", default="")) != "SecureString":
        yield f"{name!r} looks like a secret but is a {get(props, 'type', default='String')} parameter; use SecureString"
    if get(props, "insecureValue") is not None and SECRET_NAME.search(name):
        yield f"{name!r} stores insecureValue (plain text in state)"


def check_schedule_kms(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "kmsKeyArn"):
        yield "kmsKeyArn is not set: the schedule's target input is encrypted with an AWS owned key"


def check_schedule_target(props: Mapping[str, Any]) -> Iterator[str]:
    target = get(props, "target")
    if not get(target, "roleArn"):
        yield "target.roleArn is not set"
    retries = get(target, "retryPolicy", "maximumRetryAttempts")
    if retries is None or float(retries) < 1:
        yield "target.retryPolicy.maximumRetryAttempts should be >= 1 so a transient failure does not skip a run"


def check_event_rule_enabled(props: Mapping[str, Any]) -> Iterator[str]:
    state = str(get(props, "state", default="ENABLED")).upper()
    if state == "DISABLED" or get(props, "isEnabled") is False:
        yield "the rule is disabled: the automation it drives (deploy, retrain) silently stops"


def check_event_rule_pattern(props: Mapping[str, Any]) -> Iterator[str]:
    if get(props, "scheduleExpression"):
        return
    pattern = policy_doc(get(props, "eventPattern"))
    if pattern is None:
        yield "eventPattern is missing or not JSON"
        return
    if not pattern.get("source"):
        yield "eventPattern does not restrict 'source': the rule matches unrelated events"
    branches = [b for b in as_list(pattern.get("$or")) if isinstance(b, Mapping)] or [pattern]
    if not all(b.get("detail-type") or b.get("detail") or pattern.get("detail-type") or pattern.get("detail")
               for b in branches):  # a "$or" restricts when each of its branches does
        yield "eventPattern does not restrict 'detail-type' or 'detail'"


def check_tags(props: Mapping[str, Any]) -> Iterator[str]:
    tags = tags_of(props)
    missing = [k for k in TAG_KEYS if not str(tags.get(k) or "").strip()]
    if missing:
        yield f"missing tags: {', '.join(missing)}"
    level = tags.get("mlops:maturity")
    if level is not None and str(level) not in {"0", "1", "2", "3", "4"}:
        yield f"mlops:maturity {level!r} is not a level 0-4"
    env = tags.get("mlops:environment")
    if env is not None and str(env) not in ENVIRONMENTS:
        yield f"mlops:environment {env!r} is not one of {', '.join(ENVIRONMENTS)}"
