"""The object store on one machine: every key is a file under one root directory.

Keys are relative, ``/``-separated paths (``reports/2026-07-31/cycle.html``). A key is
refused when it is empty, absolute, has an empty, ``.`` or ``..`` segment, or holds a
backslash or a NUL, so no key can reach outside the root, and a key accepted here is
also a plain S3 key (``check_object_key`` is shared with the S3 adapter).

Writes are atomic: the bytes go to a temporary file in the target's directory, which is
then renamed over the target, so a reader (another thread of the local state machine,
or a person) never sees half an object, and a process killed mid-write leaves the old
object or the new one. Like the local SQLite files (``alchemiser.sqlite_db``), a write
is not forced to the disk: durable against a killed process, not against a power cut.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_FORBIDDEN_SEGMENTS = ("", ".", "..")


class ObjectKeyError(ValueError):
    """Raised for a key that is not a plain relative path."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(
            f"object key must be a relative path like 'reports/run.html', was {key!r}: {problem}"
        )


def check_object_key(key: str) -> str:
    """Return ``key`` when it is a plain relative ``/``-separated path; else raise ObjectKeyError."""
    if not key:
        raise ObjectKeyError(key, "it is empty")
    if "\\" in key or "\x00" in key:
        raise ObjectKeyError(key, "it holds a backslash or a NUL character")
    if key.startswith("/"):
        raise ObjectKeyError(key, "it is absolute")
    bad = [segment for segment in key.split("/") if segment in _FORBIDDEN_SEGMENTS]
    if bad:
        raise ObjectKeyError(key, f"it has a {bad[0] or 'empty'!r} segment")
    return key


class LocalObjectStore:
    """Objects as files under ``root`` (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> str:
        """Write ``data`` atomically to ``root/key``; return the file path.

        ``content_type`` is not stored: the file name's suffix says what it is.
        """
        target = self._path(key)
        self._check_inside(target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return str(target)

    def get_bytes(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; raise FileNotFoundError when there are none."""
        path = self._path(key)
        self._check_inside(path)
        if not path.is_file():
            raise FileNotFoundError(f"no object {key!r} in {self.root} (expected the file {path})")
        return path.read_bytes()

    def locate(self, key: str) -> str:
        """Return the file path of ``key`` (whether or not it exists yet)."""
        return str(self._path(key))

    def _path(self, key: str) -> Path:
        return self.root.absolute() / check_object_key(key)

    def _check_inside(self, path: Path) -> None:
        # A symlink inside the root could still lead out of it.
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root):
            raise ObjectKeyError(str(path), f"it resolves outside the store root {root}")
