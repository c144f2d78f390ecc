"""Local drift check of new data against the baseline's statistics.json (and constraints.json next to it).

    python -m monitoring.drift --baseline build/baseline/statistics.json --data new.csv [--no-header]

The features and their types are the baseline's, which monitoring/baseline.py took from the data contract
(schema.json): a column the contract declares categorical is a String feature, whatever its values look like.
New data is read as text, so a category "01" stays "01"; an empty cell is a missing value.

- Numerical features: the L-infinity distance between the baseline distribution (the KLL sketch in
  statistics.json) and the new data's empirical distribution - the two-sample Kolmogorov-Smirnov statistic, the
  same kind of distance Model Monitor reports for distribution drift.
- Categorical features: Model Monitor's LInfinity method - the largest difference of a category's share between
  baseline and new data (a category the baseline never saw counts with share 0 there), so a complete shift to
  new categories has distance 1.
- A feature drifts when its distance exceeds the threshold (comparison_threshold / categorical_comparison_threshold
  of constraints.json); with the "Robust" method (the default, as in constraints.json) it must also exceed the KS
  critical value for the two sample sizes at 99% confidence, so small samples do not raise false alarms.
- Missing values: the share of missing values per column; a column is incomplete when its completeness (share
  present) is below the baseline's (constraints.json "completeness", Model Monitor's completeness_check).

This approximates, not reproduces, Model Monitor's rules (its analyzer is closed source).

This is a local report for people (`make drift`). The platform's retraining loop does not use it: Model Monitor's
own data-quality executions on the endpoint's captured requests, against the baseline the training pipeline
computes, end "CompletedWithViolations" and that event starts retraining - no person or project script in the
path (see the README, "Monitoring and retraining").

Exit status: 0 no drift, 1 drift or an incomplete column, 2 bad input. --output writes the report as JSON: per
feature its type, distance, limit, missing_share, baseline_missing_share; drifted_features, incomplete_features.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DRIFT_THRESHOLD = {{ cookiecutter.drift_threshold }}
KS_C_ALPHA = 1.628  # c(alpha) for alpha = 0.01


def baseline_samples(stats: dict) -> dict:
    """{feature name: sorted baseline values} for the numerical features of a statistics.json."""
    samples = {}
    for feature in stats["features"]:
        numerical = feature.get("numerical_statistics")
        if numerical and "distribution" in numerical:
            levels = numerical["distribution"]["kll"]["sketch"]["data"]
            samples[feature["name"]] = np.sort(np.concatenate([np.asarray(level, float) for level in levels]))
    return samples


def baseline_shares(stats: dict) -> dict:
    """{feature name: {category: share of the present values}} for the String features of a statistics.json."""
    shares = {}
    for feature in stats["features"]:
        strings = feature.get("string_statistics")
        if strings:
            buckets = strings["distribution"]["categorical"]["buckets"]
            total = sum(float(b["count"]) for b in buckets)
            shares[feature["name"]] = {str(b["value"]): float(b["count"]) / total for b in buckets} if total else {}
    return shares


def linf_categorical(baseline: dict, values: pd.Series) -> float:
    """max over categories of |share in the baseline - share in the new data| (Model Monitor's LInfinity)."""
    counts = values.astype(str).value_counts(normalize=True)
    return float(max(abs(baseline.get(k, 0.0) - float(counts.get(k, 0.0))) for k in set(baseline) | set(counts.index)))


def completeness(feature: dict) -> float:
    block = feature.get("numerical_statistics") or feature.get("string_statistics") or {}
    common = block.get("common", {})
    total = common.get("num_present", 0) + common.get("num_missing", 0)
    return common.get("num_present", 0) / total if total else 1.0


def linf_distance(baseline: np.ndarray, values: np.ndarray) -> float:
    """sup |F_baseline(x) - F_new(x)| over all observed x (two-sample KS statistic)."""
    values = np.sort(np.asarray(values, float))
    points = np.concatenate([baseline, values])
    f_base = np.searchsorted(baseline, points, side="right") / len(baseline)
    f_new = np.searchsorted(values, points, side="right") / len(values)
    return float(np.max(np.abs(f_base - f_new)))


def critical_value(n: int, m: int) -> float:
    return KS_C_ALPHA * math.sqrt((n + m) / (n * m))


def check(stats: dict, frame: pd.DataFrame, threshold: float = DRIFT_THRESHOLD, method: str = "Robust",
          categorical_threshold: float | None = None, required_completeness: dict | None = None) -> dict:
    """The drift report of ``frame`` (text or typed columns) against the baseline ``stats``."""
    samples, shares = baseline_samples(stats), baseline_shares(stats)
    names = [f["name"] for f in stats["features"] if f["name"] in samples or f["name"] in shares]
    if not names:
        raise ValueError("the baseline has no features to compare")
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ValueError(f"data lacks baseline feature column(s) {missing[:5]}")
    if not len(frame):
        raise ValueError("the data has no rows")
    categorical_threshold = threshold if categorical_threshold is None else categorical_threshold
    required = {f["name"]: completeness(f) for f in stats["features"]}
    required.update(required_completeness or {})
    features = {}
    for name in names:
        column = frame[name]
        text = column.astype("string").str.strip() if not pd.api.types.is_numeric_dtype(column) else None
        present = column[text.fillna("").ne("")] if text is not None else column.dropna()
        missing_share = 1.0 - len(present) / len(column)
        entry = {"type": "categorical" if name in shares else "numerical", "missing_share": missing_share,
                 "baseline_missing_share": 1.0 - required.get(name, 1.0)}
        if name in shares:
            values, limit_threshold = present.astype(str), categorical_threshold
            distance = linf_categorical(shares[name], values) if len(values) else 0.0
        else:
            values = pd.to_numeric(present, errors="coerce")
            if values.isna().any():
                raise ValueError(f"column {name!r} is numerical in the baseline but holds text such as "
                                 f"{present[values.isna()].iloc[0]!r}")
            values, limit_threshold = values.to_numpy(dtype=float), threshold
            distance = linf_distance(samples[name], values) if len(values) else 0.0
        base_n = len(samples[name]) if name in samples else _present(stats, name)
        limit = limit_threshold if method == "Simple" or not len(values) else \
            max(limit_threshold, critical_value(base_n, len(values)))
        entry.update({"distance": distance, "limit": limit, "drifted": distance > limit,
                      "incomplete": (1.0 - missing_share) < required.get(name, 1.0) - 1e-12})
        features[name] = entry
    drifted = [n for n in names if features[n]["drifted"]]
    incomplete = [n for n in names if features[n]["incomplete"]]
    return {"threshold": threshold, "categorical_threshold": categorical_threshold, "method": method,
            "item_count": int(len(frame)), "drifted": bool(drifted or incomplete), "drifted_features": drifted,
            "incomplete_features": incomplete, "features": features}


def _present(stats: dict, name: str) -> int:
    feature = next(f for f in stats["features"] if f["name"] == name)
    block = feature.get("numerical_statistics") or feature.get("string_statistics")
    return max(int(block["common"]["num_present"]), 1)


def read_data(path, names: list, header: bool = True) -> pd.DataFrame:
    """CSV with a header, or headerless (as captured at the endpoint) mapped by position; every cell as text
    (empty = missing), so categories keep their spelling."""
    if header:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    if frame.shape[1] != len(names):
        raise ValueError(f"expected {len(names)} columns without header (the baseline's {', '.join(names[:5])}"
                         f"{', ...' if len(names) > 5 else ''}), got {frame.shape[1]}")
    frame.columns = names
    return frame


def drift_score(report: dict) -> float:
    """What the platform's alarm compares with its threshold: the largest per-feature distance less the
    small-sample allowance of the method, so score > threshold <=> some feature drifted."""
    threshold = report["threshold"]
    return max(f["distance"] - (f.get("limit", threshold) - threshold) for f in report["features"].values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="statistics.json")
    parser.add_argument("--data", required=True, help="CSV of new data")
    parser.add_argument("--no-header", action="store_true", help="CSV without header, columns in baseline order")
    parser.add_argument("--threshold", type=float, default=None, help="default: constraints.json next to the "
                        f"baseline, else {DRIFT_THRESHOLD}")
    parser.add_argument("--method", choices=("Robust", "Simple"), default=None)
    parser.add_argument("--output", default=None, help="write the report here as JSON")
    args = parser.parse_args(argv)
    try:
        stats = json.loads(Path(args.baseline).read_text())
        threshold, method, categorical, required = DRIFT_THRESHOLD, "Robust", None, {}
        constraints_path = Path(args.baseline).with_name("constraints.json")
        if constraints_path.exists():
            constraints = json.loads(constraints_path.read_text())
            config = constraints["monitoring_config"]["distribution_constraints"]
            threshold, method = config["comparison_threshold"], config.get("comparison_method", "Robust")
            categorical = config.get("categorical_comparison_threshold")
            required = {f["name"]: float(f["completeness"]) for f in constraints.get("features", [])
                        if "completeness" in f}
        threshold = args.threshold if args.threshold is not None else threshold
        categorical = args.threshold if args.threshold is not None else categorical
        method = args.method or method
        frame = read_data(args.data, [f["name"] for f in stats["features"]], header=not args.no_header)
        report = check(stats, frame, threshold, method, categorical, required)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2))
    worst = max(report["features"].items(), key=lambda kv: kv[1]["distance"])
    print(f"drift check ({method}, threshold {threshold}): {len(report['drifted_features'])} of "
          f"{len(report['features'])} features drifted, {len(report['incomplete_features'])} incomplete; largest "
          f"distance {worst[1]['distance']:.3f} ({worst[0]})")
    for name in report["drifted_features"]:
        f = report["features"][name]
        print(f"  DRIFT {name} ({f['type']}): distance {f['distance']:.3f} > {f['limit']:.3f}")
    for name in report["incomplete_features"]:
        f = report["features"][name]
        print(f"  MISSING {name}: {f['missing_share']:.1%} missing, baseline {f['baseline_missing_share']:.1%}")
    return 1 if report["drifted"] else 0


if __name__ == "__main__":
    sys.exit(main())
