"""Plan time for 10 and 100 projects at the highest level, against the bare Pulumi SDK floor.

The floor is a program that registers the SAME number of resources (plain pulumi-aws IAM roles with a
small static policy) through the same mocks in the same process: it measures what Pulumi's own
registration costs, so the ratio says how much our program (spec, components, policies, pipeline
definitions) adds on top. Figures are ratios measured in one run; absolute seconds vary by machine.

    python benchmarks/plan_scaling.py [--projects 10 100] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules import levels, plan, spec  # noqa: E402

BARE_PROGRAM = '''
import json, os
import pulumi, pulumi_aws as aws
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
       "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
for i in range(int(os.environ["BENCH_N"])):
    aws.iam.Role(f"role-{i}", name=f"bench-role-{i}", assume_role_policy=doc, tags={"i": str(i)})
'''


def make_config(n: int, maturity: int) -> dict:
    def serving(i: int) -> dict:
        out = {"minInstances": 1, "maxInstances": 2}
        if maturity >= 3:  # an approved model, so the endpoint and its monitoring are declared too
            out["modelPackageArn"] = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/bench-dev-p{i:03d}/1"
        return out

    projects = [{"name": f"p{i:03d}", "training": {"schedule": "rate(7 days)"}, "serving": serving(i)}
                for i in range(n)]
    return {"aws:region": "us-east-1", "mlops:environment": "dev", "mlops:maturity": maturity,
            "mlops:owner": "bench@example.com", "mlops:org": "bench",
            "mlops:github": {"org": "bench", "platformRepository": "bench/platform"},
            "mlops:projects": projects}


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--level", type=int, default=levels.MAX_LEVEL)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    # warm up imports (SDKs) once so neither side pays them
    warm = make_config(1, args.level)
    plan.run_program(spec.from_config(warm, stack="bench"), warm)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_PROGRAM)
        for n in args.projects:
            cfg = make_config(n, args.level)
            s = spec.from_config(cfg, stack="bench")
            t_plan, graph = timed(lambda s=s, cfg=cfg: plan.run_program(s, cfg), args.repeat)
            count = len(graph.resources)
            os.environ["BENCH_N"] = str(count)
            t_bare, bare_graph = timed(lambda s=s, cfg=cfg: plan.run_program(s, cfg, program=bare), args.repeat)
            assert len(bare_graph.resources) == count
            rows.append({"projects": n, "level": args.level, "resources": count, "plan_s": round(t_plan, 3),
                         "bare_sdk_s": round(t_bare, 3), "ratio": round(t_plan / t_bare, 2)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'projects':>8} {'level':>5} {'resources':>9} {'plan s':>8} {'bare SDK s':>10} {'ratio':>6}")
    for r in rows:
        print(f"{r['projects']:>8} {r['level']:>5} {r['resources']:>9} {r['plan_s']:>8.3f} {r['bare_sdk_s']:>10.3f} "
              f"{r['ratio']:>6.2f}")


if __name__ == "__main__":
    main()
