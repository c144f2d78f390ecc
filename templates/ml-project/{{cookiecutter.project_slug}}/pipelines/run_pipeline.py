"""Upload this repository's step code at an immutable version and start the platform's training pipeline.

    python -m pipelines.run_pipeline [--code-version <sha>] [--input-data-url s3://...] [--seed-sample-data] \
        [--env {{ cookiecutter.environment }}] [--project {{ cookiecutter.project_slug }}] [--param Name=Value ...] \
        [--wait] [--json]

The platform owns the pipeline (preprocess -> train -> evaluate -> quality gate -> register); this repo owns
the step code. Names come from the project contract in SSM under /mlops/<env>/<project>/: code-root (where
code versions live), data-prefix (the default InputDataUrl), pipeline-name, contract-version.

Code version: --code-version, else $GITHUB_SHA (set by GitHub Actions), else `git rev-parse HEAD` of this
repository (refused when src/ has uncommitted changes), else an error. The step files
(src/{{ cookiecutter.__package_name }}/*.py) and a reproducible sourcedir.tar.gz are uploaded to
<code-root><version>/; a version is immutable: an object already there with different content is an error
(exit 2), identical content is left as it is. The execution gets CodeVersion=<version> (and InputDataUrl when
given), so every step reads exactly that code and the registered package records it.

Data: the pipeline trains on the newest <version>/ folder of CSV files under the data prefix. An empty prefix
is refused before anything starts (exit 2, with the upload command): SageMaker would fail the preprocess step
("No S3 objects found under S3 URL"). --seed-sample-data uploads the bundled sample dataset to
<data-prefix>sample-1/ first when the prefix is empty. AWS_ENDPOINT_URL is honoured (e.g. a moto server).
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from contract import ContractError, client, read_contract

PROJECT = "{{ cookiecutter.project_slug }}"
ENVIRONMENT = "{{ cookiecutter.environment }}"
REPO_DIR = Path(__file__).resolve().parent.parent
STEP_CODE_DIR = REPO_DIR / "src" / "{{ cookiecutter.__package_name }}"
REQUIRED = ("code-root", "data-prefix", "pipeline-name", "contract-version")
TERMINAL = {"Succeeded", "Failed", "Stopped"}
SOURCE_ARCHIVE = "sourcedir.tar.gz"
SAMPLE_FOLDER = "sample-1"


class RunError(RuntimeError):
    """Something the caller must fix before the pipeline can run (exit 2)."""


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ContractError(f"expected an s3:// URI, got {uri!r}")
    key = parsed.path.lstrip("/")
    return parsed.netloc, (key.rstrip("/") + "/") if key else ""


def step_files(code_dir: Path = STEP_CODE_DIR) -> list[Path]:
    return sorted(p for p in Path(code_dir).glob("*.py"))


def source_archive(files: list[Path]) -> bytes:
    """sourcedir.tar.gz, byte-for-byte reproducible (fixed order, mtimes, owners, gzip header): the same code
    gives the same archive, so re-running a version finds it unchanged."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files, key=lambda p: p.name):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def resolve_code_version(explicit: str | None = None, environ=None, repo_dir: Path = REPO_DIR) -> str:
    """--code-version, else $GITHUB_SHA, else the repository's HEAD commit; RunError when none is known."""
    environ = os.environ if environ is None else environ
    version = explicit or environ.get("GITHUB_SHA")
    if not version:
        try:
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True, text=True,
                                  timeout=30)
            dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=repo_dir,
                                   capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            raise RunError(f"no code version: pass --code-version, set GITHUB_SHA, or run in a git checkout "
                           f"({exc})") from exc
        if head.returncode != 0:
            raise RunError("no code version: pass --code-version, set GITHUB_SHA, or run in a git checkout with "
                           "a commit (`git rev-parse HEAD` failed)")
        if dirty.stdout.strip():
            raise RunError("src/ has uncommitted changes, so HEAD does not name this code: commit them or pass "
                           "--code-version")
        version = head.stdout.strip()
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if not (0 < len(version) <= 64 and version[0].isalnum() and set(version) <= allowed):
        raise RunError(f"code version {version!r} must be 1-64 letters, digits, '.', '_' or '-' (a path segment)")
    return version


def _existing(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def upload_code(s3, code_root: str, version: str, code_dir: Path = STEP_CODE_DIR) -> dict:
    """Upload the step scripts and sourcedir.tar.gz to <code_root><version>/ unless already there unchanged;
    RunError (nothing written) when the version already holds different content."""
    bucket, root = split_s3_uri(code_root)
    files = step_files(code_dir)
    if not files:
        raise FileNotFoundError(f"no step code in {code_dir}")
    prefix = f"{root}{version}/"
    objects = {prefix + p.name: p.read_bytes() for p in files}
    objects[prefix + SOURCE_ARCHIVE] = source_archive(files)
    present = {key: _existing(s3, bucket, key) for key in objects}
    changed = sorted(key for key, old in present.items() if old is not None and old != objects[key])
    if changed:
        raise RunError(f"code version {version} is immutable and s3://{bucket}/{prefix} already holds different "
                       f"content ({', '.join(k.rsplit('/', 1)[-1] for k in changed)}): commit and run with the new "
                       f"commit, or pass another --code-version")
    result = {"code_prefix": f"s3://{bucket}/{prefix}", "uploaded": [], "unchanged": []}
    for key, body in objects.items():
        uri = f"s3://{bucket}/{key}"
        if present[key] is not None:
            result["unchanged"].append(uri)
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=body,
                      Metadata={"sha256": hashlib.sha256(body).hexdigest(), "code-version": version})
        result["uploaded"].append(uri)
    return result


def sample_csv() -> bytes:
    from {{ cookiecutter.__package_name }}.preprocess import load_bundled_dataset

    return load_bundled_dataset().to_csv(index=False).encode()


def check_data(s3, data_prefix: str, seed: bool = False) -> dict:
    """The data prefix holds at least one object, or (seed) the bundled sample was uploaded to
    <prefix>sample-1/; RunError with the upload command otherwise."""
    # SageMaker refuses a job whose S3Prefix input holds nothing: ValidationException "No S3 objects found under
    # S3 URL ... given in input data source" (e.g. github.com/aws/amazon-sagemaker-examples/issues/2489), so the
    # check happens here, where the fix can be printed, not in the preprocess step.
    bucket, prefix = split_s3_uri(data_prefix)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    if listing.get("KeyCount", len(listing.get("Contents", []))):
        return {"data_prefix": f"s3://{bucket}/{prefix}", "seeded": None}
    if not seed:
        raise RunError(
            f"no training data under s3://{bucket}/{prefix} (SageMaker fails a processing input with no objects: "
            f"\"No S3 objects found under S3 URL\"). Upload labelled CSV files (a header row; the label "
            f"column named as in src/{{ cookiecutter.__package_name }}/schema.json, any position) as a new data version, "
            f"then run again:\n"
            f"  aws s3 cp <file.csv> s3://{bucket}/{prefix}<version>/\n"
            f"or pass --seed-sample-data to upload this project's bundled sample dataset to "
            f"s3://{bucket}/{prefix}{SAMPLE_FOLDER}/")
    key = f"{prefix}{SAMPLE_FOLDER}/sample.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=sample_csv())
    return {"data_prefix": f"s3://{bucket}/{prefix}", "seeded": f"s3://{bucket}/{key}"}


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
        region: str | None = None, display_name: str | None = None, code_dir: Path = STEP_CODE_DIR,
        code_version: str | None = None, input_data_url: str | None = None, seed_sample_data: bool = False) -> dict:
    version = resolve_code_version(code_version)
    contract = read_contract(client("ssm", region), environment, project, required=REQUIRED)
    s3 = client("s3", region)
    data = check_data(s3, input_data_url or contract["data-prefix"], seed_sample_data)
    code = upload_code(s3, contract["code-root"], version, code_dir)
    parameters = {**(parameters or {}), "CodeVersion": version}
    if input_data_url:
        parameters["InputDataUrl"] = input_data_url
    sm = client("sagemaker", region)
    arn = start(sm, contract["pipeline-name"], parameters, display_name)
    return {"code_version": version, **code, **data, "pipeline": contract["pipeline-name"],
            "parameters": parameters, "execution_arn": arn}


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
    parser.add_argument("--code-version", default=None,
                        help="version to upload and run (default: $GITHUB_SHA, else git rev-parse HEAD)")
    parser.add_argument("--input-data-url", default=None, help="passed as the InputDataUrl parameter")
    parser.add_argument("--seed-sample-data", action="store_true",
                        help="when the data prefix is empty, upload the bundled sample dataset to sample-1/ first")
    parser.add_argument("--param", type=_parse_param, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--display-name", default=None)
    parser.add_argument("--wait", action="store_true", help="wait for the execution to finish")
    parser.add_argument("--json", action="store_true", help="print what was done as one JSON object")
    args = parser.parse_args(argv)
    if args.input_data_url:
        try:
            split_s3_uri(args.input_data_url)
        except ContractError:
            print(f"error: --input-data-url must be an s3:// URI, got {args.input_data_url!r}", file=sys.stderr)
            return 2
    try:
        result = run(args.env, args.project, dict(args.param), args.region, args.display_name,
                     code_version=args.code_version, input_data_url=args.input_data_url,
                     seed_sample_data=args.seed_sample_data)
    except (ContractError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: AWS refused a call: {exc}", file=sys.stderr)
        return 1
    status = None
    if args.wait:
        status = wait(client("sagemaker", args.region), result["execution_arn"])
        result["status"] = status
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        if result["seeded"]:
            print(f"seeded sample data {result['seeded']}")
        for uri in result["uploaded"]:
            print(f"uploaded {uri}")
        for uri in result["unchanged"]:
            print(f"unchanged {uri}")
        print(f"code version {result['code_version']}")
        print(f"started {result['execution_arn']}")
        if status is not None:
            print(f"pipeline execution {status}")
    return 0 if status in (None, "Succeeded") else 1


if __name__ == "__main__":
    sys.exit(main())
