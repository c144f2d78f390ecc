"""Writing a file so readers see the old version or the whole new one, never half of it: a temp file in the
same directory (same filesystem, so the rename is atomic), fsync'd, then ``os.replace``d over the target."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path


def write_beside(path: Path, text: str) -> Path:
    """Write ``text`` to a new temp file beside ``path`` (fsync'd, with ``path``'s permission bits when it exists)
    and return it; the caller renames it over ``path`` (``os.replace``) or unlinks it. Nothing is left on error."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (its directory created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_beside(path, text)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
