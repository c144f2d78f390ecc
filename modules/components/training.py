"""Level 2: the project's SageMaker training pipeline, its schedule, and the permissions both need.

The platform owns orchestration; the project repository owns the step code, which the pipeline references
by S3 URI under ``s3://<artifact-bucket>/<project>/code/<CodeVersion>/`` (see DESIGN.md section 5), the version
being a pipeline parameter: CI passes its git SHA, the schedule and the retraining rule the spec's codeVersion.
Caching is off unless ``training.cacheSteps`` (SageMaker keys the cache on step arguments, not S3 contents). The
definition is built with the SageMaker Python SDK v3 (``modules.pipeline_definition``) with no AWS call and
no upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from ..spec import Project
from .base import Context, child, policy_json
from .sdk import aws


def code_root(bucket: str, project: str) -> str:
    """Where every code version of the project lives (``<root><version>/<file>``; run_pipeline uploads there)."""
    return f"s3://{bucket}/{project}/code/"


def code_prefix(bucket: str, project: str, version: str) -> str:
    """The spec's code version (the CodeVersion default: what scheduled and drift-triggered runs use)."""
    return f"{code_root(bucket, project)}{version}/"


def data_prefix(bucket: str, project: str) -> str:
    """The InputDataUrl default: ``<version>/*.csv`` folders, the newest (lexicographic max) is trained on."""
    return f"s3://{bucket}/{project}/data/"


def pipeline_parameters(project: Project) -> list[dict[str, str]]:
    """What the schedule and the retraining rule start the pipeline with: the spec's code version, explicitly
    (the data is the newest version under the default InputDataUrl). Never an approval status (DESIGN 6b)."""
    return [{"name": "CodeVersion", "value": project.training.code_version}]


@dataclass(frozen=True)
class TrainingPipelineArgs:
    ctx: Context
    project: Project
    artifact_bucket: pulumi.Output[str]           # bucket name
    artifact_bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]        # the project's own role (foundation.ProjectExecution)
    execution_role_name: pulumi.Output[str]
    model_package_group: str
    ci_role_name: Optional[pulumi.Output[str]] = None
    with_schedule: bool = True


class TrainingPipeline(pulumi.ComponentResource):
    pipeline: aws.sagemaker.Pipeline
    schedule: aws.scheduler.Schedule | None = None

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:training:TrainingPipeline", name, None, opts)
        ctx, project = args.ctx, args.project
        naming = ctx.naming
        tags = ctx.tags(project=project.name, component="training")
        self.pipeline_name = naming.project(project.name, "training")
        training = project.training
        gate = training.quality_gate

        from ..pipeline_definition import SUPPORTED_FRAMEWORKS, PipelineInputs, build_definition

        definition = pulumi.Output.all(args.artifact_bucket, args.execution_role_arn, args.kms_key_arn).apply(
            lambda v: build_definition(PipelineInputs(
                project=project.name, pipeline_name=self.pipeline_name, region=ctx.region,
                artifact_bucket=v[0], role_arn=v[1], model_package_group=args.model_package_group,
                code_version=training.code_version, framework=project.framework,
                framework_version=SUPPORTED_FRAMEWORKS[project.framework]["version"],
                training_instance_type=training.instance_type,
                processing_instance_type=training.processing_instance_type,
                metric=gate.metric, threshold=gate.threshold, bound=gate.bound, problem_type=project.problem_type,
                kms_key_arn=v[2],
                serving_instance_type=project.serving.instance_type, cache_steps=training.cache_steps)))
        self.pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_display_name=self.pipeline_name,
            pipeline_description=f"{project.name} ({project.problem_type}): preprocess -> train -> evaluate -> "
                                 f"quality gate ({gate.describe()}) -> register",
            role_arn=args.execution_role_arn,
            pipeline_definition=definition,
            tags=tags,
            opts=child(self),
        )
        pipeline_arn = ctx.arn("sagemaker", f"pipeline/{self.pipeline_name}")
        group_name = args.model_package_group

        # What the pipeline's jobs need, on the project's execution role.
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            name=f"training-{project.name}",
            role=args.execution_role_name,
            policy=policy_json([
                {"Sid": "RunPipelineJobs", "Effect": "Allow",
                 "Action": ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob",
                            "sagemaker:StopProcessingJob", "sagemaker:CreateTrainingJob",
                            "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags"],
                 "Resource": [ctx.arn("sagemaker", "processing-job/pipelines-*"),
                              ctx.arn("sagemaker", "training-job/pipelines-*")]},
                {"Sid": "RegisterIntoProjectGroup", "Effect": "Allow",
                 "Action": ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage",
                            "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages",
                            "sagemaker:AddTags"],
                 "Resource": [ctx.arn("sagemaker", f"model-package-group/{group_name}"),
                              ctx.arn("sagemaker", f"model-package/{group_name}/*")]},
                {"Sid": "PullFrameworkImages", "Effect": "Allow",
                 "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                 "Resource": ctx.partition.apply(lambda p: f"arn:{p}:ecr:{ctx.region}:*:repository/sagemaker-*")},
                {"Sid": "EcrLoginForFrameworkImages", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                 "Resource": "*"},  # no resource-level permissions for GetAuthorizationToken
            ]),
            opts=child(self),
        )

        if args.with_schedule and training.schedule:
            schedule_role = aws.iam.Role(
                f"{name}-schedule-role",
                name=naming.project(project.name, "schedule"),
                description=f"EventBridge Scheduler: start {self.pipeline_name} and nothing else",
                assume_role_policy=policy_json([{
                    "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
                }]),
                tags=tags,
                opts=child(self),
            )
            aws.iam.RolePolicy(
                f"{name}-schedule-policy", name="start-pipeline", role=schedule_role.id,
                policy=policy_json([
                    {"Sid": "StartThisPipelineOnly", "Effect": "Allow",
                     "Action": "sagemaker:StartPipelineExecution", "Resource": pipeline_arn},
                    {"Sid": "DecryptScheduleInput", "Effect": "Allow", "Action": "kms:Decrypt",
                     "Resource": args.kms_key_arn},
                ]),
                opts=child(self),
            )
            self.schedule = aws.scheduler.Schedule(
                f"{name}-schedule",
                name=naming.project(project.name, "training"),
                description=f"Retrain {project.name} {training.schedule}",
                schedule_expression=training.schedule,
                schedule_expression_timezone="UTC",
                kms_key_arn=args.kms_key_arn,
                flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": 15},
                target={
                    "arn": self.pipeline.arn,
                    "role_arn": schedule_role.arn,
                    "sagemaker_pipeline_parameters": {"pipeline_parameters": pipeline_parameters(project)},
                    "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
                },
                state="ENABLED",
                opts=child(self),
            )

        if args.ci_role_name is not None:
            aws.iam.RolePolicy(
                f"{name}-ci-policy",
                name="training",
                role=args.ci_role_name,
                policy=policy_json([
                    {"Sid": "UploadStepCode", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                     "Resource": args.artifact_bucket_arn.apply(lambda a: f"{a}/{project.name}/code/*")},
                    # run_pipeline --seed-sample-data: the bundled sample, and nothing else, into data/
                    {"Sid": "SeedSampleData", "Effect": "Allow", "Action": "s3:PutObject",
                     "Resource": args.artifact_bucket_arn.apply(lambda a: f"{a}/{project.name}/data/sample-*")},
                    {"Sid": "ListStepCodeAndData", "Effect": "Allow", "Action": "s3:ListBucket",
                     "Resource": args.artifact_bucket_arn,
                     "Condition": {"StringLike": {"s3:prefix": [f"{project.name}/code/*",
                                                                f"{project.name}/data/*"]}}},
                    {"Sid": "EncryptStepCode", "Effect": "Allow",
                     "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": args.kms_key_arn},
                    {"Sid": "RunThisPipeline", "Effect": "Allow",
                     "Action": ["sagemaker:StartPipelineExecution", "sagemaker:DescribePipelineExecution",
                                "sagemaker:ListPipelineExecutions", "sagemaker:ListPipelineExecutionSteps",
                                "sagemaker:DescribePipeline"],
                     "Resource": [pipeline_arn, pipeline_arn.apply(lambda a: f"{a}/execution/*")]},
                ]),
                opts=child(self),
            )

        self.register_outputs({"pipelineName": self.pipeline.pipeline_name, "pipelineArn": self.pipeline.arn})
