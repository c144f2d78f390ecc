"""The data contract: schema.json (generated from the platform's stack spec, `projects[].data`) and the schema
training resolves from it.

schema.json - what the team declares:

    {"version": 1, "problem_type": "binary|multiclass|regression", "label": "<label column>",
     "categorical": ["<column>", ...], "drop": ["<column>", ...]}

The resolved schema - what train.py writes to <model_dir>/schema.json, and what serving, evaluation and drift
read (predictor.py):

    {"version": 1, "problem_type": ..., "label": ..., "drop": [...],
     "features": [{"name": "age", "type": "numerical"},
                  {"name": "plan", "type": "categorical", "categories": ["basic", "pro"]}],
     "classes": [0, 1]}                               # classification only; binary: the positive class is classes[1]

features: every column of the training split except the label and the dropped ones, in CSV order - which is
also the order of a text/csv request and of the monitoring baseline. Categories are those of the training
split (sorted); a category first seen at serving time is ignored by the model.

preprocess.py carries its own copy of the contract reader (a SageMaker processing job downloads that one
script only); the two are tested to agree.
"""

import json
from pathlib import Path

import pandas as pd

SCHEMA_FILE = "schema.json"
PROBLEM_TYPES = ("binary", "multiclass", "regression")
CLASSIFICATION = ("binary", "multiclass")
VERSION = 1
# Every CSV is read as serving and drift read it: an empty cell is a missing value, and nothing else - pandas'
# default NA strings ("NA", "None", "null", "N/A", "nan", ...) are values (a category "NA", a class "None")
CSV_NA = {"keep_default_na": False, "na_values": [""]}


class ContractError(ValueError):
    """schema.json or the data does not fit the contract; the message names the file, key or column."""


def default_path() -> Path:
    return Path(__file__).resolve().parent / SCHEMA_FILE


def validate(contract: dict, source="schema.json") -> dict:
    """The contract itself, checked: keys, types, no column both categorical and dropped, label in neither."""
    if not isinstance(contract, dict):
        raise ContractError(f"{source}: expected a JSON object")
    if contract.get("problem_type") not in PROBLEM_TYPES:
        raise ContractError(f"{source}: problem_type must be one of {', '.join(PROBLEM_TYPES)}, "
                            f"got {contract.get('problem_type')!r}")
    label = contract.get("label")
    if not isinstance(label, str) or not label:
        raise ContractError(f"{source}: label must name the label column, got {label!r}")
    for key in ("categorical", "drop"):
        names = contract.get(key, [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ContractError(f"{source}: {key} must be a list of column names, got {names!r}")
    categorical, drop = contract.get("categorical", []), contract.get("drop", [])
    overlap = sorted((set(categorical) & set(drop)) | ({label} & set(categorical + drop)))
    if overlap:
        raise ContractError(f"{source}: label, categorical and drop must not overlap: {overlap}")
    return {"version": contract.get("version", VERSION), "problem_type": contract["problem_type"], "label": label,
            "categorical": list(contract.get("categorical", [])), "drop": list(contract.get("drop", []))}


def load(path=None) -> dict:
    """The contract from schema.json (default: the one next to this module)."""
    path = Path(path) if path else default_path()
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ContractError(f"{path}: the data contract schema.json does not exist") from None
    except ValueError as exc:
        raise ContractError(f"{path}: not valid JSON ({exc})") from None
    return validate(raw, str(path))


def read_csv(path, contract: dict) -> pd.DataFrame:
    """A CSV under the contract: categorical columns as text exactly as written (empty = missing, "NA" is text)."""
    return pd.read_csv(path, dtype={name: str for name in contract["categorical"]}, **CSV_NA)


def json_scalar(value):
    """A label value as JSON holds it (numpy int64 -> int, ...)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def resolve(frame: pd.DataFrame, contract: dict) -> dict:
    """The resolved schema of a training split (see the module docstring)."""
    label = contract["label"]
    if label not in frame.columns:
        raise ContractError(f"label column {label!r} is not in the data; columns found: {list(frame.columns)}")
    categorical = set(contract["categorical"])
    features = []
    for name in frame.columns:
        if name == label or name in contract["drop"]:
            continue
        if name in categorical:
            values = frame[name].dropna().astype(str)
            features.append({"name": name, "type": "categorical", "categories": sorted(set(values))})
        else:
            features.append({"name": name, "type": "numerical"})
    resolved = {"version": VERSION, "problem_type": contract["problem_type"], "label": label,
                "drop": list(contract["drop"]), "features": features}
    if contract["problem_type"] in CLASSIFICATION:
        resolved["classes"] = sorted({json_scalar(v) for v in frame[label].dropna()}, key=_sort_key)
    return resolved


def _sort_key(value):
    # numbers before text, each in its natural order (mixed labels cannot be compared directly)
    return (isinstance(value, str), value)


def write(resolved: dict, path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(resolved, indent=2) + "\n")
    return path
