"""On-disk cache of SageMaker pipeline definitions: the SDK builds once per distinct input, every later plan,
check, sandbox run and ``pulumi preview``/``up`` (the program itself) reads the stored JSON without importing it.

Importing the SageMaker SDK costs ~2 s per process (``sagemaker.core`` builds ~1,000 pydantic models and imports
pandas), most of a cold ``ladder plan``; a build then takes ~10 ms. The definition is a pure function of
:class:`~modules.pipeline_definition.PipelineInputs` and the code that builds it, so the key is a SHA-256 over:

- every field of the inputs (names, ARNs, instance types, gate, KMS key, caching...);
- the source of ``pipeline_definition.py``, ``components/monitor_signals.py`` (the analyzer image table reader the
  baseline step uses) and this module;
- the versions of the SDK distributions (their code and bundled image tables) and of Python.

Entries live in ``.ladder/cache/definitions/<key>.json`` under the checkout (ignored by git, removed by
``make clean``; an installed wheel uses ``~/.cache/mlops-ladder/definitions``), or ``$LADDER_CACHE_DIR``.
Writes are a temp file + ``os.replace`` in the same directory, so concurrent writers and readers see a whole
entry or none. An entry that does not parse, names another key or is not the canonical serialisation is ignored
and rebuilt. ``LADDER_NO_CACHE=1`` turns the cache off; an
unwritable directory only loses the speed-up.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

from .files import atomic_write

CACHE_ENV = "LADDER_CACHE_DIR"
NO_CACHE_ENV = "LADDER_NO_CACHE"
FORMAT = 1
_HERE = Path(__file__).resolve().parent
SOURCES = ("pipeline_definition.py", "components/monitor_signals.py", "definition_cache.py")
SDK_DISTRIBUTIONS = ("sagemaker", "sagemaker-core", "sagemaker-mlops", "sagemaker-train", "sagemaker-serve")


def enabled() -> bool:
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("1", "true", "yes")


def directory() -> Path:
    """``$LADDER_CACHE_DIR``, else ``.ladder/cache/definitions`` under the checkout (an editable install too),
    else - an installed wheel, whose ``modules`` sits in site-packages - the user's cache directory
    (``$XDG_CACHE_HOME/mlops-ladder/definitions``, default ``~/.cache``), never site-packages."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    root = _HERE.parent
    if (root / "pyproject.toml").is_file():
        return root / ".ladder" / "cache" / "definitions"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlops-ladder" / "definitions"


@functools.lru_cache(maxsize=1)
def fingerprint() -> dict[str, Any]:
    """What every definition depends on besides its inputs (read once per process)."""
    import importlib.metadata

    versions: dict[str, str | None] = {}
    for dist in SDK_DISTRIBUTIONS:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {"format": FORMAT, "python": list(sys.version_info[:3]), "sdk": versions,
            "sources": {name: hashlib.sha256((_HERE / name).read_bytes()).hexdigest() for name in SOURCES}}


def key(inputs: Any) -> str:
    material = {"inputs": dataclasses.asdict(inputs), **fingerprint()}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=repr).encode()).hexdigest()


def _canonical(text: str) -> str:
    return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def read(digest: str) -> str | None:
    try:
        entry = json.loads((directory() / f"{digest}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing, unreadable or torn: build again (and overwrite)
    if not isinstance(entry, dict) or entry.get("key") != digest or not isinstance(entry.get("definition"), str):
        return None
    definition = entry["definition"]
    try:
        return definition if _canonical(definition) == definition else None
    except ValueError:
        return None


def write(digest: str, definition: str) -> None:
    write_file(directory() / f"{digest}.json", json.dumps({"key": digest, "definition": definition}))


def write_file(path: Path, text: str) -> None:
    """Temp file + rename in the same directory: readers see the old file, none, or the whole new one."""
    try:
        atomic_write(path, text)
    except OSError:
        return  # a read-only checkout or a full disk: the cache is only a speed-up


def cached(inputs: Any, build: Callable[[Any], str]) -> str:
    """The definition for ``inputs``: from the cache, else ``build(inputs)`` stored for next time."""
    if not enabled():
        return build(inputs)
    digest = key(inputs)
    hit = read(digest)
    if hit is not None:
        return hit
    definition = build(inputs)
    write(digest, definition)
    return definition
