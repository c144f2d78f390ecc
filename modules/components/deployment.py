"""Level 3: approval event -> deploy trigger, and the real-time endpoint from an approved model package.

Two components per project:

- :class:`ApprovalEvents` (capability ``approval_events``): a KMS-encrypted SNS topic for people and an
  EventBridge rule on "SageMaker Model Package State Change" (the project's group, ``Approved``) that notifies
  the topic and sends a GitHub ``repository_dispatch`` (``model-approved``, ``client_payload`` {environment,
  project, model_package_arn}) through an API destination to the PLATFORM repository
  (``mlops:github.platformRepository``), whose deploy workflow (.github/workflows/deploy.yml) deploys this stack.
- :class:`ModelEndpoint` (capability ``endpoint``, only once ``serving.modelPackageArn`` is set): model from the
  package, auto-named endpoint config (KMS, data capture), endpoint with blue/green deployment guardrails and
  auto-rollback alarms, autoscaling of the variant.

No AWS call and no resource inside ``apply()``; every physical name comes from the naming helper.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from ..naming import Naming
from ..spec import Project
from .base import Context, child, policy_json
from .sdk import aws

VARIANT = "AllTraffic"
DISPATCH_EVENT_TYPE = "model-approved"
GITHUB_API = "https://api.github.com"
TOKEN_CONFIG_KEY = "githubToken"  # pulumi config set --secret mlops:githubToken <token>
TOKEN_PLACEHOLDER = "MISSING-mlops-githubToken-run-pulumi-config-set-secret"


def _is_encrypted(raw: object) -> bool:
    """``{"secure": "v1:..."}`` (a stack file's encrypted value, as structured config reaches the program)."""
    if not isinstance(raw, str) or not raw.lstrip().startswith("{"):
        return False
    try:
        doc = json.loads(raw)
    except ValueError:
        return False
    return isinstance(doc, dict) and set(doc) == {"secure"}


# ---------------------------------------------------------------------------------------------------
# Names and documents derived from the spec (pure; the platform and the contract use them too)
# ---------------------------------------------------------------------------------------------------

def endpoint_name(naming: Naming, project: str) -> str:
    return naming.project(project)


def builtin_alarm_names(naming: Naming, project: Project) -> dict[str, str]:
    """role -> alarm name of the alarms this component creates (per the spec's switches)."""
    base = endpoint_name(naming, project.name)
    out = {}
    if project.serving.error_alarm:
        out["5xx"] = f"{base}-5xx-errors"
    if project.serving.latency_alarm:
        out["latency"] = f"{base}-model-latency"
    return out


def rollback_alarm_names(naming: Naming, project: Project) -> list[str]:
    """Every alarm the endpoint's auto-rollback watches: the built-in ones, then the spec's extra names."""
    return [*builtin_alarm_names(naming, project).values(), *project.serving.rollback_alarms]


def approval_event_pattern(model_package_group: str) -> dict[str, Any]:
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": [model_package_group], "ModelApprovalStatus": ["Approved"]},
    }


def package_group_arn(model_package_arn: str) -> tuple[str, str] | None:
    """(``arn:<partition>:sagemaker:<region>:<account>``, group) of a versioned model package ARN."""
    head, sep, rest = model_package_arn.partition(":model-package/")
    if not sep or "/" not in rest:
        return None
    return head, rest.split("/", 1)[0]


def capture_destination(bucket: str, project: str) -> str:
    return f"s3://{bucket}/capture/{project}/"


def _events_assume_role(ctx: Context, rule_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    return policy_json([{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                      "ArnEquals": {"aws:SourceArn": rule_arn}},
    }])


def dispatch_url(platform_repository: str) -> str:
    """GitHub's "create a repository dispatch event" endpoint of the platform repository
    (https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event)."""
    return f"{GITHUB_API}/repos/{platform_repository}/dispatches"


def dispatch_template(environment: str, project: str) -> str:
    """The input template of the approval rule's API-destination target: ``event_type`` ``model-approved`` and a
    ``client_payload`` naming this stack's environment, the project and the approved package (``<arn>`` is the
    event's ``$.detail.ModelPackageArn``). The platform repository's deploy workflow runs in the GitHub
    environment the payload names (allowlisted) and deploys that stack."""
    return json.dumps({"event_type": DISPATCH_EVENT_TYPE,
                       "client_payload": {"environment": environment, "project": project,
                                          "model_package_arn": "<arn>"}})


# ---------------------------------------------------------------------------------------------------
# Approval events
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ApprovalEventsArgs:
    ctx: Context
    project: Project
    platform_repository: str                         # <owner>/<name> of the platform repository on GitHub
    model_package_group: str
    kms_key_arn: pulumi.Input[str]
    github_token: Optional[pulumi.Input[str]] = None  # None: read the secret config mlops:githubToken


class ApprovalEvents(pulumi.ComponentResource):
    topic: aws.sns.Topic
    rule: aws.cloudwatch.EventRule
    dispatch_role: aws.iam.Role
    api_destination: aws.cloudwatch.EventApiDestination
    connection: aws.cloudwatch.EventConnection

    def __init__(self, name: str, args: ApprovalEventsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:deployment:ApprovalEvents", name, None, opts)
        ctx, project = args.ctx, args.project
        naming = ctx.naming
        tags = ctx.tags(project=project.name, component="deployment")
        self.notes: list[str] = []

        # ---- SNS topic for people (approvals now, rollback/drift alarms too), KMS-encrypted ---------
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=naming.project(project.name, "notifications"),
            display_name=f"mlops {ctx.spec.environment} {project.name}",
            kms_master_key_id=args.kms_key_arn,
            tags=tags,
            opts=child(self),
        )

        # ---- the approval rule ----------------------------------------------------------------------
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            name=naming.project(project.name, "model-approved"),
            description=f"A model package of {args.model_package_group} was approved: notify and deploy",
            event_pattern=json.dumps(approval_event_pattern(args.model_package_group), sort_keys=True),
            state="ENABLED",
            tags=tags,
            opts=child(self),
        )
        account_root = ctx.arn("iam", "root", region=False)
        self.topic_policy = aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=self.topic.arn,
            policy=policy_json([
                {"Sid": "AccountManagesTopic", "Effect": "Allow", "Principal": {"AWS": account_root},
                 "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
                            "sns:ListSubscriptionsByTopic", "sns:Publish"],
                 "Resource": self.topic.arn},
                {"Sid": "ApprovalRulePublishes", "Effect": "Allow",
                 "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
                 "Resource": self.topic.arn, "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}}},
                # level 4's failed-monitoring rule (exact name, this account); declared from level 3 on so that
                # raising the level only adds resources and never rewrites this policy
                {"Sid": "MonitorFailureRulePublishes", "Effect": "Allow",
                 "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
                 "Resource": self.topic.arn,
                 "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                               "ArnEquals": {"aws:SourceArn": ctx.arn(
                                   "events", f"rule/{naming.project(project.name, 'monitor-failed')}")}}},
                {"Sid": "ProjectAlarmsPublish", "Effect": "Allow",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
                 "Resource": self.topic.arn,
                 "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id},
                               "ArnLike": {"aws:SourceArn": ctx.arn(
                                   "cloudwatch", f"alarm:{naming.project(project.name)}-*")}}},
                {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                 "Resource": self.topic.arn, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ]),
            opts=child(self),
        )
        self.notify_target = aws.cloudwatch.EventTarget(
            f"{name}-notify",
            rule=self.rule.name,
            target_id="notify-people",
            arn=self.topic.arn,
            input_transformer={
                "input_paths": {"arn": "$.detail.ModelPackageArn", "group": "$.detail.ModelPackageGroupName"},
                "input_template": (f'"Model package <arn> of <group> was approved; asking the platform repository '
                                   f'{args.platform_repository} to deploy it to {ctx.spec.environment} '
                                   f'(repository_dispatch {DISPATCH_EVENT_TYPE})."'),
            },
            opts=child(self, depends_on=[self.topic_policy]),
        )

        # ---- the role EventBridge uses for the dispatch (one action, one resource) --------------------
        self.dispatch_role = aws.iam.Role(
            f"{name}-dispatch-role",
            name=naming.approval_dispatch_role(project.name),
            description=(f"EventBridge: send the {DISPATCH_EVENT_TYPE} dispatch of {project.name} to "
                         f"{args.platform_repository} on approval, nothing else"),
            assume_role_policy=_events_assume_role(ctx, self.rule.arn),
            max_session_duration=3600,
            tags=tags,
            opts=child(self),
        )
        self._github(name, args)

        self.register_outputs({
            "topicArn": self.topic.arn,
            "ruleArn": self.rule.arn,
            "dispatchUrl": dispatch_url(args.platform_repository),
            "apiDestinationArn": self.api_destination.arn,
        })

    # ---- GitHub repository_dispatch to the platform repository -----------------------------------------
    def _github(self, name: str, args: ApprovalEventsArgs) -> None:
        ctx, project = args.ctx, args.project
        naming = ctx.naming
        repo = args.platform_repository
        token = args.github_token
        encrypted = False
        if token is None:
            # Read raw first: the Pulumi CLI hands the program decrypted values, but the offline engines (plan,
            # check, sandbox) cannot decrypt a stack file's `{secure: v1:...}`; that ciphertext is no token.
            raw = pulumi.runtime.get_config(f"mlops:{TOKEN_CONFIG_KEY}")
            encrypted = _is_encrypted(raw)
            if not encrypted:
                token = pulumi.Config("mlops").get_secret(TOKEN_CONFIG_KEY)
        if token is None and encrypted:
            token = pulumi.Output.secret(TOKEN_PLACEHOLDER)
            self.notes.append(
                f"{project.name}: mlops:{TOKEN_CONFIG_KEY} is Pulumi-encrypted ({{secure: ...}}) and cannot be "
                f"decrypted offline, so it is not used here: the GitHub connection gets a placeholder; "
                f"`pulumi up` decrypts it with the stack's secrets provider")
        if token is None:
            token = pulumi.Output.secret(TOKEN_PLACEHOLDER)
            self.notes.append(
                f"{project.name}: no GitHub token; the model-approved dispatch to {repo} will fail "
                f"until `pulumi config set --secret mlops:{TOKEN_CONFIG_KEY} <token>` (a fine-grained token on "
                f"{repo} only, Contents: read and write, which GitHub requires for repository_dispatch)")
        self.connection = aws.cloudwatch.EventConnection(
            f"{name}-github-connection",
            name=naming.project(project.name, "github"),
            description=f"GitHub API for {repo} (token kept by EventBridge in Secrets Manager)",
            authorization_type="API_KEY",
            auth_parameters={"api_key": {
                "key": "Authorization",
                "value": pulumi.Output.secret(token).apply(lambda t: f"Bearer {t}"),  # secret end to end
            }},
            opts=child(self),
        )
        self.api_destination = aws.cloudwatch.EventApiDestination(
            f"{name}-github-dispatch",
            name=naming.project(project.name, "github"),
            description=f"repository_dispatch '{DISPATCH_EVENT_TYPE}' on the platform repository {repo}",
            connection_arn=self.connection.arn,
            http_method="POST",
            invocation_endpoint=dispatch_url(repo),
            invocation_rate_limit_per_second=1,
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-dispatch-policy",
            name="invoke-github-dispatch",
            role=self.dispatch_role.id,
            policy=policy_json([{"Sid": "InvokeThisApiDestinationOnly", "Effect": "Allow",
                                 "Action": "events:InvokeApiDestination",
                                 "Resource": self.api_destination.arn}]),
            opts=child(self),
        )
        self.dispatch_target = aws.cloudwatch.EventTarget(
            f"{name}-dispatch",
            rule=self.rule.name,
            target_id="github-dispatch",
            arn=self.api_destination.arn,
            role_arn=self.dispatch_role.arn,
            http_target={"header_parameters": {"Accept": "application/vnd.github+json",
                                               "X-GitHub-Api-Version": "2022-11-28"}},
            input_transformer={"input_paths": {"arn": "$.detail.ModelPackageArn"},
                               "input_template": dispatch_template(ctx.spec.environment, project.name)},
            retry_policy={"maximum_retry_attempts": 10, "maximum_event_age_in_seconds": 3600},
            opts=child(self),
        )


# The endpoint itself (ModelEndpoint) is in modules/components/endpoint.py.
