"""Data-quality baseline from the training data, in SageMaker Model Monitor's JSON format.

    python -m monitoring.baseline --data build/train/train.csv --output-dir build/baseline [--schema schema.json]

Writes statistics.json and constraints.json in the format Model Monitor's baselining job writes, for the features
of the data contract (src/<package>/schema.json, or --schema: a contract or the resolved schema training wrote):
every column except the label and the contract's `drop` columns, in CSV order (the serving order). A column the
contract declares categorical is a String feature (string_statistics: the share of each category, its domain),
whatever its values look like - Model Monitor's own analyzer infers types from the values, so a categorical
column of digits is Integral there. Missing values (empty cells) are counted per column (num_missing) and
constrain completeness.

This is the local counterpart of the training pipeline's baseline step, for people (`make baseline`, `make
drift`). The monitor does not read it: the pipeline's baseline step runs Model Monitor's own analyzer on
evaluate's baseline/baseline.csv (the model's outputs, then the features, headerless, as the endpoint captures
them), the registered package records that baseline, and `ladder deploy` points the monitor at the deployed
package's.

statistics.json: {"version": 0.0, "dataset": {"item_count": n}, "features": [{"name", "inferred_type",
"numerical_statistics": {"common", "mean", "sum", "std_dev", "min", "max", "distribution": {"kll":
{"buckets", "sketch"}}}}]} (or "string_statistics": {"common", "distinct_count", "distribution": {"categorical":
{"buckets": [{"value", "count"}]}}} for categorical columns). The KLL sketch holds the sorted values in its first
compactor: exact for up to k = 2048 rows (which is what a real KLL sketch with k = 2048 holds too), evenly spaced
quantiles beyond that.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from {{ cookiecutter.__package_name }} import schema as contract_schema

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


def feature_statistics(name: str, series: pd.Series, categorical: bool = False) -> dict:
    kind = "String" if categorical else inferred_type(series)
    present = series.dropna()
    common = {"num_present": int(len(present)), "num_missing": int(series.isna().sum())}
    if kind == "String":
        counts = present.astype(str).value_counts()
        return {"name": name, "inferred_type": kind, "string_statistics": {
            "common": common, "distinct_count": float(len(counts)),
            "distribution": {"categorical": {"buckets": [{"value": v, "count": int(c)} for v, c in counts.items()]}},
        }}
    values = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"column {name!r} is numerical in the contract but holds text such as "
                         f"{present[np.isnan(values)].iloc[0]!r}; declare it categorical")
    if not len(values):
        raise ValueError(f"feature {name!r} has no values")
    return {"name": name, "inferred_type": kind, "numerical_statistics": {
        "common": common,
        "mean": float(values.mean()), "sum": float(values.sum()),
        "std_dev": float(values.std()), "min": float(values.min()), "max": float(values.max()),
        "distribution": {"kll": kll(values)},
    }}


def statistics(frame: pd.DataFrame, categorical=()) -> dict:
    """statistics.json of the frame's columns; those named in ``categorical`` are String features."""
    return {"version": 0.0, "dataset": {"item_count": int(len(frame))},
            "features": [feature_statistics(str(c), frame[c], str(c) in set(categorical)) for c in frame.columns]}


def features_frame(data, schema_path=None) -> pd.DataFrame:
    """(frame, categorical names): the contract's features of a labelled CSV in CSV order (label and dropped
    columns removed), categorical columns as the text written (empty = missing)."""
    raw = json.loads(Path(schema_path).read_text()) if schema_path else None
    if raw and "features" in raw:  # a resolved schema (<model_dir>/schema.json)
        names = [f["name"] for f in raw["features"]]
        categorical = [f["name"] for f in raw["features"] if f["type"] == "categorical"]
        frame = pd.read_csv(data, dtype={n: str for n in categorical}, **contract_schema.CSV_NA)
        absent = [n for n in names if n not in frame.columns]
        if absent:
            raise ValueError(f"{data}: lacks the schema's feature columns {absent[:5]}")
        return frame[names], categorical
    contract = contract_schema.load(schema_path)
    frame = contract_schema.read_csv(data, contract)
    if contract["label"] not in frame.columns:
        raise ValueError(f"{data}: no label column {contract['label']!r} (the contract's label); columns found: "
                         f"{list(frame.columns)[:10]}")
    names = [c for c in frame.columns if c != contract["label"] and c not in contract["drop"]]
    return frame[names], [c for c in contract["categorical"] if c in names]


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
            entry["string_constraints"] = {"domains": sorted(b["value"] for b in buckets)}
        features.append(entry)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            # model-monitor-byoc-constraints.html: comparison_* for numerical features, categorical_* (LInfinity:
            # the largest difference of a category's share) for String features
            "distribution_constraints": {"perform_comparison": "Enabled", "comparison_threshold": float(threshold),
                                         "comparison_method": "Robust",
                                         "categorical_comparison_threshold": float(threshold),
                                         "categorical_drift_method": "LInfinity"},
        },
    }


def run(data, output_dir, threshold: float = DRIFT_THRESHOLD, schema_path=None) -> tuple[Path, Path]:
    frame, categorical = features_frame(data, schema_path)
    stats = statistics(frame, categorical)
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
    parser.add_argument("--schema", default=None, help="the data contract or a resolved schema.json (default: the "
                        "package's schema.json)")
    parser.add_argument("--threshold", type=float, default=DRIFT_THRESHOLD)
    args = parser.parse_args(argv)
    try:
        run(args.data, args.output_dir, args.threshold, args.schema)
    except (OSError, ValueError, KeyError) as exc:  # ContractError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
