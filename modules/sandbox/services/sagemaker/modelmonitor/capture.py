"""Reading SageMaker's data capture and ground-truth JSON Lines.

Capture (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html): one JSON object per
line, ``{"captureData": {"endpointInput": {"observedContentType", "mode", "data", "encoding"}, "endpointOutput":
{...}}, "eventMetadata": {"eventId", "inferenceId"?, "inferenceTime"}, "eventVersion": "0"}``; ``encoding`` is
CSV, JSON or BASE64 (the bytes of ``observedContentType``). One request may carry several records (CSV lines, a
JSON list of rows).

Ground truth (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-model-quality-merge.html):
``{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<the capture's eventId or
inferenceId>"}, "eventVersion": "0"}`` under ``<ground truth prefix>/yyyy/mm/dd/hh/``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Iterator

from .dataquality import AnalyzerError, parse_csv


WINDOW: dict[str, str] = {}  # {"start_time", "end_time"} of the run (set by the container from its environment)


def in_window(record: dict[str, Any]) -> bool:
    """The platform downloads whole hour folders, sometimes more than [start_time, end_time]
    (model-monitor-byoc-contract-inputs.html); records whose inferenceTime is outside are skipped."""
    when = str((record.get("eventMetadata") or {}).get("inferenceTime") or "")
    start, end = WINDOW.get("start_time"), WINDOW.get("end_time")
    return not when or not start or not end or start <= when <= end  # same ISO-8601 Z format sorts as time


def records(root: Path, windowed: bool = True) -> Iterator[dict[str, Any]]:
    """Every JSON Lines record of every file under ``root`` (in path order: yyyy/mm/dd/hh sorts by time)."""
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        with path.open() as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError as exc:
                    raise AnalyzerError(f"{path.name} line {number}: not JSON ({exc})") from None
                if not windowed or in_window(record):
                    yield record


def _text(entry: dict[str, Any]) -> tuple[str, str]:
    """(content type, text) of a capture/ground-truth entry."""
    encoding = str(entry.get("encoding", "CSV")).upper()
    data = entry.get("data", "")
    ctype = str(entry.get("observedContentType") or ("application/json" if encoding == "JSON" else "text/csv"))
    if encoding == "BASE64":
        data = base64.b64decode(data).decode("utf-8", "replace")
    return ctype.split(";")[0].strip().lower(), str(data)


def _json_rows(value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        for key in ("instances", "inputs", "features", "data", "predictions", "outputs"):  # the usual envelopes
            if key in value:
                return _json_rows(value[key])
        return [[_scalar(v) for v in value.values()]]
    if isinstance(value, list):
        if value and all(isinstance(v, list) for v in value):
            return [[_scalar(x) for x in row] for row in value]
        if value and all(isinstance(v, dict) for v in value):
            return [row for v in value for row in _json_rows(v)]
        return [[_scalar(v) for v in value]]
    return [[_scalar(value)]]


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def rows_of(entry: dict[str, Any]) -> list[list[str]]:
    """The tabular records of one captured payload (CSV lines or JSON rows)."""
    ctype, text = _text(entry)
    if "json" in ctype:
        try:
            return _json_rows(json.loads(text))
        except ValueError:
            raise AnalyzerError(f"a captured {ctype} payload is not JSON") from None
    return parse_csv(text)


def monitored_rows(root: Path, indexes: tuple[str, ...] = ("endpointInput", "endpointOutput")) -> list[list[str]]:
    """The records a data-quality run analyses: per captured row, the output column(s) first, then the input's
    (model-monitor-create-baseline.html: "the prediction/output column(s) are assumed to be the 1st column(s)" of
    the baseline dataset, whose schema "should exactly match" the inference data). Without captured output (Input-only
    capture, or ``captureIndexNames`` without endpointOutput) the rows are the inputs alone."""
    out: list[list[str]] = []
    for record in records(root):
        data = record.get("captureData") or {}
        inputs = rows_of(data["endpointInput"]) if "endpointInput" in indexes and data.get("endpointInput") else []
        outputs = rows_of(data["endpointOutput"]) if "endpointOutput" in indexes and data.get("endpointOutput") else []
        if len(outputs) == 1 and len(inputs) > 1 and len(outputs[0]) == len(inputs):
            outputs = [[v] for v in outputs[0]]  # one flat answer for a batch: a value per row
        if not inputs:
            out.extend(outputs)
            continue
        out.extend((outputs[i] if i < len(outputs) else []) + row for i, row in enumerate(inputs))
    return out


def outputs(root: Path) -> Iterator[tuple[str, int, str, str]]:
    """(event id, number of input rows, output content type, output text) of each record with a captured output."""
    for record in records(root):
        data = record.get("captureData") or {}
        if not data.get("endpointOutput"):
            continue
        meta = record.get("eventMetadata") or {}
        ctype, text = _text(data["endpointOutput"])
        n = len(rows_of(data["endpointInput"])) if data.get("endpointInput") else 1
        yield str(meta.get("inferenceId") or meta.get("eventId") or ""), max(n, 1), ctype, text


def ground_truth(root: Path) -> dict[str, list[str]]:
    """{event id: the labels (one per captured row of the event)} of the ground-truth records under root (the
    latest record of an id wins)."""
    labels: dict[str, list[str]] = {}
    for record in records(root, windowed=False):  # ground truth arrives after the inference it labels
        entry = record.get("groundTruthData") or {}
        event = str((record.get("eventMetadata") or {}).get("eventId") or "")
        if not event or "data" not in entry:
            continue
        rows = rows_of({**entry, "observedContentType": "application/json" if str(entry.get("encoding", "")).upper()
                        == "JSON" else "text/csv"})
        if rows and rows[0]:
            labels[event] = [r[0] for r in rows if r] if len(rows) > 1 else list(rows[0]) if len(rows[0]) > 1 \
                else [rows[0][0]]
    return labels
