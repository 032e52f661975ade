"""The EventBridge event Step Functions sends when an execution's status changes.

On AWS a rule on "Step Functions Execution Status Change" invokes NotifyFailure when an
execution ends FAILED, TIMED_OUT or ABORTED. moto emits no such event, so the local
runner builds the same document from the execution's result (the ``detail`` carries
DescribeExecution's fields; dates are epoch milliseconds) and invokes the target itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from alchemiser.local.asl_runner import LOCAL_ACCOUNT_ID, LOCAL_REGION, ExecutionResult
from alchemiser.local.template import STATUS_CHANGE


def status_change_event(
    result: ExecutionResult, state_machine_arn: str, input_json: str
) -> dict[str, Any]:
    """Return the status-change event of an ended execution."""
    started = result.history[0].timestamp if result.history else datetime.now(UTC)
    stopped = result.history[-1].timestamp if result.history else datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": LOCAL_ACCOUNT_ID,
        "time": _aware(stopped).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": LOCAL_REGION,
        "resources": [result.execution_arn],
        "detail": {
            "executionArn": result.execution_arn,
            "stateMachineArn": state_machine_arn,
            "name": result.name,
            "status": result.status,
            "startDate": _millis(started),
            "stopDate": _millis(stopped),
            "input": input_json,
            "inputDetails": {"included": True},
            "output": None,
            "outputDetails": None,
            "error": result.error,
            "cause": result.cause,
        },
    }


FAILURE_EVENTS = frozenset(
    {"LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed", "TaskTimedOut"}
)


def failed_state(
    result: ExecutionResult,
    raised: Sequence[tuple[str, str]] = (),
    tasks_of: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """Return the state whose failure ended the execution; else the state entered last.

    moto's history may lose the failing task's events when a Parallel fails while a
    sibling Map iterates; then ``raised`` (the functions that raised, with their errors)
    names it, when only one state invokes that function (``tasks_of``).
    """
    for event in reversed(result.history):
        if event.type in FAILURE_EVENTS and event.error == result.error and event.state_name:
            return event.state_name
    for function, error in reversed(raised):
        states = (tasks_of or {}).get(function, ())
        if error == result.error and len(states) == 1:
            return states[0]
    entered = result.states_entered()
    return entered[-1] if entered else ""


def task_states_by_function(definition: Mapping[str, Any]) -> dict[str, list[str]]:
    """Return, per Lambda function name, the Task states of ``definition`` that invoke it."""
    found: dict[str, list[str]] = {}

    def walk(states: Mapping[str, Any]) -> None:
        for name, state in states.items():
            resource = str(state.get("Resource", ""))
            if state.get("Type") == "Task" and resource.startswith("arn:aws:lambda:"):
                found.setdefault(resource.rsplit(":", 1)[-1], []).append(name)
            for inner in (state.get("ItemProcessor"), *state.get("Branches", [])):
                if inner is not None:
                    walk(inner["States"])

    walk(definition["States"])
    return found


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _millis(moment: datetime) -> int:
    return int(_aware(moment).timestamp() * 1000)
