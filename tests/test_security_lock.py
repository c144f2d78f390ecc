"""The generated repository's own dependencies are hash-locked (issue 14, Build 4).

``requirements-dev.txt`` pins every dependency of ``pyproject.toml`` (``dependencies``, every extra of the
level, the build backend) with ``==`` and sha256 hashes; ``make install`` and every CI install use it with
``pip install --require-hashes`` and install the project itself with ``--no-deps --no-build-isolation``, so
nothing unlocked is fetched (pip "Hash-checking mode": https://pip.pypa.io/en/stable/topics/secure-installs/).
The hashes were read from PyPI by ``templates/ml-project/lock_requirements.py``; offline they cannot be
re-verified, so this test checks coverage and form, not the bytes.
"""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.test_template import CONTEXT, EXPECTED, bake

ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ; [^\\]+)?((?: \\\n    --hash=sha256:[0-9a-f]{64})+)$",
                   re.M)


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    return {level: bake({**CONTEXT, "maturity_level": level}, tmp_path_factory.mktemp(f"lock{level}"))
            for level in sorted(EXPECTED)}


def parse_lock(text: str) -> dict[str, Version]:
    entries = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    pins = {canonicalize_name(n): Version(v) for n, v, _ in ENTRY.findall(text)}
    assert len(pins) == len(entries) > 0, "every entry is name==version with at least one --hash=sha256"
    return pins


def declared(pyproject: dict) -> list[Requirement]:
    reqs = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    for extra in pyproject["project"].get("optional-dependencies", {}).values():
        reqs += extra
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_the_lock_covers_every_declared_dependency_of_the_level(baked, level):
    root = baked[level]
    pins = parse_lock((root / "requirements-dev.txt").read_text())
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    for req in declared(pyproject):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} (pyproject.toml) is not in requirements-dev.txt at level {level}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} does not satisfy {req}"
    for extra in ("moto", "boto3", "fastapi"):  # a level does not install what it does not declare
        in_pyproject = any(canonicalize_name(r.name) == extra for r in declared(pyproject))
        assert (extra in pins) == in_pyproject, (level, extra)


@pytest.mark.parametrize("level", [0, 4])
def test_the_lock_covers_an_xgboost_project(level, tmp_path):
    """framework xgboost (issue 15) adds xgboost-cpu (linux, Windows) / xgboost (macOS, no CPU-only wheel there),
    each pinned and hashed with the marker of the platforms it applies to."""
    root = bake({**CONTEXT, "maturity_level": level, "framework": "xgboost"}, tmp_path)
    text = (root / "requirements-dev.txt").read_text()
    pins = parse_lock(text)
    for req in declared(tomllib.loads((root / "pyproject.toml").read_text())):
        name = canonicalize_name(req.name)
        assert name in pins and req.specifier.contains(pins[name], prereleases=True), req
    assert "xgboost-cpu==3.2.0 ; sys_platform != 'darwin' \\\n    --hash=sha256:" in text
    assert "xgboost==3.2.0 ; sys_platform == 'darwin' \\\n    --hash=sha256:" in text


def test_the_lock_follows_the_platform_framework_pin(baked):
    """scikit-learn is the SageMaker framework image's minor version (cookiecutter ``sklearn_version``)."""
    root = baked[4]
    pins = parse_lock((root / "requirements-dev.txt").read_text())
    serving = parse_lock((root / "requirements-serving.txt").read_text())
    assert pins["scikit-learn"] == serving["scikit-learn"]  # what CI tests is what the image serves
    assert str(pins["scikit-learn"]).startswith("1.9.")


@pytest.mark.parametrize("level", sorted(EXPECTED))
def test_make_install_and_ci_install_only_locked_dependencies(baked, level):
    root = baked[level]
    make = (root / "Makefile").read_text()
    recipe = make.split("\ninstall:", 1)[1].split("\n\n", 1)[0]
    assert "pip install --require-hashes -r requirements-dev.txt" in recipe
    assert "pip install --no-deps --no-build-isolation -e ." in recipe
    files = [make]
    if level >= 1:
        files.append((root / ".github/workflows/ci.yml").read_text())
        assert "--require-hashes -r requirements-dev.txt" in files[-1]
    installs = [line for text in files for line in text.splitlines() if "pip install" in line
                and not line.lstrip().startswith("#")]
    assert installs
    unlocked = [line for line in installs if "--require-hashes" not in line and "--no-deps" not in line]
    assert not unlocked, unlocked
