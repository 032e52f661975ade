"""The in-process Step Functions runner, on toy state machines.

Every machine here is synthetic plumbing: the values mean nothing, only the routing,
the error names, the history and the timing do.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest.mock import patch

import boto3
import moto
import pytest
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from moto import mock_aws
from moto.core.config import default_user_config
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

from alchemiser.local.asl_runner import (
    LOCAL_ACCOUNT_ID,
    LOCAL_REGION,
    DefinitionError,
    ExecutionAlreadyExistsError,
    ExecutionDeadlineExceededError,
    ExecutionNotRedrivableError,
    LocalStepFunctions,
    run_state_machine,
)
from alchemiser.local.client_reuse import check_client_hook_point
from alchemiser.local.history import parse_history, sanitise_integers
from alchemiser.local.sleep_scaling import check_hook_points

FIXTURES = Path(__file__).parent / "fixtures" / "asl"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


class TransientError(Exception):
    """Stands for a retryable failure (broker timeout, throttling)."""


class BookEvaluationError(Exception):
    """Stands for a domain error that a Catch routes."""


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{name}"


def invoke_task(function: str, **state: Any) -> dict[str, Any]:
    """A Task using the lambda:invoke integration, keeping only the handler's result."""
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        "OutputPath": "$.Payload",
        **state,
    }


def machine(states: dict[str, Any], start_at: str) -> dict[str, Any]:
    return {"StartAt": start_at, "States": states}


class FlakyHandler:
    """Fails with `TransientError` until the n-th call; counts calls (thread-safe)."""

    def __init__(self, succeed_on_call: int) -> None:
        self.succeed_on_call = succeed_on_call
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            call = self.calls
        if call < self.succeed_on_call:
            raise TransientError(f"call {call} of {self.succeed_on_call} fails")
        return {"attempt": call}


def test_task_then_choice_routes_a_high_score_to_succeed() -> None:
    # Given a definition file whose task's function is a ${...} substitution
    definition = (FIXTURES / "task_choice.asl.json").read_text()
    substitutions = {"ScoreBookFunctionArn": lambda_arn("score-book")}

    def score_book(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"score": event["base"] * 2}

    # When the machine runs with an input that scores high
    result = run_state_machine(
        definition, substitutions, {lambda_arn("score-book"): score_book}, {"base": 7}, "high-1"
    )

    # Then the handler's result drove the Choice to the Succeed state
    assert result.status == "SUCCEEDED"
    assert result.output == {"base": 7, "result": {"score": 14}}
    assert result.states_entered() == ["ScoreBook", "IsScoreHigh", "HighScore"]


def test_task_then_choice_routes_a_low_score_to_fail_with_its_error() -> None:
    # Given the same machine and a handler registered under the bare function name
    definition = (FIXTURES / "task_choice.asl.json").read_text()

    # When the input scores low
    result = run_state_machine(
        definition,
        {"ScoreBookFunctionArn": lambda_arn("score-book")},
        {"score-book": lambda event, context: {"score": 1}},
        {"base": 0},
        "low-1",
    )

    # Then the execution failed with the Fail state's error and cause
    assert (result.status, result.error, result.cause) == ("FAILED", "LowScore", "score below 10")
    assert result.states_entered()[-1] == "LowScore"


def test_map_with_item_selector_catches_one_failing_item_and_finishes_the_others() -> None:
    # Given a Map whose ItemSelector adds the run id to each item, and a per-item Catch
    item_steps = {
        "EvaluateBook": invoke_task(
            "evaluate-book",
            Catch=[
                {"ErrorEquals": ["BookEvaluationError"], "ResultPath": "$.error", "Next": "Skip"}
            ],
            End=True,
        ),
        "Skip": {"Type": "Pass", "Parameters": {"book.$": "$.book", "failed": True}, "End": True},
    }
    definition = machine(
        {
            "EvaluateBooks": {
                "Type": "Map",
                "ItemsPath": "$.books",
                "MaxConcurrency": 2,
                "ItemSelector": {"book.$": "$$.Map.Item.Value", "run_id.$": "$.run_id"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "EvaluateBook",
                    "States": item_steps,
                },
                "ResultPath": "$.books_out",
                "End": True,
            }
        },
        "EvaluateBooks",
    )

    def evaluate_book(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["book"] == "broken":
            raise BookEvaluationError(f"symphony of book {event['book']!r} does not parse")
        return {"book": event["book"], "run_id": event["run_id"], "failed": False}

    # When one of three books fails
    result = run_state_machine(
        definition,
        {},
        {"evaluate-book": evaluate_book},
        {"run_id": "cycle-1", "books": ["gold", "broken", "tech"]},
        "map-1",
    )

    # Then the other books finished, in input order, and the failure is reported
    assert result.status == "SUCCEEDED"
    assert result.output["books_out"] == [
        {"book": "gold", "run_id": "cycle-1", "failed": False},
        {"book": "broken", "failed": True},
        {"book": "tech", "run_id": "cycle-1", "failed": False},
    ]
    failures = result.events_of_type("TaskFailed")
    assert [(e.state_name, e.error) for e in failures] == [("EvaluateBook", "BookEvaluationError")]


def test_parallel_runs_both_branches_and_collects_their_outputs_in_branch_order() -> None:
    # Given a Parallel state with an execution branch and a hedge branch
    definition = machine(
        {
            "ExecuteAndHedge": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Execute", "States": {"Execute": invoke_task("execute", End=True)}},
                    {
                        "StartAt": "Hedge",
                        "States": {
                            "Hedge": {"Type": "Task", "Resource": lambda_arn("hedge"), "End": True}
                        },
                    },
                ],
                "End": True,
            }
        },
        "ExecuteAndHedge",
    )
    handlers: dict[str, Callable[[dict[str, Any], Any], Any]] = {
        "execute": lambda event, context: {"orders": event["n"]},
        "hedge": lambda event, context: {"hedged": True},
    }

    # When it runs
    result = run_state_machine(definition, {}, handlers, {"n": 3}, "parallel-1")

    # Then both branches ran and the output lists their results in branch order
    assert result.status == "SUCCEEDED"
    assert result.output == [{"orders": 3}, {"hedged": True}]
    assert {"Execute", "Hedge"} <= set(result.states_entered())


def test_retry_on_a_named_transient_error_succeeds_on_the_second_attempt_without_sleeping() -> None:
    # Given a task whose Retry would back off for 10 minutes, and a handler failing once
    definition = machine(
        {
            "PlaceOrders": invoke_task(
                "place-orders",
                Retry=[
                    {
                        "ErrorEquals": ["TransientError"],
                        "IntervalSeconds": 600,
                        "MaxAttempts": 3,
                        "BackoffRate": 2.0,
                    }
                ],
                End=True,
            )
        },
        "PlaceOrders",
    )
    flaky = FlakyHandler(succeed_on_call=2)

    # When it runs with sleeps skipped
    started = time.monotonic()
    result = run_state_machine(definition, {}, {"place-orders": flaky}, {}, "retry-1")
    elapsed = time.monotonic() - started

    # Then the second attempt succeeded and the back-off was not slept (functional bound)
    assert result.status == "SUCCEEDED"
    assert result.output == {"attempt": 2}
    assert flaky.calls == 2
    assert [e.error for e in result.events_of_type("TaskFailed")] == ["TransientError"]
    assert elapsed < 20


@pytest.mark.parametrize("error_equals", ["TransientError", "States.TaskFailed", "States.ALL"])
@pytest.mark.parametrize("style", ["lambda:invoke", "lambda ARN"])
def test_a_handler_exception_is_caught_by_its_class_name_and_the_catch_all_names(
    style: str, error_equals: str
) -> None:
    # Given a task (either integration style) that catches one error name
    task: dict[str, Any] = (
        invoke_task("sync-fills")
        if style == "lambda:invoke"
        else {"Type": "Task", "Resource": lambda_arn("sync-fills")}
    )
    task["Catch"] = [{"ErrorEquals": [error_equals], "ResultPath": "$.error", "Next": "Caught"}]
    task["End"] = True
    definition = machine({"SyncFills": task, "Caught": {"Type": "Succeed"}}, "SyncFills")

    def sync_fills(event: dict[str, Any], context: Any) -> None:
        raise TransientError("broker timed out after 10 s")

    # When the handler raises TransientError
    result = run_state_machine(definition, {}, {"sync-fills": sync_fills}, {}, "catch-1")

    # Then the Catch matched and saw the class name and Lambda's error document
    assert result.status == "SUCCEEDED"
    assert result.output["error"]["Error"] == "TransientError"
    cause = json.loads(result.output["error"]["Cause"])
    assert cause["errorType"] == "TransientError"
    assert cause["errorMessage"] == "broker timed out after 10 s"
    assert result.states_entered() == ["SyncFills", "Caught"]


def test_an_uncaught_failure_goes_to_the_failure_notice_then_fails_the_execution() -> None:
    # Given a cycle-like machine: a task with a Catch-all to a notify state, then Fail
    definition = machine(
        {
            "Reconcile": invoke_task(
                "reconcile",
                Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify"}],
                Next="Done",
            ),
            "Done": {"Type": "Succeed"},
            "Notify": {
                "Type": "Task",
                "Resource": lambda_arn("notify-failure"),
                "ResultPath": None,
                "Next": "CycleFailed",
            },
            "CycleFailed": {"Type": "Fail", "Error": "CycleFailed", "Cause": "see the notice"},
        },
        "Reconcile",
    )
    notices: list[dict[str, Any]] = []

    def reconcile(event: dict[str, Any], context: Any) -> None:
        raise ValueError("fill for unknown order 'abc'")

    def notify_failure(event: dict[str, Any], context: Any) -> None:
        notices.append(event)

    # When the task fails
    result = run_state_machine(
        definition,
        {},
        {"reconcile": reconcile, "notify-failure": notify_failure},
        {"run_id": "r1"},
        "fail-1",
    )

    # Then the notice received the error and the execution failed visibly
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "CycleFailed",
        "see the notice",
    )
    assert result.states_entered() == ["Reconcile", "Notify", "CycleFailed"]
    assert [notice["error"]["Error"] for notice in notices] == ["ValueError"]
    assert notices[0]["run_id"] == "r1"


def test_a_wait_until_a_far_timestamp_completes_at_once_with_time_scale_zero() -> None:
    # Given a Wait on a timestamp years away, read from the input
    definition = machine(
        {
            "WaitForRunTime": {"Type": "Wait", "TimestampPath": "$.run_at", "Next": "Go"},
            "Go": {"Type": "Pass", "End": True},
        },
        "WaitForRunTime",
    )

    # When it runs with time_scale=0
    started = time.monotonic()
    result = run_state_machine(definition, {}, {}, {"run_at": "2099-11-20T20:50:00Z"}, "wait-1")

    # Then it went straight through
    assert result.status == "SUCCEEDED"
    assert result.states_entered() == ["WaitForRunTime", "Go"]
    assert time.monotonic() - started < 20


def test_the_execution_name_reaches_a_handler_through_the_context_object() -> None:
    # Given a payload built from $$.Execution.Name
    definition = machine(
        {
            "PlanCycle": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": lambda_arn("plan-cycle"),
                    "Payload": {"run_id.$": "$$.Execution.Name", "stage.$": "$.stage"},
                },
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
        "PlanCycle",
    )
    seen: list[tuple[dict[str, Any], str, str]] = []

    def plan_cycle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append((event, context.function_name, context.invoked_function_arn))
        return {"run_id": event["run_id"]}

    # When an execution named after the day runs
    result = run_state_machine(
        definition, {}, {"plan-cycle": plan_cycle}, {"stage": "dev"}, "cycle-2026-11-20-dev"
    )

    # Then the handler got the name, and a context naming its function
    assert result.output == {"run_id": "cycle-2026-11-20-dev"}
    assert seen == [
        ({"run_id": "cycle-2026-11-20-dev", "stage": "dev"}, "plan-cycle", lambda_arn("plan-cycle"))
    ]


def test_the_history_lists_states_in_entry_order_and_ties_task_events_to_their_state() -> None:
    # Given a three-state machine
    definition = machine(
        {
            "First": {"Type": "Pass", "Result": {"n": 1}, "Next": "Second"},
            "Second": invoke_task("double", Next="Third"),
            "Third": {"Type": "Pass", "End": True},
        },
        "First",
    )

    # When it runs
    result = run_state_machine(
        definition, {}, {"double": lambda event, context: {"n": event["n"] * 2}}, {}, "history-1"
    )

    # Then the history is complete, ordered, and decoded
    assert result.states_entered() == ["First", "Second", "Third"]
    assert result.history[0].type == "ExecutionStarted"
    assert result.history[-1].type == "ExecutionSucceeded"
    assert [e.id for e in result.history] == sorted(e.id for e in result.history)
    scheduled = result.events_of_type("TaskScheduled")
    assert [(e.state_name, e.input["Payload"]) for e in scheduled] == [("Second", {"n": 1})]
    exited = [e for e in result.history if e.type == "TaskStateExited"]
    assert [(e.state_name, e.output) for e in exited] == [("Second", {"n": 2})]


def test_a_second_start_with_the_same_name_is_refused_like_step_functions() -> None:
    # Given a session that already ran "day-1"
    definition = machine({"Done": {"Type": "Succeed"}}, "Done")
    with LocalStepFunctions(definition, {}, {}) as sfn:
        first = sfn.start("day-1", {})

        # When the same name starts again, even with another input
        # Then it is refused, and the first result stays
        with pytest.raises(ExecutionAlreadyExistsError, match="day-1"):
            sfn.start("day-1", {"other": True})
        assert first.status == "SUCCEEDED"
        # And a succeeded execution cannot be redriven either
        with pytest.raises(ExecutionNotRedrivableError, match="SUCCEEDED"):
            sfn.redrive("day-1")
        # While another name runs fine
        assert sfn.start("day-2", {}).status == "SUCCEEDED"


def test_an_execution_name_step_functions_would_reject_is_refused() -> None:
    # Given a name with a colon, which StartExecution rejects
    definition = machine({"Done": {"Type": "Succeed"}}, "Done")

    # When it starts / Then it is refused before running
    with pytest.raises(ValueError, match="cycle:2026-11-20"):
        run_state_machine(definition, {}, {}, {}, "cycle:2026-11-20")


def test_a_failed_execution_is_redriven_under_the_same_name_and_arn() -> None:
    # Given a session whose first run of "day-1" fails at the second step
    definition = machine(
        {
            "Plan": invoke_task("plan", Next="Execute"),
            "Execute": invoke_task("execute", End=True),
        },
        "Plan",
    )
    plan_calls: list[dict[str, Any]] = []

    def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
        plan_calls.append(event)
        return {"orders": ["buy SPY"]}

    execute = FlakyHandler(succeed_on_call=2)
    with LocalStepFunctions(definition, {}, {"plan": plan, "execute": execute}) as sfn:
        failed = sfn.start("day-1", {"date": "2026-11-20"})
        assert (failed.status, failed.error) == ("FAILED", "TransientError")

        # When it is redriven
        redriven = sfn.redrive("day-1")

    # Then it succeeded under the same name and ARN, from the first state, same input
    assert redriven.status == "SUCCEEDED"
    assert (redriven.name, redriven.execution_arn) == ("day-1", failed.execution_arn)
    assert redriven.states_entered() == ["Plan", "Execute"]
    assert plan_calls == [{"date": "2026-11-20"}, {"date": "2026-11-20"}]
    assert redriven.output == {"attempt": 2}


def test_handlers_run_on_moto_worker_threads_and_concurrently_inside_a_map() -> None:
    # Given a Map over two items whose handler only returns once both are running
    both_running = threading.Barrier(2, timeout=10)
    threads: list[int] = []

    def rendezvous(event: dict[str, Any], context: Any) -> int:
        threads.append(threading.get_ident())
        both_running.wait()
        return int(event)

    definition = machine(
        {
            "Fan": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Meet",
                    "States": {
                        "Meet": {"Type": "Task", "Resource": lambda_arn("meet"), "End": True}
                    },
                },
                "End": True,
            }
        },
        "Fan",
    )

    # When it runs
    result = run_state_machine(definition, {}, {"meet": rendezvous}, {"items": [1, 2]}, "threads-1")

    # Then both calls overlapped on two threads, neither of them the caller's
    assert result.status == "SUCCEEDED"
    assert result.output == [1, 2]
    assert len(set(threads)) == 2
    assert threading.get_ident() not in threads


def test_the_lambda_context_is_enough_for_powertools_logger_tracer_and_metrics() -> None:
    # Given a handler decorated like the system's handlers
    logger = Logger(service="asl-runner-test")
    tracer = Tracer(service="asl-runner-test", disabled=True)
    metrics = Metrics(namespace="AlchemiserTest", service="asl-runner-test")

    @logger.inject_lambda_context(correlation_id_path="run_id")
    @tracer.capture_lambda_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("planning")
        metrics.add_metric(name="BooksPlanned", unit=MetricUnit.Count, value=1)
        return {
            "request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "memory": context.memory_limit_in_mb,
        }

    definition = machine({"Plan": invoke_task("plan", End=True)}, "Plan")

    # When the machine calls it
    result = run_state_machine(definition, {}, {"plan": handler}, {"run_id": "r-1"}, "powertools-1")

    # Then the decorators ran and the context answered them
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["remaining_ms"] > 0
    assert result.output["memory"] == 1024
    assert len(result.output["request_id"]) == 36


def test_a_result_that_is_not_json_fails_like_lambdas_marshal_error() -> None:
    # Given a handler returning an object JSON cannot encode
    definition = machine({"Plan": invoke_task("plan", End=True)}, "Plan")

    # When it runs
    result = run_state_machine(definition, {}, {"plan": lambda e, c: {"at": object()}}, {}, "m-1")

    # Then the task fails with Lambda's error name for it
    assert (result.status, result.error) == ("FAILED", "Runtime.MarshalError")


def test_a_placeholder_without_a_substitution_is_named() -> None:
    # Given a definition with two placeholders, one without a value
    definition = machine(
        {"A": invoke_task("${PlanFn}", Next="B"), "B": invoke_task("${NotifyFn}", End=True)}, "A"
    )

    # When it is prepared / Then the missing key is named
    with pytest.raises(DefinitionError, match=r"placeholder\(s\) NotifyFn;"):
        run_state_machine(definition, {"PlanFn": "plan"}, {"plan": lambda e, c: e}, {}, "s-1")


def test_a_lambda_function_without_a_handler_is_refused_before_running() -> None:
    # Given a definition that calls a function nobody registered
    definition = machine({"A": invoke_task(lambda_arn("ghost"), End=True)}, "A")

    # When it is prepared / Then the function is named
    with pytest.raises(DefinitionError, match="ghost"):
        run_state_machine(definition, {}, {"plan": lambda e, c: e}, {}, "g-1")


def test_an_execution_past_its_deadline_is_stopped_and_reported() -> None:
    # Given a real-time Wait of a minute and a half-second deadline
    definition = machine({"Sleep": {"Type": "Wait", "Seconds": 60, "End": True}}, "Sleep")

    # When it runs
    started = time.monotonic()
    with pytest.raises(ExecutionDeadlineExceededError, match="deadline") as raised:
        run_state_machine(definition, {}, {}, {}, "slow-1", time_scale=1.0, timeout_s=0.5)

    # Then the runner gave up at the deadline, with the history so far
    assert time.monotonic() - started < 20
    assert [e.state_name for e in raised.value.history if e.type == "WaitStateEntered"] == ["Sleep"]


def test_the_session_leaves_environment_default_session_and_moto_as_it_found_them() -> None:
    # Given the process state before a session
    aws_env_before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    default_session_before = boto3.DEFAULT_SESSION
    wait_interval_before = wait_function.WaitFunction.__dict__["_wait_interval"]

    # When a session runs and closes
    definition = machine({"Done": {"Type": "Succeed"}}, "Done")
    with LocalStepFunctions(definition, {}, {}) as sfn:
        assert os.environ["AWS_DEFAULT_REGION"] == LOCAL_REGION
        assert sfn.start("x", {}).status == "SUCCEEDED"

    # Then nothing it changed is left behind
    assert {k: v for k, v in os.environ.items() if k.startswith("AWS_")} == aws_env_before
    assert boto3.DEFAULT_SESSION is default_session_before
    assert retrier_decl.time is time
    assert wait_function.WaitFunction.__dict__["_wait_interval"] is wait_interval_before


def test_a_session_inside_an_outer_moto_mock_shares_its_aws_resources() -> None:
    # Given a test that already mocks AWS and created a bucket
    definition = machine({"Report": invoke_task("report", End=True)}, "Report")

    def report(event: dict[str, Any], context: Any) -> dict[str, str]:
        boto3.client("s3").put_object(Bucket="reports", Key="r.txt", Body=b"ok")
        return {"key": "r.txt"}

    with mock_aws():
        s3 = boto3.client("s3", region_name=LOCAL_REGION)
        s3.create_bucket(Bucket="reports")
        outer_sfn_config = dict(default_user_config["stepfunctions"])

        # When a handler writes to it from inside the state machine
        result = run_state_machine(definition, {}, {"report": report}, {}, "nested-1")

        # Then the test sees the object
        assert result.status == "SUCCEEDED", result.cause
        assert s3.get_object(Bucket="reports", Key="r.txt")["Body"].read() == b"ok"
        # And the outer mock's Step Functions config is its own again
        assert default_user_config["stepfunctions"] == outer_sfn_config


def test_canary_moto_still_sleeps_where_the_runner_patches() -> None:
    # Given the installed moto (the hook is verified on 5.2.x)
    # When its patch points are inspected / Then they are where the runner expects them
    check_hook_points()
    assert moto.__version__.startswith("5.2."), (
        f"moto {moto.__version__}: re-run these canaries, then widen this check"
    )


def test_canary_time_scale_one_really_sleeps_and_zero_does_not() -> None:
    # Given a Wait followed by a task that fails once and is retried after an interval
    def timed_run(wait_s: int, interval_s: int, time_scale: float) -> tuple[str, float]:
        definition = machine(
            {
                "Pause": {"Type": "Wait", "Seconds": wait_s, "Next": "Work"},
                "Work": invoke_task(
                    "work",
                    Retry=[
                        {
                            "ErrorEquals": ["TransientError"],
                            "IntervalSeconds": interval_s,
                            "MaxAttempts": 1,
                        }
                    ],
                    End=True,
                ),
            },
            "Pause",
        )
        flaky = FlakyHandler(succeed_on_call=2)
        started = time.monotonic()
        result = run_state_machine(
            definition, {}, {"work": flaky}, {}, "canary-1", time_scale=time_scale
        )
        return result.status, time.monotonic() - started

    # When 1 s + 1 s runs in real time, and 1 h + 1 h runs with sleeps skipped
    real_status, real_elapsed = timed_run(1, 1, time_scale=1.0)
    skipped_status, skipped_elapsed = timed_run(3600, 3600, time_scale=0.0)

    # Then real time slept both seconds, and scale 0 slept neither hour
    assert (real_status, skipped_status) == ("SUCCEEDED", "SUCCEEDED")
    assert real_elapsed >= 2.0
    assert skipped_elapsed < 20


def test_canary_lambda_tasks_reach_the_python_handler_not_motos_stub_lambda() -> None:
    # Given a handler whose answer differs from its input (moto's own stub echoes input)
    definition = machine(
        {
            "Integration": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "answer", "Payload.$": "$"},
                "ResultSelector": {"answered.$": "$.Payload.answered"},
                "ResultPath": "$.integration",
                "Next": "Direct",
            },
            "Direct": {
                "Type": "Task",
                "Resource": lambda_arn("answer"),
                "ResultPath": "$.direct",
                "End": True,
            },
        },
        "Integration",
    )

    # When both Lambda task styles run
    result = run_state_machine(
        definition, {}, {"answer": lambda event, context: {"answered": 42}}, {"q": 1}, "hook-1"
    )

    # Then both got the handler's answer
    assert result.output == {"q": 1, "integration": {"answered": 42}, "direct": {"answered": 42}}


def test_a_malformed_integer_field_from_the_interpreter_is_dropped_not_fatal() -> None:
    # Given events as moto's backend may record them when a Parallel branch fails while a
    # sibling Map iterates: an iteration index holding a dict, an event with no usable id
    raw = [
        {
            "id": 1,
            "type": "ExecutionStarted",
            "timestamp": "2026-12-02T11:32:28.536Z",
            "executionStartedEventDetails": {"input": "{}"},
        },
        {
            "id": 2,
            "previousEventId": 1,
            "type": "MapIterationAborted",
            "timestamp": "2026-12-02T11:32:28.540Z",
            "mapIterationAbortedEventDetails": {"name": "ExecuteSells", "index": {"bad": 1}},
        },
        {"id": {"bad": 2}, "type": "TaskFailed", "timestamp": "2026-12-02T11:32:29.001Z"},
    ]
    # When they are sanitised and parsed
    clean = [e for e in (sanitise_integers(dict(e)) for e in raw) if "id" in e]
    events = parse_history(clean)
    # Then the malformed fields are gone and the rest of the history is intact, its times
    # (ISO text in the backend) as times
    assert [e.id for e in events] == [1, 2]
    assert "index" not in events[1].details
    assert (events[1].timestamp - events[0].timestamp).total_seconds() == pytest.approx(0.004)


def test_canary_moto_builds_its_lambda_clients_where_the_runner_reuses_them() -> None:
    # Given moto's interpreter, and a count of the Lambda clients it builds
    check_client_hook_point()
    built: list[str] = []
    original = lambda_eval_utils.boto_client_for

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs.get("service", ""))
        return original(*args, **kwargs)

    items = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": lambda_arn("w"), "End": True}}}  # fmt: skip
    definition = machine(
        {"Each": {"Type": "Map", "ItemsPath": "$.ids", "ItemProcessor": items, "End": True}},
        "Each",
    )
    # When a session runs twelve Lambda tasks
    with patch.object(lambda_eval_utils, "boto_client_for", counting):
        result = run_state_machine(
            definition, {}, {"w": lambda e, c: {}}, {"ids": list(range(12))}, "reuse-1"
        )
    # Then each went through that name, and the session built one client for all of them
    assert result.status == "SUCCEEDED"
    assert built == ["lambda"]


def test_each_function_gets_its_own_timeout_in_its_lambda_context() -> None:
    # Given two functions with different configured timeouts
    seen: dict[str, int] = {}

    def remember(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen[context.function_name] = context.get_remaining_time_in_millis()
        return {}

    definition = machine(
        {
            "Quick": {"Type": "Task", "Resource": lambda_arn("quick"), "Next": "Slow"},
            "Slow": {"Type": "Task", "Resource": lambda_arn("slow"), "End": True},
        },
        "Quick",
    )
    # When both run
    run_state_machine(
        definition,
        {},
        {"quick": remember, "slow": remember},
        {},
        "timeouts-1",
        lambda_timeouts={"quick": 60, lambda_arn("slow"): 300},
    )
    # Then each handler saw its own deadline (what Powertools Idempotency reads)
    assert 55_000 < seen["quick"] <= 60_000
    assert 295_000 < seen["slow"] <= 300_000


def test_the_run_returns_only_after_a_failed_maps_other_items_have_finished() -> None:
    # Given a Map whose first item fails at once while the others are still working
    entered: list[int] = []
    finished: list[int] = []
    others_working = threading.Event()

    def work(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entered.append(event["id"])
        if len(entered) >= 3:
            others_working.set()
        if event["id"] == 0:
            others_working.wait(timeout=5)  # fail while two other items are mid-work
            raise TransientError("item 0 fails")
        time.sleep(0.3)
        finished.append(event["id"])
        return {}

    items = {"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": lambda_arn("w"), "End": True}}}  # fmt: skip
    definition = machine(
        {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.ids",
                "ItemSelector": {"id.$": "$$.Map.Item.Value"},
                "MaxConcurrency": 4,
                "ItemProcessor": items,
                "End": True,
            }
        },
        "Each",
    )
    # When the execution fails
    result = run_state_machine(definition, {}, {"w": work}, {"ids": [0, 1, 2, 3]}, "idle-1")
    # Then, by the time the run returns, every item whose handler had started has finished
    assert result.status == "FAILED"
    assert len(entered) >= 3
    assert sorted(finished) == sorted(set(entered) - {0})
