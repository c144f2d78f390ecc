"""Validate the cookiecutter context before anything is generated.

Exits 1 with one clear message per problem. The same message is also written to the file named by the
LADDER_HOOK_ERROR_FILE environment variable when it is set, so `modules/scaffold.py` can report it
(cookiecutter itself only reports "Hook script failed").
"""

import json
import os
import re
import sys

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
# problem type -> metric -> the bound that fits it: "min" for higher-is-better, "max" for lower-is-better (the
# platform spec's vocabulary, modules/spec.py)
METRICS = {
    "binary": {"auc": "min", "accuracy": "min", "f1": "min", "precision": "min", "recall": "min", "log_loss": "max"},
    "multiclass": {"accuracy": "min", "f1_macro": "min", "f1_weighted": "min", "log_loss": "max"},
    "regression": {"r2": "min", "rmse": "max", "mae": "max", "mape": "max"},
}
UNIT_METRICS = {"auc", "accuracy", "f1", "precision", "recall", "f1_macro", "f1_weighted"}  # values in [0, 1]
FRAMEWORKS = ("sklearn", "xgboost")
VERSION_RE = re.compile(r"^\d+\.\d+$")
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
    _gate(ctx, errors)
    _data(ctx, errors)
    if not VERSION_RE.match(ctx["xgboost_version"]):
        errors.append(f"xgboost_version must be a minor version such as '3.2', got {ctx['xgboost_version']!r}")
    _unit_float("drift_threshold", ctx["drift_threshold"], errors)
    return errors


def _gate(ctx, errors):
    problem, metric, bound = ctx["problem_type"], ctx["quality_gate_metric"], ctx["quality_gate_bound"]
    if problem not in METRICS:
        errors.append(f"problem_type must be one of {', '.join(METRICS)}, got {problem!r}")
        return
    if metric not in METRICS[problem]:
        errors.append(f"quality_gate_metric {metric!r} does not fit problem_type {problem!r}: use one of "
                      f"{', '.join(METRICS[problem])}")
        return
    if bound != METRICS[problem][metric]:
        side = "higher is better" if METRICS[problem][metric] == "min" else "lower is better"
        errors.append(f"quality_gate_bound must be {METRICS[problem][metric]!r} for {metric} ({side}), got {bound!r}")
    raw = ctx["quality_gate_threshold"]
    try:
        value = float(raw)
    except ValueError:
        errors.append(f"quality_gate_threshold must be a number, got {raw!r}")
        return
    if value != value or value in (float("inf"), float("-inf")):
        errors.append(f"quality_gate_threshold must be a finite number, got {raw!r}")
    elif metric in UNIT_METRICS and not 0.0 <= value <= 1.0:
        errors.append(f"quality_gate_threshold for {metric} must be in [0, 1], got {raw!r}")
    elif metric == "r2" and value > 1.0:
        errors.append(f"quality_gate_threshold for r2 must be at most 1, got {raw!r}")
    elif metric not in UNIT_METRICS and metric != "r2" and value < 0.0:
        errors.append(f"quality_gate_threshold for {metric} must be at least 0, got {raw!r}")


def _name_list(name, raw, errors):
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(f"{name} must be a JSON list of column names (e.g. '[\"plan\", \"region\"]'), got {raw!r}")
        return []
    duplicates = sorted({v for v in value if value.count(v) > 1})
    if duplicates:
        errors.append(f"{name} lists {duplicates} more than once")
    return value


def _data(ctx, errors):
    label = ctx["data_label"]
    if not label.strip():
        errors.append("data_label must name the label column, got an empty name")
    categorical = _name_list("data_categorical", ctx["data_categorical"], errors)
    drop = _name_list("data_drop", ctx["data_drop"], errors)
    if label in categorical or label in drop:
        errors.append(f"data_label {label!r} is also listed in data_categorical or data_drop")
    both = sorted(set(categorical) & set(drop))
    if both:
        errors.append(f"column(s) {both} are in both data_categorical and data_drop")


def main():
    ctx = {
        "project_slug": "{{ cookiecutter.project_slug }}",
        "maturity_level": "{{ cookiecutter.maturity_level }}",
        "framework": "{{ cookiecutter.framework }}",
        "environment": "{{ cookiecutter.environment }}",
        "aws_region": "{{ cookiecutter.aws_region }}",
        "github_repository": "{{ cookiecutter.github_repository }}",
        "problem_type": "{{ cookiecutter.problem_type }}",
        "quality_gate_metric": "{{ cookiecutter.quality_gate_metric }}",
        "quality_gate_bound": "{{ cookiecutter.quality_gate_bound }}",
        "quality_gate_threshold": {{ cookiecutter.quality_gate_threshold | tojson }},
        # free text: rendered as JSON string literals (valid Python), whatever quotes the names hold
        "data_label": {{ cookiecutter.data_label | tojson }},
        "data_categorical": {{ cookiecutter.data_categorical | tojson }},
        "data_drop": {{ cookiecutter.data_drop | tojson }},
        "xgboost_version": "{{ cookiecutter.xgboost_version }}",
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
