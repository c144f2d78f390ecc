"""Data-quality baseline from the training data, in SageMaker Model Monitor's JSON format.

    python -m monitoring.baseline --data build/train/train.csv --output-dir build/baseline

Writes statistics.json and constraints.json in the format Model Monitor's baselining job writes. The endpoint
receives features only, so the label (first column) is dropped unless --keep-label is given.

This is the local counterpart of the training pipeline's baseline step, for people (`make baseline`, `make
drift`). The monitor does not read it: the pipeline's baseline step runs Model Monitor's own analyzer on
preprocess's baseline/baseline.csv (the training split without header and label, as the endpoint captures it),
the registered package records that baseline, and `ladder deploy` points the monitor at the deployed package's.

statistics.json: {"version": 0.0, "dataset": {"item_count": n}, "features": [{"name", "inferred_type",
"numerical_statistics": {"common", "mean", "sum", "std_dev", "min", "max", "distribution": {"kll":
{"buckets", "sketch"}}}}]} (or "string_statistics" for text columns). The KLL sketch holds the sorted
values in its first compactor: exact for up to k = 2048 rows (which is what a real KLL sketch with
k = 2048 holds too), evenly spaced quantiles beyond that.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DRIFT_THRESHOLD = {{ cookiecutter.drift_threshold }}
KLL_PARAMETERS = {"c": 0.64, "k": 2048.0}
BUCKETS = 10


def inferred_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "String"
    values = series.dropna()
    if pd.api.types.is_integer_dtype(series) or (len(values) and np.all(np.mod(values, 1) == 0)):
        return "Integral"
    return "Fractional"


def kll(values: np.ndarray) -> dict:
    lo, hi = float(values.min()), float(values.max())
    edges = np.linspace(lo, hi, BUCKETS + 1) if hi > lo else np.array([lo, hi])
    counts, _ = np.histogram(values, bins=edges)
    ordered = np.sort(values)
    k = int(KLL_PARAMETERS["k"])
    sketch = ordered if len(ordered) <= k else np.quantile(ordered, np.linspace(0, 1, k))
    return {
        "buckets": [{"lower_bound": float(a), "upper_bound": float(b), "count": float(c)}
                    for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)],
        "sketch": {"parameters": dict(KLL_PARAMETERS), "data": [[float(v) for v in sketch]]},
    }


def feature_statistics(name: str, series: pd.Series) -> dict:
    kind = inferred_type(series)
    present = series.dropna()
    common = {"num_present": int(len(present)), "num_missing": int(series.isna().sum())}
    if kind == "String":
        counts = present.astype(str).value_counts()
        return {"name": name, "inferred_type": kind, "string_statistics": {
            "common": common, "distinct_count": float(len(counts)),
            "distribution": {"categorical": {"buckets": [{"value": v, "count": int(c)} for v, c in counts.items()]}},
        }}
    values = present.astype(float).to_numpy()
    if not len(values):
        raise ValueError(f"feature {name!r} has no values")
    return {"name": name, "inferred_type": kind, "numerical_statistics": {
        "common": common,
        "mean": float(values.mean()), "sum": float(values.sum()),
        "std_dev": float(values.std()), "min": float(values.min()), "max": float(values.max()),
        "distribution": {"kll": kll(values)},
    }}


def statistics(frame: pd.DataFrame) -> dict:
    return {"version": 0.0, "dataset": {"item_count": int(len(frame))},
            "features": [feature_statistics(str(c), frame[c]) for c in frame.columns]}


def constraints(stats: dict, threshold: float = DRIFT_THRESHOLD) -> dict:
    features = []
    for feature in stats["features"]:
        block = feature.get("numerical_statistics") or feature["string_statistics"]
        common = block["common"]
        total = common["num_present"] + common["num_missing"]
        entry = {"name": feature["name"], "inferred_type": feature["inferred_type"],
                 "completeness": float(common["num_present"] / total) if total else 0.0}
        if "numerical_statistics" in feature:
            entry["num_constraints"] = {"is_non_negative": block["min"] >= 0}
        else:
            buckets = block["distribution"]["categorical"]["buckets"]
            entry["string_constraints"] = {"domains": [b["value"] for b in buckets]}
        features.append(entry)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": float(threshold),
                                         "comparison_method": "Robust"},
        },
    }


def run(data, output_dir, keep_label: bool = False, threshold: float = DRIFT_THRESHOLD) -> tuple[Path, Path]:
    frame = pd.read_csv(data)
    if not keep_label:
        frame = frame.iloc[:, 1:]
    stats = statistics(frame)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "statistics.json").write_text(json.dumps(stats, indent=2))
    (out / "constraints.json").write_text(json.dumps(constraints(stats, threshold), indent=2))
    print(f"baseline: {len(stats['features'])} features, {stats['dataset']['item_count']} rows -> {out}")
    return out / "statistics.json", out / "constraints.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CSV with a header row (training split)")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--keep-label", action="store_true", help="keep the first column (the label)")
    parser.add_argument("--threshold", type=float, default=DRIFT_THRESHOLD)
    args = parser.parse_args(argv)
    run(args.data, args.output_dir, args.keep_label, args.threshold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
