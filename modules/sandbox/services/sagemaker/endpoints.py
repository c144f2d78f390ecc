"""Real-time endpoints that serve: the model behind an endpoint runs locally and InvokeEndpoint reaches it.

moto stores CreateModel/CreateEndpointConfig/CreateEndpoint (dropping ``EnableNetworkIsolation`` and every
``DeploymentConfig``) and its InvokeEndpoint returns a canned body. Here:

* CreateModel and CreateEndpointConfig requests are kept as sent (the fields moto drops included);
* CreateEndpoint starts, per production variant, the model's container as SageMaker would: the container of the
  model or of its ``ModelPackageName`` (the package's InferenceSpecification), ``model.tar.gz`` from
  ``ModelDataUrl`` downloaded as the model's execution role and extracted into the container's ``/opt/ml/model``,
  the container's Environment, and - unless ``EnableNetworkIsolation`` - credentials of the execution role and the
  emulator's endpoint (an isolated container gets neither, so code it would fetch from S3 cannot load). The
  endpoint is ``InService`` once ``/ping`` answers 200, ``Failed`` with the container's last words otherwise.
  Framework images (sagemaker-scikit-learn, sagemaker-xgboost) are emulated by :mod:`.framework_serving`; other
  images fail as an image the sandbox cannot run;
* InvokeEndpoint (sagemaker-runtime) is forwarded to the variant's container (``TargetVariant``, else by weight);
  a container error becomes ModelError (424, ``OriginalStatusCode``); with data capture enabled, sampled requests
  and responses are written to ``<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` in SageMaker's JSON
  Lines capture format (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html);
* DeleteEndpoint, ``ladder down`` and the emulator's shutdown stop the containers.
"""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from .. import iam, s3io
from .jobs import Container, JobContext, _credentials

SERVER = Path(__file__).with_name("framework_serving.py")
FRAMEWORK_IMAGES = ("sagemaker-scikit-learn", "sagemaker-xgboost")
START_TIMEOUT = 60.0


class EndpointFailed(RuntimeError):
    """The endpoint cannot go InService (FailureReason)."""


@dataclass
class Variant:
    name: str
    weight: float
    model: str
    port: int
    process: subprocess.Popen
    container: Container
    log: Any = None  # the container's log file, open while it runs

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.log is not None:
            self.log.close()


@dataclass
class Live:
    name: str
    config: str
    variants: dict[str, Variant]
    region: str = "us-east-1"
    capture: dict[str, Any] = field(default_factory=dict)
    invocations: int = 0
    captured: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EndpointRuntime:
    def __init__(self, client, endpoint: str, workdir: Path, publish=None, clock=time.time):
        self.client = client
        self.clock = clock  # the sandbox clock (capture files and metrics are stamped in sandbox time)
        self.publish = publish  # (region, namespace, metric data) -> None: CloudWatch metrics SageMaker publishes
        self.endpoint = endpoint
        self.workdir = Path(workdir)
        self.models: dict[str, dict[str, Any]] = {}
        self.configs: dict[str, dict[str, Any]] = {}
        self.live: dict[str, Live] = {}
        self.log: list[dict[str, Any]] = []  # invocations (what `ladder demo --json` reports)
        self.rollouts: dict[str, Any] = {}  # endpoint -> deployments.Rollout in progress
        self.history: list[dict[str, Any]] = []  # finished updates: completed or rolled back
        self.deployment_configs: dict[str, dict[str, Any]] = {}  # endpoint -> DeploymentConfig as last sent
        self._lock = threading.Lock()
        self._random = random.Random(0)

    # ---- lifecycle --------------------------------------------------------------------------------
    def start_fleet(self, name: str, config_name: str, region: str) -> dict[str, Variant]:
        """The containers of every production variant of ``config_name`` (all started, or none)."""
        config = self.configs.get(config_name)
        if config is None:
            raise EndpointFailed(f"endpoint config {config_name} was not created through the sandbox")
        variants: dict[str, Variant] = {}
        try:
            for pv in config.get("ProductionVariants", []):
                variants[pv["VariantName"]] = self._start_variant(name, pv, region)
        except Exception:
            for v in variants.values():
                v.stop()
            raise
        return variants

    def start(self, name: str, config_name: str, region: str) -> Live:
        config = self.configs.get(config_name) or {}
        variants = self.start_fleet(name, config_name, region)
        live = Live(name=name, config=config_name, variants=variants, region=region,
                    capture=config.get("DataCaptureConfig") or {})
        with self._lock:
            old = self.live.pop(name, None)
            self.live[name] = live
        if old is not None:
            for v in old.variants.values():
                v.stop()
        return live

    def swap(self, name: str, config_name: str, variants: dict[str, Variant], capture: dict[str, Any],
             region: str) -> None:
        """An update completed: the green fleet serves ``config_name``; the blue fleet is terminated."""
        with self._lock:
            live = self.live.get(name)
            old = dict(live.variants) if live is not None else {}
            if live is None:
                live = self.live[name] = Live(name=name, config=config_name, variants=variants, region=region)
            live.config, live.variants, live.capture = config_name, variants, capture
        for v in old.values():
            v.stop()

    def stop(self, name: str) -> None:
        with self._lock:
            live = self.live.pop(name, None)
            rollout = self.rollouts.pop(name, None)
        for v in (live.variants.values() if live else []):
            v.stop()
        for v in (rollout.green.values() if rollout else []):
            v.stop()

    def stop_all(self) -> None:
        for name in list(self.live):
            self.stop(name)

    def _container_spec(self, model: dict[str, Any], region: str) -> dict[str, Any]:
        container = dict(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])
        package = container.get("ModelPackageName")
        if package:
            desc = self.client("sagemaker", region).describe_model_package(ModelPackageName=package)
            if desc.get("ModelApprovalStatus") != "Approved":
                raise EndpointFailed(f"model package {package} is {desc.get('ModelApprovalStatus')}; SageMaker deploys "
                                     f"only Approved packages")
            spec = dict((desc.get("InferenceSpecification") or {}).get("Containers", [{}])[0])
            spec["Environment"] = {**(spec.get("Environment") or {}), **(container.get("Environment") or {})}
            return spec
        return container

    def _start_variant(self, endpoint: str, pv: dict[str, Any], region: str) -> Variant:
        model = self.models.get(pv["ModelName"])
        if model is None:
            raise EndpointFailed(f"model {pv['ModelName']} was not created through the sandbox")
        spec = self._container_spec(model, region)
        image = spec.get("Image", "")
        if not any(f in image for f in FRAMEWORK_IMAGES):
            raise EndpointFailed(f"image {image!r}: the sandbox emulates the SageMaker framework containers "
                                 f"({', '.join(FRAMEWORK_IMAGES)}) only; it cannot run this image")
        role = model.get("ExecutionRoleArn", "")
        run_id = f"{endpoint}-{pv['VariantName']}-{uuid.uuid4().hex[:8]}"
        container = Container(self.workdir / "endpoints" / run_id)
        model_dir = container.host("/opt/ml/model")
        model_dir.mkdir(parents=True, exist_ok=True)
        s3 = self.client("s3", region)
        if spec.get("ModelDataUrl"):
            bucket, key = s3io.split(spec["ModelDataUrl"])
            iam.require(role, "s3:GetObject", s3io.object_arn(bucket, key))
            archive = container.root / "model.tar.gz"
            s3.download_file(bucket, key, str(archive))
            with tarfile.open(archive) as tar:
                tar.extractall(model_dir, filter="data")
        isolated = bool(model.get("EnableNetworkIsolation"))
        ctx = JobContext(s3=s3, sts=self.client("sts", region), endpoint=self.endpoint, region=region,
                         workdir=self.workdir)
        env = {k: container.map(str(v)) for k, v in (spec.get("Environment") or {}).items()}
        env.setdefault("SAGEMAKER_SUBMIT_DIRECTORY", str(model_dir / "code"))
        env.update(_credentials(ctx, role, isolated))
        env["SM_MODEL_DIR"] = str(model_dir)
        env["SANDBOX_FRAMEWORK_CONTAINER"] = "xgboost" if "sagemaker-xgboost" in image else "sklearn"
        port = _free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_", "SAGEMAKER_"))
                 and k != "PYTHONPATH"}
        log = open(container.root / "container.log", "w")  # noqa: SIM115 - closed by Variant.stop
        process = subprocess.Popen([sys.executable, str(SERVER), "--port", str(port)], cwd=container.root,
                                   env={**clean, "PYTHONDONTWRITEBYTECODE": "1", **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        variant = Variant(pv["VariantName"], float(pv.get("InitialVariantWeight", 1.0)), pv["ModelName"], port,
                          process, container, log)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                variant.stop()
                tail = (container.root / "container.log").read_text()[-800:]
                raise EndpointFailed(f"The primary container for production variant {pv['VariantName']} did not "
                                     f"pass the ping health check (it exited with code {process.returncode}): {tail}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp:
                    if resp.status == 200:
                        return variant
            except OSError:
                pass
            if time.monotonic() > deadline:
                variant.stop()
                raise EndpointFailed(f"The primary container for production variant {pv['VariantName']} did not pass "
                                     f"the ping health check within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)

    # ---- invocations ------------------------------------------------------------------------------
    def invoke(self, name: str, body: bytes, content_type: str, accept: str,
               target: Optional[str] = None) -> tuple[int, bytes, str, str]:
        live = self.live.get(name)
        if live is None:
            raise LookupError(name)
        variants, fleet = live.variants, "blue"
        rollout = self.rollouts.get(name)
        if rollout is not None and rollout.green and self._random.random() < rollout.green_share:
            variants, fleet = rollout.green, "green"  # traffic shifting of a blue/green update (deployments.py)
        if target:
            if target not in variants:
                raise KeyError(target)
            variant = variants[target]
        else:
            pool = list(variants.values())
            variant = self._random.choices(pool, weights=[max(v.weight, 0.0) or 1e-9 for v in pool])[0]
        req = urllib.request.Request(f"http://127.0.0.1:{variant.port}/invocations", data=body, method="POST",
                                     headers={"Content-Type": content_type or "application/octet-stream",
                                              **({"Accept": accept} if accept else {})})
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, answer, out_type = resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            status, answer, out_type = exc.code, exc.read(), exc.headers.get("Content-Type", "")
        latency = time.perf_counter() - started
        live.invocations += 1
        with self._lock:
            self.log.append({"endpoint": name, "variant": variant.name, "fleet": fleet, "status": status,
                             "latencyMs": round(latency * 1000, 2), "contentType": content_type})
        if self.publish is not None:
            # AWS/SageMaker endpoint invocation metrics, dimensions EndpointName + VariantName
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html); ModelLatency in microseconds
            dims = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": variant.name}]
            self.publish(live.region, "AWS/SageMaker", [
                {"MetricName": "Invocations", "Value": 1.0, "Unit": "None", "Dimensions": dims},
                {"MetricName": "Invocation4XXErrors", "Value": float(400 <= status < 500), "Dimensions": dims},
                {"MetricName": "Invocation5XXErrors", "Value": float(status >= 500), "Dimensions": dims},
                {"MetricName": "ModelLatency", "Value": latency * 1e6, "Unit": "Microseconds", "Dimensions": dims}])
        if status == 200:
            self._capture(live, variant, body, content_type, answer, out_type)
        return status, answer, out_type, variant.name

    def _capture(self, live: Live, variant: Variant, body: bytes, content_type: str, answer: bytes,
                 out_type: str) -> None:
        cfg = live.capture
        if not cfg.get("EnableCapture"):
            return
        if self._random.uniform(0, 100) >= float(cfg.get("InitialSamplingPercentage", 0)):
            return
        modes = {o.get("CaptureMode") for o in cfg.get("CaptureOptions", [])} or {"Input", "Output"}
        headers = cfg.get("CaptureContentTypeHeader") or {}

        def encoded(data: bytes, ctype: str, mode: str) -> dict[str, Any]:
            base = ctype.split(";")[0].strip()
            if base in (headers.get("CsvContentTypes") or ["text/csv"]):
                encoding, text = "CSV", data.decode("utf-8", "replace")
            elif base in (headers.get("JsonContentTypes") or ["application/json"]):
                encoding, text = "JSON", data.decode("utf-8", "replace")
            else:
                encoding, text = "BASE64", base64.b64encode(data).decode()
            return {"observedContentType": ctype, "mode": mode, "data": text, "encoding": encoding}

        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        record: dict[str, Any] = {"captureData": {}, "eventMetadata": {
            "eventId": str(uuid.uuid4()), "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")}, "eventVersion": "0"}
        if "Input" in modes:
            record["captureData"]["endpointInput"] = encoded(body, content_type, "INPUT")
        if "Output" in modes:
            record["captureData"]["endpointOutput"] = encoded(answer, out_type, "OUTPUT")
        dest = cfg["DestinationS3Uri"].rstrip("/")
        bucket, prefix = s3io.split(dest)
        key = (f"{prefix}/{live.name}/{variant.name}/{now:%Y/%m/%d/%H}/"
               f"{now:%M-%S}-{now.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl").lstrip("/")
        # SageMaker writes capture files as the model's execution role; without s3:PutObject there the invocation
        # still succeeds and the capture is lost (recorded here, as it would show as missing files on AWS)
        role = (self.models.get(variant.model) or {}).get("ExecutionRoleArn", "")
        try:
            iam.require(role, "s3:PutObject", s3io.object_arn(bucket, key))
        except iam.AccessDenied as exc:
            with self._lock:
                self.log.append({"endpoint": live.name, "variant": variant.name, "captureFailed": str(exc)})
            return
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": cfg["KmsKeyId"]} if cfg.get("KmsKeyId") else {}
        self.client("s3", live.region).put_object(Bucket=bucket, Key=key,
                                                            Body=(json.dumps(record) + "\n").encode(), **extra)
        live.captured += 1
