"""Where the platform's files are: the program and its bundled sample stacks (this source tree, or the installed
package in site-packages), the platform checkout a command works in, and where a command may keep state."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path:
    """The platform checkout: the working directory when it holds Pulumi.yaml and stacks/ (e.g. an installed
    ``ladder`` run inside a checkout, as the generated deploy workflow does), else this source tree (or the
    installed package, whose stacks/ are the bundled samples)."""
    cwd = Path.cwd()
    if (cwd / "Pulumi.yaml").is_file() and (cwd / "stacks").is_dir():
        return cwd
    return REPO_ROOT


def state_root() -> Path:
    """Where a command keeps its working state (``.ladder/...``): the platform checkout; for an installed package
    run outside a checkout, the working directory - never site-packages (not the user's, often not writable)."""
    root = project_root()
    if root == REPO_ROOT and not (REPO_ROOT / "pyproject.toml").is_file():  # the wheel ships no pyproject.toml
        return Path.cwd()
    return root
