"""Evaluate step: model + test data -> evaluation.json.

    python evaluate.py --model-dir /opt/ml/processing/model --test-dir /opt/ml/processing/test \
        --output-dir /opt/ml/processing/evaluation

The model dir may hold model.joblib or SageMaker's model.tar.gz (extracted on the fly). Output shape,
read by the pipeline's quality gate and attached to the registered model package:

    {"metrics": {"auc": {"value": 0.99}, "accuracy": {"value": 0.97}, "f1": {"value": 0.98}, ...}}
"""

import argparse
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

MODEL_FILE = "model.joblib"
OUTPUT_FILE = "evaluation.json"


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


def compute_metrics(model, x: pd.DataFrame, y: pd.Series) -> dict:
    scores = model.predict_proba(x)[:, 1]
    labels = (scores >= 0.5).astype(int)
    values = {
        "auc": roc_auc_score(y, scores),
        "accuracy": accuracy_score(y, labels),
        "f1": f1_score(y, labels),
        "precision": precision_score(y, labels, zero_division=0),
        "recall": recall_score(y, labels),
    }
    return {"metrics": {name: {"value": float(value)} for name, value in values.items()}}


def run(model_dir, test_dir, output_dir) -> Path:
    x, y = read_test(test_dir)
    report = compute_metrics(load_model(model_dir), x, y)
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
    args, _ = parser.parse_known_args(argv)
    run(args.model_dir, args.test_dir, args.output_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
