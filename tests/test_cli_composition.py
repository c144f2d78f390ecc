"""The CLI is sub-apps composed at the top (modules/cli.py COMMANDS): each command module owns its Typer app and
none imports the root app; ``ladder --help`` and ``ladder validate`` load nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modules import cli

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pulumi", "pulumi_aws", "pulumi_aws_native", "sagemaker", "boto3", "pandas", "moto")

_MODULES_AFTER = """
import json, sys
sys.argv = ["ladder", *json.loads(sys.argv[1])]
from modules.cli import app
code = 0
try:
    app()
except SystemExit as exc:
    code = exc.code
print("MODULES", json.dumps({"code": code, "modules": sorted(m.split(".")[0] for m in sys.modules)}), file=sys.stderr)
"""


def _fresh(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _MODULES_AFTER, json.dumps(list(args))], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return json.loads(next(ln for ln in reversed(proc.stderr.splitlines()) if ln.startswith("MODULES "))[8:])


@pytest.mark.parametrize("args", [["--help"], ["validate", "--stack", "prod"], ["validate", "--stack", "dev"],
                                  ["levels"], ["check", "--help"], ["sandbox", "--help"], ["demo", "--help"]])
def test_help_and_validate_import_nothing_heavy(args):
    result = _fresh(*args)
    assert result["code"] == 0
    assert sorted(set(HEAVY) & set(result["modules"])) == []


def test_plan_does_import_pulumi_so_the_check_above_can_fail():
    result = _fresh("plan", "--stack", "dev", "--json")
    assert result["code"] == 0 and "pulumi_aws" in result["modules"]


@pytest.mark.parametrize("module", sorted({m for _, m, _ in cli.COMMANDS} | {"modules.console"}))
def test_no_command_module_imports_the_root_app(module):
    code = f"import sys, {module}; print('modules.cli' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "False", proc.stderr[-1000:]


@pytest.mark.parametrize("name,module,help_line", cli.COMMANDS)
def test_every_composed_command_lists_its_own_docstring(name, module, help_line):
    command = cli.command_group(module).get_command(None, name)
    assert command is not None, f"{module} has no command {name!r}"
    first = " ".join((command.help or "").split("\n\n")[0].split())
    assert help_line == first


def test_help_lists_every_command_in_one_panel():
    out = CliRunner().invoke(cli.app, ["--help"]).output
    for name in ["levels", "validate", "plan", "new", *(n for n, _, _ in cli.COMMANDS)]:
        assert f" {name} " in out


def test_a_mistyped_composed_command_is_suggested_and_exits_2():
    result = CliRunner().invoke(cli.app, ["chek"])
    assert result.exit_code == 2
    assert "No such command 'chek'" in result.output and "'check'" in result.output


def test_composed_commands_keep_their_options_and_exit_codes():
    runner = CliRunner()
    assert runner.invoke(cli.app, ["up", "--stack", "dev"]).exit_code == 2          # --sandbox required
    assert runner.invoke(cli.app, ["down", "--stack", "dev"]).exit_code == 2
    assert runner.invoke(cli.app, ["demo", "--scenario", "nope"]).exit_code == 2
    assert runner.invoke(cli.app, ["check", "--stack", ""]).exit_code == 2
    rules = runner.invoke(cli.app, ["check", "--rules", "--json"])
    assert rules.exit_code == 0 and json.loads(rules.output)
    assert runner.invoke(cli.app, ["sandbox", "tick", "1h"], env={"AWS_ENDPOINT_URL": ""}).exit_code == 2
