"""Evaluate step: model + test data -> evaluation.json.

    python evaluate.py --model-dir /opt/ml/processing/model --test-dir /opt/ml/processing/test \
        --output-dir /opt/ml/processing/evaluation

The model dir may hold the model (model.joblib or xgboost-model.json, schema.json, code/predictor.py) or
SageMaker's model.tar.gz of it (extracted on the fly). The model is scored through the artefact's own
code/predictor.py - exactly what the endpoint runs - so this script needs no other file of the project.

Output: Model Monitor's model-quality statistics format, which is what the model registry's ModelQuality
statistics hold (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-metrics.html),
one group per problem type; the pipeline's quality gate reads <group>.<metric>.value:

    binary      binary_classification_metrics      auc accuracy f1 precision recall log_loss + confusion_matrix
    multiclass  multiclass_classification_metrics  accuracy f1_macro f1_weighted weighted_f1 log_loss
                                                   + confusion_matrix
    regression  regression_metrics                 r2 rmse mae mape mse

    {"version": 0.0, "dataset": {"item_count": n, "evaluation_time": null},
     "binary_classification_metrics": {"confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
        "auc": {"value": 0.99, "standard_deviation": 0.004}, ...}}

Each metric is listed under the platform spec's name; weighted_f1 (= f1_weighted) and mse are Model Monitor's
own names. As Model Monitor does, standard_deviation is that of the metric over five random 80% samples, and
"NaN" with fewer than 200 rows. The binary positive class is schema classes[1] (score = its probability, label
at 0.5). A metric undefined on the test split is "NaN" (auc on a split of one class; mape when a target is 0 -
scikit-learn would divide by its epsilon and report ~1e15). When that metric is the quality gate's (--gate-metric,
default the one baked from the spec: {{ cookiecutter.quality_gate_metric }}), evaluate fails with one clear error
(exit 2, nothing written) instead of handing the pipeline's numeric gate the string "NaN".

With --baseline-features-dir (preprocess's baseline/: the training split's features, headerless, schema order)
and --baseline-dir it also writes baseline/baseline.csv, the dataset the pipeline's Model Monitor baseline step
analyzes: each training row as the endpoint's data capture records it - the model's output first (label, score
for classification; value for regression: what the endpoint answers), then the request's features - no header,
a missing value an empty cell. Model Monitor's data-quality job reads captured output and input in that order
("the prediction/output columns are assumed to be the first columns", model-monitor-create-baseline.html).
"""

import argparse
import contextlib
import importlib.util
import json
import math
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm

OUTPUT_FILE = "evaluation.json"
BASELINE_FILE = "baseline.csv"
GROUPS = {"binary": "binary_classification_metrics", "multiclass": "multiclass_classification_metrics",
          "regression": "regression_metrics"}
OUTPUTS = {"binary": ("label", "score"), "multiclass": ("label", "score"), "regression": ("value",)}
MIN_ROWS_FOR_DEVIATION = 200  # Model Monitor: standard deviation only with at least 200 samples
SAMPLES, SAMPLE_FRACTION = 5, 0.8
# Every CSV is read as serving and drift read it: an empty cell is a missing value, and nothing else - pandas'
# default NA strings ("NA", "None", "null", "N/A", "nan", ...) are values (a category "NA", a class "None")
CSV_NA = {"keep_default_na": False, "na_values": [""]}
GATE_METRIC = "{{ cookiecutter.quality_gate_metric }}"  # what the pipeline's quality gate reads (spec training.qualityGate)


def _import_predictor(code_dir: Path):
    """The artefact's own code/predictor.py; this package's predictor.py when the model dir has none."""
    path = code_dir / "predictor.py"
    if not path.exists():
        path = Path(__file__).resolve().parent / "predictor.py"
    spec = importlib.util.spec_from_file_location("model_predictor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def open_model(model_dir):
    """The Predictor of a model dir or of its model.tar.gz (extracted for the duration)."""
    model_dir = Path(model_dir)
    archive = model_dir / "model.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        if not (model_dir / "schema.json").exists() and archive.exists():
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(tmp, filter="data")
                except TypeError:  # Python without tarfile extraction filters
                    tar.extractall(tmp)  # noqa: S202 - archive written by our own training job
            model_dir = Path(tmp)
        yield _import_predictor(model_dir / "code").load(model_dir)


def read_frame(directory, resolved: dict) -> pd.DataFrame:
    files = sorted(Path(directory).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {directory}")
    text = {f["name"]: str for f in resolved["features"] if f["type"] == "categorical"}
    return pd.concat([pd.read_csv(f, dtype=text, **CSV_NA) for f in files], ignore_index=True)


class GateMetricError(ValueError):
    """The quality gate's metric is undefined on the test split (the pipeline's gate compares a number)."""


class LabelError(ValueError):
    """The labels of an evaluated split do not fit the model (a class training never saw, a non-numerical
    regression target); the message names the label column."""


def _codes(y, classes: list, label: str = "label") -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    values = [v.item() if hasattr(v, "item") else v for v in y]
    unknown = sorted({str(v) for v in values if v not in index})
    if unknown:
        raise LabelError(f"label column {label!r}: value(s) {unknown} are not among the training split's classes "
                         f"{classes} (the model cannot score a class it was not trained on)")
    return np.array([index[v] for v in values], dtype=int)


def _values(problem_type: str, y: np.ndarray, scores: np.ndarray) -> dict:
    """Metric values of one problem type; y: class codes (classification) or values (regression)."""
    if problem_type == "regression":
        mse = skm.mean_squared_error(y, scores)
        # mape divides by |y|: undefined when a target is 0 (scikit-learn's epsilon would give ~1e15)
        mape = float("nan") if (y == 0).any() else skm.mean_absolute_percentage_error(y, scores)
        return {"r2": skm.r2_score(y, scores), "rmse": math.sqrt(mse), "mae": skm.mean_absolute_error(y, scores),
                "mape": mape, "mse": mse}
    k = scores.shape[1]
    predicted = scores.argmax(axis=1) if problem_type == "multiclass" else (scores[:, 1] >= 0.5).astype(int)
    clipped = np.clip(scores, 1e-15, 1.0)
    loss = skm.log_loss(y, clipped / clipped.sum(axis=1, keepdims=True), labels=list(range(k)))
    if problem_type == "binary":
        auc = skm.roc_auc_score(y, scores[:, 1]) if len(set(y)) == 2 else float("nan")
        return {"auc": auc, "accuracy": skm.accuracy_score(y, predicted),
                "f1": skm.f1_score(y, predicted, zero_division=0),
                "precision": skm.precision_score(y, predicted, zero_division=0),
                "recall": skm.recall_score(y, predicted, zero_division=0), "log_loss": loss}
    labels = list(range(k))
    weighted = skm.f1_score(y, predicted, labels=labels, average="weighted", zero_division=0)
    return {"accuracy": skm.accuracy_score(y, predicted),
            "f1_macro": skm.f1_score(y, predicted, labels=labels, average="macro", zero_division=0),
            "f1_weighted": weighted, "weighted_f1": weighted, "log_loss": loss}


def _truth(predictor, frame: pd.DataFrame) -> np.ndarray:
    label = predictor.schema["label"]
    y = frame[label]
    if y.isna().any():
        raise LabelError(f"label column {label!r}: {int(y.isna().sum())} row(s) without a label (preprocess leaves "
                         f"them out of the splits)")
    if predictor.problem_type == "regression":
        try:
            return y.to_numpy(dtype=float)
        except (TypeError, ValueError):
            text = [v for v in y.dropna().unique() if not _is_number(v)][:3]
            raise LabelError(f"label column {label!r} must be numerical for regression, holds {text}") from None
    return _codes(y, predictor.classes, label)


def _scalar(value):
    return value.item() if hasattr(value, "item") else value


def _is_number(value) -> bool:  # also in preprocess.py: each processing step runs its own script alone
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def metric_values(predictor, frame: pd.DataFrame) -> dict:
    """{metric: value} of a model on a labelled frame (train.py prints the validation gate metric from it)."""
    return {k: float(v) for k, v in _values(predictor.problem_type, _truth(predictor, frame),
                                            predictor.scores(frame)).items()}


def compute_metrics(predictor, frame: pd.DataFrame, seed: int = 0) -> dict:
    problem = predictor.problem_type
    y, scores = _truth(predictor, frame), predictor.scores(frame)
    values = _values(problem, y, scores)
    deviations = {name: "NaN" for name in values}
    if len(y) >= MIN_ROWS_FOR_DEVIATION:
        rng = np.random.default_rng(seed)
        samples = [rng.choice(len(y), size=int(len(y) * SAMPLE_FRACTION), replace=False) for _ in range(SAMPLES)]
        runs = [_values(problem, y[i], scores[i]) for i in samples]
        deviations = {name: _number(np.std([r[name] for r in runs])) for name in values}
    group = {}
    if problem != "regression":
        classes = predictor.classes
        predicted = scores.argmax(axis=1) if problem == "multiclass" else (scores[:, 1] >= 0.5).astype(int)
        group["confusion_matrix"] = {
            str(classes[a]): {str(classes[p]): int(((y == a) & (predicted == p)).sum()) for p in range(len(classes))}
            for a in range(len(classes))}
    group.update({name: {"value": _number(value), "standard_deviation": deviations[name]}
                  for name, value in values.items()})
    return {"version": 0.0, "dataset": {"item_count": int(len(y)), "evaluation_time": None}, GROUPS[problem]: group}


def _number(value):
    value = float(value)
    return value if math.isfinite(value) else "NaN"  # as Model Monitor writes an undefined statistic


def monitored_rows(predictor, features: pd.DataFrame) -> pd.DataFrame:
    """[label, score, *features] (classification) or [value, *features] (regression) per row: the endpoint's
    answer (predictor.predict) followed by the request, as data capture and Model Monitor see them."""
    answers = pd.DataFrame(predictor.predict(features), columns=list(OUTPUTS[predictor.problem_type]))
    return pd.concat([answers, features[predictor.features].reset_index(drop=True)], axis=1)


def write_baseline(predictor, features_dir, baseline_dir) -> Path:
    files = sorted(Path(features_dir).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {features_dir}")
    names = predictor.features
    text = {i: str for i, f in enumerate(predictor.schema["features"]) if f["type"] == "categorical"}
    features = pd.concat([pd.read_csv(f, header=None, dtype=text, **CSV_NA) for f in files], ignore_index=True)
    if features.shape[1] != len(names):
        raise ValueError(f"baseline features have {features.shape[1]} columns, the model takes {len(names)}")
    features.columns = names
    rows = monitored_rows(predictor, features)
    Path(baseline_dir).mkdir(parents=True, exist_ok=True)
    path = Path(baseline_dir) / BASELINE_FILE
    rows.to_csv(path, index=False, header=False)
    outputs = ", ".join(OUTPUTS[predictor.problem_type])
    print(f"evaluate: baseline dataset {len(rows)} rows x {rows.shape[1]} columns ({outputs}, features) -> {path}")
    return path


def metric_value(report: dict, metric: str) -> float:
    """What the pipeline's gate reads: <group>.<metric>.value, the group being the report's (KeyError when the
    report has no metric group or not that metric)."""
    groups = [g for g in GROUPS.values() if g in report]
    if not groups:
        raise KeyError(f"no metric group ({', '.join(GROUPS.values())}) in the report")
    return float(report[groups[0]][metric]["value"])


def check_gate_metric(report: dict, predictor, frame: pd.DataFrame, metric: str) -> None:
    """GateMetricError when the gate's metric has no numerical value in the report (see the module docstring).
    A metric of another problem type is not this model's gate (the platform's spec pairs metric and type)."""
    group = report[GROUPS[predictor.problem_type]]
    if metric not in group or group[metric]["value"] != "NaN":
        return
    label = predictor.schema["label"]
    y = frame[label]
    if metric == "mape":
        raise GateMetricError(f"label column {label!r}: {int((y.astype(float) == 0).sum())} test target(s) are 0 and "
                              f"mape is undefined when a target is 0; use mae or rmse as the quality gate metric")
    reason = ""
    if predictor.problem_type != "regression" and y.nunique() < 2:
        reason = f" (label column {label!r} holds the single class {json.dumps(_scalar(y.iloc[0]))} there)"
    raise GateMetricError(f"the quality gate metric {metric} is undefined (NaN) on the test split of {len(y)} "
                          f"rows{reason}; the pipeline's gate needs a number: more, or more varied, test rows")


def run(model_dir, test_dir, output_dir, baseline_features_dir=None, baseline_dir=None,
        gate_metric: str | None = GATE_METRIC) -> Path:
    with open_model(model_dir) as predictor:
        frame = read_frame(test_dir, predictor.schema)
        report = compute_metrics(predictor, frame)
        if gate_metric:
            check_gate_metric(report, predictor, frame, gate_metric)
        if baseline_features_dir and baseline_dir:
            write_baseline(predictor, baseline_features_dir, baseline_dir)
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
    parser.add_argument("--baseline-dir", default=None, help="where baseline.csv (outputs, features) goes")
    parser.add_argument("--gate-metric", default=GATE_METRIC, help="the quality gate's metric: must be defined")
    args, _ = parser.parse_known_args(argv)
    try:
        run(args.model_dir, args.test_dir, args.output_dir, args.baseline_features_dir, args.baseline_dir,
            gate_metric=args.gate_metric)
    except (FileNotFoundError, ValueError) as exc:  # the predictor's SchemaError is a ValueError
        print(f"evaluate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
