"""Sandbox handlers for the pulumi-aws-native resource types the program declares (inputs camelCase, as Cloud
Control's schema; tags a list of ``{key, value}``).

``aws-native:sagemaker:Endpoint`` is created, updated in place and deleted as the provider does it:

* create: ``CreateEndpoint`` then wait for ``InService``; ``Failed`` fails the resource with the endpoint's
  FailureReason (the provider's create fails the same way);
* update (``endpointName`` unchanged; a new name replaces, the schema's ``replaceOnChanges``): ``UpdateEndpoint``
  with ``DeploymentConfig``, ``RetainAllVariantProperties``, ``ExcludeRetainedVariantProperties`` and
  ``RetainDeploymentConfig`` as declared, then wait while it is ``Updating``. The sandbox advances its clock by the
  poll interval per poll (``/_ladder/tick``), so baking periods and auto-rollback happen while the engine waits, as
  they would while a provider polls. The outputs are read back from ``DescribeEndpoint``: after an auto-rollback the
  endpoint is InService on its old config, and that is what the resource reports - the update itself "succeeds",
  as a provider waiting for InService sees it. Deploy verification is ``ladder deploy``'s job;
* delete: ``DeleteEndpoint``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Optional

from .aws import SandboxError
from .handlers import SAGEMAKER_MISSING, Ctx, Handler, Realised, Request, echo, params_for, physical

POLL_SECONDS = 30          # the emulated interval between two DescribeEndpoint polls (boto3's waiter uses 30 s)
EXTRA_WAIT_SECONDS = 900   # allowed beyond the deployment's own timeout + termination wait before giving up


def _tags(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": t["key"], "Value": str(t["value"])} for t in inputs.get("tags") or []]


def _tick(ctx: Ctx, seconds: float) -> None:
    request = urllib.request.Request(f"{ctx.aws.endpoint}/_ladder/tick", data=json.dumps({"seconds": seconds}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as reply:  # loopback: the sandbox's own control API
        reply.read()


def _describe(ctx: Ctx, name: str) -> dict[str, Any]:
    return ctx.aws.call("sagemaker", "DescribeEndpoint", {"EndpointName": name}, fallback=False) or {}


def _outputs(req: Request, desc: dict[str, Any]) -> dict[str, Any]:
    return echo(req, endpointArn=desc.get("EndpointArn"), endpointName=desc.get("EndpointName"),
                endpointConfigName=desc.get("EndpointConfigName"))


def _wait(ctx: Ctx, name: str, budget: float) -> dict[str, Any]:
    waited = 0.0
    while True:
        desc = _describe(ctx, name)
        status = desc.get("EndpointStatus")
        if status == "InService":
            return desc
        if status in ("Failed", "OutOfService", "UpdateRollbackFailed"):
            raise SandboxError(f"waiting for SageMaker Endpoint ({name}) to be in service: {status}"
                               + (f": {desc['FailureReason']}" if desc.get("FailureReason") else ""))
        if waited >= budget:
            raise SandboxError(f"SageMaker Endpoint ({name}) still {status} after {waited:.0f} emulated seconds")
        _tick(ctx, POLL_SECONDS)
        waited += POLL_SECONDS
        time.sleep(0.05)  # let requests sent meanwhile (the traffic a deployment bakes on) land in this period


def _budget(inputs: dict[str, Any]) -> float:
    bg = (inputs.get("deploymentConfig") or {}).get("blueGreenUpdatePolicy") or {}
    return (float(bg.get("maximumExecutionTimeoutInSeconds") or 3600) + float(bg.get("terminationWaitInSeconds") or 0)
            + EXTRA_WAIT_SECONDS)


def _deployment(req: Request) -> dict[str, Any]:
    shaped = {"deploymentConfig": req.inputs.get("deploymentConfig")} if req.inputs.get("deploymentConfig") else {}
    return params_for(req, "sagemaker", "CreateEndpoint", shaped) if shaped else {}


def endpoint_create(ctx: Ctx, req: Request) -> Realised:
    name = physical(req, "endpointName", None)
    params = {"EndpointName": name, "EndpointConfigName": req.inputs["endpointConfigName"], **_deployment(req)}
    if req.inputs.get("tags"):
        params["Tags"] = _tags(req.inputs)
    ctx.aws.call("sagemaker", "CreateEndpoint", params)
    desc = _wait(ctx, name, _budget(req.inputs))
    return Realised(name, _outputs(req, desc))


UPDATED = ("endpointConfigName", "deploymentConfig", "retainAllVariantProperties", "excludeRetainedVariantProperties",
           "retainDeploymentConfig")


def endpoint_update(ctx: Ctx, id_: str, old_outputs: dict[str, Any], old_inputs: dict[str, Any],
                    req: Request) -> Optional[Realised]:
    if (req.inputs.get("endpointName") or id_) != (old_inputs.get("endpointName") or id_):
        return None  # replaceOnChanges: endpointName
    if any(req.inputs.get(k) != old_inputs.get(k) for k in UPDATED):
        params: dict[str, Any] = {"EndpointName": id_, "EndpointConfigName": req.inputs["endpointConfigName"],
                                  **_deployment(req)}
        if req.inputs.get("retainAllVariantProperties") is not None:
            params["RetainAllVariantProperties"] = bool(req.inputs["retainAllVariantProperties"])
        if req.inputs.get("excludeRetainedVariantProperties"):
            params["ExcludeRetainedVariantProperties"] = [
                {"VariantPropertyType": p["variantPropertyType"]} for p in req.inputs["excludeRetainedVariantProperties"]]
        if req.inputs.get("retainDeploymentConfig") is not None:
            params["RetainDeploymentConfig"] = bool(req.inputs["retainDeploymentConfig"])
        ctx.aws.call("sagemaker", "UpdateEndpoint", params, fallback=False)
    old_tags = {t["Key"]: t["Value"] for t in _tags(old_inputs)}
    new_tags = {t["Key"]: t["Value"] for t in _tags(req.inputs)}
    if old_tags != new_tags:
        from .handlers import sagemaker_retag  # AddTags / DeleteTags on the ARN, as for every SageMaker resource

        arn = old_outputs.get("endpointArn") or ctx.arn("sagemaker", f"endpoint/{id_.lower()}")
        sagemaker_retag(ctx, id_, {"arn": arn}, old_tags, new_tags)
    desc = _wait(ctx, id_, _budget(req.inputs))
    return Realised(id_, _outputs(req, desc))


def endpoint_delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
    ctx.aws.call("sagemaker", "DeleteEndpoint", {"EndpointName": id_}, missing_ok=SAGEMAKER_MISSING)


HANDLERS: dict[str, Handler] = {
    "aws-native:sagemaker:Endpoint": Handler(
        "sagemaker", endpoint_create, endpoint_delete, update=endpoint_update,
        notes="UpdateEndpoint in place (blue/green, auto-rollback, retained variant properties), waits for InService"),
}
