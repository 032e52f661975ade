"""One-line errors for paths a user gives the CLI: the path, what is wrong, what was expected.

The commands check the paths they are given before using them (``check_file``,
``check_directory``, ``check_output_file``), and any ``OSError`` that still reaches a
command is worded by ``describe_os_error`` from its errno and file name, never shown
as a raw ``[Errno 2] ...`` or a traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

SYMPHONY_FILE = "a symphony .clj file"
BOOKS_FILE = "a books.yaml file"
PRICE_DIRECTORY = "a directory of <TICKER>.csv or <TICKER>.parquet price files"

_PROBLEMS = {
    errno.ENOENT: "does not exist",
    errno.EACCES: "cannot be read or written: permission denied",
    errno.EPERM: "is not permitted: permission denied",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "is not a directory (or a folder on its way is a file)",
    errno.EEXIST: "already exists",
    errno.ENOSPC: "cannot be written: the disk is full",
    errno.EROFS: "cannot be written: read-only file system",
    errno.ENAMETOOLONG: "has a name that is too long",
}


class PathError(ValueError):
    """A path given on the command line is not what the command expects."""


def describe_os_error(exc: OSError, expected: str | None = None) -> str:
    """Return ``<path>: <problem> (expected <what>)`` for an OSError, in one line."""
    path = exc.filename if exc.filename is not None else None
    problem = _PROBLEMS.get(exc.errno or -1) or (exc.strerror or str(exc)).strip()
    if exc.filename2 is not None:
        problem += f" (with {exc.filename2})"
    where = f"{path}: " if path is not None else ""
    wanted = f" (expected {expected})" if expected else ""
    return " ".join(f"{where}{problem}{wanted}".split())


def check_file(path: Path, expected: str) -> None:
    """Raise PathError unless ``path`` is a readable file."""
    if not path.exists():
        raise PathError(f"{path}: does not exist (expected {expected})")
    if path.is_dir():
        raise PathError(f"{path}: is a directory (expected {expected})")
    if not os.access(path, os.R_OK):
        raise PathError(f"{path}: cannot be read: permission denied (expected {expected})")


def check_directory(path: Path, expected: str) -> None:
    """Raise PathError unless ``path`` is a readable directory."""
    if not path.exists():
        raise PathError(f"{path}: does not exist (expected {expected})")
    if not path.is_dir():
        raise PathError(f"{path}: is a file (expected {expected})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise PathError(f"{path}: cannot be read: permission denied (expected {expected})")


def check_books_file(path: Path) -> None:
    """Raise PathError unless ``path`` is a readable .yaml/.yml file."""
    expected = f"{BOOKS_FILE}, its strategies in the same folder"
    check_file(path, expected)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise PathError(f"{path}: is not a .yaml file (expected {expected})")


def check_output_file(path: Path, expected: str) -> None:
    """Raise PathError unless ``path`` can be written: its folder exists and it is no folder."""
    folder = path.parent
    if path.is_dir():
        raise PathError(f"{path}: is a directory (expected {expected} to write)")
    if not folder.is_dir():
        state = "does not exist" if not folder.exists() else "is a file"
        raise PathError(f"{path}: cannot be written: folder {folder} {state} (expected {expected})")
    if not os.access(folder, os.W_OK):
        raise PathError(f"{path}: cannot be written: permission denied in {folder}")


def add_home_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--home`` and ``--data``: which local home a command reads (as for ``run``)."""
    parser.add_argument(
        "--home", type=Path, metavar="DIR", help="the local home directory (as for `run`)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="the price directory whose default home to use (default: the synthetic demo's)",
    )
