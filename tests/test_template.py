"""templates/ml-project: bake every maturity level, check the exact file tree, that no template syntax is
left, and run each baked project's own tests and local training offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modules.scaffold import TEMPLATE_DIR, ScaffoldError, bake

SLUG, PKG = "churn-model", "churn_model"
CONTEXT = {"project_name": "Churn Model", "environment": "dev", "aws_region": "us-east-1",
           "github_repository": "acme/churn-model", "quality_gate_metric": "auc", "quality_gate_min": 0.8}

LEVEL_0 = {
    ".gitignore",
    "Makefile",
    "README.md",
    "pyproject.toml",
    f"src/{PKG}/__init__.py",
    f"src/{PKG}/config.py",
    f"src/{PKG}/evaluate.py",
    f"src/{PKG}/local.py",
    f"src/{PKG}/preprocess.py",
    f"src/{PKG}/train.py",
    "tests/conftest.py",
    "tests/test_evaluate.py",
    "tests/test_local.py",
    "tests/test_preprocess.py",
    "tests/test_train.py",
}
LEVEL_1 = LEVEL_0 | {
    ".dockerignore",
    ".github/workflows/ci.yml",
    "Dockerfile",
    "serving/__init__.py",
    "serving/app.py",
    "serving/serve",
    "tests/test_serving.py",
}
LEVEL_2 = LEVEL_1 | {
    "pipelines/__init__.py",
    "pipelines/run_pipeline.py",
    "tests/test_run_pipeline.py",
}
LEVEL_3 = LEVEL_2 | {
    ".github/workflows/deploy.yml",
    "deploy/__init__.py",
    "deploy/deploy.py",
    "deploy/smoke_test.py",
    "tests/test_deploy.py",
}
LEVEL_4 = LEVEL_3 | {
    "monitoring/__init__.py",
    "monitoring/baseline.py",
    "monitoring/drift.py",
    "tests/test_monitoring.py",
}
EXPECTED = {0: LEVEL_0, 1: LEVEL_1, 2: LEVEL_2, 3: LEVEL_3, 4: LEVEL_4}

GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def offline_env(**extra) -> dict:
    """Environment for baked-project subprocesses: dummy AWS credentials, no endpoint, no network."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        # any real network call fails fast instead of leaving the machine
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": "",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": "src" + os.pathsep + ".",
    })
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    """level -> baked project dir (each level baked once for the module)."""
    projects = {}
    for level in EXPECTED:
        out = tmp_path_factory.mktemp(f"level{level}")
        projects[level] = bake({**CONTEXT, "maturity_level": level}, out)
    return projects


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_exact_tree(baked, level):
    root = baked[level]
    assert root.name == SLUG
    assert tree(root) == EXPECTED[level]


def test_levels_only_add_files():
    for level in range(1, 5):
        assert EXPECTED[level - 1] < EXPECTED[level]


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_no_template_syntax_left(baked, level):
    for rel in sorted(tree(baked[level])):
        text = GITHUB_EXPRESSION.sub("", (baked[level] / rel).read_text())
        for token in ("{{", "{%", "{#", "cookiecutter."):
            assert token not in text, f"level {level}: {token!r} left in {rel}"


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_baked_values(baked, level):
    root = baked[level]
    config = (root / "src" / PKG / "config.py").read_text()
    assert f"MATURITY_LEVEL = {level}\n" in config
    assert 'QUALITY_GATE_METRIC = "auc"' in config and "QUALITY_GATE_MIN = 0.8\n" in config
    assert f"maturity level {level}" in (root / "README.md").read_text()
    assert "\t$(PYTHON) -m $(PACKAGE).local" in (root / "Makefile").read_text()
    if level >= 1:
        ci = (root / ".github/workflows/ci.yml").read_text()
        assert "role-to-assume: ${{ vars.AWS_ROLE_ARN }}" in ci
        assert "/mlops/${MLOPS_ENVIRONMENT}/${MLOPS_PROJECT}/ecr-repository" in ci
        assert f"MLOPS_PROJECT: {SLUG}" in ci
        assert ("pipelines.run_pipeline" in ci) == (level >= 2)
        assert "EXPOSE 8080" in (root / "Dockerfile").read_text()
        assert os.access(root / "serving/serve", os.X_OK)
    if level >= 3:
        deploy = (root / ".github/workflows/deploy.yml").read_text()
        assert "model-approved" in deploy and "client_payload.model_package_arn" in deploy
        assert "environment: prod" in deploy


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_workflows_are_valid_yaml(baked, level):
    yaml = pytest.importorskip("yaml")
    for path in sorted((baked[level] / ".github/workflows").glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["jobs"], path


@pytest.mark.slow
@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_baked_project_tests_pass(baked, level):
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=baked[level],
                            env=offline_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
    print(f"level {level}: baked tests {time.monotonic() - started:.1f}s")


@pytest.mark.slow
@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_baked_project_lints_clean(baked, level):
    """The baked CI runs `ruff check .`; so do we (ruff is a dev dependency of this repository)."""
    ruff = [os.environ["RUFF"]] if os.environ.get("RUFF") else [sys.executable, "-m", "ruff"]
    result = subprocess.run([*ruff, "check", "--no-cache", "."], cwd=baked[level], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("level", [0, 4])
def test_train_local(baked, level, tmp_path):
    build = tmp_path / "build"
    result = subprocess.run([sys.executable, "-m", f"{PKG}.local", "--build-dir", str(build)],
                            cwd=baked[level], env=offline_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (build / "model" / "model.joblib").stat().st_size > 0
    report = json.loads((build / "evaluation" / "evaluation.json").read_text())
    assert report["metrics"]["auc"]["value"] >= 0.8
    assert "quality gate passed" in result.stdout


@pytest.mark.slow
def test_train_local_fails_when_the_gate_is_not_met(tmp_path):
    root = bake({**CONTEXT, "maturity_level": 0, "quality_gate_metric": "accuracy", "quality_gate_min": 1},
                tmp_path / "out")
    result = subprocess.run([sys.executable, "-m", f"{PKG}.local", "--build-dir", str(tmp_path / "b")],
                            cwd=root, env=offline_env(), capture_output=True, text=True, timeout=300)
    # accuracy 1.0 on the held-out split is not reached by this model
    assert result.returncode == 1, result.stdout + result.stderr
    assert "quality gate FAILED: accuracy" in result.stderr


def plain_cookiecutter(out: Path, *args: str) -> subprocess.CompletedProcess:
    """`cookiecutter --no-input templates/ml-project`, with cookiecutter's own state kept out of ~ and out."""
    state = out.parent / f"{out.name}-cookiecutter-state"
    state.mkdir()
    (state / "config.yaml").write_text(f"cookiecutters_dir: {state / 'c'}\nreplay_dir: {state / 'r'}\n")
    return subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE_DIR), "-o", str(out),
                           *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COOKIECUTTER_CONFIG": str(state / "config.yaml")})


def test_plain_cookiecutter_with_defaults(tmp_path):
    result = plain_cookiecutter(tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    defaults = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    assert defaults["maturity_level"] == "2"
    assert tree(tmp_path / "out" / SLUG) == LEVEL_2


def test_int_and_string_levels_are_equivalent(tmp_path):
    assert tree(bake({"project_name": "a b", "maturity_level": 3}, tmp_path / "i")) == \
        tree(bake({"project_name": "a b", "maturity_level": "3"}, tmp_path / "s"))


@pytest.mark.parametrize("context, message", [
    ({"project_slug": "Bad_Slug"}, "not DNS-safe"),
    ({"project_name": "Bad Name!"}, "not DNS-safe"),
    ({"project_slug": "../escape"}, "not DNS-safe"),
    ({"project_slug": "ok-slug", "maturity_level": 5}, "maturity_level"),
    ({"project_slug": "ok-slug", "quality_gate_min": 1.5}, "quality_gate_min"),
    ({"project_slug": "ok-slug", "quality_gate_min": "high"}, "quality_gate_min"),
    ({"project_slug": "ok-slug", "quality_gate_metric": "rmse"}, "quality_gate_metric"),
    ({"project_slug": "ok-slug", "framework": "pytorch"}, "framework"),
    ({"project_slug": "ok-slug", "flavour": "x"}, "unknown template setting"),
])
def test_invalid_settings_fail_cleanly(tmp_path, context, message):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ScaffoldError, match=message):
        bake(context, out)
    assert list(out.iterdir()) == []
    assert list(tmp_path.iterdir()) == [out]


def test_bad_slug_with_plain_cookiecutter_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = plain_cookiecutter(out, "project_slug=Bad_Slug")
    assert result.returncode != 0
    assert "not DNS-safe" in result.stderr
    assert list(out.iterdir()) == []


def test_refuses_non_empty_target_without_force(tmp_path):
    target = tmp_path / SLUG
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists and is not empty"):
        bake({**CONTEXT, "maturity_level": 1}, tmp_path)
    assert tree(target) == {"notes.txt"}

    assert bake({**CONTEXT, "maturity_level": 1}, tmp_path, force=True) == target
    assert tree(target) == LEVEL_1 | {"notes.txt"}
    assert (target / "notes.txt").read_text() == "mine"


def test_empty_existing_target_is_fine(tmp_path):
    (tmp_path / SLUG).mkdir()
    assert tree(bake({**CONTEXT, "maturity_level": 0}, tmp_path)) == LEVEL_0


def test_failure_on_existing_target_keeps_it(tmp_path):
    target = tmp_path / SLUG
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="maturity_level"):
        bake({**CONTEXT, "maturity_level": 9}, tmp_path, force=True)
    assert tree(target) == {"notes.txt"}
