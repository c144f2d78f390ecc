"""Compose the platform from a validated spec: one component per enabled capability.

Raising the level only ADDS components (and resources inside them); nothing existing is renamed or
replaced, which ``tests/test_levels.py`` checks for every pair of adjacent levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from .components.base import Context, context_for
from .components.delivery import GitHubOidc, ProjectDelivery, ProjectDeliveryArgs
from .components.endpoint import ModelEndpoint, ModelEndpointArgs
from .components import deployment
from .components.contract import ProjectContract, ProjectContractArgs
from .components.foundation import Foundation, FoundationArgs, ProjectExecution, ProjectExecutionArgs
from .components.platform_deploy import PlatformDeploy, PlatformDeployArgs
from .components.monitoring import ProjectMonitoring, ProjectMonitoringArgs
from .components.registry import ModelRegistry, ModelRegistryArgs
from .components.training import TrainingPipeline, TrainingPipelineArgs, code_prefix, code_root, data_prefix
from . import levels
from .spec import StackSpec

# Capabilities this version provisions; anything else enabled by the level is reported in the plan notes.
IMPLEMENTED = frozenset({"foundation", "container_registry", "ci_identity", "model_registry", "training_pipeline",
                         "training_schedule",
                         "project_contract", "approval_events", "endpoint",
                         "monitoring", "drift_alarms", "retraining_loop", "dashboard"})


@dataclass
class Platform:
    spec: StackSpec
    ctx: Context
    foundation: Foundation
    components: dict[str, dict[str, pulumi.ComponentResource]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def build(spec: StackSpec) -> Platform:
    ctx = context_for(spec)
    caps = spec.capabilities
    shares = {p.name: list(p.registry.share_with) for p in spec.projects
              if p.registry.share_with and "model_registry" in caps}
    foundation = Foundation("foundation", FoundationArgs(ctx=ctx, shares=shares))
    platform = Platform(spec=spec, ctx=ctx, foundation=foundation)
    platform.outputs.update({
        "environment": spec.environment,
        "maturity": spec.maturity,
        "kmsKeyArn": foundation.key.arn,
        "artifactBucket": foundation.artifact_bucket.bucket,
        "executionRoleArn": foundation.execution_role.arn,
    })

    oidc_arn: pulumi.Input[str] | None = None
    if "ci_identity" in caps:
        if spec.github and spec.github.oidc_provider_arn:
            oidc_arn = spec.github.oidc_provider_arn
        else:
            oidc_arn = GitHubOidc("github-oidc", ctx).arn
        platform.outputs["githubOidcProviderArn"] = oidc_arn
    # level 3: the role the platform repository's deploy workflow assumes (OIDC, this stack's GitHub environment)
    if "approval_events" in caps and spec.github is not None and spec.github.platform_repository:
        if oidc_arn is None:
            oidc_arn = spec.github.oidc_provider_arn or GitHubOidc("github-oidc", ctx).arn
        platform_deploy = PlatformDeploy("platform-deploy", PlatformDeployArgs(
            ctx=ctx, platform_repository=spec.github.platform_repository, oidc_provider_arn=oidc_arn))
        platform.outputs["platformDeployRoleArn"] = platform_deploy.role.arn

    projects_out: dict[str, dict[str, Any]] = {}
    for project in spec.projects:
        comps: dict[str, pulumi.ComponentResource] = {}
        out: dict[str, Any] = {}
        if "container_registry" in caps or "ci_identity" in caps:
            delivery = ProjectDelivery(f"{project.name}-delivery", ProjectDeliveryArgs(
                ctx=ctx, project=project.name, repository=spec.repository_of(project),
                kms_key_arn=foundation.key.arn, oidc_provider_arn=oidc_arn,
                with_registry="container_registry" in caps, with_ci_identity="ci_identity" in caps))
            comps["delivery"] = delivery
            if delivery.repository is not None:
                out["ecrRepositoryUrl"] = delivery.repository.repository_url
            if delivery.ci_role is not None:
                out["ciRoleArn"] = delivery.ci_role.arn
        delivery = comps.get("delivery")
        registry = None
        if "model_registry" in caps:
            registry = ModelRegistry(f"{project.name}-registry", ModelRegistryArgs(
                ctx=ctx, project=project.name, share_with=list(project.registry.share_with)))
            comps["registry"] = registry
            out["modelPackageGroup"] = registry.group.model_package_group_name
        # level 2+: the project's own execution role (pipeline jobs, model, monitoring); the shared level-0 role
        # stays, so raising a level only adds
        execution = None
        if registry is not None:
            execution = comps["execution"] = ProjectExecution(f"{project.name}-execution", ProjectExecutionArgs(
                ctx=ctx, project=project.name, artifact_bucket_arn=foundation.artifact_bucket.arn,
                kms_key_arn=foundation.key.arn))
            out["executionRoleArn"] = execution.role.arn
        training = None
        if "training_pipeline" in caps and "training_pipeline" in IMPLEMENTED and registry is not None:
            training = TrainingPipeline(f"{project.name}-training", TrainingPipelineArgs(
                ctx=ctx, project=project, artifact_bucket=foundation.artifact_bucket.bucket,
                artifact_bucket_arn=foundation.artifact_bucket.arn, kms_key_arn=foundation.key.arn,
                execution_role_arn=execution.role.arn, execution_role_name=execution.role.name,
                model_package_group=registry.group_name,
                ci_role_name=delivery.ci_role.name if delivery is not None and delivery.ci_role is not None else None,
                with_schedule="training_schedule" in caps))
            comps["training"] = training
            out["pipelineName"] = training.pipeline.pipeline_name
            if training.schedule is None and "training_schedule" in caps:
                platform.notes.append(f"{project.name}: no training.schedule set; the pipeline runs on demand only")
        if "project_contract" in caps:
            values: dict[str, Any] = {
                "artifact-bucket": foundation.artifact_bucket.bucket,
                "code-prefix": foundation.artifact_bucket.bucket.apply(
                    lambda b, p=project: code_prefix(b, p.name, p.training.code_version)),
                "code-root": foundation.artifact_bucket.bucket.apply(lambda b, p=project: code_root(b, p.name)),
                "data-prefix": foundation.artifact_bucket.bucket.apply(lambda b, p=project: data_prefix(b, p.name)),
                "execution-role-arn": execution.role.arn if execution is not None else foundation.execution_role.arn,
                "kms-key-arn": foundation.key.arn,
            }
            if registry is not None:
                values["model-package-group"] = registry.group.model_package_group_name
            if training is not None:
                values["pipeline-name"] = training.pipeline.pipeline_name
            if delivery is not None and delivery.repository is not None:
                values["ecr-repository"] = delivery.repository.name
            if "endpoint" in caps:
                values["endpoint-name"] = deployment.endpoint_name(spec.naming, project.name)
                if project.serving.model_package_arn:
                    values["rollback-alarms"] = ",".join(deployment.rollback_alarm_names(spec.naming, project))
            comps["contract"] = ProjectContract(f"{project.name}-contract", ProjectContractArgs(
                ctx=ctx, project=project.name, values=values))
            out["contractPrefix"] = spec.naming.ssm_prefix(project.name)
        # level 3: approval event -> deploy trigger; the endpoint once a model is approved
        approval = None
        if "approval_events" in caps and registry is not None:
            approval = comps["approval"] = deployment.ApprovalEvents(
                f"{project.name}-approval", deployment.ApprovalEventsArgs(
                    ctx=ctx, project=project, platform_repository=spec.github.platform_repository,
                    model_package_group=registry.group_name, kms_key_arn=foundation.key.arn))
            out["notificationTopicArn"] = approval.topic.arn
            platform.notes.extend(approval.notes)
        if "endpoint" in caps and registry is not None and project.serving.model_package_arn:
            endpoint = comps["endpoint"] = ModelEndpoint(
                f"{project.name}-endpoint", ModelEndpointArgs(
                    ctx=ctx, project=project, model_package_arn=project.serving.model_package_arn,
                    model_package_group=registry.group_name, execution_role_arn=execution.role.arn,
                    execution_role_name=execution.role.name, kms_key_arn=foundation.key.arn,
                    artifact_bucket=foundation.artifact_bucket.bucket, network=spec.network,
                    alarm_topic_arn=approval.topic.arn if approval is not None else None,
                    ecr_repository_arn=delivery.repository.arn if delivery is not None and
                    delivery.repository is not None else None))
            out["endpointName"] = endpoint.served_name
            out["endpointConfigName"] = endpoint.endpoint_config.name  # what `ladder deploy` checks is serving
            out["modelPackageArn"] = project.serving.model_package_arn
            for source in endpoint.unreadable_sources:
                platform.notes.append(
                    f"{project.name}: the served package's group {source} is not a ladder group of {spec.naming.org} "
                    f"({spec.naming.org}-<env>-{project.name}): grant the execution role read of its model artefact "
                    f"and kms:Decrypt of its key by hand (README \"Cross-account model sharing\")")
        elif "endpoint" in caps:
            platform.notes.append(f"{project.name}: endpoint waits for the first approved model (set "
                                  f"serving.modelPackageArn or run `ladder deploy`)")
        # level 4: Model Monitor, drift alarm, alarm -> retraining, dashboard - only for an endpoint that exists
        level4 = caps & {"monitoring", "drift_alarms", "retraining_loop", "dashboard"}
        served = comps.get("endpoint")
        if level4 and served is not None:
            monitor = comps["monitoring"] = ProjectMonitoring(f"{project.name}-monitoring", ProjectMonitoringArgs(
                ctx=ctx, project=project, endpoint_name=served.served_name,
                artifact_bucket=foundation.artifact_bucket.bucket, artifact_bucket_arn=foundation.artifact_bucket.arn,
                kms_key_arn=foundation.key.arn, execution_role_arn=execution.role.arn,
                execution_role_name=execution.role.name,
                topic_arn=approval.topic.arn if approval is not None else None,
                pipeline_name=training.pipeline.pipeline_name if training is not None else None,
                pipeline_arn=ctx.arn("sagemaker", f"pipeline/{training.pipeline_name}") if training is not None
                else None,
                network=spec.network, with_monitoring="monitoring" in caps, with_drift_alarms="drift_alarms" in caps,
                with_retraining="retraining_loop" in caps, with_dashboard="dashboard" in caps))
            platform.notes.extend(monitor.notes)
            if monitor.schedule is not None:
                out["monitoringSchedule"] = monitor.schedule.name
            if monitor.schedules:
                out["monitoringSchedules"] = {t: sch.name for t, sch in monitor.schedules.items()}
            if monitor.quality_alarm is not None:
                out["qualityAlarmArn"] = monitor.quality_alarm.arn
            if monitor.retrain_rule is not None:
                out["retrainRuleName"] = monitor.retrain_rule.name
            if monitor.dashboard is not None:
                out["dashboardName"] = monitor.dashboard.dashboard_name
        elif level4:
            platform.notes.append(f"{project.name}: monitoring waits for the endpoint (no approved model yet)")
        platform.components[project.name] = comps
        projects_out[project.name] = out
    pending = sorted(caps - IMPLEMENTED, key=lambda k: (levels.CAPABILITY_BY_KEY[k].min_level, k))
    for key in pending:
        cap = levels.CAPABILITY_BY_KEY[key]
        platform.notes.append(f"capability '{key}' (level {cap.min_level}) is enabled but not provisioned by this "
                              f"version of mlops-ladder yet")
    platform.outputs["projects"] = projects_out
    platform.outputs["notes"] = platform.notes
    return platform
