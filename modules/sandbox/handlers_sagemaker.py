"""Sandbox handlers for SageMaker (part of the handler table in :mod:`.handlers`)."""

from __future__ import annotations

import uuid
from typing import Any, Callable, Optional

from .handlers import (
    Ctx, Realised, Request, SAGEMAKER_MISSING, echo, params_for, physical
)

# ---------------------------------------------------------------------------------------------------
# SageMaker
# ---------------------------------------------------------------------------------------------------

def _sagemaker(create_op: str, name_member: str, arn_member: str, arn_kind: str, delete_op: str, *,
               name_input: str = "name", rename: Optional[dict[str, str]] = None,
               nested: Optional[dict[str, str]] = None, shape: Optional[Callable[[dict], dict]] = None,
               name_prefix: Optional[str] = None, ignore: tuple[str, ...] = ()):
    """A named SageMaker resource: Create<X>(<X>Name=..., ...) / Delete<X>(<X>Name=...)."""

    def create(ctx: Ctx, req: Request) -> Realised:
        name = physical(req, name_input, name_prefix)
        shaped = shape(dict(req.inputs)) if shape else dict(req.inputs)
        params = params_for(req, "sagemaker", create_op, shaped, rename=rename, nested=nested,
                            ignore=(name_input, *(name_prefix and (name_prefix,) or ()), *ignore),
                            extra={name_member: name})
        resp = ctx.aws.call("sagemaker", create_op, params)
        arn = (resp or {}).get(arn_member) or ctx.arn("sagemaker", f"{arn_kind}/{name}")
        computed = {"arn": arn, name_input: name}
        return Realised(name, echo(req, **computed))

    def delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
        ctx.aws.call("sagemaker", delete_op, {name_member: id_}, missing_ok=SAGEMAKER_MISSING)

    return create, delete


def model_package_group_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    """Packages first (a group with packages cannot be deleted), then the group."""
    token = None
    while True:
        params = {"ModelPackageGroupName": id_, "MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = ctx.aws.call("sagemaker", "ListModelPackages", params, missing_ok=SAGEMAKER_MISSING) or {}
        for pkg in page.get("ModelPackageSummaryList", []):
            ctx.aws.call("sagemaker", "DeleteModelPackage", {"ModelPackageName": pkg["ModelPackageArn"]},
                         missing_ok=SAGEMAKER_MISSING)
        token = page.get("NextToken")
        if not token:
            break
    ctx.aws.call("sagemaker", "DeleteModelPackageGroup", {"ModelPackageGroupName": id_},
                 missing_ok=SAGEMAKER_MISSING)


def model_package_group_policy_create(ctx: Ctx, req: Request) -> Realised:
    group = req.inputs["modelPackageGroupName"]
    ctx.aws.call("sagemaker", "PutModelPackageGroupPolicy", params_for(req, "sagemaker", "PutModelPackageGroupPolicy"))
    return Realised(group, echo(req))


def model_package_group_policy_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sagemaker", "DeleteModelPackageGroupPolicy", {"ModelPackageGroupName": id_},
                 missing_ok=SAGEMAKER_MISSING)


def pipeline_create(ctx: Ctx, req: Request) -> Realised:
    name = req.inputs["pipelineName"]
    params = params_for(req, "sagemaker", "CreatePipeline", extra={"ClientRequestToken": str(uuid.uuid4())})
    arn = ctx.aws.call("sagemaker", "CreatePipeline", params)["PipelineArn"]
    return Realised(name, echo(req, arn=arn))


def pipeline_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sagemaker", "DeletePipeline", {"PipelineName": id_, "ClientRequestToken": str(uuid.uuid4())},
                 missing_ok=SAGEMAKER_MISSING)


def _endpoint_config_shape(inputs: dict[str, Any]) -> dict[str, Any]:
    variants = inputs.get("productionVariants") or []
    inputs["productionVariants"] = [{"variantName": f"variant-{i + 1}", **v} for i, v in enumerate(variants)]
    return inputs


model = _sagemaker("CreateModel", "ModelName", "ModelArn", "model", "DeleteModel")
endpoint_configuration = _sagemaker(
    "CreateEndpointConfig", "EndpointConfigName", "EndpointConfigArn", "endpoint-config", "DeleteEndpointConfig",
    name_prefix="namePrefix", rename={"kmsKeyArn": "KmsKeyId"}, shape=_endpoint_config_shape)
endpoint = _sagemaker("CreateEndpoint", "EndpointName", "EndpointArn", "endpoint", "DeleteEndpoint")
data_quality_job_definition = _sagemaker(
    "CreateDataQualityJobDefinition", "JobDefinitionName", "JobDefinitionArn", "data-quality-job-definition",
    "DeleteDataQualityJobDefinition")
monitoring_schedule = _sagemaker(
    "CreateMonitoringSchedule", "MonitoringScheduleName", "MonitoringScheduleArn", "monitoring-schedule",
    "DeleteMonitoringSchedule")
model_package_group = _sagemaker(
    "CreateModelPackageGroup", "ModelPackageGroupName", "ModelPackageGroupArn", "model-package-group",
    "DeleteModelPackageGroup", name_input="modelPackageGroupName")
