"""The ONE table of resource types the sandbox can realise: ``HANDLERS[type] = Handler(create, delete, ...)``.

A handler's ``create`` turns a resource's Pulumi inputs (camelCase) into AWS API calls made through
:meth:`~modules.sandbox.aws.Aws.call` and returns the id and the outputs pulumi-aws v7 would report
(inputs echoed, plus ``arn``, ``id``-like names, ``keyId``, ``repositoryUrl``...). Values come from moto's
responses where moto emulates the operation, otherwise they are derived the way AWS derives them (the
operation having been validated by botocore and recorded). ``delete`` removes what ``create`` made and
tolerates it being gone already. ``retag`` (optional) applies a tags-only change in place.

Every top-level input is either sent to the API, used by the handler, or listed as Terraform-only
(``IGNORED``); anything else raises :class:`~modules.sandbox.aws.UnmappedInput` instead of being dropped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .aws import Aws, UnmappedInput, UnmappedType, _norm, input_shape, integral, to_api

# Provider-side inputs with no API counterpart (Terraform bookkeeping).
IGNORED = frozenset({"region", "tagsAll", "__defaults"})

SAGEMAKER_MISSING = ("ResourceNotFound", "does not exist", "Could not find", "not found")


@dataclass
class Ctx:
    """What a handler gets: the AWS clients (moto), the stack's region and the emulated account."""

    aws: Aws
    region: str
    _account: Optional[str] = None

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.aws.account_id()
        return self._account

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account if account else ''}:{resource}"


@dataclass(frozen=True)
class Request:
    type: str
    name: str  # Pulumi logical name
    inputs: dict[str, Any]


@dataclass
class Realised:
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Handler:
    service: str
    create: Callable[[Ctx, Request], Realised]
    delete: Callable[[Ctx, str, dict[str, Any]], None]  # (ctx, id, outputs)
    retag: Optional[Callable[[Ctx, str, dict[str, Any], dict[str, str], dict[str, str]], None]] = None
    notes: str = ""
    # (ctx, id, old outputs, old inputs, request) -> Realised: an in-place update as the provider makes it, or None
    # when the change needs a replacement (e.g. a renamed endpoint)
    update: Optional[Callable[[Ctx, str, dict[str, Any], dict[str, Any], Request], Optional[Realised]]] = None
    # auto-named resources Pulumi replaces create-before-delete (its default): the new one is created first and
    # the old one deleted at the end of the run; fixed names are deleted first (deleteBeforeReplace)
    create_before_delete: bool = False


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------

def unique_suffix(n: int = 26) -> str:
    """Terraform's PrefixedUniqueId is 26 characters; lowercase hex keeps bucket names valid."""
    return secrets.token_hex(n)[:n]


def physical(req: Request, key: str = "name", prefix_key: Optional[str] = "namePrefix", *,
             lower: bool = False) -> str:
    """The physical name: the input, else prefix + unique suffix, else Pulumi's auto-name (logical-7hex)."""
    value = req.inputs.get(key)
    if isinstance(value, str) and value:
        return value
    if prefix_key and isinstance(req.inputs.get(prefix_key), str):
        return req.inputs[prefix_key] + unique_suffix()
    name = f"{req.name}-{secrets.token_hex(4)[:7]}"
    return name.lower() if lower else name


def params_for(req: Request, service: str, operation: str, inputs: Optional[dict[str, Any]] = None, *,
               rename: Optional[dict[str, str]] = None, ignore: tuple[str, ...] = (),
               nested: Optional[dict[str, str]] = None, extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """API parameters for ``operation`` from the (optionally pre-shaped) inputs, shape-guided (see to_api)."""
    shape = input_shape(service, operation)
    members = {_norm(m): m for m in shape.members}
    rename = rename or {}
    out: dict[str, Any] = {}
    for key, value in (req.inputs if inputs is None else inputs).items():
        if value is None or key in IGNORED or key in ignore:
            continue
        target = rename.get(key) or members.get(_norm(key))
        if target is None or target not in shape.members:
            raise UnmappedInput(f"{req.type} {req.name!r}: input {key!r} has no counterpart in "
                                f"{service}:{operation} and the sandbox handler does not map it")
        try:
            out[target] = to_api(value, shape.members[target], key, nested)
        except UnmappedInput as exc:
            raise UnmappedInput(f"{req.type} {req.name!r}: {exc}") from None
    out.update(extra or {})
    return out


def echo(req: Request, **computed: Any) -> dict[str, Any]:
    """Outputs as pulumi-aws reports them: the inputs, tagsAll, plus computed attributes."""
    out = integral(dict(req.inputs))
    if "tags" in req.inputs or "tagsAll" in req.inputs:
        out["tagsAll"] = dict(req.inputs.get("tags") or {})
    out.update(computed)
    return out


def tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: str(v)} for k, v in (tags or {}).items()]


def changed_tags(old: dict[str, str], new: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    return ({k: v for k, v in new.items() if old.get(k) != v}, [k for k in old if k not in new])


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


from .handlers_storage import (  # noqa: E402 - the table below names them
    bucket_policy, ecr_lifecycle_create, ecr_lifecycle_delete, ecr_repository_create, ecr_repository_delete,
    encryption, kms_alias_create, kms_alias_delete, kms_key_create, kms_key_delete, lifecycle, logging_,
    ownership, public_access_block, s3_bucket_create, s3_bucket_delete, s3_bucket_retag, ssm_parameter_create,
    ssm_parameter_delete, versioning,
)
from .handlers_iam import (  # noqa: E402 - the table below names them
    iam_attachment_create, iam_attachment_delete, iam_oidc_create, iam_oidc_delete, iam_policy_create,
    iam_policy_delete, iam_role_create, iam_role_delete, iam_role_policy_create, iam_role_policy_delete,
)
from .handlers_sagemaker import (  # noqa: E402 - the table below names them
    data_quality_job_definition, endpoint, endpoint_configuration, model, model_package_group,
    model_package_group_delete, model_package_group_policy_create, model_package_group_policy_delete,
    monitoring_schedule, pipeline_create, pipeline_delete,
)
from .handlers_messaging import (  # noqa: E402 - the table below names them
    aas_policy_create, aas_policy_delete, aas_target_create, aas_target_delete, codebuild_project_create,
    codebuild_project_delete, dashboard_create, dashboard_delete, event_api_destination_create,
    event_api_destination_delete, event_connection_create, event_connection_delete, event_rule_create,
    event_rule_delete, event_target_create, event_target_delete, log_group_create, log_group_delete,
    metric_alarm_create, metric_alarm_delete, schedule_create, schedule_delete, sns_subscription_create,
    sns_subscription_delete, sns_topic_create, sns_topic_delete, sns_topic_policy_create, sns_topic_policy_delete,
    sns_topic_policy_update,
)


# ---------------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------------

def _h(service: str, pair: tuple[Callable, Callable], retag=None, notes: str = "") -> Handler:
    return Handler(service, pair[0], pair[1], retag, notes)


def _retag(service: str, tag_op: str, untag_op: str, target: Callable[[str, dict[str, Any]], dict[str, Any]], *,
           tags_key: str = "Tags", keys_key: str = "TagKeys",
           shape: Callable[[dict[str, str]], Any] = tag_list):
    """A tag-only update: ``tag_op`` for added/changed tags, ``untag_op`` for removed keys, on ``target(id, outputs)``
    (each service names its parameters its own way)."""

    def retag(ctx: Ctx, id_: str, outputs: dict[str, Any], old: dict, new: dict) -> None:
        add, remove = changed_tags(old, new)
        if add:
            ctx.aws.call(service, tag_op, {**target(id_, outputs), tags_key: shape(add)})
        if remove:
            ctx.aws.call(service, untag_op, {**target(id_, outputs), keys_key: remove})

    return retag


def _by_arn(key: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    return lambda id_, outputs: {key: outputs["arn"]}


def _by_id(key: str, **fixed: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    return lambda id_, outputs: {key: id_, **fixed}


iam_role_retag = _retag("iam", "TagRole", "UntagRole", _by_id("RoleName"))
iam_oidc_retag = _retag("iam", "TagOpenIDConnectProvider", "UntagOpenIDConnectProvider",
                        _by_id("OpenIDConnectProviderArn"))
iam_policy_retag = _retag("iam", "TagPolicy", "UntagPolicy", _by_id("PolicyArn"))
kms_key_retag = _retag("kms", "TagResource", "UntagResource", _by_id("KeyId"),
                       shape=lambda tags: tag_list(tags, "TagKey", "TagValue"))
ecr_repository_retag = _retag("ecr", "TagResource", "UntagResource", _by_arn("resourceArn"), tags_key="tags",
                              keys_key="tagKeys")
ssm_parameter_retag = _retag("ssm", "AddTagsToResource", "RemoveTagsFromResource",
                             _by_id("ResourceId", ResourceType="Parameter"))
sagemaker_retag = _retag("sagemaker", "AddTags", "DeleteTags", _by_arn("ResourceArn"))
sns_topic_retag = _retag("sns", "TagResource", "UntagResource", _by_id("ResourceArn"))
events_retag = _retag("events", "TagResource", "UntagResource", _by_arn("ResourceARN"))
cloudwatch_retag = _retag("cloudwatch", "TagResource", "UntagResource", _by_arn("ResourceARN"))
# moto lacks these two operations: a tag change is validated against botocore's model, not a replacement
aas_target_retag = _retag("application-autoscaling", "TagResource", "UntagResource", _by_arn("ResourceARN"),
                         shape=dict)
log_group_retag = _retag("logs", "TagResource", "UntagResource", _by_arn("resourceArn"), tags_key="tags",
                         keys_key="tagKeys", shape=dict)


HANDLERS: dict[str, Handler] = {
    # S3
    "aws:s3/bucket:Bucket": Handler("s3", s3_bucket_create, s3_bucket_delete, s3_bucket_retag,
                                    "bucketPrefix + 26-character unique suffix; delete empties every version"),
    "aws:s3/bucketVersioning:BucketVersioning": _h("s3", versioning, notes="delete suspends versioning"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _h("s3", encryption),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _h("s3", public_access_block),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _h("s3", ownership),
    "aws:s3/bucketPolicy:BucketPolicy": _h("s3", bucket_policy),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _h("s3", lifecycle),
    "aws:s3/bucketLogging:BucketLogging": _h("s3", logging_),
    # KMS
    "aws:kms/key:Key": Handler("kms", kms_key_create, kms_key_delete, kms_key_retag,
                               "delete schedules deletion (the key stays PendingDeletion, as in AWS)"),
    "aws:kms/alias:Alias": Handler("kms", kms_alias_create, kms_alias_delete),
    # IAM
    "aws:iam/role:Role": Handler("iam", iam_role_create, iam_role_delete, iam_role_retag,
                                 "delete removes inline/attached policies first"),
    "aws:iam/rolePolicy:RolePolicy": Handler("iam", iam_role_policy_create, iam_role_policy_delete),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": Handler("iam", iam_oidc_create, iam_oidc_delete,
                                                                   iam_oidc_retag),
    "aws:iam/policy:Policy": Handler("iam", iam_policy_create, iam_policy_delete, iam_policy_retag),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": Handler("iam", iam_attachment_create,
                                                                 iam_attachment_delete),
    # ECR
    "aws:ecr/repository:Repository": Handler("ecr", ecr_repository_create, ecr_repository_delete,
                                             ecr_repository_retag, "delete forces (removes images)"),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Handler("ecr", ecr_lifecycle_create, ecr_lifecycle_delete),
    # SSM
    "aws:ssm/parameter:Parameter": Handler("ssm", ssm_parameter_create, ssm_parameter_delete, ssm_parameter_retag),
    # SageMaker
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": Handler(
        "sagemaker", model_package_group[0], model_package_group_delete, sagemaker_retag,
        "delete lists and deletes the packages first"),
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": Handler(
        "sagemaker", model_package_group_policy_create, model_package_group_policy_delete),
    "aws:sagemaker/pipeline:Pipeline": Handler("sagemaker", pipeline_create, pipeline_delete, sagemaker_retag),
    "aws:sagemaker/model:Model": Handler("sagemaker", *model, sagemaker_retag, create_before_delete=True),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": Handler(
        "sagemaker", *endpoint_configuration, sagemaker_retag, create_before_delete=True),
    "aws:sagemaker/endpoint:Endpoint": _h("sagemaker", endpoint, sagemaker_retag),
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": _h("sagemaker", data_quality_job_definition,
                                                                          sagemaker_retag),
    "aws:sagemaker/monitoringSchedule:MonitoringSchedule": _h("sagemaker", monitoring_schedule, sagemaker_retag),
    # EventBridge Scheduler
    "aws:scheduler/schedule:Schedule": Handler("scheduler", schedule_create, schedule_delete),
    # SNS
    "aws:sns/topic:Topic": Handler("sns", sns_topic_create, sns_topic_delete, sns_topic_retag),
    "aws:sns/topicSubscription:TopicSubscription": Handler("sns", sns_subscription_create, sns_subscription_delete),
    "aws:sns/topicPolicy:TopicPolicy": Handler("sns", sns_topic_policy_create, sns_topic_policy_delete,
                                               notes="delete restores the default topic policy; a new policy is an "
                                                     "in-place update", update=sns_topic_policy_update),
    # EventBridge
    "aws:cloudwatch/eventRule:EventRule": Handler("events", event_rule_create, event_rule_delete, events_retag),
    "aws:cloudwatch/eventTarget:EventTarget": Handler("events", event_target_create, event_target_delete),
    "aws:cloudwatch/eventConnection:EventConnection": Handler("events", event_connection_create,
                                                              event_connection_delete),
    "aws:cloudwatch/eventApiDestination:EventApiDestination": Handler("events", event_api_destination_create,
                                                                      event_api_destination_delete),
    # CloudWatch
    "aws:cloudwatch/metricAlarm:MetricAlarm": Handler("cloudwatch", metric_alarm_create, metric_alarm_delete,
                                                      cloudwatch_retag),
    "aws:cloudwatch/dashboard:Dashboard": Handler("cloudwatch", dashboard_create, dashboard_delete),
    "aws:cloudwatch/logGroup:LogGroup": Handler("logs", log_group_create, log_group_delete, log_group_retag),
    # Application Auto Scaling
    "aws:appautoscaling/target:Target": Handler("application-autoscaling", aas_target_create, aas_target_delete,
                                                aas_target_retag),
    "aws:appautoscaling/policy:Policy": Handler("application-autoscaling", aas_policy_create, aas_policy_delete),
    # CodeBuild
    "aws:codebuild/project:Project": Handler("codebuild", codebuild_project_create, codebuild_project_delete),
}


def _native() -> None:
    from .handlers_native import HANDLERS as native  # aws-native resource types (pulumi-aws-native)

    HANDLERS.update(native)


_native()


def _monitoring_handlers() -> None:
    from .handlers_monitoring import HANDLERS as monitoring  # aws-native Model Monitor job definitions

    HANDLERS.update(monitoring)


_monitoring_handlers()


def handler_for(type_: str, name: str = "") -> Handler:
    try:
        return HANDLERS[type_]
    except KeyError:
        raise UnmappedType(type_, name) from None
