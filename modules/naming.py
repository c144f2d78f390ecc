"""One naming helper: every physical AWS name and every tag set is derived here, once.

Pattern: ``{org}-{env}-{project}-{role}`` (shared resources omit the project). The spec validates the
lengths of every derived name up front (:meth:`Naming.project_names` / :meth:`Naming.shared_names`), so a
name that AWS would reject never reaches a deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

# AWS limits for the names we derive.
LIMITS = {
    "s3": 63,          # bucket names
    "s3_prefix": 37,   # bucket_prefix: AWS/Terraform append a 26-character unique suffix
    "sagemaker": 63,   # model package groups, pipelines, endpoints, models, monitoring schedules
    "iam_role": 64,
    "ecr": 256,
    "ssm": 1011,
}


@dataclass(frozen=True)
class DerivedName:
    value: str
    kind: str  # key of LIMITS
    extra: int = 0  # characters the provider will append

    @property
    def length(self) -> int:
        return len(self.value) + self.extra

    @property
    def ok(self) -> bool:
        return self.length <= LIMITS[self.kind]


@dataclass(frozen=True)
class Naming:
    org: str
    env: str

    def base(self, *parts: str) -> str:
        return "-".join([self.org, self.env, *[p for p in parts if p]])

    # ---- shared (per stack) -------------------------------------------------------------------
    def shared(self, role: str) -> str:
        return self.base(role)

    def bucket_prefix(self, role: str) -> str:
        """Bucket names are global: we give a prefix and let AWS append a unique suffix."""
        return self.shared(role) + "-"

    def shared_names(self) -> dict[str, DerivedName]:
        return {
            "artifact bucket prefix": DerivedName(self.bucket_prefix("artifacts"), "s3_prefix"),
            "access-log bucket prefix": DerivedName(self.bucket_prefix("access-logs"), "s3_prefix"),
            "execution role": DerivedName(self.shared("sagemaker-execution"), "iam_role"),
            "platform deploy role": DerivedName(self.platform_deploy_role(), "iam_role"),
        }

    def platform_deploy_role(self) -> str:
        """The role the platform repository's deploy workflow assumes for `pulumi up` of this stack."""
        return self.shared("platform-deploy")

    # ---- per project ----------------------------------------------------------------------------
    def project(self, project: str, role: str = "") -> str:
        return self.base(project, role)

    def project_names(self, project: str) -> dict[str, DerivedName]:
        """Every physical name derived from a project name, with the AWS limit it must respect."""
        return {
            "ECR repository": DerivedName(self.project(project), "ecr"),
            "CI role": DerivedName(self.project(project, "ci"), "iam_role"),
            "model package group": DerivedName(self.project(project), "sagemaker"),
            "training pipeline": DerivedName(self.project(project, "training"), "sagemaker"),
            "schedule role": DerivedName(self.project(project, "schedule"), "iam_role"),
            "endpoint": DerivedName(self.project(project), "sagemaker"),
            "approval dispatch role": DerivedName(self.approval_dispatch_role(project), "iam_role"),
            "monitoring schedule": DerivedName(self.project(project, "data-quality"), "sagemaker"),
            "retraining role": DerivedName(self.project(project, "retrain"), "iam_role"),
            "execution role": DerivedName(self.execution_role(project), "iam_role"),
        }

    def approval_dispatch_role(self, project: str) -> str:
        """EventBridge's role for the approval rule's repository_dispatch (invokes one API destination)."""
        return self.project(project, "approval-dispatch")

    def execution_role(self, project: str) -> str:
        """The project's SageMaker execution role (pipeline jobs, model, monitoring): ``<org>-<env>-<project>-sagemaker``."""
        return self.project(project, "sagemaker")

    def ssm_prefix(self, project: str) -> str:
        return f"/mlops/{self.env}/{project}"


def tags(*, environment: str, maturity: int, owner: str, project: str | None = None,
         component: str | None = None) -> dict[str, str]:
    """Tags carried by every resource."""
    out = {
        "mlops:environment": environment,
        "mlops:maturity": str(maturity),
        "mlops:owner": owner,
        "mlops:project": project or "shared",
        "mlops:managed-by": "mlops-ladder",
    }
    if component:
        out["mlops:component"] = component
    return out
