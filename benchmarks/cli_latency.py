"""CLI latency against the Pulumi floor (issue 17), as ratios measured in one run.

1. ``ladder plan --stack prod`` in a fresh process ("cold": new interpreter, nothing imported) with a warm
   definition cache, against the floor: a fresh process that imports pulumi_aws and registers the same number of
   custom resources (IAM roles with a small static policy) under Pulumi mocks. Target <= 1.5x.
   Also printed: the same plan with a cold definition cache (``LADDER_NO_CACHE=1``: the SageMaker SDK builds); the
   same plan with the typed pulumi_aws classes (``LADDER_TYPED_AWS=1``: each loads its namespace's type
   definitions first; the program sends the same requests without them, modules/components/sdk.py); and a second
   floor that registers the very resources of the plan (same types, same inputs) as generic
   ``pulumi.CustomResource``s - what Pulumi alone costs for this stack (a lower bound: the program also translates
   its arguments, builds its components and renders). Each floor is printed twice: as a plain
   script, and run the way ``ladder plan`` runs (no cyclic garbage collector, objects frozen before exit:
   modules/cli.py ONE_SHOT), so the GC tuning is not counted as our program's speed.
2. ``ladder --help`` against a bare Typer app's ``--help`` (fresh processes). Target <= 2x.
   And where the plan's time goes (fresh processes, medians): the CLI's own imports (typer, rich), Pulumi's
   runtime, pulumi_aws's top level and the resource table the program registers with (aws_sdk.json; the floor
   imports pulumi_aws and its iam namespace), our modules (spec, components), and the run (spec load, the
   program's registrations under mocks, rendering) - each imported in that order before the command runs.
3. 100 level-4 projects planned in one process (imports warm) against the floor for the same resource count in
   the same process (benchmarks/plan_scaling.py's floor). Target <= 1.5x. Also printed: against the very
   resources of that plan registered by bare Pulumi (same types and inputs) in the same process.

    python benchmarks/cli_latency.py [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
LADDER = [PY, "-m", "modules.cli"]
TARGETS = {"plan_prod": 1.5, "help": 2.0, "plan_100": 1.5}

# What both fresh-process floors share: the collector as `ladder plan` runs it (BENCH_GC=off), Pulumi's mocks
# (each resource gets an ARN of the given form) and a helper that imports the typed class of a resource type.
_FLOOR_PRELUDE = '''
import gc, os
if os.environ.get("BENCH_GC") == "off":  # as `ladder plan` runs: no collector, frozen at exit
    gc.disable()
import importlib, json, sys
import pulumi
from pulumi.runtime.sync_await import _sync_await

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return f"{args.name}-id", dict(args.inputs, arn=f"@ARN@")
    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), project="bench", stack="bench", preview=False)
'''
_FLOOR_END = '''
if os.environ.get("BENCH_GC") == "off":
    gc.freeze()
'''

FLOOR_ROLES = _FLOOR_PRELUDE.replace("@ARN@", "arn:aws:iam::123456789012:role/{args.name}") + '''
import pulumi_aws as aws
doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
       "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
roles = [aws.iam.Role(f"role-{i}", name=f"bench-role-{i}", assume_role_policy=doc, tags={"i": str(i)})
         for i in range(int(sys.argv[1]))]
_sync_await(pulumi.Output.all(*[r.arn for r in roles]).future())
''' + _FLOOR_END

FLOOR_SAME = _FLOOR_PRELUDE.replace("@ARN@", "arn:aws:x::123456789012:{args.name}") + '''
import pulumi_aws  # its top level (the program imports it for get_caller_identity), not its namespaces
resources = json.load(open(sys.argv[1]))
made = [pulumi.CustomResource(r["type"], r["name"], r["inputs"]) for r in resources]
_sync_await(pulumi.Output.all(*[m.urn for m in made]).future())
''' + _FLOOR_END

SAME_PROGRAM = '''
import json, os
import pulumi
resources = json.load(open(os.environ["BENCH_RESOURCES"]))
for r in resources:
    pulumi.CustomResource(r["type"], r["name"], r["inputs"])
'''

BREAKDOWN = '''
import gc, json, sys, time
gc.disable()  # as `ladder plan` runs (modules/cli.py ONE_SHOT)
marks = [time.perf_counter()]
import typer, rich.console, modules.cli  # noqa: E401
marks.append(time.perf_counter())
import pulumi, pulumi.runtime.mocks  # noqa: E401
marks.append(time.perf_counter())
import pulumi_aws, modules.components.sdk  # noqa: E401
modules.components.sdk._table()
marks.append(time.perf_counter())
import modules.plan, modules.platform, modules.spec  # noqa: E401
marks.append(time.perf_counter())
try:
    modules.cli.main(["plan", "--stack", "prod"])
except SystemExit:
    pass
marks.append(time.perf_counter())
print("BREAKDOWN", json.dumps([b - a for a, b in zip(marks, marks[1:])]), file=sys.stderr)
'''
BREAKDOWN_PARTS = ("cli imports (typer, rich)", "pulumi runtime import", "pulumi_aws top level + resource table",
                   "our modules (spec, components)", "run: spec load, registrations, render")

BARE_TYPER = '''
import typer
app = typer.Typer(add_completion=False)

@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""

@app.command()
def bye() -> None:
    """Say bye."""

app()
'''


def run(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    return time.perf_counter() - t0


def median(cmd: list[str], repeat: int, env: dict | None = None) -> float:
    return statistics.median(run(cmd, env) for _ in range(repeat))


def breakdown(script: Path, repeat: int) -> dict[str, float]:
    """Medians of each part of a fresh-process plan (BREAKDOWN), plus the interpreter's own start."""
    parts: list[list[float]] = [[] for _ in BREAKDOWN_PARTS]
    rest: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([PY, str(script)], cwd=ROOT, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        line = next(ln for ln in reversed(proc.stderr.splitlines()) if ln.startswith("BREAKDOWN "))
        inside = json.loads(line[10:])
        for i, value in enumerate(inside):
            parts[i].append(value)
        rest.append(wall - sum(inside))
    out = {"interpreter start and exit (the process's wall time minus the parts)": statistics.median(rest)}
    out.update({name: statistics.median(values) for name, values in zip(BREAKDOWN_PARTS, parts, strict=True)})
    return out


def plan_100(repeat: int) -> dict:
    """In one process (imports warm): 100 level-4 projects vs the same count of bare roles (plan_scaling's floor)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from plan_scaling import BARE_PROGRAM, make_config, timed

    from modules import levels, plan, spec

    warm = make_config(1, levels.MAX_LEVEL)
    plan.run_program(spec.from_config(warm, stack="bench"), warm)
    cfg = make_config(100, levels.MAX_LEVEL)
    s = spec.from_config(cfg, stack="bench")
    plan.run_program(s, cfg)  # fills the definition cache for these 100 projects (a cold cache's one-off cost)
    t_plan, graph = timed(lambda: plan.run_program(s, cfg), repeat)
    with tempfile.TemporaryDirectory() as tmp:
        bare, same, dump = Path(tmp) / "bare.py", Path(tmp) / "same.py", Path(tmp) / "resources.json"
        bare.write_text(BARE_PROGRAM)
        same.write_text(SAME_PROGRAM)
        custom = [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in graph.resources
                  if r.custom and not r.type.startswith("pulumi:")]
        dump.write_text(json.dumps(custom))
        os.environ["BENCH_N"] = str(len(graph.resources))
        os.environ["BENCH_RESOURCES"] = str(dump)
        t_bare, _ = timed(lambda: plan.run_program(s, cfg, program=bare), repeat)
        t_same, _ = timed(lambda: plan.run_program(s, cfg, program=same), repeat)
    return {"resources": len(graph.resources), "custom": len(custom), "plan_s": t_plan, "floor_s": t_bare,
            "same_s": t_same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n = args.repeat

    # the plan's resources (this also warms the definition cache: the first plan after a change fills it)
    out = subprocess.run([*LADDER, "plan", "--stack", "prod", "--json"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    resources = [r for r in json.loads(out)["resources"] if not r["type"].startswith(("mlops:", "pulumi:"))]
    custom = len(resources)
    with tempfile.TemporaryDirectory() as tmp:
        roles, same, typer_app, dump, split = (
            Path(tmp) / f for f in ("roles.py", "same.py", "typer_app.py", "res.json", "breakdown.py"))
        split.write_text(BREAKDOWN)
        roles.write_text(FLOOR_ROLES)
        same.write_text(FLOOR_SAME)
        typer_app.write_text(BARE_TYPER)
        dump.write_text(json.dumps(resources))
        plan_warm = median([*LADDER, "plan", "--stack", "prod"], n)
        plan_nocache = median([*LADDER, "plan", "--stack", "prod"], max(1, n // 2), env={"LADDER_NO_CACHE": "1"})
        plan_typed = median([*LADDER, "plan", "--stack", "prod"], n, env={"LADDER_TYPED_AWS": "1"})
        floor_roles = median([PY, str(roles), str(custom)], n)
        floor_same = median([PY, str(same), str(dump)], n)
        gc_off = {"BENCH_GC": "off"}
        floor_roles_gc = median([PY, str(roles), str(custom)], n, env=gc_off)
        floor_same_gc = median([PY, str(same), str(dump)], n, env=gc_off)
        ladder_help = median([*LADDER, "--help"], n)
        typer_help = median([PY, str(typer_app), "--help"], n)
        parts = breakdown(split, n)
    p100 = plan_100(max(1, n // 2))
    rows = {
        "plan_prod": {"what": f"cold `ladder plan --stack prod` (fresh process, warm definition cache), {custom} "
                              f"resources, vs import pulumi_aws + {custom} roles under mocks",
                      "s": plan_warm, "floor_s": floor_roles},
        "plan_prod_cold_cache": {"what": "the same with a cold definition cache (LADDER_NO_CACHE=1: the SDK builds)",
                                 "s": plan_nocache, "floor_s": floor_roles},
        "plan_prod_typed_aws": {"what": "the same with the typed pulumi_aws classes (LADDER_TYPED_AWS=1: their "
                                        "namespaces' type definitions load)", "s": plan_typed, "floor_s": floor_roles},
        "plan_prod_same_types": {"what": f"the same plan vs the same {custom} resources (types, inputs) "
                                         "registered by bare Pulumi", "s": plan_warm, "floor_s": floor_same},
        "plan_prod_gc_parity": {"what": "the same plan vs the roles floor run as `ladder plan` runs (no cyclic GC, "
                                        "frozen at exit)", "s": plan_warm, "floor_s": floor_roles_gc},
        "plan_prod_same_types_gc": {"what": "the same plan vs its same resources registered by bare Pulumi, no cyclic "
                                            "GC either: what our program adds to the SDK", "s": plan_warm,
                                    "floor_s": floor_same_gc},
        "help": {"what": "`ladder --help` vs a bare Typer app's --help (fresh processes)",
                 "s": ladder_help, "floor_s": typer_help},
        "plan_100": {"what": f"100 level-4 projects ({p100['resources']} resources) in one process vs the same "
                             "count of bare roles", "s": p100["plan_s"], "floor_s": p100["floor_s"]},
        "plan_100_same_types": {"what": f"the same vs its {p100['custom']} resources (types, inputs) registered by "
                                        "bare Pulumi in the same process", "s": p100["plan_s"],
                                "floor_s": p100["same_s"]},
    }
    for key, row in rows.items():
        row["ratio"] = row["s"] / row["floor_s"]
        row["target"] = TARGETS.get(key)
        row["met"] = None if row["target"] is None else row["ratio"] <= row["target"]
    if args.json:
        print(json.dumps({**rows, "plan_prod_breakdown_s": parts}, indent=2))
        return
    print(f"{'':22} {'ours s':>7} {'floor s':>8} {'ratio':>6} {'target':>7}")
    for key, row in rows.items():
        target = f"<= {row['target']}" if row["target"] else ""
        mark = "" if row["met"] is None else (" ok" if row["met"] else " MISSED")
        print(f"{key:22} {row['s']:7.3f} {row['floor_s']:8.3f} {row['ratio']:6.2f} {target:>7}{mark}  {row['what']}")
    total = sum(parts.values())
    print(f"\nwhere a fresh-process `ladder plan --stack prod` spends its time (medians, sum {total:.3f} s):")
    for name, seconds in parts.items():
        print(f"  {seconds:7.3f} s {seconds / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
