"""What spec validation reads from botocore (the regions it knows SageMaker in, and the instance-type enums of the
SageMaker service model), computed once per botocore version and kept on disk.

Loading botocore's session, endpoint data and the SageMaker service model costs ~0.25 s per process, a large part
of ``ladder validate`` and of every plan; the answer only changes when botocore does. The table is stored next to
the definition cache (``.ladder/cache/botocore-<version>-<digest>.json``, or ``$LADDER_CACHE_DIR/..``), written
temp + rename, recomputed when missing or unreadable, and never used with ``LADDER_NO_CACHE=1``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from . import definition_cache



def shapes() -> dict[str, str]:
    """use -> the botocore shape whose enum lists its instance types (modules/validation.py INSTANCE_USES)."""
    from .validation import INSTANCE_USES

    return {use: shape for use, (shape, _) in INSTANCE_USES.items()}


def compute() -> dict[str, Any]:
    """Straight from botocore."""
    import botocore.session

    session = botocore.session.get_session()
    regions: dict[str, str] = {}
    for partition in session.get_available_partitions():
        for region in session.get_available_regions("sagemaker", partition):
            regions[region] = partition
    model = session.get_service_model("sagemaker")
    return {"regions": regions,
            "instance_types": {use: sorted(model.shape_for(shape).enum) for use, shape in shapes().items()}}


def _path() -> Path | None:
    import importlib.metadata

    try:
        version = importlib.metadata.version("botocore")
    except importlib.metadata.PackageNotFoundError:
        return None
    material = Path(__file__).read_bytes() + json.dumps(shapes(), sort_keys=True).encode()
    digest = hashlib.sha256(material).hexdigest()[:16]
    return definition_cache.directory().parent / f"botocore-{version}-{digest}.json"


@functools.lru_cache(maxsize=1)
def facts() -> dict[str, Any]:
    path = _path() if definition_cache.enabled() else None
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("regions"), dict) and \
                    set(data.get("instance_types") or {}) == set(shapes()):
                return data
        except (OSError, ValueError):
            pass
    data = compute()
    if path is not None:
        definition_cache.write_file(path, json.dumps(data, sort_keys=True))
    return data
