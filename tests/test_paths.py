"""modules/paths.py: a command works in the platform checkout it is run in, and keeps state out of site-packages
(issue 17: an installed ``ladder`` read the bundled sample stacks for ``--stack`` and ``ladder up --sandbox`` wrote
its state into site-packages)."""

from __future__ import annotations

from modules import paths, spec
from modules.sandbox import state


def _checkout(root):
    (root / "stacks").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text("name: mlops-ladder\nruntime: python\n")
    return root


def test_a_checkout_in_the_working_directory_comes_first(tmp_path, monkeypatch):
    monkeypatch.chdir(_checkout(tmp_path / "platform"))
    assert paths.project_root() == tmp_path / "platform"
    assert spec.stack_file("dev") == tmp_path / "platform" / "stacks" / "Pulumi.dev.yaml"
    assert state.state_path("dev") == tmp_path / "platform" / ".ladder" / "sandbox" / "dev.json"


def test_elsewhere_the_source_tree_and_its_samples(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert paths.project_root() == paths.REPO_ROOT
    assert spec.stack_file("dev") == paths.REPO_ROOT / "stacks" / "Pulumi.dev.yaml"
    assert state.state_path("dev") == paths.REPO_ROOT / ".ladder" / "sandbox" / "dev.json"  # a source checkout


def test_an_installed_package_keeps_state_in_the_working_directory(tmp_path, monkeypatch):
    site = tmp_path / "site-packages"  # what REPO_ROOT is for a wheel: no pyproject.toml
    (site / "stacks").mkdir(parents=True)
    monkeypatch.setattr(paths, "REPO_ROOT", site)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert paths.state_root() == work
    assert state.state_path("dev") == work / ".ladder" / "sandbox" / "dev.json"
    assert spec.stack_file("dev") == site / "stacks" / "Pulumi.dev.yaml"  # the bundled sample, read only
