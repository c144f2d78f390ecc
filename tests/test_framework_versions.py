"""One scikit-learn version end to end (issue 12, item 1): the training image, the package's inference image and
the generated project's dependencies pin the same version, from ONE place (SUPPORTED_FRAMEWORKS)."""

from __future__ import annotations

import json
import re

import pytest

from modules import pipeline_definition as pd
from modules.scaffold import TEMPLATE_DIR, ScaffoldError, bake, framework_context
from tests.test_template import CONTEXT

PINNED = pd.SUPPORTED_FRAMEWORKS["sklearn"]


def test_the_image_version_is_the_library_minor():
    # SageMaker's scikit-learn image tags are <scikit-learn major.minor>-<container revision> (1.2-1 holds 1.2.1)
    assert PINNED["version"].split("-")[0] == PINNED["library"] == "1.9"
    assert pd.PipelineInputs.__dataclass_fields__["framework_version"].default == PINNED["version"]


def test_train_and_serve_images_are_the_pinned_version():
    images = {scope: pd.image_uri("sklearn", PINNED["version"], "us-east-1", scope, "ml.m5.large")
              for scope in ("training", "inference")}
    for uri in images.values():
        assert uri.endswith(f"/sagemaker-scikit-learn:{PINNED['version']}-cpu-py3"), uri


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    return bake({**CONTEXT, "maturity_level": 2}, tmp_path_factory.mktemp("versions"))


def test_the_project_pins_the_same_minor(baked):
    assert json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["sklearn_version"] == PINNED["library"]
    assert json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["framework_image_version"] == PINNED["version"]
    pyproject = (baked / "pyproject.toml").read_text()
    assert re.findall(r'"scikit-learn([^"]*)"', pyproject) == [f"=={PINNED['library']}.*"]
    lock = (baked / "requirements-serving.txt").read_text()
    (pin,) = re.findall(r"^scikit-learn==(\S+) \\$", lock, re.M)
    assert pin.rsplit(".", 1)[0] == PINNED["library"], pin
    readme = (baked / "README.md").read_text()
    assert f"sagemaker-scikit-learn:{PINNED['version']}" in readme


def test_the_sandbox_container_python_runs_the_same_minor():
    # the sandbox runs a job's "container" in this interpreter (README: its scikit-learn, not the image's)
    import sklearn

    assert sklearn.__version__.rsplit(".", 1)[0] == PINNED["library"]


def test_a_different_version_cannot_be_baked(tmp_path):
    assert framework_context("sklearn") == {"framework_image_version": PINNED["version"],
                                            "sklearn_version": PINNED["library"],
                                            "xgboost_version": pd.SUPPORTED_FRAMEWORKS["xgboost"]["library"]}
    with pytest.raises(ScaffoldError, match="differs from the version the platform pins"):
        bake({**CONTEXT, "maturity_level": 2, "sklearn_version": "1.2"}, tmp_path)


def test_an_xgboost_project_pins_the_cookiecutter_xgboost_minor_on_the_cpu_wheel(tmp_path):
    """framework xgboost (issue 15): pyproject and the serving lock pin xgboost-cpu (the CPU-only wheel of the
    `xgboost` module) at the template's xgboost_version; a scikit-learn project has no xgboost at all."""
    version = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["xgboost_version"]
    assert version == pd.SUPPORTED_FRAMEWORKS["xgboost"]["library"]  # the platform's pin is the template default
    xgb = bake({**CONTEXT, "maturity_level": 2, "framework": "xgboost"}, tmp_path / "x")
    sk = bake({**CONTEXT, "maturity_level": 2}, tmp_path / "s")
    pyproject = (xgb / "pyproject.toml").read_text()
    assert f"\"xgboost-cpu=={version}.* ; sys_platform != 'darwin'\"" in pyproject
    assert f"\"xgboost=={version}.* ; sys_platform == 'darwin'\"" in pyproject  # xgboost-cpu has no macOS wheel
    (pin,) = re.findall(r"^xgboost-cpu==(\S+) \\$", (xgb / "requirements-serving.txt").read_text(), re.M)
    assert pin.rsplit(".", 1)[0] == version, pin
    assert '"xgboost' not in (sk / "pyproject.toml").read_text()
    for name in ("requirements-serving.txt", "requirements-dev.txt"):  # no requirement line (comments may say why)
        assert not re.search(r"^xgboost", (sk / name).read_text(), re.M), name
        assert re.search(r"^xgboost-cpu==", (xgb / name).read_text(), re.M), name
