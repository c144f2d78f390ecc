"""Cost of modules.pipeline_definition.build_definition: SDK import, first build, then one build per project.

Run in a fresh interpreter so the import is measured too (network blocked, like a plan with no network):

    python benchmarks/pipeline_definition_cost.py [--projects 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _refuse(*args, **kwargs):
    raise OSError(f"benchmark is offline: {args[:2]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    socket.socket.connect = _refuse
    socket.getaddrinfo = _refuse

    t0 = time.perf_counter()
    from modules import pipeline_definition as pd
    pd._sdk()
    import_s = time.perf_counter() - t0

    def inputs(i: int, **kw):
        return pd.PipelineInputs(project=f"p{i:03d}", pipeline_name=f"bench-dev-p{i:03d}-training",
                                 region="us-east-1", artifact_bucket="bench-dev-artifacts",
                                 role_arn="arn:aws:iam::123456789012:role/bench-dev-exec",
                                 model_package_group=f"bench-dev-p{i:03d}", metric="auc", threshold=0.8,
                                 kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k", **kw)

    t0 = time.perf_counter()
    pd.build_definition(inputs(999))
    first_s = time.perf_counter() - t0

    per_call = []
    t_all = time.perf_counter()
    for i in range(args.projects):
        t0 = time.perf_counter()
        pd.build_definition(inputs(i))
        per_call.append(time.perf_counter() - t0)
    total_s = time.perf_counter() - t_all

    t0 = time.perf_counter()
    pd.build_definition(inputs(0))
    cached_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd.build_definition(inputs(0, framework="xgboost", framework_version="1.7-1"))
    new_shape_s = time.perf_counter() - t0

    result = {
        "sdk_import_s": round(import_s, 3),
        "first_build_s": round(first_s, 4),
        "projects": args.projects,
        "per_build_ms_median": round(statistics.median(per_call) * 1000, 2),
        "per_build_ms_p95": round(sorted(per_call)[int(0.95 * (len(per_call) - 1))] * 1000, 2),
        "per_build_ms_max": round(max(per_call) * 1000, 2),
        "all_projects_s": round(total_s, 3),
        "cached_repeat_ms": round(cached_s * 1000, 4),
        "new_framework_first_build_ms": round(new_shape_s * 1000, 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:32s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
