"""Run preprocess -> train -> evaluate locally, then the quality gate (`make train-local`).

    python -m {{ cookiecutter.__package_name }}.local [--build-dir build] [--input-dir data]

Lays out build/ like the SageMaker pipeline does (train/ validation/ test/ manifest/ baseline/ model/ evaluation/
baseline-dataset/: what the pipeline's Model Monitor baseline step analyzes), reads
the newest data version under --input-dir (<version>/*.csv; the bundled dataset when there is none) and exits
non-zero when the gate metric is below the minimum baked from the platform's spec.
"""

import argparse
import json
import sys
from pathlib import Path

from . import config, evaluate, preprocess, train


class GateError(RuntimeError):
    pass


def check_gate(report: dict, metric: str, minimum: float) -> float:
    """Return the metric's value; raise GateError when it is missing or below minimum."""
    try:
        value = evaluate.metric_value(report, metric)
    except (KeyError, TypeError, ValueError) as exc:
        raise GateError(f"quality gate: metric {metric!r} missing from the evaluation report") from exc
    if value < minimum:
        raise GateError(f"quality gate FAILED: {metric} = {value:.4f} < {minimum}")
    return value


def run(build_dir, input_dir=None, metric: str = config.QUALITY_GATE_METRIC,
        minimum: float = config.QUALITY_GATE_MIN) -> dict:
    build = Path(build_dir)
    preprocess.run(input_dir, build, sample_fallback=True)  # local runs only: the bundled dataset when no data
    train.run(build / "train", build / "model", build / "validation")
    report_path = evaluate.run(build / "model", build / "test", build / "evaluation", build / "baseline",
                               build / "baseline-dataset")
    report = json.loads(report_path.read_text())
    value = check_gate(report, metric, minimum)
    print(f"quality gate passed: {metric} = {value:.4f} >= {minimum}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--input-dir", default="data")
    parser.add_argument("--gate-metric", default=config.QUALITY_GATE_METRIC)
    parser.add_argument("--gate-min", type=float, default=config.QUALITY_GATE_MIN)
    args = parser.parse_args(argv)
    try:
        run(args.build_dir, args.input_dir, args.gate_metric, args.gate_min)
    except GateError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
