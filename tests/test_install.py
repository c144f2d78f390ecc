"""Clean installs: `pip install mlops-ladder` brings what every command (demo and sandbox included) imports
at run time, without the dev extra; a generated repository's `make install` creates its own virtualenv, and
every make target that runs offline works after it."""

from __future__ import annotations

import ast
import importlib.metadata as md
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from modules.scaffold import bake

ROOT = Path(__file__).resolve().parent.parent
# imported directly, installed by a declared base dependency that is their own umbrella distribution
VIA = {"botocore": "boto3", "sagemaker-core": "sagemaker", "sagemaker-train": "sagemaker",
       "sagemaker-serve": "sagemaker", "sagemaker-mlops": "sagemaker"}


def base_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def third_party_imports(root: Path, local: set[str]) -> dict[str, set[str]]:
    """top-level module -> files importing it (absolute imports that are neither stdlib nor local)."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, set()).add(path.relative_to(root).as_posix())
    return found


def test_every_runtime_import_of_the_platform_is_a_base_dependency():
    """Fails on the old pyproject, where scikit-learn, pandas (demo, analyzer), numpy and scipy came with the
    dev extra only."""
    base = {canonicalize_name(r.name) for r in base_requirements()}
    providers = md.packages_distributions()
    missing = []
    for top, files in sorted(third_party_imports(ROOT / "modules", {"modules"}).items()):
        dists = {canonicalize_name(d) for d in providers.get(top, [])}
        assert dists, f"{top} (imported by {sorted(files)}) is not installed"
        if dists & base:
            continue
        via = {VIA.get(d) for d in dists} & base
        if via:  # the umbrella really requires it
            required = {canonicalize_name(Requirement(r).name) for v in via for r in md.requires(v) or []}
            assert dists & required, f"{top}: {via} does not require {dists}"
            continue
        missing.append(f"{top} ({', '.join(sorted(dists))}) imported by {', '.join(sorted(files)[:3])}")
    assert not missing, "not in [project] dependencies: " + "; ".join(missing)


def test_the_demo_can_run_the_baked_step_code_with_base_dependencies(tmp_path):
    """`ladder demo` runs the generated repository's step code, run_pipeline and smoke test with the platform's
    own interpreter: the project's runtime dependencies (dependencies + the aws extra) are base dependencies of
    the platform (or what they install)."""
    repo = bake({"project_name": "probe", "maturity_level": 4}, tmp_path)
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    needed = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["aws"]]
    base = {canonicalize_name(r.name) for r in base_requirements()}
    closure, todo = set(), list(base)
    while todo:  # what a base install brings (installed metadata, extras of the base requirements)
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for raw in md.requires(name) or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    assert {canonicalize_name(r.name) for r in needed} <= closure
    for req in needed:  # and the versions the platform installs satisfy the project's specifiers
        assert req.specifier.contains(md.version(req.name), prereleases=True), (req, md.version(req.name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_every_offline_make_target_works_after_make_install(tmp_path):
    """Level 4 (every target): `make install` creates .venv (nothing in the interpreter that runs it) from the
    hash-locked requirements; then test, lint, train-local, serve-local (answers /ping), baseline, drift run in
    it. pipeline/smoke-test/deploy need AWS credentials and image needs Docker: their usage checks only."""
    repo = bake({"project_name": "probe", "maturity_level": 4}, tmp_path)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AWS_")) and k not in ("MAKEFLAGS", "MFLAGS")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"})

    def make(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(["make", "--no-print-directory", *args], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    # the interpreter the venv is made from is this test's; the venv's packages are its own
    done = make("install", f"BASE_PYTHON={sys.executable}", timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    venv_python = repo / ".venv" / "bin" / "python"
    assert venv_python.is_file()
    site = subprocess.run([str(venv_python), "-c", "import sys, uvicorn, fastapi, sklearn, moto; print(sys.prefix)"],
                          capture_output=True, text=True, env=env, check=False, timeout=120)
    assert site.returncode == 0 and Path(site.stdout.strip()) == repo / ".venv", site.stderr

    for target in ("test", "lint", "train-local", "baseline", "drift"):
        done = make(target)
        assert done.returncode == 0, f"make {target}: " + done.stdout[-3000:] + done.stderr[-3000:]
        assert ".venv/bin/python" in done.stdout, f"make {target} did not run in .venv: {done.stdout[:500]}"
    assert "passed" in make("test").stdout

    port = _free_port()
    server = subprocess.Popen(["make", "--no-print-directory", "serve-local", f"PORT={port}"], cwd=repo, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 180, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp:
                    answer = resp.status
                    break
            except OSError:
                time.sleep(0.5)
        assert answer == 200, f"serve-local did not answer /ping (exit {server.poll()})"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    for target, usage in (("smoke-test", "usage: make smoke-test DEPLOY_ENV="), ("deploy", "usage: make deploy")):
        done = make(target)
        assert done.returncode == 2 and usage in done.stderr, done.stdout + done.stderr


def test_readme_starts_with_the_virtualenv(tmp_path):
    repo = bake({"project_name": "probe", "maturity_level": 1}, tmp_path)
    readme = (repo / "README.md").read_text()
    how = readme[readme.index("## How to run"):]
    first = re.search(r"```bash\n(.*?)\n", how).group(1)
    assert first.startswith("make install")
    assert "python3 -m venv .venv" in how[:how.index("```bash")]
    makefile = (repo / "Makefile").read_text()
    install = re.search(r"^install:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert install.splitlines()[0].strip() == "test -x $(VENV)/bin/python || $(BASE_PYTHON) -m venv $(VENV)"
    assert all("$(VENV)/bin/python -m pip" in line for line in install.splitlines()[1:])
