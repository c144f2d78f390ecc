"""`ladder upgrade`: a generated repository follows its stack's spec and the template by a three-way merge
(old render = base, new render = theirs, the repository = ours) that keeps the team's edits, marks conflicts
and never overwrites silently; `--check` says when it is behind (exit 1) or current (exit 0)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modules import scaffold, upgrade
from modules.cli import app
from tests.helpers import config

runner = CliRunner()
GIT = ["git", "-c", "user.name=team", "-c", "user.email=team@example.com", "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=repo, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def write_stack(path: Path, maturity: int, gate: float = 0.8) -> Path:
    cfg = config(maturity=maturity, environment="dev")
    cfg["mlops:projects"][0]["training"]["qualityGate"]["min"] = gate
    path.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    return path


def ladder(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def level2(tmp_path):
    """A level-2 repository from `ladder new`, committed, then customised by the team in three files."""
    stack = write_stack(tmp_path / "Pulumi.team.yaml", 2)
    result = ladder("new", "churn", "--stack-file", str(stack), "-o", str(tmp_path / "repos"))
    assert result.exit_code == 0, result.output
    repo = tmp_path / "repos" / "churn"
    git(repo, "init", "-q")
    commit_all(repo, "ladder new")
    # 1. code the template never changes between levels: kept as is
    train = repo / "src" / "churn" / "train.py"
    train.write_text(train.read_text() + "\n\nTEAM_NOTE = 'tuned by the team'\n")
    # 2. a line the level change does not touch, in a file it does change (README title): merged cleanly
    readme = repo / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    assert lines[0] == "# churn\n"
    readme.write_text("# churn (team edition)\n" + "".join(lines[1:]))
    # 3. the very line the level-4 render changes (the Makefile's .PHONY list): a conflict
    makefile = repo / "Makefile"
    text = makefile.read_text()
    phony = re.search(r"^\.PHONY: .*$", text, re.M).group(0)
    makefile.write_text(text.replace(phony, phony + " team-report"))
    commit_all(repo, "team edits")
    return {"repo": repo, "stack": stack, "phony": phony}


def test_new_records_template_version_and_answers(level2):
    state = json.loads((level2["repo"] / ".cruft.json").read_text())
    # cruft's schema (cruft create writes template, commit, checkout, context, directory)
    assert {"template", "commit", "checkout", "context", "directory"} <= set(state)
    answers = state["context"]["cookiecutter"]
    assert answers["maturity_level"] == "2" and answers["quality_gate_threshold"] == "0.8"
    assert answers["project_slug"] == "churn" and answers["_template"] == state["template"]
    assert state["ladder"]["template_hash"] == scaffold.template_hash()
    assert state["ladder"]["template_version"] == scaffold.template_context()["_ladder_template_version"]
    assert state["ladder"]["project"] == "churn" and state["ladder"]["stack"] == "team"


def test_check_is_current_right_after_new(level2):
    result = ladder("upgrade", "--check", "--stack-file", str(level2["stack"]), str(level2["repo"]))
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_raise_to_level4_keeps_edits_adds_files_reports_conflict_updates_gate(level2):
    repo, stack = level2["repo"], level2["stack"]
    write_stack(stack, 4, gate=0.85)
    check = ladder("upgrade", "--check", "--json", "--stack-file", str(stack), str(repo))
    assert check.exit_code == 1, check.output  # behind: CI fails
    behind = json.loads(check.output)
    assert behind["behind"] is True and behind["applied"] is False
    assert behind["answers"]["maturity_level"] == {"from": "2", "to": "4"}
    assert behind["answers"]["quality_gate_threshold"] == {"from": "0.8", "to": "0.85"}
    assert git(repo, "status", "--porcelain") == ""  # --check changed nothing

    result = ladder("upgrade", "--json", "--stack-file", str(stack), str(repo))
    assert result.exit_code == 1, result.output  # a conflict is left to resolve
    done = json.loads(result.output)
    assert done["applied"] is True
    assert done["conflicts"] == [{"path": "Makefile", "reason": "changed in both: conflict markers written"}]
    # the level-3 and level-4 files are added
    for rel in ("deploy/request.py", "deploy/smoke_test.py", "tests/test_deploy.py", "monitoring/baseline.py",
                "monitoring/drift.py", "tests/test_monitoring.py"):
        assert rel in done["added"] and (repo / rel).is_file(), rel
    # the team's edits are kept: untouched file, cleanly merged file
    assert "TEAM_NOTE = 'tuned by the team'" in (repo / "src" / "churn" / "train.py").read_text()
    readme = (repo / "README.md").read_text()
    assert readme.startswith("# churn (team edition)\n")
    assert "MLOps maturity level 4" in readme and "### Monitoring (level 4)" in readme
    assert "README.md" in done["updated"]
    # the conflicting edit is reported and marked, not overwritten
    makefile = (repo / "Makefile").read_text()
    assert "<<<<<<< repository" in makefile and ">>>>>>> template (new render)" in makefile
    assert level2["phony"] + " team-report" in makefile and "baseline drift" in makefile
    # the baked gate value follows the spec
    config_py = (repo / "src" / "churn" / "config.py").read_text()
    assert re.search(r"^QUALITY_GATE_THRESHOLD = 0\.85$", config_py, re.M), config_py
    state = json.loads((repo / ".cruft.json").read_text())
    assert state["context"]["cookiecutter"]["maturity_level"] == "4"
    assert state["context"]["cookiecutter"]["quality_gate_threshold"] == "0.85"

    # the team resolves the conflict (keeps its target and the new ones) and commits
    resolved = re.sub(r"<<<<<<< repository\n(.*?)\n=======\n(.*?)\n>>>>>>> template \(new render\)\n",
                      lambda m: m.group(2) + " team-report\n", makefile, flags=re.S)
    (repo / "Makefile").write_text(resolved)
    commit_all(repo, "ladder upgrade to level 4")
    assert ladder("upgrade", "--check", "--stack-file", str(stack), str(repo)).exit_code == 0
    again = ladder("upgrade", "--json", "--stack-file", str(stack), str(repo))
    assert again.exit_code == 0, again.output
    noop = json.loads(again.output)
    assert noop["behind"] is False and noop["applied"] is False and noop["added"] == noop["updated"] == []
    assert git(repo, "status", "--porcelain") == ""  # the second upgrade is a no-op


@pytest.mark.slow
def test_upgraded_repository_tests_pass(level2):
    """After the level 2 -> 4 upgrade and the conflict resolved, the repository's own tests pass offline."""
    repo, stack = level2["repo"], level2["stack"]
    write_stack(stack, 4, gate=0.85)
    assert ladder("upgrade", "--stack-file", str(stack), str(repo)).exit_code == 1
    makefile = repo / "Makefile"
    makefile.write_text(re.sub(r"<<<<<<< repository\n.*?\n=======\n(.*?)\n>>>>>>> template \(new render\)\n",
                               r"\1\n", makefile.read_text(), flags=re.S))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true", "PYTHONDONTWRITEBYTECODE": "1"})
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "test_monitoring.py" in subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q"], cwd=repo,
                                                  env=env, capture_output=True, text=True, timeout=300).stdout


def test_dirty_tree_is_refused_unless_forced(level2):
    repo, stack = level2["repo"], level2["stack"]
    write_stack(stack, 3)
    (repo / "src" / "churn" / "train.py").write_text("# work in progress\n")
    result = ladder("upgrade", "--stack-file", str(stack), str(repo))
    assert result.exit_code == 2
    assert "uncommitted changes (src/churn/train.py)" in result.output and "--force" in result.output
    assert not (repo / "deploy").exists()
    forced = ladder("upgrade", "--force", "--stack-file", str(stack), str(repo))
    assert forced.exit_code == 1 and "conflict: Makefile" in forced.output, forced.output  # the fixture's edit
    assert (repo / "deploy" / "request.py").is_file()
    assert (repo / "src" / "churn" / "train.py").read_text() == "# work in progress\n"


def test_not_a_git_repository_is_refused(level2):
    repo, stack = level2["repo"], level2["stack"]
    shutil.rmtree(repo / ".git")
    write_stack(stack, 3)
    result = ladder("upgrade", "--stack-file", str(stack), str(repo))
    assert result.exit_code == 2 and "is not a git repository" in result.output
    assert not (repo / "deploy").exists()


@pytest.mark.parametrize("damage, message", [
    (lambda repo: (repo / ".cruft.json").unlink(), ".cruft.json not found"),
    (lambda repo: (repo / ".cruft.json").write_text("{not json"), "is not valid JSON"),
    (lambda repo: (repo / ".cruft.json").write_text('{"template": "x"}'), "context.cookiecutter is missing"),
])
def test_bad_records_are_one_clear_error(level2, damage, message):
    damage(level2["repo"])
    result = ladder("upgrade", "--check", "--stack-file", str(level2["stack"]), str(level2["repo"]))
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_project_missing_from_the_stack_and_bad_stack_file(level2, tmp_path):
    other = tmp_path / "Pulumi.other.yaml"
    cfg = config()
    cfg["mlops:projects"] = [cfg["mlops:projects"][1]]  # fraud only
    other.write_text(yaml.safe_dump({"config": cfg}))
    result = ladder("upgrade", "--check", "--stack-file", str(other), str(level2["repo"]))
    assert result.exit_code == 2 and "churn" in result.output and "recorded in .cruft.json" in result.output
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": config(maturity=9)}))
    result = ladder("upgrade", "--check", "--stack-file", str(bad), str(level2["repo"]))
    assert result.exit_code == 2 and "maturity" in result.output and "Traceback" not in result.output
    both = ladder("upgrade", "--stack", "dev", "--stack-file", str(bad), str(level2["repo"]))
    assert both.exit_code == 2 and "not both" in both.output


def test_new_template_version_merges_against_the_recorded_commit(tmp_path):
    """A template change (same answers) is merged with the render of the commit the repository came from
    as the base: a template line edited upstream reaches the repository, a file the template drops is
    deleted when the team left it alone, and --check says behind, then current."""
    platform = tmp_path / "platform"
    shutil.copytree(scaffold.TEMPLATE_DIR, platform / "templates" / "ml-project",
                    ignore=shutil.ignore_patterns("__pycache__"))
    git(platform, "init", "-q")
    commit_all(platform, "template v1")
    template = platform / "templates" / "ml-project"
    stack = write_stack(tmp_path / "Pulumi.team.yaml", 2)
    from modules import spec

    s = spec.load(path=stack)
    repo = scaffold.bake(scaffold.context_for(s, s.project("churn")), tmp_path / "repos", template_dir=template)
    state = json.loads((repo / ".cruft.json").read_text())
    assert state["commit"] == git(platform, "rev-parse", "HEAD").strip()
    assert state["directory"] == "templates/ml-project"
    git(repo, "init", "-q")
    (repo / "src" / "churn" / "train.py").write_text((repo / "src" / "churn" / "train.py").read_text() + "# ours\n")
    commit_all(repo, "baked + team edit")

    # template v2: a README line changes, a test file is dropped, the version is bumped
    project_dir = template / "{{cookiecutter.project_slug}}"
    readme = project_dir / "README.md"
    readme.write_text(readme.read_text().replace("## How to run", "## How to run (v2)"))
    (project_dir / "tests" / "test_local.py").unlink()
    cc = json.loads((template / "cookiecutter.json").read_text())
    v1 = cc["_ladder_template_version"]
    cc["_ladder_template_version"] = v2 = str(int(v1) + 1)
    (template / "cookiecutter.json").write_text(json.dumps(cc, indent=2))
    commit_all(platform, "template v2")

    behind = upgrade.upgrade(repo, stack_file=stack, check=True, template_dir=template)
    assert behind.behind and not behind.answers
    assert behind.template["from"]["version"] == v1 and behind.template["to"]["version"] == v2
    plan = upgrade.upgrade(repo, stack_file=stack, template_dir=template)
    assert plan.conflicts == [] and plan.removed == ["tests/test_local.py"] and "README.md" in plan.updated
    assert "## How to run (v2)" in (repo / "README.md").read_text()
    assert not (repo / "tests" / "test_local.py").exists()
    assert (repo / "src" / "churn" / "train.py").read_text().endswith("# ours\n")
    assert json.loads((repo / ".cruft.json").read_text())["ladder"]["template_version"] == v2
    commit_all(repo, "upgrade to template v2")
    assert not upgrade.upgrade(repo, stack_file=stack, check=True, template_dir=template).behind


def test_unknown_base_template_is_one_clear_error(level2):
    """No recorded commit and a template that changed since: no base to merge against, nothing written."""
    repo = level2["repo"]
    state = json.loads((repo / ".cruft.json").read_text())
    state["commit"] = None
    state["ladder"]["template_hash"] = "sha256:" + "0" * 64
    (repo / ".cruft.json").write_text(json.dumps(state))
    commit_all(repo, "simulate an older template")
    result = ladder("upgrade", "--stack-file", str(level2["stack"]), str(repo))
    assert result.exit_code == 2 and "no base to merge against" in result.output
    assert git(repo, "status", "--porcelain") == ""


def test_level0_to_1_adds_ci_and_an_executable_serve_entrypoint(tmp_path):
    stack = write_stack(tmp_path / "Pulumi.team.yaml", 0)
    assert ladder("new", "churn", "--stack-file", str(stack), "-o", str(tmp_path)).exit_code == 0
    repo = tmp_path / "churn"
    git(repo, "init", "-q")
    commit_all(repo, "level 0")
    write_stack(stack, 1)
    result = ladder("upgrade", "--stack-file", str(stack), str(repo))
    assert result.exit_code == 0, result.output
    assert (repo / ".github" / "workflows" / "ci.yml").is_file()
    assert os.access(repo / "serving" / "serve", os.X_OK)  # SageMaker runs `serve`: the mode comes with the file
    assert git(repo, "ls-files", "--others", "--exclude-standard", "serving/serve").strip() == "serving/serve"


def test_lowering_the_level_removes_untouched_files_and_keeps_edited_ones(level2):
    repo, stack = level2["repo"], level2["stack"]
    write_stack(stack, 3)
    assert ladder("upgrade", "--stack-file", str(stack), str(repo)).exit_code == 1  # the fixture's Makefile edit
    (repo / "Makefile").write_text(re.sub(r"<<<<<<< repository\n(.*?)\n=======\n.*?\n>>>>>>> template \(new render\)\n",
                                          r"\1\n", (repo / "Makefile").read_text(), flags=re.S))
    request = repo / "deploy" / "request.py"
    request.write_text(request.read_text() + "# team: checked by security\n")
    commit_all(repo, "level 3 + team edit in deploy/")
    write_stack(stack, 2)
    result = ladder("upgrade", "--json", "--stack-file", str(stack), str(repo))
    done = json.loads(result.output)
    assert result.exit_code == 1
    assert "deploy/smoke_test.py" in done["removed"] and not (repo / "deploy" / "smoke_test.py").exists()
    # the team's .PHONY line conflicts with every level change (the fixture's edit); deploy/request.py is kept
    assert {"path": "deploy/request.py", "reason": "changed in the repository, removed by the template (kept; "
            "delete it if it is no longer needed)"} in done["conflicts"]
    assert sorted(c["path"] for c in done["conflicts"]) == ["Makefile", "deploy/request.py"]
    assert request.read_text().endswith("# team: checked by security\n")


def test_no_stack_recorded_nor_given_is_one_clear_error(level2):
    state = json.loads((level2["repo"] / ".cruft.json").read_text())
    state["ladder"].pop("stack")
    state["context"]["cookiecutter"].pop("environment")
    (level2["repo"] / ".cruft.json").write_text(json.dumps(state))
    result = ladder("upgrade", "--check", str(level2["repo"]))
    assert result.exit_code == 2 and "give --stack <name> or --stack-file <path>" in result.output
    unknown = ladder("upgrade", "--check", "--stack", "nope", str(level2["repo"]))
    assert unknown.exit_code == 2 and "no such stack file" in unknown.output


def test_check_reads_a_renamed_key_under_its_old_name(level2):
    """A repository generated before template 3 recorded quality_gate_min: --check compares the spec's threshold
    with it (upgrade.RENAMED_KEYS), so an unchanged gate is not reported as a change from nothing."""
    repo, stack = level2["repo"], level2["stack"]
    cruft = repo / ".cruft.json"
    state = json.loads(cruft.read_text())
    answers = state["context"]["cookiecutter"]
    answers["quality_gate_min"] = answers.pop("quality_gate_threshold")
    cruft.write_text(json.dumps(state))
    plan = upgrade.upgrade(repo, stack_file=stack, check=True)
    assert "quality_gate_threshold" not in plan.answers, plan.answers
    write_stack(stack, 2, gate=0.9)
    plan = upgrade.upgrade(repo, stack_file=stack, check=True)
    assert plan.answers["quality_gate_threshold"] == {"from": "0.8", "to": "0.9"}


def test_tool_caches_in_the_template_do_not_change_its_hash(tmp_path):
    """ruff/pytest caches (CACHEDIR.TAG directories that git ignores) are not template content: counting them made a
    clean checkout's hash differ from its commit's, and `ladder upgrade` then found no base to merge against."""
    template = tmp_path / "ml-project"
    shutil.copytree(scaffold.TEMPLATE_DIR, template, ignore=shutil.ignore_patterns("__pycache__", ".*_cache"))
    before = scaffold.template_hash(template)
    cache = template / ".ruff_cache" / "0.1"
    cache.mkdir(parents=True)
    (template / ".ruff_cache" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (cache / "entry").write_bytes(b"\x01cache")
    (template / "hooks" / "__pycache__").mkdir(exist_ok=True)
    (template / "hooks" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"pyc")
    assert scaffold.template_hash(template) == before
    (template / "hooks" / "extra.py").write_text("# content\n")
    assert scaffold.template_hash(template) != before
