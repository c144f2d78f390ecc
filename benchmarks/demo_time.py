"""Wall time of `ladder demo` (the whole offline lifecycle), per step, against one plan of the same stack.

    python benchmarks/demo_time.py [--stack prod] [--json]

The ratio (demo / plan) is the figure; absolute seconds vary by machine. The demo's first step includes
starting an embedded moto server and applying ~50 resources; its training step runs the scaffolded project's
own code in a subprocess.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules import plan  # noqa: E402
from modules.demo import Demo  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="prod")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    plan.plan(stack=args.stack)  # warm the SDK imports so neither side pays them
    t0 = time.perf_counter()
    plan.plan(stack=args.stack)
    t_plan = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = Demo(args.stack).run()
    t_demo = time.perf_counter() - t0
    row = {"stack": args.stack, "plan_s": round(t_plan, 3), "demo_s": round(t_demo, 2),
           "ratio": round(t_demo / t_plan, 1), "steps": {s.key: round(s.seconds, 2) for s in result.steps}}
    if args.json:
        print(json.dumps(row, indent=2))
        return
    print(f"stack {args.stack}: demo {t_demo:.1f}s, plan {t_plan:.2f}s, demo/plan = {t_demo / t_plan:.1f}")
    for key, seconds in row["steps"].items():
        print(f"  {key:<10} {seconds:>7.2f}s  ({seconds / t_demo:.0%})")


if __name__ == "__main__":
    main()
