"""Reliability drills: make a state fail on purpose (``alchemiser run --fail-at/--crash-at``).

``--fail-at STATE[:N]`` raises a *transient* error on the state's first N attempts (the
state machine's Retry then re-runs it); ``--crash-at STATE`` raises a non-retryable
error on its first attempt, failing the step (a book's failure, for EvaluateBook; the
execution, at that state, for the others). ``--hang-at STATE`` stops the step's first
attempt *inside* its work (after its idempotency record is written), says so on
stderr, and waits to be killed: what a process killed mid-step leaves behind.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

from alchemiser.errors import InjectedCrashError, TransientError

TASK_STATES = (
    "PlanCycle",
    "EvaluateBook",
    "PlanOrders",
    "ExecuteOrder",
    "CheckSells",
    "HedgePlan",
    "HedgeExecute",
    "Reconcile",
    "Notify",
)
HANG_LIMIT_S = 600.0  # a hung step nobody kills fails after this long


@dataclass
class FaultPlan:
    """Which states fail, and how many attempts have been seen (thread-safe)."""

    transient: dict[str, int] = field(default_factory=dict)  # state -> failing attempts
    crash: set[str] = field(default_factory=set)
    hang: set[str] = field(default_factory=set)
    _seen: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(
        cls, fail_at: list[str], crash_at: list[str], hang_at: list[str] | None = None
    ) -> FaultPlan:
        """Read ``STATE[:N]`` and ``STATE`` specs; unknown states are errors."""
        plan = cls()
        for spec in fail_at:
            state, _, count = spec.partition(":")
            _check_state(state)
            try:
                attempts = int(count) if count else 1
            except ValueError:
                raise ValueError(
                    f"--fail-at expects STATE[:N] with N a number, found {spec!r}"
                ) from None
            if attempts < 1:
                raise ValueError(f"--fail-at {spec}: N must be >= 1, was {attempts}")
            plan.transient[state] = attempts
        for state in crash_at:
            _check_state(state)
            plan.crash.add(state)
        for state in hang_at or []:
            _check_state(state)
            plan.hang.add(state)
        return plan

    def enter(self, state: str) -> None:
        """Count an attempt at ``state`` and raise if the drill says it fails now."""
        with self._lock:
            self._seen[state] = attempt = self._seen.get(state, 0) + 1
        if state in self.crash and attempt == 1:
            raise InjectedCrashError(
                f"drill: {state} crashed on its first attempt (--crash-at {state})"
            )
        if attempt <= self.transient.get(state, 0):
            raise TransientError(
                f"drill: {state} failed transiently on attempt {attempt} of {self.transient[state]} (--fail-at)"
            )

    def inside(self, state: str) -> None:
        """Hang the first attempt at ``state``'s work when the drill says so (until killed)."""
        with self._lock:
            if state not in self.hang:
                return
            self.hang.discard(state)  # only the first attempt hangs
        print(f"drill: {state} is hanging (--hang-at {state}); kill this process", file=sys.stderr)
        sys.stderr.flush()
        time.sleep(HANG_LIMIT_S)
        raise InjectedCrashError(f"drill: {state} hung for {HANG_LIMIT_S:g} s and nobody killed it")


def _check_state(state: str) -> None:
    if state not in TASK_STATES:
        raise ValueError(f"unknown state {state!r}; expected one of: {', '.join(TASK_STATES)}")
