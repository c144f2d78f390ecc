"""Bake an ML project repository from templates/ml-project (cookiecutter) for a given context.

`ladder new` maps a stack's spec onto the template's context keys and calls `bake`. Plain
`cookiecutter templates/ml-project` works too; this wrapper adds the guarantees a CLI needs: no silent
overwrite of a non-empty directory, nothing left behind on failure, and the template hook's own message in
the error instead of cookiecutter's "Hook script failed".

Context keys (all optional, defaults in templates/ml-project/cookiecutter.json): project_name,
project_slug, maturity_level (0-4), framework (sklearn), aws_region, environment, github_repository,
quality_gate_metric (auc|accuracy|f1|precision|recall), quality_gate_min [0,1], drift_threshold [0,1].
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "ml-project"

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
    training/serving image version and the library minor version the project's dependencies pin."""
    from .pipeline_definition import SUPPORTED_FRAMEWORKS

    pinned = SUPPORTED_FRAMEWORKS.get(framework) or {}
    if "library" not in pinned:
        return {}  # not a template framework: the template's hook names the allowed ones
    return {"framework_image_version": pinned["version"], "sklearn_version": pinned["library"]}


def bake(context: dict, output_dir: Path, force: bool = False) -> Path:
    """Generate the project into output_dir/<project_slug>/ and return that path.

    Raises ScaffoldError when the target exists and is not empty (unless force), when a setting is invalid
    (message from the template's pre-generation hook) or when generation fails; in every failure case the
    target directory is left as it was before the call (removed if this call created it).
    """
    from cookiecutter.exceptions import CookiecutterException, FailedHookException
    from cookiecutter.main import cookiecutter

    extra = _normalise(dict(context))
    for key, value in framework_context(str(extra.get("framework", "sklearn"))).items():
        if extra.setdefault(key, value) != value:
            raise ScaffoldError(f"{key} {extra[key]!r} differs from the version the platform pins ({value!r}, "
                                f"SUPPORTED_FRAMEWORKS in modules/pipeline_definition.py); leave it unset")
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

    with tempfile.TemporaryDirectory(prefix="ladder-scaffold-") as tmp:
        error_file = Path(tmp) / "hook-error.txt"
        # cookiecutter's own state (replay file, clone dir) goes to the temp dir, not to ~
        config_file = Path(tmp) / "cookiecutter.yaml"
        config_file.write_text(json.dumps({"cookiecutters_dir": str(Path(tmp) / "cookiecutters"),
                                           "replay_dir": str(Path(tmp) / "replay")}))
        previous = os.environ.get("LADDER_HOOK_ERROR_FILE")
        os.environ["LADDER_HOOK_ERROR_FILE"] = str(error_file)
        try:
            result = cookiecutter(
                str(TEMPLATE_DIR),
                no_input=True,
                extra_context=extra,
                output_dir=str(output_dir),
                overwrite_if_exists=force or existed_before,
                config_file=str(config_file),
            )
        except FailedHookException as exc:
            cleanup()
            message = error_file.read_text().strip() if error_file.exists() else str(exc)
            raise ScaffoldError(message) from exc
        except CookiecutterException as exc:
            cleanup()
            raise ScaffoldError(f"cookiecutter failed: {exc}") from exc
        except ValueError as exc:  # e.g. a value outside a choice variable's choices
            cleanup()
            raise ScaffoldError(f"invalid project settings: {exc}") from exc
        except Exception:
            cleanup()
            raise
        finally:
            if previous is None:
                os.environ.pop("LADDER_HOOK_ERROR_FILE", None)
            else:
                os.environ["LADDER_HOOK_ERROR_FILE"] = previous
    return Path(result)
