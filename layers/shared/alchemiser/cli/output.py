"""Printing helpers shared by the commands: errors, JSON, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alchemiser.cli.paths import describe_os_error


def fail(problem: str | BaseException) -> int:
    """Print an error for the user and return the exit code for a failed command.

    An ``OSError`` is worded from its errno and path (never ``[Errno 2] ...``).
    """
    print(f"error: {message_of(problem)}", file=sys.stderr)
    return 1


def message_of(problem: str | BaseException) -> str:
    """Return what to tell the user about ``problem`` (an OSError worded from its errno)."""
    return describe_os_error(problem) if isinstance(problem, OSError) else str(problem)


def print_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


@contextmanager
def progress_bar(label: str, unit: str = "node") -> Iterator[Callable[[int, int], None]]:
    """Yield a progress callback: a bar on an interactive terminal, silent otherwise."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from tqdm import tqdm  # only on a terminal: it costs start-up time otherwise

    bar: tqdm[Any] | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=label, unit=unit, leave=False, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def percent(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f} %"


def number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
