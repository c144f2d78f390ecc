"""Level 2: the project contract - the names a project repository needs, published as SSM parameters.

Generated repositories read ``/mlops/<env>/<project>/<key>`` at run time instead of hard-coding names.
The contract carries a version so repositories can refuse a contract they do not understand.
Keys added in the same major version: ``code-root`` (``s3://<bucket>/<project>/code/``: run_pipeline uploads
``<root><CodeVersion>/``), ``data-prefix`` (the pipeline's default InputDataUrl); ``execution-role-arn`` is the
project's own role at level 2+.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from .base import Context, child
from .sdk import aws

CONTRACT_VERSION = "1"
# Keys a contract may publish, in order; the platform publishes those whose capability is enabled.
KEYS = ("artifact-bucket", "code-prefix", "code-root", "data-prefix", "execution-role-arn", "kms-key-arn", "model-package-group",
        "pipeline-name", "ecr-repository", "endpoint-name", "rollback-alarms", "region", "contract-version")


@dataclass(frozen=True)
class ProjectContractArgs:
    ctx: Context
    project: str
    values: dict[str, pulumi.Input[str]]


class ProjectContract(pulumi.ComponentResource):
    def __init__(self, name: str, args: ProjectContractArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:contract:ProjectContract", name, None, opts)
        ctx = args.ctx
        prefix = ctx.naming.ssm_prefix(args.project)
        unknown = set(args.values) - set(KEYS)
        if unknown:
            raise ValueError(f"unknown contract keys: {sorted(unknown)}")
        values = {**args.values, "contract-version": CONTRACT_VERSION, "region": ctx.region}
        self.parameters: dict[str, aws.ssm.Parameter] = {}
        for key in KEYS:
            if key not in values:
                continue
            self.parameters[key] = aws.ssm.Parameter(
                f"{name}-{key}",
                name=f"{prefix}/{key}",
                type="String",
                tier="Standard",
                value=values[key],
                description=f"mlops-ladder contract v{CONTRACT_VERSION}: {key} of {args.project}",
                tags=ctx.tags(project=args.project, component="contract"),
                opts=child(self),
            )
        self.register_outputs({"prefix": prefix, "keys": sorted(self.parameters)})
