"""Regenerate ``{{cookiecutter.project_slug}}/requirements-dev.txt``: the generated project's own dependencies
(pyproject ``dependencies`` + every extra of its level), pinned with ``==`` and locked with sha256 hashes.

Run from the platform repository with its venv (needs the package index, not AWS)::

    .venv/bin/python templates/ml-project/lock_requirements.py

How: bake the template at level 4 (sklearn and xgboost) and resolve ``.[serving,aws,dev]`` with ``pip install --dry-run --report``
against PyPI only (``--isolated``: no local wheel directory, so every hash is the index's own file hash) for
Python 3.11 on linux x86_64 (CI, ``ubuntu-latest``), then with those pins as constraints for each lower level
(what that level installs) and for macOS arm64 (a developer's ``make install``), collecting each platform's
wheel hash. PEP 658 metadata is used, so no wheel is
downloaded. The output is a Jinja template: packages a level does not need are inside ``{% if level >= N %}``,
packages only one framework needs (xgboost-cpu) inside ``cookiecutter.framework == ...``. Markers are evaluated
per target platform here (pip would evaluate them for the host). The current lock's pins are kept (constraints)
unless ``--upgrade`` is given.
Pinned build backend: ``setuptools`` (the project is installed with ``--no-build-isolation --no-deps``, so no
unlocked build dependency is fetched).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "{{cookiecutter.project_slug}}" / "requirements-dev.txt"
INDEX = "https://pypi.org/simple"
PYTHON = "3.11"
# pip does not widen a --platform to older compatible tags: list the tags each target accepts. A host picks the
# most specific wheel its glibc allows (manylinux_2_34 over _2_28, ...), so each glibc a developer or runner may
# have is resolved on its own (ubuntu-latest 24.04: 2.39; 22.04: 2.35; RHEL 9: 2.34; RHEL 8: 2.28) and every
# wheel any of them picks is hashed.
def _linux(glibc: int) -> list[str]:
    return [f"manylinux_2_{m}_x86_64" for m in range(glibc, 16, -1)] + [
        "manylinux2014_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"]


PLATFORMS = {
    "linux-x86_64": _linux(39),
    **{f"linux-x86_64-glibc2.{g}": _linux(g) for g in (35, 34, 31, 28)},
    "macos-arm64": [f"macosx_{v}_0_arm64" for v in (15, 14, 13, 12, 11)],
    "macos-x86_64": [f"macosx_{v}_x86_64" for v in ("14_0", "13_0", "12_0", "11_0", "10_15", "10_14", "10_13",
                                                     "10_12", "10_9")] + ["macosx_10_9_universal2"],
    "windows-amd64": ["win_amd64"],
}
PRIMARY = "linux-x86_64"
# macOS x86_64: some pinned wheels no longer exist for it. Windows: pip evaluates environment markers for the host
# even with --platform, so Windows-only dependencies (colorama for pytest) would be missing: not covered.
OTHERS = (*[k for k in PLATFORMS if k.startswith("linux-x86_64-glibc")], "macos-arm64")
MARKER = {"macos-arm64": "sys_platform == 'darwin'", "macos-x86_64": "sys_platform == 'darwin'",
          "windows-amd64": "sys_platform == 'win32'"}
BUILD = ("setuptools",)  # the build backend of pyproject.toml [build-system]


# what a requirement's environment marker is evaluated against per target (pip would evaluate it for the host)
MARKER_ENV = {"linux": {"sys_platform": "linux", "platform_system": "Linux"},
              "darwin": {"sys_platform": "darwin", "platform_system": "Darwin"}}
FRAMEWORKS = ("sklearn", "xgboost")  # xgboost-only packages are inside {% if cookiecutter.framework == "xgboost" %}


def top_level(level: int, tmp: Path, framework: str = "sklearn") -> list[str]:
    sys.path.insert(0, str(ROOT.parent.parent))
    from modules.scaffold import bake

    root = bake({"project_name": "Lock Probe", "environment": "dev", "aws_region": "us-east-1",
                 "github_repository": "acme/lock-probe", "framework": framework, "maturity_level": level},
                tmp / f"{framework}-level{level}")
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    build = tomllib.loads((root / "pyproject.toml").read_text())["build-system"]["requires"]
    return sorted(set(reqs + build))


def for_platform(reqs: list[str], platform: str) -> list[str]:
    """The requirements that apply on a target platform, markers evaluated for it and removed."""
    from packaging.requirements import Requirement

    env = MARKER_ENV["darwin" if platform.startswith("macos") else "linux"]
    out = []
    for text in reqs:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(env):
            req.marker = None
            out.append(str(req))
    return out


# pip evaluates the markers of a package's OWN dependencies for the host too: macOS's xgboost wheel declares
# nvidia-nccl-cu12 ; platform_system == "Linux", which this (linux) host would then demand. Those packages are
# resolved without their dependencies on macOS; theirs (numpy, scipy) are in the lock anyway.
NO_DEPS_ON_MACOS = ("xgboost",)


def resolve(reqs: list[str], platform: str, constraints: Path | None, tmp: Path) -> dict[str, tuple[str, str]]:
    reqs = for_platform(reqs, platform)
    alone = [r for r in reqs if platform.startswith("macos") and re.split(r"[=<>!~ \[]", r)[0] in NO_DEPS_ON_MACOS]
    out = _pip([r for r in reqs if r not in alone], platform, constraints, tmp, "main")
    if alone:
        out.update(_pip(alone, platform, constraints, tmp, "no-deps", "--no-deps"))
    return out


def _pip(reqs: list[str], platform: str, constraints: Path | None, tmp: Path, tag: str, *extra: str) -> dict:
    report = tmp / f"report-{platform}-{tag}.json"
    cmd = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--index-url", INDEX, "--only-binary=:all:", *[a for tag in PLATFORMS[platform] for a in ("--platform", tag)],
           "--python-version", PYTHON, *extra,
           "--target", str(tmp / "target"), "--report", str(report), *reqs]
    if constraints is not None:
        cmd += ["--constraint", str(constraints)]
    subprocess.run(cmd, check=True)
    out = {}
    for item in json.loads(report.read_text())["install"]:
        meta, info = item["metadata"], item["download_info"]
        name = re.sub(r"[-_.]+", "-", meta["name"]).lower()
        out[name] = (meta["version"], info["archive_info"]["hashes"]["sha256"])
    return out


def existing_pins() -> Path | None:
    """The current lock's pins as constraints (so adding a package does not move the others); --upgrade: none."""
    if "--upgrade" in sys.argv or not LOCK.exists():
        return None
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", LOCK.read_text(), re.M)
    path = Path(tempfile.mkdtemp()) / "existing.txt"
    path.write_text("".join(f"{n}=={v}\n" for n, v in pins))
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        levels = {(fw, lv): top_level(lv, tmp, fw) for fw in FRAMEWORKS for lv in range(5)}
        superset = sorted(set(levels["sklearn", 4]) | set(levels["xgboost", 4]))
        pins = resolve(superset, PRIMARY, existing_pins(), tmp)
        constraints = tmp / "constraints.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, (v, _) in sorted(pins.items())))
        first_level = {n: 4 for n in pins}
        frameworks: dict[str, set[str]] = {n: set() for n in pins}
        for fw in FRAMEWORKS:
            for lv in range(4, -1, -1):
                for n in resolve(levels[fw, lv], PRIMARY, constraints, tmp):
                    first_level[n] = min(first_level[n], lv) if frameworks[n] else lv
                    frameworks[n].add(fw)
        hashes = {n: {h} for n, (_, h) in pins.items()}
        markers: dict[str, set[str]] = {}
        on_macos: set[str] = set()
        for platform in OTHERS:
            for n, (v, h) in resolve(superset, platform, constraints, tmp).items():
                if n not in pins:  # a platform-only dependency (e.g. xgboost on macOS, where xgboost-cpu has no wheel)
                    pins[n], first_level[n] = (v, h), first_level.get(n, 0)
                    frameworks[n] = {fw for fw in FRAMEWORKS
                                     if n in {re.split(r"[=<>!~ ;\[]", r)[0].lower() for r in levels[fw, 4]}} \
                        or set(FRAMEWORKS)
                    markers.setdefault(n, set()).add(MARKER[platform])
                    hashes[n] = set()
                assert pins[n][0] == v, (n, v, pins[n])
                hashes[n].add(h)
                if platform.startswith("macos"):
                    on_macos.add(n)
        for n in pins:
            if n not in on_macos and n not in markers:  # no macOS wheel (xgboost-cpu): linux and Windows only
                markers[n] = {"sys_platform != 'darwin'"}
    lines = ["{% set level = cookiecutter.maturity_level|int -%}",
             "# The project's own dependencies (pyproject.toml: dependencies + the extras of this level) and its build",
             "# backend, pinned and hash-locked: `make install` and CI install them with `pip install --require-hashes`,",
             "# then the project itself with --no-deps --no-build-isolation (nothing unlocked is fetched).",
             f"# Python {PYTHON} on linux x86_64 (glibc 2.28 to 2.39; CI) and macOS arm64. Regenerate with the",
             "# platform's templates/ml-project/lock_requirements.py; Dependabot (pip) proposes updates.",
             ""]
    blocks: dict[tuple[int, str], list[str]] = {}
    for n in sorted(pins):
        v = pins[n][0]
        marker = f" ; {' or '.join(sorted(markers[n]))}" if n in markers else ""
        entry = f"{n}=={v}{marker}" + "".join(f" \\\n    --hash=sha256:{h}" for h in sorted(hashes[n]))
        only = "" if frameworks[n] >= set(FRAMEWORKS) else sorted(frameworks[n])[0]
        blocks.setdefault((first_level[n], only), []).append(entry)
    for lv, only in sorted(blocks):
        conditions = ([f"level >= {lv}"] if lv else []) + ([f'cookiecutter.framework == "{only}"'] if only else [])
        if conditions:
            lines.append(f"{{%- if {' and '.join(conditions)} %}}")
        lines += blocks[lv, only]
        if conditions:
            lines.append("{%- endif %}")
    LOCK.write_text("\n".join(lines) + "\n")
    print(f"{LOCK}: {len(pins)} packages")


if __name__ == "__main__":
    main()
