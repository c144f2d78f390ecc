"""Level 3: the real-time endpoint serving an approved model package (capability ``endpoint``).

One component per project, only once ``serving.modelPackageArn`` is set:

- **Model + endpoint config per served package.** The package declared now (``serving.modelPackageArn``) and the
  one served before it (``serving.previousModelPackageArn``, written by ``ladder deploy``) each have their own
  model and auto-named endpoint config (KMS, data capture), with logical names keyed by the package ARN, so
  moving a package from "current" to "previous" changes nothing in AWS. Why: the endpoint update is blue/green with
  auto-rollback; when an alarm rolls it back, SageMaker serves the *old* config again - and a ``pulumi up`` that
  had replaced the old model and config would delete exactly what serves (the provider only waits for
  InService). Keeping the previous pair declared means a rollback always lands on resources that exist;
  ``ladder deploy`` then checks which config serves (``modules/deploy.py``).
- **The endpoint** (pulumi-aws-native ``aws-native:sagemaker:Endpoint``): blue/green deployment guardrails
  (traffic routing, baking, termination wait, auto-rollback alarms) and ``RetainAllVariantProperties`` so an
  update keeps the instance count auto scaling reached instead of resetting it to ``minInstances``
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html); data capture is excluded
  from retention so the spec's capture settings apply. pulumi-aws's ``aws.sagemaker.Endpoint`` cannot do this: its
  update sends only EndpointConfigName and DeploymentConfig (terraform-provider-aws
  internal/service/sagemaker/endpoint.go, resourceEndpointUpdate), hence aws-native here (DESIGN 6b).
- **Rollback alarms**: 5XX errors and model latency on the variant (both fleets report under its name).
- **Autoscaling** of the variant (target tracking on invocations per instance), unless ``serving.autoscaling`` is
  false. An instance-type change of a registered variant fails on AWS
  (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html); ``ladder deploy`` refuses it
  before ``pulumi up`` and prints the two-step procedure (autoscaling off, then the new type).

No AWS call and no resource inside ``apply()``; every physical name comes from the naming helper.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from ..spec import Network, Project
from .base import Context, child, policy_json
from .deployment import VARIANT, builtin_alarm_names, capture_destination, endpoint_name, package_group_arn, \
    rollback_alarm_names
from .registry import promoted_artefact_statements
from .sdk import aws

# ExcludeRetainedVariantProperties: these come from the new endpoint config even with RetainAllVariantProperties
EXCLUDED_FROM_RETENTION = ("DataCaptureConfig",)


def slot(model_package_arn: str) -> str:
    """Logical-name suffix of the model and config serving ``model_package_arn`` (stable across deploys)."""
    return hashlib.sha256(model_package_arn.encode()).hexdigest()[:8]


def instance_type_procedure(project: str, stack: str, old: str, new: str) -> str:
    """The two-step change of an auto-scaled variant's instance type (printed when it is refused)."""
    return (f"{project}: serving.instanceType changes {old} -> {new} while the variant is registered for auto "
            f"scaling, and SageMaker refuses that UpdateEndpoint "
            f"(https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Two steps:\n"
            f"  1. set serving.autoscaling: false (keep instanceType: {old}) in stacks/Pulumi.{stack}.yaml and run "
            f"`pulumi up` - the scaling policy and target are deleted, the endpoint is unchanged;\n"
            f"  2. set serving.instanceType: {new} and serving.autoscaling: true and run `pulumi up` - the endpoint "
            f"updates blue/green, then the variant is registered again.")


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
    previous_config: Optional[aws.sagemaker.EndpointConfiguration] = None
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    scaling_target: Optional[aws.appautoscaling.Target] = None

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:deployment:ModelEndpoint", name, None, opts)
        from .sdk import native

        ctx, project = args.ctx, args.project
        naming, serving = ctx.naming, project.serving
        self._name, self._args = name, args
        self._tags = ctx.tags(project=project.name, component="deployment")
        self.endpoint_name = endpoint_name(naming, project.name)
        group = args.model_package_group
        self.alarm_names = rollback_alarm_names(naming, project)

        # ---- what hosting a model from a package needs, on the project's execution role ---------------
        pull_repos: list[Any] = [ctx.partition.apply(lambda p: f"arn:{p}:ecr:{ctx.region}:*:repository/sagemaker-*")]
        if args.ecr_repository_arn is not None:
            pull_repos.append(args.ecr_repository_arn)
        package_resources: list[Any] = [ctx.arn("sagemaker", f"model-package-group/{group}"),
                                        ctx.arn("sagemaker", f"model-package/{group}/*")]
        served = [args.model_package_arn, *([serving.previous_model_package_arn]
                                             if serving.previous_model_package_arn
                                             and serving.previous_model_package_arn != args.model_package_arn else [])]
        promoted: list[dict[str, Any]] = []
        self.unreadable_sources: list[str] = []  # promoted groups whose artefacts this role is not granted
        for arn in served:
            home = package_group_arn(arn)
            if home is not None and home[1] != group:  # promoted from another stage's (or account's) registry
                package_resources += [f"{home[0]}:model-package-group/{home[1]}",
                                      f"{home[0]}:model-package/{home[1]}/*"]
                # SageMaker downloads the package's model.tar.gz as this role: the source's bucket prefix and key
                grants = promoted_artefact_statements(home, naming.org, project.name)
                if grants is None:
                    self.unreadable_sources.append(home[1])
                elif grants[0] not in promoted:
                    promoted += grants
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
                *[{**st, "Sid": f"{st['Sid']}{i // 2 or ''}"} for i, st in enumerate(promoted)],
            ]),
            opts=child(self),
        )

        # ---- a model + endpoint config per served package (current first) -----------------------------
        self.model, self.endpoint_config = self._served(args.model_package_arn, current=True)
        if len(served) > 1:
            self.previous_model, self.previous_config = self._served(served[1], current=False)

        # ---- auto-rollback alarms -------------------------------------------------------------------
        actions = [args.alarm_topic_arn] if args.alarm_topic_arn is not None else []
        dimensions = {"EndpointName": self.endpoint_name, "VariantName": VARIANT}
        builtin = builtin_alarm_names(naming, project)
        tags = self._tags
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

        # ---- the endpoint (aws-native: blue/green with auto-rollback, variant properties retained) -------
        routing = serving.traffic_routing
        traffic: dict[str, Any] = {"type": routing.type, "wait_interval_in_seconds": routing.wait_interval_in_seconds}
        if routing.canary_size is not None:
            traffic["canary_size"] = {"type": routing.canary_size.type, "value": routing.canary_size.value}
        if routing.linear_step_size is not None:
            traffic["linear_step_size"] = {"type": routing.linear_step_size.type,
                                           "value": routing.linear_step_size.value}
        self.endpoint = native.sagemaker.Endpoint(
            f"{name}-endpoint",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            deployment_config={
                "blue_green_update_policy": {
                    "traffic_routing_configuration": traffic,
                    "termination_wait_in_seconds": serving.termination_wait_in_seconds,
                    "maximum_execution_timeout_in_seconds": serving.maximum_execution_timeout_in_seconds,
                },
                "auto_rollback_configuration": {"alarms": [{"alarm_name": a} for a in self.alarm_names]},
            },
            retain_all_variant_properties=True,
            exclude_retained_variant_properties=[{"variant_property_type": p} for p in EXCLUDED_FROM_RETENTION],
            tags=[{"key": k, "value": v} for k, v in sorted(tags.items())],
            opts=child(self, provider=ctx.native_provider(),
                       depends_on=list(self.alarms.values()) + ([self.previous_config] if self.previous_config
                                                                else [])),
        )
        self.served_name = self.endpoint.endpoint_name.apply(lambda n: n or self.endpoint_name)

        # ---- autoscaling of the variant -------------------------------------------------------------------
        if serving.autoscaling:
            self.scaling_target = aws.appautoscaling.Target(
                f"{name}-scaling-target",
                service_namespace="sagemaker",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                resource_id=self.served_name.apply(lambda n: f"endpoint/{n}/variant/{VARIANT}"),
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
            "endpointName": self.served_name,
            "endpointArn": self.endpoint.endpoint_arn,
            "endpointConfigName": self.endpoint_config.name,
            "modelName": self.model.name,
            "previousEndpointConfigName": self.previous_config.name if self.previous_config is not None else None,
            "rollbackAlarms": self.alarm_names,
        })

    def _served(self, model_package_arn: str, *, current: bool):
        """Model and endpoint config serving one package (auto-named: a new package is new resources)."""
        args, serving = self._args, self._args.project.serving
        key = slot(model_package_arn)
        # an existing stack's single model/config (before per-package slots) is the current one: no replacement
        aliases = [pulumi.Alias(name=f"{self._name}-model")] if current else []
        model_args: dict[str, Any] = {}
        if args.network is not None:
            model_args["vpc_config"] = {"subnets": list(args.network.subnet_ids),
                                        "security_group_ids": list(args.network.security_group_ids)}
        model = aws.sagemaker.Model(
            f"{self._name}-model-{key}",
            execution_role_arn=args.execution_role_arn,
            primary_container={"model_package_name": model_package_arn},
            enable_network_isolation=serving.network_isolation,
            tags=self._tags,
            opts=child(self, depends_on=[self.execution_policy], aliases=aliases),
            **model_args,
        )
        # Every field of an endpoint config forces replacement, so it has no explicit name (create-before-delete).
        # The initial count is ignored in diffs: a minInstances change goes to the scalable target, not to a new
        # config; the running count is kept by RetainAllVariantProperties anyway.
        config = aws.sagemaker.EndpointConfiguration(
            f"{self._name}-config-{key}",
            kms_key_arn=args.kms_key_arn,
            production_variants=[{
                "variant_name": VARIANT,
                "model_name": model.name,
                "instance_type": serving.instance_type,
                "initial_instance_count": serving.min_instances,
                "initial_variant_weight": 1.0,
            }],
            data_capture_config={
                "enable_capture": True,
                "initial_sampling_percentage": serving.data_capture_percent,
                "destination_s3_uri": pulumi.Output.from_input(args.artifact_bucket).apply(
                    lambda b: capture_destination(b, args.project.name)),
                "kms_key_id": args.kms_key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {"csv_content_types": ["text/csv"],
                                                "json_content_types": ["application/json"]},
            },
            tags=self._tags,
            opts=child(self, delete_before_replace=False,
                       aliases=[pulumi.Alias(name=f"{self._name}-config")] if current else [],
                       ignore_changes=["productionVariants[*].initialInstanceCount"]),
        )
        return model, config
