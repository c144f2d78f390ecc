"""Level 2: the project's model registry (a SageMaker model package group), optionally shared read-only.

Sharing (``registry.shareWith``) grants the consumer accounts read of the group and its packages. A package's
model artefact lives in the artifact bucket under ``<project>/pipelines/`` and is encrypted with the stack's KMS
key, so the consumer can only load it once it may also read that prefix and decrypt with the key. The source side
is created by the foundation (:func:`share_bucket_statements`, :func:`share_key_statements`: bucket policy on
``<bucket>/<project>/pipelines/*`` only, key ``kms:Decrypt``/``DescribeKey`` only through S3); the consumer side
(its role's identity policy) by the consumer's endpoint (:func:`promoted_artefact_statements`) when the consumer
is a ladder stack, otherwise by hand (README "Cross-account model sharing").

Cross-account access needs both: the source's resource policy admitting the consumer account AND the consumer
role's identity policy (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
The sandbox evaluates identity policies only (modules/sandbox/services/iam.py), so the source-side statements are
checked by tests on the plan, not by the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from .base import Context, child, policy_json
from .sdk import aws

def shared_artefact_prefix(project: str) -> str:
    """What a shared package loads: the pipeline outputs (model.tar.gz, metrics, baselines), not code or data."""
    return f"{project}/pipelines/"


def share_bucket_statements(project: str, accounts: list[str], bucket_arn, partition) -> list[dict]:
    """Artifact-bucket policy statement: the consumer accounts read ``<project>/pipelines/*`` and nothing else."""
    return [{
        "Sid": f"SharedModelArtefacts{''.join(w.capitalize() for w in project.split('-'))}", "Effect": "Allow",
        "Principal": {"AWS": [partition.apply(lambda p, a=a: f"arn:{p}:iam::{a}:root") for a in sorted(accounts)]},
        "Action": "s3:GetObject",
        "Resource": pulumi.Output.from_input(bucket_arn).apply(lambda b: f"{b}/{shared_artefact_prefix(project)}*"),
    }]


def share_key_statements(accounts: list[str], region: str, partition) -> list[dict]:
    """Key-policy statement: consumer accounts decrypt only through S3 in the key's region (kms:ViaService)."""
    return [{
        "Sid": "SharedModelArtefactsDecryptThroughS3", "Effect": "Allow",
        "Principal": {"AWS": [partition.apply(lambda p, a=a: f"arn:{p}:iam::{a}:root") for a in sorted(accounts)]},
        "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
    }]


def promoted_artefact_statements(home: tuple[str, str], org: str, project: str) -> list[dict] | None:
    """Consumer side: the serving role reads a package promoted from another stage's (or account's) group.

    ``home`` is (``arn:<partition>:sagemaker:<region>:<account>``, group) of the package. A ladder group is named
    ``<org>-<env>-<project>``, so the source's artifact bucket is ``<org>-<env>-artifacts-<suffix>`` and its key
    carries the alias ``alias/<org>-<env>-data``: the key is granted by alias (``kms:ResourceAliases``, AWS KMS
    "Use aliases to control access to KMS keys") and only through S3. None when the group is not a ladder name
    (the caller says so in a plan note).
    """
    head, group = home
    parts = head.split(":")
    if len(parts) != 5 or not group.startswith(f"{org}-") or not group.endswith(f"-{project}"):
        return None
    env = group[len(org) + 1:-len(project) - 1]
    if not env:
        return None
    _, partition, _, region, account = parts
    return [
        {"Sid": "ReadPromotedModelArtefacts", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:{partition}:s3:::{org}-{env}-artifacts-*/{shared_artefact_prefix(project)}*"},
        {"Sid": "DecryptPromotedModelArtefacts", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"],
         "Resource": f"arn:{partition}:kms:{region}:{account}:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                       "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{org}-{env}-data"}}},
    ]


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
