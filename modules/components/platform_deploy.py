"""Level 3: the deploy identity - the role the PLATFORM repository's deploy workflow assumes for ``pulumi up``.

One role per stack (environment), ``<org>-<env>-platform-deploy``:

- **trust**: GitHub Actions OIDC, exactly ``repo:<platformRepository>:environment:<env>`` and the audience
  ``sts.amazonaws.com`` (StringEquals, no wildcard). Only a job of the platform repository that runs in the GitHub
  environment of this stack - after that environment's protection rules (prod: required reviewers) - can assume
  it; no ML repository, branch or pull request can
  (https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/
  about-security-hardening-with-openid-connect#example-subject-claims).
- **policy**: what ``pulumi up`` of THIS stack needs, scoped to the stack's own names ``<org>-<env>-*`` (buckets,
  roles, ECR, SageMaker, EventBridge, SNS, CloudWatch, Scheduler, the connection secrets), its SSM prefix
  ``/mlops/<env>/``, and for what carries no name of ours (the KMS key, auto-named SageMaker models and endpoint
  configs, monitoring job definitions) the tag ``mlops:environment=<env>`` the naming helper puts on every
  resource. ``iam:PassRole`` only to the stack's roles and only to SageMaker, EventBridge and Scheduler
  (``iam:PassedToService``). No IAM right on any other role, no write on the account's GitHub OIDC provider
  (shared by every stack in the account), and the role may not change itself.

What is still broad, and why (best effort, see ``BROAD``):

- within its own names the role has verb families (``sagemaker:Create*``/``Update*``/``Delete*``/``Describe*``,
  ``s3:PutBucket*`` ...): ``pulumi up`` creates, updates, tags, reads and deletes them, and one action per
  resource type and operation would not fit IAM's 10,240-character inline quota; no ``<service>:*`` anywhere
  (LADDER-IAM-004), no object writes to the buckets;
- it writes the policies of the stack's own roles (that is what ``pulumi up`` of the stack does), so it could widen
  one of them; a permissions boundary on every stack role would bound that and is not built yet;
- Application Auto Scaling on every scalable target of the account: scalable targets have id-based ARNs;
- a few read-only List/Describe calls on ``*`` that have no resource-level permissions;
- Cloud Control (``cloudformation:*Resource``, for the pulumi-aws-native resources) on ``*``: it has no
  resource-level permissions; the SageMaker calls it makes with the role's credentials stay scoped.

The role is part of the stack it deploys: the first ``pulumi up`` of a stack runs with an administrator's
credentials (it creates this role); after that the workflow deploys, but a change to this role itself needs an
administrator again (the role is denied writes on itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from .base import Context, child, policy_json
from .delivery import GITHUB_OIDC_HOST, environment_subject, github_trust
from .sdk import aws

TAG_KEY = "mlops:environment"
PASSED_TO = ["sagemaker.amazonaws.com", "events.amazonaws.com", "scheduler.amazonaws.com"]
# Environments a stack promotes from (read-only: describe the package being promoted). `ladder promote` copies
# staging's package into prod; nothing else crosses environments.
PROMOTES_FROM = {"prod": ("staging",)}
# Read-only calls without resource-level permissions (Service Authorization Reference: no resource type).
GLOBAL_READS = ["kms:ListAliases", "ssm:DescribeParameters", "iam:ListOpenIDConnectProviders",
                "sagemaker:ListModelPackages", "sagemaker:ListModelPackageGroups", "sagemaker:ListPipelines",
                "sagemaker:ListEndpoints", "application-autoscaling:DescribeScalableTargets",
                "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:DescribeScalingActivities"]
CLOUD_CONTROL_ACTIONS = ["cloudformation:CreateResource", "cloudformation:GetResource", "cloudformation:UpdateResource",
                         "cloudformation:DeleteResource", "cloudformation:GetResourceRequestStatus",
                         "cloudformation:ListResources"]
BROAD = ("verb families (Create*/Update*/Delete*/Describe*...) within the stack's own names and tags",
         "writes to the stack's own roles' policies (no permissions boundary yet)",
         "Application Auto Scaling on every scalable target of the account (ids, not names)",
         "read-only List/Describe calls without resource-level permissions on *",
         "Cloud Control (aws-native resources) on *: it has no resource-level permissions")

IAM_ROLE_ACTIONS = [
    "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
    "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
    "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
]
KMS_KEY_ACTIONS = [
    "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
    "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
    "kms:ScheduleKeyDeletion", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
    "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*",
]
# Buckets only: bucket configuration, never object writes (s3:PutObject is not in these families).
S3_BUCKET_ACTIONS = ["s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucket*", "s3:PutBucket*",
                     "s3:DeleteBucketPolicy", "s3:DeleteBucketOwnershipControls", "s3:Get*Configuration",
                     "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"]
SAGEMAKER_ACTIONS = ["sagemaker:Create*", "sagemaker:Update*", "sagemaker:Delete*", "sagemaker:Describe*",
                     "sagemaker:Put*", "sagemaker:Get*", "sagemaker:AddTags", "sagemaker:ListTags",
                     "sagemaker:InvokeEndpoint", "sagemaker:StartMonitoringSchedule",
                     "sagemaker:StopMonitoringSchedule"]
SSM_ACTIONS = ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:GetParameter",
               "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource",
               "ssm:ListTagsForResource"]
TAG_ACTIONS = ["TagResource", "UntagResource", "ListTagsForResource"]
SCHEDULER_ACTIONS = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
                     "scheduler:GetSchedule", *(f"scheduler:{a}" for a in TAG_ACTIONS)]
EVENTS_ACTIONS = ["events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:EnableRule",
                  "events:DisableRule", "events:PutTargets", "events:RemoveTargets", "events:ListTargetsByRule",
                  "events:*Connection", "events:*ApiDestination", *(f"events:{a}" for a in TAG_ACTIONS)]
SNS_ACTIONS = ["sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes",
               *(f"sns:{a}" for a in TAG_ACTIONS)]
CLOUDWATCH_ACTIONS = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
                      "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
                      *(f"cloudwatch:{a}" for a in TAG_ACTIONS)]
SCALING_ACTIONS = ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
                   "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
                   *(f"application-autoscaling:{a}" for a in TAG_ACTIONS)]
ECR_ACTIONS = ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:DescribeRepositories", "ecr:*RepositoryPolicy",
               "ecr:*LifecyclePolicy", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability",
               *(f"ecr:{a}" for a in TAG_ACTIONS)]


def deploy_role_statements(ctx: Context) -> list[dict[str, Any]]:
    """The deploy role's policy: ``pulumi up`` of this stack, nothing of another environment's (pure)."""
    naming, env = ctx.naming, ctx.spec.environment
    prefix = naming.base() + "-"  # "<org>-<env>-"
    own_tag = {"StringEquals": {f"aws:ResourceTag/{TAG_KEY}": env}}
    # creating: the request carries the tag (a Create* of an existing name fails). Tagging an existing resource is
    # in the own-tag statements only, so another environment's resource cannot be re-tagged into this one.
    new_tag = {"StringEquals": {f"aws:RequestTag/{TAG_KEY}": env}}

    def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> pulumi.Output[str]:
        return ctx.arn(service, resource, region=region, account=account)

    statements: list[dict[str, Any]] = [
        {"Sid": "StackBuckets", "Effect": "Allow", "Action": S3_BUCKET_ACTIONS,
         "Resource": arn("s3", f"{prefix}*", region=False, account=False)},
        {"Sid": "StackRoles", "Effect": "Allow", "Action": IAM_ROLE_ACTIONS,
         "Resource": arn("iam", f"role/{prefix}*", region=False)},
        {"Sid": "PassStackRolesToItsServices", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": arn("iam", f"role/{prefix}*", region=False),
         "Condition": {"StringEquals": {"iam:PassedToService": PASSED_TO}}},
        {"Sid": "EndpointScalingServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
         "Resource": arn("iam", "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint", region=False),
         "Condition": {"StringEquals": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}}},
        {"Sid": "ReadSharedGitHubOidcProvider", "Effect": "Allow", "Action": "iam:GetOpenIDConnectProvider",
         "Resource": arn("iam", f"oidc-provider/{GITHUB_OIDC_HOST}", region=False)},
        {"Sid": "CreateStackKey", "Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": new_tag},
        {"Sid": "StackKey", "Effect": "Allow", "Action": KMS_KEY_ACTIONS, "Resource": arn("kms", "key/*"),
         "Condition": own_tag},
        {"Sid": "StackKeyGrantsForAwsServices", "Effect": "Allow", "Action": ["kms:CreateGrant", "kms:RetireGrant"],
         "Resource": arn("kms", "key/*"),
         "Condition": {**own_tag, "Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "StackKeyAlias", "Effect": "Allow", "Action": ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
         "Resource": arn("kms", f"alias/{prefix}*")},
        {"Sid": "StackEcrRepositories", "Effect": "Allow",
         "Action": ECR_ACTIONS,
         "Resource": arn("ecr", f"repository/{prefix}*")},
        {"Sid": "StackSageMakerByName", "Effect": "Allow", "Action": SAGEMAKER_ACTIONS,
         "Resource": arn("sagemaker", f"*/{prefix}*")},
        # auto-named (create-before-delete) models, endpoint configs and job definitions carry no name of ours
        {"Sid": "StackSageMakerByTag", "Effect": "Allow", "Action": SAGEMAKER_ACTIONS, "Resource": arn("sagemaker", "*"),
         "Condition": own_tag},
        # SageMaker authorizes the tags of a Create* as sagemaker:AddTags on the new (still untagged) resource
        {"Sid": "CreateTaggedSageMaker", "Effect": "Allow", "Action": ["sagemaker:Create*", "sagemaker:AddTags"],
         "Resource": arn("sagemaker", "*"),
         "Condition": {**new_tag, "Null": {f"aws:ResourceTag/{TAG_KEY}": "true"}}},
        {"Sid": "StackContract", "Effect": "Allow", "Action": SSM_ACTIONS,
         "Resource": arn("ssm", f"parameter{naming.ssm_prefix('')}*")},
        {"Sid": "StackSchedules", "Effect": "Allow", "Action": SCHEDULER_ACTIONS,
         "Resource": arn("scheduler", f"schedule/*/{prefix}*")},
        {"Sid": "StackEventBridge", "Effect": "Allow", "Action": EVENTS_ACTIONS,
         "Resource": [arn("events", f"rule/{prefix}*"), arn("events", f"connection/{prefix}*"),
                      arn("events", f"api-destination/{prefix}*")]},
        # EventBridge keeps a connection's credentials in a Secrets Manager secret it creates as the caller
        # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html)
        {"Sid": "StackConnectionSecrets", "Effect": "Allow",
         "Action": ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource"],
         "Resource": arn("secretsmanager", f"secret:events!connection/{prefix}*")},
        {"Sid": "StackTopics", "Effect": "Allow", "Action": SNS_ACTIONS, "Resource": arn("sns", f"{prefix}*")},
        {"Sid": "StackAlarmsAndDashboards", "Effect": "Allow", "Action": CLOUDWATCH_ACTIONS,
         "Resource": [arn("cloudwatch", f"alarm:{prefix}*"), arn("cloudwatch", f"dashboard/{prefix}*", region=False)]},
        {"Sid": "EndpointAutoscaling", "Effect": "Allow", "Action": SCALING_ACTIONS,
         "Resource": arn("application-autoscaling", "scalable-target/*")},
        # pulumi-aws-native resources (the endpoint with RetainAllVariantProperties, Clarify/quality monitors) go
        # through Cloud Control, which has no resource-level permissions
        # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_cloudcontrol.html); it calls
        # SageMaker with the caller's credentials, so the SageMaker statements above still scope what it changes
        {"Sid": "CloudControlForAwsNative", "Effect": "Allow", "Action": CLOUD_CONTROL_ACTIONS, "Resource": "*"},
        {"Sid": "ReadOnlyWithoutResourceLevel", "Effect": "Allow", "Action": GLOBAL_READS, "Resource": "*"},
        {"Sid": "DenyChangingThisRole", "Effect": "Deny", "NotAction": ["iam:Get*", "iam:List*"],
         "Resource": arn("iam", f"role/{naming.platform_deploy_role()}", region=False)},
    ]
    sources = PROMOTES_FROM.get(env, ())
    if sources:
        statements.insert(-1, {
            "Sid": "DescribePromotedPackages", "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            "Resource": [r for s in sources for r in (
                arn("sagemaker", f"model-package-group/{naming.org}-{s}-*"),
                arn("sagemaker", f"model-package/{naming.org}-{s}-*"))]})
    return statements


@dataclass(frozen=True)
class PlatformDeployArgs:
    ctx: Context
    platform_repository: str                 # <owner>/<name> on GitHub
    oidc_provider_arn: pulumi.Input[str]


class PlatformDeploy(pulumi.ComponentResource):
    role: aws.iam.Role

    def __init__(self, name: str, args: PlatformDeployArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:deploy:PlatformDeploy", name, None, opts)
        ctx = args.ctx
        env = ctx.spec.environment
        self.subject = environment_subject(args.platform_repository, env)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=ctx.naming.platform_deploy_role(),
            description=(f"pulumi up of the {env} stack by {args.platform_repository}'s deploy workflow in the "
                         f"GitHub environment {env} (OIDC); nothing else can assume it"),
            assume_role_policy=policy_json([github_trust(args.oidc_provider_arn, self.subject)]),
            max_session_duration=3600,
            tags=ctx.tags(component="deploy"),
            opts=child(self),
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy", name="pulumi-up-this-stack", role=self.role.id,
            policy=policy_json(deploy_role_statements(ctx)), opts=child(self))
        self.register_outputs({"roleArn": self.role.arn, "subject": self.subject})
