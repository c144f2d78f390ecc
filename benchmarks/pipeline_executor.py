"""The sandbox's pipeline executor: overhead per step against running the same script directly.

One process, one level-2 stack with one project applied into a fresh sandbox (the real program, so the pipeline is
the definition ``pulumi up`` would register), the project's own step code (baked from templates/ml-project) and
the bundled sample dataset uploaded. Then, ``--repeat`` times:

* executed - ``StartPipelineExecution``; per step the time from start to end as the executor reports it
             (download inputs from the emulator's S3, run the script, upload outputs, register);
* direct   - the same script with the same arguments and environment, run again directly in the job's
             directory (inputs already local), as a developer would run it.

The ratio executed/direct per step is what the emulation costs on top of the script itself.

    python benchmarks/pipeline_executor.py [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules import scaffold, spec  # noqa: E402
from modules.sandbox import state as sandbox  # noqa: E402
from modules.sandbox.server import MotoServer  # noqa: E402

CONFIG = {"aws:region": "us-east-1", "mlops:environment": "dev", "mlops:maturity": 2,
          "mlops:owner": "bench@example.com", "mlops:org": "bench", "mlops:github": {"org": "bench"},
          "mlops:projects": [{"name": "churn", "training": {"qualityGate": {"metric": "auc", "min": 0.8}}}]}
VERSION = "bench-0001"


def setup(server: MotoServer, work: Path):
    import boto3

    s = spec.from_config(CONFIG, source="<bench>", stack="bench")
    result = sandbox.apply(s, CONFIG, endpoint=server.endpoint, state_dir=work / "state")
    bucket = result.outputs["artifactBucket"]
    pipeline = result.outputs["projects"]["churn"]["pipelineName"]
    from modules.cli import scaffold_context

    repo = scaffold.bake(scaffold_context(s, s.project("churn")), work / "projects", force=True)
    code_dir = next((repo / "src").iterdir())
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server.endpoint)
    sm = boto3.client("sagemaker", region_name="us-east-1", endpoint_url=server.endpoint)
    definition = json.loads(sm.describe_pipeline(PipelineName=pipeline)["PipelineDefinition"])
    params = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    prefix = f"churn/code/{VERSION}/" if "CodeVersion" in params else "churn/code/initial/"
    files = sorted(code_dir.glob("*.py"))
    for f in files:
        s3.put_object(Bucket=bucket, Key=prefix + f.name, Body=f.read_bytes())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for f in files:
            tar.add(f, arcname=f.name)
    s3.put_object(Bucket=bucket, Key=prefix + "sourcedir.tar.gz", Body=buf.getvalue())
    from sklearn.datasets import load_breast_cancer

    import pandas as pd

    bunch = load_breast_cancer(as_frame=True)
    csv = pd.concat([bunch.target.rename("target"), bunch.data], axis=1).to_csv(index=False).encode()
    data = str(params.get("InputDataUrl") or f"s3://{bucket}/churn/data/").removeprefix(f"s3://{bucket}/")
    s3.put_object(Bucket=bucket, Key=f"{data.rstrip('/')}/{VERSION}/data.csv", Body=csv)
    s3.put_object(Bucket=bucket, Key=f"{data.rstrip('/')}/data.csv", Body=csv)
    start = [{"Name": "CodeVersion", "Value": VERSION}] if "CodeVersion" in params else []
    return sm, pipeline, start


def replay(job_dir: Path) -> float:
    job = json.loads((job_dir / "job.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_", "SAGEMAKER_"))}
    started = time.perf_counter()
    subprocess.run(job["argv"], cwd=job["cwd"], env={**env, **job["env"]}, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-executor-") as tmp:
        work = Path(tmp)
        server = MotoServer(workdir=str(work / "emulation")).start()
        try:
            sm, pipeline, params = setup(server, work)
            rows: dict[str, dict[str, list[float]]] = {}
            for _ in range(args.repeat):
                arn = sm.start_pipeline_execution(PipelineName=pipeline, PipelineParameters=params)["PipelineExecutionArn"]
                execution = server.gateway.pipelines.wait(arn, 900)
                if execution.status != "Succeeded":
                    print(f"execution {execution.status}: {execution.failure}", file=sys.stderr)
                    return 1
                for rec in execution.steps.values():
                    job = rec.metadata.get("ProcessingJob") or rec.metadata.get("TrainingJob")
                    if not job:
                        continue
                    job_dir = work / "emulation" / "sagemaker" / "jobs" / job["Arn"].rsplit("/", 1)[-1]
                    row = rows.setdefault(rec.name, {"executed": [], "direct": []})
                    row["executed"].append(rec.ended - rec.started)
                    row["direct"].append(replay(job_dir))
        finally:
            server.stop()
    report = {name: {"executed_s": round(statistics.median(r["executed"]), 3),
                     "direct_s": round(statistics.median(r["direct"]), 3),
                     "ratio": round(statistics.median(r["executed"]) / statistics.median(r["direct"]), 2)}
              for name, r in rows.items()}
    total_e = sum(v["executed_s"] for v in report.values())
    total_d = sum(v["direct_s"] for v in report.values())
    summary = {"steps": report, "total": {"executed_s": round(total_e, 3), "direct_s": round(total_d, 3),
                                          "ratio": round(total_e / total_d, 2)}, "repeat": args.repeat}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"pipeline executor overhead (median of {args.repeat}; executed / direct script run)")
    for name, v in report.items():
        print(f"  {name:12s} executed {v['executed_s']:6.2f}s  direct {v['direct_s']:6.2f}s  ratio {v['ratio']:.2f}x")
    t = summary["total"]
    print(f"  {'total':12s} executed {t['executed_s']:6.2f}s  direct {t['direct_s']:6.2f}s  ratio {t['ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
