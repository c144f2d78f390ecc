"""Validate the cookiecutter context before anything is generated.

Exits 1 with one clear message per problem. The same message is also written to the file named by the
LADDER_HOOK_ERROR_FILE environment variable when it is set, so `modules/scaffold.py` can report it
(cookiecutter itself only reports "Hook script failed").
"""

import os
import re
import sys

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
METRICS = ("auc", "accuracy", "f1", "precision", "recall")
FRAMEWORKS = ("sklearn",)
ENV_RE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _unit_float(name, raw, errors):
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"{name} must be a number in [0, 1], got {raw!r}")
        return
    if not 0.0 <= value <= 1.0:
        errors.append(f"{name} must be in [0, 1], got {raw!r}")


def validate(ctx):
    errors = []
    slug = ctx["project_slug"]
    if not SLUG_RE.match(slug) or "--" in slug:
        errors.append(
            f"project_slug {slug!r} is not DNS-safe: use 2-40 characters, lowercase letters, digits and "
            "single hyphens, starting with a letter and not ending with a hyphen (e.g. 'churn-model')"
        )
    level = str(ctx["maturity_level"]).strip()
    if level not in ("0", "1", "2", "3", "4"):
        errors.append(f"maturity_level must be one of 0, 1, 2, 3, 4, got {level!r}")
    if ctx["framework"] not in FRAMEWORKS:
        errors.append(f"framework must be one of {', '.join(FRAMEWORKS)}, got {ctx['framework']!r}")
    if not ENV_RE.match(ctx["environment"]):
        errors.append(f"environment must be a short lowercase name such as 'dev', got {ctx['environment']!r}")
    if not REGION_RE.match(ctx["aws_region"]):
        errors.append(f"aws_region must look like 'us-east-1', got {ctx['aws_region']!r}")
    if not REPO_RE.match(ctx["github_repository"]):
        errors.append(f"github_repository must be 'owner/name', got {ctx['github_repository']!r}")
    if ctx["quality_gate_metric"] not in METRICS:
        errors.append(f"quality_gate_metric must be one of {', '.join(METRICS)}, got {ctx['quality_gate_metric']!r}")
    _unit_float("quality_gate_min", ctx["quality_gate_min"], errors)
    _unit_float("drift_threshold", ctx["drift_threshold"], errors)
    return errors


def main():
    ctx = {
        "project_slug": "{{ cookiecutter.project_slug }}",
        "maturity_level": "{{ cookiecutter.maturity_level }}",
        "framework": "{{ cookiecutter.framework }}",
        "environment": "{{ cookiecutter.environment }}",
        "aws_region": "{{ cookiecutter.aws_region }}",
        "github_repository": "{{ cookiecutter.github_repository }}",
        "quality_gate_metric": "{{ cookiecutter.quality_gate_metric }}",
        "quality_gate_min": "{{ cookiecutter.quality_gate_min }}",
        "drift_threshold": "{{ cookiecutter.drift_threshold }}",
    }
    errors = validate(ctx)
    if errors:
        message = "invalid project settings:\n" + "\n".join(f"  - {e}" for e in errors)
        print(f"ERROR: {message}", file=sys.stderr)
        error_file = os.environ.get("LADDER_HOOK_ERROR_FILE")
        if error_file:
            with open(error_file, "w", encoding="utf-8") as fh:
                fh.write(message)
        sys.exit(1)


if __name__ == "__main__":
    main()
