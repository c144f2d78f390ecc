"""The problem types the platform trains for (issue 15) and their quality-gate vocabulary: pure data the spec,
its checks, the pipeline definition, the monitors and the scaffold share (re-exported by :mod:`modules.spec`)."""

from __future__ import annotations

import re
from typing import Optional

# Quality-gate vocabulary per problem type (issue 15): metric -> its bound, "min" for higher-is-better metrics (the
# model registers when metric >= min), "max" for lower-is-better ones (metric <= max). Names are the evaluation
# report's (evaluation.json, Model Monitor's model-quality format; see MONITOR_METRICS for Model Monitor's own).
GATE_METRICS: dict[str, dict[str, str]] = {
    "binary": {"auc": "min", "accuracy": "min", "f1": "min", "precision": "min", "recall": "min", "log_loss": "max"},
    "multiclass": {"accuracy": "min", "f1_macro": "min", "f1_weighted": "min", "log_loss": "max"},
    "regression": {"r2": "min", "rmse": "max", "mae": "max", "mape": "max"},
}
PROBLEM_TYPES = tuple(GATE_METRICS)                # binary | multiclass | regression
METRICS = tuple(dict.fromkeys(m for v in GATE_METRICS.values() for m in v))  # every gate metric
# Allowed values of a bound: probabilities in [0, 1]; r2 at most 1 (it is 1 - SSE/SST, unbounded below); errors >= 0.
UNIT_METRICS = frozenset({"auc", "accuracy", "f1", "precision", "recall", "f1_macro", "f1_weighted"})
NON_NEGATIVE_METRICS = frozenset({"log_loss", "rmse", "mae", "mape"})
# Model Monitor's ProblemType (CreateModelQualityJobDefinition ModelQualityAppSpecification.ProblemType:
# BinaryClassification | MulticlassClassification | Regression).
MONITOR_PROBLEM_TYPES = {"binary": "BinaryClassification", "multiclass": "MulticlassClassification",
                         "regression": "Regression"}
# Gate metric -> the metric Model Monitor's model-quality job computes and publishes to CloudWatch under that name
# (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html: binary recall,
# precision, accuracy, auc, f1...; multiclass accuracy, weighted_recall, weighted_precision, weighted_f1...;
# regression mae, mse, rmse, r2). None: Model Monitor has no such metric (no alarm can watch it).
MONITOR_METRICS: dict[str, Optional[str]] = {
    "auc": "auc", "accuracy": "accuracy", "f1": "f1", "precision": "precision", "recall": "recall",
    "f1_weighted": "weighted_f1", "r2": "r2", "rmse": "rmse", "mae": "mae",
    "log_loss": None, "f1_macro": None, "mape": None,
}
# Column names of the data contract: rendered into the generated repository's schema.json through cookiecutter
# (which renders every answer as a Jinja template), so no template delimiters, quotes, backslashes or controls.
_COLUMN_FORBIDDEN = re.compile(r'["\\\x00-\x1f\x7f]|\{\{|\{%|\{#|\}\}|%\}|#\}')


def infer_problem_type(metric: str) -> str:
    """The problem type a gate metric implies: the first whose vocabulary has it (accuracy, log_loss -> binary)."""
    return next((t for t, vocab in GATE_METRICS.items() if metric in vocab), "binary")


def describe_vocabulary(problem_type: str) -> str:
    """``"r2 (min), rmse (max), ..."``: what a gate of this problem type may name, and with which bound."""
    return ", ".join(f"{m} ({b})" for m, b in GATE_METRICS[problem_type].items())
