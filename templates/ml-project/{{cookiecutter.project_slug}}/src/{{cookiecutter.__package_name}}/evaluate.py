"""Evaluate step: model + test data -> evaluation.json.

    python evaluate.py --model-dir /opt/ml/processing/model --test-dir /opt/ml/processing/test \
        --output-dir /opt/ml/processing/evaluation

The model dir may hold model.joblib or SageMaker's model.tar.gz (extracted on the fly). Output: Model
Monitor's model-quality statistics format, which is what the model registry's ModelQuality statistics hold
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html); the pipeline's
quality gate reads binary_classification_metrics.<metric>.value and the package points at this very file:

    {"version": 0.0, "dataset": {"item_count": n, "evaluation_time": null},
     "binary_classification_metrics": {"confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
        "auc": {"value": 0.99, "standard_deviation": 0.004}, "accuracy": {...}, "f1": {...}, ...}}

As Model Monitor does, standard_deviation is that of the metric over five random 80% samples, and "NaN" with
fewer than 200 rows.

With --baseline-features-dir (preprocess's baseline/: the training split without header and label) and
--baseline-dir it also writes baseline/baseline.csv, the dataset the pipeline's Model Monitor baseline step
analyzes: each training row as the endpoint's data capture records it - the model's output first (label, score:
what the endpoint answers, {"predictions": [{"label", "score"}]}), then the request's features - no header.
Model Monitor's data-quality job reads captured output and input in that order ("the prediction/output columns
are assumed to be the first columns", model-monitor-create-baseline.html), so a baseline of the features alone
would be off by two columns on every run.
"""

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

MODEL_FILE = "model.joblib"
OUTPUT_FILE = "evaluation.json"
GROUP = "binary_classification_metrics"
MIN_ROWS_FOR_DEVIATION = 200  # Model Monitor: standard deviation only with at least 200 samples
SAMPLES, SAMPLE_FRACTION = 5, 0.8


def load_model(model_dir):
    model_dir = Path(model_dir)
    if (model_dir / MODEL_FILE).exists():
        return joblib.load(model_dir / MODEL_FILE)
    archive = model_dir / "model.tar.gz"
    if archive.exists():
        with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
            try:
                tar.extractall(tmp, filter="data")
            except TypeError:  # Python without tarfile extraction filters
                tar.extractall(tmp)  # noqa: S202 - archive written by our own training job
            return joblib.load(Path(tmp) / MODEL_FILE)
    raise FileNotFoundError(f"neither {MODEL_FILE} nor model.tar.gz in {model_dir}")


def read_test(test_dir) -> tuple[pd.DataFrame, pd.Series]:
    files = sorted(Path(test_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {test_dir}")
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    return frame.iloc[:, 1:], frame.iloc[:, 0].astype(int)


def _values(y, scores) -> dict:
    labels = (scores >= 0.5).astype(int)
    return {
        "auc": roc_auc_score(y, scores),
        "accuracy": accuracy_score(y, labels),
        "f1": f1_score(y, labels, zero_division=0),
        "precision": precision_score(y, labels, zero_division=0),
        "recall": recall_score(y, labels, zero_division=0),
    }


def compute_metrics(model, x: pd.DataFrame, y: pd.Series, seed: int = 0) -> dict:
    y = np.asarray(y).astype(int)
    scores = model.predict_proba(x)[:, 1]
    values = _values(y, scores)
    deviations = {name: "NaN" for name in values}
    if len(y) >= MIN_ROWS_FOR_DEVIATION:
        rng = np.random.default_rng(seed)
        samples = [rng.choice(len(y), size=int(len(y) * SAMPLE_FRACTION), replace=False) for _ in range(SAMPLES)]
        runs = [_values(y[i], scores[i]) for i in samples if len(set(y[i])) == 2]
        if runs:
            deviations = {name: float(np.std([r[name] for r in runs])) for name in values}
    labels = (scores >= 0.5).astype(int)
    matrix = {str(actual): {str(predicted): int(((y == actual) & (labels == predicted)).sum()) for predicted in (0, 1)}
              for actual in (0, 1)}
    metrics = {"confusion_matrix": matrix}
    metrics.update({name: {"value": float(value), "standard_deviation": deviations[name]}
                    for name, value in values.items()})
    return {"version": 0.0, "dataset": {"item_count": int(len(y)), "evaluation_time": None}, GROUP: metrics}


BASELINE_FILE = "baseline.csv"


def monitored_rows(model, features: pd.DataFrame) -> pd.DataFrame:
    """[label, score, *features] per row: the endpoint's answer (inference.predict_fn: the positive-class
    probability, the label at 0.5) followed by the request, as data capture and Model Monitor see them."""
    scores = model.predict_proba(features)[:, 1]
    out = pd.DataFrame({"label": (scores >= 0.5).astype(int), "score": scores.astype(float)})
    return pd.concat([out, features.reset_index(drop=True)], axis=1)


def write_baseline(model, features_dir, baseline_dir) -> Path:
    files = sorted(Path(features_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {features_dir}")
    features = pd.concat([pd.read_csv(f, header=None) for f in files], ignore_index=True)
    names = list(getattr(model, "feature_names_in_", []))
    if names:
        if features.shape[1] != len(names):
            raise ValueError(f"baseline features have {features.shape[1]} columns, the model takes {len(names)}")
        features.columns = names
    rows = monitored_rows(model, features)
    Path(baseline_dir).mkdir(parents=True, exist_ok=True)
    path = Path(baseline_dir) / BASELINE_FILE
    rows.to_csv(path, index=False, header=False)
    print(f"evaluate: baseline dataset {len(rows)} rows x {rows.shape[1]} columns (label, score, features) -> {path}")
    return path


def metric_value(report: dict, metric: str) -> float:
    """What the pipeline's gate reads: binary_classification_metrics.<metric>.value (KeyError when absent)."""
    return float(report[GROUP][metric]["value"])


def run(model_dir, test_dir, output_dir, baseline_features_dir=None, baseline_dir=None) -> Path:
    x, y = read_test(test_dir)
    model = load_model(model_dir)
    report = compute_metrics(model, x, y)
    if baseline_features_dir and baseline_dir:
        write_baseline(model, baseline_features_dir, baseline_dir)
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    path = Path(output_dir) / OUTPUT_FILE
    path.write_text(json.dumps(report, indent=2))
    print(f"evaluate: {json.dumps(report)} -> {path}")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/model")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    parser.add_argument("--baseline-features-dir", default=None, help="preprocess's baseline/ (headerless features)")
    parser.add_argument("--baseline-dir", default=None, help="where baseline.csv (label, score, features) goes")
    args, _ = parser.parse_known_args(argv)
    run(args.model_dir, args.test_dir, args.output_dir, args.baseline_features_dir, args.baseline_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
