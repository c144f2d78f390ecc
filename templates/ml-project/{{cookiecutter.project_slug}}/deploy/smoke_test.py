"""Smoke test of the deployed endpoint: wait until InService, send one request, check the prediction.

    python -m deploy.smoke_test --env ENV [--endpoint-name NAME] [--schema model/schema.json] [--timeout 1800]

The endpoint name comes from the project contract (/mlops/<env>/<project>/endpoint-name) unless given.
The request follows the deployed model's resolved schema (schema.json inside its model.tar.gz, found through
the endpoint -> endpoint config -> model (-> model package) -> ModelDataUrl; or --schema): one row in schema
order as text/csv, the format the serving containers (inference.py, serving/app.py) accept. Its values are a row
of the bundled sample data when the schema's features are the sample's, else a synthetic row (0.0 for numerical
features, the first category for categorical ones). The answer must hold one prediction of the problem type's
shape: {"label": one of the schema's classes, "score" in [0, 1]} or {"value": a finite number}. Waiting and
invoking take their boto3 clients as arguments so tests can inject them.
"""

import argparse
import csv
import io
import json
import math
import os
import sys
import tarfile
import time
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

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


def bundled_schema() -> dict:
    """The resolved schema of the bundled sample data under the package's contract (what make train-local trains)."""
    from {{ cookiecutter.__package_name }} import preprocess, schema

    contract = schema.load()
    return schema.resolve(preprocess.load_bundled_dataset(contract), contract)


def model_schema(sm, s3, endpoint_name: str) -> dict:
    """schema.json from the model.tar.gz the endpoint serves (train.py writes it next to the model)."""
    try:
        config = sm.describe_endpoint(EndpointName=endpoint_name)["EndpointConfigName"]
        variant = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
        model = sm.describe_model(ModelName=variant["ModelName"])
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        url = container.get("ModelDataUrl")
        if not url and container.get("ModelPackageName"):
            package = sm.describe_model_package(ModelPackageName=container["ModelPackageName"])
            url = package["InferenceSpecification"]["Containers"][0].get("ModelDataUrl")
        if not url or not url.startswith("s3://"):
            raise SmokeTestError(f"model {variant['ModelName']} of {endpoint_name} names no s3:// ModelDataUrl")
        bucket, key = url[5:].split("/", 1)
        archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError, KeyError, IndexError) as exc:
        raise SmokeTestError(f"cannot read the deployed model's schema ({exc}); pass --schema <model dir>/schema.json"
                             ) from exc
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = next((m for m in tar.getmembers() if m.name.lstrip("./") == "schema.json"), None)
        if member is None:
            raise SmokeTestError(f"{url} holds no schema.json (trained before the data contract?); pass --schema")
        return json.loads(tar.extractfile(member).read())


def sample_rows(schema: dict, rows: int = 1) -> list:
    """Feature rows (lists in schema order) of the bundled sample when its columns fit the schema, else synthetic."""
    names = [f["name"] for f in schema["features"]]
    try:
        from {{ cookiecutter.__package_name }} import preprocess
        from {{ cookiecutter.__package_name }}.schema import load as load_contract

        data = preprocess.load_bundled_dataset({**load_contract(), "problem_type": schema["problem_type"]})
    except (ImportError, ValueError, OSError, KeyError):
        data = None
    if data is not None and set(names) <= set(data.columns):
        return data[names].head(rows).astype(object).where(data[names].head(rows).notna(), None).values.tolist()
    row = [f["categories"][0] if f["type"] == "categorical" and f.get("categories") else 0.0
           for f in schema["features"]]
    return [list(row) for _ in range(rows)]


def sample_payload(rows: int = 1, schema: dict | None = None) -> str:
    """Feature rows (no label, no header) in the schema's order, as text/csv (empty cell = missing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in sample_rows(schema or bundled_schema(), rows):
        writer.writerow(["" if v is None else repr(float(v)) if isinstance(v, (int, float)) else v for v in row])
    return out.getvalue()


def check_predictions(body: bytes | str, expected: int, schema: dict | None = None) -> list:
    """The predictions, checked against the problem type's shape; SmokeTestError otherwise."""
    schema = schema or {"problem_type": "binary", "classes": [0, 1]}
    try:
        predictions = json.loads(body)["predictions"]
        if not isinstance(predictions, list):
            raise TypeError("predictions is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise SmokeTestError(f"unexpected response body {body[:200]!r}: {exc}") from exc
    if len(predictions) != expected:
        raise SmokeTestError(f"expected {expected} prediction(s), got {len(predictions)}")
    classes = schema.get("classes") or []
    for p in predictions:
        if not isinstance(p, dict):
            raise SmokeTestError(f"malformed prediction {p!r}")
        if schema["problem_type"] == "regression":
            value = p.get("value")
            good = set(p) == {"value"} and isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value)
        else:
            score = p.get("score")
            good = set(p) == {"label", "score"} and p["label"] in classes and isinstance(score, (int, float)) \
                and not isinstance(score, bool) and 0.0 <= score <= 1.0
        if not good:
            raise SmokeTestError(f"malformed prediction {p!r} for a {schema['problem_type']} model"
                                 + (f" (classes {classes})" if classes else ""))
    return predictions


def invoke(runtime, endpoint_name: str, payload: str | None = None, rows: int = 1, schema: dict | None = None) -> list:
    """One invocation through sagemaker-runtime; returns the checked predictions."""
    schema = schema or bundled_schema()
    payload = payload or sample_payload(rows, schema)
    response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType="text/csv",
                                       Accept="application/json", Body=payload.encode())
    body = response["Body"].read()
    return check_predictions(body, expected=len(payload.strip().splitlines()), schema=schema)


def run(endpoint_name: str, sm, runtime, timeout: float = 1800, poll: float = 30, schema: dict | None = None,
        s3=None) -> list:
    wait_in_service(sm, endpoint_name, timeout=timeout, poll=poll)
    schema = schema or model_schema(sm, s3, endpoint_name)
    return invoke(runtime, endpoint_name, schema=schema)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment of the endpoint (staging, prod, ...)")
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--endpoint-name", default=None)
    parser.add_argument("--region", default=None)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--poll", type=float, default=30)
    parser.add_argument("--schema", default=None, help="the model's resolved schema.json (default: read from the "
                        "deployed model.tar.gz)")
    args = parser.parse_args(argv)
    try:
        schema = json.loads(Path(args.schema).read_text()) if args.schema else None
        if schema is not None and not isinstance(schema.get("features"), list):
            raise ValueError("not a resolved schema (no features list)")
    except (OSError, ValueError, AttributeError) as exc:
        print(f"smoke test FAILED: --schema {args.schema}: {exc}", file=sys.stderr)
        return 1
    try:
        name = args.endpoint_name or endpoint_from_contract(client("ssm", args.region), args.env, args.project)
        predictions = run(name, client("sagemaker", args.region), client("sagemaker-runtime", args.region),
                          args.timeout, args.poll, schema=schema, s3=client("s3", args.region))
    except SmokeTestError as exc:
        print(f"smoke test FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"smoke test passed: {name} answered {predictions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
