"""The plan runs without the cyclic garbage collector (modules/plan.py ``gc_paused``: full collections over the
typed SDK's classes were about a fifth of a fresh-process plan), and gives it back to every caller that goes on;
only a one-shot ``ladder`` process (modules/cli.py ``ONE_SHOT``) leaves it off until it exits."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from modules import console, plan

ROOT = Path(__file__).resolve().parent.parent


def test_gc_paused_disables_and_restores_the_previous_state():
    assert gc.isenabled()
    with plan.gc_paused():
        assert not gc.isenabled()
        with plan.gc_paused():  # re-entrant: the inner block does not turn it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with plan.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_gc_paused_restores_after_an_exception():
    with pytest.raises(RuntimeError):
        with plan.gc_paused():
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_plan_graph_gives_the_collector_back_after_a_plan_and_after_bad_input():
    graph = console.plan_graph("dev", None)
    assert graph.resources and gc.isenabled()
    with pytest.raises(typer.Exit) as exc:
        console.plan_graph("no-such-stack", None)
    assert exc.value.exit_code == 2 and gc.isenabled()


_MAIN = """
import gc, json, sys
from modules import cli
code, collections = 0, []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
try:
    cli.main(json.loads(sys.argv[1]))
except SystemExit as exc:
    code = exc.code
ran_without = not collections  # no cyclic collection ran during the command
print("GC", json.dumps({"code": code, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count() > 0,
                        "collected": not ran_without}), file=sys.stderr)
"""


def _main(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _MAIN, json.dumps(list(args))], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    return json.loads(next(ln for ln in reversed(proc.stderr.splitlines()) if ln.startswith("GC "))[3:])


@pytest.mark.parametrize("args,enabled", [(["levels", "--json"], False), (["validate", "--stack", "dev"], False),
                                          (["sandbox", "--help"], True), (["upgrade", "--help"], True),
                                          (["--help"], True)])
def test_only_one_shot_commands_run_without_the_collector(args, enabled):
    result = _main(*args)
    assert result["code"] == 0
    # a one-shot command runs with no cyclic collection and freezes its objects before returning (the final
    # collection at exit then skips them); the collector is given back either way (in-process callers keep it)
    assert result["enabled"] is True
    assert result["frozen"] is (not enabled)
    if not enabled:
        assert result["collected"] is False
