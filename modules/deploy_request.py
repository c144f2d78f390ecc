"""`ladder verify-request`: check a deploy request before `ladder deploy` changes anything.

The platform repository's deploy workflow (.github/workflows/deploy.yml) runs it first, with the platform-deploy
role of the stack, for the request a ``model-approved`` repository_dispatch carries (``client_payload``
{environment, project, model_package_arn}) or a prod promotion names. A bad request fails here, with one clear
line and exit 2, instead of half-way through a ``pulumi up``:

- the requested environment is the stack's own ``mlops:environment`` (a staging approval never deploys prod);
- the project is in the stack, and the stack provisions endpoints (level 3+);
- the ARN is a versioned model package ARN in the stack's region;
- the package is in the project's model package group of this stack, or - for a promotion - of an environment
  this stack promotes from (prod <- staging, ``components.platform_deploy.PROMOTES_FROM``, the same list the
  deploy role may read);
- the package is ``Approved`` and its registration ``Completed`` (DescribeModelPackage; the group the registry
  reports must match too).

Ported from the ML repository's ``deploy/request.py``: the check now runs where the deploy runs, with the
platform's own identity, so ML repositories need no platform credentials. ``AWS_ENDPOINT_URL`` is honoured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from . import spec as spec_mod
from .components.platform_deploy import PROMOTES_FROM
from .deploy import DeployError, _load, _project, _stack_path, project_root, sagemaker_client
from .naming import Naming
from .validation import validate_model_package_arn


def allowed_groups(s: spec_mod.StackSpec, project: str) -> dict[str, str]:
    """environment -> the project's model package group a package may come from for this stack."""
    groups = {s.environment: s.naming.project(project)}
    for source in PROMOTES_FROM.get(s.environment, ()):
        groups[source] = Naming(s.org, source).project(project)
    return groups


def verify(s: spec_mod.StackSpec, project: str, arn: str, environment: Optional[str] = None,
           client: Any = None) -> dict[str, Any]:
    """The package description when the request may be deployed to stack ``s``; DeployError(code=2) otherwise."""
    if environment is not None and environment != s.environment:
        raise DeployError(f"the request is for environment {environment!r}, but stack {s.stack!r} is environment "
                          f"{s.environment!r}: refusing to deploy it here", code=2)
    if not s.has("endpoint"):
        raise DeployError(f"stack {s.stack!r} is level {s.maturity} without the 'endpoint' capability: nothing to "
                          f"deploy to", code=2)
    _project(s, project, Path(s.source))
    try:
        validate_model_package_arn(arn, s.region)
    except ValueError as exc:
        raise DeployError(str(exc), code=2) from None
    head, _, rest = arn.partition(":model-package/")
    if "/" not in rest:
        raise DeployError(f"{arn} is not a versioned model package (model-package/<group>/<version>)", code=2)
    group = rest.split("/", 1)[0]
    groups = allowed_groups(s, project)
    if group not in groups.values():
        listed = ", ".join(f"{g} ({env})" for env, g in groups.items())
        raise DeployError(f"model package {arn} is in group {group!r}, not in {project}'s model package group "
                          f"{listed}", code=2)
    sm = client or sagemaker_client(s.region)
    try:
        package = sm.describe_model_package(ModelPackageName=arn)
    except Exception as exc:  # noqa: BLE001 - botocore ClientError / no credentials: say which package
        raise DeployError(f"model package {arn} cannot be described: {exc}", code=2) from None
    if package.get("ModelPackageGroupName") != group:
        raise DeployError(f"model package {arn} belongs to {package.get('ModelPackageGroupName')!r}, not {group!r}",
                          code=2)
    status = package.get("ModelApprovalStatus")
    if status != "Approved":
        raise DeployError(f"model package {arn} is {status}, not Approved: approve it in the model registry first "
                          f"(only Approved packages are deployed)", code=2)
    registration = package.get("ModelPackageStatus", "Completed")
    if registration != "Completed":
        raise DeployError(f"model package {arn} registration is {registration}, not Completed", code=2)
    return package


def register(app: typer.Typer) -> None:
    """Add `verify-request` to the `ladder` CLI."""

    @app.command("verify-request")
    def verify_cmd(
        project: str = typer.Option(..., "--project", "-p", help="Project name from the stack's mlops:projects."),
        model_package_arn: str = typer.Option(..., "--model-package-arn", help="The package to deploy."),
        stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack name: stacks/Pulumi.<stack>.yaml."),
        stack_file: Optional[Path] = typer.Option(None, "--stack-file", "-f", dir_okay=False,
                                                  help="Any stack file (instead of --stack)."),
        environment: Optional[str] = typer.Option(None, "--environment", "-e",
                                                  help="The environment the request names (client_payload)."),
    ) -> None:
        """Check a deploy request: environment, project, ARN, the project's group, Approved (exit 2 if not)."""
        try:
            _, path = _stack_path(stack, stack_file)
            s = _load(path)
            package = verify(s, project, model_package_arn, environment)
        except DeployError as exc:
            for line in str(exc).splitlines():
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(exc.code) from None
        typer.echo(f"validated: {model_package_arn} (group {package['ModelPackageGroupName']}, version "
                   f"{package.get('ModelPackageVersion', '?')}, Approved) for {project} in stack {s.stack} "
                   f"({s.environment}; platform checkout {project_root()})")
