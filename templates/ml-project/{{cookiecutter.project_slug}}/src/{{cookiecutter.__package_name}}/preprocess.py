"""Preprocess step: input dir -> train/ validation/ test/ CSV files (label in the first column).

Same paths locally and in a SageMaker processing job:

    python preprocess.py --input-dir /opt/ml/processing/input --output-dir /opt/ml/processing

Input: CSV files whose first column is the binary label (header row expected). When the input dir is
absent or holds no CSV, scikit-learn's bundled breast-cancer dataset is used (no network needed).
"""

import argparse
import re
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

LABEL = "target"
SPLITS = ("train", "validation", "test")


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def load_bundled_dataset() -> pd.DataFrame:
    """scikit-learn's breast-cancer data (ships with scikit-learn): label first, snake_case columns."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data.rename(columns=_snake)
    return pd.concat([bunch.target.rename(LABEL), features], axis=1)


def load_input(input_dir) -> pd.DataFrame:
    """All CSV files in input_dir concatenated, or the bundled dataset when there are none."""
    path = Path(input_dir) if input_dir else None
    files = sorted(path.glob("*.csv")) if path and path.is_dir() else []
    if not files:
        print(f"preprocess: no CSV in {input_dir!r}, using the bundled breast-cancer dataset")
        return load_bundled_dataset()
    frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    return frame.rename(columns={frame.columns[0]: LABEL})


def split(frame: pd.DataFrame, seed: int = 42, validation_size: float = 0.15, test_size: float = 0.15):
    frame = frame.dropna()
    rest, test = train_test_split(frame, test_size=test_size, random_state=seed, stratify=frame[LABEL])
    train, validation = train_test_split(
        rest, test_size=validation_size / (1 - test_size), random_state=seed, stratify=rest[LABEL]
    )
    return {"train": train, "validation": validation, "test": test}


def run(input_dir, output_dir, seed: int = 42) -> dict:
    """Write <output_dir>/{train,validation,test}/<split>.csv; return {split: path}."""
    parts = split(load_input(input_dir), seed=seed)
    written = {}
    for name in SPLITS:
        target = Path(output_dir) / name
        target.mkdir(parents=True, exist_ok=True)
        written[name] = target / f"{name}.csv"
        parts[name].to_csv(written[name], index=False)
        print(f"preprocess: {name}: {len(parts[name])} rows -> {written[name]}")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input")
    parser.add_argument("--output-dir", default="/opt/ml/processing")
    parser.add_argument("--seed", type=int, default=42)
    args, _ = parser.parse_known_args(argv)
    run(args.input_dir, args.output_dir, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
