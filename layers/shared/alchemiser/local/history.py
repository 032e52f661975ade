"""Execution results and history events of a local Step Functions run, as plain data."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.stepfunctions.parser.models import stepfunctions_parser_backends

# Details that carry the state's name, e.g. {"stateEnteredEventDetails": {"name": ...}}.
_NAMED_DETAILS = ("stateEnteredEventDetails", "stateExitedEventDetails")
_NAMED_TYPE_PREFIXES = ("MapIteration",)


@dataclass(frozen=True)
class HistoryEvent:
    """One event of ``GetExecutionHistory`` with its JSON fields decoded.

    ``state_name`` is the state the event belongs to: given by the event for
    ``*StateEntered``/``*StateExited`` and map iterations, and traced back through
    ``previous_event_id`` to the entering event for task, Map and Parallel events.
    ``input`` is the state's input (for ``TaskScheduled``, the task's parameters);
    ``details`` is the raw ``...EventDetails`` mapping for anything else.
    """

    id: int
    previous_event_id: int | None
    timestamp: datetime
    type: str
    state_name: str | None = None
    input: Any | None = None
    output: Any | None = None
    error: str | None = None
    cause: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ExecutionResult:
    """How one execution ended, with its full history."""

    execution_arn: str
    name: str
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    output: Any | None
    error: str | None
    cause: str | None
    history: list[HistoryEvent]

    def states_entered(self) -> list[str]:
        """Return the names of the states entered, in the order they were entered."""
        return [
            event.state_name
            for event in self.history
            if event.type.endswith("StateEntered") and event.state_name is not None
        ]

    def events_of_type(self, event_type: str) -> list[HistoryEvent]:
        """Return the events of one type (e.g. ``"TaskFailed"``), in order."""
        return [event for event in self.history if event.type == event_type]


def decode_json(value: Any) -> Any:
    """Decode a JSON document held in a string; return anything else unchanged."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def parse_history(raw_events: Iterable[Mapping[str, Any]]) -> list[HistoryEvent]:
    """Turn ``GetExecutionHistory`` events (boto3 shapes) into `HistoryEvent` values."""
    ordered = sorted(raw_events, key=lambda raw: int(raw["id"]))
    names: dict[int, str | None] = {}
    previous: dict[int, int | None] = {}
    events = []
    for raw in ordered:
        event_id = int(raw["id"])
        previous_id = raw.get("previousEventId")
        previous[event_id] = int(previous_id) if previous_id is not None else None
        details = _details_of(raw)
        event_type = str(raw["type"])
        name = _own_state_name(event_type, raw, details)
        names[event_id] = name
        if name is None and not event_type.startswith("Execution"):
            name = _state_name_before(previous[event_id], names, previous)
        events.append(
            HistoryEvent(
                id=event_id,
                previous_event_id=previous[event_id],
                timestamp=_timestamp(raw["timestamp"]),
                type=event_type,
                state_name=name,
                input=decode_json(details.get("input", details.get("parameters"))),
                output=decode_json(details.get("output")),
                error=details.get("error"),
                cause=details.get("cause"),
                details=details,
            )
        )
    return events


def _timestamp(value: Any) -> datetime:
    """Return an event's time (moto's backend keeps some as ISO text or epoch seconds)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value))


def _details_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in raw.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return dict(value)
    return {}


def _own_state_name(
    event_type: str, raw: Mapping[str, Any], details: Mapping[str, Any]
) -> str | None:
    if any(key in raw for key in _NAMED_DETAILS) or event_type.startswith(_NAMED_TYPE_PREFIXES):
        name = details.get("name")
        return str(name) if name is not None else None
    return None


def _state_name_before(
    event_id: int | None, names: Mapping[int, str | None], previous: Mapping[int, int | None]
) -> str | None:
    """Follow ``previousEventId`` back to the nearest event that names a state."""
    seen: set[int] = set()
    while event_id is not None and event_id not in seen:
        seen.add(event_id)
        if names.get(event_id) is not None:
            return names[event_id]
        event_id = previous.get(event_id)
    return None


# Integer fields of history events (and of their *EventDetails) in the Step Functions API.
_INTEGER_FIELDS = frozenset({"id", "previousEventId", "index", "length"})


def backend_history(execution_arn: str) -> list[dict[str, Any]]:
    """Return an execution's events straight from moto's backend, integer fields sanitised."""
    account, region = execution_arn.split(":")[4], execution_arn.split(":")[3]
    backend = stepfunctions_parser_backends[account][region]
    events = [
        sanitise_integers(dict(event))
        for event in backend.get_execution_history(execution_arn)["events"]
    ]
    return [event for event in events if "id" in event]  # an event without its id cannot be placed


def sanitise_integers(event: dict[str, Any]) -> dict[str, Any]:
    """Drop integer fields holding anything but an integer (in the event and its details)."""
    clean: dict[str, Any] = {}
    for key, value in event.items():
        if key in _INTEGER_FIELDS and not isinstance(value, int):
            continue
        clean[key] = sanitise_integers(value) if isinstance(value, dict) else value
    return clean
