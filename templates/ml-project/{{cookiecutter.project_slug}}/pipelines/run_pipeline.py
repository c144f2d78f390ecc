"""Upload this repository's step code and start the platform's training pipeline.

    python -m pipelines.run_pipeline [--env {{ cookiecutter.environment }}] [--project {{ cookiecutter.project_slug }}] \
        [--input-data-url s3://...] [--param Name=Value ...] [--wait]

The platform owns the pipeline (preprocess -> train -> evaluate -> quality gate -> register); this repo owns
the step code. Names come from the project contract in SSM under /mlops/<env>/<project>/:
code-prefix (s3:// URI the pipeline reads step code from), pipeline-name, contract-version, and for
information artifact-bucket, execution-role-arn, model-package-group, ecr-repository (read by contract.py).

The step files (src/{{ cookiecutter.__package_name }}/*.py) are uploaded to <code-prefix>/<file> and, for
SageMaker script mode, as <code-prefix>/sourcedir.tar.gz. Pipeline parameters are only passed when the
pipeline declares them (others are reported and skipped). AWS_ENDPOINT_URL is honoured (e.g. a moto server).
"""

import argparse
import io
import json
import sys
import tarfile
import time
from pathlib import Path
from urllib.parse import urlparse

from contract import ContractError, client, read_contract

PROJECT = "{{ cookiecutter.project_slug }}"
ENVIRONMENT = "{{ cookiecutter.environment }}"
STEP_CODE_DIR = Path(__file__).resolve().parent.parent / "src" / "{{ cookiecutter.__package_name }}"
REQUIRED = ("code-prefix", "pipeline-name", "contract-version")
TERMINAL = {"Succeeded", "Failed", "Stopped"}


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ContractError(f"code-prefix must be an s3:// URI, got {uri!r}")
    key = parsed.path.lstrip("/")
    return parsed.netloc, (key.rstrip("/") + "/") if key else ""


def step_files(code_dir: Path = STEP_CODE_DIR) -> list[Path]:
    return sorted(p for p in Path(code_dir).glob("*.py"))


def upload_code(s3, code_prefix: str, code_dir: Path = STEP_CODE_DIR) -> list[str]:
    """Upload the step scripts and sourcedir.tar.gz under code_prefix; return the s3:// URIs written."""
    bucket, prefix = split_s3_uri(code_prefix)
    files = step_files(code_dir)
    if not files:
        raise FileNotFoundError(f"no step code in {code_dir}")
    written = []
    for path in files:
        s3.upload_file(str(path), bucket, prefix + path.name)
        written.append(f"s3://{bucket}/{prefix}{path.name}")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=path.name)
    s3.put_object(Bucket=bucket, Key=prefix + "sourcedir.tar.gz", Body=archive.getvalue())
    written.append(f"s3://{bucket}/{prefix}sourcedir.tar.gz")
    return written


def declared_parameters(sm, pipeline_name: str) -> set:
    definition = sm.describe_pipeline(PipelineName=pipeline_name).get("PipelineDefinition") or "{}"
    return {p["Name"] for p in json.loads(definition).get("Parameters", [])}


def start(sm, pipeline_name: str, parameters: dict, display_name: str | None = None) -> str:
    """Start an execution with the parameters the pipeline declares; return its ARN."""
    declared = declared_parameters(sm, pipeline_name)
    for name in sorted(set(parameters) - declared):
        print(f"warning: pipeline {pipeline_name} does not declare parameter {name!r}; not passed "
              f"(declared: {sorted(declared)})", file=sys.stderr)
    request = {
        "PipelineName": pipeline_name,
        "PipelineParameters": [{"Name": k, "Value": str(v)} for k, v in sorted(parameters.items())
                               if k in declared],
    }
    if display_name:
        request["PipelineExecutionDisplayName"] = display_name[:82]
    return sm.start_pipeline_execution(**request)["PipelineExecutionArn"]


def wait(sm, execution_arn: str, timeout: float = 3600, poll: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = sm.describe_pipeline_execution(PipelineExecutionArn=execution_arn)["PipelineExecutionStatus"]
        if status in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(poll)


def run(environment: str = ENVIRONMENT, project: str = PROJECT, parameters: dict | None = None,
        region: str | None = None, display_name: str | None = None, code_dir: Path = STEP_CODE_DIR) -> dict:
    contract = read_contract(client("ssm", region), environment, project, required=REQUIRED)
    uploaded = upload_code(client("s3", region), contract["code-prefix"], code_dir)
    sm = client("sagemaker", region)
    arn = start(sm, contract["pipeline-name"], parameters or {}, display_name)
    return {"contract": contract, "uploaded": uploaded, "execution_arn": arn}


def _parse_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default=ENVIRONMENT)
    parser.add_argument("--project", default=PROJECT)
    parser.add_argument("--region", default=None)
    parser.add_argument("--input-data-url", default=None, help="passed as the InputDataUrl parameter")
    parser.add_argument("--param", type=_parse_param, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--display-name", default=None)
    parser.add_argument("--wait", action="store_true", help="wait for the execution to finish")
    args = parser.parse_args(argv)
    parameters = dict(args.param)
    if args.input_data_url:
        parameters["InputDataUrl"] = args.input_data_url
    try:
        result = run(args.env, args.project, parameters, args.region, args.display_name)
    except ContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for uri in result["uploaded"]:
        print(f"uploaded {uri}")
    print(f"started {result['execution_arn']}")
    if args.wait:
        status = wait(client("sagemaker", args.region), result["execution_arn"])
        print(f"pipeline execution {status}")
        return 0 if status == "Succeeded" else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
