"""Sandbox handlers for the pulumi-aws-native Model Monitor job definitions (what pulumi-aws has no resource for):
``aws-native:sagemaker:ModelQualityJobDefinition``, ``ModelBiasJobDefinition``, ``ModelExplainabilityJobDefinition``.

Inputs are Cloud Control's (camelCase of the CloudFormation properties; ``tags`` a list of ``{key, value}``) and map
one to one onto ``Create<Type>JobDefinition`` (botocore-validated, emulated by moto, which stores them), except
``endpointName``: a CloudFormation-only property (the endpoint is named inside the job input), used for nothing
by the API. The outputs are the inputs plus ``jobDefinitionArn`` and ``creationTime`` (the provider's read-only
properties). Tags are create-only in the schema (a change replaces the resource), so there is no retag; delete is
``Delete<Type>JobDefinition``. The schedules stay pulumi-aws ``MonitoringSchedule`` resources.
"""

from __future__ import annotations

import time
from typing import Any

from .aws import integral
from .handlers import SAGEMAKER_MISSING, Ctx, Handler, Realised, Request, params_for, physical

CFN_ONLY = ("endpointName",)  # AWS::SageMaker::*JobDefinition.EndpointName: not an API member


def _job_definition(kind: str) -> Handler:
    create_op, delete_op = f"Create{kind}JobDefinition", f"Delete{kind}JobDefinition"

    def create(ctx: Ctx, req: Request) -> Realised:
        name = physical(req, "jobDefinitionName", None)
        params = params_for(req, "sagemaker", create_op, ignore=("jobDefinitionName", *CFN_ONLY),
                            extra={"JobDefinitionName": name})
        resp = ctx.aws.call("sagemaker", create_op, params) or {}
        arn = resp.get("JobDefinitionArn") or ctx.arn("sagemaker", f"{_kebab(kind)}-job-definition/{name}")
        outputs = integral(dict(req.inputs))
        outputs.update(jobDefinitionName=name, jobDefinitionArn=arn,
                       creationTime=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return Realised(name, outputs)

    def delete(ctx: Ctx, id_: str, outputs: dict[str, Any]) -> None:
        ctx.aws.call("sagemaker", delete_op, {"JobDefinitionName": id_}, missing_ok=SAGEMAKER_MISSING)

    return Handler("sagemaker", create, delete, None,
                   f"{create_op}: every input but the CloudFormation-only endpointName; tags are create-only")


def _kebab(kind: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(kind))


HANDLERS: dict[str, Handler] = {
    f"aws-native:sagemaker:{kind}JobDefinition": _job_definition(kind)
    for kind in ("ModelQuality", "ModelBias", "ModelExplainability")
}
