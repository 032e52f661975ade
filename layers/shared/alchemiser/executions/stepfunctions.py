"""The executions port on AWS: DescribeExecution and GetExecutionHistory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from alchemiser.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_LIVE = frozenset({"RUNNING", "PENDING_REDRIVE"})
_GONE = frozenset({"ExecutionDoesNotExist", "InvalidArn"})
_TRANSIENT = frozenset({"ThrottlingException", "ServiceUnavailable", "InternalServerError"})
_HISTORY_PAGE = 100
_HISTORY_PAGES = 10  # the failing task's events are among the last thousand
_STOPPED = frozenset({"ExecutionTimedOut", "ExecutionAborted"})
_FAILURES = frozenset(
    {"LambdaFunctionFailed", "LambdaFunctionTimedOut", "TaskFailed", "TaskTimedOut"}
)


class StepFunctionsExecutions:
    """Executions of the daily cycle, read through the Step Functions API."""

    def __init__(self, client: SFNClient) -> None:
        self._client = client

    def is_running(self, execution_arn: str) -> bool:
        try:
            described = self._client.describe_execution(executionArn=execution_arn)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _GONE:
                return False
            if code in _TRANSIENT:
                raise TransientError(
                    f"Step Functions DescribeExecution of {execution_arn} failed transiently "
                    f"({code}); retry the step"
                ) from error
            raise
        return str(described["status"]) in _LIVE

    def failed_state(self, execution_arn: str) -> str:
        """Return the state of the task whose error ended the execution (else the last entered).

        Reads the history newest first, a page at a time, until it has followed the
        failing task's events back to the state it entered.
        """
        events: dict[int, dict[str, Any]] = {}
        request: dict[str, Any] = {
            "executionArn": execution_arn,
            "reverseOrder": True,
            "maxResults": _HISTORY_PAGE,
        }
        for _ in range(_HISTORY_PAGES):
            try:
                page = self._client.get_execution_history(**request)
            except ClientError as err:
                if str(err.response.get("Error", {}).get("Code", "")) in _GONE:
                    return ""
                raise
            events.update({int(e["id"]): dict(e) for e in page["events"]})
            ended = [e for e in events.values() if str(e["type"]).startswith("Execution")]
            if any(e["type"] in _STOPPED for e in ended):
                return _last_entered(events)  # timed out or aborted: where it was
            found = _failing_task_state(events)
            if found or "nextToken" not in page:
                return found or _last_entered(events)
            request["nextToken"] = page["nextToken"]
        return _last_entered(events)


def _failing_task_state(events: dict[int, dict[str, Any]]) -> str:
    """Return the state of the latest task failure carrying the execution's error."""
    failed = [e for e in events.values() if e["type"] == "ExecutionFailed"]
    if not failed:
        return ""
    error = _details(failed[0]).get("error")
    tasks = [
        e for e in events.values() if e["type"] in _FAILURES and _details(e).get("error") == error
    ]
    if not tasks:
        return ""
    return _entered(max(tasks, key=lambda e: int(e["id"])), events)


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _entered(event: dict[str, Any] | None, events: dict[int, dict[str, Any]]) -> str:
    """Follow previousEventId back from ``event`` to the state it belongs to ('' if unread)."""
    seen: set[int] = set()
    while event is not None and int(event["id"]) not in seen:
        seen.add(int(event["id"]))
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            return str(entered["name"])
        previous = event.get("previousEventId")
        event = events.get(int(previous)) if previous is not None else None
    return ""


def _last_entered(events: dict[int, dict[str, Any]]) -> str:
    for event_id in sorted(events, reverse=True):
        entered = events[event_id].get("stateEnteredEventDetails")
        if entered is not None:
            return str(entered["name"])
    return ""
