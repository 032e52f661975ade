"""The executions port on Step Functions (moto): is an execution running, where did it fail."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from alchemiser.executions.stepfunctions import StepFunctionsExecutions
from alchemiser.local.asl_runner import LOCAL_ACCOUNT_ID, LOCAL_REGION, LocalStepFunctions
from alchemiser.local.definition import substitute_definition
from alchemiser.local.history import ExecutionResult, HistoryEvent
from alchemiser.local.status_events import failed_state, task_states_by_function
from alchemiser.local.template import local_state_machine
from tests.conftest import REPO_ROOT

ROLE = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/cycle"


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", LOCAL_REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():  # moto does not run the machine: an execution stays RUNNING
        yield boto3.client("stepfunctions", region_name=LOCAL_REGION)


def test_an_execution_is_running_until_it_stops_and_an_unknown_one_is_not(sfn: Any) -> None:
    # Given a running execution
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(
        name="cycle", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="scheduled")["executionArn"]
    executions = StepFunctionsExecutions(sfn)
    # Then it is running; once aborted it is not; nor is an execution that never existed
    assert executions.is_running(arn)
    sfn.stop_execution(executionArn=arn)
    assert not executions.is_running(arn)
    assert not executions.is_running(arn.replace(":scheduled", ":never-started"))


def test_the_failed_state_is_the_task_whose_error_ended_the_execution() -> None:
    # Given a Parallel whose hedge-like branch fails while the other branch's Map still runs
    release = threading.Event()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        release.wait(timeout=5)
        return {}

    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("hedge crashed")

    slow_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:slow"
    crash_arn = f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:crash"
    item = {
        "StartAt": "Walk",
        "States": {"Walk": {"Type": "Task", "Resource": slow_arn, "End": True}},
    }
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "Orders",
                        "States": {
                            "Orders": {
                                "Type": "Map",
                                "ItemsPath": "$.ids",
                                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **item},
                                "End": True,
                            }
                        },
                    },
                    {
                        "StartAt": "Hedge",
                        "States": {"Hedge": {"Type": "Task", "Resource": crash_arn, "End": True}},
                    },
                ],
            }
        },
    }
    with LocalStepFunctions(definition, {}, {slow_arn: slow, crash_arn: crash}) as session:
        result = session.start("day", {"ids": [1, 2, 3]})
        release.set()
        session.lambdas.wait_idle(10)
        # When the adapter reads the history the way it does on AWS, and the runner its own
        on_aws = StepFunctionsExecutions(boto3.client("stepfunctions")).failed_state(
            result.execution_arn
        )
    # Then both name the state that failed, not the last one entered
    assert result.status == "FAILED"
    assert (on_aws, failed_state(result)) == ("Hedge", "Hedge")


def test_a_failing_task_whose_events_moto_lost_is_named_by_the_function_that_raised() -> None:
    # Given an execution whose history lost the failing Hedge task's events (moto drops
    # events it recorded malformed when a Parallel fails while a sibling Map iterates)
    entered = [
        HistoryEvent(n, n - 1, datetime(2026, 1, 1, tzinfo=UTC), "TaskStateEntered", name)
        for n, name in enumerate(["Hedge", "ExecuteSellOrder", "ExecuteSellOrder"], start=1)
    ]
    result = ExecutionResult("arn", "day", "FAILED", None, "InjectedCrashError", "", entered)
    tasks = {"alchemiser-dev-hedge": ["Hedge"], "alchemiser-dev-execute-order": ["ExecuteSellOrder", "ExecuteBuyOrder"]}  # fmt: skip
    # Then the function that raised the execution's error names it, when one state calls it
    raised = [("alchemiser-dev-hedge", "InjectedCrashError")]
    assert failed_state(result, raised, tasks) == "Hedge"
    # and without that, the state entered last is all there is to say
    assert failed_state(result) == "ExecuteSellOrder"


def test_the_cycles_task_states_are_found_per_function() -> None:
    machine = local_state_machine(REPO_ROOT, "dev")
    tasks = task_states_by_function(
        substitute_definition(machine.definition, machine.substitutions)
    )
    assert tasks["alchemiser-dev-execute-order"] == ["ExecuteSellOrder", "ExecuteBuyOrder"]
    assert tasks["alchemiser-dev-hedge-plan"] == ["HedgePlan"]
    assert tasks["alchemiser-dev-hedge-execute"] == ["HedgeExecute"]
    assert "alchemiser-dev-notify-failure" not in tasks
