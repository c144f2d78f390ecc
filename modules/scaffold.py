"""Bake an ML project repository from templates/ml-project (cookiecutter) for a given context.

`ladder new` maps a stack's spec onto the template's context keys and calls `bake`. Plain
`cookiecutter templates/ml-project` works too; this wrapper adds the guarantees a CLI needs: no silent
overwrite of a non-empty directory, nothing left behind on failure, and the template hook's own message in
the error instead of cookiecutter's "Hook script failed".

Context keys (all optional, defaults in templates/ml-project/cookiecutter.json): project_name,
project_slug, maturity_level (0-4), framework (sklearn|xgboost), aws_region, environment, github_repository,
problem_type (binary|multiclass|regression), quality_gate_metric (the problem type's vocabulary, spec.GATE_METRICS),
quality_gate_bound (min|max), quality_gate_threshold (a number), data_label (default "target"), data_categorical and
data_drop (JSON lists as strings, default "[]"), drift_threshold (0,1]. The platform's framework pins are added
by `answers_for` (framework_context): framework_image_version (the chosen framework's image version),
sklearn_version and xgboost_version (library minors); a different value for one of them is refused.

Every baked repository records where it came from in cruft's `.cruft.json` (template, commit, the full
cookiecutter context, plus a `ladder` block: template version and content hash, stack and project), so
`ladder upgrade` (modules/upgrade.py) can re-render the old and the new version and merge.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "ml-project"
CRUFT_FILE = ".cruft.json"

# Same rule as the template's pre-generation hook; checked here too so a slug with a path separator never
# reaches the file system.
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")


class ScaffoldError(ValueError):
    """The project could not be generated; the message says why."""


def template_context() -> dict:
    """The template's cookiecutter.json (defaults and allowed keys)."""
    return json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())


def _slug_for(context: dict) -> str:
    if "project_slug" in context:
        return str(context["project_slug"])
    name = str(context.get("project_name", template_context()["project_name"]))
    return name.lower().strip().replace(" ", "-").replace("_", "-")


def _normalise(context: dict) -> dict:
    allowed = {k for k in template_context() if not k.startswith("_")}
    unknown = sorted(set(context) - allowed)
    if unknown:
        raise ScaffoldError(f"unknown template setting(s) {unknown}; allowed: {sorted(allowed)}")
    # cookiecutter renders everything as text; pass numbers as their plain string form
    return {k: (str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
            for k, v in context.items()}


def framework_context(framework: str = "sklearn") -> dict[str, str]:
    """The framework versions the platform pins (pipeline_definition.SUPPORTED_FRAMEWORKS, the one place): the
    chosen framework's training/serving image version, and the library minors the project's dependencies pin
    (scikit-learn always - preprocessing, metrics - and xgboost)."""
    from .pipeline_definition import SUPPORTED_FRAMEWORKS

    pinned = SUPPORTED_FRAMEWORKS.get(framework) or {}
    if "library" not in pinned:
        return {}  # not a template framework: the template's hook names the allowed ones
    return {"framework_image_version": pinned["version"],
            "sklearn_version": SUPPORTED_FRAMEWORKS["sklearn"]["library"],
            "xgboost_version": SUPPORTED_FRAMEWORKS["xgboost"]["library"]}


def context_for(s, project) -> dict:
    """The template context a stack's spec gives a project (level, region, environment, repository, problem type,
    gate, data contract). `ladder new` and `ladder upgrade` both use it, so an upgrade computes exactly what a
    fresh `new` would."""
    gate, data = project.training.quality_gate, project.data
    return {
        "project_name": project.name,
        "project_slug": project.name,
        "maturity_level": s.maturity,
        "framework": project.framework,
        "aws_region": s.region,
        "environment": s.environment,
        "github_repository": s.repository_of(project),
        "problem_type": project.problem_type,
        "quality_gate_metric": gate.metric,
        "quality_gate_bound": gate.bound,
        "quality_gate_threshold": gate.threshold,
        "data_label": project.label,
        "data_categorical": json.dumps(list(data.categorical) if data is not None else []),
        "data_drop": json.dumps(list(data.drop) if data is not None else []),
        "drift_threshold": project.monitoring.drift_threshold,
    }


def answers_for(context: dict) -> dict:
    """The cookiecutter answers `bake` passes for a context: normalised, with the platform's framework pins
    (a pin set in the context that differs from the platform's is an error)."""
    extra = _normalise(dict(context))
    for key, value in framework_context(str(extra.get("framework", "sklearn"))).items():
        if extra.setdefault(key, value) != value:
            raise ScaffoldError(f"{key} {extra[key]!r} differs from the version the platform pins ({value!r}, "
                                f"SUPPORTED_FRAMEWORKS in modules/pipeline_definition.py); leave it unset")
    return extra


def _is_cache(template_dir: Path, path: Path) -> bool:
    """Tool caches inside the template (``__pycache__``, ``*.pyc``, and directories tagged as caches with a
    CACHEDIR.TAG, as ruff and pytest write them, ignoring themselves in git): not template content. Counting them
    made the hash of a checkout differ from the hash of its own commit, so `ladder upgrade` found no base."""
    if "__pycache__" in path.parts or path.suffix == ".pyc":
        return True
    parent = path.parent
    while parent != template_dir and template_dir in parent.parents:
        if (parent / "CACHEDIR.TAG").is_file():
            return True
        parent = parent.parent
    return False


def template_hash(template_dir: Path = TEMPLATE_DIR) -> str:
    """Content hash of a template directory (paths, bytes, executable bits): what `upgrade --check` compares to
    tell a new template version from the one a repository was generated from."""
    digest = hashlib.sha256()
    template_dir = Path(template_dir)
    for path in sorted(p for p in template_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(template_dir).as_posix()
        if _is_cache(template_dir, path):
            continue
        digest.update(f"{rel}\0{os.access(path, os.X_OK)}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()


def _git(cwd: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def template_source(template_dir: Path = TEMPLATE_DIR) -> dict:
    """Where the template comes from, as cruft records it: the platform repository (remote URL, else its local
    path), the commit whose templates/ml-project is exactly this template (None when the template has
    uncommitted changes or is not in git, e.g. an installed package) and the template's directory in it."""
    template_dir = Path(template_dir).resolve()
    root = _git(template_dir, "rev-parse", "--show-toplevel")
    if not root:
        return {"template": str(template_dir), "commit": None, "directory": None}
    directory = template_dir.relative_to(Path(root).resolve()).as_posix()
    commit = _git(template_dir, "rev-parse", "HEAD")
    dirty = _git(template_dir, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if commit and (dirty is None or dirty):
        commit = None
    url = _git(template_dir, "remote", "get-url", "origin") or str(Path(root).resolve())
    return {"template": url, "commit": commit, "directory": directory}


def render(extra: dict, output_dir: Path, template_dir: Path = TEMPLATE_DIR, overwrite: bool = False) -> tuple[Path, dict]:
    """Run cookiecutter on template_dir with these answers into output_dir; return (project path, the full
    cookiecutter context it rendered with). Raises ScaffoldError with the hook's own message on bad input."""
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.prompt import prompt_for_config

    with tempfile.TemporaryDirectory(prefix="ladder-scaffold-") as tmp:
        error_file = Path(tmp) / "hook-error.txt"
        previous = os.environ.get("LADDER_HOOK_ERROR_FILE")
        os.environ["LADDER_HOOK_ERROR_FILE"] = str(error_file)
        try:
            # what cookiecutter() does without its replay/clone state (nothing is written to ~)
            context = generate_context(context_file=str(Path(template_dir) / "cookiecutter.json"),
                                       extra_context=extra)
            context["cookiecutter"] = prompt_for_config(context, no_input=True)
            context["cookiecutter"]["_template"] = str(template_dir)
            result = generate_files(repo_dir=str(template_dir), context=context, overwrite_if_exists=overwrite,
                                    output_dir=str(output_dir))
        except FailedHookException as exc:
            message = error_file.read_text().strip() if error_file.exists() else str(exc)
            raise ScaffoldError(message) from exc
        except CookiecutterException as exc:
            raise ScaffoldError(f"cookiecutter failed: {exc}") from exc
        except ValueError as exc:  # e.g. a value outside a choice variable's choices
            raise ScaffoldError(f"invalid project settings: {exc}") from exc
        finally:
            if previous is None:
                os.environ.pop("LADDER_HOOK_ERROR_FILE", None)
            else:
                os.environ["LADDER_HOOK_ERROR_FILE"] = previous
    return Path(result), context["cookiecutter"]


def cruft_state(rendered: dict, source: dict | None = None, origin: dict | None = None,
                template_dir: Path = TEMPLATE_DIR) -> dict:
    """The `.cruft.json` content (cruft's schema: template, commit, checkout, context, directory) plus a `ladder`
    block: the template's version and content hash, and the stack/project the answers came from."""
    source = source or template_source(template_dir)
    context = {k: v for k, v in rendered.items() if k not in ("_output_dir", "_repo_dir", "_checkout")}
    context["_template"] = source["template"]
    context["_commit"] = source["commit"]
    return {
        "template": source["template"],
        "commit": source["commit"],
        "checkout": None,
        "context": {"cookiecutter": context},
        "directory": source["directory"],
        "ladder": {"template_version": str(rendered.get("_ladder_template_version", "")),
                   "template_hash": template_hash(template_dir), **(origin or {})},
    }


def write_cruft(project: Path, state: dict) -> None:
    (Path(project) / CRUFT_FILE).write_text(json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
                                            + "\n")


def bake(context: dict, output_dir: Path, force: bool = False, origin: dict | None = None,
         template_dir: Path = TEMPLATE_DIR) -> Path:
    """Generate the project into output_dir/<project_slug>/ and return that path; `.cruft.json` records the
    template, its version and the answers (origin: e.g. {"stack": "dev", "project": "churn"}).

    Raises ScaffoldError when the target exists and is not empty (unless force), when a setting is invalid
    (message from the template's pre-generation hook) or when generation fails; in every failure case the
    target directory is left as it was before the call (removed if this call created it).
    """
    extra = answers_for(context)
    slug = _slug_for(extra)
    if not SLUG_RE.match(slug) or "--" in slug:
        raise ScaffoldError(
            f"invalid project settings: project_slug {slug!r} is not DNS-safe: use 2-40 characters, lowercase "
            "letters, digits and single hyphens, starting with a letter and not ending with a hyphen"
        )
    output_dir = Path(output_dir).resolve()
    target = output_dir / slug
    existed_before = target.exists()
    if existed_before and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory")
    if existed_before and any(target.iterdir()) and not force:
        raise ScaffoldError(f"{target} already exists and is not empty; use force to overwrite generated files")
    output_existed = output_dir.exists()

    def cleanup() -> None:
        if not existed_before and target.exists():
            shutil.rmtree(target)
        if not output_existed and output_dir.exists() and not any(output_dir.iterdir()):
            output_dir.rmdir()

    try:
        result, rendered = render(extra, output_dir, template_dir, overwrite=force or existed_before)
        write_cruft(result, cruft_state(rendered, origin={"project": slug, **(origin or {})}, template_dir=template_dir))
    except BaseException:
        cleanup()
        raise
    return result
