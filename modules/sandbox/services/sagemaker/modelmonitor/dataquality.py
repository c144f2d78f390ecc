"""Data quality: Model Monitor's statistics, suggested constraints and constraint checks, in pure Python.

Formats (the prebuilt analyzer's, which the sandbox reads and writes):

* ``statistics.json`` - https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html:
  ``{"version": 0.0, "dataset": {"item_count"}, "features": [{"name", "inferred_type", "numerical_statistics":
  {"common": {"num_present", "num_missing"}, "mean", "sum", "std_dev", "min", "max", "distribution": {"kll":
  {"buckets": [10 x {"lower_bound", "upper_bound", "count"}], "sketch": {"parameters": {"c", "k"}, "data":
  [[...]]}}}}}` or ``"string_statistics": {"common", "distinct_count", "distribution": {"categorical":
  {"buckets": [{"value", "count"}]}}}``]}``. The sketch here keeps up to ``k`` = 2048 exact values in one level
  (more are reduced to 2048 evenly spaced order statistics); a real KLL sketch compacts with bounded rank error.
* ``constraints.json`` - https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-constraints.html:
  per feature ``inferred_type``, ``completeness``, ``num_constraints.is_non_negative``,
  ``string_constraints.domains``; ``monitoring_config`` with ``datatype_check_threshold``,
  ``domain_content_threshold``, ``distribution_constraints`` (``perform_comparison``, ``comparison_threshold``,
  ``comparison_method`` Simple/Robust, ``categorical_comparison_threshold``, ``categorical_drift_method``).
* ``constraint_violations.json`` - https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-interpreting-violations.html:
  ``{"violations": [{"feature_name", "constraint_check_type", "description"}]}`` with the check types
  data_type_check, completeness_check, baseline_drift_check, missing_column_check, extra_column_check,
  categorical_values_check.

Headerless CSV (what ``text/csv`` capture holds) gets the column names ``_c0``, ``_c1``, ... by position, as the
analyzer names them. Types follow Deequ's inference (the analyzer's engine): a value is Integral
(``[+-]?\\d+``), Fractional (decimal or exponent) or String; a column is String if any present value is, else
Fractional if any is, else Integral; all missing: Unknown.

Drift: numerical features - the L-infinity distance between the baseline's distribution (the sketch) and the
current values' empirical distribution (the two-sample Kolmogorov-Smirnov statistic); ``Robust`` flags it only
when it also exceeds the KS critical value at 99% confidence for the two sample sizes, ``Simple`` when it exceeds
``comparison_threshold``. Categorical (String) features - ``LInfinity``: the largest difference of a category's
share between baseline and current; ``ChiSquared``: the sandbox's reading, a chi-squared goodness-of-fit test of
the current counts against the baseline shares, flagged when its p-value is below the threshold. These rules
approximate, not reproduce, the analyzer (which is closed source).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import numpy as np
import pandas as pd

KLL_K = 2048
KLL_C = 0.64
BUCKETS = 10
DOMAIN_LIMIT = 20  # a String column with at most this many distinct values gets a domain constraint
KS_C_ALPHA = 1.628  # c(alpha) of the two-sample KS test for alpha = 0.01
INTEGRAL = r"[+-]? ?\d+"
FRACTIONAL = r"[+-]? ?(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)"
MONITORING_CONFIG = {
    "evaluate_constraints": "Enabled", "emit_metrics": "Enabled", "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": 0.1,
                                 "comparison_method": "Robust", "categorical_comparison_threshold": 0.1,
                                 "categorical_drift_method": "LInfinity"},
}


class AnalyzerError(ValueError):
    """Input the analyzer cannot use (the job fails with it)."""


# ---- reading ----------------------------------------------------------------------------------------------
def parse_csv(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


def frame_of(rows: list[list[str]], names: Optional[list[str]] = None) -> pd.DataFrame:
    """Rows of text values -> a frame of strings (None where a row is short or a value is empty)."""
    width = max((len(r) for r in rows), default=0)
    frame = pd.DataFrame(rows, columns=range(width), dtype=object) if rows else pd.DataFrame()
    frame = frame.where(frame.notna(), None)
    frame = frame.replace({"": None})
    frame.columns = list(names) + [f"_c{i}" for i in range(len(names), width)] if names else \
        [f"_c{i}" for i in range(width)]
    return frame


def read_dataset(dataset: Union[str, Path, pd.DataFrame, list], header: bool = False) -> pd.DataFrame:
    """A CSV file, a directory of CSV files (read in name order), CSV text, rows, or a frame."""
    if isinstance(dataset, pd.DataFrame):
        return frame_of([[None if pd.isna(v) else str(v) for v in row] for row in dataset.itertuples(index=False)],
                        [str(c) for c in dataset.columns] if header else None)
    if isinstance(dataset, list):
        return frame_of([[str(v) for v in row] for row in dataset])
    path = Path(dataset) if not (isinstance(dataset, str) and "\n" in dataset) else None
    if path is None:
        texts = [str(dataset)]
    elif path.is_dir():
        texts = [p.read_text() for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    elif path.is_file():
        texts = [path.read_text()]
    else:
        raise AnalyzerError(f"dataset {dataset} does not exist")
    rows: list[list[str]] = []
    names: Optional[list[str]] = None
    for text in texts:
        parsed = parse_csv(text)
        if header and parsed:
            names = names or parsed[0]
            parsed = parsed[1:]
        rows.extend(parsed)
    if not rows:
        raise AnalyzerError("the dataset has no records")
    return frame_of(rows, names)


# ---- statistics -------------------------------------------------------------------------------------------
def _kinds(values: pd.Series) -> tuple[int, int, int]:
    """(integral, fractional, string) counts among present values."""
    text = values.astype(str).str.strip()
    integral = text.str.fullmatch(INTEGRAL)
    fractional = ~integral & text.str.fullmatch(FRACTIONAL)
    return int(integral.sum()), int(fractional.sum()), int(len(text) - integral.sum() - fractional.sum())


def infer_type(values: pd.Series) -> str:
    present = values.dropna()
    if present.empty:
        return "Unknown"
    integral, fractional, string = _kinds(present)
    return "String" if string else "Fractional" if fractional else "Integral"


def _sketch(numbers: np.ndarray) -> list[list[float]]:
    ordered = np.sort(numbers)
    if len(ordered) > KLL_K:
        ordered = ordered[np.linspace(0, len(ordered) - 1, KLL_K).round().astype(int)]
    return [ordered.tolist()]


def _buckets(numbers: np.ndarray) -> list[dict[str, float]]:
    low, high = float(numbers.min()), float(numbers.max())
    edges = np.linspace(low, high, BUCKETS + 1) if high > low else np.array([low] * (BUCKETS + 1))
    counts = np.histogram(numbers, bins=edges)[0] if high > low else [len(numbers)] + [0] * (BUCKETS - 1)
    return [{"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(counts[i])}
            for i in range(BUCKETS)]


def feature_statistics(name: str, values: pd.Series, kind: Optional[str] = None) -> dict[str, Any]:
    kind = kind or infer_type(values)
    present = values.dropna()
    common = {"num_present": int(len(present)), "num_missing": int(len(values) - len(present))}
    feature: dict[str, Any] = {"name": name, "inferred_type": kind}
    if kind in ("Integral", "Fractional"):
        numbers = pd.to_numeric(present.astype(str).str.replace(" ", ""), errors="coerce").dropna().to_numpy(float)
        stats: dict[str, Any] = {"common": common}
        if len(numbers):
            stats.update({"mean": float(numbers.mean()), "sum": float(numbers.sum()),
                          "std_dev": float(numbers.std()), "min": float(numbers.min()), "max": float(numbers.max()),
                          "distribution": {"kll": {"buckets": _buckets(numbers), "sketch": {
                              "parameters": {"c": KLL_C, "k": float(KLL_K)}, "data": _sketch(numbers)}}}})
        feature["numerical_statistics"] = stats
    else:
        counts = present.astype(str).value_counts(sort=True)
        feature["string_statistics"] = {"common": common, "distinct_count": float(len(counts)), "distribution": {
            "categorical": {"buckets": [{"value": str(v), "count": float(c)} for v, c in counts.items()]}}}
    return feature


def statistics(frame: pd.DataFrame, kinds: Optional[dict[str, str]] = None) -> dict[str, Any]:
    """statistics.json of a frame (``kinds`` forces a column's type, e.g. the baseline's)."""
    kinds = kinds or {}
    return {"version": 0.0, "dataset": {"item_count": int(len(frame))},
            "features": [feature_statistics(str(c), frame[c], kinds.get(str(c))) for c in frame.columns]}


def suggest_constraints(stats: dict[str, Any]) -> dict[str, Any]:
    """constraints.json suggested from baseline statistics (what the baselining job writes)."""
    features = []
    for f in stats["features"]:
        section = f.get("numerical_statistics") or f.get("string_statistics") or {}
        common = section.get("common", {})
        total = common.get("num_present", 0) + common.get("num_missing", 0)
        item: dict[str, Any] = {"name": f["name"], "inferred_type": f["inferred_type"],
                                "completeness": (common.get("num_present", 0) / total) if total else 0.0}
        if "numerical_statistics" in f and "min" in section:
            item["num_constraints"] = {"is_non_negative": section["min"] >= 0}
        if "string_statistics" in f:
            values = [b["value"] for b in section["distribution"]["categorical"]["buckets"]]
            if 0 < len(values) <= DOMAIN_LIMIT:
                item["string_constraints"] = {"domains": sorted(values)}
        features.append(item)
    return {"version": 0.0, "features": features, "monitoring_config": json_copy(MONITORING_CONFIG)}


def json_copy(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


def suggest_baseline(dataset: Union[str, Path, pd.DataFrame, list], header: bool = False
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(statistics.json, constraints.json) of a baseline dataset, as the analyzer's baselining job writes them.

    ``header=False`` (default): headerless CSV, columns named ``_c0..`` by position - the same names the monitor
    gives headerless ``text/csv`` capture, so a baseline of the training split without its label column, in the
    capture's column order, matches what the monitoring job sees."""
    stats = statistics(read_dataset(dataset, header))
    return stats, suggest_constraints(stats)


# ---- checks ---------------------------------------------------------------------------------------------
def sketch_values(feature: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted values, weights) of a KLL sketch: an item of level h stands for 2**h values (KLL compaction)."""
    sketch = ((feature.get("numerical_statistics") or {}).get("distribution") or {}).get("kll", {}).get("sketch", {})
    levels = [np.asarray(level, float) for level in sketch.get("data") or []]
    if not levels or not sum(len(level) for level in levels):
        return np.array([]), np.array([])
    values = np.concatenate(levels)
    weights = np.concatenate([np.full(len(level), 2.0 ** h) for h, level in enumerate(levels)])
    order = np.argsort(values, kind="mergesort")
    return values[order], weights[order]


def linf_numeric(baseline: np.ndarray, values: np.ndarray, weights: Optional[np.ndarray] = None) -> float:
    """sup |F_baseline(x) - F_current(x)| (the two-sample KS statistic; the baseline's CDF from its weighted sketch)."""
    values = np.sort(values)
    weights = np.ones(len(baseline)) if weights is None else weights
    cdf = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    points = np.concatenate([baseline, values])
    f_base = cdf[np.searchsorted(baseline, points, side="right")]
    f_new = np.searchsorted(values, points, side="right") / len(values)
    return float(np.max(np.abs(f_base - f_new)))


def categorical_shares(feature: dict[str, Any]) -> dict[str, float]:
    buckets = (((feature.get("string_statistics") or {}).get("distribution") or {}).get("categorical") or {}).get(
        "buckets") or []
    total = sum(b["count"] for b in buckets)
    return {str(b["value"]): b["count"] / total for b in buckets} if total else {}


def _pct(x: float) -> str:
    return f"{x * 100:.10g}%"


def violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def check(frame: pd.DataFrame, baseline_stats: dict[str, Any], constraints: dict[str, Any]
          ) -> tuple[dict[str, Any], list[dict[str, str]], dict[str, float]]:
    """(statistics.json of the current data, violations, {feature: baseline drift distance})."""
    config = {**MONITORING_CONFIG, **(constraints.get("monitoring_config") or {})}
    dist_cfg = {**MONITORING_CONFIG["distribution_constraints"], **(config.get("distribution_constraints") or {})}
    wanted = [f["name"] for f in constraints.get("features", [])] or [f["name"] for f in baseline_stats["features"]]
    by_stats = {f["name"]: f for f in baseline_stats.get("features", [])}
    by_constraint = {f["name"]: f for f in constraints.get("features", [])}
    current = statistics(frame)
    now = {f["name"]: f for f in current["features"]}
    violations: list[dict[str, str]] = []
    distances: dict[str, float] = {}
    extra = [c for c in now if c not in wanted]
    missing = [c for c in wanted if c not in now]
    for name in missing:
        violations.append(violation(name, "missing_column_check", (
            f"There are missing columns in current dataset. Number of columns in current dataset: {len(now)}, "
            f"Number of columns in baseline constraints: {len(wanted)}")))
    for name in extra:
        violations.append(violation(name, "extra_column_check", (
            f"There are extra columns in current dataset. Number of columns in current dataset: {len(now)}, "
            f"Number of columns in baseline constraints: {len(wanted)}")))
    if config.get("evaluate_constraints", "Enabled") != "Enabled":
        return current, violations, distances
    for name in (n for n in wanted if n in now):
        spec, base, values = by_constraint.get(name, {}), by_stats.get(name, {}), frame[name]
        expected = spec.get("inferred_type") or base.get("inferred_type") or "Unknown"
        present = values.dropna()
        overrides = spec.get("monitoringConfigOverrides") or {}
        # data type: the share of present values of the expected type (an Integral value is also Fractional)
        if expected in ("Integral", "Fractional") and len(present):
            integral, fractional, _ = _kinds(present)
            matched = integral + (fractional if expected == "Fractional" else 0)
            share = matched / len(present)
            threshold = float(overrides.get("datatype_check_threshold", config["datatype_check_threshold"]))
            if share < threshold:
                violations.append(violation(name, "data_type_check", (
                    f"Data type match requirement is not met. Expected data type: {expected}, Expected match: "
                    f"{_pct(threshold)}. Observed: Only {_pct(share)} of data is {expected}.")))
        # completeness: the share of non-missing values, at least the baseline's
        if "completeness" in spec and len(values):
            observed = len(present) / len(values)
            if observed < float(spec["completeness"]) - 1e-12:
                violations.append(violation(name, "completeness_check", (
                    f"Data completeness requirement is not met. Expected: {_pct(float(spec['completeness']))} of "
                    f"data is expected to be complete. Observed: Only {_pct(observed)} of data is complete.")))
        domains = (spec.get("string_constraints") or {}).get("domains")
        if domains and len(present):
            share = float(present.astype(str).isin(set(map(str, domains))).mean())
            threshold = float(overrides.get("domain_content_threshold", config["domain_content_threshold"]))
            if share < threshold:
                violations.append(violation(name, "categorical_values_check", (
                    f"Categorical value requirement is not met. Expected: {_pct(threshold)} of data is expected to "
                    f"be in the baseline domain {sorted(map(str, domains))[:10]}. Observed: only {_pct(share)} is.")))
        if dist_cfg.get("perform_comparison", "Enabled") != "Enabled" or not len(present):
            continue
        if expected in ("Integral", "Fractional") and base.get("numerical_statistics"):
            baseline_values, weights = sketch_values(base)
            numbers = pd.to_numeric(present.astype(str).str.replace(" ", ""), errors="coerce").dropna().to_numpy(float)
            if not len(baseline_values) or not len(numbers):
                continue
            distance = linf_numeric(baseline_values, numbers, weights)
            threshold = float(overrides.get("comparison_threshold", dist_cfg["comparison_threshold"]))
            limit = threshold
            if dist_cfg.get("comparison_method", "Robust") == "Robust":
                n = int(((base["numerical_statistics"].get("common") or {}).get("num_present")) or weights.sum())
                m = len(numbers)
                limit = max(threshold, KS_C_ALPHA * math.sqrt((n + m) / (n * m)))
            distances[name] = distance
            if distance > limit:
                violations.append(violation(name, "baseline_drift_check",
                                            f"Baseline drift distance: {distance} exceeds threshold: {threshold}"))
        elif base.get("string_statistics"):
            shares = categorical_shares(base)
            counts = present.astype(str).value_counts()
            if not shares:
                continue
            method = dist_cfg.get("categorical_drift_method", "LInfinity")
            threshold = float(overrides.get("categorical_comparison_threshold",
                                            dist_cfg.get("categorical_comparison_threshold", 0.1)))
            if method == "ChiSquared":
                distance, drifted = _chi_squared(shares, counts, threshold)
            else:
                total = counts.sum()
                keys = set(shares) | set(counts.index)
                distance = max(abs(shares.get(k, 0.0) - counts.get(k, 0) / total) for k in keys)
                drifted = distance > threshold
            distances[name] = float(distance)
            if drifted:
                violations.append(violation(name, "baseline_drift_check",
                                            f"Baseline drift distance: {distance} exceeds threshold: {threshold}"))
    return current, violations, distances


def _chi_squared(shares: dict[str, float], counts: pd.Series, threshold: float) -> tuple[float, bool]:
    from scipy.stats import chisquare

    keys = sorted(set(shares) | set(counts.index))
    total = float(counts.sum())
    eps = 0.5 / max(total, 1.0)  # a category unseen in the baseline gets a small expected share
    expected = np.array([max(shares.get(k, 0.0), eps) for k in keys])
    expected = expected / expected.sum() * total
    observed = np.array([float(counts.get(k, 0)) for k in keys])
    p_value = float(chisquare(observed, expected).pvalue)
    return 1.0 - p_value, p_value < threshold


# ---- CloudWatch metrics ---------------------------------------------------------------------------------
def metric_data(current: dict[str, Any], distances: dict[str, float], dimensions: list[dict[str, str]],
                timestamp: str) -> list[dict[str, Any]]:
    """The per-feature metrics the analyzer emits (model-monitor-interpreting-cloudwatch.html):
    ``feature_data_<f>`` (numerical: statistic set of the values), ``feature_non_null_<f>`` / ``feature_null_<f>``
    (counts), ``feature_completeness_<f>`` (share present) and ``feature_baseline_drift_<f>`` (the distance)."""
    data: list[dict[str, Any]] = []

    def put(name: str, **value: Any) -> None:
        data.append({"MetricName": name[:255], "Timestamp": timestamp, "Dimensions": dimensions, **value})

    for f in current["features"]:
        name = f["name"]
        section = f.get("numerical_statistics") or f.get("string_statistics") or {}
        common = section.get("common", {})
        present, missing = common.get("num_present", 0), common.get("num_missing", 0)
        if f.get("numerical_statistics") and "min" in section:
            put(f"feature_data_{name}", StatisticValues={"SampleCount": float(present), "Sum": section["sum"],
                                                         "Minimum": section["min"], "Maximum": section["max"]})
        put(f"feature_non_null_{name}", Value=float(present), Unit="Count")
        put(f"feature_null_{name}", Value=float(missing), Unit="Count")
        if present + missing:
            put(f"feature_completeness_{name}", Value=present / (present + missing), Unit="None")
        if name in distances:
            put(f"feature_baseline_drift_{name}", Value=float(distances[name]), Unit="None")
    return data


def all_rows(chunks: Iterable[list[list[str]]]) -> list[list[str]]:
    return [row for chunk in chunks for row in chunk]
