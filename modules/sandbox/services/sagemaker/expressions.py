"""Pipeline definition expressions, evaluated as SageMaker Pipelines evaluates them.

A definition's values may be literals or expressions (SageMaker Model Building Pipelines definition schema,
https://aws-sagemaker-mlops.github.io/sagemaker-model-building-pipeline-definition-JSON-schema/):

* ``{"Get": "Parameters.<name>"}``, ``{"Get": "Execution.<variable>"}``, ``{"Get": "Steps.<step>.<property path>"}``
  (property paths as in the step's Describe* response, e.g. ``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri``;
  ``PropertyFiles.<name>`` names a property file of a processing step);
* ``{"Std:Join": {"On": sep, "Values": [...]}}``;
* ``{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.<step>.PropertyFiles.<name>"}, "Path": "a.b[0].c"}}``;
* conditions ``{"Type": "GreaterThanOrEqualTo" | ..., "LeftValue": .., "RightValue": ..}``, ``Not``, ``Or``, ``In``.

An unknown expression or a reference that cannot be resolved raises :class:`ExpressionError`, which fails the step
the way SageMaker fails it (no silent default).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

_INDEX = re.compile(r"([^.\[\]]+)|\[(?:'([^']*)'|\"([^\"]*)\"|(\d+))\]")


class ExpressionError(ValueError):
    """A definition expression SageMaker would reject or could not resolve at run time."""


def references(value: Any) -> set[str]:
    """Names of the steps a value refers to (``Steps.<name>...``), recursively."""
    found: set[str] = set()
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(get.split(".", 2)[1])
        for v in value.values():
            found |= references(v)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found


def split_path(path: str) -> list[str | int]:
    """``Outputs['train'].S3Output.S3Uri`` -> ``['Outputs', 'train', 'S3Output', 'S3Uri']``."""
    parts: list[str | int] = []
    pos = 0
    for match in _INDEX.finditer(path):
        if path[pos:match.start()].strip(".") != "":
            raise ExpressionError(f"malformed property path {path!r}")
        name, single, double, index = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(single if single is not None else double)
        pos = match.end()
    if path[pos:].strip(".") != "":
        raise ExpressionError(f"malformed property path {path!r}")
    return parts


def walk(doc: Any, parts: list[str | int], what: str) -> Any:
    """Follow a property path. A list indexed by a string is searched by its items' ``*Name`` key (SageMaker's
    ``Outputs['train']`` selects the output whose ``OutputName`` is ``train``)."""
    current = doc
    for part in parts:
        if isinstance(current, list) and isinstance(part, str):
            matches = [item for item in current if isinstance(item, dict)
                       and part in [v for k, v in item.items() if k.endswith("Name")]]
            if not matches:
                raise ExpressionError(f"{what}: no element named {part!r}")
            current = matches[0]
        elif isinstance(current, list) and isinstance(part, int):
            if part >= len(current):
                raise ExpressionError(f"{what}: index {part} out of range")
            current = current[part]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            raise ExpressionError(f"{what}: {part!r} is not there")
    return current


class Evaluator:
    """Resolves expressions against parameters, execution variables and finished steps.

    ``step_property(step, parts)`` returns a step's property (raises ExpressionError when the step has not run);
    ``property_file(step, name)`` returns the parsed JSON of a step's property file.
    """

    def __init__(self, parameters: dict[str, Any], execution: dict[str, Any],
                 step_property: Callable[[str, list[str | int]], Any],
                 property_file: Callable[[str, str], Any]):
        self.parameters = parameters
        self.execution = execution
        self.step_property = step_property
        self.property_file = property_file

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Get"}:
            return self._get(value["Get"])
        if set(value) == {"Std:Join"}:
            spec = value["Std:Join"]
            return str(spec.get("On", "")).join(_text(self.resolve(v)) for v in spec.get("Values", []))
        if set(value) == {"Std:JsonGet"}:
            return self._json_get(value["Std:JsonGet"])
        if any(k.startswith("Std:") for k in value):
            raise ExpressionError(f"unsupported pipeline function {sorted(value)}")
        return {k: self.resolve(v) for k, v in value.items()}

    def _get(self, ref: Any) -> Any:
        if not isinstance(ref, str) or "." not in ref:
            raise ExpressionError(f"malformed Get {ref!r}")
        scope, rest = ref.split(".", 1)
        if scope == "Parameters":
            if rest not in self.parameters:
                raise ExpressionError(f"parameter {rest!r} is not declared by the pipeline")
            return self.parameters[rest]
        if scope == "Execution":
            if rest not in self.execution:
                raise ExpressionError(f"unknown execution variable {rest!r}")
            return self.execution[rest]
        if scope == "Steps":
            step, _, path = rest.partition(".")
            return self.step_property(step, split_path(path) if path else [])
        raise ExpressionError(f"unknown reference scope in {ref!r}")

    def _json_get(self, spec: dict[str, Any]) -> Any:
        ref = (spec.get("PropertyFile") or {}).get("Get", "") if isinstance(spec.get("PropertyFile"), dict) else ""
        match = re.fullmatch(r"Steps\.([^.]+)\.PropertyFiles\.([^.]+)", str(ref))
        if not match:
            raise ExpressionError(f"JsonGet needs a PropertyFile reference, got {spec.get('PropertyFile')!r}")
        doc = self.property_file(match.group(1), match.group(2))
        path = str(spec.get("Path", ""))
        return walk(doc, split_path(path), f"JsonGet {match.group(2)}:{path}")

    # ---- conditions -------------------------------------------------------------------------------------
    def condition(self, cond: dict[str, Any]) -> bool:
        kind = cond.get("Type")
        if kind == "Not":
            return not self.condition(cond["Expression"])
        if kind == "Or":
            return any(self.condition(c) for c in cond.get("Conditions", []))
        if kind == "In":
            left = self.resolve(cond.get("QueryValue"))
            return any(_equal(left, self.resolve(v)) for v in cond.get("Values", []))
        left, right = self.resolve(cond.get("LeftValue")), self.resolve(cond.get("RightValue"))
        if kind == "Equals":
            return _equal(left, right)
        compare = {"GreaterThan": lambda a, b: a > b, "GreaterThanOrEqualTo": lambda a, b: a >= b,
                   "LessThan": lambda a, b: a < b, "LessThanOrEqualTo": lambda a, b: a <= b}.get(str(kind))
        if compare is None:
            raise ExpressionError(f"unsupported condition type {kind!r}")
        try:
            return bool(compare(_number(left), _number(right)))
        except (TypeError, ValueError) as exc:
            raise ExpressionError(f"{kind}: cannot compare {left!r} with {right!r}") from exc


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("boolean")
    return float(value)


def _equal(a: Any, b: Any) -> bool:
    try:
        return _number(a) == _number(b)
    except (TypeError, ValueError):
        return a == b


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
