"""Shared fixtures: the data splits and a trained model of this project (its schema.json, the bundled sample),
built once per test session in a tmp dir; contracts and "own data" CSVs of every problem type."""

import json

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import preprocess, train

PROBLEM_TYPES = ("binary", "multiclass", "regression")
# a gate metric of each problem type (what train.py prints for validation)
METRIC = {"binary": "auc", "multiclass": "f1_macro", "regression": "rmse"}


@pytest.fixture(scope="session")
def splits(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    preprocess.run(None, out, sample_fallback=True)
    return out


@pytest.fixture(scope="session")
def model_dir(splits, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    train.run(splits / "train", out, splits / "validation")
    return out


def own_frame(problem_type: str, rows: int = 600, seed: int = 7) -> pd.DataFrame:
    """A team's CSV as it comes: an id column first, the label in the middle, two categorical columns, missing
    values in every feature (8% of cells), a label that depends on numerical and categorical features."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    region = rng.choice(["north", "south", "east", "west"], rows)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.normal(60, 20, rows)
    signal = -0.08 * tenure + 0.05 * (charges - 60) + np.select([plan == "basic", plan == "plus"], [2.5, 0.0], -2.5)
    if problem_type == "binary":
        label = (signal + rng.normal(0, 0.5, rows) > 0).astype(int)
    elif problem_type == "multiclass":
        label = np.select([signal < -1.5, signal < 1.0], ["low", "mid"], "high")
    else:
        label = 100 + 20 * signal + rng.normal(0, 5, rows)
    frame = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in range(rows)], "tenure": tenure, "plan": plan,
                          "outcome": label, "monthly_charges": charges, "region": region})
    for column in ("tenure", "plan", "monthly_charges", "region"):
        frame.loc[rng.random(rows) < 0.08, column] = np.nan
    return frame


OWN_CONTRACT = {"label": "outcome", "categorical": ["plan", "region"], "drop": ["customer_id"]}


@pytest.fixture()
def contract_file(tmp_path):
    """write(problem_type, **keys) -> path of a schema.json (defaults: the bundled sample's contract)."""
    def write(problem_type: str, **keys):
        contract = {"version": 1, "problem_type": problem_type, "label": "target", "categorical": [], "drop": [],
                    **keys}
        path = tmp_path / f"schema-{problem_type}-{len(list(tmp_path.glob('schema-*')))}.json"
        path.write_text(json.dumps(contract))
        return path
    return write


@pytest.fixture()
def own_csv(tmp_path, contract_file):
    """write(problem_type) -> (CSV path, contract path, frame) of a team's own data (see own_frame)."""
    def write(problem_type: str, rows: int = 600):
        frame = own_frame(problem_type, rows)
        path = tmp_path / f"own-{problem_type}.csv"
        frame.to_csv(path, index=False)
        return path, contract_file(problem_type, **OWN_CONTRACT), frame
    return write
