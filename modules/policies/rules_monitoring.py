"""Policy-pack rules for the level-4 Model Monitor job definitions pulumi-aws-native provides (model quality, bias,
explainability) and for the alarms on Model Monitor's metrics; standard library only (see rules.py).

The data-quality job definition (pulumi-aws) has LADDER-SM-009..012. The aws-native job definitions take Cloud
Control's property names (camelCase of AWS::SageMaker::<Type>JobDefinition): ``<prefix>JobOutputConfig.kmsKeyId``,
``jobResources.clusterConfig.volumeKmsKeyId``, ``networkConfig.enableInterContainerTrafficEncryption`` /
``enableNetworkIsolation``; tags are a list of ``{key, value}`` (LADDER-TAG-001 reads pulumi-aws maps only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

from .rules import ADVISORY, ENVIRONMENTS, MANDATORY, T_ALARM, TAG_KEYS, Rule, as_list, get, truthy

T_MQ_JOB = ("aws-native:sagemaker:ModelQualityJobDefinition",)
T_BIAS_JOB = ("aws-native:sagemaker:ModelBiasJobDefinition",)
T_EXPLAIN_JOB = ("aws-native:sagemaker:ModelExplainabilityJobDefinition",)
T_NATIVE_JOBS = T_MQ_JOB + T_BIAS_JOB + T_EXPLAIN_JOB
MONITOR_NAMESPACES = ("aws/sagemaker/Endpoints/data-metrics", "aws/sagemaker/Endpoints/model-metrics")
_OUTPUT_CONFIG = ("modelQualityJobOutputConfig", "modelBiasJobOutputConfig", "modelExplainabilityJobOutputConfig")


def _output_config(props: Mapping[str, Any]) -> tuple[str, Any]:
    for key in _OUTPUT_CONFIG:
        if get(props, key) is not None:
            return key, get(props, key)
    return "<type>JobOutputConfig", None


def check_native_output_kms(props: Mapping[str, Any]) -> Iterator[str]:
    key, config = _output_config(props)
    if not get(config, "kmsKeyId"):
        yield f"{key}.kmsKeyId is not set (monitoring reports hold statistics of production data and labels)"


def check_native_volume_kms(props: Mapping[str, Any]) -> Iterator[str]:
    if not get(props, "jobResources", "clusterConfig", "volumeKmsKeyId"):
        yield "jobResources.clusterConfig.volumeKmsKeyId is not set"


def check_native_traffic_encryption(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "networkConfig", "enableInterContainerTrafficEncryption")):
        yield "networkConfig.enableInterContainerTrafficEncryption must be true"


def check_native_isolation(props: Mapping[str, Any]) -> Iterator[str]:
    if not truthy(get(props, "networkConfig", "enableNetworkIsolation")):
        yield "networkConfig.enableNetworkIsolation must be true: the monitor needs S3 through SageMaker only"


def check_native_tags(props: Mapping[str, Any]) -> Iterator[str]:
    tags = {get(t, "key"): get(t, "value") for t in as_list(get(props, "tags")) if isinstance(t, Mapping)}
    missing = [k for k in TAG_KEYS if not str(tags.get(k) or "").strip()]
    if missing:
        yield f"missing tags: {', '.join(missing)}"
    env = tags.get("mlops:environment")
    if env is not None and str(env) not in ENVIRONMENTS:
        yield f"mlops:environment {env!r} is not one of {', '.join(ENVIRONMENTS)}"


def check_monitor_alarm_missing_data(props: Mapping[str, Any]) -> Iterator[str]:
    if get(props, "namespace") not in MONITOR_NAMESPACES:
        return
    treatment = str(get(props, "treatMissingData", default="missing"))
    if treatment == "notBreaching":
        yield ("treatMissingData is notBreaching on a Model Monitor metric: a monitor that stops publishing (no "
               "ground truth, failing or stopped executions) keeps the alarm OK forever; use 'missing' "
               "(INSUFFICIENT_DATA, with insufficientDataActions) so the silence is seen")
    elif treatment == "missing" and not as_list(get(props, "insufficientDataActions")):
        yield ("no insufficientDataActions: when the monitor stops publishing the alarm turns INSUFFICIENT_DATA "
               "and nobody hears of it")


# Model Monitor's model-quality metrics by direction (model-monitor-model-quality-metrics.html: binary, multiclass
# and regression groups); a quality alarm must fire when its metric degrades. Names outside both sets: not checked.
HIGHER_IS_BETTER = frozenset({"accuracy", "auc", "au_prc", "f0_5", "f1", "f2", "precision", "recall",
                              "true_positive_rate", "true_negative_rate", "weighted_f0_5", "weighted_f1", "weighted_f2",
                              "weighted_precision", "weighted_recall", "r2"})
LOWER_IS_BETTER = frozenset({"false_positive_rate", "false_negative_rate", "mae", "mse", "rmse"})
_BELOW = ("LessThanThreshold", "LessThanOrEqualToThreshold")
_ABOVE = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")


def check_quality_alarm_direction(props: Mapping[str, Any]) -> Iterator[str]:
    if get(props, "namespace") != MONITOR_NAMESPACES[1]:
        return
    metric, operator = str(get(props, "metricName", default="")), str(get(props, "comparisonOperator", default=""))
    if metric in HIGHER_IS_BETTER and operator not in _BELOW:
        yield (f"{metric} is higher-is-better but the alarm compares {operator or '(nothing)'}: it would fire on a "
               f"better model and never on a worse one; use LessThanThreshold (below the gate's min)")
    elif metric in LOWER_IS_BETTER and operator not in _ABOVE:
        yield (f"{metric} is lower-is-better but the alarm compares {operator or '(nothing)'}: it would fire on a "
               f"better model and never on a worse one; use GreaterThanThreshold (above the gate's max)")


RULES: tuple[Rule, ...] = (
    Rule("LADDER-MON-001", "Model-quality, bias and explainability reports are KMS-encrypted",
         "the reports hold statistics of production data and, for quality and bias, its ground-truth labels",
         MANDATORY, T_NATIVE_JOBS, check_native_output_kms),
    Rule("LADDER-MON-002", "Model-quality, bias and explainability volumes are KMS-encrypted",
         "the job volume holds captured requests and labels while they are analysed",
         MANDATORY, T_NATIVE_JOBS, check_native_volume_kms),
    Rule("LADDER-MON-003", "Model-quality, bias and explainability jobs encrypt inter-container traffic",
         "distributed analysis moves captured data between instances",
         MANDATORY, T_NATIVE_JOBS, check_native_traffic_encryption),
    Rule("LADDER-MON-004", "Model-quality, bias and explainability jobs run network-isolated",
         "the analysis containers need only S3 through SageMaker, not the network",
         MANDATORY, T_NATIVE_JOBS, check_native_isolation),
    Rule("LADDER-MON-005", "Monitor job definitions carry mlops:environment, project, maturity and owner",
         "aws-native tags are a {key, value} list the generic tag rule does not read; cost and level-aware "
         "rules depend on them",
         MANDATORY, T_NATIVE_JOBS, check_native_tags),
    Rule("LADDER-MON-006", "Alarms on Model Monitor metrics do not hide a silent monitor",
         "Model Monitor publishes only when an execution runs and finds data: 'notBreaching' turns a monitor that "
         "never runs into a green alarm, and retraining that depends on it never starts",
         ADVISORY, T_ALARM, check_monitor_alarm_missing_data),
    Rule("LADDER-MON-007", "Model-quality alarms fire when their metric degrades",
         "a regression error (rmse, mae) alarms above its bound, a score (auc, r2, weighted_f1) below it; the wrong "
         "direction retrains on every good period and never on drift",
         MANDATORY, T_ALARM, check_quality_alarm_direction),
)
