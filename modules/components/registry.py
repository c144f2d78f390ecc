"""Level 2: the project's model registry (a SageMaker model package group), optionally shared read-only.

Sharing (``registry.shareWith``) grants the consumer accounts read of the group and its packages. A package's
model artefact lives in the artifact bucket under ``<project>/`` and is encrypted with the stack's KMS key, so
the consumer can only load it once it may also read that prefix and decrypt with the key: see README
"Cross-account model sharing" for the two statements (bucket policy on ``<bucket>/<project>/*``, key
``kms:Decrypt``/``DescribeKey`` with ``kms:ViaService`` s3) and the consumer-side IAM grant. They are not
created here yet: the bucket takes one policy (owned by the foundation) and the key policy likewise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .base import Context, child, policy_json

READ_ONLY_ACTIONS = [
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
]


@dataclass(frozen=True)
class ModelRegistryArgs:
    ctx: Context
    project: str
    share_with: list[str] = field(default_factory=list)


class ModelRegistry(pulumi.ComponentResource):
    group: aws.sagemaker.ModelPackageGroup

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:registry:ModelRegistry", name, None, opts)
        ctx = args.ctx
        self.group_name = ctx.naming.project(args.project)
        self.group = aws.sagemaker.ModelPackageGroup(
            f"{name}-group",
            model_package_group_name=self.group_name,
            model_package_group_description=(
                f"Models of {args.project} ({ctx.spec.environment}); registered by the training pipeline as "
                f"PendingManualApproval"),
            tags=ctx.tags(project=args.project, component="registry"),
            opts=child(self, retain_on_delete=ctx.spec.environment == "prod"),
        )
        if args.share_with:
            group_arn = ctx.arn("sagemaker", f"model-package-group/{self.group_name}")
            packages_arn = ctx.arn("sagemaker", f"model-package/{self.group_name}/*")
            aws.sagemaker.ModelPackageGroupPolicy(
                f"{name}-share",
                model_package_group_name=self.group.model_package_group_name,
                resource_policy=policy_json([{
                    "Sid": "ReadOnlyForConsumerAccounts", "Effect": "Allow",
                    # partition from the provider (aws, aws-cn, aws-us-gov), not hard-coded
                    "Principal": {"AWS": [ctx.partition.apply(lambda p, a=acct: f"arn:{p}:iam::{a}:root")
                                          for acct in sorted(args.share_with)]},
                    "Action": READ_ONLY_ACTIONS,
                    "Resource": [group_arn, packages_arn],
                }]),
                opts=child(self),
            )
        self.register_outputs({"modelPackageGroupName": self.group.model_package_group_name,
                               "modelPackageGroupArn": self.group.arn})
