"""Regenerate ``{{cookiecutter.project_slug}}/requirements-dev.txt``: the generated project's own dependencies
(pyproject ``dependencies`` + every extra of its level), pinned with ``==`` and locked with sha256 hashes.

Run from the platform repository with its venv (needs the package index, not AWS)::

    .venv/bin/python templates/ml-project/lock_requirements.py

How: bake the template at level 4 and resolve ``.[serving,aws,dev]`` with ``pip install --dry-run --report``
against PyPI only (``--isolated``: no local wheel directory, so every hash is the index's own file hash) for
Python 3.11 on linux x86_64 (CI, ``ubuntu-latest``), then with those pins as constraints for each lower level
(what that level installs) and for macOS arm64 (a developer's ``make install``), collecting each platform's
wheel hash. PEP 658 metadata is used, so no wheel is
downloaded. The output is a Jinja template: packages a level does not need are inside ``{% if level >= N %}``.
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


def top_level(level: int, tmp: Path) -> list[str]:
    sys.path.insert(0, str(ROOT.parent.parent))
    from modules.scaffold import bake

    root = bake({"project_name": "Lock Probe", "environment": "dev", "aws_region": "us-east-1",
                 "github_repository": "acme/lock-probe", "quality_gate_metric": "auc", "quality_gate_min": 0.8,
                 "maturity_level": level}, tmp / f"level{level}")
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    build = tomllib.loads((root / "pyproject.toml").read_text())["build-system"]["requires"]
    return sorted(set(reqs + build))


def resolve(reqs: list[str], platform: str, constraints: Path | None, tmp: Path) -> dict[str, tuple[str, str]]:
    report = tmp / f"report-{platform}.json"
    cmd = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--index-url", INDEX, "--only-binary=:all:", *[a for tag in PLATFORMS[platform] for a in ("--platform", tag)],
           "--python-version", PYTHON,
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


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        levels = {lv: top_level(lv, tmp) for lv in range(5)}
        pins = resolve(levels[4], PRIMARY, None, tmp)
        constraints = tmp / "constraints.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, (v, _) in sorted(pins.items())))
        first_level = {n: 4 for n in pins}
        for lv in range(3, -1, -1):
            for n in resolve(levels[lv], PRIMARY, constraints, tmp):
                first_level[n] = lv
        hashes = {n: {h} for n, (_, h) in pins.items()}
        markers: dict[str, set[str]] = {}
        for platform in OTHERS:
            for n, (v, h) in resolve(levels[4], platform, constraints, tmp).items():
                if n not in pins:  # a platform-only dependency (e.g. colorama on Windows)
                    pins[n], first_level[n] = (v, h), first_level.get(n, 0)
                    markers.setdefault(n, set()).add(MARKER[platform])
                    hashes[n] = set()
                assert pins[n][0] == v, (n, v, pins[n])
                hashes[n].add(h)
    lines = ["{% set level = cookiecutter.maturity_level|int -%}",
             "# The project's own dependencies (pyproject.toml: dependencies + the extras of this level) and its build",
             "# backend, pinned and hash-locked: `make install` and CI install them with `pip install --require-hashes`,",
             "# then the project itself with --no-deps --no-build-isolation (nothing unlocked is fetched).",
             f"# Python {PYTHON} on linux x86_64 (glibc 2.28 to 2.39; CI) and macOS arm64. Regenerate with the",
             "# platform's templates/ml-project/lock_requirements.py; Dependabot (pip) proposes updates.",
             ""]
    by_level: dict[int, list[str]] = {}
    for n in sorted(pins):
        v = pins[n][0]
        marker = f" ; {' or '.join(sorted(markers[n]))}" if n in markers else ""
        entry = f"{n}=={v}{marker}" + "".join(f" \\\n    --hash=sha256:{h}" for h in sorted(hashes[n]))
        by_level.setdefault(first_level[n], []).append(entry)
    for lv in sorted(by_level):
        if lv:
            lines.append(f"{{%- if level >= {lv} %}}")
        lines += by_level[lv]
        if lv:
            lines.append("{%- endif %}")
    LOCK.write_text("\n".join(lines) + "\n")
    print(f"{LOCK}: {len(pins)} packages")


if __name__ == "__main__":
    main()
