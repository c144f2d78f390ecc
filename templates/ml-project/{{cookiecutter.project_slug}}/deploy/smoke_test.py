"""Smoke test of the deployed endpoint: wait until InService, send one request, check the prediction.

    python -m deploy.smoke_test --env ENV [--endpoint-name NAME] [--timeout 1800]

The endpoint name comes from the project contract (/mlops/<env>/<project>/endpoint-name) unless given.
The request is one row of the bundled breast-cancer features as text/csv, the same format the serving
container (serving/app.py) accepts; the answer must hold one prediction with a 0/1 label and a score in
[0, 1]. Waiting and invoking take their boto3 clients as arguments so tests can inject them.
"""

import argparse
import json
import os
import sys
import time

import boto3

PROJECT = "{{ cookiecutter.project_slug }}"
ENVIRONMENT = "{{ cookiecutter.environment }}"
AWS_REGION = "{{ cookiecutter.aws_region }}"
WAITING = {"Creating", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"}


class SmokeTestError(RuntimeError):
    pass


def client(service: str, region: str | None = None):
    return boto3.client(service, region_name=region or os.environ.get("AWS_REGION") or AWS_REGION,
                        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def endpoint_from_contract(ssm, environment: str, project: str = PROJECT) -> str:
    name = f"/mlops/{environment}/{project}/endpoint-name"
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound as exc:
        raise SmokeTestError(f"{name} not found in SSM; pass --endpoint-name") from exc


def wait_in_service(sm, endpoint_name: str, timeout: float = 1800, poll: float = 30,
                    sleep=time.sleep, clock=time.monotonic) -> dict:
    """describe_endpoint until InService; SmokeTestError when it fails or the timeout passes."""
    deadline = clock() + timeout
    while True:
        description = sm.describe_endpoint(EndpointName=endpoint_name)
        status = description["EndpointStatus"]
        if status == "InService":
            return description
        if status not in WAITING:
            reason = description.get("FailureReason", "")
            raise SmokeTestError(f"endpoint {endpoint_name} is {status}{': ' + reason if reason else ''}")
        if clock() >= deadline:
            raise SmokeTestError(f"endpoint {endpoint_name} still {status} after {timeout:.0f}s")
        sleep(poll)


def sample_payload(rows: int = 1) -> str:
    """Feature rows (no label, no header) from the bundled dataset, as text/csv."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer().data[:rows]
    return "\n".join(",".join(repr(float(v)) for v in row) for row in data) + "\n"


def check_predictions(body: bytes | str, expected: int) -> list:
    try:
        predictions = json.loads(body)["predictions"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SmokeTestError(f"unexpected response body {body[:200]!r}: {exc}") from exc
    if len(predictions) != expected:
        raise SmokeTestError(f"expected {expected} prediction(s), got {len(predictions)}")
    for p in predictions:
        if p.get("label") not in (0, 1) or not 0.0 <= float(p.get("score", -1)) <= 1.0:
            raise SmokeTestError(f"malformed prediction {p!r}")
    return predictions


def invoke(runtime, endpoint_name: str, payload: str | None = None, rows: int = 1) -> list:
    """One invocation through sagemaker-runtime; returns the checked predictions."""
    payload = payload or sample_payload(rows)
    response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType="text/csv",
                                       Accept="application/json", Body=payload.encode())
    body = response["Body"].read()
    return check_predictions(body, expected=len(payload.strip().splitlines()))


def run(endpoint_name: str, sm, runtime, timeout: float = 1800, poll: float = 30) -> list:
    wait_in_service(sm, endpoint_name, timeout=timeout, poll=poll)
    return invoke(runtime, endpoint_name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment of the endpoint (staging, prod, ...)")
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--endpoint-name", default=None)
    parser.add_argument("--region", default=None)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--poll", type=float, default=30)
    args = parser.parse_args(argv)
    try:
        name = args.endpoint_name or endpoint_from_contract(client("ssm", args.region), args.env, args.project)
        predictions = run(name, client("sagemaker", args.region), client("sagemaker-runtime", args.region),
                          args.timeout, args.poll)
    except SmokeTestError as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {name} answered {predictions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
