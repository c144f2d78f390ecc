"""Run preprocess -> train -> evaluate locally, then the quality gate (`make train-local [DATA=<csv>]`).

    python -m {{ cookiecutter.__package_name }}.local [--build-dir build] [--data data.csv | --data <folder>]
        [--gate-min X | --gate-max X] [--gate enforce|report]

Lays out build/ like the SageMaker pipeline does (train/ validation/ test/ manifest/ baseline/ model/ evaluation/
baseline-dataset/: what the pipeline's Model Monitor baseline step analyzes). --data is a CSV file or a folder
of data versions (<version>/*.csv, the newest is used) read under the data contract (schema.json); without
--data the folder data/ is read when it holds CSV, else the bundled sample of the problem type. Exit 1 when
the gate metric misses the bound baked from the platform's spec (min: >= threshold, max: <= threshold), 2 when
the data does not fit the contract. `--gate report` (`make train-local GATE=report`, what CI runs when the spec
declares a data contract: the bundled sample is then not the data the gate is set for) prints the gate's outcome
and exits 0 even when the metric misses the bound.
"""

import argparse
import json
import sys
from pathlib import Path

from . import config, evaluate, predictor, preprocess, schema, train


class GateError(RuntimeError):
    """The gate could not be evaluated (metric missing, bad bound) or was missed (GateFailed)."""


class GateFailed(GateError):
    """The metric is on the wrong side of the threshold."""


GATE_MODES = ("enforce", "report")


def check_gate(report: dict, metric: str, bound: str, threshold: float) -> float:
    """Return the metric's value; raise GateError when it is missing or on the wrong side of the threshold."""
    try:
        value = evaluate.metric_value(report, metric)
    except (KeyError, TypeError, ValueError) as exc:
        raise GateError(f"quality gate: metric {metric!r} missing from the evaluation report") from exc
    if bound == "min" and not value >= threshold:
        raise GateFailed(f"quality gate FAILED: {metric} = {value:.4f} < {threshold} (min)")
    if bound == "max" and not value <= threshold:
        raise GateFailed(f"quality gate FAILED: {metric} = {value:.4f} > {threshold} (max)")
    if bound not in ("min", "max"):
        raise GateError(f"quality gate: bound must be min or max, got {bound!r}")
    return value


def run(build_dir, data=None, metric: str = config.QUALITY_GATE_METRIC, bound: str = config.QUALITY_GATE_BOUND,
        threshold: float = config.QUALITY_GATE_THRESHOLD, sample_fallback: bool = True, gate: str = "enforce") -> dict:
    build = Path(build_dir)
    preprocess.run(data, build, sample_fallback=sample_fallback)
    train.run(build / "train", build / "model", build / "validation", metric=metric)
    report_path = evaluate.run(build / "model", build / "test", build / "evaluation", build / "baseline",
                               build / "baseline-dataset", gate_metric=metric)
    report = json.loads(report_path.read_text())
    if gate == "report":
        manifest = json.loads((build / "manifest" / preprocess.MANIFEST_FILE).read_text())
        where = ("quality gate on the bundled sample, not your data"
                 if manifest.get("data_version") == preprocess.SAMPLE_VERSION else "quality gate (reported, not enforced)")
        try:
            value = check_gate(report, metric, bound, threshold)
        except GateFailed as exc:
            print(f"{where}: {exc}")
            return report
        print(f"{where}: passed: {metric} = {value:.4f} {'>=' if bound == 'min' else '<='} {threshold}")
        return report
    value = check_gate(report, metric, bound, threshold)
    print(f"quality gate passed: {metric} = {value:.4f} {'>=' if bound == 'min' else '<='} {threshold}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", default="build")
    parser.add_argument("--data", "--input-dir", dest="data", default=None,
                        help="a CSV file or a folder of <version>/*.csv (default: data/, else the bundled sample)")
    parser.add_argument("--gate-metric", default=config.QUALITY_GATE_METRIC)
    gate = parser.add_mutually_exclusive_group()
    gate.add_argument("--gate-min", type=float, default=None, help="pass when the metric is >= this")
    gate.add_argument("--gate-max", type=float, default=None, help="pass when the metric is <= this")
    parser.add_argument("--gate", choices=GATE_MODES, default="enforce",
                        help="report: print the gate's outcome, exit 0 when it is missed (CI on the bundled sample "
                             "of a project with its own data contract)")
    args = parser.parse_args(argv)
    bound, threshold = config.QUALITY_GATE_BOUND, config.QUALITY_GATE_THRESHOLD
    if args.gate_min is not None:
        bound, threshold = "min", args.gate_min
    elif args.gate_max is not None:
        bound, threshold = "max", args.gate_max
    explicit = args.data is not None
    if explicit and not Path(args.data).exists():
        print(f"train-local: DATA={args.data} does not exist (a CSV file or a folder of <version>/*.csv)",
              file=sys.stderr)
        return 2
    try:
        # the bundled sample only when no data was named: DATA=<csv> trains on that or fails
        run(args.build_dir, args.data if explicit else "data", args.gate_metric, bound, threshold,
            sample_fallback=not explicit, gate=args.gate)
    except GateError as exc:
        print(exc, file=sys.stderr)
        return 1
    except (preprocess.NoDataError, preprocess.ContractError, schema.ContractError, predictor.SchemaError,
            evaluate.LabelError, evaluate.GateMetricError) as exc:
        print(f"train-local: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
