"""The guardrails of mlops-ladder, written ONCE as plain functions.

Every rule is a :class:`Rule`: our id (``LADDER-<AREA>-<NNN>``), mandatory or advisory, a one-line why,
the ids scanners people know (checkov ``CKV_AWS_*``, cfn-nag, AWS Config) and a check function.

- Resource rules: ``check(props) -> Iterable[str]`` over one resource's inputs (camelCase, as the program
  sends them and as CrossGuard's ``ResourceValidationArgs.props`` holds them).
- Stack rules: ``check(resources) -> Iterable[(resource | None, message)]`` over every resource of the stack
  (``StackValidationArgs.resources``: objects with ``resource_type``, ``props`` (outputs), ``urn``, ``name``,
  ``dependencies``, ``property_dependencies``). Rules that relate companion resources (a bucket and its
  public access block, an endpoint and its monitoring schedule) are stack rules.

The CrossGuard pack (``pack.py`` / ``__main__.py``) and the offline runner (``runner.py``) both call these
functions through pulumi_policy's own policy objects, so ``pulumi preview --policy-pack modules/policies``
and ``ladder check`` cannot disagree. Level (``mlops:maturity``) and environment come from resource tags.

This module imports only the standard library: the policy pack runs it in its own interpreter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional

MANDATORY = "mandatory"
ADVISORY = "advisory"

TAG_KEYS = ("mlops:environment", "mlops:project", "mlops:maturity", "mlops:owner")
ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    why: str
    severity: str  # MANDATORY | ADVISORY
    types: tuple[str, ...]  # resource types the rule looks at (stack rules: the types they report on)
    check: Callable[..., Iterable[Any]] = field(repr=False)
    refs: tuple[str, ...] = ()
    scope: str = "resource"  # "resource" | "stack"

    @property
    def description(self) -> str:
        return f"{self.title}. Why: {self.why}"


# ---------------------------------------------------------------------------------------------------
# Type tokens (pulumi-aws v7; the deprecated *V2 S3 tokens are covered too)
# ---------------------------------------------------------------------------------------------------

T_BUCKET = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
T_PAB = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
T_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
T_SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
         "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
T_BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
T_LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
               "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
T_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
T_KMS_KEY = ("aws:kms/key:Key",)
T_ROLE = ("aws:iam/role:Role",)
T_ROLE_POLICY = ("aws:iam/rolePolicy:RolePolicy",)
T_POLICY = ("aws:iam/policy:Policy",)
T_ATTACHMENT = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",)
T_OIDC = ("aws:iam/openIdConnectProvider:OpenIdConnectProvider",)
T_ECR = ("aws:ecr/repository:Repository",)
T_ECR_LIFECYCLE = ("aws:ecr/lifecyclePolicy:LifecyclePolicy",)
T_ENDPOINT_CONFIG = ("aws:sagemaker/endpointConfiguration:EndpointConfiguration",)
T_ENDPOINT = ("aws:sagemaker/endpoint:Endpoint", "aws-native:sagemaker:Endpoint")  # the program uses aws-native
T_MODEL = ("aws:sagemaker/model:Model",)
T_PIPELINE = ("aws:sagemaker/pipeline:Pipeline",)
T_MPG = ("aws:sagemaker/modelPackageGroup:ModelPackageGroup",)
T_MPG_POLICY = ("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy",)
T_DQ_JOB = ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",)
T_MONITORING_SCHEDULE = ("aws:sagemaker/monitoringSchedule:MonitoringSchedule",)
T_TOPIC = ("aws:sns/topic:Topic",)
T_TOPIC_POLICY = ("aws:sns/topicPolicy:TopicPolicy",)
T_ALARM = ("aws:cloudwatch/metricAlarm:MetricAlarm",)
T_SSM = ("aws:ssm/parameter:Parameter",)
T_SCHEDULE = ("aws:scheduler/schedule:Schedule",)
T_EVENT_RULE = ("aws:cloudwatch/eventRule:EventRule",)

# Types that accept a ``tags`` input (checked against pulumi_aws in the tests). Types not listed here are
# looked up in pulumi_aws when it is importable (see :func:`is_taggable`).
TAGGABLE: frozenset[str] = frozenset({
    *T_BUCKET, *T_KMS_KEY, *T_ROLE, *T_POLICY, *T_OIDC, *T_ECR, *T_ENDPOINT_CONFIG, *T_ENDPOINT, *T_MODEL,
    *T_PIPELINE, *T_MPG, *T_DQ_JOB, *T_MONITORING_SCHEDULE, *T_TOPIC, *T_ALARM, *T_SSM, *T_EVENT_RULE,
    "aws:appautoscaling/target:Target",
    "aws:codebuild/project:Project",
    "aws:cloudwatch/logGroup:LogGroup",
})
NOT_TAGGABLE: frozenset[str] = frozenset({
    *T_PAB, *T_VERSIONING, *T_SSE, *T_BUCKET_POLICY, *T_LIFECYCLE, *T_LOGGING, *T_ROLE_POLICY, *T_ATTACHMENT,
    *T_ECR_LIFECYCLE, *T_MPG_POLICY, *T_TOPIC_POLICY, *T_SCHEDULE,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:kms/alias:Alias",
    "aws:cloudwatch/eventTarget:EventTarget", "aws:cloudwatch/dashboard:Dashboard",
    "aws:appautoscaling/policy:Policy", "aws:sns/topicSubscription:TopicSubscription",
})
_TAGGABLE_CACHE: dict[str, bool] = {}


def is_taggable(type_: str) -> bool:
    """Whether resources of ``type_`` take a ``tags`` input (static table, else pulumi_aws introspection)."""
    if type_ in TAGGABLE:
        return True
    if type_ in NOT_TAGGABLE or not type_.startswith("aws:"):
        return False
    if type_ not in _TAGGABLE_CACHE:
        _TAGGABLE_CACHE[type_] = _introspect_taggable(type_)
    return _TAGGABLE_CACHE[type_]


def _introspect_taggable(type_: str) -> bool:
    try:
        import importlib
        import inspect

        module, cls = type_.split(":")[1].split("/")[0], type_.rsplit(":", 1)[-1]
        mod = importlib.import_module(f"pulumi_aws.{module}")
        resource = getattr(mod, cls)
        return "tags" in inspect.signature(resource._internal_init).parameters
    except Exception:  # noqa: BLE001 - unknown module/class or pulumi_aws absent: not known to be taggable
        return False


# ---------------------------------------------------------------------------------------------------
# Helpers over props (plain dicts offline, pulumi_policy's read-only proxies under CrossGuard)
# ---------------------------------------------------------------------------------------------------

def get(obj: Any, *path: Any, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...``; lists are entered by index; missing keys give ``default``."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            if not _is_seq(cur) or len(cur) <= key:
                return default
            cur = cur[key]
        else:
            if not isinstance(cur, Mapping) or key not in cur:
                return default
            cur = cur[key]
    return default if cur is None else cur


def _is_seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if _is_seq(value):
        return list(value)
    return [value]


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def tags_of(props: Mapping[str, Any]) -> Mapping[str, Any]:
    tags = get(props, "tags")
    if _is_seq(tags):  # aws-native: [{key, value}, ...]
        return {get(t, "key"): get(t, "value") for t in tags if isinstance(t, Mapping)}
    return tags if isinstance(tags, Mapping) else {}


def level_of(props: Mapping[str, Any]) -> Optional[int]:
    raw = tags_of(props).get("mlops:maturity")
    try:
        return int(str(raw))
    except (TypeError, ValueError):
        return None


def env_of(props: Mapping[str, Any]) -> Optional[str]:
    value = tags_of(props).get("mlops:environment")
    return str(value) if value is not None else None


def at_least(props: Mapping[str, Any], level: int) -> bool:
    """True when the resource's level is >= ``level``; an untagged resource is held to the strictest bar."""
    lv = level_of(props)
    return lv is None or lv >= level


def policy_doc(value: Any) -> Optional[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip():
        try:
            doc = json.loads(value)
        except json.JSONDecodeError:
            return None
        return doc if isinstance(doc, Mapping) else None
    return None


def statements(doc: Optional[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if doc is None:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def allows(stmt: Mapping[str, Any]) -> bool:
    return str(stmt.get("Effect", "")).lower() == "allow"


def actions(stmt: Mapping[str, Any]) -> list[str]:
    return [str(a) for a in as_list(stmt.get("Action"))]


def resources(stmt: Mapping[str, Any]) -> list[str]:
    return [str(r) for r in as_list(stmt.get("Resource"))]


def principals(stmt: Mapping[str, Any]) -> list[str]:
    p = stmt.get("Principal")
    if p is None:
        return []
    if isinstance(p, str):
        return [p]
    out: list[str] = []
    if isinstance(p, Mapping):
        for value in p.values():
            out.extend(str(v) for v in as_list(value))
    return out


def wildcard_principal(stmt: Mapping[str, Any]) -> bool:
    return "*" in principals(stmt)


def _sid(stmt: Mapping[str, Any], i: int) -> str:
    return f"statement {stmt.get('Sid') or i}"


def _action_matches(pattern: str, action: str) -> bool:
    """IAM action wildcard match (case-insensitive): does ``pattern`` grant ``action``?"""
    regex = "^" + re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, action.lower()) is not None


def policy_documents(type_: str, props: Mapping[str, Any]) -> list[tuple[str, Optional[Mapping[str, Any]]]]:
    """The identity-policy documents a resource carries, labelled for messages."""
    if type_ in T_ROLE:
        return [(f"inline policy {get(p, 'name', default='?')}", policy_doc(get(p, "policy")))
                for p in as_list(get(props, "inlinePolicies"))]
    return [("policy", policy_doc(get(props, "policy")))]


from .rules_resources import (  # noqa: E402,F401 - the table below names them
    ADMIN_POLICIES, NO_RESOURCE_LEVEL, READ_ONLY_PREFIXES, SECRET_NAME, _ACCOUNT_ROOT, _SUB_OK,
    _no_wildcard_allow, check_alarm_actions, check_bucket_force_destroy, check_data_capture_kms,
    check_data_capture_on_at_l4, check_dq_isolation, check_dq_output_kms, check_dq_traffic_encryption,
    check_dq_volume_kms, check_ecr_immutable, check_ecr_kms, check_ecr_scan, check_endpoint_config_kms,
    check_endpoint_rollback, check_event_rule_enabled, check_event_rule_pattern, check_kms_deletion_window,
    check_kms_policy_defined, check_kms_rotation, check_model_isolation, check_monitoring_schedule,
    check_no_admin_policy, check_no_star_actions, check_oidc_provider, check_oidc_trust_scoped, check_pab_flags,
    check_passrole_star, check_pipeline, check_prod_instance_count, check_registry_sharing, check_schedule_kms,
    check_schedule_target, check_session_duration, check_ssm_cmk, check_ssm_secret_names, check_star_resource,
    check_tags, check_topic_kms, check_trust_no_account_root, check_trust_no_wildcard
)
from .rules_stack import (  # noqa: E402,F401 - the table below names them
    _denies_insecure_transport, _dep_urns, _endpoint_name_of_job, _sse_algorithms, bucket_key, companions,
    log_target_buckets, of_type, refers, stack_bucket_kms, stack_bucket_lifecycle, stack_bucket_logging,
    stack_bucket_pab, stack_bucket_sse, stack_bucket_tls, stack_bucket_versioning, stack_ecr_lifecycle,
    stack_prod_endpoint_monitoring
)


# ---------------------------------------------------------------------------------------------------
# The rule table
# ---------------------------------------------------------------------------------------------------

IAM_DOC_TYPES = T_ROLE + T_ROLE_POLICY + T_POLICY


def _per_type(factory: Callable[[str], Callable[[Mapping[str, Any]], Iterator[str]]]):
    """A check that needs the resource type (IAM documents live in different props per type)."""
    cache: dict[str, Callable[[Mapping[str, Any]], Iterator[str]]] = {}

    def check(props: Mapping[str, Any], type_: str = "") -> Iterator[str]:
        if type_ not in cache:
            cache[type_] = factory(type_)
        return cache[type_](props)
    check.needs_type = True  # type: ignore[attr-defined]
    return check


RULES: tuple[Rule, ...] = (
    # ---- S3 ---------------------------------------------------------------------------------------
    Rule("LADDER-S3-001", "Every bucket has a public access block",
         "a bucket without one can be made public by a single ACL or policy change",
         MANDATORY, T_BUCKET, stack_bucket_pab, ("CKV2_AWS_6",), "stack"),
    Rule("LADDER-S3-002", "Every bucket is versioned",
         "models and datasets must survive overwrites and deletes; rollbacks need old versions",
         MANDATORY, T_BUCKET, stack_bucket_versioning, ("CKV_AWS_21",), "stack"),
    Rule("LADDER-S3-003", "Every bucket has default encryption",
         "objects written without an encryption header must still be encrypted at rest",
         MANDATORY, T_BUCKET, stack_bucket_sse, ("CKV_AWS_19",), "stack"),
    Rule("LADDER-S3-004", "Data buckets use SSE-KMS with the stack's key",
         "a customer managed key gives an audit trail and a kill switch; only log targets may use SSE-S3",
         MANDATORY, T_BUCKET, stack_bucket_kms, ("CKV_AWS_145",), "stack"),
    Rule("LADDER-S3-005", "Every bucket policy denies non-TLS requests",
         "training data and models must never travel in clear text",
         MANDATORY, T_BUCKET, stack_bucket_tls, ("CKV_AWS_379",), "stack"),
    Rule("LADDER-S3-006", "Bucket policies allow no anonymous principal",
         "an Allow to '*' without a condition publishes the bucket",
         MANDATORY, T_BUCKET_POLICY, _no_wildcard_allow("bucket policy"), ("CKV_AWS_70",)),
    Rule("LADDER-S3-007", "Every bucket has a lifecycle configuration",
         "incomplete multipart uploads and noncurrent versions otherwise grow cost forever",
         ADVISORY, T_BUCKET, stack_bucket_lifecycle, ("CKV2_AWS_61",), "stack"),
    Rule("LADDER-S3-008", "Every data bucket has server access logging",
         "who read the training data or a model is an audit question",
         ADVISORY, T_BUCKET, stack_bucket_logging, ("CKV_AWS_18",), "stack"),
    Rule("LADDER-S3-009", "Public access blocks set all four flags",
         "one flag left off is enough to expose objects through ACLs or policies",
         MANDATORY, T_PAB, check_pab_flags, ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56")),
    Rule("LADDER-S3-010", "Buckets are not force-destroyed",
         "stateful buckets hold models and data; a stack delete must not empty them",
         ADVISORY, T_BUCKET, check_bucket_force_destroy),
    # ---- KMS --------------------------------------------------------------------------------------
    Rule("LADDER-KMS-001", "KMS keys rotate",
         "rotation limits the blast radius of a leaked data key",
         MANDATORY, T_KMS_KEY, check_kms_rotation, ("CKV_AWS_7",)),
    Rule("LADDER-KMS-002", "KMS key policies allow no anonymous principal",
         "a '*' principal without a condition lets any AWS account use the key",
         MANDATORY, T_KMS_KEY, _no_wildcard_allow("key policy"), ("CKV_AWS_33",)),
    Rule("LADDER-KMS-003", "KMS keys carry an explicit key policy",
         "the default key policy delegates everything to IAM; ours names the services that may use the key",
         ADVISORY, T_KMS_KEY, check_kms_policy_defined, ("CKV2_AWS_64",)),
    Rule("LADDER-KMS-004", "KMS keys keep the 30-day deletion window",
         "deleting the key destroys every model and dataset encrypted with it",
         ADVISORY, T_KMS_KEY, check_kms_deletion_window),
    # ---- IAM --------------------------------------------------------------------------------------
    Rule("LADDER-IAM-001", "Roles cannot be assumed by anyone ('*')",
         "a wildcard trust principal hands the role to every AWS account",
         MANDATORY, T_ROLE, check_trust_no_wildcard, ("CKV_AWS_60",)),
    Rule("LADDER-IAM-002", "Roles are not trusted to a whole account",
         "trusting account root lets every user and role of that account assume it",
         MANDATORY, T_ROLE, check_trust_no_account_root, ("CKV_AWS_61",)),
    Rule("LADDER-IAM-003", "Web-identity (OIDC) trust is scoped to audience and one repository",
         "without aud/sub conditions any GitHub repository can assume the CI role",
         MANDATORY, T_ROLE, check_oidc_trust_scoped),
    Rule("LADDER-IAM-004", "IAM policies grant no '*' actions",
         "wildcard actions grant today's and tomorrow's permissions of a service (or all of AWS)",
         MANDATORY, IAM_DOC_TYPES, _per_type(check_no_star_actions), ("CKV_AWS_62", "CKV_AWS_63")),
    Rule("LADDER-IAM-005", "No iam:PassRole on '*'",
         "PassRole on any role is privilege escalation: pass an admin role to a job you control",
         MANDATORY, IAM_DOC_TYPES, _per_type(check_passrole_star), ("cfn-nag F38", "cfn-nag F39")),
    Rule("LADDER-IAM-006", "Resource '*' only for actions without resource-level permissions",
         "least privilege: scope every restrictable action to ARNs",
         ADVISORY, IAM_DOC_TYPES, _per_type(check_star_resource), ("CKV_AWS_355",)),
    Rule("LADDER-IAM-007", "No AdministratorAccess (or PowerUser/IAMFullAccess) attachments",
         "platform roles are least privilege by construction",
         MANDATORY, T_ROLE + T_ATTACHMENT, check_no_admin_policy, ("CKV_AWS_274",)),
    Rule("LADDER-IAM-008", "Role sessions last at most one hour",
         "stolen CI or job credentials expire quickly",
         ADVISORY, T_ROLE, check_session_duration),
    # ---- ECR --------------------------------------------------------------------------------------
    Rule("LADDER-ECR-001", "ECR repositories scan images on push",
         "vulnerable images are flagged before they serve traffic",
         MANDATORY, T_ECR, check_ecr_scan, ("CKV_AWS_163",)),
    Rule("LADDER-ECR-002", "ECR image tags are immutable",
         "a model image tag must always mean the same bytes (reproducible deploys, no tag hijack)",
         MANDATORY, T_ECR, check_ecr_immutable, ("CKV_AWS_51",)),
    Rule("LADDER-ECR-003", "ECR repositories are encrypted with KMS",
         "images embed model code and sometimes weights",
         MANDATORY, T_ECR, check_ecr_kms, ("CKV_AWS_136",)),
    Rule("LADDER-ECR-004", "Every ECR repository has a lifecycle policy",
         "CI pushes an image per commit; without expiry the registry grows forever",
         ADVISORY, T_ECR, stack_ecr_lifecycle, (), "stack"),
    # ---- OIDC -------------------------------------------------------------------------------------
    Rule("LADDER-OIDC-001", "The GitHub OIDC provider is https and trusts only sts.amazonaws.com",
         "extra audiences let tokens minted for other systems assume AWS roles",
         MANDATORY, T_OIDC, check_oidc_provider),
    # ---- SageMaker --------------------------------------------------------------------------------
    Rule("LADDER-SM-001", "Endpoint configurations encrypt with the stack's KMS key",
         "endpoint storage volumes hold the model and cached requests",
         MANDATORY, T_ENDPOINT_CONFIG, check_endpoint_config_kms,
         ("CKV_AWS_98", "cfn-nag W1200", "AWS Config sagemaker-endpoint-configuration-kms-key-configured")),
    Rule("LADDER-SM-002", "Data capture is encrypted",
         "captured requests and predictions are production data (often personal data)",
         MANDATORY, T_ENDPOINT_CONFIG, check_data_capture_kms),
    Rule("LADDER-SM-003", "Level 4 endpoint configurations capture data",
         "Model Monitor compares captured traffic with the baseline; without capture drift is invisible",
         ADVISORY, T_ENDPOINT_CONFIG, check_data_capture_on_at_l4),
    Rule("LADDER-SM-004", "Prod endpoint variants run at least two instances",
         "one instance is one AZ: a single failure takes the model offline",
         MANDATORY, T_ENDPOINT_CONFIG, check_prod_instance_count,
         ("AWS Config sagemaker-endpoint-config-prod-instance-count",)),
    Rule("LADDER-SM-005", "Level 3+ endpoints roll back automatically on alarms",
         "automated deployment without auto-rollback ships a bad model to every user",
         MANDATORY, T_ENDPOINT, check_endpoint_rollback),
    Rule("LADDER-SM-006", "Models run with network isolation",
         "an inference container with network access can exfiltrate data or pull code",
         MANDATORY, T_MODEL, check_model_isolation,
         ("CKV_AWS_370", "AWS Config sagemaker-model-isolation-enabled")),
    Rule("LADDER-SM-007", "Pipelines have a role and encrypt their job outputs and volumes",
         "training artifacts and processed data are as sensitive as the raw data",
         ADVISORY, T_PIPELINE, check_pipeline),
    Rule("LADDER-SM-008", "Model registries are shared read-only and never publicly",
         "a consumer account must not register, approve or delete our models",
         MANDATORY, T_MPG_POLICY, check_registry_sharing),
    Rule("LADDER-SM-009", "Data-quality monitoring reports are KMS-encrypted",
         "monitoring reports contain statistics of production data",
         MANDATORY, T_DQ_JOB, check_dq_output_kms, ("CKV_AWS_367",)),
    Rule("LADDER-SM-010", "Data-quality monitoring volumes are KMS-encrypted",
         "the job volume holds captured production data while it is analysed",
         MANDATORY, T_DQ_JOB, check_dq_volume_kms, ("CKV_AWS_368",)),
    Rule("LADDER-SM-011", "Data-quality monitoring encrypts inter-container traffic",
         "distributed analysis moves captured data between instances",
         MANDATORY, T_DQ_JOB, check_dq_traffic_encryption, ("CKV_AWS_369",)),
    Rule("LADDER-SM-012", "Data-quality monitoring runs network-isolated",
         "the analysis container needs only S3 via SageMaker, not the network",
         MANDATORY, T_DQ_JOB, check_dq_isolation),
    Rule("LADDER-SM-013", "Monitoring schedules have a schedule and a job definition",
         "a schedule without an expression or job never monitors anything",
         ADVISORY, T_MONITORING_SCHEDULE, check_monitoring_schedule),
    Rule("LADDER-SM-014", "Prod endpoints at level 4 have a Model Monitor schedule",
         "level 4 means drift is detected and acted on; an unmonitored prod endpoint breaks the loop",
         MANDATORY, T_ENDPOINT, stack_prod_endpoint_monitoring, (), "stack"),
    # ---- SNS / CloudWatch / EventBridge / Scheduler / SSM -----------------------------------------
    Rule("LADDER-SNS-001", "SNS topics are KMS-encrypted",
         "notifications carry model names, metrics and approval events",
         MANDATORY, T_TOPIC, check_topic_kms, ("CKV_AWS_26",)),
    Rule("LADDER-SNS-002", "SNS topic policies allow no anonymous principal",
         "anyone could publish fake drift or approval notifications",
         MANDATORY, T_TOPIC_POLICY, _no_wildcard_allow("topic policy")),
    Rule("LADDER-CW-001", "Alarms have actions, and actions are enabled",
         "an alarm nobody receives is not monitoring",
         MANDATORY, T_ALARM, check_alarm_actions, ("CKV_AWS_319",)),
    Rule("LADDER-EVT-001", "EventBridge rules are enabled",
         "a disabled rule silently stops deployment and retraining automation",
         MANDATORY, T_EVENT_RULE, check_event_rule_enabled),
    Rule("LADDER-EVT-002", "EventBridge patterns restrict source and detail",
         "a broad pattern triggers deploys or retraining on unrelated events",
         ADVISORY, T_EVENT_RULE, check_event_rule_pattern),
    Rule("LADDER-SCH-001", "Schedules encrypt their target input with our key",
         "pipeline parameters in the schedule are stored by EventBridge Scheduler",
         ADVISORY, T_SCHEDULE, check_schedule_kms, ("CKV_AWS_297",)),
    Rule("LADDER-SCH-002", "Schedules have a target role and retries",
         "a transient failure otherwise skips a training run without trace",
         ADVISORY, T_SCHEDULE, check_schedule_target),
    Rule("LADDER-SSM-001", "SecureString parameters use our KMS key",
         "secrets under the AWS managed key cannot be scoped or revoked with the stack's key",
         MANDATORY, T_SSM, check_ssm_cmk, ("CKV_AWS_337",)),
    Rule("LADDER-SSM-002", "Secret-looking parameters are SecureString",
         "the project contract holds names, never secrets in plain text",
         MANDATORY, T_SSM, check_ssm_secret_names),
    # ---- tags -------------------------------------------------------------------------------------
    Rule("LADDER-TAG-001", "Every taggable resource carries mlops:environment, project, maturity and owner",
         "cost, ownership and level-aware policies (these rules) depend on the tags",
         MANDATORY, (), check_tags),
)

# Rules added by area live in their own modules (each imports the helpers above from this one).
from .rules_monitoring import RULES as _MONITORING_RULES  # noqa: E402
from .rules_security import RULES as _SECURITY_RULES  # noqa: E402
from .rules_training import RULES as _TRAINING_RULES  # noqa: E402

RULES = RULES + _TRAINING_RULES + _SECURITY_RULES + _MONITORING_RULES

RULE_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
assert len(RULE_BY_ID) == len(RULES), "duplicate rule ids"


def applies(rule: Rule, type_: str) -> bool:
    """Whether a resource rule looks at resources of ``type_`` (the tag rule: every taggable type)."""
    if rule.id == "LADDER-TAG-001":
        return is_taggable(type_)
    return type_ in rule.types


def run_resource_rule(rule: Rule, type_: str, props: Mapping[str, Any]) -> list[str]:
    """Messages of ``rule`` for one resource (empty: compliant or not applicable)."""
    if rule.scope != "resource" or not applies(rule, type_):
        return []
    if getattr(rule.check, "needs_type", False):
        return list(rule.check(props, type_))
    return list(rule.check(props))


def run_stack_rule(rule: Rule, resources: Sequence[Any]) -> list[tuple[Any, str]]:
    if rule.scope != "stack":
        return []
    return list(rule.check(resources))
