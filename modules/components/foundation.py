"""Level 0 (shared): KMS key, artifact bucket (+ access-log bucket), SageMaker execution role; and (level 2+) the
per-project execution role that a project's pipeline jobs, model and monitoring run as.

Per-project roles keep IAM within its quotas at any project count (inline policies of one role total at most
10,240 characters) and keep one project's jobs out of another's prefixes and registry (DESIGN 6b).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from .base import Context, child, policy_json
from .registry import share_bucket_statements, share_key_statements
from .sdk import aws

LOG_PREFIX = "s3-access/artifacts/"


@dataclass(frozen=True)
class FoundationArgs:
    ctx: Context
    # project -> consumer accounts of its registry (registry.shareWith): they may read its shared artefacts
    shares: dict[str, list[str]] = field(default_factory=dict)


def key_statements(key_arn) -> list[dict]:
    """Use of the stack key. kms:CreateGrant only for AWS services acting for the role (SageMaker grants the key
    to the job's volumes): without kms:GrantIsForAWSResource the role could grant the key to anyone."""
    return [
        {"Sid": "UseDataKey", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": key_arn},
        {"Sid": "GrantKeyToAwsServicesOnly", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key_arn,
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]


def network_policy(resource_name: str, ctx: Context, role, parent: pulumi.Resource) -> aws.iam.RolePolicy:
    """What SageMaker jobs, models and monitoring need to run in the spec's VPC: ENIs in its subnets only."""
    network = ctx.spec.network
    assert network is not None
    enis = ctx.arn("ec2", "network-interface/*")
    return aws.iam.RolePolicy(
        resource_name,
        name="network",
        role=role,
        policy=policy_json([
            {"Sid": "NetworkInterfacesInTheSubnets", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface",
             "Resource": [enis, *[ctx.arn("ec2", f"subnet/{s}") for s in network.subnet_ids],
                          *[ctx.arn("ec2", f"security-group/{g}") for g in network.security_group_ids]]},
            {"Sid": "ManageNetworkInterfaces", "Effect": "Allow",
             "Action": ["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                        "ec2:DeleteNetworkInterfacePermission"],
             "Resource": enis},
            {"Sid": "DescribeTheNetwork", "Effect": "Allow",
             "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
             "Resource": "*"},  # EC2 Describe* actions have no resource-level permissions
        ]),
        opts=child(parent),
    )


def project_prefixes(project: str) -> tuple[str, ...]:
    """The artifact-bucket prefixes a project's execution role may read and write: its own tree (code, data,
    pipeline outputs, baseline), the endpoint's data capture and the monitoring reports."""
    return (f"{project}/", f"capture/{project}/", f"monitoring/{project}/")


def job_statements(ctx: Context, role_name: str) -> list[dict]:
    """What every SageMaker execution role needs for its jobs: logs, SageMaker's own metrics, passing itself."""
    return [
        {"Sid": "WriteJobLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
         "Resource": ctx.arn("logs", "log-group:/aws/sagemaker/*")},
        {"Sid": "PublishSageMakerMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData",
         "Resource": "*",  # PutMetricData has no resource-level permissions; scoped by namespace
         "Condition": {"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/*", "/aws/sagemaker/*"]}}},
        {"Sid": "PassOnlyItselfToSageMaker", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": ctx.arn("iam", f"role/{role_name}", region=False),
         "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
    ]


class Foundation(pulumi.ComponentResource):
    key: aws.kms.Key
    artifact_bucket: aws.s3.Bucket
    log_bucket: aws.s3.Bucket
    execution_role: aws.iam.Role

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:foundation:Foundation", name, None, opts)
        ctx = args.ctx
        naming = ctx.naming
        tags = ctx.tags(component="foundation")
        stateful = dict(retain_on_delete=True, protect=ctx.spec.environment == "prod")
        account_root = ctx.arn("iam", "root", region=False)

        # ---- KMS key: rotation and an explicit key policy ------------------------------------
        self.key = aws.kms.Key(
            f"{name}-kms-key",
            description=f"mlops-ladder {naming.shared('data')} - artifacts, models, captures, topics",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=policy_json([
                {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
                 "Principal": {"AWS": account_root}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "ServicesPublishToEncryptedTopicsAndLogs", "Effect": "Allow",
                 "Principal": {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com",
                                           "sns.amazonaws.com", f"logs.{ctx.region}.amazonaws.com"]},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:Encrypt", "kms:DescribeKey"],
                 "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}}},
                # registry.shareWith: consumer accounts decrypt shared model artefacts, only through S3
                *(share_key_statements(sorted({a for accts in args.shares.values() for a in accts}), ctx.region,
                                       ctx.partition) if args.shares else []),
            ]),
            tags=tags,
            opts=child(self, **stateful),
        )
        self.key_alias = aws.kms.Alias(
            f"{name}-kms-alias", name=f"alias/{naming.shared('data')}", target_key_id=self.key.key_id,
            opts=child(self))

        # ---- access-log bucket (S3 server access logs need SSE-S3 on the target) ----------------
        self.log_bucket = aws.s3.Bucket(f"{name}-log-bucket", bucket_prefix=naming.bucket_prefix("access-logs"),
                                        force_destroy=False, tags=tags,
                                        opts=child(self, **stateful))
        log_policy = self._secure_bucket(f"{name}-log-bucket", self.log_bucket, kms_key=None, expire_days=365,
                            extra_policy=[{
                                "Sid": "S3ServerAccessLogsDelivery", "Effect": "Allow",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                                "Action": "s3:PutObject",
                                "Resource": self.log_bucket.arn.apply(lambda a: f"{a}/{LOG_PREFIX}*"),
                                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
                            }])

        # ---- artifact bucket -------------------------------------------------------------------
        self.artifact_bucket = aws.s3.Bucket(f"{name}-artifact-bucket",
                                             bucket_prefix=naming.bucket_prefix("artifacts"), force_destroy=False, tags=tags,
                                             opts=child(self, **stateful))
        self._secure_bucket(f"{name}-artifact-bucket", self.artifact_bucket, kms_key=self.key, expire_days=None,
                            extra_policy=[st for project, accounts in sorted(args.shares.items())
                                          for st in share_bucket_statements(project, accounts, self.artifact_bucket.arn,
                                                                            ctx.partition)])
        self.artifact_logging = aws.s3.BucketLogging(
            f"{name}-artifact-bucket-logging", bucket=self.artifact_bucket.id,
            target_bucket=self.log_bucket.id, target_prefix=LOG_PREFIX,
            # S3 checks the target's policy lets the logging service write: create that policy first
            opts=child(self, depends_on=[log_policy]))

        # ---- SageMaker execution role (least privilege) -----------------------------------------
        role_name = naming.shared("sagemaker-execution")
        self.execution_role = aws.iam.Role(
            f"{name}-execution-role",
            name=role_name,
            description="SageMaker execution role: jobs, pipelines and endpoints of this stack",
            assume_role_policy=policy_json([{
                "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            }]),
            max_session_duration=3600,
            tags=tags,
            opts=child(self),
        )
        bucket_arn = self.artifact_bucket.arn
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy",
            name="foundation",
            role=self.execution_role.id,
            policy=policy_json([
                {"Sid": "ListArtifactBucket", "Effect": "Allow",
                 "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
                {"Sid": "ReadWriteArtifacts", "Effect": "Allow",
                 "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                 "Resource": bucket_arn.apply(lambda a: f"{a}/*")},
                *key_statements(self.key.arn),
                *job_statements(ctx, role_name),
            ]),
            opts=child(self),
        )

        if ctx.spec.network is not None:
            self.network_policy = network_policy(f"{name}-execution-network-policy", ctx, self.execution_role.id,
                                                 self)

        self.register_outputs({
            "kmsKeyArn": self.key.arn,
            "artifactBucket": self.artifact_bucket.bucket,
            "artifactBucketArn": self.artifact_bucket.arn,
            "logBucket": self.log_bucket.bucket,
            "executionRoleArn": self.execution_role.arn,
        })

    def _secure_bucket(self, name: str, bucket: aws.s3.Bucket, *, kms_key: aws.kms.Key | None,
                       expire_days: int | None, extra_policy: list | None = None) -> aws.s3.BucketPolicy:
        """Versioning, encryption, all four public-access blocks, owner-enforced, TLS-only, lifecycle."""
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child(self))
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=child(self))
        if kms_key is not None:
            default = {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key.arn}
        else:
            default = {"sse_algorithm": "AES256"}
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": default, "bucket_key_enabled": kms_key is not None}],
            opts=child(self))
        pab = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child(self))
        statements = [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [bucket.arn, bucket.arn.apply(lambda a: f"{a}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }, *(extra_policy or [])]
        policy = aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=policy_json(statements),
                                     opts=child(self, depends_on=[pab]))
        rules = [{
            "id": "abort-incomplete-uploads", "status": "Enabled", "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }, {
            "id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": 90},
        }]
        if expire_days:
            rules.append({"id": "expire-objects", "status": "Enabled", "filter": {},
                          "expiration": {"days": expire_days}})
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=bucket.id, rules=rules, opts=child(self))
        return policy


@dataclass(frozen=True)
class ProjectExecutionArgs:
    ctx: Context
    project: str
    artifact_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]


class ProjectExecution(pulumi.ComponentResource):
    """``<org>-<env>-<project>-sagemaker``: the role of one project's pipeline, jobs, model and monitoring.

    Its base policy reaches only the project's prefixes (:func:`project_prefixes`); the training, endpoint and
    monitoring components add their own inline policies to it (one each, so the total stays constant).
    """

    role: aws.iam.Role

    def __init__(self, name: str, args: ProjectExecutionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlops:foundation:ProjectExecution", name, None, opts)
        ctx, project = args.ctx, args.project
        role_name = ctx.naming.execution_role(project)
        prefixes = project_prefixes(project)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=f"SageMaker execution role of {project}: its pipeline jobs, model and monitoring only",
            assume_role_policy=policy_json([{
                "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ctx.account_id}},
            }]),
            max_session_duration=3600,
            tags=ctx.tags(project=project, component="foundation"),
            opts=child(self),
        )
        bucket_arn = pulumi.Output.from_input(args.artifact_bucket_arn)
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name="project",
            role=self.role.id,
            policy=policy_json([
                {"Sid": "ListProjectPrefixes", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
                 "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}}},
                {"Sid": "LocateArtifactBucket", "Effect": "Allow", "Action": "s3:GetBucketLocation",
                 "Resource": bucket_arn},
                {"Sid": "ReadWriteProjectPrefixes", "Effect": "Allow",
                 "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                 "Resource": bucket_arn.apply(lambda a: [f"{a}/{p}*" for p in prefixes])},
                *key_statements(args.kms_key_arn),
                *job_statements(ctx, role_name),
            ]),
            opts=child(self),
        )
        if ctx.spec.network is not None:
            self.network_policy = network_policy(f"{name}-network-policy", ctx, self.role.id, self)
        self.register_outputs({"roleArn": self.role.arn, "roleName": self.role.name})
