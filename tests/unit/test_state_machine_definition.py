"""statemachines/daily_cycle.asl.json, checked as Step Functions would check it, and against the template.

What a deploy would reject (a transition to a state outside its scope, a placeholder
without a substitution) and what would only show on a bad day (a Task without Retry
or Catch, a function that does not exist) fails here instead.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alchemiser.cycle.timeouts import (
    FUNCTION_TIMEOUT_S,
    IN_PROGRESS_ERROR,
    in_progress_retry,
    retry_waits_s,
    task_timeout_s,
)
from alchemiser.errors import RETRYABLE
from alchemiser.local.template import STATUS_CHANGE, load_template
from tests.conftest import REPO_ROOT

ASL_PATH = REPO_ROOT / "statemachines" / "daily_cycle.asl.json"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
JSONATA_KEYS = {"QueryLanguage", "Arguments", "Output", "Assign"}
TERMINAL_TYPES = {"Succeed", "Fail"}


@dataclass(frozen=True)
class Scope:
    """One States map: the top level, a Map's ItemProcessor or a Parallel branch."""

    path: str
    start_at: str
    states: dict[str, Any]
    enclosing: tuple[dict[str, Any], ...]  # the Map and Parallel states around it, innermost last


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(REPO_ROOT / "template.yaml")


@pytest.fixture(scope="module")
def machine(template: dict[str, Any]) -> dict[str, Any]:
    machines = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"
    ]
    assert len(machines) == 1, f"expected one AWS::Serverless::StateMachine, found {len(machines)}"
    properties: dict[str, Any] = machines[0]["Properties"]
    return properties


def scopes(
    node: dict[str, Any], path: str = "", enclosing: tuple[dict[str, Any], ...] = ()
) -> Iterator[Scope]:
    """Yield every States map of a definition, nested ones included."""
    yield Scope(path or "(top)", node["StartAt"], node["States"], enclosing)
    for name, state in node["States"].items():
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor is not None:
            yield from scopes(processor, f"{path}{name}/", (*enclosing, state))
        for index, branch in enumerate(state.get("Branches", [])):
            yield from scopes(branch, f"{path}{name}[{index}]/", (*enclosing, state))


def all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for scope in scopes(definition):
        for name, state in scope.states.items():
            yield f"{scope.path}{name}", state


def tasks(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, state) for name, state in all_states(definition) if state["Type"] == "Task"]


def catches_everything(state: dict[str, Any]) -> bool:
    return any("States.ALL" in rule["ErrorEquals"] for rule in state.get("Catch", []))


def transitions(state: dict[str, Any]) -> list[str]:
    """Return the names a state can move to inside its own scope."""
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [state["Default"]] if "Default" in state else []
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


def strings_and_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings_and_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_and_keys(item)
    elif isinstance(node, str):
        yield node


def function_behind(
    task: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Return the logical id and resource of the function a Lambda Task invokes."""
    found = PLACEHOLDER.fullmatch(task["Resource"])
    assert found, (
        f"expected a Lambda Task Resource of the form ${{XFunctionArn}}, was {task['Resource']!r}"
    )
    value = machine["DefinitionSubstitutions"][found[1]]
    assert isinstance(value, dict) and "Fn::GetAtt" in value, (
        f"{found[1]} must be !GetAtt <Function>.Arn, was {value!r}"
    )
    logical_id, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn", f"{found[1]} must be !GetAtt {logical_id}.Arn, was .{attribute}"
    resource = template["Resources"].get(logical_id)
    assert resource is not None and resource["Type"] == "AWS::Serverless::Function", (
        f"{found[1]}: {logical_id} is not a function of the template"
    )
    return logical_id, resource


# -- substitutions ---------------------------------------------------------------------------


def test_every_placeholder_has_a_substitution_and_every_substitution_is_used(
    definition: dict[str, Any], machine: dict[str, Any]
) -> None:
    # Given the definition's ${...} placeholders and the template's DefinitionSubstitutions
    used = {key for text in strings_and_keys(definition) for key in PLACEHOLDER.findall(text)}
    given = set(machine["DefinitionSubstitutions"])

    # Then they are the same keys: nothing is left unsubstituted, nothing is dead
    assert sorted(used - given) == [], "placeholders without a substitution"
    assert sorted(given - used) == [], "substitutions that the definition never uses"


# -- Tasks: Retry, Catch, the functions behind them -------------------------------------------


def test_every_task_retries_the_retryable_errors(definition: dict[str, Any]) -> None:
    # Given every Task, nested ones included
    for name, state in tasks(definition):
        # When the errors its Retry rules name are collected
        retried = {error for rule in state.get("Retry", []) for error in rule["ErrorEquals"]}

        # Then every retryable error of alchemiser.errors is among them, with a bounded backoff
        assert sorted(set(RETRYABLE) - retried) == [], f"{name} does not retry these"
        assert all(1 <= rule.get("MaxAttempts", 3) <= 5 for rule in state["Retry"]), name


def test_every_task_waits_out_an_in_progress_record_longer_than_its_function_runs(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given every Task and the function it invokes
    for name, state in tasks(definition):
        step = function_behind(state, machine, template)[0].removesuffix("Function")
        rules = [r for r in state["Retry"] if IN_PROGRESS_ERROR in r["ErrorEquals"]]

        # Then an IdempotencyAlreadyInProgressError has its own rule, the one derived from
        # the function's timeout, without jitter, and its waits outlast that timeout
        assert rules == [in_progress_retry(step)], name
        assert "JitterStrategy" not in rules[0]
        waits = retry_waits_s(rules[0])
        assert sum(waits[:-1]) > FUNCTION_TIMEOUT_S[step], (name, waits)
        # and no earlier rule (Step Functions uses the first that matches) takes it
        assert all(IN_PROGRESS_ERROR not in r["ErrorEquals"] for r in state["Retry"][:-1]), name


PER_ITEM_CATCHES = {
    "EvaluateBooks/EvaluateBook": {"States.ALL"},
    "ExecuteAndHedge[0]/ExecuteSells/ExecuteSellOrder": {"OrderRejectedError"},
    "ExecuteAndHedge[0]/ExecuteBuys/ExecuteBuyOrder": {"OrderRejectedError"},
    "ExecuteAndHedge[1]/HedgePlan": {"States.ALL"},
    "ExecuteAndHedge[1]/HedgeExecute": {"States.ALL"},
}


def test_only_map_items_catch_and_everything_else_fails_at_its_own_state(
    definition: dict[str, Any],
) -> None:
    # Given every state that catches errors, nested ones included
    catching = {
        name: {e for rule in state["Catch"] for e in rule["ErrorEquals"]}
        for name, state in all_states(definition)
        if state.get("Catch")
    }

    # Then only a book's evaluation (any failure is that book's), an order's walk (a
    # rejection is that order's) and the hedge (any failure is the hedge's, never the
    # equity branch's) catch: every other error fails the execution AT the state that
    # raised it, where a console redrive resumes, and no Fail state re-raises it
    assert catching == PER_ITEM_CATCHES
    assert [n for n, st in all_states(definition) if st["Type"] == "Fail"] == []


def test_every_state_name_is_unique_in_the_whole_machine(definition: dict[str, Any]) -> None:
    # Given the names of every state, in every Map and Parallel branch
    names = [name.rsplit("/", 1)[-1] for name, _ in all_states(definition)]

    # Then none repeats: the States Language requires it and CloudFormation rejects a
    # repeat (DUPLICATE_STATE_NAME), though moto, cfn-lint and sam validate accept it
    repeated = sorted({n for n in names if names.count(n) > 1})
    assert repeated == []


def test_the_uniqueness_check_sees_names_repeated_in_nested_branches() -> None:
    # Given a machine that repeats a name inside two Map iterations of a Parallel branch
    item = {"StartAt": "Work", "States": {"Work": {"Type": "Pass", "End": True}}}
    nested = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {"A": {"Type": "Map", "ItemProcessor": item, "End": True}},
                    },
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Map", "ItemProcessor": item, "End": True}},
                    },
                ],
            }
        },
    }
    # Then the walk over all states finds both
    names = [name.rsplit("/", 1)[-1] for name, _ in all_states(nested)]
    assert names.count("Work") == 2


def test_every_lambda_task_invokes_a_function_of_the_template_with_a_handler(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given every Task and the function its Resource substitution names
    for name, state in tasks(definition):
        logical_id, function = function_behind(state, machine, template)
        properties = function["Properties"]

        # When the function's code directory is read
        code_dir = REPO_ROOT / properties["CodeUri"]
        module, _, handler = properties["Handler"].rpartition(".")
        app = code_dir / f"{module}.py"

        # Then it exists and defines the handler the template names
        assert app.is_file(), f"{name} -> {logical_id}: {app} does not exist"
        defined = {
            n.name
            for n in ast.parse(app.read_text(encoding="utf-8")).body
            if isinstance(n, ast.FunctionDef)
        }
        assert handler in defined, f"{name} -> {logical_id}: {app} defines no {handler}()"


def status_change_targets(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the functions an EventBridge rule invokes on the cycle's status changes."""
    return {
        key: event["Properties"]["Pattern"]
        for key, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
        for event in (r["Properties"].get("Events") or {}).values()
        if event["Type"] == "EventBridgeRule"
        and STATUS_CHANGE in event["Properties"]["Pattern"].get("detail-type", [])
    }


def test_every_function_of_the_template_is_a_step_of_the_cycle(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given the functions the Tasks invoke and the ones the status-change rule invokes
    invoked = {function_behind(state, machine, template)[0] for _, state in tasks(definition)}
    targets = set(status_change_targets(template))

    # When the template's functions are listed
    functions = {
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }

    # Then they are the same: no orphan function, no Task without one
    assert invoked | targets == functions
    assert targets == {"NotifyFailureFunction"} and not invoked & targets


def test_a_failed_timed_out_or_aborted_execution_invokes_notify_failure(
    template: dict[str, Any],
) -> None:
    # Given the EventBridge rule of NotifyFailure
    pattern = status_change_targets(template)["NotifyFailureFunction"]

    # Then it matches this state machine's executions that ended badly, and nothing else
    assert pattern["source"] == ["aws.states"]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "DailyCycleStateMachine"}]


def test_the_state_machine_may_invoke_exactly_the_functions_its_tasks_call(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given the functions the Tasks invoke
    invoked = {function_behind(state, machine, template)[0] for _, state in tasks(definition)}

    # When the state machine's LambdaInvokePolicy entries are read
    allowed = {
        p["LambdaInvokePolicy"]["FunctionName"]["Ref"]
        for p in machine["Policies"]
        if "LambdaInvokePolicy" in p
    }

    # Then each invoked function is allowed, and nothing else
    assert allowed == invoked


def test_each_step_has_one_timeout_and_the_template_and_the_tasks_agree_with_it(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given every function and the Tasks that invoke it
    default = template["Globals"]["Function"]["Timeout"]
    for key, function in template["Resources"].items():
        if function["Type"] == "AWS::Serverless::Function":
            # Then its Lambda Timeout is the step's number in alchemiser.cycle.timeouts
            step = key.removesuffix("Function")
            assert function["Properties"].get("Timeout", default) == FUNCTION_TIMEOUT_S[step], key
    for name, state in tasks(definition):
        step = function_behind(state, machine, template)[0].removesuffix("Function")
        # and the Task waits exactly that plus the margin: Lambda ends a slow invocation
        # itself (Lambda.Unknown) before the state stops waiting for it
        assert state["TimeoutSeconds"] == task_timeout_s(step), name
        assert state["TimeoutSeconds"] > FUNCTION_TIMEOUT_S[step], name


# -- transitions and reachability ----------------------------------------------------------------


def test_every_transition_names_a_state_of_its_own_scope(definition: dict[str, Any]) -> None:
    # Given every scope (top level, Map item processors, Parallel branches)
    missing = []
    for scope in scopes(definition):
        # When StartAt, Next, Default, Choices and Catch targets are collected
        targets = [("StartAt", scope.start_at)]
        targets += [
            (name, target) for name, state in scope.states.items() for target in transitions(state)
        ]

        # Then each names a state of that same scope (a branch cannot jump outside itself)
        missing += [
            f"{scope.path}{name} -> {target}"
            for name, target in targets
            if target not in scope.states
        ]
    assert missing == []


def test_every_state_is_reachable_from_its_start(definition: dict[str, Any]) -> None:
    for scope in scopes(definition):
        # Given a scope, walked from its StartAt
        seen: set[str] = set()
        todo = [scope.start_at]
        while todo:
            name = todo.pop()
            if name in seen or name not in scope.states:
                continue
            seen.add(name)
            todo += transitions(scope.states[name])

        # Then every state of it is visited
        assert sorted(set(scope.states) - seen) == [], f"unreachable in {scope.path}"


def test_every_state_either_moves_on_or_ends(definition: dict[str, Any]) -> None:
    # Given every state that is neither a Choice nor terminal
    for name, state in all_states(definition):
        if state["Type"] in TERMINAL_TYPES | {"Choice"}:
            continue
        # Then it has exactly one of Next and End
        assert ("Next" in state) != bool(state.get("End")), (
            f"{name} needs exactly one of Next and End: true"
        )


# -- JSONPath only -----------------------------------------------------------------------------------


def test_the_definition_is_jsonpath_only(definition: dict[str, Any]) -> None:
    # Given every key and string of the definition
    texts = list(strings_and_keys(definition))

    # Then nothing of JSONata appears: the local runner (moto) cannot execute it
    assert sorted(JSONATA_KEYS & set(texts)) == []
    assert [t for t in texts if "{%" in t] == []


def test_the_definition_file_is_the_one_the_template_deploys(machine: dict[str, Any]) -> None:
    # Given the template's DefinitionUri
    # Then it is this file, relative to the template
    assert (REPO_ROOT / machine["DefinitionUri"]).resolve() == Path(ASL_PATH).resolve()


def test_an_execution_started_by_the_schedule_lives_until_the_close(
    definition: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given the default schedule (New York time) and the regular 16:00 close
    parameters = template["Parameters"]
    assert parameters["ScheduleTimezone"]["Default"] == "America/New_York"
    cron = re.fullmatch(
        r"cron\((\d+) (\d+) (?:\? \* MON-FRI|\* \* \?) \*\)",
        parameters["ScheduleExpression"]["Default"],
    )
    assert cron, (
        f"expected a daily or weekday cron at a fixed time, was {parameters['ScheduleExpression']['Default']}"
    )
    seconds_to_close = (16 * 60 - (int(cron[2]) * 60 + int(cron[1]))) * 60

    # When the execution's own timeout is read
    timeout = definition.get("TimeoutSeconds")

    # Then the Wait for close minus MinutesBeforeClose, and the trading after it, fit inside it
    assert timeout is not None and timeout >= seconds_to_close, (
        f"an execution started at {cron[2]}:{int(cron[1]):02d} New York time waits until shortly before the "
        f"16:00 close ({seconds_to_close} s later), but TimeoutSeconds is {timeout}"
    )
