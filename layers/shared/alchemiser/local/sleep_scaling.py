"""Scale the real sleeps of moto's Step Functions interpreter (Wait states, Retry back-off).

moto (checked on 5.2.x) sleeps in exactly two places while it interprets ASL:

* ``RetrierDecl._eval_body`` (module ``...asl.component.common.retry.retrier_decl``)
  computes the back-off interval and calls ``time.sleep(interval_seconds)`` through
  the module's own ``time`` name;
* ``WaitFunction._wait_interval(env, wait_seconds)`` (module
  ``...asl.component.state.wait.wait_function.wait_function``) blocks on
  ``env.program_state_event`` for the seconds a Wait state computed (from ``Seconds``,
  ``SecondsPath``, ``Timestamp`` or ``TimestampPath``), and returns early when the
  execution stops.

moto has no setting for either, so `scaled_sleeps` patches both, and nothing else, for
the duration of a ``with`` block: the retrier module's ``time`` name becomes a proxy
whose ``sleep`` is scaled (every other attribute is the real ``time`` module), and
``WaitFunction._wait_interval`` becomes an equivalent scaled wait that still ends
early when the execution is stopped. Both are restored on exit. The patch points are
checked on entry and `MotoHookError` names the one that moved after a moto upgrade;
the canary tests in ``tests/integration/test_asl_runner.py`` check the behaviour.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import moto
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

# moto's interpreter is process-wide, so only one scale can be in force at a time.
_PATCH_LOCK = threading.Lock()


class MotoHookError(RuntimeError):
    """Raised when moto's internals no longer look like the ones this module patches."""


class _ScaledTime:
    """Stand-in for the ``time`` module with a scaled ``sleep``; all else is real time."""

    def __init__(self, time_scale: float) -> None:
        self._time_scale = time_scale

    def sleep(self, seconds: float) -> None:
        scaled = max(seconds, 0.0) * self._time_scale
        if scaled > 0:
            time.sleep(scaled)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _scaled_wait_interval(time_scale: float) -> Callable[[Any, Any, float], None]:
    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        deadline = time.monotonic() + max(wait_seconds, 0) * time_scale
        # Same contract as moto's: block on the program-state event so that a
        # StopExecution (or an error elsewhere) interrupts the wait.
        while env.is_running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            env.program_state_event.wait(remaining)

    return wait_interval


def check_hook_points() -> None:
    """Raise `MotoHookError` unless moto still sleeps where `scaled_sleeps` patches."""
    found = getattr(retrier_decl, "time", None)
    if not isinstance(found, types.ModuleType) or found is not time:
        raise MotoHookError(
            f"moto {moto.__version__}: expected {retrier_decl.__name__}.time to be the "
            f"time module (Retry back-off sleeps through it), found {found!r}"
        )
    original = wait_function.WaitFunction.__dict__.get("_wait_interval")
    if original is None:
        raise MotoHookError(
            f"moto {moto.__version__}: WaitFunction._wait_interval no longer exists; "
            "Wait states can no longer be shortened"
        )
    parameters = list(inspect.signature(original).parameters)
    if parameters != ["self", "env", "wait_seconds"]:
        raise MotoHookError(
            f"moto {moto.__version__}: expected WaitFunction._wait_interval(self, env, "
            f"wait_seconds), found parameters {parameters}"
        )


@contextmanager
def scaled_sleeps(time_scale: float) -> Iterator[None]:
    """Multiply moto's Wait-state and Retry sleeps by ``time_scale`` inside the block.

    ``0`` skips them, ``1`` keeps real time, ``0.01`` turns a minute into 0.6 s. Only
    one block may be active per process: a second one raises `RuntimeError`.
    """
    if not (math.isfinite(time_scale) and time_scale >= 0):
        raise ValueError(f"time_scale must be a finite number >= 0, was {time_scale!r}")
    if not _PATCH_LOCK.acquire(blocking=False):
        raise RuntimeError(
            "moto's Step Functions sleeps are already scaled by another active session; "
            "the interpreter is process-wide, so run one local session at a time"
        )
    try:
        check_hook_points()
        with (
            patch.object(retrier_decl, "time", _ScaledTime(time_scale)),
            patch.object(
                wait_function.WaitFunction, "_wait_interval", _scaled_wait_interval(time_scale)
            ),
        ):
            yield
    finally:
        _PATCH_LOCK.release()
