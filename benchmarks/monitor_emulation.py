"""Model Monitor emulation cost per 10k captured records, against a bare pandas read of the same records.

One process, one run; three timings over the same ``--records`` capture records (SageMaker's JSON Lines capture,
``text/csv`` rows of ``--features`` numerical features plus one categorical, split into files of 1,000 records):

* bare     - what any analysis must do at least: pandas reads the JSON Lines and parses the captured CSV payloads;
* analyzer - the sandbox's analyzer in-process over the same files (read, statistics, checks against a baseline,
             violations and metric files written): modules/sandbox/services/sagemaker/modelmonitor;
* sandbox  - one scheduled monitoring execution end to end in a fresh sandbox: the capture in S3, the hourly
             schedule fired by a tick, inputs downloaded, the analyzer container process, outputs uploaded,
             metrics published and alarms evaluated, the event emitted.

    python benchmarks/monitor_emulation.py [--records 10000] [--features 10] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.sandbox.server import MotoServer  # noqa: E402
from modules.sandbox.services.sagemaker.modelmonitor import __main__ as container  # noqa: E402
from modules.sandbox.services.sagemaker.modelmonitor import dataquality  # noqa: E402

BUCKET = "bench-monitor"
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def rows(n: int, features: int, rng) -> list[list[str]]:
    values = rng.normal(size=(n, features))
    cats = rng.choice(["a", "b", "c", "d"], size=n)
    return [[f"{v:.5f}" for v in values[i]] + [str(cats[i])] for i in range(n)]


def capture_files(data: list[list[str]], moment: datetime) -> list[str]:
    """JSON Lines capture files of 1,000 records each, as the sandbox endpoint writes them."""
    files = []
    for start in range(0, len(data), 1000):
        lines = [json.dumps({"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                                              "data": ",".join(row), "encoding": "CSV"}},
                             "eventMetadata": {"eventId": str(uuid.uuid4()),
                                               "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ")},
                             "eventVersion": "0"}) for row in data[start:start + 1000]]
        files.append("\n".join(lines) + "\n")
    return files


def bare_read(folder: Path) -> int:
    import pandas as pd

    count = 0
    for path in sorted(folder.glob("*.jsonl")):
        frame = pd.read_json(path, lines=True)
        payloads = frame["captureData"].map(lambda c: c["endpointInput"]["data"])
        count += len(pd.read_csv(io.StringIO("\n".join(payloads)), header=None))
    return count


def analyzer_run(folder: Path, baseline: Path, out: Path) -> str:
    env = {"dataset_format": json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput"]}}),
           "dataset_source": str(folder), "output_path": str(out), "publish_cloudwatch_metrics": "Enabled",
           "baseline_constraints": str(baseline / "constraints.json"),
           "baseline_statistics": str(baseline / "statistics.json"), "sagemaker_endpoint_name": "ep",
           "sagemaker_monitoring_schedule_name": "dq", "end_time": "2026-12-02T01:00:00Z"}
    return container.run(env, out)


def sandbox_run(tmp: Path, files: list[str], stats: dict, constraints: dict) -> tuple[float, str]:
    import boto3

    server = MotoServer(workdir=str(tmp / "sandbox")).start()
    try:
        def client(service):
            return boto3.client(service, region_name="us-east-1", endpoint_url=server.endpoint)

        gw = server.gateway
        s3, sm, iam = client("s3"), client("sagemaker"), client("iam")
        s3.create_bucket(Bucket=BUCKET)
        role = iam.create_role(RoleName="bench-monitor", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName="bench-monitor", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        s3.put_object(Bucket=BUCKET, Key="baseline/statistics.json", Body=json.dumps(stats).encode())
        s3.put_object(Bucket=BUCKET, Key="baseline/constraints.json", Body=json.dumps(constraints).encode())
        sm.create_model(ModelName="ep", ExecutionRoleArn=role, PrimaryContainer={"Image": "x/y:1"})
        sm.create_endpoint_config(EndpointConfigName="ep-c", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "ep", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
            DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 100,
                               "DestinationS3Uri": f"s3://{BUCKET}/capture", "CaptureOptions": [{"CaptureMode": "Input"}]})
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="ep-c")
        now = datetime.fromtimestamp(gw.scheduler.now(), timezone.utc)
        for i, body in enumerate(files):
            s3.put_object(Bucket=BUCKET, Key=f"capture/ep/AllTraffic/{now:%Y/%m/%d/%H}/{i:04d}.jsonl", Body=body.encode())
        sm.create_monitoring_schedule(MonitoringScheduleName="dq", MonitoringScheduleConfig={
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"}, "MonitoringJobDefinition": {
                "BaselineConfig": {"ConstraintsResource": {"S3Uri": f"s3://{BUCKET}/baseline/constraints.json"},
                                   "StatisticsResource": {"S3Uri": f"s3://{BUCKET}/baseline/statistics.json"}},
                "MonitoringInputs": [{"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input"}}],
                "MonitoringOutputConfig": {"MonitoringOutputs": [{"S3Output": {
                    "S3Uri": f"s3://{BUCKET}/monitoring", "LocalPath": "/opt/ml/processing/output"}}]},
                "MonitoringResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                          "VolumeSizeInGB": 30}},
                "MonitoringAppSpecification": {"ImageUri": ANALYZER}, "RoleArn": role}})
        started = time.perf_counter()
        fired = gw.tick(3600 - gw.scheduler.now() % 3600 + 60)
        seconds = time.perf_counter() - started
        status = next(f["status"] for f in fired if "monitoringSchedule" in f)
    finally:
        server.stop()
    return seconds, status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    stats, constraints = dataquality.suggest_baseline(rows(5000, args.features, rng))
    data = rows(args.records, args.features, rng)
    files = capture_files(data, datetime.now(timezone.utc))
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp_name:
        tmp = Path(tmp_name)
        folder, baseline, out = tmp / "capture", tmp / "baseline", tmp / "out"
        for d in (folder, baseline, out):
            d.mkdir()
        for i, body in enumerate(files):
            (folder / f"{i:04d}.jsonl").write_text(body)
        (baseline / "statistics.json").write_text(json.dumps(stats))
        (baseline / "constraints.json").write_text(json.dumps(constraints))
        t = time.perf_counter()
        assert bare_read(folder) == args.records
        bare = time.perf_counter() - t
        t = time.perf_counter()
        analyzer_run(folder, baseline, out)
        analyzer = time.perf_counter() - t
        sandbox, status = sandbox_run(tmp, files, stats, constraints)
    per10k = 10000 / args.records
    result = {"records": args.records, "features": args.features + 1, "bare_pandas_s_per_10k": round(bare * per10k, 3),
              "analyzer_s_per_10k": round(analyzer * per10k, 3), "sandbox_execution_s_per_10k": round(sandbox * per10k, 3),
              "analyzer_vs_bare": round(analyzer / bare, 2), "sandbox_vs_bare": round(sandbox / bare, 2),
              "execution_status": status}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"monitor emulation per 10k captured records ({args.features + 1} features): bare pandas read "
              f"{result['bare_pandas_s_per_10k']:.3f} s, analyzer {result['analyzer_s_per_10k']:.3f} s "
              f"({result['analyzer_vs_bare']:.2f}x), sandbox execution {result['sandbox_execution_s_per_10k']:.3f} s "
              f"({result['sandbox_vs_bare']:.2f}x; {status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
