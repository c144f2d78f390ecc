"""Local drift check of new data against the baseline's statistics.json.

    python -m monitoring.drift --baseline build/baseline/statistics.json --data new.csv [--no-header]

For each numerical feature the distance is the L-infinity distance between the baseline distribution
(the KLL sketch in statistics.json) and the new data's empirical distribution - the two-sample
Kolmogorov-Smirnov statistic, the same kind of distance Model Monitor reports for distribution drift.
A feature drifts when its distance exceeds the threshold; with the "Robust" method (the default, as in
constraints.json) it must also exceed the KS critical value for the two sample sizes at 99% confidence,
so small samples do not raise false alarms. This approximates, not reproduces, Model Monitor's rule.

This is a local report for people (`make drift`). The platform's retraining loop does not use it: Model Monitor's
own data-quality executions on the endpoint's captured requests, against the baseline the training pipeline
computes, end "CompletedWithViolations" and that event starts retraining - no person or project script in the
path (see the README, "Monitoring and retraining").

Exit status: 0 no drift, 1 drift, 2 bad input. --output writes the report as JSON.
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
        if numerical:
            levels = numerical["distribution"]["kll"]["sketch"]["data"]
            samples[feature["name"]] = np.sort(np.concatenate([np.asarray(level, float) for level in levels]))
    return samples


def linf_distance(baseline: np.ndarray, values: np.ndarray) -> float:
    """sup |F_baseline(x) - F_new(x)| over all observed x (two-sample KS statistic)."""
    values = np.sort(np.asarray(values, float))
    points = np.concatenate([baseline, values])
    f_base = np.searchsorted(baseline, points, side="right") / len(baseline)
    f_new = np.searchsorted(values, points, side="right") / len(values)
    return float(np.max(np.abs(f_base - f_new)))


def critical_value(n: int, m: int) -> float:
    return KS_C_ALPHA * math.sqrt((n + m) / (n * m))


def check(stats: dict, frame: pd.DataFrame, threshold: float = DRIFT_THRESHOLD, method: str = "Robust") -> dict:
    samples = baseline_samples(stats)
    if not samples:
        raise ValueError("the baseline has no numerical features to compare")
    missing = sorted(set(samples) - set(frame.columns))
    if missing:
        raise ValueError(f"data lacks baseline features: {missing[:5]}")
    features = {}
    for name, base in samples.items():
        values = pd.to_numeric(frame[name], errors="coerce").dropna().to_numpy()
        if not len(values):
            raise ValueError(f"feature {name!r} has no numeric values")
        distance = linf_distance(base, values)
        limit = threshold if method == "Simple" else max(threshold, critical_value(len(base), len(values)))
        features[name] = {"distance": distance, "limit": limit, "drifted": distance > limit}
    drifted = sorted(n for n, f in features.items() if f["drifted"])
    return {"threshold": threshold, "method": method, "item_count": int(len(frame)),
            "drifted": bool(drifted), "drifted_features": drifted, "features": features}


def read_data(path, names: list, header: bool = True) -> pd.DataFrame:
    """CSV with a header, or headerless (as captured at the endpoint) mapped by position."""
    if header:
        return pd.read_csv(path)
    frame = pd.read_csv(path, header=None)
    if frame.shape[1] != len(names):
        raise ValueError(f"expected {len(names)} columns without header, got {frame.shape[1]}")
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
        threshold, method = DRIFT_THRESHOLD, "Robust"
        constraints_path = Path(args.baseline).with_name("constraints.json")
        if constraints_path.exists():
            config = json.loads(constraints_path.read_text())["monitoring_config"]["distribution_constraints"]
            threshold, method = config["comparison_threshold"], config.get("comparison_method", "Robust")
        threshold = args.threshold if args.threshold is not None else threshold
        method = args.method or method
        frame = read_data(args.data, [f["name"] for f in stats["features"]], header=not args.no_header)
        report = check(stats, frame, threshold, method)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2))
    worst = max(report["features"].items(), key=lambda kv: kv[1]["distance"])
    print(f"drift check ({method}, threshold {threshold}): {len(report['drifted_features'])} of "
          f"{len(report['features'])} features drifted; largest distance {worst[1]['distance']:.3f} ({worst[0]})")
    for name in report["drifted_features"]:
        print(f"  DRIFT {name}: {report['features'][name]['distance']:.3f}")
    return 1 if report["drifted"] else 0


if __name__ == "__main__":
    sys.exit(main())
