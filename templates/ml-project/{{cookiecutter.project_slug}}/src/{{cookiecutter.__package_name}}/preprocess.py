"""Preprocess step: the newest data version -> train/ validation/ test/ CSV files (label first, then the
features in CSV order), baseline/baseline.csv (the training split as the endpoint sees it) and
manifest/manifest.json (which data this run trained on).

Same paths locally and in a SageMaker processing job:

    python preprocess.py --input-dir /opt/ml/processing/input --output-dir /opt/ml/processing \
        [--input-uri s3://<bucket>/<project>/data/] [--sample-data-fallback] [--schema schema.json]

Data contract (schema.json, from the platform's spec `projects[].data`): the label column BY NAME, the
categorical columns (text, one-hot encoded inside the model), the columns to drop (ids, leaks). Every other
column is a numerical feature. Missing values are kept (the model imputes them) and counted per column; only
rows without a label are left out, and they are counted in the manifest (rows.unlabelled). The contract is read
from --schema, else schema.json next to this file, else the copy baked in below at generation (a processing
job downloads this one script; the project's tests check the copy equals schema.json).

Input: the pipeline's InputDataUrl prefix, downloaded to --input-dir. It holds data versions as folders,
<version>/*.csv (header row expected); only the newest version (the lexicographically greatest folder name: use
sortable names such as 2026-12-01 or v0002) is used; the bundled sample that `run_pipeline --seed-sample-data`
uploads (sample-<n>) is older than any version of yours. CSV files directly in the prefix are the version
"root" (used only when there are no version folders). --input-dir may also be one CSV file (make train-local
DATA=file.csv).

An input without CSV is an error (exit 2) - in a SageMaker job SageMaker itself already refuses an empty
S3Prefix input ("No S3 objects found under S3 URL"). Only `--sample-data-fallback` (what `make train-local`
passes without DATA) falls back to the bundled sample of the problem type, a dataset scikit-learn ships (no
network): binary breast cancer, multiclass wine, regression diabetes; its label column is renamed to the
contract's label, and contract columns the sample does not have are reported and ignored for it (never for
your own data: a contract column missing from it is an error naming it).

baseline/baseline.csv: the training split's features exactly as a request sends them and data capture records
them - no header row, no label, the columns in serving order (schema order), a missing value an empty cell.

manifest.json: {"data_version": "<version>", "data_uri": "<input-uri><version>/", "rows": {"input": n,
"train": n, "validation": n, "test": n, "unlabelled": n}, "missing_cells": {column: n}}; the pipeline reads
it as the DataManifest property file and records data_version / data_uri on the registered model package.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

SPLITS = ("train", "validation", "test")
BASELINE_DIR, BASELINE_FILE = "baseline", "baseline.csv"
SCHEMA_FILE = "schema.json"
PROBLEM_TYPES = ("binary", "multiclass", "regression")
CLASSIFICATION = ("binary", "multiclass")
MIN_CLASS_ROWS = 2  # train_test_split(stratify=...) needs at least 2 rows of every class
SAMPLE_LABEL = "target"
SAMPLES = {"binary": "load_breast_cancer", "multiclass": "load_wine", "regression": "load_diabetes"}
# the contract as generated (schema.json's content), for a processing job that has only this file
BAKED_CONTRACT = {
    "version": 1,
    "problem_type": "{{ cookiecutter.problem_type }}",
    "label": {{ cookiecutter.data_label | tojson }},
    "categorical": json.loads({{ cookiecutter.data_categorical | tojson }}),
    "drop": json.loads({{ cookiecutter.data_drop | tojson }}),
}

ROOT_VERSION = "root"
SAMPLE_VERSION = "bundled-sample"
MANIFEST_FILE = "manifest.json"
# Every CSV is read as serving and drift read it: an empty cell is a missing value, and nothing else - pandas'
# default NA strings ("NA", "None", "null", "N/A", "nan", ...) are values (a category "NA", a class "None")
CSV_NA = {"keep_default_na": False, "na_values": [""]}


class NoDataError(RuntimeError):
    """The input holds no CSV file."""


class ContractError(ValueError):
    """The data does not fit the contract; the message names the column."""


def load_contract(path=None) -> dict:
    """--schema, else schema.json next to this file, else BAKED_CONTRACT; checked."""
    candidate = Path(path) if path else Path(__file__).resolve().parent / SCHEMA_FILE
    if path or candidate.exists():
        try:
            contract = json.loads(candidate.read_text())
        except (OSError, ValueError) as exc:
            raise ContractError(f"{candidate}: cannot read the data contract ({exc})") from None
        source = str(candidate)
    else:
        contract, source = dict(BAKED_CONTRACT), "the contract baked into preprocess.py"
    if contract.get("problem_type") not in PROBLEM_TYPES or not isinstance(contract.get("label"), str):
        raise ContractError(f"{source}: problem_type must be one of {PROBLEM_TYPES} and label a column name")
    for key in ("categorical", "drop"):
        if not isinstance(contract.setdefault(key, []), list):
            raise ContractError(f"{source}: {key} must be a list of column names")
    return contract


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def load_bundled_dataset(contract: dict | None = None) -> pd.DataFrame:
    """The sample of the contract's problem type (ships with scikit-learn): label first (named as the
    contract's label), snake_case feature columns."""
    import sklearn.datasets

    contract = contract or load_contract()
    bunch = getattr(sklearn.datasets, SAMPLES[contract["problem_type"]])(as_frame=True)
    features = bunch.data.rename(columns=_snake)
    return pd.concat([bunch.target.rename(contract["label"]), features], axis=1)


def newest_version(input_dir) -> tuple[str, list[Path]]:
    """(version, CSV files) of the newest data version under input_dir (or the one CSV file input_dir names);
    NoDataError when there is none."""
    path = Path(input_dir) if input_dir else None
    if path is not None and path.is_file() and path.suffix.lower() == ".csv":
        return ROOT_VERSION, [path]
    if path is None or not path.is_dir():
        raise NoDataError(f"input {str(input_dir)!r} is neither a directory nor a .csv file")
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
    if Path(input_dir).is_file() and not input_uri:
        return base
    base = base if base.endswith("/") else base + "/"
    return base if version == ROOT_VERSION else f"{base}{version}/"


def read_files(files: list[Path], contract: dict) -> pd.DataFrame:
    """The CSV files of one version (same header each), categorical columns as text exactly as written."""
    frames = []
    for path in files:
        frame = pd.read_csv(path, dtype={name: str for name in contract["categorical"]}, **CSV_NA)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise ContractError(f"{path.name}: columns {list(frame.columns)} differ from {files[0].name}'s "
                                f"{list(frames[0].columns)}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def load_input(input_dir, input_uri=None, sample_fallback: bool = False, contract: dict | None = None):
    """(frame, {"data_version", "data_uri"}, is_sample) of the newest version; the sample only when asked."""
    contract = contract or load_contract()
    try:
        version, files = newest_version(input_dir)
    except NoDataError:
        if not sample_fallback:
            raise
        loader = SAMPLES[contract["problem_type"]]
        print(f"preprocess: no CSV in {str(input_dir)!r}, using the bundled sample (scikit-learn {loader})")
        return load_bundled_dataset(contract), {"data_version": SAMPLE_VERSION, "data_uri": f"sklearn:{loader}"}, True
    frame = read_files(files, contract)
    print(f"preprocess: data version {version!r}: {len(files)} file(s), {len(frame)} rows")
    return frame, {"data_version": version, "data_uri": data_uri(input_uri, input_dir, version)}, \
        version.startswith("sample-")


def apply_contract(frame: pd.DataFrame, contract: dict, is_sample: bool = False) -> tuple[pd.DataFrame, int]:
    """(frame with the label first and the drop columns removed, rows without a label). ContractError naming
    the column: label or a declared column absent, a numerical column holding text, a single class, a class
    with fewer than 2 rows (the splits are stratified: each class must reach the training split)."""
    label = contract["label"]
    columns = list(frame.columns)
    if label not in columns:
        raise ContractError(f"label column {label!r} (schema.json 'label') is not in the data; columns found: "
                            f"{columns}")
    absent = [c for c in contract["categorical"] + contract["drop"] if c not in columns]
    if absent and not is_sample:
        raise ContractError(f"column(s) {absent} of the contract (schema.json 'categorical'/'drop') are not in the "
                            f"data; columns found: {columns}")
    if absent:
        print(f"preprocess: the bundled sample has no column(s) {absent} of the contract: ignored for the sample")
    features = [c for c in columns if c != label and c not in contract["drop"]]
    if not features:
        raise ContractError(f"no feature column left: columns found {columns}, label {label!r}, "
                            f"drop {contract['drop']}")
    frame = frame[[label, *features]].copy()
    for name in features:
        if name in contract["categorical"]:
            continue
        try:
            frame[name] = pd.to_numeric(frame[name], errors="raise").astype(float)
        except (TypeError, ValueError):
            text = [v for v in frame[name].dropna().unique() if not _is_number(v)][:3]
            raise ContractError(f"column {name!r} holds text {text}: list it in data.categorical (or data.drop) "
                                f"of the spec") from None
    unlabelled = int(frame[label].isna().sum())
    frame = frame[frame[label].notna()].reset_index(drop=True)
    if contract["problem_type"] == "regression":
        try:
            frame[label] = pd.to_numeric(frame[label], errors="raise").astype(float)
        except (TypeError, ValueError):
            raise ContractError(f"label column {label!r} must be numerical for regression") from None
    else:
        if pd.api.types.is_float_dtype(frame[label]) and (frame[label] % 1 == 0).all():
            frame[label] = frame[label].astype(int)  # 0.0/1.0 (a column that had empty cells) -> 0/1
        count = frame[label].nunique()
        if count < 2:
            raise ContractError(f"label column {label!r} has {count} distinct value(s): classification needs 2+")
        if contract["problem_type"] == "binary" and count != 2:
            raise ContractError(f"label column {label!r} has {count} distinct values; problem_type binary needs "
                                f"exactly 2 (multiclass takes more)")
        counts = frame[label].value_counts()
        rare = sorted(str(v) for v in counts[counts < MIN_CLASS_ROWS].index)
        if rare:
            raise ContractError(f"label column {label!r}: class(es) {rare} have fewer than {MIN_CLASS_ROWS} rows; "
                                f"the train/validation/test splits are stratified by class and a model cannot learn a "
                                f"class it never sees: add rows of it, or merge or remove it")
    return frame, unlabelled


def _is_number(value) -> bool:  # also in evaluate.py: each processing step runs its own script alone
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _stratify(frame: pd.DataFrame, label: str, problem_type: str):
    """Stratify classification splits when every class has at least 2 rows (train_test_split's requirement;
    apply_contract refuses a class with fewer, so only a tiny split of a rare class goes unstratified)."""
    if problem_type not in CLASSIFICATION:
        return None
    counts = frame[label].value_counts()
    return frame[label] if counts.min() >= 2 else None


def split(frame: pd.DataFrame, label: str, problem_type: str, seed: int = 42, validation_size: float = 0.15,
          test_size: float = 0.15) -> dict:
    if len(frame) < 10:
        raise ContractError(f"{len(frame)} labelled rows: at least 10 are needed for train/validation/test splits")
    rest, test = train_test_split(frame, test_size=test_size, random_state=seed,
                                  stratify=_stratify(frame, label, problem_type))
    train, validation = train_test_split(rest, test_size=validation_size / (1 - test_size), random_state=seed,
                                         stratify=_stratify(rest, label, problem_type))
    return {"train": train, "validation": validation, "test": test}


def missing_cells(frame: pd.DataFrame) -> dict:
    counts = frame.isna().sum()
    return {str(name): int(n) for name, n in counts.items() if n}


def baseline_frame(train: pd.DataFrame, label: str) -> pd.DataFrame:
    """The features of the training split in serving order (the label removed)."""
    return train.drop(columns=[label])


def run(input_dir, output_dir, seed: int = 42, input_uri=None, sample_fallback: bool = False,
        schema_path=None) -> dict:
    """Write <output_dir>/{train,validation,test}/<split>.csv (+ train/schema.json: the contract used),
    <output_dir>/baseline/baseline.csv and <output_dir>/manifest/manifest.json; return the paths written."""
    contract = load_contract(schema_path)
    raw, source, is_sample = load_input(input_dir, input_uri, sample_fallback, contract)
    frame, unlabelled = apply_contract(raw, contract, is_sample)
    label = contract["label"]
    missing = missing_cells(frame.drop(columns=[label]))
    for name, count in missing.items():
        print(f"preprocess: column {name!r}: {count} missing cell(s) of {len(frame)} (kept; the model imputes them)")
    if unlabelled:
        print(f"preprocess: {unlabelled} row(s) without a label {label!r} left out (rows.unlabelled in the manifest)")
    parts = split(frame, label, contract["problem_type"], seed=seed)
    written = {}
    for name in SPLITS:
        target = Path(output_dir) / name
        target.mkdir(parents=True, exist_ok=True)
        written[name] = target / f"{name}.csv"
        parts[name].to_csv(written[name], index=False)
        print(f"preprocess: {name}: {len(parts[name])} rows -> {written[name]}")
    written["schema"] = Path(output_dir) / "train" / SCHEMA_FILE  # travels with the train channel to train.py
    written["schema"].write_text(json.dumps(contract, indent=2) + "\n")
    target = Path(output_dir) / BASELINE_DIR
    target.mkdir(parents=True, exist_ok=True)
    written["baseline"] = target / BASELINE_FILE
    baseline_frame(parts["train"], label).to_csv(written["baseline"], index=False, header=False)
    print(f"preprocess: baseline: {len(parts['train'])} rows, headerless, no label -> {written['baseline']}")
    rows = {"input": int(len(raw)), **{n: int(len(parts[n])) for n in SPLITS}, "unlabelled": unlabelled}
    manifest = {**source, "rows": rows, "missing_cells": missing}
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
    parser.add_argument("--schema", default=None, help="the data contract (default: schema.json next to this file)")
    parser.add_argument("--seed", type=int, default=42)
    args, _ = parser.parse_known_args(argv)
    try:
        run(args.input_dir, args.output_dir, seed=args.seed, input_uri=args.input_uri,
            sample_fallback=args.sample_data_fallback, schema_path=args.schema)
    except NoDataError as exc:
        print(f"preprocess: error: {exc}; upload labelled CSV files to <InputDataUrl><version>/ "
              f"(see the README, 'Training data')", file=sys.stderr)
        return 2
    except ContractError as exc:
        print(f"preprocess: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
