"""Content-addressed photo files: one file per sha256, written atomically, never changed.

A file is written to a temporary name in its final folder, flushed to disk, and renamed into
place; a crash leaves at most a `.tmp-*` file, never a half photo under a real name. The same
content uploaded twice is stored once.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from enum import StrEnum
from pathlib import Path

SHA256 = re.compile(r"[0-9a-f]{64}")


class Variant(StrEnum):
    """Which file of a photo: the photo itself or its thumbnail."""

    PHOTO = "photo"
    THUMB = "thumb"


class PhotoStore:
    """Photo files under one root folder: <root>/<variant>/<sha[:2]>/<sha>."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, variant: Variant) -> Path:
        """Where a photo's file lives (the name is checked: no path can escape the root)."""
        if not SHA256.fullmatch(sha256):
            raise ValueError(f"not a sha256: {sha256[:80]!r}")
        return self.root / variant.value / sha256[:2] / sha256

    def put(self, sha256: str, variant: Variant, data: bytes) -> Path:
        """Store a file unless it is already there; atomic (temp file, fsync, rename)."""
        target = self.path(sha256, variant)
        if target.is_file() and target.stat().st_size == len(data):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _fsync_dir(target.parent)
        return target


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
