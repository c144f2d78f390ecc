"""The emulated analyzer container's entrypoint: ``python -m modules.sandbox.services.sagemaker.modelmonitor``.

It reads the environment the Model Monitor platform gives the container (container contract inputs,
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-contract-inputs.html, and the SageMaker SDK's
``_generate_env_map``): ``dataset_format`` (``{"sagemakerCaptureJson": {"captureIndexNames": [...]}}`` for
endpoint capture, ``{"csv": {"header": bool}}`` for a baseline dataset), ``dataset_source``, ``output_path``,
``publish_cloudwatch_metrics``, ``baseline_constraints`` / ``baseline_statistics`` (file paths),
``sagemaker_endpoint_name``, ``sagemaker_monitoring_schedule_name``, ``start_time``, ``end_time``,
``categorical_drift_method``, and for model quality ``analysis_type=MODEL_QUALITY``, ``problem_type``,
``inference_attribute``, ``probability_attribute``, ``probability_threshold_attribute``,
``ground_truth_attribute`` (baselining) and ``ground_truth_source`` (the sandbox's: the merged ground-truth
records' directory; on AWS a separate merge job prepares them).

Without ``baseline_constraints`` it baselines: ``statistics.json`` + ``constraints.json`` in ``output_path``.
With them it monitors: ``statistics.json`` + ``constraint_violations.json``; CloudWatch metrics (BYOC metric file
format, https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-cloudwatch.html) go to
``<cwd>/output/metrics/cloudwatch/`` when publishing is enabled, and the exit message to ``<cwd>/output/message``
(read back as the processing job's ExitMessage). Bad input: exit 1 with one line on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import capture, dataquality, modelquality
from .dataquality import AnalyzerError


def _json_env(name: str, default):
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        raise AnalyzerError(f"environment {name} is not JSON: {raw[:100]}") from None


def _load(path: str, what: str) -> dict:
    file = Path(path)
    if file.is_dir():
        found = sorted(p for p in file.rglob("*.json"))
        file = found[0] if found else file
    if not file.is_file():
        raise AnalyzerError(f"{what} file {path} is missing")
    try:
        return json.loads(file.read_text())
    except ValueError:
        raise AnalyzerError(f"{what} file {path} is not JSON") from None


def _column(frame, attribute: str):
    if attribute in frame.columns:
        return frame[attribute]
    if str(attribute).isdigit() and int(attribute) < frame.shape[1]:
        return frame.iloc[:, int(attribute)]
    raise AnalyzerError(f"attribute {attribute!r} is not a column of the dataset ({', '.join(map(str, frame.columns))})")


def run(env: dict[str, str], workdir: Path) -> str:
    """Analyze per ``env``; return the exit message."""
    fmt = _json_env("dataset_format", {"sagemakerCaptureJson": {}})
    source = Path(env.get("dataset_source") or "/opt/ml/processing/input")
    out = Path(env.get("output_path") or "/opt/ml/processing/output")
    out.mkdir(parents=True, exist_ok=True)
    schedule, endpoint = env.get("sagemaker_monitoring_schedule_name"), env.get("sagemaker_endpoint_name")
    publish = env.get("publish_cloudwatch_metrics", "Enabled" if schedule else "Disabled") == "Enabled"
    model_quality = env.get("analysis_type", "").upper() == "MODEL_QUALITY"
    timestamp = env.get("end_time") or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    capture.WINDOW.clear()
    capture.WINDOW.update({k: env[k] for k in ("start_time", "end_time") if env.get(k)})
    monitoring = bool(env.get("baseline_constraints") or schedule)  # a schedule's run without baseline: stats only
    if "sagemakerCaptureJson" in fmt:
        indexes = tuple((fmt["sagemakerCaptureJson"] or {}).get("captureIndexNames") or
                        ("endpointInput", "endpointOutput"))
        if model_quality:
            outputs = list(capture.outputs(source))
            rows = [[]] * len(outputs)
        else:
            rows = capture.monitored_rows(source, indexes)
        if not rows:
            raise AnalyzerError("Job inputs had no data")
    elif "csv" in fmt:
        frame = dataquality.read_dataset(source, header=bool((fmt["csv"] or {}).get("header", True)))
    else:
        raise AnalyzerError(f"dataset_format {list(fmt)}: the sandbox's analyzer reads sagemakerCaptureJson and csv")

    if model_quality:
        problem = env.get("problem_type", "")
        threshold = float(env.get("probability_threshold_attribute") or 0.5)
        if "sagemakerCaptureJson" in fmt:
            labels = capture.ground_truth(Path(env.get("ground_truth_source") or source / "groundtruth"))
            predicted, probabilities, actual = modelquality.merge_records(
                outputs, labels, inference_attribute=env.get("inference_attribute"),
                probability_attribute=env.get("probability_attribute"))
        else:
            actual = list(_column(frame, env.get("ground_truth_attribute", "")).astype(str))
            prob_attr, inf_attr = env.get("probability_attribute"), env.get("inference_attribute")
            probabilities = list(_column(frame, prob_attr).astype(str)) if prob_attr else [None] * len(actual)
            predicted = list(_column(frame, inf_attr).astype(str)) if inf_attr else [""] * len(actual)
        stats = modelquality.statistics(problem, actual, predicted, probabilities, threshold, timestamp)
        (out / "statistics.json").write_text(json.dumps(stats, indent=1))
        if not monitoring:
            (out / "constraints.json").write_text(json.dumps(modelquality.suggest_constraints(stats), indent=1))
            return "Completed: Job completed successfully with no violations."
        baseline = _load(env["baseline_constraints"], "baseline constraints") if env.get("baseline_constraints") \
            else {}
        violations = modelquality.check(stats, baseline)
        metrics = modelquality.metric_data(stats, _dimensions(endpoint, schedule), timestamp) if publish else []
    else:
        if "sagemakerCaptureJson" in fmt:
            frame = dataquality.frame_of(rows)
        if not monitoring:
            stats, constraints = dataquality.suggest_baseline(frame)
            if env.get("categorical_drift_method"):
                constraints["monitoring_config"]["distribution_constraints"]["categorical_drift_method"] = \
                    env["categorical_drift_method"]
            (out / "statistics.json").write_text(json.dumps(stats, indent=1))
            (out / "constraints.json").write_text(json.dumps(constraints, indent=1))
            return "Completed: Job completed successfully with no violations."
        constraints = _load(env["baseline_constraints"], "baseline constraints") if env.get("baseline_constraints") \
            else {"features": [{"name": str(c)} for c in frame.columns], "monitoring_config": {
                "evaluate_constraints": "Disabled"}}  # no baseline: statistics, no checks
        if env.get("categorical_drift_method"):
            constraints.setdefault("monitoring_config", {}).setdefault("distribution_constraints", {})[
                "categorical_drift_method"] = env["categorical_drift_method"]
        base_stats = _load(env["baseline_statistics"], "baseline statistics") if env.get("baseline_statistics") \
            else {"features": []}
        stats, violations, distances = dataquality.check(frame, base_stats, constraints)
        emit = (constraints.get("monitoring_config") or {}).get("emit_metrics", "Enabled") == "Enabled"
        metrics = dataquality.metric_data(stats, distances, _dimensions(endpoint, schedule), timestamp) \
            if publish and emit else []
        (out / "statistics.json").write_text(json.dumps(stats, indent=1))
    (out / "constraint_violations.json").write_text(json.dumps({"violations": violations}, indent=1))
    if metrics:
        target = workdir / "output" / "metrics" / "cloudwatch"
        target.mkdir(parents=True, exist_ok=True)
        (target / "cloudwatch_metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    if violations:
        return f"CompletedWithViolations: Job completed successfully with {len(violations)} violations."
    return "Completed: Job completed successfully with no violations."


def _dimensions(endpoint, schedule) -> list[dict[str, str]]:
    dims = [{"Name": "Endpoint", "Value": endpoint}] if endpoint else []
    return dims + ([{"Name": "MonitoringSchedule", "Value": schedule}] if schedule else [])


def main() -> int:
    workdir = Path.cwd()
    try:
        message = run(dict(os.environ), workdir)
    except AnalyzerError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        (workdir / "output").mkdir(parents=True, exist_ok=True)
        (workdir / "output" / "failure").write_text(str(exc))
        return 1
    (workdir / "output").mkdir(parents=True, exist_ok=True)
    (workdir / "output" / "message").write_text(message)
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
