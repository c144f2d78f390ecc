"""`pip install mlops-ladder` from a wheel (not -e): the wheel carries the program, the sample stacks, the project
template (dotfiles included) and the policy pack's files, and an installed ``ladder`` runs ``new``, ``plan`` and
``upgrade --check`` from them. The generated CI's ``upgrade-check`` job (templates/.../ci.yml) reads its origin from
.cruft.json and installs only requirements-upgrade-check.txt plus the platform with --no-deps: both are checked.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from modules import scaffold

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "templates" / "ml-project" / "{{cookiecutter.project_slug}}" / ".github" / "workflows" / "ci.yml"
LOCK = ROOT / "requirements-upgrade-check.txt"
SITE = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p, "typer").is_dir()))


def _run(cmd, cwd, env=None, check=True, timeout=600):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})
    if check:
        assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", str(out), str(ROOT)], cwd=out)
    (built,) = out.glob("mlops_ladder-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed (--no-deps); the dependencies come from this venv's site-packages
    through a .pth line (a plain path entry: this venv's editable-install finder is not loaded there)."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "zz_dependencies.pth").write_text(str(SITE) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-deps",
          "--no-index", str(wheel)], cwd=venv)
    return venv


@pytest.mark.slow
def test_the_wheel_carries_the_program_the_stacks_the_template_and_the_pack(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    # the template's files as git sees them (tracked, or new and not ignored: no tool caches)
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "templates", "modules"],
                  cwd=ROOT).stdout  # modules: every subpackage too (the demo imports modules.sandbox.services)
    expected = {name for name in listed.splitlines() if (ROOT / name).is_file()}
    assert "templates/ml-project/cookiecutter.json" in expected
    assert "modules/sandbox/services/gateway.py" in expected
    assert any("/.github/workflows/ci.yml" in n for n in expected) and any(n.endswith("/.gitignore") for n in expected)
    assert sorted(expected - names) == []
    assert not [n for n in names if re.search(r"(^|/)(__pycache__|\.ruff_cache|\.pytest_cache)/|\.pyc$", n)]
    assert {"__main__.py", "modules/policies/PulumiPolicy.yaml", "modules/policies/requirements.txt"} <= names
    assert {f"stacks/{p.name}" for p in (ROOT / "stacks").glob("Pulumi.*.yaml")} <= names
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "ladder = modules.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


@pytest.mark.slow
def test_an_installed_wheel_runs_new_plan_and_upgrade_check(installed, tmp_path):
    ladder, python = installed / "bin" / "ladder", installed / "bin" / "python"
    where = _run([python, "-c", "import modules; print(modules.__file__)"], cwd=tmp_path).stdout
    assert where.startswith(str(installed)), where  # the wheel's copy, not this checkout
    env = {"LADDER_CACHE_DIR": str(ROOT / ".ladder" / "cache" / "definitions")}  # same sources: same keys
    graph = json.loads(_run([ladder, "plan", "--stack", "dev", "--json"], cwd=tmp_path, env=env).stdout)
    assert graph["stack"] == "dev" and graph["resources"]
    assert "demo" in _run([ladder, "--help"], cwd=tmp_path).stdout
    # inside a platform checkout (Pulumi.yaml + stacks/), --stack reads that checkout's stack, not the bundled one,
    # and sandbox state goes to the checkout; outside one, to the working directory - never into site-packages
    checkout = tmp_path / "platform"
    (checkout / "stacks").mkdir(parents=True)
    (checkout / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (checkout / "stacks" / "Pulumi.dev.yaml").write_text(
        (ROOT / "stacks" / "Pulumi.dev.yaml").read_text().replace("mlops:org: acme ", "mlops:org: zeta "))
    mine = _run([ladder, "plan", "--stack", "dev", "--json"], cwd=checkout, env=env).stdout
    assert '"zeta-dev-' in mine and '"acme-dev-' not in mine
    where = "from modules.sandbox.state import state_path; print(state_path('dev'))"
    assert _run([python, "-c", where], cwd=checkout).stdout.strip() == str(checkout / ".ladder" / "sandbox" / "dev.json")
    assert _run([python, "-c", where], cwd=tmp_path).stdout.strip() == str(tmp_path / ".ladder" / "sandbox" / "dev.json")
    _run([ladder, "new", "churn", "--stack", "dev", "-o", "out"], cwd=tmp_path)
    repo = tmp_path / "out" / "churn"
    assert (repo / ".github" / "workflows" / "ci.yml").is_file() and (repo / ".gitignore").is_file()
    state = json.loads((repo / ".cruft.json").read_text())
    site = next(installed.glob("lib/python3*/site-packages"))
    assert state["ladder"]["template_hash"] == scaffold.template_hash(site / "templates" / "ml-project")
    stack = site / "stacks" / "Pulumi.dev.yaml"
    current = _run([ladder, "upgrade", str(repo), "--check", "--stack-file", str(stack)], cwd=tmp_path)
    assert "up to date" in current.stdout
    changed = tmp_path / "Pulumi.dev.yaml"  # the stack moved to another level (here down to 1)
    changed.write_text(re.sub(r"(mlops:maturity:\s*)\"?\d\"?", r"\g<1>1", stack.read_text(), count=1))
    behind = _run([ladder, "upgrade", str(repo), "--check", "--stack-file", str(changed)], cwd=tmp_path, check=False)
    assert behind.returncode == 1 and "maturity_level" in behind.stdout, behind.stdout + behind.stderr


def _locked() -> dict[str, str]:
    return {canonicalize_name(m.group(1)): m.group(2)
            for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}$", LOCK.read_text(), re.M)}


def test_the_upgrade_check_lock_pins_what_this_venv_tested_and_is_closed():
    locked = _locked()
    assert {"typer", "rich", "pydantic", "pyyaml", "botocore", "setuptools"} <= set(locked)
    for name, version in locked.items():
        if name != "setuptools":  # the CI's build backend; this venv's may be older
            assert md.version(name) == version, (name, md.version(name), version)
    for name in locked:
        for req in map(Requirement, md.requires(name) or []):
            if req.marker is None or req.marker.evaluate({"extra": "", "platform_system": "Linux",
                                                          "sys_platform": "linux"}):
                assert canonicalize_name(req.name) in locked, (name, str(req))


@pytest.mark.slow
def test_upgrade_check_needs_only_the_locked_distributions(installed, tmp_path):
    """What the CI job has: the lock's distributions and the platform (no SDK, no Pulumi, no cookiecutter)."""
    only = tmp_path / "only"
    only.mkdir()
    for name in _locked():
        if name == "setuptools":
            continue
        tops = {f.parts[0] for f in md.distribution(name).files or [] if ".dist-info" not in f.parts[0]}
        for top in tops - {"__pycache__", ".."}:
            (only / top).symlink_to(SITE / top)
    site = next(installed.glob("lib/python3*/site-packages"))
    _run([installed / "bin" / "ladder", "new", "churn", "--stack", "dev", "-o", "out"], cwd=tmp_path)
    code = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(only)!r}, {str(site)!r}]
        from modules import cli
        try:
            cli.main(["upgrade", "out/churn", "--check", "--stack-file", {str(site / 'stacks' / 'Pulumi.dev.yaml')!r}])
        except SystemExit as exc:
            assert not [m for m in sys.modules if m.split(".")[0] in ("pulumi", "sagemaker", "cookiecutter", "boto3")]
            raise
    """)
    proc = _run([sys.executable, "-S", "-c", code], cwd=tmp_path)  # -S: no site-packages beyond the two above
    assert "up to date" in proc.stdout


def _origin_script() -> str:
    text = CI.read_text()
    return textwrap.dedent(text.split("<<'PY'\n", 1)[1].split("\n          PY\n", 1)[0])


@pytest.mark.parametrize("template,stack,expected", [
    ("https://github.com/acme/platform.git", "prod", {"repository": "acme/platform", "stack": "prod"}),
    ("https://github.com/acme/ml-platform", "dev", {"repository": "acme/ml-platform", "stack": "dev"}),
    ("git@github.com:acme/platform.git", "staging", {"repository": "acme/platform", "stack": "staging"}),
    ("ssh://git@github.com/acme/platform.git", "dev", {"repository": "acme/platform", "stack": "dev"}),
    ("https://x-access-token:abc@github.com/acme/platform.git", "dev", {"repository": "acme/platform", "stack": "dev"}),
    ("/home/me/platform", "dev", {"repository": "", "stack": "dev"}),  # a local checkout: nothing to fetch
    ("https://github.com/acme/platform", "dev; rm -rf /", {"repository": "acme/platform", "stack": ""}),
    ("https://gitlab.com/acme/platform", None, {"repository": "", "stack": ""}),
])
def test_the_ci_upgrade_check_reads_its_origin_from_cruft_json(tmp_path, template, stack, expected):
    ladder_block = {"stack": stack} if stack is not None else {}
    (tmp_path / ".cruft.json").write_text(json.dumps({"template": template, "ladder": ladder_block}))
    out = _run([sys.executable, "-c", _origin_script()], cwd=tmp_path).stdout
    assert dict(line.split("=", 1) for line in out.splitlines()) == expected


def test_the_ci_upgrade_check_installs_only_locked_or_no_deps_and_uses_the_cli_options():
    job = CI.read_text().split("  upgrade-check:\n", 1)[1].split("{%- endraw %}", 1)[0]
    installs = [ln.strip() for ln in job.splitlines() if "pip install" in ln]
    assert installs == ["python -m pip install --require-hashes -r .platform/requirements-upgrade-check.txt",
                        "python -m pip install --no-deps --no-build-isolation ./.platform"]
    assert "ladder upgrade . --check --stack-file" in job and "id-token" not in job and "secrets." not in job
    from typer.testing import CliRunner

    from modules.cli import app

    help_text = CliRunner().invoke(app, ["upgrade", "--help"]).output
    assert "--check" in help_text and "--stack-file" in help_text


@pytest.mark.slow
def test_an_installed_wheel_runs_the_demo(installed, tmp_path):
    """The whole loop from the wheel's files (its sandbox services, template and program), not this checkout."""
    env = {"LADDER_CACHE_DIR": str(ROOT / ".ladder" / "cache" / "definitions")}  # not the user's ~/.cache
    proc = _run([installed / "bin" / "ladder", "demo", "--json"], cwd=tmp_path, env=env, timeout=900)
    result = json.loads(proc.stdout)
    assert result["executions"], sorted(result)
    assert not (next(installed.glob("lib/python3*/site-packages")) / ".ladder").exists()  # nothing written there
