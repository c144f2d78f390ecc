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
import pulumi_aws as aws

from ..naming import Naming
from ..spec import Network, Project
from .base import Context, child, policy_json

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


# ---------------------------------------------------------------------------------------------------
# The endpoint
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelEndpointArgs:
    ctx: Context
    project: Project
    model_package_arn: str
    model_package_group: str
    execution_role_arn: pulumi.Input[str]
    execution_role_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]                   # bucket name
    network: Optional[Network] = None
    alarm_topic_arn: Optional[pulumi.Input[str]] = None  # alarm actions (the project's SNS topic)
    ecr_repository_arn: Optional[pulumi.Input[str]] = None


class ModelEndpoint(pulumi.ComponentResource):
    model: aws.sagemaker.Model
    endpoint_config: aws.sagemaker.EndpointConfiguration
    endpoint: aws.sagemaker.Endpoint
    alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:deployment:ModelEndpoint", name, None, opts)
        ctx, project = args.ctx, args.project
        naming, serving = ctx.naming, project.serving
        tags = ctx.tags(project=project.name, component="deployment")
        self.endpoint_name = endpoint_name(naming, project.name)
        group = args.model_package_group
        self.alarm_names = rollback_alarm_names(naming, project)

        # ---- what hosting a model from a package needs, on the project's execution role ---------------
        pull_repos: list[Any] = [ctx.partition.apply(lambda p: f"arn:{p}:ecr:{ctx.region}:*:repository/sagemaker-*")]
        if args.ecr_repository_arn is not None:
            pull_repos.append(args.ecr_repository_arn)
        package_resources: list[Any] = [ctx.arn("sagemaker", f"model-package-group/{group}"),
                                        ctx.arn("sagemaker", f"model-package/{group}/*")]
        home = package_group_arn(args.model_package_arn)
        if home is not None and home[1] != group:  # promoted from another stage's (or account's) registry
            package_resources += [f"{home[0]}:model-package-group/{home[1]}", f"{home[0]}:model-package/{home[1]}/*"]
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            name=f"endpoint-{project.name}",
            role=args.execution_role_name,
            policy=policy_json([
                {"Sid": "ReadProjectPackages", "Effect": "Allow",
                 "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
                 "Resource": package_resources},
                {"Sid": "ReadRollbackAlarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
                 "Resource": [ctx.arn("cloudwatch", f"alarm:{a}") for a in self.alarm_names]},
                {"Sid": "PullServingImages", "Effect": "Allow",
                 "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                 "Resource": pull_repos},
                {"Sid": "EcrLoginForServingImages", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                 "Resource": "*"},  # no resource-level permissions for GetAuthorizationToken
            ]),
            opts=child(self),
        )

        # ---- model from the approved package --------------------------------------------------------
        # Auto-named (like the config): a new package replaces it create-before-delete.
        model_args: dict[str, Any] = {}
        if args.network is not None:
            model_args["vpc_config"] = {"subnets": list(args.network.subnet_ids),
                                        "security_group_ids": list(args.network.security_group_ids)}
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=args.execution_role_arn,
            primary_container={"model_package_name": args.model_package_arn},
            enable_network_isolation=serving.network_isolation,
            tags=tags,
            opts=child(self, depends_on=[self.execution_policy]),
            **model_args,
        )

        # ---- endpoint configuration -----------------------------------------------------------------
        # Every field of an endpoint config forces replacement, so it has no explicit name: Pulumi appends a
        # suffix and replaces create-before-delete (delete_before_replace=False), then updates the endpoint
        # blue/green. Endpoint configs are immutable - autoscaling never writes them; it changes the running
        # endpoint's variant (DesiredInstanceCount). The initial count is ignored in diffs so a minInstances
        # change goes to the scalable target (below) instead of replacing the config, which would make
        # UpdateEndpoint reset the instance count autoscaling chose.
        self.endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            kms_key_arn=args.kms_key_arn,
            production_variants=[{
                "variant_name": VARIANT,
                "model_name": self.model.name,
                "instance_type": serving.instance_type,
                "initial_instance_count": serving.min_instances,
                "initial_variant_weight": 1.0,
            }],
            data_capture_config={
                "enable_capture": True,
                "initial_sampling_percentage": serving.data_capture_percent,
                "destination_s3_uri": pulumi.Output.from_input(args.artifact_bucket).apply(
                    lambda b: capture_destination(b, project.name)),
                "kms_key_id": args.kms_key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {"csv_content_types": ["text/csv"],
                                                "json_content_types": ["application/json"]},
            },
            tags=tags,
            opts=child(self, delete_before_replace=False,
                       ignore_changes=["productionVariants[*].initialInstanceCount"]),
        )

        # ---- auto-rollback alarms -------------------------------------------------------------------
        actions = [args.alarm_topic_arn] if args.alarm_topic_arn is not None else []
        dimensions = {"EndpointName": self.endpoint_name, "VariantName": VARIANT}
        builtin = builtin_alarm_names(naming, project)
        self.alarms = {}
        if "5xx" in builtin:
            self.alarms["5xx"] = aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-5xx",
                name=builtin["5xx"],
                alarm_description=f"{self.endpoint_name}: model returned 5XX errors; rolls back a deployment",
                namespace="AWS/SageMaker", metric_name="Invocation5XXErrors", dimensions=dimensions,
                statistic="Sum", period=60, evaluation_periods=1, datapoints_to_alarm=1,
                comparison_operator="GreaterThanThreshold", threshold=0, treat_missing_data="notBreaching",
                actions_enabled=True, alarm_actions=actions, ok_actions=actions,
                tags=tags, opts=child(self),
            )
        if "latency" in builtin:
            self.alarms["latency"] = aws.cloudwatch.MetricAlarm(
                f"{name}-alarm-latency",
                name=builtin["latency"],
                alarm_description=(f"{self.endpoint_name}: average ModelLatency above {serving.latency_limit_ms:g} ms; "
                                   f"rolls back a deployment"),
                namespace="AWS/SageMaker", metric_name="ModelLatency", dimensions=dimensions,
                statistic="Average", period=60, evaluation_periods=3, datapoints_to_alarm=2,
                comparison_operator="GreaterThanThreshold",
                threshold=serving.latency_limit_ms * 1000.0,  # ModelLatency is reported in microseconds
                treat_missing_data="notBreaching",
                actions_enabled=True, alarm_actions=actions, ok_actions=actions,
                tags=tags, opts=child(self),
            )

        # ---- the endpoint (blue/green with auto-rollback) ----------------------------------------------
        routing = serving.traffic_routing
        traffic: dict[str, Any] = {"type": routing.type, "wait_interval_in_seconds": routing.wait_interval_in_seconds}
        if routing.canary_size is not None:
            traffic["canary_size"] = {"type": routing.canary_size.type, "value": routing.canary_size.value}
        if routing.linear_step_size is not None:
            traffic["linear_step_size"] = {"type": routing.linear_step_size.type,
                                           "value": routing.linear_step_size.value}
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            deployment_config={
                "blue_green_update_policy": {
                    "traffic_routing_configuration": traffic,
                    "termination_wait_in_seconds": serving.termination_wait_in_seconds,
                    "maximum_execution_timeout_in_seconds": serving.maximum_execution_timeout_in_seconds,
                },
                "auto_rollback_configuration": {"alarms": [{"alarm_name": a} for a in self.alarm_names]},
            },
            tags=tags,
            opts=child(self, depends_on=list(self.alarms.values())),
        )

        # ---- autoscaling of the variant -------------------------------------------------------------------
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=self.endpoint.name.apply(lambda n: f"endpoint/{n}/variant/{VARIANT}"),
            min_capacity=serving.min_instances,
            max_capacity=serving.max_instances,
            tags=tags,
            opts=child(self),
        )
        self.scaling_policy = aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            name=f"{self.endpoint_name}-invocations-per-instance",
            policy_type="TargetTrackingScaling",
            service_namespace=self.scaling_target.service_namespace,
            scalable_dimension=self.scaling_target.scalable_dimension,
            resource_id=self.scaling_target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": serving.target_invocations_per_instance,
                "predefined_metric_specification": {
                    "predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
            opts=child(self),
        )

        self.register_outputs({
            "endpointName": self.endpoint.name,
            "endpointArn": self.endpoint.arn,
            "endpointConfigName": self.endpoint_config.name,
            "modelName": self.model.name,
            "rollbackAlarms": self.alarm_names,
        })
