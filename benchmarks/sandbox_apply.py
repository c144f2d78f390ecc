"""Sandbox apply time for N projects at the highest level, next to the offline plan of the same spec.

Same process, same spec (built in memory), imports warmed up by one untimed plan first:

* plan       - the program under the plan mocks (no AWS at all);
* apply      - the program under the sandbox mocks into a fresh moto server (every resource created
               through boto3, state file written);
* re-apply   - the same again (idempotent: nothing created, outputs from the state);
* destroy    - everything deleted, dependents first.

The ratio apply/plan is what emulating the AWS calls costs on top of running the program.

    python benchmarks/sandbox_apply.py [--projects 10] [--level 4] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules import levels, plan, spec  # noqa: E402
from modules.sandbox import state as sandbox  # noqa: E402
from modules.sandbox.server import MotoServer  # noqa: E402


def make_config(n: int, maturity: int) -> dict:
    # an approved model package per project, so level 3-4 declare the endpoint and its monitoring too
    projects = [{"name": f"p{i:03d}", "training": {"schedule": "rate(7 days)"},
                 "serving": {"minInstances": 1, "maxInstances": 2, "modelPackageArn":
                             f"arn:aws:sagemaker:us-east-1:123456789012:model-package/bench-dev-p{i:03d}/1"}}
                for i in range(n)]
    return {"aws:region": "us-east-1", "mlops:environment": "dev", "mlops:maturity": maturity,
            "mlops:owner": "bench@example.com", "mlops:org": "bench",
            "mlops:github": {"org": "bench", "platformRepository": "bench/platform"},
            "mlops:projects": projects}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--level", type=int, default=levels.MAX_LEVEL)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    cfg = make_config(args.projects, args.level)
    s = spec.from_config(cfg, source="<benchmark>", stack="bench")
    graph = plan.run_program(s, cfg)  # warm-up: imports, pipeline-definition SDK
    resources = len([r for r in graph.resources if r.custom])

    plan_times, apply_times, reapply_times, destroy_times = [], [], [], []
    validated = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        plan.run_program(s, cfg)
        plan_times.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp, MotoServer() as server:
            t0 = time.perf_counter()
            first = sandbox.apply(s, cfg, endpoint=server.endpoint, state_dir=tmp)
            apply_times.append(time.perf_counter() - t0)
            assert first.counts["created"] == resources, first.counts
            t0 = time.perf_counter()
            again = sandbox.apply(s, cfg, endpoint=server.endpoint, state_dir=tmp)
            reapply_times.append(time.perf_counter() - t0)
            assert again.counts["created"] == 0 and again.counts["unchanged"] == resources, again.counts
            t0 = time.perf_counter()
            down = sandbox.destroy("bench", endpoint=server.endpoint, state_dir=tmp)
            destroy_times.append(time.perf_counter() - t0)
            assert down.counts["deleted"] == resources, down.counts
            validated = len(first.validated)
        _reset_moto()  # every MotoServer in one process shares moto's backends: next round from nothing

    med = {k: statistics.median(v) for k, v in (("plan", plan_times), ("apply", apply_times),
                                                 ("reapply", reapply_times), ("destroy", destroy_times))}
    report = {"projects": args.projects, "level": args.level, "resources": resources,
              "validatedNotEmulatedOps": validated, "repeat": args.repeat,
              "seconds": {k: round(v, 3) for k, v in med.items()},
              "ratio": {"apply/plan": round(med["apply"] / med["plan"], 2),
                        "reapply/plan": round(med["reapply"] / med["plan"], 2),
                        "destroy/plan": round(med["destroy"] / med["plan"], 2)}}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.projects} projects at level {args.level}: {resources} resources "
          f"({validated} operations validated, not emulated), median of {args.repeat}")
    for k in ("plan", "apply", "reapply", "destroy"):
        ratio = "" if k == "plan" else f"  ({med[k] / med['plan']:.2f}x plan)"
        print(f"  {k:8} {med[k]:7.2f} s{ratio}")


def _reset_moto() -> None:
    from moto.moto_api import _internal

    _internal.moto_api_backend.reset()


if __name__ == "__main__":
    main()
