"""Level 1: per project an ECR repository and a CI role trusted only by GitHub OIDC for its repository.

The GitHub OIDC provider is one per URL per account: a stack creates it (``GitHubOidc``) unless the spec
gives ``github.oidcProviderArn`` of an existing one (dev/staging/prod in one account share it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi

from .base import Context, child, policy_json
from .sdk import aws

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


def main_branch_subject(repository: str) -> str:
    """The OIDC ``sub`` of a workflow run on ``main`` (push, schedule, dispatch; no job environment)."""
    return f"repo:{repository}:ref:refs/heads/main"


def environment_subject(repository: str, environment: str) -> str:
    """The OIDC ``sub`` of a job that runs in a GitHub environment (its protection rules apply first)."""
    return f"repo:{repository}:environment:{environment}"


def github_trust(provider_arn: pulumi.Input[str], subject: str) -> dict:
    """Trust statement for GitHub Actions OIDC: exactly one ``sub`` (StringEquals, no wildcard) and our audience.

    ``repo:<o>/<r>:*`` would admit every branch, pull request and environment of the repository: any branch
    could then use the role. GitHub's ``sub`` claim is ``repo:<o>/<r>:ref:refs/heads/<branch>`` for a job
    without an environment and ``repo:<o>/<r>:environment:<name>`` for one with
    (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/
    about-security-hardening-with-openid-connect#example-subject-claims). A pull-request role is not created:
    the generated CI runs no AWS call on pull requests.
    """
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
                                       f"{GITHUB_OIDC_HOST}:sub": subject}},
    }


class GitHubOidc(pulumi.ComponentResource):
    """The account's GitHub Actions OIDC identity provider (created once)."""

    def __init__(self, name: str, ctx: Context, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:delivery:GitHubOidc", name, None, opts)
        self.provider = aws.iam.OpenIdConnectProvider(
            f"{name}-provider", url=GITHUB_OIDC_URL, client_id_lists=["sts.amazonaws.com"],
            tags=ctx.tags(component="delivery"), opts=child(self, retain_on_delete=True))
        self.arn = self.provider.arn
        self.register_outputs({"arn": self.arn})


@dataclass(frozen=True)
class ProjectDeliveryArgs:
    ctx: Context
    project: str
    repository: str  # GitHub <owner>/<name>
    kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str] | None
    with_registry: bool = True
    with_ci_identity: bool = True


class ProjectDelivery(pulumi.ComponentResource):
    """ECR repository (scan on push, immutable tags, KMS, lifecycle) and the project's CI role."""

    repository: aws.ecr.Repository | None = None
    ci_role: aws.iam.Role | None = None

    def __init__(self, name: str, args: ProjectDeliveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:delivery:ProjectDelivery", name, None, opts)
        ctx = args.ctx
        naming = ctx.naming
        tags = ctx.tags(project=args.project, component="delivery")
        outputs: dict[str, pulumi.Input[str]] = {}

        if args.with_registry:
            self.repository = aws.ecr.Repository(
                f"{name}-ecr",
                name=naming.project(args.project),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
                force_delete=False,
                tags=tags,
                opts=child(self, retain_on_delete=True, protect=ctx.spec.environment == "prod"),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-ecr-lifecycle",
                repository=self.repository.name,
                policy=json.dumps({"rules": [
                    {"rulePriority": 1, "description": "expire untagged images after 14 days",
                     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                                   "countUnit": "days", "countNumber": 14},
                     "action": {"type": "expire"}},
                    {"rulePriority": 2, "description": "keep the newest 100 tagged images",
                     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100},
                     "action": {"type": "expire"}},
                ]}, sort_keys=True),
                opts=child(self),
            )
            outputs["ecrRepositoryUrl"] = self.repository.repository_url
            outputs["ecrRepositoryName"] = self.repository.name

        if args.with_ci_identity:
            assert args.oidc_provider_arn is not None
            self.ci_role = aws.iam.Role(
                f"{name}-ci-role",
                name=naming.project(args.project, "ci"),
                description=f"GitHub Actions of {args.repository} on main (OIDC); nothing else can assume it",
                assume_role_policy=policy_json([github_trust(args.oidc_provider_arn,
                                                             main_branch_subject(args.repository))]),
                max_session_duration=3600,
                tags=tags,
                opts=child(self),
            )
            statements: list[dict] = [
                {"Sid": "ReadProjectContract", "Effect": "Allow",
                 "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                 "Resource": [ctx.arn("ssm", f"parameter{naming.ssm_prefix(args.project)}"),
                              ctx.arn("ssm", f"parameter{naming.ssm_prefix(args.project)}/*")]},
            ]
            if self.repository is not None:
                statements += [
                    {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                     "Resource": "*"},  # GetAuthorizationToken has no resource-level permissions
                    {"Sid": "PushProjectImages", "Effect": "Allow",
                     "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                "ecr:CompleteLayerUpload", "ecr:GetDownloadUrlForLayer",
                                "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
                                "ecr:DescribeImages", "ecr:DescribeImageScanFindings"],
                     "Resource": self.repository.arn},
                    {"Sid": "EncryptImageLayers", "Effect": "Allow",
                     "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                     "Resource": args.kms_key_arn},
                ]
            aws.iam.RolePolicy(f"{name}-ci-policy", name="delivery", role=self.ci_role.id,
                               policy=policy_json(statements), opts=child(self))
            outputs["ciRoleArn"] = self.ci_role.arn

        self.register_outputs(outputs)
