"""templates/ml-project: bake every maturity level, check the exact file tree, that no template syntax is
left, and run each baked project's own tests and local training offline."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from modules.scaffold import TEMPLATE_DIR, ScaffoldError, bake

SLUG, PKG = "churn-model", "churn_model"
CONTEXT = {"project_name": "Churn Model", "environment": "dev", "aws_region": "us-east-1",
           "github_repository": "acme/churn-model", "quality_gate_metric": "auc", "quality_gate_bound": "min",
           "quality_gate_threshold": 0.8}

LEVEL_0 = {
    ".gitignore",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "requirements-dev.txt",  # the project's own dependencies, hash-locked (make install, CI)
    f"src/{PKG}/__init__.py",
    f"src/{PKG}/config.py",
    f"src/{PKG}/evaluate.py",
    f"src/{PKG}/inference.py",
    f"src/{PKG}/local.py",
    f"src/{PKG}/predictor.py",  # the model behind one interface, copied into model.tar.gz with inference.py
    f"src/{PKG}/preprocess.py",
    f"src/{PKG}/schema.json",  # the data contract (spec projects[].data)
    f"src/{PKG}/schema.py",
    f"src/{PKG}/train.py",
    "tests/conftest.py",
    "tests/test_evaluate.py",
    "tests/test_inference.py",
    "tests/test_local.py",
    "tests/test_preprocess.py",
    "tests/test_train.py",
}
LEVEL_1 = LEVEL_0 | {
    ".dockerignore",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    "Dockerfile",
    "requirements-serving.txt",
    "serving/__init__.py",
    "serving/app.py",
    "serving/serve",
    "tests/test_serving.py",
}
LEVEL_2 = LEVEL_1 | {
    "contract.py",
    "pipelines/__init__.py",
    "pipelines/run_pipeline.py",
    "tests/test_run_pipeline.py",
}
LEVEL_3 = LEVEL_2 | {  # no deploy workflow: the platform repository deploys (no platform secret here)
    "deploy/__init__.py",
    "deploy/request.py",
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
    assert tree(root) == EXPECTED[level] | {".cruft.json"}  # bake records its origin for `ladder upgrade`


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
    assert 'QUALITY_GATE_METRIC = "auc"' in config and 'QUALITY_GATE_BOUND = "min"' in config
    assert "QUALITY_GATE_THRESHOLD = 0.8\n" in config and 'PROBLEM_TYPE = "binary"' in config
    assert json.loads((root / "src" / PKG / "schema.json").read_text()) == {
        "version": 1, "problem_type": "binary", "label": "target", "categorical": [], "drop": []}
    assert f"maturity level {level}" in (root / "README.md").read_text()
    assert "\t$(PYTHON) -m $(PACKAGE).local" in (root / "Makefile").read_text()
    if level >= 1:
        ci = (root / ".github/workflows/ci.yml").read_text()
        assert "role-to-assume: ${{ vars.AWS_ROLE_ARN }}" in ci
        # the FastAPI image is pushed only at level 1, where it is the deliverable; from level 2 the package
        # (framework container + model.tar.gz) is served, so CI builds and pushes no image nobody serves
        assert ("/mlops/${MLOPS_ENVIRONMENT}/${MLOPS_PROJECT}/ecr-repository" in ci) == (level == 1)
        assert ("docker build" in ci or "docker push" in ci) == (level == 1)
        assert "ImageUri" not in ci
        assert f"MLOPS_PROJECT: {SLUG}" in ci
        assert ("pipelines.run_pipeline" in ci) == (level >= 2)
        assert "EXPOSE 8080" in (root / "Dockerfile").read_text()
        assert os.access(root / "serving/serve", os.X_OK)
    if level >= 3:
        assert f'PROJECT = "{SLUG}"' in (root / "deploy/request.py").read_text()
        assert f"--project {SLUG} --model-package-arn" in (root / "Makefile").read_text()
        readme = (root / "README.md").read_text()
        assert "platform repository" in readme and "ladder verify-request" in readme
    if level >= 2:
        readme = (root / "README.md").read_text()
        assert "## What is served" in readme and "code/inference.py" in readme
        assert "sagemaker-scikit-learn:1.9-0" in readme


@pytest.mark.parametrize("level", [2, 3, 4])
def test_contract_is_read_in_one_place(baked, level):
    """contract.py reads /mlops/<env>/<project>/ for every script that needs more than one key of it;
    run_pipeline and the level-4 monitoring scripts import it instead of carrying their own reader."""
    root = baked[level]
    readers = sorted(rel for rel in tree(root) if rel.endswith(".py") and not rel.startswith("tests/")
                     and "get_parameters_by_path" in (root / rel).read_text())
    assert readers == ["contract.py"]
    assert "from contract import" in (root / "pipelines/run_pipeline.py").read_text()
    for rel in ("monitoring/baseline.py", "monitoring/drift.py") if level >= 4 else ():  # local tools: no AWS
        text = (root / rel).read_text()  # ("data contract", schema.json, is another thing: issue 15)
        assert not re.search(r"^\s*(from contract import|import contract)", text, re.M) and "boto3" not in text, rel


def test_level4_readme_says_the_monitor_drives_retraining_and_where_ground_truth_lands(baked):
    """Issue 13: no person or project script in the loop; ground truth documented in SageMaker's JSONL format."""
    readme = (baked[4] / "README.md").read_text()
    for text in ("### Monitoring (level 4)", "baseline/baseline.csv", "no header", "no label",
                 "`CompletedWithViolations`", "`baseline_drift_check`", "`completeness_check`",
                 f"s3://<artifact-bucket>/ground-truth/{SLUG}/yyyy/mm/dd/hh/", '"groundTruthData"',
                 '"eventMetadata": {"eventId"', '"eventVersion": "0"', "aws/sagemaker/Endpoints/model-metrics",
                 f"-{SLUG}-retrain", f"-{SLUG}-model-quality", "INSUFFICIENT_DATA", "PendingManualApproval"):
        assert text in readme, text
    for gone in ("DriftScore", "mlops/drift", "--publish", "--upload", "drift-publish", "baseline-upload"):
        assert gone not in readme, gone
    assert "Monitoring (level 4)" not in (baked[3] / "README.md").read_text()
    makefile = (baked[4] / "Makefile").read_text()
    assert "monitoring.drift" in makefile and "--publish" not in makefile and "--upload" not in makefile


def test_deploy_request_module_replaced_the_imperative_deploy(baked):
    """Level 3+ repos hand deployments to the platform; nothing in them creates or updates SageMaker models,
    endpoint configs or endpoints (the platform's Pulumi program owns those - same names, so any such call
    would collide with or drift from the declared state)."""
    imperative = re.compile(r"\b(create_model|create_endpoint_config|create_endpoint|update_endpoint|"
                            r"update_endpoint_weights_and_capacities|delete_endpoint)\(")
    for level in (3, 4):
        root = baked[level]
        assert not (root / "deploy/deploy.py").exists()
        for rel in sorted(tree(root)):
            if rel.startswith("tests/"):
                continue  # the tests stand in for the platform's pulumi up in moto
            text = (root / rel).read_text()
            assert not imperative.search(text), f"level {level}: {rel} deploys imperatively"
            assert "deploy.deploy" not in text and "deploy/deploy.py" not in text, rel


CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"  # v7.0.1 (node24), pinned by SHA


def workflow_steps(job: dict) -> list[str]:
    return [step.get("uses") or step.get("name") for step in job["steps"]]


PLATFORM_SECRETS = ("PLATFORM_DEPLOY_ROLE_ARN", "PLATFORM_REPO_TOKEN", "PULUMI_ACCESS_TOKEN", "PLATFORM_REPOSITORY",
                    "PULUMI_CONFIG_PASSPHRASE")


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_ml_repository_workflows_reference_no_platform_secret(baked, level):
    """ML repositories hold no platform-wide credential: the platform repository's own deploy workflow deploys
    (tests/test_platform_workflow.py); the ML repository's CI only needs its own CI role (AWS_ROLE_ARN)."""
    root = baked[level]
    workflows = sorted((root / ".github/workflows").glob("*.yml")) if (root / ".github").exists() else []
    assert [p.name for p in workflows] == (["ci.yml"] if level >= 1 else [])
    for path in workflows:
        text = path.read_text()
        assert not [name for name in PLATFORM_SECRETS if name in text], path
        assert set(re.findall(r"secrets\.([A-Za-z_]+)", text)) == set(), path
        assert set(re.findall(r"vars\.([A-Za-z_]+)", text)) == {"AWS_ROLE_ARN"}, path
    for rel in ("Makefile", "README.md"):
        assert "PLATFORM_REPO_TOKEN" not in (root / rel).read_text() and "CodeBuild" not in (root / rel).read_text()


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
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], check=False, cwd=baked[level],
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
                            check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("level", [0, 4])
def test_train_local(baked, level, tmp_path):
    build = tmp_path / "build"
    result = subprocess.run([sys.executable, "-m", f"{PKG}.local", "--build-dir", str(build)],
                            cwd=baked[level], env=offline_env(), capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (build / "model" / "model.joblib").stat().st_size > 0
    report = json.loads((build / "evaluation" / "evaluation.json").read_text())
    assert report["binary_classification_metrics"]["auc"]["value"] >= 0.8  # Model Monitor statistics format
    assert (build / "model" / "code" / "inference.py").is_file()  # model.tar.gz would carry its serving code
    assert "quality gate passed" in result.stdout


@pytest.mark.slow
def test_train_local_fails_when_the_gate_is_not_met(tmp_path):
    root = bake({**CONTEXT, "maturity_level": 0, "quality_gate_metric": "accuracy", "quality_gate_threshold": 1},
                tmp_path / "out")
    result = subprocess.run([sys.executable, "-m", f"{PKG}.local", "--build-dir", str(tmp_path / "b")],
                            cwd=root, env=offline_env(), capture_output=True, text=True, timeout=300,
                            check=False)
    # accuracy 1.0 on the held-out split is not reached by this model
    assert result.returncode == 1, result.stdout + result.stderr
    assert "quality gate FAILED: accuracy" in result.stderr


# issue 15: every problem type and framework bakes, passes its own tests and reaches its gate on the bundled sample
VARIANTS = {
    "sklearn-regression-rmse": {"problem_type": "regression", "quality_gate_metric": "rmse", "quality_gate_bound": "max",
                                "quality_gate_threshold": 65},  # Ridge on diabetes: ~56 (the target's std is 77)
    "sklearn-multiclass": {"problem_type": "multiclass", "quality_gate_metric": "f1_macro", "quality_gate_threshold": 0.9},
    "xgboost-binary": {"framework": "xgboost"},
}
GROUP = {"binary": "binary_classification_metrics", "multiclass": "multiclass_classification_metrics",
         "regression": "regression_metrics"}


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_problem_type_and_framework_passes_its_tests_and_reaches_its_gate(variant, tmp_path):
    """(The default, sklearn binary, is test_baked_project_tests_pass / test_train_local above.)"""
    context = {**CONTEXT, "maturity_level": 4, **VARIANTS[variant]}
    root = bake(context, tmp_path / "out")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], check=False, cwd=root,
                            env=offline_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and " failed" not in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
    build = tmp_path / "build"
    result = subprocess.run([sys.executable, "-m", f"{PKG}.local", "--build-dir", str(build)], cwd=root,
                            env=offline_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0 and "quality gate passed" in result.stdout, result.stdout + result.stderr
    problem = context.get("problem_type", "binary")
    value = json.loads((build / "evaluation" / "evaluation.json").read_text())[GROUP[problem]][
        context["quality_gate_metric"]]["value"]
    bound = context.get("quality_gate_bound", "min")
    assert value >= context["quality_gate_threshold"] if bound == "min" else value <= context["quality_gate_threshold"]
    model = "xgboost-model.json" if context.get("framework") == "xgboost" else "model.joblib"
    assert {p.name for p in (build / "model").iterdir() if p.is_file()} == {model, "schema.json"}
    assert {"inference.py", "predictor.py"} <= {p.name for p in (build / "model" / "code").iterdir()}
    pyproject = (root / "pyproject.toml").read_text()
    assert ("xgboost-cpu==3.2.*" in pyproject) == (context.get("framework") == "xgboost")


def ci_train_step(root: Path) -> str:
    import yaml

    workflow = yaml.safe_load((root / ".github" / "workflows" / "ci.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    return next(run for run in runs if "train-local" in run)


DECLARED = {"data_label": "churned", "data_categorical": '["plan"]', "data_drop": '["customer_id"]'}


@pytest.mark.parametrize("data, step", [({}, "make train-local"), (DECLARED, "make train-local GATE=report"),
                                        ({"data_drop": '["customer_id"]'}, "make train-local GATE=report")])
def test_ci_enforces_the_gate_on_the_sample_only_without_a_data_contract(tmp_path, data, step):
    """With a data contract the bundled sample is not the team's data (the gate is set for theirs): CI reports."""
    root = bake({**CONTEXT, "maturity_level": 1, **data}, tmp_path / "out")
    assert ci_train_step(root) == step
    config = (root / "src" / PKG / "config.py").read_text()
    assert f"DATA_DECLARED = {bool(data)}" in config
    readme = (root / "README.md").read_text()
    assert ("runs\n`make train-local GATE=report`" in readme) == bool(data)


@pytest.mark.slow
def test_a_gate_set_for_the_teams_data_fails_neither_the_repositorys_tests_nor_a_reporting_ci(tmp_path):
    """Regression xgboost with `rmse max 5` (diabetes reaches ~57): the baked tests test the code, not the
    sample's rmse; with a data contract CI's `make train-local GATE=report` reports the miss and exits 0."""
    gate = {"problem_type": "regression", "framework": "xgboost", "quality_gate_metric": "rmse",
            "quality_gate_bound": "max", "quality_gate_threshold": 5}
    root = bake({**CONTEXT, "maturity_level": 1, **gate}, tmp_path / "plain")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"], check=False,
                            cwd=root, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and " failed" not in result.stdout, result.stdout[-4000:] + result.stderr[-2000:]
    make = ["make", "--no-print-directory", "train-local", f"PYTHON={sys.executable}", f"BUILD={tmp_path / 'b'}"]
    result = subprocess.run(make, cwd=root, env=offline_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0 and "quality gate FAILED: rmse" in result.stderr  # no contract: CI enforces
    declared = bake({**CONTEXT, "maturity_level": 1, **gate, "data_label": "demand"}, tmp_path / "declared")
    assert ci_train_step(declared) == "make train-local GATE=report"
    result = subprocess.run([*make, "GATE=report"], cwd=declared, env=offline_env(), capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "quality gate on the bundled sample, not your data: quality gate FAILED: rmse" in result.stdout


@pytest.mark.parametrize("gate, published", [
    ({"quality_gate_metric": "auc"}, "publishes `auc` (the quality gate's metric)"),
    ({"problem_type": "multiclass", "quality_gate_metric": "f1_weighted", "quality_gate_threshold": 0.9},
     "publishes `weighted_f1` (Model Monitor's name for the quality gate's\n   f1_weighted)"),
    ({"problem_type": "multiclass", "quality_gate_metric": "f1_macro", "quality_gate_threshold": 0.9},
     "which do not include the quality\n   gate's f1_macro (no Model Monitor metric"),
])
def test_readme_names_the_metric_model_monitor_publishes_and_the_binary_positive_class(tmp_path, gate, published):
    """Model Monitor publishes weighted_f1, not the spec's f1_weighted (the alarm's metric); binary: the positive
    class is the second label in sorted order and ground truth is written as the model's label."""
    readme = (bake({**CONTEXT, "maturity_level": 4, **gate}, tmp_path / "out") / "README.md").read_text()
    assert published in readme
    assert f"publishes {gate['quality_gate_metric']} and" not in readme
    binary = gate.get("problem_type", "binary") == "binary"
    assert ("**second label in sorted order**" in readme) == binary
    assert ("`churned`/`stayed` -> `stayed`" in readme) == binary
    assert "written\n   exactly as the model answers it in `predictions[*].label`" in readme


def own_csv(path: Path, rows: int = 500) -> int:
    """A team's CSV: an id column first, the label in the middle, categorical text, missing values everywhere but
    in the label (a quarter of the rows has one)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    tenure = rng.integers(1, 72, rows).astype(float)
    score = -0.08 * tenure + np.select([plan == "basic", plan == "plus"], [2.5, 0.0], -2.5) + rng.normal(0, 0.5, rows)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(rows)], "tenure": tenure, "plan": plan,
                          "churned": (score > 0).astype(int), "region": rng.choice(["north", "south"], rows),
                          "charges": rng.normal(60, 20, rows)})
    for column in ("tenure", "plan", "region", "charges"):
        frame.loc[rng.random(rows) < 0.07, column] = np.nan
    assert frame.isna().any(axis=1).mean() > 0.2
    frame.to_csv(path, index=False)
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["sklearn", "xgboost"])
def test_make_train_local_on_own_csv_drops_no_row(framework, tmp_path):
    """Label not first, categorical columns, an id column (data.drop) and missing values: `make train-local
    DATA=...` trains on every row (the old template took the first column as the label and dropped 16%)."""
    root = bake({**CONTEXT, "maturity_level": 0, "framework": framework, "data_label": "churned",
                 "data_categorical": '["plan", "region"]', "data_drop": '["customer_id"]'}, tmp_path / "out")
    rows = own_csv(tmp_path / "data.csv")
    result = subprocess.run(["make", "--no-print-directory", "train-local", f"DATA={tmp_path / 'data.csv'}",
                             f"PYTHON={sys.executable}", f"BUILD={tmp_path / 'build'}"], cwd=root, env=offline_env(),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0 and "quality gate passed" in result.stdout, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "build" / "manifest" / "manifest.json").read_text())
    counts = manifest["rows"]
    assert counts["input"] == rows and counts["unlabelled"] == 0
    assert counts["train"] + counts["validation"] + counts["test"] == rows
    assert set(manifest["missing_cells"]) == {"tenure", "plan", "region", "charges"}
    schema = json.loads((tmp_path / "build" / "model" / "schema.json").read_text())
    assert [(f["name"], f["type"]) for f in schema["features"]] == [
        ("tenure", "numerical"), ("plan", "categorical"), ("region", "categorical"), ("charges", "numerical")]
    assert schema["label"] == "churned" and schema["classes"] == [0, 1]


def plain_cookiecutter(out: Path, *args: str) -> subprocess.CompletedProcess:
    """`cookiecutter --no-input templates/ml-project`, with cookiecutter's own state kept out of ~ and out."""
    state = out.parent / f"{out.name}-cookiecutter-state"
    state.mkdir()
    (state / "config.yaml").write_text(f"cookiecutters_dir: {state / 'c'}\nreplay_dir: {state / 'r'}\n")
    return subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE_DIR), "-o", str(out),
                           *args], capture_output=True, text=True, timeout=120, check=False,
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
    ({"project_slug": "ok-slug", "quality_gate_threshold": 1.5}, "quality_gate_threshold for auc must be in"),
    ({"project_slug": "ok-slug", "quality_gate_threshold": "high"}, "quality_gate_threshold must be a number"),
    ({"project_slug": "ok-slug", "quality_gate_metric": "rmse"}, "'rmse' does not fit problem_type 'binary'"),
    ({"project_slug": "ok-slug", "problem_type": "regression"}, "'auc' does not fit problem_type 'regression'"),
    ({"project_slug": "ok-slug", "problem_type": "ranking"}, "problem_type must be one of"),
    ({"project_slug": "ok-slug", "quality_gate_bound": "max"}, "quality_gate_bound must be 'min' for auc"),
    ({"project_slug": "ok-slug", "problem_type": "regression", "quality_gate_metric": "rmse", "quality_gate_bound": "min"},
     "quality_gate_bound must be 'max' for rmse"),
    ({"project_slug": "ok-slug", "problem_type": "regression", "quality_gate_metric": "mae", "quality_gate_bound": "max",
      "quality_gate_threshold": -1}, "must be at least 0"),
    ({"project_slug": "ok-slug", "data_categorical": "plan"}, "data_categorical must be a JSON list"),
    ({"project_slug": "ok-slug", "data_drop": '{"id": 1}'}, "data_drop must be a JSON list"),
    ({"project_slug": "ok-slug", "data_drop": '["id", "id"]'}, "more than once"),
    ({"project_slug": "ok-slug", "data_categorical": '["plan"]', "data_drop": '["plan"]'}, "in both"),
    ({"project_slug": "ok-slug", "data_label": "id", "data_drop": '["id"]'}, "data_label 'id' is also listed"),
    ({"project_slug": "ok-slug", "xgboost_version": "latest"}, "xgboost_version"),
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
    assert tree(target) == LEVEL_1 | {"notes.txt", ".cruft.json"}
    assert (target / "notes.txt").read_text() == "mine"


def test_empty_existing_target_is_fine(tmp_path):
    (tmp_path / SLUG).mkdir()
    assert tree(bake({**CONTEXT, "maturity_level": 0}, tmp_path)) == LEVEL_0 | {".cruft.json"}


def test_failure_on_existing_target_keeps_it(tmp_path):
    target = tmp_path / SLUG
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="maturity_level"):
        bake({**CONTEXT, "maturity_level": 9}, tmp_path, force=True)
    assert tree(target) == {"notes.txt"}


FAKE_LADDER = """#!{python}
# Stands in for the platform's `ladder deploy`: records its arguments, declares the ARN in the stack file.
import json, pathlib, sys
args = sys.argv[1:]
pathlib.Path({calls!r}).open("a").write(json.dumps({{"cwd": str(pathlib.Path.cwd()), "args": args}}) + "\\n")
stack, arn = args[args.index("--stack") + 1], args[args.index("--model-package-arn") + 1]
path = pathlib.Path("stacks") / f"Pulumi.{{stack}}.yaml"
path.write_text(path.read_text() + f"# serving.modelPackageArn: {{arn}}\\n")
"""


@pytest.fixture()
def deploy_setup(baked, tmp_path):
    """A moto server seeded with what the platform publishes and runs for the project (contract, group,
    an approved and a pending package, the endpoint), a platform checkout with a bare remote, a fake ladder."""
    boto3 = pytest.importorskip("boto3")
    requests = pytest.importorskip("requests")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._server.server_port}"
    requests.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()  # moto's state is per process
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    sm, ssm = session.client("sagemaker", endpoint_url=url), session.client("ssm", endpoint_url=url)
    group, endpoint = "acme-dev-churn-model-models", "acme-dev-churn-model-endpoint"
    for key, value in {"model-package-group": group, "endpoint-name": endpoint}.items():
        ssm.put_parameter(Name=f"/mlops/dev/{SLUG}/{key}", Value=value, Type="String")
    sm.create_model_package_group(ModelPackageGroupName=group)
    # the package's model.tar.gz holds the resolved schema training writes; the smoke test builds its row from it
    schema = {"version": 1, "problem_type": "binary", "label": "target", "drop": [], "classes": [0, 1],
              "features": [{"name": "a", "type": "numerical"}, {"name": "b", "type": "numerical"}]}
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = json.dumps(schema).encode()
        info = tarfile.TarInfo("schema.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    s3 = session.client("s3", endpoint_url=url)
    s3.create_bucket(Bucket="acme-dev-artifacts")
    s3.put_object(Bucket="acme-dev-artifacts", Key="model.tar.gz", Body=archive.getvalue())
    spec = {"Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1",
                            "ModelDataUrl": "s3://acme-dev-artifacts/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"]}
    arns = {status: sm.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus=status,
                                            InferenceSpecification=spec)["ModelPackageArn"]
            for status in ("Approved", "PendingManualApproval")}
    # what the platform's pulumi up has created
    sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"ModelPackageName": arns["Approved"]})
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="c")
    requests.post(f"{url}/moto-api/static/sagemaker/endpoint-results", timeout=5, json={
        "region": "us-east-1", "results": [{"Body": json.dumps({"predictions": [{"label": 1, "score": 0.9}]}),
                                            "ContentType": "application/json"}]}).raise_for_status()

    git_env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

    def git(*args, cwd):
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **git_env})

    remote, platform = tmp_path / "platform.git", tmp_path / "platform"
    git("init", "-q", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    git("clone", "-q", str(remote), str(platform), cwd=tmp_path)
    (platform / "Pulumi.yaml").write_text("name: mlops-ladder\nruntime: python\nstackConfigDir: stacks\n")
    (platform / "stacks").mkdir()
    (platform / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  mlops:environment: dev\n")
    git("add", ".", cwd=platform)
    git("commit", "-qm", "platform", cwd=platform)
    git("push", "-q", "origin", "HEAD:main", cwd=platform)
    calls = tmp_path / "ladder-calls.jsonl"
    ladder = tmp_path / "bin" / "ladder"
    ladder.parent.mkdir()
    pulumi = tmp_path / "bin" / "pulumi"  # only its presence is checked; the fake ladder never calls it
    pulumi.write_text("#!/bin/sh\nexit 0\n")
    pulumi.chmod(0o755)
    ladder.write_text(FAKE_LADDER.format(python=sys.executable, calls=str(calls)))
    ladder.chmod(0o755)

    def make(*args):
        env = offline_env(AWS_ENDPOINT_URL=url, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
                          PATH=f"{ladder.parent}{os.pathsep}{os.environ['PATH']}", **git_env)
        return subprocess.run(["make", "--no-print-directory", "deploy", f"PYTHON={sys.executable}", "DEPLOY_ENV=dev",
                               f"PLATFORM_DIR={platform}", f"LADDER={ladder}", *args], check=False, cwd=baked[3],
                              env=env,
                              capture_output=True, text=True, timeout=300)

    try:
        yield {"make": make, "arns": arns, "calls": calls, "platform": platform, "remote": remote}
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=5)
        server.stop()


@pytest.mark.slow
def test_make_deploy_validates_hands_over_to_the_platform_and_smoke_tests(deploy_setup):
    arn = deploy_setup["arns"]["Approved"]
    result = deploy_setup["make"](f"MODEL_PACKAGE_ARN={arn}", "PUSH_STACK=1")
    assert result.returncode == 0, result.stdout + result.stderr
    [call] = [json.loads(line) for line in deploy_setup["calls"].read_text().splitlines()]
    assert call["cwd"] == str(deploy_setup["platform"])
    assert call["args"] == ["deploy", "--stack", "dev", "--project", SLUG, "--model-package-arn", arn]
    # the validated command is printed, the declared state was pushed, the smoke test passed
    assert f"ladder deploy --stack dev --project {SLUG} --model-package-arn {arn}" in result.stdout
    log = subprocess.run(["git", "--git-dir", str(deploy_setup["remote"]), "log", "-1", "--format=%s", "main"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert log == f"deploy {SLUG} {arn}"
    assert "smoke test passed" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("arn, message", [
    ("pending", "is PendingManualApproval, not Approved"),
    ("arn:aws:sagemaker:us-east-1:123456789012:model-package/x/1'; touch pwned; '", "is not a model package ARN"),
    ("", "usage: make deploy DEPLOY_ENV=<staging|prod> MODEL_PACKAGE_ARN="),
    ("no-env", "usage: make deploy DEPLOY_ENV=<staging|prod>"),   # no environment baked in
    ("no-pulumi", "the Pulumi CLI (pulumi-not-installed) is not installed"),
])
def test_make_deploy_stops_before_the_platform_on_a_bad_request(deploy_setup, arn, message):
    extra = ["PULUMI=pulumi-not-installed"] if arn == "no-pulumi" else []
    extra += ["DEPLOY_ENV="] if arn == "no-env" else []
    arn = deploy_setup["arns"]["Approved"] if arn == "no-env" else arn
    arn = deploy_setup["arns"]["PendingManualApproval"] if arn == "pending" else arn
    arn = deploy_setup["arns"]["Approved"] if arn == "no-pulumi" else arn
    result = deploy_setup["make"](f"MODEL_PACKAGE_ARN={arn}", *extra)
    assert result.returncode != 0
    assert message in result.stderr
    assert not deploy_setup["calls"].exists()
    assert not (deploy_setup["platform"].parent / "pwned").exists()
