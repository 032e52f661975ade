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

from alchemiser.errors import RETRYABLE
from alchemiser.local.template import load_template
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


def test_every_task_catches_and_no_error_escapes_unreported(definition: dict[str, Any]) -> None:
    # Given every Task with the Map and Parallel states around it
    for scope in scopes(definition):
        for name, state in scope.states.items():
            if state["Type"] != "Task":
                continue
            # Then it has a Catch of its own,
            assert state.get("Catch"), f"{scope.path}{name} has no Catch"
            # and whatever it does not catch, an enclosing Map or Parallel does (States.ALL)
            assert catches_everything(state) or any(
                catches_everything(s) for s in scope.enclosing
            ), (
                f"{scope.path}{name}: an error outside its Catch rules escapes: neither it nor an "
                "enclosing Map/Parallel catches States.ALL"
            )


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


def test_every_function_of_the_template_is_a_step_of_the_cycle(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given the functions the Tasks invoke
    invoked = {function_behind(state, machine, template)[0] for _, state in tasks(definition)}

    # When the template's functions are listed
    functions = {
        k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }

    # Then they are the same: no orphan function, no Task without one
    assert invoked == functions


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


def test_no_task_gives_up_before_its_function_does(
    definition: dict[str, Any], machine: dict[str, Any], template: dict[str, Any]
) -> None:
    # Given each Task's timeout and its function's timeout (Globals when the function sets none)
    default = template["Globals"]["Function"]["Timeout"]
    for name, state in tasks(definition):
        _, function = function_behind(state, machine, template)
        limit = function["Properties"].get("Timeout", default)

        # Then the state machine waits at least as long as Lambda lets the function run
        assert state.get("TimeoutSeconds", 99_999_999) >= limit, (
            f"{name}: Task times out before its function ({limit} s)"
        )


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
