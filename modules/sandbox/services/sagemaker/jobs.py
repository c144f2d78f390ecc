"""Processing and Training jobs run as local processes under the SageMaker container contract.

There is no Docker here, so a job's container is emulated: its ``/opt/ml`` tree is a directory of its own
(``<workdir>/jobs/<job name>/opt/ml``; every ``/opt/ml/...`` path in the job's arguments and environment is mapped
into it), its interpreter is the sandbox's Python (standing in for the framework image; the image URI is recorded,
and an image the sandbox cannot stand in for fails the job), and S3 moves in and out of the emulator as SageMaker
moves it:

* Model Monitor's analyzer image (``sagemaker-model-monitor-analyzer``, no ContainerEntrypoint): the sandbox's
  analyzer (:mod:`.modelmonitor`) runs as the container, reading the analyzer's environment (``dataset_format``,
  ``dataset_source``, ``output_path``, ``baseline_constraints``...), so baselining jobs and monitoring executions
  produce statistics.json / constraints.json / constraint_violations.json; its exit message is the ExitMessage.
* Processing (https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html):
  each ``ProcessingInputs[].S3Input`` is downloaded to its ``LocalPath`` before the container starts (an S3Prefix
  with no object fails the job with SageMaker's ClientError), ``ContainerEntrypoint`` + ``ContainerArguments`` run,
  and each ``ProcessingOutputConfig.Outputs[].S3Output.LocalPath`` is uploaded to its ``S3Uri`` at the end.
* Training, framework containers in script mode (https://docs.aws.amazon.com/sagemaker/latest/dg/
  your-algorithms-training-algo-running-container.html and the sagemaker-training toolkit's environment):
  channels in ``/opt/ml/input/data/<channel>``, ``/opt/ml/input/config/{hyperparameters,inputdataconfig,
  resourceconfig}.json``, ``SM_CHANNEL_<NAME>``, ``SM_MODEL_DIR``, ``SM_HPS``/``SM_HP_*``, the
  ``sagemaker_submit_directory`` archive extracted into ``/opt/ml/code`` and ``sagemaker_program`` run with the
  user hyperparameters as ``--name value``; ``/opt/ml/model`` is packed into ``model.tar.gz`` at
  ``<S3OutputPath>/<job name>/output/model.tar.gz``.

A job gets credentials of its role (moto STS) and the emulator's endpoint, unless it is network-isolated
(``EnableNetworkIsolation``): then it gets neither, as an isolated container reaches nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .. import s3io

CONTAINER_ROOT = "/opt/ml"
LOG_TAIL = 25
MAX_RUNTIME_CAP = 1800  # seconds; the sandbox never lets a local job run longer than this


class JobFailed(RuntimeError):
    """The job failed as SageMaker would report it (FailureReason)."""


@dataclass
class Container:
    """One job's emulated container: its /opt/ml tree under ``root``."""

    root: Path
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0  # how long the container's process ran

    def host(self, path: str) -> Path:
        if not path.startswith(CONTAINER_ROOT):
            raise JobFailed(f"ClientError: local path {path!r} is outside {CONTAINER_ROOT}")
        return self.root / path.lstrip("/")

    def map(self, value: str) -> str:
        """``/opt/ml/...`` inside a string (an argument or environment value) -> the host path."""
        if value.startswith(CONTAINER_ROOT):
            return str(self.root) + value
        return value.replace(f"={CONTAINER_ROOT}", f"={self.root}{CONTAINER_ROOT}")


@dataclass
class JobContext:
    """What a job needs from the runtime: S3/STS clients, the emulator endpoint, where to put job directories."""

    s3: Any
    sts: Any
    endpoint: str
    region: str
    workdir: Path
    python: str = sys.executable
    on_log: Optional[Callable[[str], None]] = None


def _interpreter(ctx: JobContext, argv0: str) -> str:
    if Path(argv0).name in ("python", "python3") or argv0.startswith("python3."):
        return ctx.python
    raise JobFailed(f"ClientError: entrypoint {argv0!r}: the sandbox stands in for framework images by running "
                    f"Python scripts; it cannot run other executables")


def _credentials(ctx: JobContext, role: str, isolated: bool) -> dict[str, str]:
    base = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": ctx.region, "AWS_REGION": ctx.region}
    if isolated:  # EnableNetworkIsolation: no outbound calls, no credentials
        return {**base, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # discard port: nothing answers
    creds = ctx.sts.assume_role(RoleArn=role, RoleSessionName="SageMaker")["Credentials"]
    return {**base, "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"], "AWS_ENDPOINT_URL": ctx.endpoint}


def _run(ctx: JobContext, container: Container, argv: list[str], env: dict[str, str], cwd: Path,
         timeout: int) -> None:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("AWS_", "SM_", "SAGEMAKER_")) and k not in ("PYTHONPATH",)}
    full_env = {**clean, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **env}
    # what ran, without credentials, so it can be replayed (benchmarks/pipeline_executor.py) or inspected
    (container.root / "job.json").parent.mkdir(parents=True, exist_ok=True)
    (container.root / "job.json").write_text(json.dumps({
        "argv": argv, "cwd": str(cwd),
        "env": {k: v for k, v in env.items() if not k.startswith("AWS_") or k in ("AWS_REGION", "AWS_DEFAULT_REGION")}},
        indent=1))
    started = time.perf_counter()
    try:
        proc = subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True,
                              timeout=min(timeout, MAX_RUNTIME_CAP))
    except subprocess.TimeoutExpired:
        raise JobFailed(f"MaxRuntimeExceeded: the job ran longer than {min(timeout, MAX_RUNTIME_CAP)} s") from None
    container.seconds = time.perf_counter() - started
    output = (proc.stdout or "") + (proc.stderr or "")
    container.log.extend(output.splitlines())
    (container.root / "job.log").write_text(output)
    if ctx.on_log:
        for line in output.splitlines():
            ctx.on_log(line)
    if proc.returncode != 0:
        failure = container.root / "opt" / "ml" / "output" / "failure"  # the container's own reason, if it wrote one
        if failure.is_file() and failure.read_text().strip():
            raise JobFailed(f"AlgorithmError: {failure.read_text().strip()[:900]}")
        tail = "\n".join(output.strip().splitlines()[-LOG_TAIL:])
        raise JobFailed(f"AlgorithmError: the container exited with code {proc.returncode}:\n{tail}")


def run_processing(ctx: JobContext, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run one processing job; return its properties (the DescribeProcessingJob shape)."""
    role = request["RoleArn"]
    container = Container(ctx.workdir / "jobs" / name)
    for item in request.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if not s3_input:
            raise JobFailed(f"ClientError: input {item.get('InputName')!r}: only S3Input is emulated")
        s3io.download(ctx.s3, s3_input["S3Uri"], container.host(s3_input["LocalPath"]), role=role,
                      data_type=s3_input.get("S3DataType", "S3Prefix"),
                      what=f"input data source {item.get('InputName')!r}")
    app = request.get("AppSpecification", {})
    entry = list(app.get("ContainerEntrypoint") or [])
    analyzer = is_analyzer_image(app.get("ImageUri", "")) and not entry
    if analyzer:  # Model Monitor's analyzer image: its own entrypoint is emulated by the sandbox's analyzer
        entry = ["python3", "-m", ANALYZER_MODULE]
    elif not entry:
        raise JobFailed(f"ClientError: image {app.get('ImageUri')}: no ContainerEntrypoint; the sandbox cannot run "
                        f"an image's own entrypoint")
    argv = [_interpreter(ctx, entry[0]), *[container.map(a) for a in entry[1:]],
            *[container.map(str(a)) for a in app.get("ContainerArguments") or []]]
    outputs = (request.get("ProcessingOutputConfig") or {}).get("Outputs", [])
    for out in outputs:
        container.host(out["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    isolated = bool((request.get("NetworkConfig") or {}).get("EnableNetworkIsolation"))
    env = {k: container.map(str(v)) for k, v in (request.get("Environment") or {}).items()}
    env.update(_credentials(ctx, role, isolated))
    if analyzer:
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[4])  # the sandbox's own analyzer package
    timeout = int((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
    work = container.host(CONTAINER_ROOT)
    work.mkdir(parents=True, exist_ok=True)
    _run(ctx, container, argv, env, work, timeout)
    # a processing container's exit message: /opt/ml/output/message becomes ExitMessage (as AWS's Model Monitor
    # custom-metrics container writes "CompletedWithViolations: Job completed successfully with N violations.")
    message = container.host("/opt/ml/output/message")
    kms = (request.get("ProcessingOutputConfig") or {}).get("KmsKeyId")
    for out in outputs:
        s3io.upload_dir(ctx.s3, container.host(out["S3Output"]["LocalPath"]), out["S3Output"]["S3Uri"],
                        role=role, kms_key=kms)
    done = {**request, "ProcessingJobName": name, "ProcessingJobStatus": "Completed",
            "ProcessingJobArn": f"arn:aws:sagemaker:{ctx.region}:{role.split(':')[4]}:processing-job/{name}"}
    if message.is_file():
        done["ExitMessage"] = message.read_text()[:1024]
    return done


ANALYZER_MODULE = "modules.sandbox.services.sagemaker.modelmonitor"
ANALYZER_REPOSITORY = "sagemaker-model-monitor-analyzer"


def is_analyzer_image(image: str) -> bool:
    """``<account>.dkr.ecr.<region>.<domain>/sagemaker-model-monitor-analyzer[:tag]`` (the region's image, see
    modules/components/monitoring.py analyzer_image_uri)."""
    repository = image.split("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    return ".dkr.ecr." in image and repository == ANALYZER_REPOSITORY


def _hp_value(value: str) -> str:
    return str(value)


def run_training(ctx: JobContext, name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run one training job (framework container, script mode); return its properties (DescribeTrainingJob)."""
    role = request["RoleArn"]
    hps = {k: str(v) for k, v in (request.get("HyperParameters") or {}).items()}
    image = (request.get("AlgorithmSpecification") or {}).get("TrainingImage", "")
    program, submit = hps.get("sagemaker_program"), hps.get("sagemaker_submit_directory")
    if not program or not submit:
        raise JobFailed(f"ClientError: image {image}: the sandbox runs framework containers in script mode only "
                        f"(hyperparameters sagemaker_program and sagemaker_submit_directory)")
    container = Container(ctx.workdir / "jobs" / name)
    code = container.host("/opt/ml/code")
    archive_dir = container.host("/opt/ml/input/source")
    s3io.download(ctx.s3, submit, archive_dir, role=role, data_type="S3Object", what="sagemaker_submit_directory")
    archive = next(p for p in archive_dir.rglob("*") if p.is_file())
    code.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")
    if not (code / program).is_file():
        raise JobFailed(f"AlgorithmError: {program} is not in {submit}")
    channels = []
    for channel in request.get("InputDataConfig", []):
        source = channel["DataSource"]["S3DataSource"]
        ch = channel["ChannelName"]
        s3io.download(ctx.s3, source["S3Uri"], container.host(f"/opt/ml/input/data/{ch}"), role=role,
                      data_type=source.get("S3DataType", "S3Prefix"), what=f"channel {ch!r}")
        channels.append(ch)
    model_dir, output_dir = container.host("/opt/ml/model"), container.host("/opt/ml/output/data")
    model_dir.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    user_hps = {k: v for k, v in hps.items() if not k.startswith("sagemaker_")}
    config = container.host("/opt/ml/input/config")
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hps))
    (config / "inputdataconfig.json").write_text(json.dumps(
        {c["ChannelName"]: {k: v for k, v in c.items() if k != "ChannelName"} for c in request.get("InputDataConfig", [])}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    env = {
        "SM_MODEL_DIR": str(model_dir), "SM_OUTPUT_DATA_DIR": str(output_dir),
        "SM_INPUT_DIR": str(container.host("/opt/ml/input")), "SM_INPUT_CONFIG_DIR": str(config),
        "SM_CHANNELS": json.dumps(sorted(channels)), "SM_HPS": json.dumps(user_hps),
        "SM_CURRENT_HOST": "algo-1", "SM_HOSTS": json.dumps(["algo-1"]), "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1), "SM_USER_ENTRY_POINT": program, "SM_MODULE_DIR": submit,
        "SM_MODULE_NAME": program.rsplit(".", 1)[0], "SM_LOG_LEVEL": hps.get("sagemaker_container_log_level", "20"),
        **{f"SM_CHANNEL_{ch.upper()}": str(container.host(f"/opt/ml/input/data/{ch}")) for ch in channels},
        **{f"SM_HP_{k.upper()}": v for k, v in user_hps.items()},
        **{k: container.map(str(v)) for k, v in (request.get("Environment") or {}).items()},
    }
    env.update(_credentials(ctx, role, bool(request.get("EnableNetworkIsolation"))))
    argv = [ctx.python, program, *[x for k, v in sorted(user_hps.items()) for x in (f"--{k}", _hp_value(v))]]
    timeout = int((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds", 86400))
    _run(ctx, container, argv, env, code, timeout)
    out = request["OutputDataConfig"]
    base = out["S3OutputPath"].rstrip("/")
    kms = out.get("KmsKeyId")
    packed = container.root / "model.tar.gz"
    with tarfile.open(packed, "w:gz") as tar:  # SageMaker packs /opt/ml/model at the archive root
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    bucket, prefix = s3io.split(f"{base}/{name}/output/model.tar.gz")
    s3io.put_file(ctx.s3, packed, bucket, prefix, role=role, kms_key=kms)
    artifacts = f"s3://{bucket}/{prefix}"
    return {**request, "TrainingJobName": name, "TrainingJobStatus": "Completed",
            "TrainingJobArn": f"arn:aws:sagemaker:{ctx.region}:{role.split(':')[4]}:training-job/{name}",
            "ModelArtifacts": {"S3ModelArtifacts": artifacts}}
