"""The executions port. Adapters: Step Functions (AWS) and the local runner's (one per home)."""

from __future__ import annotations

from typing import Protocol


class Executions(Protocol):
    """What the cycle asks about executions of its own state machine."""

    def is_running(self, execution_arn: str) -> bool:
        """Return whether that execution is running (or waiting for a redrive)."""
        ...

    def failed_state(self, execution_arn: str) -> str:
        """Return the last state the ended execution entered ('' when unknown)."""
        ...


class NoOtherExecutions:
    """The local runner's answer: it holds its home's lock, so no other execution runs.

    ``ended`` records where each local execution stopped, for the failure email.
    """

    def __init__(self) -> None:
        self._failed_at: dict[str, str] = {}

    def is_running(self, execution_arn: str) -> bool:
        return False

    def ended(self, execution_arn: str, failed_state: str) -> None:
        self._failed_at[execution_arn] = failed_state

    def failed_state(self, execution_arn: str) -> str:
        return self._failed_at.get(execution_arn, "")
