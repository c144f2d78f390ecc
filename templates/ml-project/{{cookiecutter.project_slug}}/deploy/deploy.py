"""Deploy an approved model package to the project's real-time endpoint.

    python -m deploy.deploy --model-package-arn arn:aws:sagemaker:...:model-package/... [--env {{ cookiecutter.environment }}]

Reads endpoint-name and execution-role-arn (and, if published, rollback-alarms: comma-separated CloudWatch
alarm names) from the project contract /mlops/<env>/<project>/. Creates a model from the package and a new
endpoint config; an existing endpoint keeps its config's instance type, data capture and KMS key and is
updated blue/green (canary 10%, auto-rollback on the alarms) with its autoscaled variant properties retained;
a missing endpoint is created. Refuses packages that are not Approved. AWS_ENDPOINT_URL is honoured.
"""

import argparse
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError

PROJECT = "{{ cookiecutter.project_slug }}"
ENVIRONMENT = "{{ cookiecutter.environment }}"
AWS_REGION = "{{ cookiecutter.aws_region }}"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
VARIANT_KEYS = ("VariantName", "InstanceType", "InitialInstanceCount", "InitialVariantWeight",
                "ServerlessConfig", "VolumeSizeInGB", "ModelDataDownloadTimeoutInSeconds",
                "ContainerStartupHealthCheckTimeoutInSeconds")


class DeployError(RuntimeError):
    pass


def client(service: str, region: str | None = None):
    return boto3.client(service, region_name=region or os.environ.get("AWS_REGION") or AWS_REGION,
                        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def read_contract(ssm, environment: str, project: str = PROJECT) -> dict:
    prefix = f"/mlops/{environment}/{project}/"
    values = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True):
        for parameter in page["Parameters"]:
            values[parameter["Name"][len(prefix):]] = parameter["Value"]
    missing = [k for k in ("endpoint-name", "execution-role-arn") if k not in values]
    if missing:
        raise DeployError(f"project contract incomplete: {', '.join(prefix + m for m in missing)} not in SSM "
                          f"(is the '{environment}' stack at maturity level 3 or above?)")
    return values


def resource_name(endpoint_name: str, stamp: str) -> str:
    """<endpoint>-<stamp>, within SageMaker's 63 characters."""
    return f"{endpoint_name[:63 - len(stamp) - 1].rstrip('-')}-{stamp}"


def deployment_config(alarms: list[str]) -> dict:
    config = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 300,
                                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def deploy(sm, model_package_arn: str, endpoint_name: str, role_arn: str, alarms: list[str] = (),
           instance_type: str = DEFAULT_INSTANCE_TYPE, stamp: str | None = None) -> dict:
    """Create model + endpoint config from the package and create or update the endpoint."""
    package = sm.describe_model_package(ModelPackageName=model_package_arn)
    status = package.get("ModelApprovalStatus")
    if status != "Approved":
        raise DeployError(f"model package {model_package_arn} is {status}, not Approved")
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name = resource_name(endpoint_name, stamp)
    sm.create_model(ModelName=name, ExecutionRoleArn=role_arn,
                    PrimaryContainer={"ModelPackageName": model_package_arn},
                    Tags=[{"Key": "project", "Value": PROJECT}])
    try:
        current = sm.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as exc:
        if "Could not find" not in str(exc):
            raise
        current = None

    config = {"EndpointConfigName": name}
    if current:
        previous = sm.describe_endpoint_config(EndpointConfigName=current["EndpointConfigName"])
        config["ProductionVariants"] = [{**{k: v[k] for k in VARIANT_KEYS if k in v}, "ModelName": name}
                                        for v in previous["ProductionVariants"]]
        for key in ("DataCaptureConfig", "KmsKeyId"):
            if previous.get(key):
                config[key] = previous[key]
    else:
        config["ProductionVariants"] = [{"VariantName": "AllTraffic", "ModelName": name,
                                         "InstanceType": instance_type, "InitialInstanceCount": 1}]
    sm.create_endpoint_config(**config)

    if current:
        sm.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=name,
                           RetainAllVariantProperties=True, DeploymentConfig=deployment_config(list(alarms)))
        action = "updated"
    else:
        sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=name,
                           Tags=[{"Key": "project", "Value": PROJECT}])
        action = "created"
    return {"action": action, "model": name, "endpoint_config": name, "endpoint": endpoint_name}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-package-arn", required=True)
    parser.add_argument("--env", default=ENVIRONMENT)
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--region", default=None)
    parser.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE, help="only for a new endpoint")
    args = parser.parse_args(argv)
    try:
        contract = read_contract(client("ssm", args.region), args.env, args.project)
        alarms = [a for a in contract.get("rollback-alarms", "").split(",") if a.strip()]
        result = deploy(client("sagemaker", args.region), args.model_package_arn, contract["endpoint-name"],
                        contract["execution-role-arn"], alarms, args.instance_type)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{result['action']} endpoint {result['endpoint']} with model {result['model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
