"""The project contract: the names of this project's AWS resources, read at run time from SSM.

The platform publishes them under /mlops/<env>/<project>/<key> (keys such as artifact-bucket, code-prefix,
pipeline-name, endpoint-name, contract-version). Every script that talks to the platform reads them here:

    from contract import client, read_contract
    values = read_contract(client("ssm"), required=("artifact-bucket",))

Region: the explicit argument, else AWS_REGION, else the region this project was generated for.
AWS_ENDPOINT_URL is honoured (e.g. a moto server).
"""

import os
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from {{ cookiecutter.__package_name }}.config import AWS_REGION, ENVIRONMENT, PROJECT, contract_prefix

SUPPORTED_CONTRACT_MAJOR = "1"


class ContractError(RuntimeError):
    """The contract cannot be read or lacks a key this repository needs."""


def region_name(region: str | None = None) -> str:
    return region or os.environ.get("AWS_REGION") or AWS_REGION


def client(service: str, region: str | None = None):
    return boto3.client(service, region_name=region_name(region),
                        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def read_contract(ssm, environment: str = ENVIRONMENT, project: str = PROJECT, required=()) -> dict:
    """{key: value} for every parameter under /mlops/<env>/<project>/; ContractError if a required key is missing
    or the parameters cannot be read."""
    prefix = contract_prefix(environment, project)
    values = {}
    try:
        for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True,
                                                                         WithDecryption=True):
            for parameter in page["Parameters"]:
                values[parameter["Name"][len(prefix):]] = parameter["Value"]
    except (ClientError, BotoCoreError) as exc:
        raise ContractError(f"cannot read the project contract under {prefix}: {exc}") from exc
    missing = [name for name in required if name not in values]
    if missing:
        raise ContractError(
            f"project contract incomplete: {', '.join(prefix + m for m in missing)} not found in SSM "
            f"(is the platform stack for '{environment}' at the level this repo needs, and is the "
            f"project '{project}' in its spec?)"
        )
    version = values.get("contract-version")
    if version is not None and version.lstrip("v").split(".")[0] != SUPPORTED_CONTRACT_MAJOR:
        print(f"warning: contract-version {version!r}, this repo was generated for "
              f"{SUPPORTED_CONTRACT_MAJOR}.x", file=sys.stderr)
    return values


def contract_value(key: str, environment: str = ENVIRONMENT, project: str = PROJECT,
                   region: str | None = None) -> str:
    """One key of the contract (ContractError when it is missing)."""
    return read_contract(client("ssm", region), environment, project, required=(key,))[key]
