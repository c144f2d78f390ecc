"""Gateway hooks for the SageMaker API: pipeline executions, and the registry's state-change events."""

from __future__ import annotations

import json
from typing import Any

from ..events import envelope
from .pipelines import ValidationError


def backend(account: str, region: str):
    from moto.sagemaker.models import sagemaker_backends

    return sagemaker_backends[account][region]


def _pipeline_arn(gw, call, name: str) -> str:
    return f"arn:aws:sagemaker:{call.region}:{gw.account_of(call)}:pipeline/{name.lower()}"


def start_pipeline_execution(gw, call):
    name = str(call.params.get("PipelineName", ""))
    short = name.rsplit("/", 1)[-1]
    denied = gw.authorize(call, "sagemaker:StartPipelineExecution", _pipeline_arn(gw, call, short))
    if denied:
        return denied
    pipeline = backend(gw.account_of(call), call.region).pipelines.get(short)
    if pipeline is None:
        return gw.forward(call)  # moto's own ResourceNotFound
    definition = json.loads(pipeline.pipeline_definition or "{}")
    params = call.params.get("PipelineParameters") or []
    for p in params:
        if p.get("Value") == "":  # sagemaker-python-sdk#4016: the service refuses empty parameter values
            return gw.error(400, "ValidationException", f'[string "" is too short (length: 0, required minimum: 1)] '
                                                        f'for pipeline parameter {p.get("Name")!r}')
    try:
        gw.pipelines.validate_start(definition, params)
    except ValidationError as exc:
        return gw.error(400, "ValidationException", str(exc))
    reply = gw.forward(call)
    if reply.status != 200:
        return reply
    arn = json.loads(reply.body)["PipelineExecutionArn"]
    caller = call.environ.get("HTTP_X_LADDER_CALLER") or call.caller_role or ""
    trigger = call.environ.get("HTTP_X_LADDER_TRIGGER") or ("ci" if caller.endswith("-ci") else "api")
    gw.pipelines.start(arn, short, definition, params, trigger=trigger, caller=caller,
                       record=pipeline.pipeline_executions.get(arn), role=pipeline.role_arn)
    return reply


def _execution_pipeline(arn: str) -> str:
    return arn.split(":pipeline/")[-1].split("/execution/")[0]


def list_pipeline_execution_steps(gw, call):
    arn = str(call.params.get("PipelineExecutionArn", ""))
    denied = gw.authorize(call, "sagemaker:ListPipelineExecutionSteps", _pipeline_arn(gw, call, _execution_pipeline(arn)))
    if denied:
        return denied
    try:
        steps = gw.pipelines.steps_of(arn)
    except KeyError:
        return gw.error(400, "ResourceNotFound", f"Pipeline execution {arn} does not exist")
    if call.params.get("SortOrder") == "Ascending":
        steps = list(reversed(steps))
    return gw.json(200, {"PipelineExecutionSteps": steps})


def describe_pipeline_execution(gw, call):
    arn = str(call.params.get("PipelineExecutionArn", ""))
    denied = gw.authorize(call, "sagemaker:DescribePipelineExecution", _pipeline_arn(gw, call, _execution_pipeline(arn)))
    return denied or gw.forward(call)


def _group_resource(gw, call, group: str) -> str:
    return f"arn:aws:sagemaker:{call.region}:{gw.account_of(call)}:model-package/{group}/*"


def create_model_package(gw, call):
    group = str(call.params.get("ModelPackageGroupName", "")).rsplit("/", 1)[-1]
    denied = gw.authorize(call, "sagemaker:CreateModelPackage", _group_resource(gw, call, group))
    if denied:
        return denied
    reply = gw.forward(call)
    if reply.status == 200:
        _package_event(gw, call, json.loads(reply.body)["ModelPackageArn"])
    return reply


def update_model_package(gw, call):
    arn = str(call.params.get("ModelPackageArn", ""))
    group = arn.split(":model-package/")[-1].split("/")[0]
    denied = gw.authorize(call, "sagemaker:UpdateModelPackage", _group_resource(gw, call, group))
    if denied:
        return denied
    package = _package_record(gw, call, arn)
    kept = dict(getattr(package, "customer_metadata_properties", None) or {}) if package is not None else {}
    reply = gw.forward(call)
    if reply.status == 200 and package is not None:
        # UpdateModelPackage adds/overwrites the given CustomerMetadataProperties and removes the listed ones; the
        # others stay (API_UpdateModelPackage). moto replaces them all (None when not given): keep the rest.
        merged = {**kept, **(call.params.get("CustomerMetadataProperties") or {})}
        for key in call.params.get("CustomerMetadataPropertiesToRemove") or []:
            merged.pop(key, None)
        package.customer_metadata_properties = merged or None
    if reply.status == 200 and "ModelApprovalStatus" in call.params:
        _package_event(gw, call, arn)
    return reply


def _package_record(gw, call, arn: str):
    for package in backend(gw.account_of(call), call.region).model_packages.values():
        if getattr(package, "model_package_arn", None) == arn or getattr(package, "arn", None) == arn:
            return package
    return None


def _package_event(gw, call, arn: str) -> None:
    """SageMaker emits "SageMaker Model Package State Change" when a package is created or its approval changes
    (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package)."""
    desc: dict[str, Any] = gw.client("sagemaker", call.region).describe_model_package(ModelPackageName=arn)
    detail = {k: desc.get(k) for k in ("ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
                                       "ModelPackageDescription", "ModelApprovalStatus", "ModelPackageStatus",
                                       "CustomerMetadataProperties", "InferenceSpecification") if desc.get(k) is not None}
    detail["CreationTime"] = str(desc.get("CreationTime"))
    gw.events.emit(envelope("aws.sagemaker", "SageMaker Model Package State Change", detail,
                            account=arn.split(":")[4], region=call.region, resources=[arn]))


HOOKS = {
    ("sagemaker", "StartPipelineExecution"): start_pipeline_execution,
    ("sagemaker", "ListPipelineExecutionSteps"): list_pipeline_execution_steps,
    ("sagemaker", "DescribePipelineExecution"): describe_pipeline_execution,
    ("sagemaker", "CreateModelPackage"): create_model_package,
    ("sagemaker", "UpdateModelPackage"): update_model_package,
}


# ---- endpoints ------------------------------------------------------------------------------------------
def create_model(gw, call):
    reply = gw.forward(call)
    if reply.status == 200:
        gw.endpoints.models[call.params["ModelName"]] = dict(call.params)  # as sent: moto drops network isolation
    return reply


def create_endpoint_config(gw, call):
    reply = gw.forward(call)
    if reply.status == 200:
        gw.endpoints.configs[call.params["EndpointConfigName"]] = dict(call.params)
    return reply


def create_endpoint(gw, call):
    from .endpoints import EndpointFailed

    reply = gw.forward(call)
    if reply.status != 200:
        return reply
    name = call.params["EndpointName"]
    record = backend(gw.account_of(call), call.region).endpoints.get(name)
    gw.endpoints.deployment_configs[name] = call.params.get("DeploymentConfig") or {}  # moto drops it
    if record is not None and call.params.get("DeploymentConfig"):
        record.last_deployment_config = call.params["DeploymentConfig"]
    try:
        gw.endpoints.start(name, call.params["EndpointConfigName"], call.region)
    except (EndpointFailed, Exception) as exc:  # noqa: BLE001 - any failure to start is the endpoint's FailureReason
        if record is not None:
            record.endpoint_status, record.failure_reason = "Failed", str(exc)[:1024]
    return reply


def delete_endpoint(gw, call):
    gw.endpoints.stop(str(call.params.get("EndpointName", "")))
    return gw.forward(call)


def invoke_endpoint(gw, call):
    env = call.environ
    name = call.params["EndpointName"]
    denied = gw.authorize(call, "sagemaker:InvokeEndpoint",
                          f"arn:aws:sagemaker:{call.region}:{gw.account_of(call)}:endpoint/{name.lower()}")
    if denied:
        return denied
    try:
        status, body, out_type, variant = gw.endpoints.invoke(
            name, call.body, env.get("CONTENT_TYPE", ""), env.get("HTTP_ACCEPT", ""),
            env.get("HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT"))
    except LookupError:
        return gw.error(400, "ValidationError", f"Endpoint {name} of account {gw.account_of(call)} not found.")
    if status != 200:  # the container answered an error: SageMaker returns ModelError with the original status
        doc = {"__type": "ModelError", "message": f"Received client error ({status}) from primary with message "
                                                  f"\"{body.decode('utf-8', 'replace')[:500]}\"",
               "OriginalStatusCode": status, "OriginalMessage": body.decode("utf-8", "replace")[:500]}
        return gw.reply(424, json.dumps(doc).encode(), [("Content-Type", "application/json"),
                                                        ("x-amzn-ErrorType", "ModelError")])
    return gw.reply(200, body, [("Content-Type", out_type), ("x-Amzn-Invoked-Production-Variant", variant)])


HOOKS.update({
    ("sagemaker", "CreateModel"): create_model,
    ("sagemaker", "CreateEndpointConfig"): create_endpoint_config,
    ("sagemaker", "CreateEndpoint"): create_endpoint,
    ("sagemaker", "DeleteEndpoint"): delete_endpoint,
    ("sagemaker-runtime", "InvokeEndpoint"): invoke_endpoint,
})
