"""Validate a deployment request before handing it to the platform.

    python -m deploy.request --model-package-arn arn:aws:sagemaker:...:model-package/<group>/<version> \
        --env ENV [--stack STACK] [--source-env ENV]

This repository does not create SageMaker models, endpoint configs or endpoints: the platform's Pulumi
program owns them (data capture, KMS, blue/green with auto-rollback, autoscaling). A deployment is a change
to the platform's declared state - `ladder deploy` writes the package ARN into the stack file and runs
`pulumi up`. This module only checks the request first, so a bad ARN fails here with a clear message
instead of half-way through a `pulumi up`:

- the ARN is a well-formed versioned model package ARN in the project's region;
- the package belongs to this project's model package group: the `model-package-group` of the project
  contract /mlops/<env>/<project>/ of the target environment or of the environment that registered it
  (--source-env, default --env; a prod promotion names the environment that registered the package);
- the package is Approved (and its registration Completed).

On success it prints the `ladder deploy` command it validated and exits 0; otherwise it prints
`error: ...` on stderr and exits 2. AWS_ENDPOINT_URL is honoured (e.g. a moto server).
"""

import argparse
import os
import re
import shlex
import sys

import boto3
from botocore.exceptions import ClientError

PROJECT = "{{ cookiecutter.project_slug }}"
ENVIRONMENT = "{{ cookiecutter.environment }}"
AWS_REGION = "{{ cookiecutter.aws_region }}"
# arn:<partition>:sagemaker:<region>:<account>:model-package/<group>/<version> (SageMaker lower-cases names)
ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):sagemaker:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):"
                    r"model-package/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/([1-9]\d*)")


class RequestError(RuntimeError):
    pass


def client(service: str, region: str | None = None):
    return boto3.client(service, region_name=region or os.environ.get("AWS_REGION") or AWS_REGION,
                        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def parse_arn(arn: str, region: str) -> dict:
    """The parts of a versioned model package ARN; RequestError when it is not one or in another region."""
    match = ARN_RE.fullmatch(arn)
    if not match:
        raise RequestError(
            f"{arn!r} is not a model package ARN of the form "
            "arn:aws:sagemaker:<region>:<account>:model-package/<model-package-group>/<version> "
            "(a versioned package registered in a model package group)")
    partition, arn_region, account, group, version = match.groups()
    if arn_region != region:
        raise RequestError(f"model package {arn} is in {arn_region}; {PROJECT} is deployed in {region}")
    return {"partition": partition, "region": arn_region, "account": account, "group": group,
            "version": int(version)}


def contract_group(ssm, environment: str, project: str = PROJECT) -> str | None:
    """The model-package-group of /mlops/<env>/<project>/; None when it is not published.

    Raises PermissionError when these credentials may not read it (e.g. a prod deploy role reading the
    contract of the environment a package was registered in).
    """
    try:
        return ssm.get_parameter(Name=f"/mlops/{environment}/{project}/model-package-group")["Parameter"]["Value"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "ParameterNotFound":
            return None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise PermissionError(code) from exc
        raise


def validate(sm, ssm, model_package_arn: str, environment: str = ENVIRONMENT, project: str = PROJECT,
             source_environment: str = ENVIRONMENT, region: str = AWS_REGION) -> dict:
    """Check the request; returns the package description, raises RequestError with the reason."""
    parts = parse_arn(model_package_arn, region)
    groups, unreadable = {}, []
    for env in dict.fromkeys([environment, source_environment]):
        try:
            group = contract_group(ssm, env, project)
        except PermissionError:
            unreadable.append(f"/mlops/{env}/{project}/model-package-group")
            continue
        if group:
            groups[env] = group
    denied = f" (access denied to {', '.join(unreadable)})" if unreadable else ""
    if not groups:
        where = " or ".join(f"/mlops/{env}/{project}/model-package-group"
                            for env in dict.fromkeys([environment, source_environment]))
        raise RequestError(f"{where} not found in SSM{denied}: is '{project}' in the platform's spec at maturity "
                           "level 2 or above, and are these credentials allowed to read the contract?")
    if parts["group"] not in {g.lower() for g in groups.values()}:
        listed = ", ".join(f"{g} ({env})" for env, g in groups.items())
        raise RequestError(f"model package {model_package_arn} is in group {parts['group']!r}, not in "
                           f"{project}'s model package group {listed}{denied}")
    try:
        package = sm.describe_model_package(ModelPackageName=model_package_arn)
    except ClientError as exc:
        raise RequestError(f"model package {model_package_arn} cannot be described: "
                           f"{exc.response['Error'].get('Message', exc)}") from exc
    if package.get("ModelPackageGroupName") not in groups.values():
        raise RequestError(f"model package {model_package_arn} belongs to {package.get('ModelPackageGroupName')!r},"
                           f" not to {project}'s model package group {', '.join(sorted(set(groups.values())))}")
    status = package.get("ModelApprovalStatus")
    if status != "Approved":
        raise RequestError(f"model package {model_package_arn} is {status}, not Approved: approve it in the "
                           "model registry first (only Approved packages are deployed)")
    registration = package.get("ModelPackageStatus", "Completed")
    if registration != "Completed":
        raise RequestError(f"model package {model_package_arn} registration is {registration}, not Completed")
    return package


def ladder_command(stack: str, model_package_arn: str, project: str = PROJECT) -> str:
    return shlex.join(["ladder", "deploy", "--stack", stack, "--project", project,
                       "--model-package-arn", model_package_arn])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-package-arn", required=True)
    # required: one repository serves staging and prod, nothing here is bound to one environment
    parser.add_argument("--env", required=True, help="environment to deploy to (staging, prod, ...)")
    parser.add_argument("--stack", default=None, help="platform stack (default: the environment)")
    parser.add_argument("--source-env", default=None,
                        help="environment whose model package group registered the package (default: --env)")
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    region = args.region or os.environ.get("AWS_REGION") or AWS_REGION
    try:
        package = validate(client("sagemaker", region), client("ssm", region), args.model_package_arn,
                           args.env, args.project, args.source_env or args.env, region)
    except RequestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"validated: {args.model_package_arn} (group {package['ModelPackageGroupName']}, "
          f"version {package.get('ModelPackageVersion', '?')}, Approved) for {args.project} in {args.env}",
          file=sys.stderr)
    print(ladder_command(args.stack or args.env, args.model_package_arn, args.project))
    return 0


if __name__ == "__main__":
    sys.exit(main())
