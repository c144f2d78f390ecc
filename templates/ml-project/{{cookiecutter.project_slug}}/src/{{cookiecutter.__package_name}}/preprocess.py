"""Preprocess step: the newest data version -> train/ validation/ test/ CSV files (label in the first column),
baseline/baseline.csv (the training split as the endpoint sees it) and manifest/manifest.json (which data this
run trained on).

Same paths locally and in a SageMaker processing job:

    python preprocess.py --input-dir /opt/ml/processing/input --output-dir /opt/ml/processing \
        [--input-uri s3://<bucket>/<project>/data/] [--sample-data-fallback]

Input: the pipeline's InputDataUrl prefix, downloaded to --input-dir. It holds data versions as folders,
<version>/*.csv (CSV files whose first column is the binary label, header row expected); only the newest
version (the lexicographically greatest folder name: use sortable names such as 2026-12-01 or v0002) is used;
the bundled sample that `run_pipeline --seed-sample-data` uploads (sample-<n>) is older than any version of yours.
CSV files directly in the prefix are the version "root" (used only when there are no version folders).

An input without CSV is an error (exit 2) - in a SageMaker job SageMaker itself already refuses an empty
S3Prefix input ("No S3 objects found under S3 URL"). Only `--sample-data-fallback` (what `make train-local`
passes) falls back to scikit-learn's bundled breast-cancer dataset (no network needed).

baseline/baseline.csv: the training split's features exactly as a request sends them and data capture records
them - no header row (captured text/csv has none), no label (the endpoint never receives it), the columns in the
training order (which is the serving order). The pipeline's baseline step runs Model Monitor's analyzer on it, so
the baseline's columns (_c0, _c1, ...) are the captured ones.

manifest.json: {"data_version": "<version>", "data_uri": "<input-uri><version>/", "rows": {"input": n,
"train": n, "validation": n, "test": n}}; the pipeline reads it as the DataManifest property file and
records data_version / data_uri on the registered model package.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

LABEL = "target"
SPLITS = ("train", "validation", "test")
BASELINE_DIR, BASELINE_FILE = "baseline", "baseline.csv"


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def load_bundled_dataset() -> pd.DataFrame:
    """scikit-learn's breast-cancer data (ships with scikit-learn): label first, snake_case columns."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data.rename(columns=_snake)
    return pd.concat([bunch.target.rename(LABEL), features], axis=1)


ROOT_VERSION = "root"
SAMPLE_VERSION = "bundled-sample"
MANIFEST_FILE = "manifest.json"


class NoDataError(RuntimeError):
    """The input holds no CSV file."""


def newest_version(input_dir) -> tuple[str, list[Path]]:
    """(version, CSV files) of the newest data version under input_dir; NoDataError when there is none."""
    path = Path(input_dir) if input_dir else None
    if path is None or not path.is_dir():
        raise NoDataError(f"input directory {str(input_dir)!r} does not exist")
    versions = {d.name: sorted(d.glob("*.csv")) for d in path.iterdir() if d.is_dir()}
    versions = {name: files for name, files in versions.items() if files}
    if versions:
        name = max(versions, key=lambda n: (not n.startswith("sample-"), n))  # seeded samples rank oldest
        return name, versions[name]
    files = sorted(path.glob("*.csv"))
    if files:
        return ROOT_VERSION, files
    raise NoDataError(f"no CSV file in {input_dir} (neither <version>/*.csv nor *.csv)")


def data_uri(input_uri, input_dir, version: str) -> str:
    base = str(input_uri or Path(input_dir).resolve())
    base = base if base.endswith("/") else base + "/"
    return base if version == ROOT_VERSION else f"{base}{version}/"


def load_input(input_dir, input_uri=None, sample_fallback: bool = False) -> tuple[pd.DataFrame, dict]:
    """(frame, {"data_version", "data_uri"}) of the newest version; the bundled dataset only when asked."""
    try:
        version, files = newest_version(input_dir)
    except NoDataError:
        if not sample_fallback:
            raise
        print(f"preprocess: no CSV in {str(input_dir)!r}, using the bundled breast-cancer dataset")
        return load_bundled_dataset(), {"data_version": SAMPLE_VERSION, "data_uri": "sklearn:load_breast_cancer"}
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    print(f"preprocess: data version {version!r}: {len(files)} file(s), {len(frame)} rows")
    return (frame.rename(columns={frame.columns[0]: LABEL}),
            {"data_version": version, "data_uri": data_uri(input_uri, input_dir, version)})


def split(frame: pd.DataFrame, seed: int = 42, validation_size: float = 0.15, test_size: float = 0.15):
    frame = frame.dropna()
    rest, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[LABEL])
    train, validation = train_test_split(
        rest, test_size=validation_size / (1 - test_size), random_state=seed, stratify=rest[LABEL]
    )
    return {"train": train, "validation": validation, "test": test}


def baseline_frame(train: pd.DataFrame) -> pd.DataFrame:
    """The features of the training split in serving order (the label removed)."""
    return train.drop(columns=[LABEL])


def run(input_dir, output_dir, seed: int = 42, input_uri=None, sample_fallback: bool = False) -> dict:
    """Write <output_dir>/{train,validation,test}/<split>.csv, <output_dir>/baseline/baseline.csv and
    <output_dir>/manifest/manifest.json; return {split: path, "baseline": path, "manifest": path}."""
    frame, source = load_input(input_dir, input_uri, sample_fallback)
    parts = split(frame, seed=seed)
    written = {}
    for name in SPLITS:
        target = Path(output_dir) / name
        target.mkdir(parents=True, exist_ok=True)
        written[name] = target / f"{name}.csv"
        parts[name].to_csv(written[name], index=False)
        print(f"preprocess: {name}: {len(parts[name])} rows -> {written[name]}")
    target = Path(output_dir) / BASELINE_DIR
    target.mkdir(parents=True, exist_ok=True)
    written["baseline"] = target / BASELINE_FILE
    baseline_frame(parts["train"]).to_csv(written["baseline"], index=False, header=False)
    print(f"preprocess: baseline: {len(parts['train'])} rows, headerless, no label -> {written['baseline']}")
    manifest = {**source, "rows": {"input": int(len(frame)), **{n: int(len(parts[n])) for n in SPLITS}}}
    target = Path(output_dir) / "manifest"
    target.mkdir(parents=True, exist_ok=True)
    written["manifest"] = target / MANIFEST_FILE
    written["manifest"].write_text(json.dumps(manifest, indent=2, sort_keys=True))
    print(f"preprocess: manifest {json.dumps(manifest, sort_keys=True)}")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input")
    parser.add_argument("--output-dir", default="/opt/ml/processing")
    parser.add_argument("--input-uri", default=None, help="the S3 prefix --input-dir was downloaded from")
    parser.add_argument("--sample-data-fallback", action="store_true",
                        help="use the bundled dataset when the input holds no CSV (local runs only)")
    parser.add_argument("--seed", type=int, default=42)
    args, _ = parser.parse_known_args(argv)
    try:
        run(args.input_dir, args.output_dir, seed=args.seed, input_uri=args.input_uri,
            sample_fallback=args.sample_data_fallback)
    except NoDataError as exc:
        print(f"preprocess: error: {exc}; upload labelled CSV files to <InputDataUrl><version>/ "
              f"(see the README, 'Training data')", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
