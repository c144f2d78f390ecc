"""Model quality: captured predictions merged with ground truth, the problem type's metrics, their constraints.

Metrics and their JSON (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html):
``binary_classification_metrics`` - confusion_matrix (actual -> predicted -> count), recall, precision, accuracy,
true/false positive/negative rates, auc, au_prc, f0_5, f1, f2 and the ``*_best_constant_classifier`` values (the
classifier that always predicts the positive class, as the documented example's numbers show);
``multiclass_classification_metrics`` - accuracy and weighted recall/precision/f0_5/f1/f2 (the best-constant
variants are not computed); ``regression_metrics`` - mae, mse, rmse, r2. Each metric is ``{"value",
"standard_deviation"}``; the deviation is that of the metric over 5 random 80% samples when there are at least 200
records (as documented), else "NaN".

Merge: a captured record and a ground-truth record belong together when the ground truth's ``eventId`` is the
capture's ``inferenceId`` (if the caller set one) or ``eventId``; a request of n rows needs n ground-truth values
(one per CSV line). Records without ground truth are not evaluated. Predictions are located in the captured output by
``inference_attribute`` / ``probability_attribute``: a CSV column index, or for JSON a JSONPath (``$.a[0].b``,
``$.predictions[*].score`` for one value per input row); with a probability, the label is ``probability >=
probability_threshold_attribute`` (default 0.5).

Constraints (what a model-quality baselining job suggests): ``<problem>_constraints`` maps each metric to
``{"threshold": <baseline value>, "comparison_operator": "LessThanThreshold"}`` for metrics where larger is better
(``GreaterThanThreshold`` for error rates and regression errors); a monitoring run violates a metric whose value
compares so against the threshold. CloudWatch: every scalar metric, by its name, in
``aws/sagemaker/Endpoints/model-metrics`` (dimensions Endpoint, MonitoringSchedule).
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import numpy as np

from .dataquality import AnalyzerError

PROBLEMS = {"BinaryClassification": "binary_classification", "MulticlassClassification": "multiclass_classification",
            "Regression": "regression"}
LOWER_IS_BETTER = {"false_positive_rate", "false_negative_rate", "mae", "mse", "rmse"}
NAMESPACE = "aws/sagemaker/Endpoints/model-metrics"


def _attribute(row: list[str], attribute: Optional[str]) -> str:
    """A value of a prediction row: a CSV index ("0"), a JSON key, or the first value."""
    if attribute in (None, ""):
        return row[0]
    if str(attribute).isdigit():
        index = int(attribute)
        if index >= len(row):
            raise AnalyzerError(f"attribute index {attribute} is outside the prediction ({len(row)} values)")
        return row[index]
    for value in row:  # JSON object rows were flattened; a keyed attribute needs the object
        try:
            doc = json.loads(value)
        except ValueError:
            continue
        if isinstance(doc, dict) and attribute.lstrip("$.") in doc:
            return str(doc[attribute.lstrip("$.")])
    raise AnalyzerError(f"attribute {attribute!r} is not in the prediction")


def jsonpath(doc: Any, path: str) -> Any:
    """A small JSONPath: ``$.a.b[0].c``, ``[*]`` over a list (a list of results), a bare key (``score``)."""
    import re

    current: list[Any] = [doc]
    spread = False
    for name, index in re.findall(r"\.?([^.\[\]]+)|\[(\*|\d+)\]", path.strip().lstrip("$")):
        nxt: list[Any] = []
        for item in current:
            if name:
                if isinstance(item, dict) and name in item:
                    nxt.append(item[name])
            elif index == "*":
                spread = True
                nxt.extend(item if isinstance(item, list) else [])
            elif isinstance(item, list) and int(index) < len(item):
                nxt.append(item[int(index)])
        current = nxt
    if not current:
        raise AnalyzerError(f"attribute {path!r} is not in the prediction")
    return current if spread or len(current) > 1 else current[0]


def record_values(ctype: str, text: str, n: int, attribute: Optional[str]) -> list[str]:
    """One prediction value per input row of a captured output, located by ``attribute`` (CSV index or JSONPath)."""
    from .capture import rows_of

    if "json" in ctype and attribute not in (None, "") and not str(attribute).isdigit():
        try:
            found = jsonpath(json.loads(text), str(attribute))
        except ValueError:
            raise AnalyzerError("a captured JSON output is not JSON") from None
        values = found if isinstance(found, list) else [found]
    else:
        rows = rows_of({"observedContentType": ctype, "data": text, "encoding": "CSV"})
        if len(rows) == 1 and n > 1 and len(rows[0]) == n:
            rows = [[v] for v in rows[0]]
        values = [_attribute(r, attribute) for r in rows]
    return [str(v) for v in values]


def merge_records(records, labels: dict[str, list[str]], *, inference_attribute: Optional[str],
                  probability_attribute: Optional[str]) -> tuple[list[str], list[Optional[str]], list[str]]:
    """(predicted, probabilities or None, ground truth) of the captured rows that have ground truth, from
    :func:`.capture.outputs` records."""
    predicted: list[str] = []
    probabilities: list[Optional[str]] = []
    actual: list[str] = []
    for event, n, ctype, text in records:
        truth = labels.get(event)
        if not truth:
            continue
        probs = record_values(ctype, text, n, probability_attribute) if probability_attribute not in (None, "") \
            else None
        preds = record_values(ctype, text, n, inference_attribute) if inference_attribute not in (None, "") or \
            probs is None else [""] * len(probs)
        for k in range(min(len(truth), len(preds))):
            predicted.append(preds[k])
            probabilities.append(probs[k] if probs is not None and k < len(probs) else None)
            actual.append(truth[k])
    return predicted, probabilities, actual


def _m(value: float, std: Any = "NaN") -> dict[str, Any]:
    return {"value": float(value) if not isinstance(value, float) or not math.isnan(value) else "NaN",
            "standard_deviation": std}


def _div(a: float, b: float) -> float:
    return a / b if b else 0.0


def _fbeta(p: float, r: float, beta: float) -> float:
    return _div((1 + beta * beta) * p * r, beta * beta * p + r)


def _binary_core(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    tp = float(((y == 1) & (pred == 1)).sum())
    tn = float(((y == 0) & (pred == 0)).sum())
    fp = float(((y == 0) & (pred == 1)).sum())
    fn = float(((y == 1) & (pred == 0)).sum())
    precision, recall = _div(tp, tp + fp), _div(tp, tp + fn)
    return {"recall": recall, "precision": precision, "accuracy": _div(tp + tn, len(y)),
            "true_positive_rate": recall, "true_negative_rate": _div(tn, tn + fp),
            "false_positive_rate": _div(fp, fp + tn), "false_negative_rate": _div(fn, fn + tp),
            "f0_5": _fbeta(precision, recall, 0.5), "f1": _fbeta(precision, recall, 1.0),
            "f2": _fbeta(precision, recall, 2.0)}


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    pos, neg = score[y == 1], score[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _au_prc(y: np.ndarray, score: np.ndarray) -> float:
    if not (y == 1).any():
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    hits = (y[order] == 1).astype(float)
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision_at * hits).sum() / hits.sum())


def binary_metrics(actual: list[str], predicted: list[str], probabilities: list[Optional[str]],
                   threshold: float = 0.5) -> dict[str, Any]:
    y = np.array([_label01(a) for a in actual])
    if probabilities and probabilities[0] is not None:
        score = np.array([float(p) for p in probabilities])
        pred = (score >= threshold).astype(int)
    else:
        pred = np.array([_label01(p) for p in predicted])
        score = pred.astype(float)

    def compute(idx: np.ndarray) -> dict[str, float]:
        core = _binary_core(y[idx], pred[idx])
        core["auc"], core["au_prc"] = _auc(y[idx], score[idx]), _au_prc(y[idx], score[idx])
        return core

    values = compute(np.arange(len(y)))
    stds = _stds(len(y), compute)
    out: dict[str, Any] = {"confusion_matrix": {
        str(a): {str(p): int(((y == a) & (pred == p)).sum()) for p in (0, 1)} for a in (0, 1)}}
    out.update({k: _m(v, stds.get(k, "NaN")) for k, v in values.items()})
    constant = _binary_core(y, np.ones_like(y))
    for key in ("recall", "precision", "accuracy", "f0_5", "f1", "f2"):
        out[f"{key}_best_constant_classifier"] = _m(constant[key])
    return out


def _label01(value: str) -> int:
    text = str(value).strip().lower()
    if text in ("1", "1.0", "true", "yes"):
        return 1
    if text in ("0", "0.0", "false", "no"):
        return 0
    raise AnalyzerError(f"binary classification label {value!r} is not 0/1")


def _stds(n: int, compute) -> dict[str, Any]:
    if n < 200:
        return {}
    rng = np.random.default_rng(0)
    samples = [compute(rng.choice(n, int(n * 0.8), replace=False)) for _ in range(5)]
    return {k: float(np.nanstd([s[k] for s in samples])) for k in samples[0]}


def multiclass_metrics(actual: list[str], predicted: list[str]) -> dict[str, Any]:
    y, pred = np.array([str(a).strip() for a in actual]), np.array([str(p).strip() for p in predicted])
    classes = sorted(set(y) | set(pred))

    def compute(idx: np.ndarray) -> dict[str, float]:
        yy, pp = y[idx], pred[idx]
        out = {"accuracy": float((yy == pp).mean()) if len(yy) else 0.0}
        weights = {c: float((yy == c).sum()) for c in classes}
        total = sum(weights.values()) or 1.0
        per = {}
        for c in classes:
            tp = float(((yy == c) & (pp == c)).sum())
            precision, recall = _div(tp, float((pp == c).sum())), _div(tp, float((yy == c).sum()))
            per[c] = (precision, recall)
        out["weighted_recall"] = sum(weights[c] * per[c][1] for c in classes) / total
        out["weighted_precision"] = sum(weights[c] * per[c][0] for c in classes) / total
        for beta, key in ((0.5, "weighted_f0_5"), (1.0, "weighted_f1"), (2.0, "weighted_f2")):
            out[key] = sum(weights[c] * _fbeta(*per[c], beta) for c in classes) / total
        return out

    values, stds = compute(np.arange(len(y))), _stds(len(y), compute)
    matrix = {a: {p: int(((y == a) & (pred == p)).sum()) for p in classes} for a in classes}
    return {"confusion_matrix": matrix, **{k: _m(v, stds.get(k, "NaN")) for k, v in values.items()}}


def regression_metrics(actual: list[str], predicted: list[str]) -> dict[str, Any]:
    y, pred = np.array([float(a) for a in actual]), np.array([float(p) for p in predicted])

    def compute(idx: np.ndarray) -> dict[str, float]:
        err = y[idx] - pred[idx]
        mse = float((err ** 2).mean())
        var = float(((y[idx] - y[idx].mean()) ** 2).sum())
        return {"mae": float(np.abs(err).mean()), "mse": mse, "rmse": math.sqrt(mse),
                "r2": 1.0 - float((err ** 2).sum()) / var if var else 0.0}

    values, stds = compute(np.arange(len(y))), _stds(len(y), compute)
    return {k: _m(v, stds.get(k, "NaN")) for k, v in values.items()}


def statistics(problem_type: str, actual: list[str], predicted: list[str], probabilities: list[Optional[str]],
               threshold: float = 0.5, evaluation_time: str = "") -> dict[str, Any]:
    if problem_type not in PROBLEMS:
        raise AnalyzerError(f"problem_type {problem_type!r}: one of {', '.join(PROBLEMS)}")
    if not actual:
        raise AnalyzerError("no captured record has ground truth (merged by eventId/inferenceId)")
    if problem_type == "BinaryClassification":
        section = binary_metrics(actual, predicted, probabilities, threshold)
    elif problem_type == "MulticlassClassification":
        section = multiclass_metrics(actual, predicted)
    else:
        section = regression_metrics(actual, predicted)
    return {"version": 0.0, "dataset": {"item_count": len(actual), "evaluation_time": evaluation_time},
            f"{PROBLEMS[problem_type]}_metrics": section}


def suggest_constraints(stats: dict[str, Any]) -> dict[str, Any]:
    key = next(k for k in stats if k.endswith("_metrics"))
    constraints = {}
    for name, metric in stats[key].items():
        if isinstance(metric, dict) and "value" in metric and not name.endswith("_best_constant_classifier") \
                and metric["value"] != "NaN":
            constraints[name] = {"threshold": metric["value"], "comparison_operator":
                                 "GreaterThanThreshold" if name in LOWER_IS_BETTER else "LessThanThreshold"}
    return {"version": 0.0, key.replace("_metrics", "_constraints"): constraints}


def check(stats: dict[str, Any], constraints: dict[str, Any]) -> list[dict[str, Any]]:
    key = next(k for k in stats if k.endswith("_metrics"))
    wanted = constraints.get(key.replace("_metrics", "_constraints")) or {}
    violations = []
    for name, rule in wanted.items():
        metric = stats[key].get(name)
        if not isinstance(metric, dict) or metric.get("value") == "NaN":
            continue
        value, threshold, op = float(metric["value"]), float(rule["threshold"]), rule.get("comparison_operator")
        broken = value < threshold if op == "LessThanThreshold" else value > threshold if op == \
            "GreaterThanThreshold" else False
        if broken:
            violations.append({"constraint_check_type": op, "metric_name": name,
                               "description": f"Metric {name} with {value} was {op} '{threshold}'"})
    return violations


def metric_data(stats: dict[str, Any], dimensions: list[dict[str, str]], timestamp: str) -> list[dict[str, Any]]:
    key = next(k for k in stats if k.endswith("_metrics"))
    return [{"MetricName": name, "Timestamp": timestamp, "Dimensions": dimensions, "Value": float(m["value"]),
             "Unit": "None"}
            for name, m in stats[key].items() if isinstance(m, dict) and "value" in m and m["value"] != "NaN"]
