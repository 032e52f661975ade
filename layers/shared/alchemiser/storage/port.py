"""The object store port: S3 on AWS, a local directory on one machine."""

from __future__ import annotations

from typing import Protocol


class ObjectStore(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` under ``key``; return where it can be found (a path or an s3:// URI)."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def locate(self, key: str) -> str:
        """Return where ``key`` lives, for people (a file path or an s3:// URI)."""
        ...
